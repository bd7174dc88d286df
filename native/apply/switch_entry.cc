// switchOverlays / switchOverlaysSync: the second half of `apply`. Takes the
// detached overlays buildOverlay made and puts each in place, in order:
// mounted on its target, or moved beneath the overlay it replaces
// (MOVE_MOUNT_BENEATH) before that one is unmounted; then unmounts the stacks
// that left. Before touching a target it checks that the mount on top there
// is still the one the plan saw, so nothing that changed since is acted on.
// It stops at the first failure and says how far it got: the steps before it
// stay done (see docs/api.md, "What can fail after the first switch").
#include <fcntl.h>
#include <sys/mount.h>

#include <napi.h>

#include "inspect/kernel_features.h"
#include "inspect/mount_identity.h"
#include "inspect/mount_root.h"
#include "mount/propagation.h"
#include "util/args.h"
#include "util/fault.h"
#include "util/sys.h"
#include "util/twin.h"

namespace ovl {
namespace {

enum SwitchMode : uint32_t { kAttach = 0, kReplace = 1, kUnmount = 2 };

// A mount as apply identifies it: the short id, and the unique one from 6.8 (0 before).
struct MountIds {
  uint64_t mountId = 0;
  uint64_t uniqueId = 0;
};

MountIds IdsOf(int fd) { return {MountIdOf(fd), UniqueMountIdOf(fd)}; }

struct SwitchStep {
  int fd = -1;  // the detached overlay (kAttach, kReplace); JavaScript owns it
  std::string target;
  uint32_t mode = kAttach;
  MountIds expected;        // the mount on top at target when the plan was made
  Propagation propagation = Propagation::Keep;
};

struct StepResult {
  MountIds id;        // the new mount (kAttach, kReplace)
  bool busy = false;  // the old stack was still in use and was detached lazily
};

struct SwitchResult {
  std::vector<StepResult> done;
  SysError error;  // why the step after the last done one failed
};

SysError Changed(const std::string& target) {
  return SysError::Invalid("target", target, "the mount on '" + target + "' is not the one the plan saw: it changed meanwhile, so it is left alone", EBUSY);
}

bool IsExpected(int fd, const MountIds& expected) {
  MountIds now = IdsOf(fd);
  return expected.uniqueId != 0 ? now.uniqueId == expected.uniqueId : now.mountId == expected.mountId;
}

// Whether the mount on top at `target` is still `mountId`; the fd used to
// look is closed before returning, so it never makes the old stack busy.
bool StillOnTop(const std::string& target, uint64_t mountId) {
  UniqueFd top(::open(target.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  return top.valid() && mountId != 0 && MountIdOf(top.get()) == mountId;
}

// Unmounts the top of `target`; a stack still in use (open files, a working
// directory, a process's root) is detached instead and lives on for its users.
SysError UnmountTop(const std::string& target, bool* busy) {
  if (::umount2(target.c_str(), 0) == 0) return {};
  if (errno != EBUSY) return SysError::FromErrno("umount2", target, "target");
  *busy = true;
  if (::umount2(target.c_str(), MNT_DETACH) == 0) return {};
  return SysError::FromErrno("umount2", target, "target");
}

SysError Attach(const SwitchStep& step, StepResult* out) {
  UniqueFd target(::open(step.target.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!target.valid()) return SysError::FromErrno("open", step.target, "target");
  if (!IsExpected(target.get(), step.expected)) return Changed(step.target);
  if (sys::move_mount(step.fd, "", target.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
    return SysError::FromErrno("move_mount", step.target, "target");
  }
  out->id = IdsOf(step.fd);
  return {};
}

SysError Replace(const SwitchStep& step, StepResult* out) {
  uint64_t oldId = 0;
  {
    auto old = OpenOverlayMountRoot(step.target, "target");
    if (old.error) return old.error;
    if (!IsExpected(old.value.get(), step.expected)) return Changed(step.target);
    oldId = MountIdOf(old.value.get());
    if (sys::move_mount(step.fd, "", old.value.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH | MOVE_MOUNT_BENEATH) != 0) {
      return SysError::FromErrno("move_mount", step.target, "target");
    }
  }  // our own fd on the old stack is closed here, so it does not count as a user
  if (!StillOnTop(step.target, oldId)) {
    return SysError::Invalid("target", step.target,
                             "another mount appeared on top of the old overlay during the switch; the new overlay is mounted beneath both", EBUSY);
  }
  out->id = IdsOf(step.fd);
  return UnmountTop(step.target, &out->busy);
}

SysError Unmount(const SwitchStep& step, StepResult* out) {
  {
    auto old = OpenOverlayMountRoot(step.target, "target");
    if (old.error) return old.error;
    if (!IsExpected(old.value.get(), step.expected)) return Changed(step.target);
  }
  return UnmountTop(step.target, &out->busy);
}

Outcome<SwitchResult> RunSwitch(const std::vector<SwitchStep>& steps) {
  SwitchResult result;
  for (const SwitchStep& step : steps) {
    StepResult done;
    SysError e;
    if (step.mode == kReplace && !ProbeKernel().moveMountBeneath) {
      e = SysError::Invalid("target", step.target, "replacing a stack needs move_mount with MOVE_MOUNT_BENEATH (Linux 6.5+)", ENOSYS);
    } else if (step.mode == kAttach) {
      e = Attach(step, &done);
    } else if (step.mode == kReplace) {
      e = Replace(step, &done);
    } else {
      e = Unmount(step, &done);
    }
    // Again once attached: a shared parent makes what it receives shared.
    if (!e && step.mode != kUnmount && step.propagation != Propagation::Keep) e = SetPropagation(step.fd, step.propagation, step.target);
    if (e) {
      result.error = std::move(e);
      break;
    }
    result.done.push_back(done);
    // For tests: the process killed (or the next step failing) with one target switched and the others not.
    if (result.done.size() == 1 && steps.size() > 1) {
      if (int injected = FaultAt("applySwitch.after-first-step")) {
        result.error = SysError::Invalid("target", steps[1].target, "injected failure", injected);
        break;
      }
    }
  }
  return result;
}

// (fds, targets, modes, expected [mountId, uniqueId, ...], propagations): one entry per step.
std::vector<SwitchStep> ParseSteps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  for (size_t i = 0; i < 5; i++) {
    if (!info[i].IsArray()) throw Napi::TypeError::New(env, "switchOverlays takes five arrays");
  }
  Napi::Array fds = info[0].As<Napi::Array>(), modes = info[2].As<Napi::Array>(), expected = info[3].As<Napi::Array>();
  std::vector<std::string> targets = args::StringsAt(info, 1, "targets");
  std::vector<std::string> propagations = args::StringsAt(info, 4, "propagations");
  size_t n = targets.size();
  if (fds.Length() != n || modes.Length() != n || propagations.size() != n || expected.Length() != 2 * n) {
    throw Napi::TypeError::New(env, "switchOverlays: the arrays must describe the same steps");
  }
  std::vector<SwitchStep> steps(n);
  for (uint32_t i = 0; i < n; i++) {
    SwitchStep& s = steps[i];
    s.fd = fds.Get(i).As<Napi::Number>().Int32Value();
    s.target = std::move(targets[i]);
    s.mode = modes.Get(i).As<Napi::Number>().Uint32Value();
    s.expected.mountId = static_cast<uint64_t>(expected.Get(2 * i).As<Napi::Number>().DoubleValue());
    s.expected.uniqueId = static_cast<uint64_t>(expected.Get(2 * i + 1).As<Napi::Number>().DoubleValue());
    if (!propagations[i].empty() && !ParsePropagation(propagations[i], &s.propagation)) {
      throw Napi::TypeError::New(env, "unknown propagation '" + propagations[i] + "'");
    }
    if (s.mode > kUnmount) throw Napi::TypeError::New(env, "switchOverlays: unknown mode");
    if (s.mode != kUnmount && s.fd < 0) throw Napi::TypeError::New(env, "switchOverlays: a mount step needs an fd");
  }
  return steps;
}

// [[mountId, uniqueId, busy] per step done, error or undefined]
Napi::Value SwitchToJs(Napi::Env env, const SwitchResult& result) {
  Napi::Array done = Napi::Array::New(env, result.done.size());
  for (size_t i = 0; i < result.done.size(); i++) {
    Napi::Array step = Napi::Array::New(env, 3);
    step.Set(0u, Napi::Number::New(env, static_cast<double>(result.done[i].id.mountId)));
    step.Set(1u, Napi::Number::New(env, static_cast<double>(result.done[i].id.uniqueId)));
    step.Set(2u, Napi::Boolean::New(env, result.done[i].busy));
    done.Set(i, step);
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, done);
  out.Set(1u, result.error ? MakeJsError(env, result.error) : env.Undefined());
  return out;
}

const Operation<std::vector<SwitchStep>, SwitchResult> kSwitchOverlays{"switchOverlays", ParseSteps, RunSwitch, SwitchToJs};

}  // namespace

void InitApplySwitch(Napi::Env env, Napi::Object exports) { ExportOperation(env, exports, kSwitchOverlays); }

}  // namespace ovl
