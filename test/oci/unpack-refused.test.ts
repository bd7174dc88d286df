// What unpack refuses, and that a refusal leaves the store as it was: tar
// entries that would write outside the layer (each named in the error), a
// blob whose digest does not match its manifest, a truncated stream (which
// also leaves no file of the store open). The
// store holds an earlier image first; after each failure it lists the same,
// and a good run afterwards completes. The truncated layers are big and
// random, so the cut falls inside a gzip stream read over many slices.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import t from 'tap';
import { unpack, unpackSync } from '../../lib/index';
import { archive, dockerArchiveFiles, ociLayoutFiles } from './builders/image-archives';
import { storeListing as listing, storeWithOneImage as storeWithGood } from './builders/store-before';
import { needsRoot } from '../helpers/layer';
import { scratch, type Scratch } from '../helpers/scratch';
import { tar, type TarSpec } from './builders/tar-writer';

const good = tar([{ name: 'etc/', type: 'dir' }, { name: 'etc/a', content: 'a' }]);

const storeWithOneImage = (s: Scratch) => storeWithGood(s, good);

const HOSTILE: [string, TarSpec[], RegExp][] = [
  ['a name with ..', [{ name: '../evil', content: 'x' }], /'\.\.\/evil' the name holds '\.\.'/],
  ['a name with .. inside', [{ name: 'a/../../evil', content: 'x' }], /'a\/\.\.\/\.\.\/evil'/],
  ['an absolute name', [{ name: '/etc/evil', content: 'x' }], /'\/etc\/evil' the name is an absolute name/],
  ['a symlink leading out', [{ name: 'out', type: 'symlink', linkname: '../../../etc' }], /'out' is a symlink to '\.\.\/\.\.\/\.\.\/etc', which leads out of the layer/],
  ['a deeper symlink leading out', [{ name: 'a/b/out', type: 'symlink', linkname: '../../../x' }], /'a\/b\/out' is a symlink/],
  ['an entry through a symlink', [{ name: 'l', type: 'symlink', linkname: '/etc' }, { name: 'l/passwd', content: 'x' }], /'l\/passwd' lies beneath 'l', which is a symlink/],
  ['an entry through a file', [{ name: 'f', content: 'x' }, { name: 'f/x', content: 'x' }], /'f\/x' lies beneath 'f', which is a file/],
  ['a hard link leading out', [{ name: 'h', type: 'link', linkname: '../../etc/passwd' }], /hard link target '\.\.\/\.\.\/etc\/passwd'/],
  ['a hard link to an absolute name', [{ name: 'h', type: 'link', linkname: '/etc/passwd' }], /hard link target '\/etc\/passwd'.*absolute/],
  ['a hard link to nothing in the layer', [{ name: 'h', type: 'link', linkname: 'nope' }], /'h' is a hard link to 'nope', which is not an earlier file of this layer/],
  ['a name past PATH_MAX', [{ name: 'a/'.repeat(2050) + 'f', content: 'x' }], /past PATH_MAX/],
  ['a name part past NAME_MAX', [{ name: 'x'.repeat(256), content: 'x' }], /past NAME_MAX/],
];

for (const [what, entries, message] of HOSTILE) {
  t.test(`${what} is refused, naming the entry; the store is as it was`, needsRoot, async (t) => {
    const s = scratch(t);
    const before = storeWithOneImage(s);
    const bad = tar([{ name: 'ok', content: 'fine' }, ...entries]);
    fs.writeFileSync(s.path('a.tar'), archive(dockerArchiveFiles([{ ref: 'example.com/bad:1', layers: [good, bad] }])));
    await t.rejects(unpack(s.path('a.tar'), { store: s.path('store') }), { field: 'archive', message });
    t.same(listing(s.path('store')), before);
    t.throws(() => unpackSync(s.path('a.tar'), { store: s.path('store') }), { message });
    t.same(listing(s.path('store')), before);
  });
}

t.test('a layer whose bytes differ from its diff id is refused; the store is as it was', needsRoot, async (t) => {
  const s = scratch(t);
  const before = storeWithOneImage(s);
  const files = dockerArchiveFiles([{ ref: 'example.com/bad:1', layers: [good] }], { diffIds: [`sha256:${'0'.repeat(64)}`] });
  fs.writeFileSync(s.path('a.tar'), archive(files));
  await t.rejects(unpack(s.path('a.tar'), { store: s.path('store') }), { field: 'archive', message: /digest does not match/ });
  t.same(listing(s.path('store')), before);
});

t.test('an OCI blob that does not match its digest is refused; the store is as it was', needsRoot, async (t) => {
  const s = scratch(t);
  const before = storeWithOneImage(s);
  const layer = tar([{ name: 'x', content: 'x' }]);
  let spoiled = false;
  const files = ociLayoutFiles([{ ref: 'example.com/bad:1', layers: [layer] }], {
    blob: (_hex, bytes) => {
      // The first blob is the gzip'd layer: one byte of its gzip header's mtime changed keeps it readable.
      if (spoiled) return bytes;
      spoiled = true;
      const copy = Buffer.from(bytes);
      copy[4] ^= 1;
      return copy;
    },
  });
  fs.writeFileSync(s.path('a.tar'), archive(files));
  await t.rejects(unpack(s.path('a.tar'), { store: s.path('store') }), { field: 'archive', message: /blob 'blobs\/sha256\/[0-9a-f]{64}' \(layer 0 of manifest 0 of index.json\) has digest .*the digest does not match/ });
  t.same(listing(s.path('store')), before);
});

/** What this process holds open beneath `dir`. */
function openBeneath(dir: string): string[] {
  const held = fs.readdirSync('/proc/self/fd').map((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return '';
    }
  });
  return held.filter((target) => target.startsWith(`${dir}/`));
}

for (const form of ['docker-archive', 'oci-archive'] as const) {
  t.test(`${form}: a truncated stream is refused at any cut; the store is as it was; the whole one then unpacks`, needsRoot, async (t) => {
    const s = scratch(t);
    const before = storeWithOneImage(s);
    const layers = [good, tar([{ name: 'big', content: randomBytes(3_000_000) }])];
    const whole = archive(form === 'docker-archive' ? dockerArchiveFiles([{ ref: 'example.com/t:1', layers }]) : ociLayoutFiles([{ ref: 'example.com/t:1', layers }]));
    for (const cut of [100, 600, 5000, Math.floor(whole.length / 2), whole.length - 1100, whole.length - 1024 - 512]) {
      fs.writeFileSync(s.path('a.tar'), whole.subarray(0, cut));
      t.throws(() => unpackSync(s.path('a.tar'), { store: s.path('store') }), { field: 'archive', message: /./ }, `cut at ${cut} of ${whole.length}`);
      t.same(listing(s.path('store')), before);
      t.same(openBeneath(s.path('store')), [], `cut at ${cut}: no file of the store left open (the layer's file cut short, its tar-split record)`);
      await t.rejects(unpack(s.path('a.tar'), { store: s.path('store') }), { field: 'archive', message: /./ }, `cut at ${cut}, Promise form`);
      t.same(openBeneath(s.path('store')), [], `cut at ${cut}, Promise form: nothing left open`);
    }
    fs.writeFileSync(s.path('a.tar'), whole);
    t.same((await unpack(s.path('a.tar'), { store: s.path('store') })).refs, ['example.com/t:1']);
  });
}

t.test('not an image archive', needsRoot, async (t) => {
  const s = scratch(t);
  fs.writeFileSync(s.path('a.tar'), tar([{ name: 'hello', content: 'x' }]));
  t.throws(() => unpackSync(s.path('a.tar'), { store: s.path('store') }), { code: 'ENOENT', message: /neither index.json .* nor manifest.json/ });
  fs.writeFileSync(s.path('b.tar'), 'not a tar at all, but long enough to fill one header block'.repeat(20));
  t.throws(() => unpackSync(s.path('b.tar'), { store: s.path('store') }), { code: 'EINVAL', message: /bad checksum/ });
});

t.test('PATH_MAX counts the path a layer has in the store, to the byte', needsRoot, async (t) => {
  const s = scratch(t);
  const storedRoot = Buffer.byteLength(`${s.path('store')}/layers/${'0'.repeat(64)}`);
  // A name of exactly `length` bytes, in parts of at most 200.
  const nameOf = (length: number) => {
    const parts: string[] = [];
    for (let left = length; left > 0; left -= 201) parts.push('x'.repeat(Math.min(200, left)));
    return parts.join('/');
  };
  const longest = 4096 - storedRoot - 2; // root, '/', the name and the NUL within PATH_MAX
  const make = (length: number) => (fs.writeFileSync(s.path('a.tar'), archive(dockerArchiveFiles([{ ref: 'example.com/p:1', layers: [tar([{ name: nameOf(length), content: 'x' }])] }]))), s.path('a.tar'));
  t.throws(() => unpackSync(make(longest + 1), { store: s.path('store') }), { code: 'ENAMETOOLONG', message: /past PATH_MAX/ });
  t.same(unpackSync(make(longest), { store: s.path('store') }).refs, ['example.com/p:1'], 'one byte less is stored');
});
