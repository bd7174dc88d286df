#include "images/image_device.h"

#include <cerrno>
#include <vector>

namespace ovl {
namespace {

std::string Devices(const std::vector<const BoundLoop*>& loops) {
  std::string out;
  for (size_t i = 0; i < loops.size(); i++) out += (i == 0 ? "" : i + 1 == loops.size() ? " and " : ", ") + loops[i]->path();
  return out;
}

SysError Busy(const std::string& field, const std::string& image, const std::string& why) {
  return SysError::Invalid(field, image, "'" + image + "' " + why, EBUSY);
}

}  // namespace

Outcome<BoundLoop> DeviceToReuse(dev_t dev, ino_t ino, bool writable, const std::string& image, const std::string& field) {
  auto bound = FindBoundLoops(dev, ino);
  if (bound.error) {
    bound.error.field = field;
    return bound.error;
  }
  std::vector<const BoundLoop*> writers, partialWriters, readers;
  for (const BoundLoop& loop : bound.value) {
    if (loop.readOnly) readers.push_back(&loop);
    else (loop.wholeFile ? writers : partialWriters).push_back(&loop);
  }
  if (!partialWriters.empty()) {
    return Busy(field, image, "is bound read-write in part (an offset or size limit) to " + Devices(partialWriters) +
                                  ": a device on the whole file would be a second writer of those bytes");
  }
  if (writers.size() > 1) {
    return Busy(field, image, "is bound read-write to " + Devices(writers) + " already, each with a superblock of its own: detach all but one first");
  }
  if (writable && !readers.empty()) {
    return Busy(field, image, "is bound read-only to " + Devices(readers) + ": writing it through another device would change the blocks under that reader");
  }
  BoundLoop none;
  if (writers.empty()) return none;
  const BoundLoop* writer = writers.front();
  for (BoundLoop& loop : bound.value) {
    if (&loop == writer) return std::move(loop);
  }
  return none;
}

SysError ReadOnlyElsewhere(SysError kernel, const BoundLoop& loop, const std::string& image) {
  kernel.reason = "'" + image + "' is mounted read-only through " + loop.path() +
                  ", which this layer shares (one superblock per image file): it cannot be written until that mount is read-write or gone";
  return kernel;
}

}  // namespace ovl
