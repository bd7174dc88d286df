// exportLayer (and its Sync twin): an upper layer written in OCI form into an
// empty directory, natively and relative to directory fds. Whiteouts become
// empty `.wh.NAME` files, opaque directories get `.wh..wh..opq`. Kept as
// `tar --xattrs` and `cp -a` keep them: contents (reflinked with FICLONE
// where the filesystem can, else copy_file_range over the data segments only,
// so sparse files stay sparse), hard links (one inode in DEST), symlinks,
// device nodes and fifos, owners, modes with set-id and sticky bits,
// nanosecond times, and every xattr but the overlay's own. Sockets are
// skipped and reported, as is each xattr the destination refuses.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <napi.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "layers/layer_dir.h"
#include "util/args.h"
#include "util/fault.h"
#include "util/twin.h"

namespace ovl {
namespace {

constexpr char kWhiteoutPrefix[] = ".wh.";
constexpr char kOpaqueMarker[] = ".wh..wh..opq";

struct ExportRequest {
  std::string upper;
  std::string dest;  // an empty directory, made by the caller
  bool userxattr = false;
  // toOci's unprivileged: 'report': an owner or a device node the caller
  // may not make (EPERM) is reported in `skipped`, not a failure.
  bool lossy = false;
};

ExportRequest ParseExportRequest(const Napi::CallbackInfo& info) {
  return {args::PathBytes(info.Env(), info[0], "upper"), args::PathBytes(info.Env(), info[1], "dest"), info[2].ToBoolean().Value(), info[3].ToBoolean().Value()};
}

struct Skipped {
  std::string path;   // "/a/b", bytes
  std::string xattr;  // set when only this xattr was not kept
  int errnum = 0;     // why, for an xattr
  std::string reason;
};

struct ExportResult {
  std::vector<Skipped> skipped;
};

bool StartsWith(const std::string& s, const char* prefix) { return s.compare(0, std::char_traits<char>::length(prefix), prefix) == 0; }

// The point a test can kill or fail the export at, after its n-th entry (native/util/fault.h).
int EntryFault(size_t n) {
#ifdef OVERLAY_NATIVE_TEST
  return FaultAt(("exportLayer.entry#" + std::to_string(n)).c_str());
#else
  (void)n;
  return 0;
#endif
}

class Exporter {
 public:
  explicit Exporter(const ExportRequest& r) : r_(r), overlayPrefix_(r.userxattr ? "user.overlay." : "trusted.overlay.") {}

  // Only the root's own metadata (owner, mode, xattrs, times) onto dest: for
  // an empty dest given by the caller, whose entries were built elsewhere.
  Outcome<ExportResult> RunRootOnly() {
    UniqueFd upper(::open(r_.upper.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!upper.valid()) return SysError::FromErrno("open", r_.upper, "upper");
    UniqueFd dest(::open(r_.dest.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dest.valid()) return SysError::FromErrno("open", r_.dest, "dest");
    struct stat st {};
    if (::fstat(upper.get(), &st) != 0) return SysError::FromErrno("fstat", r_.upper, "upper");
    if (auto e = Finish(dest.get(), nullptr, st, "")) return e;
    return std::move(result_);
  }

  Outcome<ExportResult> Run() {
    UniqueFd upper(::open(r_.upper.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!upper.valid()) return SysError::FromErrno("open", r_.upper, "upper");
    UniqueFd dest(::open(r_.dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dest.valid()) return SysError::FromErrno("open", r_.dest, "dest");
    destRoot_ = dest.get();
    struct stat st {};
    if (::fstat(upper.get(), &st) != 0) return SysError::FromErrno("fstat", r_.upper, "upper");
    if (auto e = CopyDir(upper.get(), dest.get(), "")) return e;
    if (auto e = Finish(dest.get(), nullptr, st, "")) return e;
    return std::move(result_);
  }

 private:
  std::string UpperPath(const std::string& rel) const { return r_.upper + rel; }
  std::string DestPath(const std::string& rel) const { return r_.dest + rel; }

  SysError UpperError(const char* call, const std::string& rel) const { return SysError::FromErrno(call, UpperPath(rel), "upper"); }
  SysError DestError(const char* call, const std::string& rel) const { return SysError::FromErrno(call, DestPath(rel), "dest"); }

  // Owner, then mode (chown clears set-id bits), then xattrs (chown clears
  // security.capability), then times: the entry's last writes.
  // name null: the directory open at dirFd itself.
  SysError Finish(int dirFd, const char* name, const struct stat& st, const std::string& rel) {
    const char* at = name ? name : "";
    int flags = name ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH;
    mode_t mode = st.st_mode & 07777;
    if (::fchownat(dirFd, at, st.st_uid, st.st_gid, flags) != 0) {
      if (!r_.lossy || errno != EPERM) return DestError("fchownat", rel);
      // Set-id bits would now grant the caller's ids, not the owner's: they go too.
      std::string dropped = (mode & (S_ISUID | S_ISGID)) ? ", and its set-id bits dropped" : "";
      mode &= ~static_cast<mode_t>(S_ISUID | S_ISGID);
      result_.skipped.push_back({rel, "", 0, "owner " + std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) + " not kept (changing owners needs CAP_CHOWN)" + dropped});
    }
    if (!S_ISLNK(st.st_mode)) {
      int rc = name ? ::fchmodat(dirFd, name, mode, 0) : ::fchmod(dirFd, mode);
      if (rc != 0) return DestError("fchmodat", rel);
    }
    if (auto e = CopyXattrs(UpperPath(rel), DestPath(rel), rel)) return e;
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    int rc = name ? ::utimensat(dirFd, name, times, AT_SYMLINK_NOFOLLOW) : ::futimens(dirFd, times);
    if (rc != 0) return DestError("utimensat", rel);
    return {};
  }

  // Every xattr but the overlay's own, by path with the l* calls (no fd form for a symlink).
  SysError CopyXattrs(const std::string& from, const std::string& to, const std::string& rel) {
    std::string list;
    for (;;) {
      ssize_t size = ::llistxattr(from.c_str(), nullptr, 0);
      if (size < 0) return errno == ENOTSUP ? SysError{} : UpperError("llistxattr", rel);
      list.assign(static_cast<size_t>(size), '\0');
      if (size == 0) return {};
      ssize_t n = ::llistxattr(from.c_str(), &list[0], list.size());
      if (n >= 0) {
        list.resize(static_cast<size_t>(n));
        break;
      }
      if (errno != ERANGE) return UpperError("llistxattr", rel);
    }
    std::string value;
    for (size_t at = 0; at < list.size();) {
      std::string name(list.c_str() + at);
      at += name.size() + 1;
      if (name.empty() || StartsWith(name, overlayPrefix_.c_str())) continue;
      ssize_t size = ::lgetxattr(from.c_str(), name.c_str(), nullptr, 0);
      if (size < 0) {
        if (errno == ENODATA) continue;
        return UpperError("lgetxattr", rel);
      }
      value.assign(static_cast<size_t>(size), '\0');
      ssize_t n = ::lgetxattr(from.c_str(), name.c_str(), value.data(), value.size());
      if (n < 0) return UpperError("lgetxattr", rel);
      if (::lsetxattr(to.c_str(), name.c_str(), value.data(), static_cast<size_t>(n), 0) == 0) continue;
      if (errno != ENOTSUP && errno != EPERM) return DestError("lsetxattr", rel);
      result_.skipped.push_back({rel, name, errno, ""});
    }
    return {};
  }

  // [in, end) of `from` to the same offsets of `to`: copy_file_range, or read
  // and write where it cannot (across filesystems it may say EXDEV).
  SysError CopyRange(int from, int to, off_t in, off_t end, const std::string& rel) {
    off_t out = in;
    while (in < end) {
      ssize_t n = useCopyRange_ ? ::copy_file_range(from, &in, to, &out, static_cast<size_t>(end - in), 0) : -1;
      if (n < 0 && useCopyRange_ && errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) return DestError("copy_file_range", rel);
      if (n < 0) {
        useCopyRange_ = false;
        char buf[128 * 1024];
        ssize_t got = ::pread(from, buf, static_cast<size_t>(std::min<off_t>(end - in, sizeof buf)), in);
        if (got < 0) return UpperError("pread", rel);
        if (got == 0) break;
        for (ssize_t put = 0; put < got;) {
          ssize_t w = ::pwrite(to, buf + put, static_cast<size_t>(got - put), out + put);
          if (w < 0) return DestError("pwrite", rel);
          put += w;
        }
        in += got;
        out += got;
        continue;
      }
      if (n == 0) break;  // the file shrank meanwhile
    }
    return {};
  }

  // Contents: a reflink where the filesystem can; else copy_file_range over
  // each data segment (SEEK_DATA / SEEK_HOLE), holes left as holes.
  SysError CopyContents(int from, int to, const struct stat& st, const std::string& rel) {
    if (st.st_size == 0) return {};
    if (::ioctl(to, FICLONE, from) == 0) return {};
    off_t end = st.st_size;
    off_t data = 0;
    for (;;) {
      data = ::lseek(from, data, SEEK_DATA);
      if (data < 0) {
        if (errno == ENXIO) break;  // no data after here: the rest is a hole
        return UpperError("lseek", rel);
      }
      off_t hole = ::lseek(from, data, SEEK_HOLE);
      if (hole < 0) return UpperError("lseek", rel);
      if (auto e = CopyRange(from, to, data, hole, rel)) return e;
      data = hole;
      if (data >= end) break;
    }
    if (::ftruncate(to, end) != 0) return DestError("ftruncate", rel);
    return {};
  }

  SysError CopyFile(int upperDir, int destDir, const std::string& name, const struct stat& st, const std::string& rel) {
    UniqueFd from(::openat(upperDir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!from.valid()) return UpperError("openat", rel);
    UniqueFd to(::openat(destDir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!to.valid()) return DestError("openat", rel);
    return CopyContents(from.get(), to.get(), st, rel);
  }

  SysError EmptyFile(int destDir, const std::string& name, const std::string& rel) {
    UniqueFd f(::openat(destDir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!f.valid()) return DestError("openat", rel);
    return {};
  }

  // Creates one non-directory entry; false in `made` when it was skipped.
  SysError MakeEntry(int upperDir, int destDir, const std::string& name, const struct stat& st, const std::string& rel, bool& made) {
    made = true;
    // A second name of an inode already written: the same inode in DEST.
    if (st.st_nlink > 1) {
      auto seen = links_.find({st.st_dev, st.st_ino});
      if (seen != links_.end()) {
        if (::linkat(destRoot_, seen->second.c_str() + 1, destDir, name.c_str(), 0) != 0) return DestError("linkat", rel);
        made = false;  // its metadata is the first name's
        return {};
      }
      links_.emplace(std::make_pair(st.st_dev, st.st_ino), rel);
    }
    switch (st.st_mode & S_IFMT) {
      case S_IFREG:
        return CopyFile(upperDir, destDir, name, st, rel);
      case S_IFLNK: {
        std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : 256) + 1, '\0');
        for (;;) {
          ssize_t n = ::readlinkat(upperDir, name.c_str(), &target[0], target.size());
          if (n < 0) return UpperError("readlinkat", rel);
          if (static_cast<size_t>(n) < target.size()) {
            target.resize(static_cast<size_t>(n));
            break;
          }
          target.resize(target.size() * 2);
        }
        if (::symlinkat(target.c_str(), destDir, name.c_str()) != 0) return DestError("symlinkat", rel);
        return {};
      }
      case S_IFCHR:
      case S_IFBLK:
      case S_IFIFO:
        if (::mknodat(destDir, name.c_str(), st.st_mode & (S_IFMT | 0600), st.st_rdev) == 0) return {};
        if (!r_.lossy || errno != EPERM || S_ISFIFO(st.st_mode)) return DestError("mknodat", rel);
        result_.skipped.push_back({rel, "", 0, std::string("a ") + (S_ISCHR(st.st_mode) ? "character" : "block") + " device: making one needs CAP_MKNOD"});
        made = false;
        return {};
      default:
        result_.skipped.push_back({rel, "", 0, "a socket: OCI layers (tar) do not hold sockets"});
        made = false;
        return {};
    }
  }

  SysError CopyDir(int upperDir, int destDir, const std::string& rel) {
    int opaque = OpaqueOf(upperDir, r_.userxattr);
    if (opaque < 0) return UpperError("fgetxattr", rel);
    if (opaque == 'y') {
      if (auto e = EmptyFile(destDir, kOpaqueMarker, rel + "/" + kOpaqueMarker)) return e;
    }
    std::vector<std::string> names;
    if (!ReadNames(upperDir, names)) return UpperError("getdents64", rel);
    for (const std::string& name : names) {
      std::string childRel = rel + "/" + name;
      if (StartsWith(name, kWhiteoutPrefix)) {
        return SysError::Invalid("/" + childRel.substr(1), childRel.substr(1), "'" + name + "' starts with '.wh.', which OCI reserves for whiteouts");
      }
      struct stat st {};
      if (::fstatat(upperDir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;
        return UpperError("fstatat", childRel);
      }
      if (IsWhiteoutLeftover(name, st)) continue;
      if (IsWhiteoutAt(upperDir, name, st, r_.userxattr)) {
        if (auto e = EmptyFile(destDir, kWhiteoutPrefix + name, rel + "/" + kWhiteoutPrefix + name)) return e;
        continue;
      }
      if (errno != 0) return UpperError("fgetxattr", childRel);
      if (S_ISDIR(st.st_mode)) {
        UniqueFd from = OpenDirAt(upperDir, name);
        if (!from.valid()) return UpperError("openat", childRel);
        if (::mkdirat(destDir, name.c_str(), 0700) != 0) return DestError("mkdirat", childRel);
        UniqueFd to = OpenDirAt(destDir, name);
        if (!to.valid()) return DestError("openat", childRel);
        if (auto e = CopyDir(from.get(), to.get(), childRel)) return e;
        if (auto e = Finish(to.get(), nullptr, st, childRel)) return e;
        continue;
      }
      bool made = false;
      if (auto e = MakeEntry(upperDir, destDir, name, st, childRel, made)) return e;
      if (made) {
        if (auto e = Finish(destDir, name.c_str(), st, childRel)) return e;
      }
      if (int injected = EntryFault(entries_++)) {
        errno = injected;
        return DestError("injected", childRel);
      }
    }
    return {};
  }

  const ExportRequest& r_;
  std::string overlayPrefix_;
  int destRoot_ = -1;
  bool useCopyRange_ = true;
  size_t entries_ = 0;  // non-directory entries written so far, for EntryFault
  std::map<std::pair<dev_t, ino_t>, std::string> links_;  // first name written of each inode with several
  ExportResult result_;
};

Outcome<ExportResult> RunExport(const ExportRequest& r) { return Exporter(r).Run(); }

// [[pathBytes, xattr, errno, reason], ...]
Napi::Value ExportToJs(Napi::Env env, const ExportResult& result) {
  Napi::Array out = Napi::Array::New(env, result.skipped.size());
  for (size_t i = 0; i < result.skipped.size(); i++) {
    const Skipped& s = result.skipped[i];
    Napi::Array item = Napi::Array::New(env, 4);
    const std::string& p = s.path.empty() ? std::string("/") : s.path;  // "" is the root itself
    item.Set(0u, Napi::Buffer<char>::Copy(env, p.data(), p.size()));
    item.Set(1u, Napi::String::New(env, s.xattr));
    item.Set(2u, Napi::Number::New(env, s.errnum));
    item.Set(3u, Napi::String::New(env, s.reason));
    out.Set(i, item);
  }
  return out;
}

Outcome<ExportResult> RunExportRoot(const ExportRequest& r) { return Exporter(r).RunRootOnly(); }

const Operation<ExportRequest, ExportResult> kExportLayer{"exportLayer", ParseExportRequest, RunExport, ExportToJs};
const Operation<ExportRequest, ExportResult> kExportLayerRoot{"exportLayerRoot", ParseExportRequest, RunExportRoot, ExportToJs};

}  // namespace

void InitLayerExport(Napi::Env env, Napi::Object exports) {
  ExportOperation(env, exports, kExportLayer);
  ExportOperation(env, exports, kExportLayerRoot);
}

}  // namespace ovl
