// layerChanges (and its Sync twin): what an upper layer changed over its
// lowers, walked natively relative to directory fds (getdents64, fstatat,
// fgetxattr), never following a symlink on the way and never leaving the
// layers. The lowers are stacked as the kernel stacks them: the first layer
// showing a name wins; a whiteout, a non-directory or an opaque directory
// hides the layers beneath. The whole result crosses into JS once.
#include <fcntl.h>
#include <sys/stat.h>

#include <napi.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "layer_dir.h"
#include "util/twin.h"

namespace ovl {
namespace {

struct ChangesRequest {
  std::string upper;
  std::vector<std::string> lowers;
  bool userxattr = false;
};

// A path given as a string or a Buffer (names that are not UTF-8), as bytes.
std::string PathBytes(Napi::Env env, Napi::Value v, const std::string& what) {
  std::string bytes;
  if (v.IsBuffer()) {
    auto b = v.As<Napi::Buffer<char>>();
    bytes.assign(b.Data(), b.Length());
  } else if (v.IsString()) {
    bytes = v.As<Napi::String>().Utf8Value();
  } else {
    throw Napi::TypeError::New(env, what + " must be a string or a Buffer");
  }
  if (bytes.empty() || bytes.find('\0') != std::string::npos) throw Napi::TypeError::New(env, what + " must be a non-empty path without NUL");
  return bytes;
}

ChangesRequest ParseChangesRequest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ChangesRequest r;
  r.upper = PathBytes(env, info[0], "upper");
  if (!info[1].IsArray()) throw Napi::TypeError::New(env, "lower must be an array");
  Napi::Array lowers = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < lowers.Length(); i++) r.lowers.push_back(PathBytes(env, lowers.Get(i), "lower[" + std::to_string(i) + "]"));
  r.userxattr = info[2].ToBoolean().Value();
  return r;
}

struct Change {
  std::string path;  // "/a/b", bytes
  char kind;         // 'A', 'C', 'D'
  bool dropped = false;
};

// One directory of the lower stack: its fd, and which lower it is in (for errors).
struct LowerDir {
  UniqueFd fd;
  size_t layer;
};

// What the lowers show at one name of a directory.
struct LowerLookup {
  bool found = false;
  struct stat st {};
  int fd = -1;                  // the lower directory holding the entry found
  std::vector<LowerDir> below;  // the entry's own stack, when it is a directory and asked for
};

// Docker and Podman compare directory times this way, as tar may have rounded
// a side to the second (either way): equal, or equal seconds with one side
// whole, or one side a whole second above the other.
bool SameDirTime(const struct timespec& a, const struct timespec& b) {
  if (a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec) return true;
  if (a.tv_nsec != 0 && b.tv_nsec != 0) return false;
  if (a.tv_sec == b.tv_sec) return true;
  if (b.tv_nsec == 0 && a.tv_sec == b.tv_sec - 1) return true;
  return a.tv_nsec == 0 && a.tv_sec - 1 == b.tv_sec;
}

class ChangesWalk {
 public:
  explicit ChangesWalk(const ChangesRequest& r) : r_(r) {}

  Outcome<std::vector<Change>> Run() {
    UniqueFd upper(::open(r_.upper.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!upper.valid()) return SysError::FromErrno("open", r_.upper, "upper");
    std::vector<LowerDir> lowers;
    for (size_t i = 0; i < r_.lowers.size(); i++) {
      UniqueFd fd(::open(r_.lowers[i].c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!fd.valid()) return SysError::FromErrno("open", r_.lowers[i], LowerField(i));
      int opaque = OpaqueOf(fd.get(), r_.userxattr);
      if (opaque < 0) return SysError::FromErrno("fgetxattr", r_.lowers[i], LowerField(i));
      lowers.push_back({std::move(fd), i});
      if (opaque == 'y') break;  // an opaque lower root hides the layers beneath it
    }
    std::vector<std::string> names;
    if (!ReadNames(upper.get(), names)) return SysError::FromErrno("getdents64", r_.upper, "upper");
    bool any = false;
    if (auto e = Walk(upper.get(), "", lowers, names, any)) return e;
    out_.erase(std::remove_if(out_.begin(), out_.end(), [](const Change& c) { return c.dropped; }), out_.end());
    std::sort(out_.begin(), out_.end(), [](const Change& a, const Change& b) { return a.path < b.path; });
    return std::move(out_);
  }

 private:
  static std::string LowerField(size_t i) { return "lower[" + std::to_string(i) + "]"; }
  std::string UpperPath(const std::string& rel) const { return r_.upper + rel; }
  std::string LowerPath(size_t layer, const std::string& rel) const { return r_.lowers[layer] + rel; }

  SysError LookUp(const std::vector<LowerDir>& stack, const std::string& name, const std::string& rel, bool wantStack, LowerLookup& found) {
    for (const LowerDir& dir : stack) {
      struct stat st {};
      if (::fstatat(dir.fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) continue;
        return SysError::FromErrno("fstatat", LowerPath(dir.layer, rel), LowerField(dir.layer));
      }
      if (IsWhiteoutAt(dir.fd.get(), name, st, r_.userxattr)) return {};
      if (errno != 0) return SysError::FromErrno("fgetxattr", LowerPath(dir.layer, rel), LowerField(dir.layer));
      if (!found.found) {
        found.found = true;
        found.st = st;
        found.fd = dir.fd.get();
      }
      if (!S_ISDIR(st.st_mode) || !wantStack) return {};
      UniqueFd child = OpenDirAt(dir.fd.get(), name);
      if (!child.valid()) return SysError::FromErrno("openat", LowerPath(dir.layer, rel), LowerField(dir.layer));
      int opaque = OpaqueOf(child.get(), r_.userxattr);
      if (opaque < 0) return SysError::FromErrno("fgetxattr", LowerPath(dir.layer, rel), LowerField(dir.layer));
      found.below.push_back({std::move(child), dir.layer});
      if (opaque == 'y') return {};
    }
    return {};
  }

  // Lists the entries of the upper directory open at dirFd (its `names` read by
  // the caller); `any` becomes true when an entry beneath was added or deleted.
  SysError Walk(int dirFd, const std::string& rel, const std::vector<LowerDir>& lowers, const std::vector<std::string>& names, bool& any) {
    for (const std::string& name : names) {
      std::string childRel = rel + "/" + name;
      struct stat st {};
      if (::fstatat(dirFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // removed meanwhile
        return SysError::FromErrno("fstatat", UpperPath(childRel), "upper");
      }
      if (IsWhiteoutLeftover(name, st)) continue;
      if (IsWhiteoutAt(dirFd, name, st, r_.userxattr)) {
        out_.push_back({childRel, 'D'});
        any = true;
        continue;
      }
      if (errno != 0) return SysError::FromErrno("fgetxattr", UpperPath(childRel), "upper");
      const bool isDir = S_ISDIR(st.st_mode);
      LowerLookup lower;
      if (auto e = LookUp(lowers, name, childRel, isDir, lower)) return e;
      UniqueFd child;
      if (isDir) {
        child = OpenDirAt(dirFd, name);
        if (!child.valid()) return SysError::FromErrno("openat", UpperPath(childRel), "upper");
      }
      // An opaque directory over one the lowers show was deleted and made again:
      // D, as Docker and Podman list it; what it holds now is listed beneath.
      if (isDir && lower.found) {
        int opaque = OpaqueOf(child.get(), r_.userxattr);
        if (opaque < 0) return SysError::FromErrno("fgetxattr", UpperPath(childRel), "upper");
        if (opaque == 'y') {
          out_.push_back({childRel, 'D'});
          any = true;
          std::vector<std::string> childNames;
          if (!ReadNames(child.get(), childNames)) return SysError::FromErrno("getdents64", UpperPath(childRel), "upper");
          bool below = false;
          if (auto e = Walk(child.get(), childRel, lower.below, childNames, below)) return e;
          continue;
        }
      }
      size_t at = out_.size();
      out_.push_back({childRel, lower.found ? 'C' : 'A'});
      if (!lower.found) any = true;
      if (!isDir) continue;
      // A directory both sides have is listed only when its own mode, size or
      // time differ, or something beneath it was added or deleted (Docker's and
      // Podman's rule). The lower side is stat'ed through a symlink, as they do:
      // only read, never walked through.
      bool conditional = false;
      if (lower.found) {
        struct stat was = lower.st;
        bool readable = !S_ISLNK(was.st_mode) || ::fstatat(lower.fd, name.c_str(), &was, 0) == 0;
        conditional = readable && S_ISDIR(was.st_mode) && was.st_mode == st.st_mode && was.st_size == st.st_size && SameDirTime(was.st_mtim, st.st_mtim);
      }
      std::vector<std::string> childNames;
      if (!ReadNames(child.get(), childNames)) return SysError::FromErrno("getdents64", UpperPath(childRel), "upper");
      bool below = false;
      if (auto e = Walk(child.get(), childRel, lower.below, childNames, below)) return e;
      if (conditional && !below) out_[at].dropped = true;
      any = any || below;
    }
    return {};
  }

  const ChangesRequest& r_;
  std::vector<Change> out_;
};

Outcome<std::vector<Change>> RunChanges(const ChangesRequest& r) { return ChangesWalk(r).Run(); }

// [paths, kinds]: every path's bytes, each ended by a NUL (no name holds one),
// in one Buffer, and the kinds as one string: two values cross, not millions.
Napi::Value ChangesToJs(Napi::Env env, const std::vector<Change>& changes) {
  size_t total = 0;
  for (const Change& c : changes) total += c.path.size() + 1;
  Napi::Buffer<char> paths = Napi::Buffer<char>::New(env, total);
  std::string kinds;
  kinds.reserve(changes.size());
  size_t at = 0;
  for (const Change& c : changes) {
    std::copy(c.path.begin(), c.path.end(), paths.Data() + at);
    at += c.path.size();
    paths.Data()[at++] = '\0';
    kinds.push_back(c.kind);
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, paths);
  out.Set(1u, Napi::String::New(env, kinds));
  return out;
}

const Operation<ChangesRequest, std::vector<Change>> kLayerChanges{"layerChanges", ParseChangesRequest, RunChanges, ChangesToJs};

}  // namespace

void InitLayerChanges(Napi::Env env, Napi::Object exports) { ExportOperation(env, exports, kLayerChanges); }

}  // namespace ovl
