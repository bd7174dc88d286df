// The objects a sealed image needs from its store: each regular file's
// trusted.overlay.redirect (`/xx/<62 hex>`), read from the image mounted
// detached and read-only (never at a path), as the kernel reads them; and,
// for `verity=on|require`, whether each object's fs-verity digest is the one
// the file's trusted.overlay.metacopy holds, as the kernel checks it only
// when the file is opened.
#pragma once

#include <string>
#include <vector>

#include "util/sys_error.h"

namespace ovl {

struct MissingObject {
  std::string object;  // "xx/<62 hex>", the redirect without its leading '/'
  std::string file;    // the file's path in the image, from its root ("/usr/bin/tool")
};

// The image's files whose object is not in `store`.
Outcome<std::vector<MissingObject>> MissingObjects(const std::string& image, const std::string& store, const std::string& field);

struct UnverifiedObject {
  std::string object;  // "xx/<62 hex>"
  std::string file;    // the file's path in the image
  int errnum = 0;      // FS_IOC_MEASURE_VERITY's errno (ENODATA: fs-verity not enabled) or open's; 0: enabled with another digest
};

// The image's files whose object the kernel would refuse under verity=require.
Outcome<std::vector<UnverifiedObject>> UnverifiedObjects(const std::string& image, const std::string& store, const std::string& field);

}  // namespace ovl
