#include "seal/erofs_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>

#include "seal/crc32c.h"
#include "seal/erofs_dirs.h"
#include "seal/erofs_format.h"
#include "seal/erofs_xattrs.h"
#include "util/unique_fd.h"

namespace ovl {
namespace {

using namespace erofs;  // NOLINT: the format's names throughout

// Every sealed image's filesystem UUID (6f766c73-6561-4c00-8000-7365616c6564): a random one would make each seal's bytes differ.
constexpr uint8_t kUuid[16] = {0x6f, 0x76, 0x6c, 0x73, 0x65, 0x61, 0x4c, 0x00, 0x80, 0x00, 0x73, 0x65, 0x61, 0x6c, 0x65, 0x64};

uint8_t TypeOf(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return kRegular;
    case S_IFDIR: return kDirectory;
    case S_IFCHR: return kCharDev;
    case S_IFBLK: return kBlockDev;
    case S_IFIFO: return kFifo;
    case S_IFSOCK: return kSocket;
    case S_IFLNK: return kSymlink;
    default: return kUnknown;
  }
}

// Where one entry's inode and data go.
struct Placement {
  uint16_t layout = kFlatPlain;
  uint64_t size = 0;      // i_size
  uint32_t inlineLen = 0;  // bytes after the inode and xattrs: a tail, or a chunk map
  uint32_t blocks = 0;     // data blocks of its own
  uint32_t blkaddr = 0;
  uint32_t chunkBits = 0;  // chunk-based: log2 of the chunk size
  uint64_t offset = 0;     // the inode's byte offset; nid = offset / 32
  uint32_t ino = 0;        // its place in the inode order, from 1
};

// composefs' choice: one chunk covering the file where the format allows (chunks up to 2^43 bytes).
uint32_t ChunkBits(uint64_t size) {
  uint32_t bits = kBlockBits;
  while (bits < kBlockBits + kChunkBitsMax && (uint64_t{1} << bits) < size) bits++;
  return bits;
}

class ImageLayout {
 public:
  explicit ImageLayout(const SealTree& tree) : tree_(tree), places_(tree.entries.size()), dirs_(tree.entries.size()) {}

  std::string Build() {
    Order();
    uint64_t at = kSuperOffset + kSuperSize;
    for (uint32_t e : order_) at = Place(e, at);
    uint64_t next = RoundUp(at, kBlockSize) / kBlockSize;
    for (uint32_t e : order_) {
      if (places_[e].blocks == 0) continue;
      places_[e].blkaddr = static_cast<uint32_t>(next);
      next += places_[e].blocks;
    }
    std::string image(next * kBlockSize, '\0');
    auto* bytes = reinterpret_cast<uint8_t*>(&image[0]);
    for (uint32_t e : order_) WriteEntry(e, bytes);
    WriteHead(bytes, static_cast<uint32_t>(next));
    return image;
  }

 private:
  // Breadth-first from the root, a directory's children by name bytes; a hard-linked file at its first name.
  void Order() {
    std::vector<bool> seen(tree_.entries.size());
    std::deque<uint32_t> queue{0};
    seen[0] = true;
    while (!queue.empty()) {
      uint32_t e = queue.front();
      queue.pop_front();
      order_.push_back(e);
      places_[e].ino = static_cast<uint32_t>(order_.size());
      for (const auto& [name, child] : tree_.entries[e].children) {
        if (seen[child]) continue;
        seen[child] = true;
        queue.push_back(child);
      }
    }
  }

  // Entry `e`'s layout, its inode placed at or after `at`; returns the end of what it placed.
  uint64_t Place(uint32_t e, uint64_t at) {
    const SealEntry& entry = tree_.entries[e];
    Placement& p = places_[e];
    uint32_t meta = kExtendedInodeSize + static_cast<uint32_t>(entry.xattrs.size());
    p.size = entry.size;
    if (S_ISDIR(entry.mode)) {
      dirs_[e] = Names(e);
      p.size = DirSize(dirs_[e]);
    }
    if (S_ISREG(entry.mode) && entry.size > 0) {
      p.layout = kChunkBased;
      p.chunkBits = ChunkBits(entry.size);
      p.inlineLen = static_cast<uint32_t>(((entry.size - 1) >> p.chunkBits) + 1) * kChunkEntrySize;
    } else if (S_ISDIR(entry.mode) || S_ISLNK(entry.mode)) {
      auto tail = static_cast<uint32_t>(p.size % kBlockSize);
      p.blocks = static_cast<uint32_t>(p.size / kBlockSize);
      if (tail != 0 && meta + tail <= kBlockSize) {
        p.layout = kFlatInline;
        p.inlineLen = tail;
      } else if (tail != 0) {
        p.blocks++;
      }
    }
    at = RoundUp(at, kSlotSize);
    uint64_t whole = meta + p.inlineLen;
    // Nothing that fits in a block crosses one; what does not fit starts one, so at least its 64-byte inode is whole in a block.
    if (whole > kBlockSize || at % kBlockSize + whole > kBlockSize) at = RoundUp(at, kBlockSize);
    p.offset = at;
    return at + whole;
  }

  // Directory `e`'s names with `.` and `..`, sorted by bytes.
  std::vector<DirName> Names(uint32_t e) {
    const auto& children = tree_.entries[e].children;
    std::vector<DirName> names;
    names.reserve(children.size() + 2);
    names.push_back({".", e});
    names.push_back({"..", Parent(e)});
    for (const auto& [name, child] : children) names.push_back({name, child});
    std::sort(names.begin(), names.end(), [](const DirName& a, const DirName& b) { return a.name < b.name; });
    return names;
  }

  uint32_t Parent(uint32_t e) {
    if (parents_.empty()) {
      parents_.assign(tree_.entries.size(), 0);
      for (uint32_t d = 0; d < tree_.entries.size(); d++) {
        for (const auto& [name, child] : tree_.entries[d].children) {
          if (S_ISDIR(tree_.entries[child].mode)) parents_[child] = d;
        }
      }
    }
    return parents_[e];
  }

  void WriteEntry(uint32_t e, uint8_t* image) {
    const SealEntry& entry = tree_.entries[e];
    const Placement& p = places_[e];
    uint8_t* inode = image + p.offset;
    Put16(inode + 0, static_cast<uint16_t>(kInodeExtended | (p.layout << 1)));
    Put16(inode + 2, XattrCount(entry.xattrs));
    Put16(inode + 4, static_cast<uint16_t>(entry.mode));
    Put64(inode + 8, p.size);
    uint32_t iu = p.blocks ? p.blkaddr : 0;
    if (p.layout == kChunkBased) iu = p.chunkBits - kBlockBits;  // i_u.c.format: 32-bit block map entries
    if (S_ISCHR(entry.mode) || S_ISBLK(entry.mode)) iu = entry.rdev;
    Put32(inode + 16, iu);
    Put32(inode + 20, p.ino);
    Put32(inode + 24, entry.uid);
    Put32(inode + 28, entry.gid);
    Put64(inode + 32, static_cast<uint64_t>(entry.mtime));
    Put32(inode + 40, entry.mtimeNsec);
    Put32(inode + 44, entry.links);
    std::memcpy(inode + kExtendedInodeSize, entry.xattrs.data(), entry.xattrs.size());
    uint8_t* tail = inode + kExtendedInodeSize + entry.xattrs.size();
    if (p.layout == kChunkBased) {
      std::memset(tail, 0xFF, p.inlineLen);  // kNullAddr in every entry: a hole
      return;
    }
    std::string data;
    if (S_ISDIR(entry.mode)) {
      for (auto& name : dirs_[e]) {
        name.nid = places_[name.entry].offset / kSlotSize;
        name.type = TypeOf(tree_.entries[name.entry].mode);
      }
      data = DirBytes(dirs_[e]);
    } else if (S_ISLNK(entry.mode)) {
      data = entry.target;
    }
    size_t inBlocks = data.size() - p.inlineLen;
    if (inBlocks) std::memcpy(image + uint64_t{p.blkaddr} * kBlockSize, data.data(), inBlocks);
    if (p.inlineLen) std::memcpy(tail, data.data() + inBlocks, p.inlineLen);
  }

  void WriteHead(uint8_t* image, uint32_t blocks) {
    Put32(image + 0, kComposefsMagic);
    Put32(image + 4, kComposefsVersion);
    Put32(image + 8, tree_.counts.acl ? kComposefsHasAcl : 0);  // composefs_version 0 and the reserved words stay 0
    uint8_t* sb = image + kSuperOffset;
    Put32(sb + 0, kSuperMagic);
    Put32(sb + 8, kCompatSbChecksum);
    sb[12] = kBlockBits;
    Put16(sb + 14, static_cast<uint16_t>(places_[0].offset / kSlotSize));
    Put64(sb + 16, order_.size());
    Put32(sb + 36, blocks);
    std::memcpy(sb + 48, kUuid, sizeof kUuid);
    Put32(sb + 80, kIncompatChunkedFile);
    // The kernel's check: crc32c (seed ~0, not inverted) of the superblock's block from byte 1024, the checksum field zero.
    Put32(sb + 4, Crc32c(sb, kBlockSize - kSuperOffset));
  }

  const SealTree& tree_;
  std::vector<Placement> places_;
  std::vector<std::vector<DirName>> dirs_;
  std::vector<uint32_t> order_;
  std::vector<uint32_t> parents_;
};

}  // namespace

std::string ErofsImage(const SealTree& tree) { return ImageLayout(tree).Build(); }

SysError WriteErofsImage(const SealTree& tree, const std::string& image) {
  std::string bytes = ErofsImage(tree);
  UniqueFd fd(open(image.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) return SysError::FromErrno("open", image, "image");
  for (size_t done = 0; done < bytes.size();) {
    ssize_t n = write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SysError::FromErrno("write", image, "image");
    done += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace ovl
