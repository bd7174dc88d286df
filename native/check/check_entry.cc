// checkOverlay / checkOverlaySync: the pre-flight of a would-be mount. Gathers
// facts only (what each directory is, what its filesystem does when tried,
// what this kernel offers); lib/check/check.ts says what they mean for a mount.
#include <napi.h>

#include "check/check_probes.h"
#include "check/probe_xattr_whiteout.h"
#include "core/mount_args.h"
#include "images/image_dirs_in_use.h"
#include "images/image_layers.h"
#include "inspect/kernel_features.h"
#include "mount/open_layers.h"
#include "util/args.h"
#include "util/twin.h"

namespace ovl {
namespace {

struct CheckRequest {
  std::string upper, work;
  std::vector<std::string> lower;
  MountRequest images;  // image layers, as a mount takes them (empty when none)
  bool workInUse = false;  // a mounted overlay writes there: nothing is made inside it
};

struct CheckReport {
  DirFacts upper, work;
  std::vector<DirFacts> lower;
  UpperWorkRelation relation = UpperWorkRelation::Unknown;
  bool probed = false;  // the work probes ran (upper and work open, on one mount)
  WorkProbes probes;
  IncompatDir incompat;
  KernelFeatures kernel;
  Tristate xattrWhiteouts = Tristate::Unknown;
};

CheckRequest ParseCheckRequest(const Napi::CallbackInfo& info) {
  Napi::Object obj = args::ObjectAt(info, 0, "check request");
  CheckRequest r;
  r.upper = args::String(obj, "upper");
  r.work = args::String(obj, "work");
  r.lower = args::Strings(obj, "lower");
  r.workInUse = args::Bool(obj, "workInUse");
  if (r.upper.empty() || r.work.empty()) throw Napi::TypeError::New(info.Env(), "upper and work must name directories");
  // [lower specs, upper spec, work spec] when any layer is an image.
  Napi::Value images = obj.Get("images");
  if (!images.IsUndefined()) {
    if (!images.IsArray()) throw Napi::TypeError::New(info.Env(), "images must be an array");
    Napi::Array a = images.As<Napi::Array>();
    Napi::Value lower = a.Get(0u);
    if (lower.IsArray()) {
      for (uint32_t i = 0; i < r.lower.size(); i++) {
        r.images.lowerImages.push_back(ParseImageSpec(info.Env(), lower.As<Napi::Array>().Get(i), "lower[" + std::to_string(i) + "]"));
      }
    }
    r.images.upperImage = ParseImageSpec(info.Env(), a.Get(1u), "upper");
    r.images.workImage = ParseImageSpec(info.Env(), a.Get(2u), "work");
    r.images.dirsInUse = ParseDirsInUse(info.Env(), a.Get(3u));
    r.images.lower = r.lower;
  }
  return r;
}

// Opens one slot: a directory by path, or a directory inside its mounted image (nothing is made).
DirFacts Inspect(const std::string& path, const ImageSpec* spec, int slot, const std::vector<ImageMount>& images, const char* role, int index,
                 UniqueFd* fd) {
  if (slot < 0) return InspectDir(path, fd);
  auto opened = OpenImageLayer(images[slot], *spec, role, index, false);
  if (!opened.error) *fd = std::move(opened.value);
  DirFacts facts = InspectOpened(path, fd->get(), opened.error.errnum);
  facts.imageType = images[slot].info.type;
  return facts;
}

Outcome<CheckReport> RunCheck(const CheckRequest& request) {
  CheckReport report;
  // Images are mounted (detached) for the look, as a mount would, and gone
  // when this returns; one that cannot be mounted is refused as by mount.
  std::vector<ImageMount> images;
  ImageSlots slots;
  if (request.images.hasImages()) {
    if (auto e = MountImages(request.images, &images, &slots)) return e;
  }
  UniqueFd upper, work;
  report.upper = Inspect(request.upper, &request.images.upperImage, slots.upper, images, "upper", -1, &upper);
  report.work = Inspect(request.work, &request.images.workImage, slots.work, images, "work", -1, &work);
  for (size_t i = 0; i < request.lower.size(); i++) {
    UniqueFd lower;
    int slot = i < slots.lower.size() ? slots.lower[i] : -1;
    const ImageSpec* spec = slot < 0 ? nullptr : &request.images.lowerImages[i];
    report.lower.push_back(Inspect(request.lower[i], spec, slot, images, "lower", static_cast<int>(i), &lower));
  }
  // An image's upper or work a live overlay uses (its device reused, its superblock shared): refused as by
  // mount, before any probe could write inside a live work directory.
  if (auto e = RefuseImageDirsInUse(request.images, upper.get(), slots.upper >= 0 && upper.valid(), work.get(), slots.work >= 0 && work.valid())) return e;
  if (upper.valid() && work.valid()) {
    report.relation = RelateUpperAndWork(upper.get(), work.get());
    // On two mounts the probes would describe work's filesystem, not upper's;
    // inside a live overlay's work or upper they would write into its layers.
    if (!request.workInUse && report.relation != UpperWorkRelation::DifferentMounts && report.relation != UpperWorkRelation::Unknown) {
      report.probes = ProbeWorkDir(work.get(), request.work);
      report.probed = true;
    }
  }
  if (work.valid()) report.incompat = ReadIncompatDir(work.get());
  report.kernel = ProbeKernel();
  // The kernel's answer from this check's own scratch directory, or one learned earlier in the process.
  report.xattrWhiteouts = report.probed ? report.probes.xattrWhiteouts : ProbeXattrWhiteouts(-1);
  return report;
}

const char* RelationName(UpperWorkRelation r) {
  switch (r) {
    case UpperWorkRelation::Separate: return "separate";
    case UpperWorkRelation::DifferentMounts: return "different-mounts";
    case UpperWorkRelation::Same: return "same";
    case UpperWorkRelation::WorkInsideUpper: return "work-inside-upper";
    case UpperWorkRelation::UpperInsideWork: return "upper-inside-work";
    case UpperWorkRelation::Unknown: break;
  }
  return "unknown";
}

Napi::Value CapabilityToJs(Napi::Env env, const Capability& c) {
  Napi::Object out = Napi::Object::New(env);
  const char* state = c.state == Capability::State::Supported ? "supported" : c.state == Capability::State::Unsupported ? "unsupported" : "untested";
  out.Set("state", state);
  out.Set("errno", c.errnum);
  return out;
}

Napi::Value DirToJs(Napi::Env env, const DirFacts& d) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("path", d.path);
  out.Set("openErrno", d.openErrno);
  out.Set("mountId", Napi::Number::New(env, static_cast<double>(d.mountId)));
  out.Set("fsMagic", Napi::Number::New(env, static_cast<double>(d.fsMagic)));
  out.Set("readOnly", d.readOnly);
  if (!d.imageType.empty()) out.Set("imageType", d.imageType);
  return out;
}

Napi::Array StringsToJs(Napi::Env env, const std::vector<std::string>& items) {
  Napi::Array out = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); i++) out.Set(i, items[i]);
  return out;
}

Napi::Value CheckReportToJs(Napi::Env env, const CheckReport& r) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("upper", DirToJs(env, r.upper));
  out.Set("work", DirToJs(env, r.work));
  Napi::Array lower = Napi::Array::New(env, r.lower.size());
  for (size_t i = 0; i < r.lower.size(); i++) lower.Set(i, DirToJs(env, r.lower[i]));
  out.Set("lower", lower);
  out.Set("relation", RelationName(r.relation));

  Napi::Object probes = Napi::Object::New(env);
  probes.Set("ran", r.probed);
  probes.Set("scratchErrno", r.probes.scratchErrno);
  probes.Set("dType", CapabilityToJs(env, r.probes.dType));
  probes.Set("trustedXattr", CapabilityToJs(env, r.probes.trustedXattr));
  probes.Set("userXattr", CapabilityToJs(env, r.probes.userXattr));
  probes.Set("tmpfile", CapabilityToJs(env, r.probes.tmpfile));
  probes.Set("renameWhiteout", CapabilityToJs(env, r.probes.renameWhiteout));
  probes.Set("leftovers", StringsToJs(env, r.probes.leftovers));
  out.Set("probes", probes);

  Napi::Object incompat = Napi::Object::New(env);
  incompat.Set("errno", r.incompat.errnum);
  incompat.Set("entries", StringsToJs(env, r.incompat.entries));
  out.Set("incompat", incompat);

  Napi::Object kernel = Napi::Object::New(env);
  kernel.Set("newMountApi", r.kernel.newMountApi);
  kernel.Set("overlayParsesParams", r.kernel.overlayParsesParams);
  kernel.Set("lowerdirPlus", r.kernel.lowerdirPlus);
  kernel.Set("layerFd", r.kernel.layerFd);
  kernel.Set("moveMountBeneath", r.kernel.moveMountBeneath);
  kernel.Set("fsopenErrno", r.kernel.fsopenErrno);
  if (r.xattrWhiteouts == Tristate::Unknown) kernel.Set("xattrWhiteouts", env.Null());
  else kernel.Set("xattrWhiteouts", r.xattrWhiteouts == Tristate::Yes);
  out.Set("kernel", kernel);
  return out;
}

const Operation<CheckRequest, CheckReport> kCheckOverlay{"checkOverlay", ParseCheckRequest, RunCheck, CheckReportToJs};

}  // namespace

void InitCheck(Napi::Env env, Napi::Object exports) { ExportOperation(env, exports, kCheckOverlay); }

}  // namespace ovl
