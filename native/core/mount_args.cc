#include "core/mount_args.h"

#include "util/args.h"
#include "util/flag_bits_to_js.h"

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

// [image, subdir, type, digest?] or undefined/null for a plain directory.
ImageSpec ParseImageSpec(Napi::Env env, Napi::Value v, const std::string& field) {
  ImageSpec spec;
  if (v.IsUndefined() || v.IsNull()) return spec;
  if (!v.IsArray()) throw Napi::TypeError::New(env, field + " image must be [image, subdir, type]");
  Napi::Array a = v.As<Napi::Array>();
  spec.image = args::ToString(env, a.Get(0u), (field + " image").c_str());
  spec.subdir = args::ToString(env, a.Get(1u), (field + " image path").c_str(), false);
  spec.type = args::ToString(env, a.Get(2u), (field + " image type").c_str(), false);
  spec.digest = args::ToString(env, a.Get(3u), (field + " image digest").c_str(), false);
  if (spec.image.empty()) throw Napi::TypeError::New(env, field + " image must not be empty");
  return spec;
}

std::vector<DirInUse> ParseDirsInUse(Napi::Env env, Napi::Value v) {
  std::vector<DirInUse> out;
  if (v.IsUndefined() || v.IsNull()) return out;
  if (!v.IsArray()) throw Napi::TypeError::New(env, "directories in use must be an array of [id, holder]");
  Napi::Array list = v.As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value pair = list.Get(i);
    if (!pair.IsArray()) throw Napi::TypeError::New(env, "a directory in use must be [id, holder]");
    Napi::Array p = pair.As<Napi::Array>();
    out.push_back(DirInUse{args::ToString(env, p.Get(0u), "directory id"), args::ToString(env, p.Get(1u), "directory holder")});
  }
  return out;
}

namespace {

std::vector<ImageSpec> ParseImageSpecs(Napi::Env env, Napi::Value v, const char* role, size_t count) {
  std::vector<ImageSpec> specs;
  if (v.IsUndefined() || v.IsNull()) return specs;
  if (!v.IsArray() || v.As<Napi::Array>().Length() != count) {
    throw Napi::TypeError::New(env, std::string(role) + " images must be an array as long as " + role);
  }
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < count; i++) specs.push_back(ParseImageSpec(env, a.Get(i), std::string(role) + "[" + std::to_string(i) + "]"));
  return specs;
}

// [lower specs, data specs, upper spec, work spec], or undefined when no layer is an image.
void ParseImages(const Napi::CallbackInfo& info, MountRequest* r) {
  Napi::Value v = info[kMountImages];
  if (v.IsUndefined()) return;
  if (!v.IsArray()) throw Napi::TypeError::New(info.Env(), "images must be an array");
  Napi::Array a = v.As<Napi::Array>();
  r->lowerImages = ParseImageSpecs(info.Env(), a.Get(0u), "lower", r->lower.size());
  r->dataImages = ParseImageSpecs(info.Env(), a.Get(1u), "data", r->data.size());
  r->upperImage = ParseImageSpec(info.Env(), a.Get(2u), "upper");
  r->workImage = ParseImageSpec(info.Env(), a.Get(3u), "work");
  r->dirsInUse = ParseDirsInUse(info.Env(), a.Get(4u));
}

// [dir, sample]: where the record of a mount with images goes, how many others to pick.
ImageRecordRequest ParseRecord(const Napi::CallbackInfo& info) {
  ImageRecordRequest record;
  if (info[kMountRecord].IsUndefined()) return record;
  if (!info[kMountRecord].IsArray()) throw Napi::TypeError::New(info.Env(), "record must be [dir, sample]");
  Napi::Array a = info[kMountRecord].As<Napi::Array>();
  record.dir = args::ToString(info.Env(), a.Get(0u), "record dir");
  Napi::Value sample = a.Get(1u);
  if (!sample.IsNumber()) throw Napi::TypeError::New(info.Env(), "record sample must be a number");
  record.sample = sample.As<Napi::Number>().Uint32Value();
  return record;
}

}  // namespace

Napi::Object MountFlagBitsToJs(Napi::Env env) {
  return FlagBitsToJs(env, {{"readOnly", kFlagReadOnly}, {"nosuid", kFlagNosuid}, {"nodev", kFlagNodev}, {"noexec", kFlagNoexec}});
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
  auto setIf = [flags](unsigned bit) { return flags & bit ? Change::Set : Change::Keep; };
  r.flags.readOnly = setIf(kFlagReadOnly);
  r.flags.nosuid = setIf(kFlagNosuid);
  r.flags.nodev = setIf(kFlagNodev);
  r.flags.noexec = setIf(kFlagNoexec);
  r.flags.atime = args::EnumAt(info, kMountAtime, "atime", ParseAtime, Atime::Keep);
  r.propagation = args::EnumAt(info, kMountPropagation, "propagation", ParsePropagation, Propagation::Keep);
  r.idmap = ParseIdmap(info);
  ParseImages(info, &r);
  r.record = ParseRecord(info);
  r.mechanism = args::EnumAt(info, kMountMechanism, "mechanism", ParseMechanism, Mechanism::Auto);
  return r;
}

// [mechanism, mountId, warnings, uniqueMountId] and, when layers came from images,
// [[image, type, dev, ino, loop, writable], ...], the overlay's "major:minor",
// the record file ("" when none was written) and the other records to check:
// a tuple for the same reason the request is one.
Napi::Value MountResultToJs(Napi::Env env, const MountResult& result) {
  Napi::Array out = Napi::Array::New(env, result.images.empty() ? 4 : 8);
  out.Set(0u, MechanismName(result.mechanism));
  out.Set(1u, Napi::Number::New(env, static_cast<double>(result.mountId)));
  Napi::Array warnings = Napi::Array::New(env, result.warnings.size());
  for (size_t i = 0; i < result.warnings.size(); i++) warnings.Set(i, result.warnings[i]);
  out.Set(2u, warnings);
  out.Set(3u, Napi::Number::New(env, static_cast<double>(result.uniqueMountId)));
  if (result.images.empty()) return out;
  Napi::Array images = Napi::Array::New(env, result.images.size());
  for (size_t i = 0; i < result.images.size(); i++) {
    const ImageInfo& image = result.images[i];
    Napi::Array row = Napi::Array::New(env, 6);
    row.Set(0u, image.image);
    row.Set(1u, image.type);
    row.Set(2u, Napi::Number::New(env, static_cast<double>(image.dev)));
    row.Set(3u, Napi::Number::New(env, static_cast<double>(image.ino)));
    row.Set(4u, Napi::Number::New(env, image.loop));
    row.Set(5u, Napi::Boolean::New(env, image.writable));
    images.Set(i, row);
  }
  out.Set(4u, images);
  out.Set(5u, result.superblock);
  out.Set(6u, result.recordFile);
  Napi::Array sample = Napi::Array::New(env, result.pruneSample.size());
  for (size_t i = 0; i < result.pruneSample.size(); i++) sample.Set(i, result.pruneSample[i]);
  out.Set(7u, sample);
  return out;
}

}  // namespace ovl
