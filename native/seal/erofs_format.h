// The EROFS on-disk constants a sealed image uses (the kernel's
// fs/erofs/erofs_fs.h) and composefs' 32-byte header
// (libcomposefs/lcfs-erofs.h), with little-endian stores into an image
// buffer: every multi-byte field of the format is little-endian.
#pragma once

#include <cstdint>

namespace ovl {
namespace erofs {

constexpr uint32_t kBlockBits = 12;
constexpr uint32_t kBlockSize = 1u << kBlockBits;
constexpr uint32_t kSuperOffset = 1024;
constexpr uint32_t kSuperSize = 128;
constexpr uint32_t kSuperMagic = 0xE0F5E1E2;
constexpr uint32_t kCompatSbChecksum = 0x1;
constexpr uint32_t kIncompatChunkedFile = 0x4;

// An inode's nid counts 32-byte slots from the metadata start (block 0 here).
constexpr uint32_t kSlotSize = 32;
constexpr uint32_t kExtendedInodeSize = 64;
constexpr uint16_t kInodeExtended = 1;  // i_format bit 0
enum Layout : uint16_t { kFlatPlain = 0, kFlatInline = 2, kChunkBased = 4 };
constexpr uint32_t kChunkEntrySize = 4;  // a block map entry: a 32-bit block address
constexpr uint32_t kNullAddr = 0xFFFFFFFF;
constexpr uint32_t kChunkBitsMax = 0x1F;  // i_u.c.format's block-bits field

constexpr uint32_t kDirentSize = 12;
enum FileType : uint8_t { kUnknown = 0, kRegular = 1, kDirectory = 2, kCharDev = 3, kBlockDev = 4, kFifo = 5, kSocket = 6, kSymlink = 7 };

constexpr uint32_t kXattrHeaderSize = 12;
constexpr uint32_t kXattrEntryHead = 4;
enum XattrIndex : uint8_t { kXattrUser = 1, kXattrAclAccess = 2, kXattrAclDefault = 3, kXattrTrusted = 4, kXattrSecurity = 6 };

constexpr uint32_t kComposefsMagic = 0xd078629a;
constexpr uint32_t kComposefsVersion = 1;
constexpr uint32_t kComposefsHasAcl = 0x1;

inline void Put16(uint8_t* at, uint16_t v) {
  at[0] = static_cast<uint8_t>(v);
  at[1] = static_cast<uint8_t>(v >> 8);
}
inline void Put32(uint8_t* at, uint32_t v) {
  for (int i = 0; i < 4; i++) at[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void Put64(uint8_t* at, uint64_t v) {
  for (int i = 0; i < 8; i++) at[i] = static_cast<uint8_t>(v >> (8 * i));
}

constexpr uint64_t RoundUp(uint64_t n, uint64_t unit) { return (n + unit - 1) / unit * unit; }

}  // namespace erofs
}  // namespace ovl
