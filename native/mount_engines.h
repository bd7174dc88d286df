// The two families of mechanisms: the new mount API (fsopen ... move_mount)
// and mount(2) with a data string.
#pragma once

#include <napi.h>

#include "layers.h"
#include "mount_request.h"
#include "sys_error.h"

namespace ovl {

// An overlay made with fsopen..fsmount and not yet attached anywhere.
struct DetachedOverlay {
  UniqueFd mount;
  std::vector<std::string> warnings;  // the kernel's non-fatal messages
};
Outcome<DetachedOverlay> CreateDetachedOverlay(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism);

// The mechanism a request gets: forced, or the best this kernel offers.
Outcome<Mechanism> ChooseMechanism(const MountRequest& request, const OpenedLayers& layers);
bool IsFsconfig(Mechanism m);

// Opens the layers and, when asked, swaps the lower ones for idmapped clones.
Outcome<OpenedLayers> PrepareLayers(const MountRequest& request, Mechanism* mechanism);

// One image layer's [image, subdir, type] (undefined or null: a plain directory); `field` names it in a TypeError.
ImageSpec ParseImageSpec(Napi::Env env, Napi::Value v, const std::string& field);

// Reads a mount request from the positional arguments of mount_args.h (shared by mount and replace).
MountRequest ParseMountRequest(const Napi::CallbackInfo& info);
Napi::Value MountResultToJs(Napi::Env env, const MountResult& result);

Outcome<MountResult> MountWithFsconfig(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism);
Outcome<MountResult> MountWithMount2(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism);

// Attaches a detached overlay on the request's target and sets its propagation.
Outcome<MountResult> AttachOverlay(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism, DetachedOverlay overlay);

// Image layers on kernels without `lowerdir+` (before 6.8): the overlay is
// made with mount(2) in a private mount namespace and handed back detached
// (image_mount2.cc).
Outcome<MountResult> MountImagesWithMount2(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism);

// mount(2)'s data string and flags for a request (mount_legacy.cc).
std::string BuildMountData(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism);
unsigned long Mount2Flags(const MountRequest& request);

// Drains a filesystem context's log into the kernel's errors and warnings.
void ReadFsLog(int fsfd, std::vector<std::string>* errors, std::vector<std::string>* warnings);

// "/proc/self/fd/N": a name for an opened directory that fits any limit.
std::string FdPath(int fd);

// Whether mount(2) data for this request fits the one page the kernel copies.
bool FitsOnePage(const MountRequest& request, const OpenedLayers& layers, Mechanism mechanism);

}  // namespace ovl
