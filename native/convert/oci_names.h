// Names in a layer's messages. A name that is not valid UTF-8 cannot travel
// to JavaScript as a string unchanged, so it is shown escaped as mountinfo
// escapes (and `ovl` prints such names): every byte that is not printable
// ASCII, or is a space or a backslash, as \NNN octal. A UTF-8 name is kept.
#pragma once

#include <string>

namespace ovl {

// Whether `s` is valid UTF-8 (no overlong forms, no surrogates).
bool IsUtf8(const std::string& s);

// `s` as it is when it is UTF-8, else escaped byte by byte.
std::string OciShown(const std::string& s);

// The field naming an entry relative to the layer: "/" for the layer itself, "/a/b".
inline std::string OciField(const std::string& rel) { return "/" + OciShown(rel); }

}  // namespace ovl
