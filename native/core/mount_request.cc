#include "core/mount_request.h"

#include "inspect/mount_identity.h"

namespace ovl {
namespace {

template <typename Enum>
struct Named {
  Enum value;
  const char* name;
};

constexpr Named<Mechanism> kMechanisms[] = {
    {Mechanism::Auto, "auto"},
    {Mechanism::FsconfigFd, "fsconfig-fd"},
    {Mechanism::FsconfigPath, "fsconfig-path"},
    {Mechanism::Mount, "mount"},
    {Mechanism::MountFdPath, "mount-fd-path"},
    {Mechanism::MountFdRelative, "mount-fd-relative"},
};
constexpr Named<Atime> kAtimes[] = {{Atime::Noatime, "noatime"}, {Atime::Relatime, "relatime"}, {Atime::Strictatime, "strictatime"}};
constexpr Named<Propagation> kPropagations[] = {
    {Propagation::Private, "private"}, {Propagation::Shared, "shared"}, {Propagation::Slave, "slave"}, {Propagation::Unbindable, "unbindable"}};

template <typename Enum, size_t N>
bool ParseName(const Named<Enum> (&table)[N], const std::string& name, Enum* out) {
  for (const auto& entry : table) {
    if (name == entry.name) {
      *out = entry.value;
      return true;
    }
  }
  return false;
}

}  // namespace

const char* MechanismName(Mechanism m) {
  for (const auto& entry : kMechanisms) {
    if (entry.value == m) return entry.name;
  }
  return "unknown";
}

bool ParseMechanism(const std::string& name, Mechanism* out) { return ParseName(kMechanisms, name, out); }
bool ParseAtime(const std::string& name, Atime* out) { return ParseName(kAtimes, name, out); }
bool ParsePropagation(const std::string& name, Propagation* out) { return ParseName(kPropagations, name, out); }

MountResult MountResultFor(Mechanism mechanism, int mountRootFd, std::vector<std::string> warnings) {
  MountResult result;
  result.mechanism = mechanism;
  result.mountId = mountRootFd >= 0 ? MountIdOf(mountRootFd) : 0;
  result.uniqueMountId = mountRootFd >= 0 ? UniqueMountIdOf(mountRootFd) : 0;
  result.warnings = std::move(warnings);
  return result;
}

}  // namespace ovl
