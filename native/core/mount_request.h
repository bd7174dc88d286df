// What a mount asks for, after lib/ has validated its shape.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/mount_flags.h"

namespace ovl {

// The ways this addon can hand an overlay to the kernel, best first.
enum class Mechanism {
  Auto,
  FsconfigFd,       // new mount API, every layer by fd (6.13+)
  FsconfigPath,     // new mount API, `lowerdir+` strings; /proc/self/fd/N past 255 bytes (6.8+)
  Mount,            // mount(2) with escaped path strings, one page at most
  MountFdPath,      // mount(2) with /proc/self/fd/N names
  MountFdRelative,  // mount(2) with bare fd numbers, cwd /proc/self/fd in a dedicated thread
};

// Shared subtrees: whether mounts made beneath a mount spread to its peers.
enum class Propagation { Keep, Private, Shared, Slave, Unbindable };

// The names lib/ passes, each parsed once into its enum (false: not a name of it).
const char* MechanismName(Mechanism m);
bool ParseMechanism(const std::string& name, Mechanism* out);
bool ParseAtime(const std::string& name, Atime* out);
bool ParsePropagation(const std::string& name, Propagation* out);

struct MountOption {
  std::string key;
  std::string value;
  bool flag = false;  // a bare key such as `userxattr`
};

// Idmapped lower layers: a user namespace to take the mapping from, either
// opened from a path or made from the maps (lines as /proc/PID/uid_map takes them).
struct IdmapRequest {
  std::string uidMap, gidMap;
  std::string userns;
  bool wanted() const { return !userns.empty() || !uidMap.empty() || !gidMap.empty(); }
};

// A layer taken from an image file instead of a directory: the filesystem in
// `image` (ext4, erofs, squashfs), mounted detached, and `subdir` inside it.
struct ImageSpec {
  std::string image;   // empty: the layer is a plain directory
  std::string subdir;  // relative to the image's root; empty for the root
  std::string type;    // empty: read from the superblock
  std::string digest;  // "sha256:<hex>" the file's fs-verity digest must be, measured on the fd mounted; empty: not measured
  bool given() const { return !image.empty(); }
};

// Where to record a mount with images (images/image_record_file.h), and how many
// other records to pick for lib/ to check. Empty dir: no record (check,
// apply's builds).
struct ImageRecordRequest {
  std::string dir;
  uint32_t sample = 0;
  bool wanted() const { return !dir.empty(); }
};

// An upper or work directory a live overlay uses, by "major:minor:inode",
// and the words naming that use ("the upper of the overlay on /x (mount id
// 5)"): lib/inspect/image-dirs-in-use.ts finds them, for a request with an image
// upper or work, which may share a superblock another stack writes.
struct DirInUse {
  std::string id, holder;
};

struct MountRequest {
  std::vector<std::string> lower;  // first is the top layer
  std::vector<std::string> data;   // data-only layers
  std::string upper, work, target;
  std::vector<MountOption> options;
  MountFlagChanges flags;  // from none: Set or Keep, and an atime or Keep (the kernel's relatime)
  Propagation propagation = Propagation::Keep;  // Keep: as the kernel makes it
  IdmapRequest idmap;
  Mechanism mechanism = Mechanism::Auto;
  // Parallel to lower and data (empty when no layer is an image); the layer
  // string then holds the image's path, for messages.
  std::vector<ImageSpec> lowerImages, dataImages;
  ImageSpec upperImage, workImage;
  ImageRecordRequest record;
  std::vector<DirInUse> dirsInUse;
  bool hasImages() const { return !lowerImages.empty() || !dataImages.empty() || upperImage.given() || workImage.given(); }
};

// What a mount made of an image, for the caller's record (the kernel keeps no
// link from an overlay back to its images).
struct ImageInfo {
  std::string image, type;
  uint64_t dev = 0, ino = 0;  // the image file's identity
  int loop = -1;              // the loop device number, -1 when mounted from the file itself
  bool writable = false;
};

struct MountResult {
  Mechanism mechanism = Mechanism::Auto;
  uint64_t mountId = 0;
  uint64_t uniqueMountId = 0;  // never reused; 0 before 6.8
  std::vector<std::string> warnings;  // the kernel's non-fatal messages
  std::vector<ImageInfo> images;      // each image mounted for it, once
  std::string superblock;             // the overlay's device, "major:minor" as mountinfo shows it, only when there are images
  std::string upperDirId, workDirId;  // "major:minor:inode" of an upper or work inside an image, for the record
  std::string recordFile;             // the record written of its images ("" when none was)
  std::vector<std::string> pruneSample;  // other records' names, for lib/ to check
};

// The result of a mount whose root `mountRootFd` is, as mount and replace both return it.
MountResult MountResultFor(Mechanism mechanism, int mountRootFd, std::vector<std::string> warnings);

}  // namespace ovl
