// The addon's entry point: each system-call family registers its own exports.
//
// native/ is in folders by concern, the same words as lib/ and test/:
//   core/     the request and result every mount-like call shares, read from
//             its N-API arguments once (core/mount_args.h), and the mount flags
//   inspect/  which mount a path or fd is, the overlay on a path, what this
//             kernel's overlay offers
//   images/   image files as layers: mounted detached, loop devices, the
//             record, a file's fs-verity digest
//   mount/    one mount as stages: prepare.h, engines/, attach.h (mount_entry.cc
//             says the order)
//   live/     changing a mounted stack: replace, remount, umount
//   apply/    apply's two halves: build detached, then switch every target
//   layers/   whiteouts, opaque dirs, overlay xattrs, reading layer dirs;
//             layers/changes/ what an upper changed over its lowers
//   convert/  OCI <-> overlay layer form, and its temporaries
//   check/    the pre-flight of a would-be mount and its probes
//   seal/     sealed images: a store's check, its verity, an image's objects
//   oci/      what a layer's entries need beyond Node's fs, for unpack and
//             commit: device and fifo entries made, extended attributes,
//             zstd streams (libzstd)
//   util/     the plumbing every family shares; test/ the test addon
// Includes are paths from native/ (one include root). The rule for entry
// points: a file that registers exports is named <family>_entry.cc and
// holds that family's N-API face (parse, run through util/twin.h, convert);
// every other file is a helper named for what it does, and registers nothing
// (but util/js_error.cc's setErrorFactory, the plumbing's own; native/test/
// is the test addon, with entries of its own).
#include "addon.h"

#include "util/js_error.h"

namespace ovl {
void InitMount(Napi::Env env, Napi::Object exports);
void InitUmount(Napi::Env env, Napi::Object exports);
void InitCheck(Napi::Env env, Napi::Object exports);
void InitWhiteout(Napi::Env env, Napi::Object exports);
void InitOpaque(Napi::Env env, Napi::Object exports);
void InitRemount(Napi::Env env, Napi::Object exports);
void InitReplace(Napi::Env env, Napi::Object exports);
void InitLayerChanges(Napi::Env env, Napi::Object exports);
void InitLayerExport(Napi::Env env, Napi::Object exports);
void InitOciConvert(Napi::Env env, Napi::Object exports);
void InitOciTemps(Napi::Env env, Napi::Object exports);
void InitLayerSurvey(Napi::Env env, Napi::Object exports);
void InitApplyBuild(Napi::Env env, Napi::Object exports);
void InitApplySwitch(Napi::Env env, Napi::Object exports);
void InitImageRecordLookup(Napi::Env env, Napi::Object exports);
void InitSeal(Napi::Env env, Napi::Object exports);
void InitLayerNodes(Napi::Env env, Napi::Object exports);
void InitXattrs(Napi::Env env, Napi::Object exports);
void InitZstd(Napi::Env env, Napi::Object exports);

void InitAddon(Napi::Env env, Napi::Object exports) {
  InitErrors(env, exports);
  InitMount(env, exports);
  InitUmount(env, exports);
  InitCheck(env, exports);
  InitWhiteout(env, exports);
  InitOpaque(env, exports);
  InitRemount(env, exports);
  InitReplace(env, exports);
  InitApplyBuild(env, exports);
  InitApplySwitch(env, exports);
  InitLayerChanges(env, exports);
  InitLayerExport(env, exports);
  InitOciConvert(env, exports);
  InitOciTemps(env, exports);
  InitLayerSurvey(env, exports);
  InitImageRecordLookup(env, exports);
  InitSeal(env, exports);
  InitLayerNodes(env, exports);
  InitXattrs(env, exports);
  InitZstd(env, exports);
}
}  // namespace ovl

// The test addon has its own module entry (test/test_addon.cc).
#ifndef OVERLAY_NATIVE_TEST
static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  ovl::InitAddon(env, exports);
  return exports;
}

NODE_API_MODULE(overlay_native, Init)
#endif
