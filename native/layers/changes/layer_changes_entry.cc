// What an upper layer changed over its lowers, handed to JS a batch at a
// time (native/layers/changes/layer_changes_walk.h walks): layerChangesOpen makes a walk
// and touches no file; layerChangesNext (a Promise, in a worker) and its
// twin layerChangesNextSync run the same walk on until a batch is decided;
// layerChangesClose closes its fds at once. A walk nobody closes is closed
// when its handle is collected.
#include <napi.h>

#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "layers/changes/layer_changes_walk.h"
#include "util/args.h"
#include "util/twin.h"

namespace ovl {
namespace {

// One walk and the lock that keeps its batches one at a time: a batch read
// while another runs in a worker is refused, never interleaved.
struct WalkHandle {
  std::mutex busy;
  ChangesWalk walk;
  explicit WalkHandle(ChangesRequest r) : walk(std::move(r)) {}
};
using SharedWalk = std::shared_ptr<WalkHandle>;

// Marks our handles, so another External passed in is refused, not misread.
constexpr napi_type_tag kWalkTag = {0x6f766c5f6368616eULL, 0x6765735f77616c6bULL};

Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ChangesRequest r;
  r.upper = args::PathBytes(env, info[0], "upper");
  if (!info[1].IsArray()) throw Napi::TypeError::New(env, "lower must be an array");
  Napi::Array lowers = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < lowers.Length(); i++) r.lowers.push_back(args::PathBytes(env, lowers.Get(i), "lower[" + std::to_string(i) + "]"));
  r.userxattr = info[2].ToBoolean().Value();
  auto handle = Napi::External<SharedWalk>::New(env, new SharedWalk(std::make_shared<WalkHandle>(std::move(r))), [](Napi::Env, SharedWalk* w) { delete w; });
  handle.TypeTag(&kWalkTag);
  return handle;
}

SharedWalk WalkAt(const Napi::CallbackInfo& info) {
  if (!info[0].IsExternal() || !info[0].As<Napi::Object>().CheckTypeTag(&kWalkTag)) throw Napi::TypeError::New(info.Env(), "walk must be a handle from layerChangesOpen");
  return *info[0].As<Napi::External<SharedWalk>>().Data();
}

struct NextRequest {
  SharedWalk walk;  // shared: a worker keeps the walk alive if its handle is collected meanwhile
  size_t max = 0;
};

NextRequest ParseNext(const Napi::CallbackInfo& info) {
  uint32_t max = info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
  if (max == 0) throw Napi::TypeError::New(info.Env(), "max must be a positive number");
  return {WalkAt(info), max};
}

Outcome<ChangesBatch> RunNext(const NextRequest& r) {
  std::unique_lock<std::mutex> lock(r.walk->busy, std::try_to_lock);
  if (!lock.owns_lock()) return SysError::Invalid("walk", "", "a batch is already being read from this walk", EBUSY);
  return r.walk->walk.Next(r.max);
}

// [paths, kinds, done]: three values cross per batch, not one per change.
Napi::Value BatchToJs(Napi::Env env, const ChangesBatch& batch) {
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, Napi::Buffer<char>::Copy(env, batch.paths.data(), batch.paths.size()));
  out.Set(1u, Napi::String::New(env, batch.kinds));
  out.Set(2u, Napi::Boolean::New(env, batch.done));
  return out;
}

const Operation<NextRequest, ChangesBatch> kLayerChangesNext{"layerChangesNext", ParseNext, RunNext, BatchToJs};

// Closes the walk's fds now; true when closed, false when a batch is being
// read in a worker (close again once it settles).
Napi::Value Close(const Napi::CallbackInfo& info) {
  SharedWalk walk = WalkAt(info);
  std::unique_lock<std::mutex> lock(walk->busy, std::try_to_lock);
  if (lock.owns_lock()) walk->walk.Close();
  return Napi::Boolean::New(info.Env(), lock.owns_lock());
}

#ifdef OVERLAY_NATIVE_TEST
// The test addon only: the most changes a walk ever held at once.
Napi::Value PeakQueued(const Napi::CallbackInfo& info) {
  SharedWalk walk = WalkAt(info);
  std::lock_guard<std::mutex> lock(walk->busy);
  return Napi::Number::New(info.Env(), static_cast<double>(walk->walk.PeakQueued()));
}
#endif

}  // namespace

void InitLayerChanges(Napi::Env env, Napi::Object exports) {
  exports.Set("layerChangesOpen", Napi::Function::New(env, Open, "layerChangesOpen"));
  ExportOperation(env, exports, kLayerChangesNext);
  exports.Set("layerChangesClose", Napi::Function::New(env, Close, "layerChangesClose"));
#ifdef OVERLAY_NATIVE_TEST
  exports.Set("layerChangesPeakQueued", Napi::Function::New(env, PeakQueued, "layerChangesPeakQueued"));
#endif
}

}  // namespace ovl
