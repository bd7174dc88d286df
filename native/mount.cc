// mountOverlay / mountOverlaySync: open and check every layer, pick the best
// mechanism this kernel offers, mount. Nothing stays behind on failure: the
// layer fds close themselves and a failed fsmount leaves no mount.
#include <napi.h>

#include "args.h"
#include "kernel_features.h"
#include "idmap.h"
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

std::vector<MountOption> ParseOptions(Napi::Object obj) {
  std::vector<MountOption> out;
  Napi::Value v = obj.Get("options");
  if (v.IsUndefined()) return out;
  if (!v.IsArray()) throw Napi::TypeError::New(obj.Env(), "options must be an array of [key, value?] pairs");
  Napi::Array arr = v.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value item = arr.Get(i);
    if (!item.IsArray()) throw Napi::TypeError::New(obj.Env(), "options[" + std::to_string(i) + "] must be an array");
    Napi::Array pair = item.As<Napi::Array>();
    MountOption option;
    if (!pair.Get(0u).IsString()) throw Napi::TypeError::New(obj.Env(), "option key must be a string");
    option.key = pair.Get(0u).As<Napi::String>().Utf8Value();
    Napi::Value value = pair.Get(1u);
    option.flag = value.IsUndefined() || value.IsNull();
    if (!option.flag) {
      if (!value.IsString()) throw Napi::TypeError::New(obj.Env(), "option " + option.key + " must have a string value");
      option.value = value.As<Napi::String>().Utf8Value();
    }
    out.push_back(std::move(option));
  }
  return out;
}

IdmapRequest ParseIdmap(Napi::Object obj) {
  IdmapRequest idmap;
  Napi::Value v = obj.Get("idmap");
  if (v.IsUndefined()) return idmap;
  if (!v.IsObject()) throw Napi::TypeError::New(obj.Env(), "idmap must be an object");
  Napi::Object o = v.As<Napi::Object>();
  idmap.userns = args::String(o, "userns", false);
  idmap.uidMap = args::String(o, "uidMap", false);
  idmap.gidMap = args::String(o, "gidMap", false);
  bool maps = !idmap.uidMap.empty() || !idmap.gidMap.empty();
  if (idmap.userns.empty() == !maps) throw Napi::TypeError::New(obj.Env(), "idmap takes either userns or uidMap and gidMap");
  if (maps && (idmap.uidMap.empty() || idmap.gidMap.empty())) throw Napi::TypeError::New(obj.Env(), "idmap needs both uidMap and gidMap");
  return idmap;
}

MountRequest ParseMountRequest(const Napi::CallbackInfo& info) {
  return ParseMountRequestObject(args::ObjectAt(info, 0, "mount request"));
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

MountRequest ParseMountRequestObject(Napi::Object obj) {
  MountRequest r;
  r.lower = args::Strings(obj, "lower");
  r.data = args::Strings(obj, "data");
  r.upper = args::String(obj, "upper", false);
  r.work = args::String(obj, "work", false);
  r.target = args::String(obj, "target");
  if (r.lower.empty()) throw Napi::TypeError::New(obj.Env(), "lower must name at least one directory");
  if (r.upper.empty() != r.work.empty()) throw Napi::TypeError::New(obj.Env(), "upper and work go together");
  r.options = ParseOptions(obj);
  r.readOnly = args::Bool(obj, "readOnly");
  r.nosuid = args::Bool(obj, "nosuid");
  r.nodev = args::Bool(obj, "nodev");
  r.noexec = args::Bool(obj, "noexec");
  r.atime = args::String(obj, "atime", false);
  r.propagation = args::String(obj, "propagation", false);
  if (!r.propagation.empty() && PropagationFlag(r.propagation) == 0) {
    throw Napi::TypeError::New(obj.Env(), "unknown propagation '" + r.propagation + "'");
  }
  r.idmap = ParseIdmap(obj);
  std::string mechanism = args::String(obj, "mechanism", false);
  if (!mechanism.empty() && !ParseMechanism(mechanism, &r.mechanism)) {
    throw Napi::TypeError::New(obj.Env(), "unknown mechanism '" + mechanism + "'");
  }
  return r;
}

Napi::Value MountResultToJs(Napi::Env env, const MountResult& result) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("mechanism", MechanismName(result.mechanism));
  out.Set("mountId", Napi::Number::New(env, static_cast<double>(result.mountId)));
  Napi::Array warnings = Napi::Array::New(env, result.warnings.size());
  for (size_t i = 0; i < result.warnings.size(); i++) warnings.Set(i, result.warnings[i]);
  out.Set("warnings", warnings);
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
