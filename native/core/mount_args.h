// The positional arguments of mountOverlay and replaceOverlay, in the order
// lib/native-mount.ts packs them. Positional because each named property read
// through N-API makes and looks up a key string: fourteen of them cost more
// user time than the rest of a mount (bench/README.md).
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
  kMountRecord,       // [record dir, the request's part of the record as a JSON object, sample] or undefined
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

// [[id, holder], ...] or undefined: the directories live overlays use (lib/image-dirs-in-use.ts).
std::vector<DirInUse> ParseDirsInUse(Napi::Env env, Napi::Value v);

// Reads a mount request from these arguments (shared by mount and replace): type checks only, the rules are lib/'s.
MountRequest ParseMountRequest(const Napi::CallbackInfo& info);
Napi::Value MountResultToJs(Napi::Env env, const MountResult& result);

}  // namespace ovl
