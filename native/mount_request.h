// What a mount asks for, after lib/ has validated its shape.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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

const char* MechanismName(Mechanism m);
bool ParseMechanism(const std::string& name, Mechanism* out);

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

struct MountRequest {
  std::vector<std::string> lower;  // first is the top layer
  std::vector<std::string> data;   // data-only layers
  std::string upper, work, target;
  std::vector<MountOption> options;
  bool readOnly = false, nosuid = false, nodev = false, noexec = false;
  std::string atime;  // "", "noatime", "relatime" or "strictatime"
  std::string propagation;  // "", "private", "shared", "slave" or "unbindable"
  IdmapRequest idmap;
  Mechanism mechanism = Mechanism::Auto;
};

struct MountResult {
  Mechanism mechanism = Mechanism::Auto;
  uint64_t mountId = 0;
  uint64_t uniqueMountId = 0;  // never reused; 0 before 6.8
  std::vector<std::string> warnings;  // the kernel's non-fatal messages
};

}  // namespace ovl
