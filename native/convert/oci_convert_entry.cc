// convertOciLayer (and its Sync twin): an unpacked OCI layer converted in
// place to overlay form, all or nothing, in one call. `.wh.NAME` becomes a
// whiteout NAME, `.wh..wh..opq` an opaque mark on its directory.
//
// First the whole tree is read (getdents64, fstatat relative to directory
// fds, never through a symlink, never out of the layer) and checked: nothing
// changes until every refusal had its chance. Then three stages over the
// plan: whiteouts, opaque marks, markers removed (each stage leaves a tree the
// next run plans the rest of, so a killed run is finished by the next). A failure at
// any stage undoes what the stages did, newest first; what could not be put
// back is named in the error's detail ("not undone: ...").
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <napi.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "convert/oci_names.h"
#include "layers/layer_dir.h"
#include "layers/overlay_xattr.h"
#include "layers/whiteout_fs.h"
#include "layers/whiteout_temps.h"
#include "util/args.h"
#include "util/twin.h"

namespace ovl {
namespace {

constexpr char kWhiteoutPrefix[] = ".wh.";
constexpr char kOpaqueMarker[] = ".wh..wh..opq";
constexpr char kMetaPrefix[] = ".wh..wh.";

struct ConvertRequest {
  std::string root;  // bytes, absolute
  WhiteoutKind kind = WhiteoutKind::Chardev;
  bool userxattr = false;
};

// (root, kind, userxattr), positional.
ConvertRequest ParseConvertRequest(const Napi::CallbackInfo& info) {
  ConvertRequest r;
  r.root = args::PathBytes(info.Env(), info[0], "dir");
  if (r.root.empty() || r.root.find('\0') != std::string::npos) throw Napi::TypeError::New(info.Env(), "dir must be a non-empty path without NUL");
  std::string kind = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "chardev";
  if (kind == "xattr") r.kind = WhiteoutKind::Xattr;
  else if (kind != "chardev") throw Napi::TypeError::New(info.Env(), "unknown whiteout kind '" + kind + "'");
  r.userxattr = info[2].ToBoolean().Value();
  return r;
}

bool StartsWith(const std::string& s, const char* prefix) { return s.compare(0, std::strlen(prefix), prefix) == 0; }

std::string JoinRel(const std::string& rel, const std::string& name) { return rel.empty() ? name : rel + "/" + name; }

struct Marker {
  std::string name;
  struct stat st {};
  std::string content;  // a symlink's target, or a file's bytes when it had any
};

// What converting one directory does. Only directories with work are kept.
struct DirPlan {
  std::string rel;                     // "" for the layer itself
  std::vector<std::string> whiteouts;  // names to make here
  bool markOpaque = false;             // set opaque 'y' (false too when it is 'y' already)
  std::vector<Marker> markers;
};

enum class Done { Whiteout, WhiteoutMarkedDir, Opaque, Marker };

struct Action {
  Done what;
  size_t dir;
  size_t item;
};

// The directories of the plan opened one after another, in tree order: the
// chain of fds from the root is kept, so each is one openat from its parent.
class DirCursor {
 public:
  explicit DirCursor(int root) : root_(root) {}

  // The fd of directory `rel` ("" the root), or -1 with errno set.
  int Open(const std::string& rel) {
    std::vector<std::string> parts;
    for (size_t at = 0; at < rel.size();) {
      size_t slash = rel.find('/', at);
      if (slash == std::string::npos) slash = rel.size();
      parts.push_back(rel.substr(at, slash - at));
      at = slash + 1;
    }
    size_t keep = 0;
    while (keep < parts.size() && keep < names_.size() && names_[keep] == parts[keep]) keep++;
    names_.resize(keep);
    fds_.resize(keep);
    for (size_t i = keep; i < parts.size(); i++) {
      UniqueFd fd = OpenDirAt(fds_.empty() ? root_ : fds_.back().get(), parts[i]);
      if (!fd.valid()) return -1;
      names_.push_back(parts[i]);
      fds_.push_back(std::move(fd));
    }
    return fds_.empty() ? root_ : fds_.back().get();
  }

 private:
  int root_;
  std::vector<std::string> names_;
  std::vector<UniqueFd> fds_;
};

// The test addon can fail the n-th pass (from 0) through a stage: armed as
// "POINT" it fails the first, as "POINT#n" the n-th (native/util/fault.h).
int StageFault(const char* point, size_t n) {
#ifdef OVERLAY_NATIVE_TEST
  if (int e = FaultAt(point)) return e;
  return FaultAt((std::string(point) + "#" + std::to_string(n)).c_str());
#else
  (void)point;
  (void)n;
  return 0;
#endif
}

class Converter {
 public:
  explicit Converter(const ConvertRequest& r) : r_(r) {
    spec_.kind = r.kind;
    spec_.userxattr = r.userxattr;
  }

  Outcome<Nothing> Run() {
    UniqueFd root(::open(r_.root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root.valid()) {
      const std::string shown = "'" + OciShown(r_.root) + "'";
      if (errno == ENOENT) return SysError::Invalid("dir", r_.root, shown + " does not exist", ENOENT);
      if (errno == ENOTDIR) return SysError::Invalid("dir", r_.root, shown + " is not a directory", ENOTDIR);
      // O_NOFOLLOW: the layer is never reached through a symlink, which could lead out of it.
      if (errno == ELOOP) return SysError::Invalid("dir", r_.root, shown + " is a symlink: name the directory itself", ENOTDIR);
      return SysError::FromErrno("open", r_.root, "dir");
    }
    if (auto e = PlanDir(root.get(), "", false)) return e;
    DirCursor cursor(root.get());
    SysError error = MakeWhiteouts(cursor);
    if (!error) error = MarkOpaque(cursor);
    if (!error) error = RemoveMarkers(cursor);
    if (!error) return Nothing{};
    Undo(cursor, error);
    return error;
  }

 private:
  std::string Display(const std::string& rel) const { return rel.empty() ? r_.root : r_.root + "/" + rel; }

  SysError Refuse(const std::string& rel, const std::string& reason) const { return SysError::Invalid(OciField(rel), Display(rel), reason); }

  SysError Failed(const char* call, const std::string& rel) const { return SysError::FromErrno(call, Display(rel), OciField(rel)); }

  // Reads and checks one directory, then the directories beneath it.
  // markedOpaque: the directory replaces one of the lowers' wholesale.
  SysError PlanDir(int dirFd, const std::string& rel, bool markedOpaque) {
    std::vector<std::string> names;
    if (!ReadNames(dirFd, names)) return Failed("getdents64", rel);
    auto here = [&](const std::string& n) { return std::binary_search(names.begin(), names.end(), n); };
    DirPlan plan;
    plan.rel = rel;
    bool opaque = markedOpaque || here(kOpaqueMarker);
    // Names the layer deletes and holds again: a directory among them replaces the lowers' one.
    std::vector<std::string> replaced;
    for (const std::string& name : names) {
      if (!StartsWith(name, kWhiteoutPrefix)) continue;
      // The path for a message only: made when one is needed.
      auto child = [&] { return JoinRel(rel, name); };
      bool isOpaqueMarker = name == kOpaqueMarker;
      if (!isOpaqueMarker && StartsWith(name, kMetaPrefix)) return Refuse(child(), "'" + OciShown(name) + "' is tooling metadata (aufs), not an OCI whiteout");
      std::string target = name.substr(std::strlen(kWhiteoutPrefix));
      if (!isOpaqueMarker && (target.empty() || target == "." || target == "..")) return Refuse(child(), "'" + OciShown(name) + "' names no entry");
      Marker marker{name, {}, {}};
      if (::fstatat(dirFd, name.c_str(), &marker.st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;
        return Failed("fstatat", child());
      }
      if (S_ISDIR(marker.st.st_mode)) return Refuse(child(), "whiteout marker '" + OciShown(name) + "' is a directory");
      // Only what can be made again is removed, so a failed conversion can put every marker back.
      if (!S_ISREG(marker.st.st_mode) && !S_ISLNK(marker.st.st_mode)) return Refuse(child(), "whiteout marker '" + OciShown(name) + "' is not a file or a symlink");
      plan.markers.push_back(std::move(marker));
      if (isOpaqueMarker) continue;
      if (here(target)) replaced.push_back(target);
      else if (!opaque) plan.whiteouts.push_back(target);
    }
    if (auto e = CheckDir(dirFd, plan, opaque)) return e;
    if (!plan.markers.empty() || plan.whiteouts.size() || plan.markOpaque) plans_.push_back(std::move(plan));
    std::sort(replaced.begin(), replaced.end());
    for (const std::string& name : names) {
      if (StartsWith(name, kWhiteoutPrefix)) continue;
      struct stat st {};
      if (::fstatat(dirFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;
        return Failed("fstatat", JoinRel(rel, name));
      }
      if (!S_ISDIR(st.st_mode)) continue;
      std::string child = JoinRel(rel, name);
      UniqueFd sub = OpenDirAt(dirFd, name);
      if (!sub.valid()) return Failed("openat", child);
      if (auto e = PlanDir(sub.get(), child, std::binary_search(replaced.begin(), replaced.end(), name))) return e;
    }
    return {};
  }

  // What must hold in a directory the conversion writes in, found before
  // anything changes: it is writable (not a read-only mount, not immutable),
  // and its opaque mark allows what is planned.
  SysError CheckDir(int dirFd, DirPlan& plan, bool opaque) {
    if (plan.markers.empty() && !opaque) return {};
    if (::faccessat(dirFd, ".", W_OK, 0) != 0) return Failed("faccessat", plan.rel);
    Entry self{dirFd, ".", Display(plan.rel), OciField(plan.rel)};
    bool xattrWhiteouts = spec_.kind == WhiteoutKind::Xattr && !plan.whiteouts.empty();
    if (!opaque && !xattrWhiteouts) return {};
    auto mark = ReadOpaque(dirFd, r_.userxattr, self);
    if (mark.error) return mark.error;
    std::string shown = plan.rel.empty() ? "/" : OciShown(plan.rel);
    if (xattrWhiteouts && mark.value == 'y') return Refuse(plan.rel, "'" + shown + "' is already opaque ('y'): an xattr whiteout in it would be listed as an empty file");
    // Made opaque 'y' it would lose its 'x' (xattr whiteouts of its own), which no undo could put back.
    if (opaque && mark.value == 'x') return Refuse(plan.rel, "'" + shown + "' is already marked opaque 'x' (it holds xattr whiteouts): an OCI opaque marker cannot be added to it");
    plan.markOpaque = opaque && mark.value != 'y';
    return {};
  }

  SysError MakeWhiteouts(DirCursor& cursor) {
    size_t n = 0;
    for (size_t d = 0; d < plans_.size(); d++) {
      const DirPlan& plan = plans_[d];
      if (plan.whiteouts.empty()) continue;
      int fd = cursor.Open(plan.rel);
      if (fd < 0) return Failed("openat", plan.rel);
      // An xattr whiteout is made under a temporary name: the directory is
      // held as layers/whiteout_temps.h says, so no one cleans it as a leftover.
      if (spec_.kind == WhiteoutKind::Xattr) tempDirs_.Enter(fd);
      for (size_t i = 0; i < plan.whiteouts.size(); i++) {
        const std::string& name = plan.whiteouts[i];
        if (int injected = StageFault("fromOci:whiteout", n++)) return Injected(injected, "mknodat", JoinRel(plan.rel, name), "fromOci:whiteout");
        bool marked = false;
        // Messages are made only on failure: a layer may hold tens of thousands of markers.
        if (auto e = MakeWhiteout(Entry{fd, name, {}, {}}, spec_, &marked)) return Named(std::move(e), JoinRel(plan.rel, name));
        done_.push_back({marked ? Done::WhiteoutMarkedDir : Done::Whiteout, d, i});
      }
    }
    return {};
  }

  SysError MarkOpaque(DirCursor& cursor) {
    size_t n = 0;
    for (size_t d = 0; d < plans_.size(); d++) {
      const DirPlan& plan = plans_[d];
      if (!plan.markOpaque) continue;
      int fd = cursor.Open(plan.rel);
      if (fd < 0) return Failed("openat", plan.rel);
      if (int injected = StageFault("fromOci:opaque", n++)) return Injected(injected, "fsetxattr", plan.rel, "fromOci:opaque");
      if (auto e = WriteOpaque(fd, 'y', r_.userxattr, Entry{fd, ".", Display(plan.rel), OciField(plan.rel)})) return e;
      done_.push_back({Done::Opaque, d, 0});
    }
    return {};
  }

  // What a marker's undo needs beyond its fstatat: OCI markers are empty, so
  // a file's content is read only when it has any.
  SysError KeepContent(int fd, Marker& m, const std::string& dirRel) {
    const bool hasContent = S_ISLNK(m.st.st_mode) || m.st.st_size > 0;
    if (!hasContent) return {};
    std::string rel = JoinRel(dirRel, m.name);
    if (S_ISLNK(m.st.st_mode)) {
      m.content.assign(static_cast<size_t>(m.st.st_size > 0 ? m.st.st_size : 256) + 1, '\0');
      for (;;) {
        ssize_t n = ::readlinkat(fd, m.name.c_str(), &m.content[0], m.content.size());
        if (n < 0) return Failed("readlinkat", rel);
        if (static_cast<size_t>(n) < m.content.size()) {
          m.content.resize(static_cast<size_t>(n));
          return {};
        }
        m.content.resize(m.content.size() * 2);
      }
    }
    UniqueFd file(::openat(fd, m.name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!file.valid()) return Failed("openat", rel);
    char buf[64 * 1024];
    for (;;) {
      ssize_t n = ::read(file.get(), buf, sizeof buf);
      if (n < 0) return Failed("read", rel);
      if (n == 0) return {};
      m.content.append(buf, static_cast<size_t>(n));
    }
  }

  // Children before their parent (plans_ is in tree order), and a directory's
  // `.wh..wh..opq` after its other markers: the markers that make a directory
  // opaque go last, so a run killed here leaves no marker in a directory that
  // no longer reads as opaque, and the next run plans exactly the rest.
  SysError RemoveMarkers(DirCursor& cursor) {
    size_t n = 0;
    for (size_t d = plans_.size(); d-- > 0;) {
      DirPlan& plan = plans_[d];
      if (plan.markers.empty()) continue;
      int fd = cursor.Open(plan.rel);
      if (fd < 0) return Failed("openat", plan.rel);
      std::vector<size_t> order;
      for (size_t i = 0; i < plan.markers.size(); i++) {
        if (plan.markers[i].name != kOpaqueMarker) order.push_back(i);
      }
      for (size_t i = 0; i < plan.markers.size(); i++) {
        if (plan.markers[i].name == kOpaqueMarker) order.push_back(i);
      }
      for (size_t i : order) {
        Marker& m = plan.markers[i];
        if (auto e = KeepContent(fd, m, plan.rel)) return e;
        if (int injected = StageFault("fromOci:unlink", n++)) return Injected(injected, "unlinkat", JoinRel(plan.rel, m.name), "fromOci:unlink");
        if (::unlinkat(fd, m.name.c_str(), 0) != 0) return Failed("unlinkat", JoinRel(plan.rel, m.name));
        done_.push_back({Done::Marker, d, i});
      }
    }
    return {};
  }

  // An error of a call made without messages, given its path and field.
  SysError Named(SysError e, const std::string& rel) const {
    e.path = Display(rel);
    e.field = OciField(rel);
    return e;
  }

  SysError Injected(int errnum, const char* call, const std::string& rel, const char* point) const {
    SysError e = SysError::Invalid(OciField(rel), Display(rel), std::string("injected failure at ") + point, errnum);
    e.syscall = call;
    return e;
  }

  // A marker made again as it was: content (or link target), owner, mode, times.
  bool RestoreMarker(int fd, const Marker& m) {
    if (StageFault("fromOci:undo", 0)) {
      errno = EIO;
      return false;
    }
    struct timespec times[2] = {m.st.st_atim, m.st.st_mtim};
    if (S_ISLNK(m.st.st_mode)) {
      return ::symlinkat(m.content.c_str(), fd, m.name.c_str()) == 0 && ::fchownat(fd, m.name.c_str(), m.st.st_uid, m.st.st_gid, AT_SYMLINK_NOFOLLOW) == 0 &&
             ::utimensat(fd, m.name.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0;
    }
    UniqueFd file(::openat(fd, m.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!file.valid()) return false;
    for (size_t put = 0; put < m.content.size();) {
      ssize_t w = ::write(file.get(), m.content.data() + put, m.content.size() - put);
      if (w < 0) return false;
      put += static_cast<size_t>(w);
    }
    // Owner before mode: chown clears set-id bits.
    return ::fchown(file.get(), m.st.st_uid, m.st.st_gid) == 0 && ::fchmod(file.get(), m.st.st_mode & 07777) == 0 && ::futimens(file.get(), times) == 0;
  }

  // Every step is tried whatever the others do, newest first; each failure is
  // named on the error.
  void Undo(DirCursor& cursor, SysError& error) {
    for (size_t k = done_.size(); k-- > 0;) {
      const Action& a = done_[k];
      const DirPlan& plan = plans_[a.dir];
      std::string what;
      std::string rel = plan.rel;
      bool ok = false;
      int fd = cursor.Open(plan.rel);
      switch (a.what) {
        case Done::Marker:
          rel = JoinRel(plan.rel, plan.markers[a.item].name);
          what = "marker";
          ok = fd >= 0 && RestoreMarker(fd, plan.markers[a.item]);
          break;
        case Done::Opaque:
          what = "opaque mark";
          ok = fd >= 0 && !RemoveOpaque(fd, r_.userxattr, Entry{fd, ".", Display(rel), OciField(rel)});
          break;
        case Done::Whiteout:
        case Done::WhiteoutMarkedDir:
          rel = JoinRel(plan.rel, plan.whiteouts[a.item]);
          what = "whiteout";
          ok = fd >= 0 && ::unlinkat(fd, plan.whiteouts[a.item].c_str(), 0) == 0;
          // The 'x' mark the whiteout needed goes with it.
          if (ok && a.what == Done::WhiteoutMarkedDir) ok = !RemoveOpaque(fd, r_.userxattr, Entry{fd, ".", Display(plan.rel), OciField(plan.rel)});
          break;
      }
      if (!ok) error.detail.push_back("not undone: " + what + " " + OciField(rel) + ": " + std::strerror(errno));
    }
  }

  const ConvertRequest& r_;
  WhiteoutSpec spec_;
  std::vector<DirPlan> plans_;
  std::vector<Action> done_;
  TempNameDirs tempDirs_;  // held until the conversion (and any undo) is over
};

Outcome<Nothing> RunConvert(const ConvertRequest& r) { return Converter(r).Run(); }

const Operation<ConvertRequest, Nothing> kConvertOciLayer{"convertOciLayer", ParseConvertRequest, RunConvert, UndefinedToJs};

}  // namespace

void InitOciConvert(Napi::Env env, Napi::Object exports) { ExportOperation(env, exports, kConvertOciLayer); }

}  // namespace ovl
