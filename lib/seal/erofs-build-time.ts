// mkfs.erofs 1.5 records the time it ran in the EROFS superblock, and its
// only ways to fix that time (-T, SOURCE_DATE_EPOCH) also give every entry
// that time; so a sealed image is packed with each entry's own time in an
// extended inode (-E force-inode-extended: no inode reads the build time)
// and the superblock's build time is then set to 0, its crc32c redone as the
// kernel checks it (fs/erofs/super.c: over the superblock's block from byte
// 1024, checksum field zeroed, seed ~0, no final inversion). The one place
// this package writes EROFS bytes.
import * as fs from 'node:fs';
import { OverlayError } from '../core/errors';
import { fsStep, type Step } from '../core/sync-or-async';

const SUPER_OFFSET = 1024;
const EROFS_MAGIC = 0xe0f5e1e2;
const FEATURE_COMPAT_SB_CHKSUM = 0x1;
/** Byte offsets inside the superblock (struct erofs_super_block). */
const AT = { checksum: 4, featureCompat: 8, blockSizeBits: 12, buildTime: 24, buildTimeNsec: 32 } as const;

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

/** The image's first block with the build time set to 0; throws when it is not an EROFS image. */
export function withFixedBuildTime(head: Buffer): Buffer {
  const sb = head.subarray(SUPER_OFFSET);
  if (sb.length < 64 || sb.readUInt32LE(0) !== EROFS_MAGIC) throw new OverlayError({ errno: 5, field: 'image', reason: 'mkfs.erofs wrote no EROFS superblock' });
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

/** `image`'s superblock rewritten in place with a build time of 0. */
export function fixBuildTimeStep(image: string): Step<void> {
  return fsStep(
    () => {
      const fd = fs.openSync(image, 'r+');
      try {
        const head = Buffer.alloc(HEAD);
        const n = fs.readSync(fd, head, 0, HEAD, 0);
        fs.writeSync(fd, withFixedBuildTime(head.subarray(0, n)), 0, Math.min(n, SUPER_OFFSET + 64), 0);
      } finally {
        fs.closeSync(fd);
      }
    },
    async () => {
      const file = await fs.promises.open(image, 'r+');
      try {
        const head = Buffer.alloc(HEAD);
        const { bytesRead } = await file.read(head, 0, HEAD, 0);
        await file.write(withFixedBuildTime(head.subarray(0, bytesRead)), 0, Math.min(bytesRead, SUPER_OFFSET + 64), 0);
      } finally {
        await file.close();
      }
    },
  );
}
