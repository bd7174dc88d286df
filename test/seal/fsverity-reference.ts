// The tests' own fs-verity digest, written from the kernel's description
// (Documentation/filesystems/fsverity.rst) with Node's crypto, apart from
// the addon's: a Merkle tree of SHA-256 over zero-padded 4096-byte blocks,
// levels packed 128 hashes to a block until one hash is left (all zeroes
// for an empty file), and the digest of the 256-byte descriptor holding it.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const BLOCK = 4096;

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

function hashBlocks(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += BLOCK) {
    const block = Buffer.alloc(BLOCK);
    data.copy(block, 0, at, Math.min(at + BLOCK, data.length));
    out.push(sha256(block));
  }
  return out;
}

/** The fs-verity digest of `data` in hex. */
export function referenceDigest(data: Buffer): string {
  let level = hashBlocks(data);
  while (level.length > 1) level = hashBlocks(Buffer.concat(level));
  const descriptor = Buffer.alloc(256);
  descriptor.writeUInt8(1, 0); // version
  descriptor.writeUInt8(1, 1); // sha256
  descriptor.writeUInt8(12, 2); // log2 of the block size
  descriptor.writeBigUInt64LE(BigInt(data.length), 8);
  if (level.length === 1) level[0]!.copy(descriptor, 16);
  return sha256(descriptor).toString('hex');
}

/** `data` put into `store` under its digest (`xx/<62 hex>`), as a sealed store keeps it; returns the digest. */
export function putObject(store: string, data: Buffer): string {
  const digest = referenceDigest(data);
  fs.mkdirSync(path.join(store, digest.slice(0, 2)), { recursive: true });
  fs.writeFileSync(path.join(store, digest.slice(0, 2), digest.slice(2)), data);
  return digest;
}
