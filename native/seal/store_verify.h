// A sealed store checked object by object: each `xx/<62 hex>` file is
// measured and compared with its name, the only record of what it must hold.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/sys_error.h"

namespace ovl {

struct StoreProblem {
  std::string object;  // "xx/<62 hex>", relative to the store
  int errnum = 0;      // 0: its content has another digest; else the errno that kept it from being read (EIO)
  std::string actual;  // the digest it has now (hex), for a mismatch
};

struct StoreReport {
  uint64_t objects = 0;
  std::vector<StoreProblem> problems;
};

Outcome<StoreReport> VerifyStore(const std::string& store);

}  // namespace ovl
