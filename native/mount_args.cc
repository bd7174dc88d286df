#include "mount_args.h"

#include "util/args.h"

namespace ovl {
namespace {

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

}  // namespace

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
  auto setIf = [flags](unsigned bit) { return flags & bit ? Change::Set : Change::Keep; };
  r.flags.readOnly = setIf(kFlagReadOnly);
  r.flags.nosuid = setIf(kFlagNosuid);
  r.flags.nodev = setIf(kFlagNodev);
  r.flags.noexec = setIf(kFlagNoexec);
  r.flags.atime = args::EnumAt(info, kMountAtime, "atime", ParseAtime, Atime::Keep);
  r.propagation = args::EnumAt(info, kMountPropagation, "propagation", ParsePropagation, Propagation::Keep);
  r.idmap = ParseIdmap(info);
  r.mechanism = args::EnumAt(info, kMountMechanism, "mechanism", ParseMechanism, Mechanism::Auto);
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

}  // namespace ovl
