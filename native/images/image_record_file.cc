#include "images/image_record_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "util/fault.h"
#include "util/unique_fd.h"

namespace ovl {
namespace {

constexpr const char* kNoRecord = "no record of the image layers: ";

// `text` as a JSON string literal (quotes and escapes added; UTF-8 passes as it is).
std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// "null", or `text` as a JSON string when there is one.
std::string JsonStringOrNull(const std::string& text) { return text.empty() ? "null" : JsonString(text); }

std::string JsonStrings(const std::vector<std::string>& texts) {
  std::string out = "[";
  for (size_t i = 0; i < texts.size(); i++) out += (i == 0 ? "" : ",") + JsonString(texts[i]);
  return out + "]";
}

// A layer slot's image and the directory inside it ({image, path}), or null for a plain directory.
std::string LayerName(const ImageSpec& spec) {
  return spec.given() ? "{\"image\":" + JsonString(spec.image) + ",\"path\":" + JsonString("/" + spec.subdir) + "}" : "null";
}

// One LayerName per slot; a request without images of that kind has none, so every slot is null.
std::string LayerNames(const std::vector<ImageSpec>& specs, size_t slots) {
  std::string out = "[";
  for (size_t i = 0; i < slots; i++) out += (i == 0 ? "" : ",") + (i < specs.size() ? LayerName(specs[i]) : std::string("null"));
  return out + "]";
}

// /proc/self/ns/mnt's link text, read once: a process's mount namespace
// cannot change (setns and unshare refuse a thread sharing its fs context,
// and every Node process has more than one thread), and /proc/self names the
// main thread even from a worker or a helper thread that unshared its own.
const std::string& MountNamespace() {
  static const std::string ns = [] {
    char buf[64];
    ssize_t n = ::readlink("/proc/self/ns/mnt", buf, sizeof(buf));
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }();
  return ns;
}

std::string LoopDevice(int loop) { return "/dev/loop" + std::to_string(loop); }

// The file a loop device is bound to, as sysfs says it ("" when it cannot be read).
std::string BackingFile(int loop) {
  UniqueFd fd(::open(("/sys/block/loop" + std::to_string(loop) + "/loop/backing_file").c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return "";
  char buf[8192];  // a path (PATH_MAX) and its newline
  ssize_t n = ::read(fd.get(), buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  std::string text(buf, static_cast<size_t>(n));
  // Trimmed as lib/images/image-record.ts readOrEmpty() trims what it reads back to compare.
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

// The record's text (lib/images/image-record.ts ImageRecord says what each field means): what the mount made, then what was asked.
std::string RecordText(const MountRequest& request, const MountResult& result, const std::vector<int>& loops) {
  std::string out = "{\"version\":1,\"uniqueMountId\":" + std::to_string(result.uniqueMountId) + ",\"mountId\":" + std::to_string(result.mountId) +
                    ",\"superblock\":" + JsonString(result.superblock) + ",\"images\":[";
  for (size_t i = 0; i < result.images.size(); i++) {
    const ImageInfo& image = result.images[i];
    out += i == 0 ? "{" : ",{";
    out += "\"image\":" + JsonString(image.image) + ",\"type\":" + JsonString(image.type) + ",\"loopDevice\":";
    out += image.loop < 0 ? "null" : JsonString(LoopDevice(image.loop));
    out += std::string(",\"readOnly\":") + (image.writable ? "false" : "true") + "}";
  }
  out += "],\"dirIds\":{\"upper\":" + JsonStringOrNull(result.upperDirId) + ",\"work\":" + JsonStringOrNull(result.workDirId) + "}";
  out += ",\"loops\":[";
  for (size_t i = 0; i < loops.size(); i++) {
    out += i == 0 ? "[" : ",[";
    out += JsonString(LoopDevice(loops[i])) + "," + JsonString(BackingFile(loops[i])) + "]";
  }
  out += "],\"mountNs\":" + JsonString(MountNamespace()) + ",\"target\":" + JsonString(request.target);
  out += ",\"lower\":" + LayerNames(request.lowerImages, request.lower.size()) + ",\"data\":" + LayerNames(request.dataImages, request.data.size());
  out += ",\"upper\":" + LayerName(request.upperImage) + ",\"work\":" + LayerName(request.workImage);
  out += ",\"paths\":{\"lower\":" + JsonStrings(request.lower) + ",\"data\":" + JsonStrings(request.data) + ",\"upper\":" + JsonStringOrNull(request.upper) +
         ",\"work\":" + JsonStringOrNull(request.work) + "}}";
  return out;
}

// Like `mkdir -p`, for the record directory's first use.
bool MakeDirs(const std::string& dir) {
  for (size_t slash = dir.find('/', 1); slash != std::string::npos; slash = dir.find('/', slash + 1)) {
    if (::mkdir(dir.substr(0, slash).c_str(), 0700) != 0 && errno != EEXIST) return false;
  }
  return ::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST;
}

// errno as Node words its errors ("EACCES: Permission denied, open '/run/...'").
std::string Failure(const char* syscall, const std::string& path) {
  int errnum = errno;
  // The _np forms return constant strings: strerror may share a buffer with another thread.
  const char* name = ::strerrorname_np(errnum);
  const char* text = ::strerrordesc_np(errnum);
  return std::string(kNoRecord) + (name ? name : "E" + std::to_string(errnum)) + ": " + (text ? text : "unknown error") + ", " + syscall + " '" + path + "'";
}

// The text written to fd whole: nullptr, or "write" with errno.
const char* WriteAll(int fd, const std::string& text) {
  for (size_t done = 0; done < text.size();) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return "write";
    if (n == 0) {
      errno = EIO;
      return "write";
    }
    done += static_cast<size_t>(n);
  }
  return nullptr;
}

// The text written to `tmp` whole: nullptr, or the system call that failed, with errno.
const char* WriteFile(const std::string& tmp, const std::string& text) {
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return "open";
  return WriteAll(fd.get(), text);
}

// The record written into an unnamed file (O_TMPFILE) and linked in whole under
// its name: a process killed before the link leaves nothing in the directory.
// A record already of that name is stale (its mount id is this mount's now).
const char* WriteLinked(const std::string& dir, const std::string& file, const std::string& text) {
  UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600));
  if (!fd.valid()) return "open";
  if (const char* failed = WriteAll(fd.get(), text)) return failed;
  FaultAt("imageRecord.written");
  const std::string self = FdPath(fd.get());
  if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, file.c_str(), AT_SYMLINK_FOLLOW) == 0) return nullptr;
  if (errno != EEXIST || (::unlink(file.c_str()) != 0 && errno != ENOENT)) return "linkat";
  return ::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, file.c_str(), AT_SYMLINK_FOLLOW) == 0 ? nullptr : "linkat";
}

// Up to `count` other records, picked at random: what lib/ checks after this mount.
std::vector<std::string> PruneSample(const std::string& dir, const std::string& own, size_t count) {
  std::vector<std::string> others;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return others;
  while (dirent* entry = ::readdir(d)) {
    std::string name = entry->d_name;
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0 && name != own) others.push_back(std::move(name));
  }
  ::closedir(d);
  if (others.size() <= count) return others;
  thread_local std::minstd_rand pick(std::random_device{}());
  std::shuffle(others.begin(), others.end(), pick);
  others.resize(count);
  return others;
}

}  // namespace

std::string RecordName(uint64_t uniqueMountId, uint64_t mountId, const std::string& superblock) {
  if (uniqueMountId != 0) return std::to_string(uniqueMountId) + ".json";
  std::string device = superblock;
  std::replace(device.begin(), device.end(), ':', '_');
  return "m" + std::to_string(mountId) + "-" + device + ".json";
}

void WriteImageRecord(const MountRequest& request, MountResult* result) {
  const ImageRecordRequest& record = request.record;
  // Only a record without a unique mount id is checked by its loop devices: sysfs is read for those alone.
  std::vector<int> loops;
  if (result->uniqueMountId == 0) {
    for (const ImageInfo& image : result->images) {
      if (image.loop >= 0) loops.push_back(image.loop);
    }
    if (loops.empty()) {
      result->warnings.push_back(std::string(kNoRecord) +
                                 "this kernel gives no unique mount id (6.8+), and no image went through a loop device to check a record by");
      return;
    }
  }
  std::string name = RecordName(result->uniqueMountId, result->mountId, result->superblock);
  std::string file = record.dir + "/" + name, tmp = file + ".tmp";
  std::string text = RecordText(request, *result, loops);
  const char* failed = WriteLinked(record.dir, file, text);
  auto openFailed = [&](int errnum) { return failed != nullptr && std::strcmp(failed, "open") == 0 && errno == errnum; };
  // The directory is made on first use only: a mkdir on every mount is a cost with nothing to show.
  if (openFailed(ENOENT)) failed = MakeDirs(record.dir) ? WriteLinked(record.dir, file, text) : "mkdir";
  // A filesystem without O_TMPFILE: a named temporary renamed over, which a kill in between leaves.
  const bool named = openFailed(EOPNOTSUPP) || openFailed(EISDIR);
  if (named) {
    failed = WriteFile(tmp, text);
    if (failed == nullptr && ::rename(tmp.c_str(), file.c_str()) != 0) failed = "rename";
  }
  if (failed != nullptr) {
    // The unnamed file is opened in the directory: that is the path an open failed on.
    const bool atDir = std::strcmp(failed, "mkdir") == 0 || (!named && std::strcmp(failed, "open") == 0);
    result->warnings.push_back(Failure(failed, atDir ? record.dir : named ? tmp : file));
    if (named) ::unlink(tmp.c_str());
    return;
  }
  result->recordFile = file;
  result->pruneSample = PruneSample(record.dir, name, record.sample);
}

}  // namespace ovl
