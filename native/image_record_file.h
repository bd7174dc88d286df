// Writing the record of a mount that used images (lib/image-record.ts says
// what it holds and why), in the same call as the mount: time spent in user
// space between a mount's system calls (a write through Node's fs once the
// mount returned) makes the kernel's part dearer (bench/README.md).
#pragma once

#include "mount_request.h"

namespace ovl {

// Writes the record of `result` (which holds its images) into `record.dir`,
// atomically by rename, making the directory on first use; fills in
// result->recordFile and result->pruneSample (record.sample other records,
// at random: lib/image-record-live.ts says why a few, and why at random). A
// record that cannot be written does not undo the mount: it is one more
// warning, and listings then say the record is missing.
void WriteImageRecord(const ImageRecordRequest& record, MountResult* result);

// What mount and replace do once their overlay is in place: the record, when the request wants one and images were mounted.
inline void RecordImages(const MountRequest& request, MountResult* result) {
  if (request.record.wanted() && !result->images.empty()) WriteImageRecord(request.record, result);
}

}  // namespace ovl
