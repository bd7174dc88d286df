// toOci takes its paths as bytes too: an upper or a dest whose path is not
// UTF-8 is given as a Buffer and acted on exactly, new or an empty directory.
import * as fs from 'node:fs';
import t from 'tap';
import { toOci, toOciSync } from '../../lib/index';
import { needsRoot } from '../helpers/layer';
import { scratch } from '../helpers/scratch';

const under = (dir: string | Buffer, ...parts: Array<string | number[]>) =>
  Buffer.concat([Buffer.from(dir), ...parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)))]);

for (const [form, convert] of [
  ['Promise', (u: Buffer, d: Buffer) => toOci(u, d)],
  ['Sync', async (u: Buffer, d: Buffer) => toOciSync(u, d)],
] as const) {
  t.test(`${form}: an upper and a new dest named by bytes that are not UTF-8`, needsRoot, async (t) => {
    const s = scratch(t);
    const upper = under(s.dir, '/up', [0xe9]);
    fs.mkdirSync(upper);
    fs.writeFileSync(under(upper, '/f', [0xff]), 'x');
    const dest = under(s.dir, '/out', [0xfe]);
    t.same(await convert(upper, dest), { skipped: [] });
    t.same(fs.readdirSync(dest, { encoding: 'buffer' }), [under('f', [0xff])], 'the name inside kept as bytes');
    t.same(fs.readdirSync(s.dir, { encoding: 'buffer' }).map((n) => n.toString('hex')).sort(), [under('out', [0xfe]), under('up', [0xe9])].map((n) => n.toString('hex')).sort(), 'no temporary left, no look-alike made');
  });

  t.test(`${form}: an empty dest named by bytes keeps its place and gets the upper's metadata`, needsRoot, async (t) => {
    const s = scratch(t);
    const upper = under(s.dir, '/up', [0xe9]);
    fs.mkdirSync(upper, { mode: 0o750 });
    fs.chmodSync(upper, 0o750);
    fs.chownSync(upper, 123, 456);
    fs.writeFileSync(under(upper, '/g'), 'y');
    const dest = under(s.dir, '/empty', [0xfe]);
    fs.mkdirSync(dest);
    await convert(upper, dest);
    t.same(fs.readdirSync(dest), ['g']);
    const st = fs.lstatSync(dest);
    t.same([st.mode & 0o7777, st.uid, st.gid], [0o750, 123, 456], 'owner and mode of the upper');
  });

  t.test(`${form}: a dest inside the upper is refused naming dest, also as bytes`, needsRoot, async (t) => {
    const s = scratch(t);
    const upper = under(s.dir, '/up', [0xe9]);
    fs.mkdirSync(upper);
    await t.rejects(convert(upper, under(upper, '/x/..', '/in', [0xfd])), { code: 'EINVAL', field: 'dest' });
    t.same(fs.readdirSync(upper), [], 'nothing written');
  });
}
