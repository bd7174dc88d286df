// Which device an image file goes through, by one rule: an image file is
// written by at most one superblock, whoever attached it. ext4 (and erofs,
// squashfs) find a mounted superblock by its block device, so a second mount
// through the same loop device shares the first one's superblock, as
// mount(8) `-o loop` arranges; a second device on the same file would be a
// second superblock on the same bytes, each writing its own view (the last
// to unmount wins, and fsck says clean).
#pragma once

#include <sys/types.h>

#include <string>

#include "images/loop_lookup.h"
#include "util/sys_error.h"

namespace ovl {

// The bound device to reuse (number -1: none, bind a new one), or EBUSY:
// - writable (upper, work): the one read-write device bound to the whole
//   file is reused; a read-only binding (a reader that would see the
//   blocks change under it), a binding of part of the file, or two
//   read-write ones already are refused, naming the device;
// - read-only (lower, data): a read-write device bound to the whole file is
//   reused, so the layer reads through its writer's superblock instead of a
//   stale copy of its own; read-only bindings are left alone (another
//   read-only device reads the same bytes), a writer on part of the file,
//   or two, are refused.
Outcome<BoundLoop> DeviceToReuse(dev_t dev, ino_t ino, bool writable, const std::string& image, const std::string& field);

// The refusal when a reused device's superblock is mounted read-only
// elsewhere and a writable layer wants it (the kernel's EBUSY, "would
// change RO state").
SysError ReadOnlyElsewhere(SysError kernel, const BoundLoop& loop, const std::string& image);

}  // namespace ovl
