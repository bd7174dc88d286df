// mountOverlay / mountOverlaySync: open and check every layer, pick the best
// mechanism this kernel offers, mount. Nothing stays behind on failure: the
// layer fds close themselves and a failed fsmount leaves no mount.
#include <napi.h>

#include "args.h"
#include "kernel_features.h"
#include "idmap.h"
#include "mount_args.h"
#include "mount_engines.h"
#include "propagation.h"
#include "twin.h"

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

Outcome<MountResult> RunMount(const MountRequest& request) {
  Mechanism mechanism = request.mechanism;
  auto layers = PrepareLayers(request, &mechanism);
  if (layers.error) return layers.error;
  return IsFsconfig(mechanism) ? MountWithFsconfig(request, layers.value, mechanism) : MountWithMount2(request, layers.value, mechanism);
}

std::vector<MountOption> ParseOptions(const Napi::CallbackInfo& info) {
  std::vector<MountOption> out;
  Napi::Value v = info[kMountOptions];
  if (v.IsUndefined()) return out;
  if (!v.IsArray()) throw Napi::TypeError::New(info.Env(), "options must be an array of key, value pairs");
  Napi::Array flat = v.As<Napi::Array>();
  if (flat.Length() % 2 != 0) throw Napi::TypeError::New(info.Env(), "options must hold a value (or null) after every key");
  for (uint32_t i = 0; i < flat.Length(); i += 2) {
    MountOption option;
    option.key = args::ToString(info.Env(), flat.Get(i), "option key");
    Napi::Value value = flat.Get(i + 1);
    option.flag = value.IsUndefined() || value.IsNull();
    if (!option.flag) option.value = args::ToString(info.Env(), value, ("option " + option.key).c_str());
    out.push_back(std::move(option));
  }
  return out;
}

IdmapRequest ParseIdmap(const Napi::CallbackInfo& info) {
  IdmapRequest idmap;
  Napi::Value v = info[kMountIdmap];
  if (v.IsUndefined()) return idmap;
  if (!v.IsObject()) throw Napi::TypeError::New(info.Env(), "idmap must be an object");
  Napi::Object o = v.As<Napi::Object>();
  idmap.userns = args::String(o, "userns", false);
  idmap.uidMap = args::String(o, "uidMap", false);
  idmap.gidMap = args::String(o, "gidMap", false);
  bool maps = !idmap.uidMap.empty() || !idmap.gidMap.empty();
  if (idmap.userns.empty() == !maps) throw Napi::TypeError::New(info.Env(), "idmap takes either userns or uidMap and gidMap");
  if (maps && (idmap.uidMap.empty() || idmap.gidMap.empty())) throw Napi::TypeError::New(info.Env(), "idmap needs both uidMap and gidMap");
  return idmap;
}

const Operation<MountRequest, MountResult> kMountOverlay{"mountOverlay", ParseMountRequest, RunMount, MountResultToJs};

Napi::Value KernelFeaturesToJs(const Napi::CallbackInfo& info) {
  const KernelFeatures& k = ProbeKernel();
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("newMountApi", k.newMountApi);
  out.Set("overlayParsesParams", k.overlayParsesParams);
  out.Set("lowerdirPlus", k.lowerdirPlus);
  out.Set("layerFd", k.layerFd);
  out.Set("moveMountBeneath", k.moveMountBeneath);
  out.Set("fsopenErrno", k.fsopenErrno);
  return out;
}

}  // namespace

bool IsFsconfig(Mechanism m) { return m == Mechanism::FsconfigFd || m == Mechanism::FsconfigPath; }

// The fallback ladder: the new API when overlay takes `lowerdir+`, else
// mount(2) with the longest names that still fit one page.
Outcome<Mechanism> ChooseMechanism(const MountRequest& request, const OpenedLayers& layers) {
  if (request.mechanism != Mechanism::Auto) return request.mechanism;
  const KernelFeatures& kernel = ProbeKernel();
  if (kernel.layerFd) return Mechanism::FsconfigFd;
  if (kernel.lowerdirPlus) return Mechanism::FsconfigPath;
  for (Mechanism m : {Mechanism::Mount, Mechanism::MountFdPath, Mechanism::MountFdRelative}) {
    if (FitsOnePage(request, layers, m)) return m;
  }
  return SysError::Invalid("lower", request.target,
                           "this kernel has no `lowerdir+` and the options do not fit one page for mount(2) even as fd numbers", E2BIG);
}

Outcome<OpenedLayers> PrepareLayers(const MountRequest& request, Mechanism* mechanism) {
  auto layers = OpenLayers(request);
  if (layers.error) return layers.error;
  auto chosen = ChooseMechanism(request, layers.value);
  if (chosen.error) return chosen.error;
  *mechanism = chosen.value;
  if (request.idmap.wanted()) {
    if (!IsFsconfig(*mechanism)) {
      return SysError::Invalid("idmap", request.target,
                               std::string("idmapped layers go to overlay by fd with `lowerdir+` (Linux 6.8+; overlay takes idmapped layers since 5.19), "
                                           "which the mechanism '") + MechanismName(*mechanism) + "' cannot do",
                               EOPNOTSUPP);
    }
    if (auto e = IdmapLowerLayers(request.idmap, &layers.value)) return e;
  }
  return layers;
}

MountRequest ParseMountRequest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MountRequest r;
  r.target = args::StringAt(info, kMountTarget, "target");
  r.lower = args::StringsAt(info, kMountLower, "lower");
  r.data = args::StringsAt(info, kMountData, "data");
  r.upper = args::StringAt(info, kMountUpper, "upper", false);
  r.work = args::StringAt(info, kMountWork, "work", false);
  if (r.lower.empty()) throw Napi::TypeError::New(env, "lower must name at least one directory");
  if (r.upper.empty() != r.work.empty()) throw Napi::TypeError::New(env, "upper and work go together");
  r.options = ParseOptions(info);
  uint32_t flags = args::Uint32At(info, kMountFlags, "flags");
  r.readOnly = flags & kFlagReadOnly;
  r.nosuid = flags & kFlagNosuid;
  r.nodev = flags & kFlagNodev;
  r.noexec = flags & kFlagNoexec;
  r.atime = args::StringAt(info, kMountAtime, "atime", false);
  r.propagation = args::StringAt(info, kMountPropagation, "propagation", false);
  if (!r.propagation.empty() && PropagationFlag(r.propagation) == 0) {
    throw Napi::TypeError::New(env, "unknown propagation '" + r.propagation + "'");
  }
  r.idmap = ParseIdmap(info);
  std::string mechanism = args::StringAt(info, kMountMechanism, "mechanism", false);
  if (!mechanism.empty() && !ParseMechanism(mechanism, &r.mechanism)) {
    throw Napi::TypeError::New(env, "unknown mechanism '" + mechanism + "'");
  }
  return r;
}

// [mechanism, mountId, warnings, uniqueMountId]: a tuple for the same reason the request is one.
Napi::Value MountResultToJs(Napi::Env env, const MountResult& result) {
  Napi::Array out = Napi::Array::New(env, 4);
  out.Set(0u, MechanismName(result.mechanism));
  out.Set(1u, Napi::Number::New(env, static_cast<double>(result.mountId)));
  Napi::Array warnings = Napi::Array::New(env, result.warnings.size());
  for (size_t i = 0; i < result.warnings.size(); i++) warnings.Set(i, result.warnings[i]);
  out.Set(2u, warnings);
  out.Set(3u, Napi::Number::New(env, static_cast<double>(result.uniqueMountId)));
  return out;
}

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

void InitMount(Napi::Env env, Napi::Object exports) {
  ExportOperation(env, exports, kMountOverlay);
  exports.Set("kernelFeatures", Napi::Function::New(env, KernelFeaturesToJs, "kernelFeatures"));
}

}  // namespace ovl
