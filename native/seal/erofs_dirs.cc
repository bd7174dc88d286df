#include "seal/erofs_dirs.h"

#include "seal/erofs_format.h"

namespace ovl {
namespace {

// Each block's first name, by index, and the bytes the last block uses.
struct Packing {
  std::vector<size_t> starts;
  uint32_t lastUsed = 0;
};

Packing Pack(const std::vector<DirName>& names) {
  Packing p;
  uint32_t used = erofs::kBlockSize;
  for (size_t i = 0; i < names.size(); i++) {
    uint32_t need = erofs::kDirentSize + static_cast<uint32_t>(names[i].name.size());
    if (used + need > erofs::kBlockSize) {
      p.starts.push_back(i);
      used = 0;
    }
    used += need;
  }
  p.lastUsed = used;
  return p;
}

}  // namespace

uint64_t DirSize(const std::vector<DirName>& names) {
  Packing p = Pack(names);
  return (p.starts.size() - 1) * uint64_t{erofs::kBlockSize} + p.lastUsed;
}

std::string DirBytes(const std::vector<DirName>& names) {
  Packing p = Pack(names);
  std::string out((p.starts.size() - 1) * size_t{erofs::kBlockSize} + p.lastUsed, '\0');
  for (size_t b = 0; b < p.starts.size(); b++) {
    size_t first = p.starts[b], end = b + 1 < p.starts.size() ? p.starts[b + 1] : names.size();
    auto* block = reinterpret_cast<uint8_t*>(&out[b * erofs::kBlockSize]);
    uint32_t nameAt = static_cast<uint32_t>((end - first) * erofs::kDirentSize);
    for (size_t i = first; i < end; i++) {
      uint8_t* dirent = block + (i - first) * erofs::kDirentSize;
      erofs::Put64(dirent, names[i].nid);
      erofs::Put16(dirent + 8, static_cast<uint16_t>(nameAt));
      dirent[10] = names[i].type;
      names[i].name.copy(reinterpret_cast<char*>(block + nameAt), names[i].name.size());
      nameAt += static_cast<uint32_t>(names[i].name.size());
    }
  }
  return out;
}

}  // namespace ovl
