// The fs-verity digest of a file as the kernel defines it
// (Documentation/filesystems/fsverity.rst): a SHA-256 Merkle tree over
// 4096-byte blocks with no salt, and the digest taken over the 256-byte
// fs-verity descriptor that holds its root. It names a sealed store's
// objects and measures a sealed image, the value `fsverity digest` and
// `composefs-info measure-file` print, computed here in user space so it
// needs no fs-verity in the kernel.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "util/sys_error.h"

namespace ovl {

using VerityDigest = std::array<uint8_t, 32>;

// Reads the open file `fd` from offset 0 to its end; `path` names it in an error.
Outcome<VerityDigest> FsverityDigestOfFd(int fd, const std::string& path);

// Opens `path` (never following a final symlink) and measures it.
Outcome<VerityDigest> FsverityDigestOfPath(const std::string& path);

std::string DigestHex(const VerityDigest& digest);

}  // namespace ovl
