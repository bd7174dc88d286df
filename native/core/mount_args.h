// The one packed form of mountOverlay, replaceOverlay and buildOverlay, in
// the order lib/request/native-mount.ts packs them: positional arguments, and a
// tuple back (MountResultToJs), because reading a request object's 13 named
// properties through N-API measured 2.9 us a call against 1.1 us for 13
// positional arguments, more than the library's whole JavaScript for a
// mount+umount (lib/request/native-mount.ts has the figures).
#pragma once

#include <napi.h>

#include <cstddef>
#include <string>

#include "core/mount_request.h"

namespace ovl {

enum MountArg : size_t {
  kMountTarget,       // string
  kMountLower,        // string[], top layer first
  kMountData,         // string[] or undefined
  kMountUpper,        // string or undefined (then work is too)
  kMountWork,         // string or undefined
  kMountOptions,      // (string | null)[]: key, value, key, value...; a null value is a bare flag
  kMountFlags,        // MountFlagBits
  kMountAtime,        // string or undefined
  kMountPropagation,  // string or undefined
  kMountIdmap,        // { uidMap, gidMap } or { userns } or undefined
  kMountMechanism,    // string or undefined
  kMountImages,       // [lower, data, upper, work] image specs or undefined (core/mount_args.cc ParseImages)
  kMountRecord,       // [record dir, how many other records to pick] or undefined
};

// The one definition of kMountFlags' bits: the addon exports them as
// `mountFlagBits` and lib/ packs with what it reads there.
enum MountFlagBits : unsigned {
  kFlagReadOnly = 1,
  kFlagNosuid = 2,
  kFlagNodev = 4,
  kFlagNoexec = 8,
};

// { readOnly, nosuid, nodev, noexec }: the bits above, frozen, for the exports.
Napi::Object MountFlagBitsToJs(Napi::Env env);

// One image layer's [image, subdir, type] (undefined or null: a plain directory); `field` names it in a TypeError.
ImageSpec ParseImageSpec(Napi::Env env, Napi::Value v, const std::string& field);

// [[id, holder], ...] or undefined: the directories live overlays use (lib/inspect/image-dirs-in-use.ts).
std::vector<DirInUse> ParseDirsInUse(Napi::Env env, Napi::Value v);

// Reads a mount request from these arguments (shared by mount and replace): type checks only, the rules are lib/'s.
MountRequest ParseMountRequest(const Napi::CallbackInfo& info);
Napi::Value MountResultToJs(Napi::Env env, const MountResult& result);

}  // namespace ovl
