// The first bytes of a sealed image, the one place this package writes
// image bytes itself after mkfs.erofs:
// - composefs' 32-byte header in EROFS's 1,024 unused leading bytes
//   (libcomposefs/lcfs-erofs.h: magic 0xd078629a, version 1, flags with bit 0
//   for "has POSIX ACLs", composefs_version 0, reserved), which
//   mount.composefs and composefs-info look for; the kernel never reads it.
// - the superblock's build time set to 0: mkfs.erofs 1.5 records the time it
//   ran, and its only ways to fix that time (-T, SOURCE_DATE_EPOCH) give
//   every entry that time too; so entries are packed with their own times in
//   extended inodes (no inode reads the build time) and the time is zeroed
//   here, the superblock's crc32c redone as the kernel checks it
//   (fs/erofs/super.c: over the superblock's block from byte 1024, checksum
//   field zeroed, seed ~0, no final inversion).
import fs from 'node:fs';
import { OverlayError } from '../core/errors';
import { fsStep, type Step } from '../core/sync-or-async';

const SUPER_OFFSET = 1024;
const EROFS_MAGIC = 0xe0f5e1e2;
const FEATURE_COMPAT_SB_CHKSUM = 0x1;
/** Byte offsets inside the superblock (struct erofs_super_block). */
const AT = { checksum: 4, featureCompat: 8, blockSizeBits: 12, buildTime: 24, buildTimeNsec: 32 } as const;
const COMPOSEFS_MAGIC = 0xd078629a;
const COMPOSEFS_VERSION = 1;
const COMPOSEFS_HAS_ACL = 0x1;

let table: Uint32Array | undefined;
function crc32cRaw(data: Buffer): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      table[i] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of data) crc = table[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return crc >>> 0;
}

/** The image's first block with composefs' header and a build time of 0; refused when it is not an EROFS image. */
export function sealedHead(head: Buffer, acl: boolean): Buffer {
  const sb = head.subarray(SUPER_OFFSET);
  if (sb.length < 64 || sb.readUInt32LE(0) !== EROFS_MAGIC) throw new OverlayError({ errno: 5, field: 'image', reason: 'mkfs.erofs wrote no EROFS superblock' });
  head.fill(0, 0, 32);
  head.writeUInt32LE(COMPOSEFS_MAGIC, 0);
  head.writeUInt32LE(COMPOSEFS_VERSION, 4);
  head.writeUInt32LE(acl ? COMPOSEFS_HAS_ACL : 0, 8);
  const blockSize = 1 << sb.readUInt8(AT.blockSizeBits);
  sb.writeBigUInt64LE(0n, AT.buildTime);
  sb.writeUInt32LE(0, AT.buildTimeNsec);
  if (sb.readUInt32LE(AT.featureCompat) & FEATURE_COMPAT_SB_CHKSUM) {
    sb.writeUInt32LE(0, AT.checksum);
    sb.writeUInt32LE(crc32cRaw(sb.subarray(0, blockSize - SUPER_OFFSET)), AT.checksum);
  }
  return head;
}

const HEAD = 64 * 1024; // more than any EROFS block size
const WRITTEN = SUPER_OFFSET + 64; // the header and the superblock fields changed

/** `image`'s first bytes rewritten in place as {@link sealedHead} says. */
export function sealedHeadStep(image: string, acl: boolean): Step<void> {
  return fsStep(
    () => {
      const fd = fs.openSync(image, 'r+');
      try {
        const head = Buffer.alloc(HEAD);
        const n = fs.readSync(fd, head, 0, HEAD, 0);
        fs.writeSync(fd, sealedHead(head.subarray(0, n), acl), 0, Math.min(n, WRITTEN), 0);
      } finally {
        fs.closeSync(fd);
      }
    },
    async () => {
      const file = await fs.promises.open(image, 'r+');
      try {
        const head = Buffer.alloc(HEAD);
        const { bytesRead } = await file.read(head, 0, HEAD, 0);
        await file.write(sealedHead(head.subarray(0, bytesRead), acl), 0, Math.min(bytesRead, WRITTEN), 0);
      } finally {
        await file.close();
      }
    },
  );
}
