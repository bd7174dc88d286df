// A seal's native work, one call off the event loop: SRC collected (its
// contents put into the store as temporary objects), the image written to
// `image` (a new file in the seal's temporary directory beside IMAGE), and
// only then the objects published; on an error the temporary objects go.
#pragma once

#include <string>

#include "seal/seal_tree.h"
#include "util/sys_error.h"

namespace ovl {

Outcome<SealCounts> SealImage(const std::string& source, const std::string& store, const std::string& image);

}  // namespace ovl
