// The walk behind changes(), changesIterator() and their Sync twins: what an
// upper layer changed over its lowers, produced in path (byte) order a batch
// at a time, so a caller can stop after any batch and nothing beyond the
// undecided part of the tree is held.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "util/sys_error.h"
#include "util/unique_fd.h"

namespace ovl {

struct ChangesRequest {
  std::string upper;
  std::vector<std::string> lowers;
  bool userxattr = false;
};

// Decided changes, handed over together: every path's bytes NUL-ended (no
// name holds a NUL), and their kinds ('A', 'C', 'D') one char each.
struct ChangesBatch {
  std::string paths;
  std::string kinds;
  bool done = false;  // nothing follows: the walk is over and closed
};

// One layer's walk, resumable between batches. Not thread-safe: one caller
// at a time (native/layers/changes/layer_changes_entry.cc serialises them).
//
// Order: full paths sorted by bytes are not a depth-first order ("/a-x"
// sorts between "/a" and "/a/b"), so each directory's entry is placed when
// its name comes, and its subtree is walked when the key NAME + "/" comes.
//
// Docker's directory rule makes a directory both layers show, with the same
// mode, size and mtime, undecided until an addition or deletion turns up
// beneath it (then it is listed) or its subtree ends without one (then it is
// not). Everything after an undecided entry waits with it. Held in memory at
// most: for each directory on the path from the root to the current one, its
// names and its fds (one in the upper, one per lower that shows it), plus the
// fds of sibling directories whose subtree waits for its key; and the queue
// of changes not handed over yet. That queue is at most one batch, except
// behind an undecided directory: in the worst case (a directory copied up
// unchanged whose subtree holds only changes, no addition or deletion, as a
// `chown -R` leaves it) the changes of that whole subtree, no more than the
// result itself holds for them.
class ChangesWalk {
 public:
  explicit ChangesWalk(ChangesRequest request) : r_(std::move(request)) {}

  // Walks on until `max` changes are decided (or the walk ends) and hands
  // them over. After the last batch, or after an error, every fd is closed.
  Outcome<ChangesBatch> Next(size_t max);

  // Closes every fd and drops what is held; a later Next is an empty, done batch.
  void Close();

  // The most changes ever queued at once (decided or not): the memory bound above, for tests.
  size_t PeakQueued() const { return peakQueued_; }

 private:
  struct LowerDir {
    UniqueFd fd;
    size_t layer;  // which lower, for errors
  };
  enum class State : char { kListed, kUndecided, kDropped };
  struct Item {
    std::string path;
    char kind;
    State state;
  };
  // A directory whose own entry is placed and whose subtree waits for its key.
  struct Subtree {
    UniqueFd upper;
    std::vector<LowerDir> lowers;  // its stack in the lowers, empty when they do not show it
    std::string rel;
    bool undecided = false;  // its entry waits on what lies beneath
    uint64_t entry = 0;      // that entry's number in the queue
  };
  // What the lowers show at one name of a directory.
  struct LowerLookup {
    bool found = false;
    struct stat st {};
    int holder = -1;              // the lower directory holding the entry found
    std::vector<LowerDir> below;  // the entry's own stack, when it is a directory and asked for
  };
  // A directory being walked.
  struct Frame {
    Subtree dir;
    std::vector<std::string> names;
    size_t next = 0;
    std::map<std::string, Subtree> waiting;  // subtrees by key NAME + "/"
    bool changedBeneath = false;             // an addition or deletion lies beneath
  };

  SysError Start();
  SysError Step(bool& more);
  SysError Place(Frame& frame, const std::string& name);
  SysError Enter(Subtree subtree);
  SysError LookUp(const std::vector<LowerDir>& stack, const std::string& name, const std::string& rel, bool wantStack, LowerLookup& found);
  uint64_t Emit(std::string path, char kind, State state);
  void MarkChangedBeneath();
  void Decide(uint64_t entry, State state);
  void AdvanceReady();
  std::string LowerField(size_t i) const { return "lower[" + std::to_string(i) + "]"; }

  ChangesRequest r_;
  bool started_ = false;
  bool closed_ = false;
  std::vector<Frame> stack_;
  std::deque<Item> queue_;
  uint64_t base_ = 0;        // the number of queue_.front()
  size_t readyEnd_ = 0;      // queue_[0, readyEnd_) holds nothing undecided
  size_t readyListed_ = 0;   // the listed items among them
  size_t peakQueued_ = 0;
};

}  // namespace ovl
