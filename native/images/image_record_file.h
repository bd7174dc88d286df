// Writing the record of a mount that used images (lib/image-record.ts says
// what it holds and why), in the same call as the mount. JavaScript used to
// write it after the mount returned: the same system calls, each through
// Node's fs, and time spent in user space between a mount's system calls
// makes the kernel's part dearer on the bench's VM. A one-image erofs
// mount+umount took 1.7x to 1.9x of C that way (README.md, Performance).
#pragma once

#include "core/mount_request.h"

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
