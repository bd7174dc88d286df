// whiteout / whiteouts / isWhiteout (and their *Sync twins): whiteouts made
// and recognised inside a layer, beneath an optional root.
#include <fcntl.h>
#include <unistd.h>

#include <napi.h>

#include <charconv>
#include <cstring>
#include <vector>

#include "layers/entry_request.h"
#include "layers/overlay_xattr.h"
#include "layers/whiteout_fs.h"
#include "layers/whiteout_temps.h"
#include "util/fault.h"
#include "util/twin.h"

namespace ovl {
namespace {

WhiteoutSpec ParseSpec(Napi::Object obj) {
  WhiteoutSpec spec;
  std::string kind = args::String(obj, "kind", false);
  if (kind == "xattr") spec.kind = WhiteoutKind::Xattr;
  else if (!kind.empty() && kind != "chardev") throw Napi::TypeError::New(obj.Env(), "unknown whiteout kind '" + kind + "'");
  spec.force = args::Bool(obj, "force");
  spec.userxattr = args::Bool(obj, "userxattr");
  return spec;
}

struct WhiteoutRequest {
  EntryRequest entry;
  WhiteoutSpec spec;
};

WhiteoutRequest ParseWhiteoutRequest(const Napi::CallbackInfo& info) {
  Napi::Object obj = args::ObjectAt(info, 0, "whiteout request");
  return {ParseEntryRequest(obj), ParseSpec(obj)};
}

// Whether whiteouts of this spec are made under a temporary name first.
bool UsesTempNames(const WhiteoutSpec& spec) { return spec.force || spec.kind == WhiteoutKind::Xattr; }

Outcome<Nothing> RunWhiteout(const WhiteoutRequest& r) {
  return WithEntry(r.entry, "path", [&](const Entry& entry) -> Outcome<Nothing> {
    TempNameDirs dirs;
    if (UsesTempNames(r.spec)) dirs.Enter(entry.dirFd);
    if (auto e = MakeWhiteout(entry, r.spec)) return e;
    return Nothing{};
  });
}

struct WhiteoutsRequest {
  std::string root;
  std::vector<std::string> paths;
  WhiteoutSpec spec;
  Resolver resolver = Resolver::Auto;
};

WhiteoutsRequest ParseWhiteoutsRequest(const Napi::CallbackInfo& info) {
  Napi::Object obj = args::ObjectAt(info, 0, "whiteouts request");
  WhiteoutsRequest r;
  r.root = args::String(obj, "root");
  if (r.root.empty()) throw Napi::TypeError::New(info.Env(), "root must not be empty");
  r.paths = args::Strings(obj, "paths");
  r.spec = ParseSpec(obj);
  r.resolver = ParseResolverField(obj);
  return r;
}

// "paths[i]", written into one string a batch keeps (it fits the string's
// own buffer up to paths[99999999], so no allocation a name).
const std::string& PathField(std::string& field, size_t i) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, i).ptr;
  field.assign("paths[").append(digits, end).append("]");
  return field;
}

bool IsNameInRoot(const std::string& path) {
  return !path.empty() && path != "." && path != ".." && path.find('/') == std::string::npos;
}

// What undoing one made whiteout needs: the hard links kept of the entry it
// replaced (force), and whether its directory was marked opaque 'x' for it.
struct MadeWhiteout {
  Backups backups;
  bool markedOpaque = false;
};

void NoteNotUndone(SysError& error, const Entry& entry, const char* what) {
  error.detail.push_back("not undone: " + entry.display + ": " + what + ": " + std::strerror(errno));
}

// Undoes made[0..] in reverse, so a path given twice comes back to its first state.
void UndoWhiteouts(EntryResolver& resolver, const WhiteoutsRequest& r, const std::vector<MadeWhiteout>& made, SysError& error) {
  std::string field;
  Entry e;
  for (size_t j = made.size(); j-- > 0;) {
    if (auto failed = resolver.FindInto(r.paths[j], PathField(field, j), e)) {
      error.detail.push_back("not undone: " + failed.path + ": its directory cannot be opened again");
      continue;
    }
    const MadeWhiteout& m = made[j];
    if (m.backups.kept()) {
      if (::renameat(e.dirFd, m.backups.first.c_str(), e.dirFd, e.name.c_str()) != 0) {
        // The links are then the entry's only names: say where, before a later cleaning takes them for a crash's.
        NoteNotUndone(error, e, "renameat");
        error.detail.back() += " (what it replaced is kept as " + m.backups.first + " and " + m.backups.second + " beside it)";
      } else {
        ::unlinkat(e.dirFd, m.backups.second.c_str(), 0);
      }
    } else if (::unlinkat(e.dirFd, e.name.c_str(), 0) != 0) {
      NoteNotUndone(error, e, "unlinkat");
    }
    if (m.markedOpaque) {
      Entry parent{e.dirFd, ".", e.display, e.field};
      auto dir = OpenDirectory(parent);
      if (dir.error || RemoveOpaque(dir.value.get(), r.spec.userxattr, parent)) NoteNotUndone(error, e, "removexattr");
    }
  }
}

// All or nothing: every path is resolved and its name checked before any
// whiteout is made; then they are made in order, and a failure undoes those
// already made (an entry replaced with force comes back from the hard link
// kept of it) before the error, whose field says which path (paths[k]), is
// returned. Anything that could not be undone is listed in the error's detail.
Outcome<Nothing> RunWhiteouts(const WhiteoutsRequest& r) {
  auto resolver = EntryResolver::Open(r.root, r.resolver);
  if (resolver.error) return resolver.error;
  std::string field;
  Entry entry;
  for (size_t i = 0; i < r.paths.size(); i++) {
    // A plain name lies in root itself, already open: there is nothing to resolve or refuse.
    if (IsNameInRoot(r.paths[i])) continue;
    if (auto e = resolver.value.FindInto(r.paths[i], PathField(field, i), entry)) return e;
    if (auto e = CheckWhiteoutName(entry)) return e;
  }
  // Held until the batch is done: its backups live as long as it runs.
  TempNameDirs dirs;
  std::vector<MadeWhiteout> made;
  made.reserve(r.paths.size());
  // Per run of paths in one directory: entered (and its opaque mark read) once.
  bool dirMarked = false;
  for (size_t i = 0; i < r.paths.size(); i++) {
    SysError error = resolver.value.FindInto(r.paths[i], PathField(field, i), entry);
    MadeWhiteout m;
    bool newDir = i == 0 || !entry.sameDir;
    if (newDir) dirMarked = false;
    if (!error && newDir && UsesTempNames(r.spec)) dirs.Enter(entry.dirFd);
    if (!error && r.spec.force) {
      auto backups = KeepBackups(entry);
      if (backups.error) error = backups.error;
      else m.backups = std::move(backups.value);
    }
    if (!error) error = MakeWhiteout(entry, r.spec, &m.markedOpaque, dirMarked);
    if (!error) dirMarked = r.spec.kind == WhiteoutKind::Xattr;
    if (error) {
      DropBackups(entry, m.backups);
      UndoWhiteouts(resolver.value, r, made, error);
      return error;
    }
    bool replaced = m.backups.kept();
    made.push_back(std::move(m));
    if (int injected = replaced ? FaultAt("whiteouts.replaced") : 0) {
      errno = injected;
      SysError failure = SysError::FromErrno("renameat", entry.display, entry.field);
      UndoWhiteouts(resolver.value, r, made, failure);
      return failure;
    }
  }
  for (size_t i = 0; i < made.size(); i++) {
    if (!made[i].backups.kept()) continue;
    if (!resolver.value.FindInto(r.paths[i], PathField(field, i), entry)) DropBackups(entry, made[i].backups);
  }
  return Nothing{};
}

// ENOENT or ENOTDIR on the way means nothing is there, so no whiteout either.
Outcome<WhiteoutKind> RunIsWhiteout(const EntryRequest& r) {
  auto resolver = EntryResolver::Open(r.root, r.resolver);
  if (resolver.error) return resolver.error;
  auto entry = resolver.value.Find(r.path, "path");
  if (entry.error) {
    if (entry.error.errnum == ENOENT || entry.error.errnum == ENOTDIR) return WhiteoutKind::None;
    return entry.error;
  }
  return ProbeWhiteout(entry.value, r.userxattr);
}

EntryRequest ParseIsWhiteoutRequest(const Napi::CallbackInfo& info) {
  return ParseEntryRequest(args::ObjectAt(info, 0, "isWhiteout request"));
}

Napi::Value WhiteoutKindToJs(Napi::Env env, const WhiteoutKind& kind) {
  switch (kind) {
    case WhiteoutKind::Chardev: return Napi::String::New(env, "chardev");
    case WhiteoutKind::Xattr: return Napi::String::New(env, "xattr");
    default: return Napi::Boolean::New(env, false);
  }
}

const Operation<WhiteoutRequest, Nothing> kWhiteout{"whiteout", ParseWhiteoutRequest, RunWhiteout, UndefinedToJs};
const Operation<WhiteoutsRequest, Nothing> kWhiteouts{"whiteouts", ParseWhiteoutsRequest, RunWhiteouts, UndefinedToJs};
const Operation<EntryRequest, WhiteoutKind> kIsWhiteout{"isWhiteout", ParseIsWhiteoutRequest, RunIsWhiteout, WhiteoutKindToJs};

}  // namespace

void InitWhiteout(Napi::Env env, Napi::Object exports) {
  ExportOperation(env, exports, kWhiteout);
  ExportOperation(env, exports, kWhiteouts);
  ExportOperation(env, exports, kIsWhiteout);
}

}  // namespace ovl
