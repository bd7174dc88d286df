// The record of a mount that used images (lib/images/image-record.ts says what it
// holds and why, and reads it back): written here, whole, in the same call
// as the mount, since time spent in user space between a mount's system
// calls makes the kernel's part dearer (bench/README.md,
// 'Where the time goes'). Its file-name rule is here alone: lib/ learns a record's name
// from the addon (the mount's result, mountAt).
#pragma once

#include "core/mount_request.h"

namespace ovl {

// Writes the record of `result` (which holds its images) into `request.record.dir`,
// atomically by rename, making the directory on first use; fills in
// result->recordFile and result->pruneSample (record.sample other records,
// at random: lib/images/image-record-live.ts says why a few, and why at random). A
// record that cannot be written does not undo the mount: it is one more
// warning, and listings then say the record is missing.
void WriteImageRecord(const MountRequest& request, MountResult* result);

// A record's file name: by unique mount id where there is one, else by mount id and superblock ("0:45").
std::string RecordName(uint64_t uniqueMountId, uint64_t mountId, const std::string& superblock);

// What mount and replace do once their overlay is in place: the record, when the request wants one and images were mounted.
inline void RecordImages(const MountRequest& request, MountResult* result) {
  if (request.record.wanted() && !result->images.empty()) WriteImageRecord(request, result);
}

}  // namespace ovl
