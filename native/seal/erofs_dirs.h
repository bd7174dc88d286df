// A directory's content in EROFS's form: its names (`.` and `..` among
// them) sorted by bytes, as the kernel's lookup bisects them, packed into
// 4096-byte blocks, each block 12-byte dirents (nid, name offset, file
// type) and then the names they point at, unterminated; a block's unused
// end is zeros, and the last block ends with its last name.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ovl {

struct DirName {
  std::string_view name;
  uint32_t entry = 0;  // the tree entry it names
  uint64_t nid = 0;    // set once inodes are placed
  uint8_t type = 0;    // erofs::FileType
};

// The directory's size in bytes, `names` sorted.
uint64_t DirSize(const std::vector<DirName>& names);

// The directory's bytes (DirSize of them), `names` sorted, their nids and types set.
std::string DirBytes(const std::vector<DirName>& names);

}  // namespace ovl
