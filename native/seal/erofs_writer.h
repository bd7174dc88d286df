// A sealed image's bytes, the one place they are made: the EROFS image of a
// collected tree (seal_tree.h), as composefs writes one. Layout, 4096-byte
// blocks: composefs' header at 0, the superblock at 1024 (fixed UUID,
// build time 0, crc32c checksum), then every inode from byte 1152 in
// breadth-first order of the tree (names by bytes; the root first, so its
// nid fits the superblock's 16 bits), each an extended inode (its own
// 64-bit size, 32-bit owners and nanosecond mtime; no inode depends on the
// build time) with its xattrs inline, then the data blocks of directories
// and symlinks too big to go inline. A regular file with content is
// chunk-based with null chunk addresses (a hole of its size: overlay reads
// its data from the object its xattrs name); an empty file has no blocks.
// A directory's or symlink's last partial block goes inline after the
// inode when inode, xattrs and tail fit in one block; an inode that fits
// in a block never crosses one, and one that does not starts a block.
// Same tree, same bytes.
#pragma once

#include <cstdint>
#include <string>

#include "seal/seal_tree.h"
#include "util/sys_error.h"

namespace ovl {

// The image of `tree`, bytes ready to write.
std::string ErofsImage(const SealTree& tree);

// ErofsImage of `tree` written to `image`, a new file. Errors name 'image'.
SysError WriteErofsImage(const SealTree& tree, const std::string& image);

}  // namespace ovl
