#include "mount_request.h"

namespace ovl {
namespace {

struct MechanismInfo {
  Mechanism mechanism;
  const char* name;
};
constexpr MechanismInfo kMechanisms[] = {
    {Mechanism::Auto, "auto"},
    {Mechanism::FsconfigFd, "fsconfig-fd"},
    {Mechanism::FsconfigPath, "fsconfig-path"},
    {Mechanism::Mount, "mount"},
    {Mechanism::MountFdPath, "mount-fd-path"},
    {Mechanism::MountFdRelative, "mount-fd-relative"},
};

}  // namespace

const char* MechanismName(Mechanism m) {
  for (const auto& info : kMechanisms) {
    if (info.mechanism == m) return info.name;
  }
  return "unknown";
}

bool ParseMechanism(const std::string& name, Mechanism* out) {
  for (const auto& info : kMechanisms) {
    if (name == info.name) {
      *out = info.mechanism;
      return true;
    }
  }
  return false;
}

}  // namespace ovl
