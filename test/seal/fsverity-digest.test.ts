// The addon's fs-verity digest (native/images/fsverity_digest.h) against
// published values and against the tests' own Merkle tree
// (test/helpers/fsverity-reference.ts), at every size where the tree
// changes shape: empty, one block, a block and a byte, one full tree block
// of hashes (128 data blocks) and one more, and three levels (a sparse file).
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import t from 'tap';
import { native } from '../../lib/core/native';
import { referenceDigest } from './fsverity-reference';
import { scratch } from '../helpers/scratch';

// Values `fsverity digest` prints (fsverity-utils, xfstests generic/574's list, composefs' tests).
const KNOWN: Array<[string, Buffer, string]> = [
  ['empty', Buffer.alloc(0), '3d248ca542a24fc62d1c43b916eae5016878e2533c88238480b26128a1f1af95'],
  ['abc', Buffer.from('abc'), '700b6bd8510f0b4f9bac8b9cf0459151a1c4a99f467892bb4bd289a67df8e19c'],
  ['hello\\n', Buffer.from('hello\n'), '9c76eecc7b76fcb46199cb27b90cf59a660e10575bb0412128905129d5b1c2aa'],
  ['4096 zero bytes', Buffer.alloc(4096), 'babc284ee4ffe7f449377fbf6692715b43aec7bc39c094a95878904d34bac97e'],
];

t.test('published digests, from both twins and the reference', async (t) => {
  const s = scratch(t);
  for (const [name, data, digest] of KNOWN) {
    const file = s.path(`f-${KNOWN.findIndex((k) => k[0] === name)}`);
    fs.writeFileSync(file, data);
    t.equal(native.fsverityDigestSync(file), digest, `${name}: Sync`);
    t.equal(await native.fsverityDigest(file), digest, `${name}: Promise`);
    t.equal(referenceDigest(data), digest, `${name}: the tests' reference agrees`);
  }
});

t.test('every size where the tree changes shape agrees with the reference', async (t) => {
  const s = scratch(t);
  const sizes = [1, 4095, 4096, 4097, 128 * 4096, 128 * 4096 + 1, 1_000_003];
  for (const size of sizes) {
    const data = randomBytes(size);
    const file = s.path(`r-${size}`);
    fs.writeFileSync(file, data);
    t.equal(native.fsverityDigestSync(file), referenceDigest(data), `${size} bytes`);
  }
  // 128 * 128 blocks and one more: a third level. Sparse, so only its last byte is written.
  const big = 128 * 128 * 4096 + 1;
  const file = s.path('sparse');
  fs.writeFileSync(file, '');
  fs.truncateSync(file, big - 1);
  fs.appendFileSync(file, 'x');
  const data = Buffer.alloc(big);
  data[big - 1] = 'x'.charCodeAt(0);
  t.equal(await native.fsverityDigest(file), referenceDigest(data), `${big} bytes, three levels`);
});

t.test('a file that cannot be read fails like fs does', async (t) => {
  const s = scratch(t);
  t.throws(() => native.fsverityDigestSync(s.path('nope')), { code: 'ENOENT', syscall: 'open', path: s.path('nope') });
  await t.rejects(native.fsverityDigest(s.dir), { code: 'EISDIR', syscall: 'read' });
});
