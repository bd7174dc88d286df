// findUnkeepable (and its Sync twin): what of an upper layer the caller's
// privileges cannot export as it is, found before anything is written, so
// toOci can refuse up front instead of failing half way. A caller holding
// every capability the export may need (root, normally) skips the walk.
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <napi.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "layers/layer_dir.h"
#include "util/args.h"
#include "util/twin.h"

namespace ovl {
namespace {

struct SurveyRequest {
  std::string upper;
  bool userxattr = false;
  bool unreadableOnly = false;  // 'report': only what cannot be exported at all
};

// [path bytes ("/" the root), reason]; empty path: nothing found.
struct Unkeepable {
  std::string path;
  std::string reason;
  int errnum = 0;  // what the export would have failed with
};

SurveyRequest ParseSurveyRequest(const Napi::CallbackInfo& info) {
  return {args::PathBytes(info.Env(), info[0], "upper"), info[1].ToBoolean().Value(), info[2].ToBoolean().Value()};
}

bool HasCapability(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  return (data[cap / 32].effective >> (cap % 32)) & 1u;
}

class Survey {
 public:
  explicit Survey(const SurveyRequest& r)
      : r_(r),
        canChown_(HasCapability(CAP_CHOWN)),
        canMknod_(HasCapability(CAP_MKNOD)),
        canSetFcap_(HasCapability(CAP_SETFCAP)),
        canReadAll_(HasCapability(CAP_DAC_READ_SEARCH) || HasCapability(CAP_DAC_OVERRIDE)) {
    int n = ::getgroups(0, nullptr);
    if (n > 0) {
      groups_.resize(static_cast<size_t>(n));
      n = ::getgroups(n, groups_.data());
      groups_.resize(n > 0 ? static_cast<size_t>(n) : 0);
    }
    groups_.push_back(::getegid());
  }

  Outcome<Unkeepable> Run() {
    bool lossless = r_.unreadableOnly || (canChown_ && canMknod_ && canSetFcap_);
    if (canReadAll_ && lossless) return Unkeepable{};
    UniqueFd upper(::open(r_.upper.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!upper.valid()) return SysError::FromErrno("open", r_.upper, "upper");
    struct stat st {};
    if (::fstat(upper.get(), &st) != 0) return SysError::FromErrno("fstat", r_.upper, "upper");
    if (auto e = Check(upper.get(), ".", st, "")) return e;
    if (found_.path.empty()) {
      if (auto e = Walk(upper.get(), "")) return e;
    }
    return found_;
  }

 private:
  bool InGroups(gid_t gid) const { return std::find(groups_.begin(), groups_.end(), gid) != groups_.end(); }

  void Found(const std::string& rel, std::string reason, int errnum = EPERM) {
    found_.path = rel.empty() ? "/" : rel;
    found_.reason = std::move(reason);
    found_.errnum = errnum;
  }

  // One entry: the first thing about it the caller cannot keep, if any.
  SysError Check(int dirFd, const char* name, const struct stat& st, const std::string& rel) {
    bool isDir = S_ISDIR(st.st_mode);
    if (!canReadAll_ && (isDir || S_ISREG(st.st_mode))) {
      if (::faccessat(dirFd, name, isDir ? R_OK | X_OK : R_OK, AT_EACCESS) != 0) {
        if (errno != EACCES) return SysError::FromErrno("faccessat", r_.upper + rel, "upper");
        Found(rel, std::string("the caller cannot read this ") + (isDir ? "directory" : "file") + " (no permission, and no CAP_DAC_READ_SEARCH)", EACCES);
        return {};
      }
    }
    if (r_.unreadableOnly) return {};
    if (!canChown_ && (st.st_uid != ::geteuid() || !InGroups(st.st_gid))) {
      Found(rel, "owned by " + std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) + ", an owner only a caller with CAP_CHOWN can give");
      return {};
    }
    if (!canMknod_ && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
      Found(rel, std::string("a ") + (S_ISCHR(st.st_mode) ? "character" : "block") + " device, which only a caller with CAP_MKNOD can make");
      return {};
    }
    if (!canSetFcap_ && !S_ISLNK(st.st_mode) && ::lgetxattr((r_.upper + rel).c_str(), "security.capability", nullptr, 0) >= 0) {
      Found(rel, "it has file capabilities (security.capability), which only a caller with CAP_SETFCAP can set");
    }
    return {};
  }

  SysError Walk(int dirFd, const std::string& rel) {
    std::vector<std::string> names;
    if (!ReadNames(dirFd, names)) return SysError::FromErrno("getdents64", r_.upper + rel, "upper");
    for (const std::string& name : names) {
      std::string childRel = rel + "/" + name;
      struct stat st {};
      if (::fstatat(dirFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;
        return SysError::FromErrno("fstatat", r_.upper + childRel, "upper");
      }
      // Whiteouts are exported as empty .wh. files: nothing of theirs is kept.
      if (IsWhiteoutLeftover(name, st) || IsWhiteoutAt(dirFd, name, st, r_.userxattr)) continue;
      if (auto e = Check(dirFd, name.c_str(), st, childRel)) return e;
      if (!found_.path.empty()) return {};
      if (!S_ISDIR(st.st_mode)) continue;
      UniqueFd sub = OpenDirAt(dirFd, name);
      if (!sub.valid()) return SysError::FromErrno("openat", r_.upper + childRel, "upper");
      if (auto e = Walk(sub.get(), childRel)) return e;
      if (!found_.path.empty()) return {};
    }
    return {};
  }

  const SurveyRequest& r_;
  bool canChown_, canMknod_, canSetFcap_, canReadAll_;
  std::vector<gid_t> groups_;
  Unkeepable found_;
};

Outcome<Unkeepable> RunSurvey(const SurveyRequest& r) { return Survey(r).Run(); }

// undefined, or [path bytes, reason, errno].
Napi::Value SurveyToJs(Napi::Env env, const Unkeepable& u) {
  if (u.path.empty()) return env.Undefined();
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, Napi::Buffer<char>::Copy(env, u.path.data(), u.path.size()));
  out.Set(1u, Napi::String::New(env, u.reason));
  out.Set(2u, Napi::Number::New(env, u.errnum));
  return out;
}

const Operation<SurveyRequest, Unkeepable> kFindUnkeepable{"findUnkeepable", ParseSurveyRequest, RunSurvey, SurveyToJs};

}  // namespace

void InitLayerSurvey(Napi::Env env, Napi::Object exports) { ExportOperation(env, exports, kFindUnkeepable); }

}  // namespace ovl
