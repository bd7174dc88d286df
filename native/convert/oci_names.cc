#include "convert/oci_names.h"

namespace ovl {

bool IsUtf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  for (size_t i = 0; i < n;) {
    unsigned char c = p[i];
    size_t len = c < 0x80 ? 1 : (c >= 0xc2 && c <= 0xdf) ? 2 : (c >= 0xe0 && c <= 0xef) ? 3 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
    if (len == 0 || i + len > n) return false;
    for (size_t k = 1; k < len; k++) {
      if ((p[i + k] & 0xc0) != 0x80) return false;
    }
    // The second byte's range rules out overlong forms, surrogates and code points past U+10FFFF.
    if (len >= 3) {
      unsigned char d = p[i + 1];
      if ((c == 0xe0 && d < 0xa0) || (c == 0xed && d > 0x9f) || (c == 0xf0 && d < 0x90) || (c == 0xf4 && d > 0x8f)) return false;
    }
    i += len;
  }
  return true;
}

std::string OciShown(const std::string& s) {
  if (IsUtf8(s)) return s;
  static const char kOctal[] = "01234567";
  std::string out;
  for (unsigned char b : s) {
    if (b > 0x20 && b < 0x7f && b != '\\') {
      out += static_cast<char>(b);
    } else {
      out += '\\';
      out += kOctal[b >> 6];
      out += kOctal[(b >> 3) & 7];
      out += kOctal[b & 7];
    }
  }
  return out;
}

}  // namespace ovl
