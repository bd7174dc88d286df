// fromOci takes names as bytes: a marker or a directory whose name is not
// UTF-8 is converted under exactly its own bytes, never refused or renamed,
// and the layer's own path may be given as a Buffer.
import * as fs from 'node:fs';
import t from 'tap';
import { fromOci, fromOciSync, mountSync } from '../../lib/index';
import { needsRoot } from '../helpers/layer';
import { needsOverlay, scratch } from '../helpers/scratch';

type Part = string | readonly number[];
const bytes = (...parts: Part[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from([...p]))));
const under = (dir: string | Buffer, ...parts: Part[]) => bytes(typeof dir === 'string' ? dir : [...dir], '/', ...parts);

const CAFE = ['caf', [0xe9]] as const; // 'café' in Latin-1: not UTF-8
const D = ['d', [0xff]] as const;
const E = ['e', [0xfe]] as const;
const G = ['g', [0xfd]] as const;

function names(dir: Buffer): string[] {
  return fs
    .readdirSync(dir, { encoding: 'buffer' })
    .map((n) => n.toString('hex'))
    .sort();
}
const hex = (...parts: Part[]) => bytes(...parts).toString('hex');
const isChardev00 = (p: Buffer) => {
  const st = fs.lstatSync(p);
  return st.isCharacterDevice() && st.rdev === 0;
};

// An OCI layer whose markers and directories have names that are not UTF-8.
function writeLayer(root: string | Buffer): void {
  fs.mkdirSync(root);
  fs.mkdirSync(under(root, 'z'));
  fs.writeFileSync(under(root, 'z/.wh.', ...CAFE), '');
  fs.mkdirSync(under(root, ...D));
  fs.writeFileSync(under(root, ...D, '/.wh..wh..opq'), '');
  fs.writeFileSync(under(root, ...D, '/new'), 'n');
  fs.mkdirSync(under(root, ...E));
  fs.writeFileSync(under(root, ...E, '/.wh.', ...G), '');
  fs.writeFileSync(under(root, ...E, '/h'), 'h');
}

for (const [form, convert] of [
  ['Promise', (d: string | Buffer) => fromOci(d)],
  ['Sync', async (d: string | Buffer) => fromOciSync(d)],
] as const) {
  t.test(`${form}: markers and directories named by bytes that are not UTF-8 are converted under those bytes`, needsRoot, async (t) => {
    const s = scratch(t);
    const root = s.path('oci');
    writeLayer(root);
    await convert(root);
    t.same(names(under(root, 'z')), [hex(...CAFE)], 'z holds the whiteout caf\\351, and no marker');
    t.ok(isChardev00(under(root, 'z/', ...CAFE)), 'a char device 0/0 under exactly the bytes of the marker');
    t.same(names(under(root, ...D)), [hex('new')], 'the opaque marker in d\\377 is gone');
    t.same(names(under(root, ...E)), [hex(...G), hex('h')].sort(), 'e\\376 holds the whiteout g\\375 and h');
    t.ok(isChardev00(under(root, ...E, '/', ...G)), 'g\\375 is a whiteout');
  });

  t.test(`${form}: the layer's own path given as a Buffer that is not UTF-8`, needsRoot, async (t) => {
    const s = scratch(t);
    const root = under(s.dir, 'oci', [0xfa]);
    writeLayer(root);
    await convert(root);
    t.ok(isChardev00(under(root, 'z/', ...CAFE)), 'converted in place');
    t.notOk(fs.existsSync(under(root, 'z/.wh.', ...CAFE)), 'the marker is gone');
  });
}

t.test('mounted over a base, the converted layer hides exactly the entries named by those bytes', needsOverlay, async (t) => {
  const s = scratch(t);
  const [base, target] = s.mkdirs('base', 'm');
  fs.mkdirSync(under(base!, 'z'));
  fs.writeFileSync(under(base!, 'z/', ...CAFE), 'old');
  fs.writeFileSync(under(base!, 'z/cafe'), 'a look-alike that must stay');
  fs.mkdirSync(under(base!, ...D));
  fs.writeFileSync(under(base!, ...D, '/old'), 'o');
  fs.mkdirSync(under(base!, ...E));
  fs.writeFileSync(under(base!, ...E, '/', ...G), 'g');
  fs.writeFileSync(under(base!, ...E, '/other'), 'x');
  const layer = s.path('oci');
  writeLayer(layer);
  fromOciSync(layer);
  const m = mountSync({ lower: [layer, base!], target: target! });
  t.teardown(() => m.unmountSync());
  t.same(names(under(target!, 'z')), [hex('cafe')], 'caf\\351 is hidden, its look-alike is not');
  t.same(names(under(target!, ...D)), [hex('new')], 'd\\377 is opaque: the base\'s old is hidden');
  t.same(names(under(target!, ...E)), [hex('h'), hex('other')], 'g\\375 is hidden in e\\376');
});

t.test('a refusal names an entry that is not UTF-8 with its bytes escaped, and changes nothing', needsRoot, async (t) => {
  const s = scratch(t);
  const root = s.path('oci');
  writeLayer(root);
  fs.writeFileSync(under(root, ...E, '/.wh..wh.', [0xe9]), '');
  await t.rejects(fromOci(root), { code: 'EINVAL', field: '/e\\376/.wh..wh.\\351' });
  t.ok(fs.existsSync(under(root, 'z/.wh.', ...CAFE)), 'nothing was converted');
});

t.test('dir: a Buffer with a NUL, an empty Buffer, a number are refused naming the field', async (t) => {
  t.throws(() => fromOciSync(Buffer.from('/tmp/a\0b')), { code: 'EINVAL', field: 'dir' });
  t.throws(() => fromOciSync(Buffer.alloc(0)), { code: 'EINVAL', field: 'dir' });
  await t.rejects(fromOci(42 as unknown as string), { code: 'ERR_INVALID_ARG_TYPE', field: 'dir' });
});
