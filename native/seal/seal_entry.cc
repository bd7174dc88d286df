// fsverityDigest / verifyStore / probeStoreVerity / missingObjects /
// unverifiedObjects / enterSealTemps / sealImage (and their *Sync twins):
// the measuring a sealed layer needs before it is mounted, the check of a
// whole store and of the images over it, the locks a seal holds on its
// temporaries (and a dead seal's cleaned), and the seal itself.
#include <napi.h>

#include "images/fsverity_digest.h"
#include "seal/image_objects.h"
#include "seal/seal_image.h"
#include "seal/seal_temps.h"
#include "seal/store_verify.h"
#include "seal/verity_probe.h"
#include "util/args.h"
#include "util/twin.h"

namespace ovl {
namespace {

std::string ParsePath(const Napi::CallbackInfo& info) { return args::StringAt(info, 0, "path"); }

Outcome<std::string> RunDigest(const std::string& path) {
  auto digest = FsverityDigestOfPath(path);
  if (digest.error) return digest.error;
  return DigestHex(digest.value);
}

Napi::Value StringToJs(Napi::Env env, const std::string& s) { return Napi::String::New(env, s); }

// Each item as an array `fill` sets the cells of, in order.
template <typename Item, typename Fill>
Napi::Value RowsToJs(Napi::Env env, const std::vector<Item>& items, Fill fill) {
  Napi::Array out = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); i++) {
    Napi::Array row = Napi::Array::New(env);
    fill(items[i], row);
    out.Set(static_cast<uint32_t>(i), row);
  }
  return out;
}

// [objects, [[object, errnum, actualHex], ...]]
Napi::Value ReportToJs(Napi::Env env, const StoreReport& report) {
  Napi::Array problems = Napi::Array::New(env, report.problems.size());
  for (size_t i = 0; i < report.problems.size(); i++) {
    const StoreProblem& p = report.problems[i];
    Napi::Array row = Napi::Array::New(env, 3);
    row.Set(0u, Napi::String::New(env, p.object));
    row.Set(1u, Napi::Number::New(env, p.errnum));
    row.Set(2u, Napi::String::New(env, p.actual));
    problems.Set(static_cast<uint32_t>(i), row);
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, static_cast<double>(report.objects)));
  out.Set(1u, problems);
  return out;
}

struct ImageObjectsRequest {
  std::string image, store, field;
};

ImageObjectsRequest ParseImageObjects(const Napi::CallbackInfo& info) {
  return {args::StringAt(info, 0, "image"), args::StringAt(info, 1, "store"), args::StringAt(info, 2, "field")};
}

Outcome<std::vector<MissingObject>> RunMissingObjects(const ImageObjectsRequest& r) { return MissingObjects(r.image, r.store, r.field); }

Outcome<std::vector<UnverifiedObject>> RunUnverifiedObjects(const ImageObjectsRequest& r) { return UnverifiedObjects(r.image, r.store, r.field); }

// [[object, file, errnum], ...]
Napi::Value UnverifiedToJs(Napi::Env env, const std::vector<UnverifiedObject>& unverified) {
  return RowsToJs(env, unverified, [env](const UnverifiedObject& u, Napi::Array& row) {
    row.Set(0u, Napi::String::New(env, u.object));
    row.Set(1u, Napi::String::New(env, u.file));
    row.Set(2u, Napi::Number::New(env, u.errnum));
  });
}

// [[object, file], ...]
Napi::Value MissingToJs(Napi::Env env, const std::vector<MissingObject>& missing) {
  return RowsToJs(env, missing, [env](const MissingObject& m, Napi::Array& row) {
    row.Set(0u, Napi::String::New(env, m.object));
    row.Set(1u, Napi::String::New(env, m.file));
  });
}

struct SealRequest {
  std::string source, store, image;
};

SealRequest ParseSeal(const Napi::CallbackInfo& info) {
  return {args::StringAt(info, 0, "source"), args::StringAt(info, 1, "store"), args::StringAt(info, 2, "image")};
}

Outcome<SealCounts> RunSeal(const SealRequest& r) { return SealImage(r.source, r.store, r.image); }

// [files, added, addedBytes]
Napi::Value CountsToJs(Napi::Env env, const SealCounts& counts) {
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, Napi::Number::New(env, static_cast<double>(counts.files)));
  out.Set(1u, Napi::Number::New(env, static_cast<double>(counts.added)));
  out.Set(2u, Napi::Number::New(env, static_cast<double>(counts.addedBytes)));
  return out;
}

struct TempsRequest {
  std::string store, imageDir;
};

TempsRequest ParseTemps(const Napi::CallbackInfo& info) { return {args::StringAt(info, 0, "store"), args::StringAt(info, 1, "imageDir")}; }

Outcome<SealTemps> RunTemps(const TempsRequest& r) { return EnterSealTemps(r.store, r.imageDir); }

// [storeFd, imageDirFd, [stale staging dir names], removed object temporaries]
Napi::Value TempsToJs(Napi::Env env, const SealTemps& temps) {
  Napi::Array stale = Napi::Array::New(env, temps.stale.size());
  for (size_t i = 0; i < temps.stale.size(); i++) stale.Set(static_cast<uint32_t>(i), Napi::String::New(env, temps.stale[i]));
  Napi::Array out = Napi::Array::New(env, 4);
  out.Set(0u, Napi::Number::New(env, temps.storeFd));
  out.Set(1u, Napi::Number::New(env, temps.imageDirFd));
  out.Set(2u, stale);
  out.Set(3u, Napi::Number::New(env, static_cast<double>(temps.removedObjects)));
  return out;
}

// [fsType, object, errnum]
Napi::Value ProbeToJs(Napi::Env env, const VerityProbe& probe) {
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, Napi::Number::New(env, static_cast<double>(probe.fsType)));
  out.Set(1u, Napi::String::New(env, probe.object));
  out.Set(2u, Napi::Number::New(env, probe.errnum));
  return out;
}

}  // namespace

// Each operation is defined beside its export; the tables are static, as ExportOperation needs.
void InitSeal(Napi::Env env, Napi::Object exports) {
  static const Operation<std::string, std::string> digest{"fsverityDigest", ParsePath, RunDigest, StringToJs};
  ExportOperation(env, exports, digest);
  static const Operation<std::string, StoreReport> verifyStore{"verifyStore", ParsePath, VerifyStore, ReportToJs};
  ExportOperation(env, exports, verifyStore);
  static const Operation<std::string, VerityProbe> probe{"probeStoreVerity", ParsePath, ProbeStoreVerity, ProbeToJs};
  ExportOperation(env, exports, probe);
  static const Operation<ImageObjectsRequest, std::vector<MissingObject>> missing{"missingObjects", ParseImageObjects, RunMissingObjects, MissingToJs};
  ExportOperation(env, exports, missing);
  static const Operation<ImageObjectsRequest, std::vector<UnverifiedObject>> unverified{"unverifiedObjects", ParseImageObjects, RunUnverifiedObjects, UnverifiedToJs};
  ExportOperation(env, exports, unverified);
  static const Operation<TempsRequest, SealTemps> temps{"enterSealTemps", ParseTemps, RunTemps, TempsToJs};
  ExportOperation(env, exports, temps);
  static const Operation<SealRequest, SealCounts> seal{"sealImage", ParseSeal, RunSeal, CountsToJs};
  ExportOperation(env, exports, seal);
}

}  // namespace ovl
