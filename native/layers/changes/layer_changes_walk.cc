// The resumable layer walk (see layers/changes/layer_changes_walk.h): fd-relative
// (getdents64, fstatat, fgetxattr), never following a symlink on the way
// and never leaving the layers. The lowers are stacked as the kernel stacks
// them: the first layer showing a name wins; a whiteout, a non-directory or
// an opaque directory hides the layers beneath.
#include "layers/changes/layer_changes_walk.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>

#include "layers/layer_dir.h"
#include "util/fault.h"

namespace ovl {
namespace {

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

}  // namespace

Outcome<ChangesBatch> ChangesWalk::Next(size_t max) {
  ChangesBatch batch;
  if (closed_) {
    batch.done = true;
    return batch;
  }
  if (!started_) {
    started_ = true;
    if (auto e = Start()) {
      Close();
      return e;
    }
  }
  // Tests fail a walk after changes were handed over, as an unreadable directory met midway would.
  if (base_ > 0) {
    if (int injected = FaultAt("layerChanges.later-batch")) {
      Close();
      errno = injected;
      return SysError::FromErrno("getdents64", r_.upper, "upper");
    }
  }
  for (bool more = true; more && readyListed_ < max;) {
    if (auto e = Step(more)) {
      Close();
      return e;
    }
    peakQueued_ = std::max(peakQueued_, queue_.size());
  }
  size_t taken = 0;
  while (readyEnd_ > 0 && taken < max) {
    Item& item = queue_.front();
    if (item.state == State::kListed) {
      batch.paths.append(item.path);
      batch.paths.push_back('\0');
      batch.kinds.push_back(item.kind);
      taken++;
      readyListed_--;
    }
    queue_.pop_front();
    base_++;
    readyEnd_--;
  }
  // Dropped entries left at the front go too, so an empty queue means the end.
  while (readyEnd_ > 0 && queue_.front().state == State::kDropped) {
    queue_.pop_front();
    base_++;
    readyEnd_--;
  }
  if (stack_.empty() && queue_.empty()) {
    batch.done = true;
    Close();
  }
  return batch;
}

void ChangesWalk::Close() {
  closed_ = true;
  std::vector<Frame>().swap(stack_);  // every fd, in frames and waiting subtrees
  std::deque<Item>().swap(queue_);
  readyEnd_ = readyListed_ = 0;
}

SysError ChangesWalk::Start() {
  Subtree root;
  root.upper = UniqueFd(::open(r_.upper.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.upper.valid()) return SysError::FromErrno("open", r_.upper, "upper");
  for (size_t i = 0; i < r_.lowers.size(); i++) {
    UniqueFd fd(::open(r_.lowers[i].c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return SysError::FromErrno("open", r_.lowers[i], LowerField(i));
    int opaque = OpaqueOf(fd.get(), r_.userxattr);
    if (opaque < 0) return SysError::FromErrno("fgetxattr", r_.lowers[i], LowerField(i));
    root.lowers.push_back({std::move(fd), i});
    if (opaque == 'y') break;  // an opaque lower root hides the layers beneath it
  }
  return Enter(std::move(root));
}

SysError ChangesWalk::Enter(Subtree subtree) {
  Frame frame;
  frame.dir = std::move(subtree);
  if (!ReadNames(frame.dir.upper.get(), frame.names)) return SysError::FromErrno("getdents64", r_.upper + frame.dir.rel, "upper");
  stack_.push_back(std::move(frame));
  return {};
}

// One unit of work: enter the next waiting subtree, place the next name, or
// finish the directory on top. `more` becomes false when the walk is over.
SysError ChangesWalk::Step(bool& more) {
  if (stack_.empty()) {
    more = false;
    return {};
  }
  Frame& top = stack_.back();
  const bool hasName = top.next < top.names.size();
  if (!top.waiting.empty() && (!hasName || top.waiting.begin()->first < top.names[top.next])) {
    Subtree subtree = std::move(top.waiting.begin()->second);
    top.waiting.erase(top.waiting.begin());
    return Enter(std::move(subtree));
  }
  if (hasName) {
    const std::string& name = top.names[top.next++];
    return Place(top, name);
  }
  // Its subtree ended without an addition or deletion: an undecided entry is not listed.
  if (top.dir.undecided) Decide(top.dir.entry, State::kDropped);
  stack_.pop_back();
  return {};
}

SysError ChangesWalk::LookUp(const std::vector<LowerDir>& stack, const std::string& name, const std::string& rel, bool wantStack, LowerLookup& found) {
  for (const LowerDir& dir : stack) {
    struct stat st {};
    if (::fstatat(dir.fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) continue;
      return SysError::FromErrno("fstatat", r_.lowers[dir.layer] + rel, LowerField(dir.layer));
    }
    if (IsWhiteoutAt(dir.fd.get(), name, st, r_.userxattr)) return {};
    if (errno != 0) return SysError::FromErrno("fgetxattr", r_.lowers[dir.layer] + rel, LowerField(dir.layer));
    if (!found.found) {
      found.found = true;
      found.st = st;
      found.holder = dir.fd.get();
    }
    if (!S_ISDIR(st.st_mode) || !wantStack) return {};
    UniqueFd child = OpenDirAt(dir.fd.get(), name);
    if (!child.valid()) return SysError::FromErrno("openat", r_.lowers[dir.layer] + rel, LowerField(dir.layer));
    int opaque = OpaqueOf(child.get(), r_.userxattr);
    if (opaque < 0) return SysError::FromErrno("fgetxattr", r_.lowers[dir.layer] + rel, LowerField(dir.layer));
    found.below.push_back({std::move(child), dir.layer});
    if (opaque == 'y') return {};
  }
  return {};
}

// Places the entry `name` of the directory `frame` walks: its change, if
// any, and its subtree to be walked when its key comes.
SysError ChangesWalk::Place(Frame& frame, const std::string& name) {
  const int dirFd = frame.dir.upper.get();
  std::string rel = frame.dir.rel + "/" + name;
  struct stat st {};
  if (::fstatat(dirFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};  // removed meanwhile
    return SysError::FromErrno("fstatat", r_.upper + rel, "upper");
  }
  if (IsWhiteoutLeftover(name, st)) return {};
  if (IsWhiteoutAt(dirFd, name, st, r_.userxattr)) {
    Emit(std::move(rel), 'D', State::kListed);
    MarkChangedBeneath();
    return {};
  }
  if (errno != 0) return SysError::FromErrno("fgetxattr", r_.upper + rel, "upper");
  const bool isDir = S_ISDIR(st.st_mode);
  LowerLookup lower;
  if (auto e = LookUp(frame.dir.lowers, name, rel, isDir, lower)) return e;
  Subtree subtree;
  if (isDir) {
    subtree.upper = OpenDirAt(dirFd, name);
    if (!subtree.upper.valid()) return SysError::FromErrno("openat", r_.upper + rel, "upper");
    subtree.lowers = std::move(lower.below);
    subtree.rel = rel;
  }
  char kind = lower.found ? 'C' : 'A';
  // An opaque directory over one the lowers show was deleted and made again:
  // D, as Docker and Podman list it; what it holds now is listed beneath,
  // against the lowers it hides as they were (its own stack).
  if (isDir && lower.found) {
    int opaque = OpaqueOf(subtree.upper.get(), r_.userxattr);
    if (opaque < 0) return SysError::FromErrno("fgetxattr", r_.upper + rel, "upper");
    if (opaque == 'y') kind = 'D';
  }
  // A directory both sides have is listed only when its own mode, size or
  // time differ, or something beneath it was added or deleted (Docker's and
  // Podman's rule). The lower side is stat'ed through a symlink, as they do:
  // only read, never walked through.
  bool undecided = false;
  if (isDir && kind == 'C') {
    struct stat was = lower.st;
    bool readable = !S_ISLNK(was.st_mode) || ::fstatat(lower.holder, name.c_str(), &was, 0) == 0;
    undecided = readable && S_ISDIR(was.st_mode) && was.st_mode == st.st_mode && was.st_size == st.st_size && SameDirTime(was.st_mtim, st.st_mtim);
  }
  uint64_t entry = Emit(std::move(rel), kind, undecided ? State::kUndecided : State::kListed);
  if (kind != 'C') MarkChangedBeneath();
  if (!isDir) return {};
  subtree.undecided = undecided;
  subtree.entry = entry;
  frame.waiting.emplace(name + "/", std::move(subtree));
  return {};
}

uint64_t ChangesWalk::Emit(std::string path, char kind, State state) {
  queue_.push_back({std::move(path), kind, state});
  AdvanceReady();
  return base_ + queue_.size() - 1;
}

// An addition or deletion in the directory on top: it and every ancestor
// now hold one beneath, which lists those that were undecided.
void ChangesWalk::MarkChangedBeneath() {
  for (auto it = stack_.rbegin(); it != stack_.rend() && !it->changedBeneath; ++it) {
    it->changedBeneath = true;  // set once for a frame and all beneath it: each is visited once
    if (it->dir.undecided) {
      it->dir.undecided = false;
      Decide(it->dir.entry, State::kListed);
    }
  }
}

void ChangesWalk::Decide(uint64_t entry, State state) {
  queue_[entry - base_].state = state;
  AdvanceReady();
}

void ChangesWalk::AdvanceReady() {
  while (readyEnd_ < queue_.size() && queue_[readyEnd_].state != State::kUndecided) {
    if (queue_[readyEnd_].state == State::kListed) readyListed_++;
    readyEnd_++;
  }
}

}  // namespace ovl
