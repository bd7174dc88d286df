// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) as EROFS's
// superblock checksum uses it: seeded with ~0 and not inverted at the end.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ovl {

inline uint32_t Crc32c(const uint8_t* data, size_t size) {
  static const auto table = [] {
    struct Table {
      uint32_t v[256];
    } t{};
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t.v[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; i++) crc = table.v[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
  return crc;
}

}  // namespace ovl
