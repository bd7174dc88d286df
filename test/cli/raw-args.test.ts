// Arguments that are not UTF-8 reach the CLI as their bytes: ovl diff acts on
// the very directory named, as convert does; whiteout refuses rather than act
// on the U+FFFD look-alike Node decoded.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import t from 'tap';
import { OVL } from '../helpers/cli';
import { nodeCommand } from '../helpers/child-env';
import { needsRoot } from '../helpers/layer';
import { scratch } from '../helpers/scratch';

// Runs `ovl ARGS...` through sh, whose printf turns \NNN into raw bytes Node cannot pass itself.
function ovlRaw(args: string): { status: number | null; stdout: string; stderr: string } {
  const [command, nodeArgs] = nodeCommand([OVL]);
  const r = spawnSync('sh', ['-c', `exec "$@" ${args}`, 'sh', command, ...nodeArgs], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('a non-UTF-8 UPPER and --lower are read as their bytes', needsRoot, async (t) => {
  const s = scratch(t);
  const base = s.dir;
  const bytes = (p: string) => Buffer.concat([Buffer.from(base + '/'), Buffer.from(p, 'latin1')]);
  fs.mkdirSync(bytes('up\xe9'));
  fs.mkdirSync(bytes('low\xe9'));
  fs.writeFileSync(Buffer.concat([bytes('up\xe9'), Buffer.from('/f')]), 'x');
  fs.writeFileSync(Buffer.concat([bytes('low\xe9'), Buffer.from('/f')]), 'y');
  // The U+FFFD look-alikes exist too, and must not be what is read.
  s.write({ 'up\uFFFD/other': 'z' });
  const r = ovlRaw(`diff --lower "$(printf '%s/low\\351' '${base}')" "$(printf '%s/up\\351' '${base}')"`);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, 'C /f\n', 'the raw directories, not the look-alike');
  const eq = ovlRaw(`diff --lower="$(printf '%s/low\\351' '${base}')" "$(printf '%s/up\\351' '${base}')"`);
  t.equal(eq.stdout, 'C /f\n', '--lower=VALUE too');
  const typed = ovlRaw(`diff '${base}/up\uFFFD'`);
  t.equal(typed.stdout, 'A /other\n', 'a U+FFFD really typed is itself');
});

t.test('whiteout refuses a name that is not UTF-8', needsRoot, async (t) => {
  const s = scratch(t);
  s.mkdirs('layer');
  const w = ovlRaw(`whiteout "$(printf '%s/layer/x\\377' '${s.dir}')"`);
  t.equal(w.status, 1);
  t.match(w.stderr, /PATH\[0\] '.*x\\377' is not valid UTF-8/);
  t.same(fs.readdirSync(s.path('layer')), [], 'nothing made, under either name');
});

t.test('convert takes SRC and DEST that are not UTF-8 as their exact bytes', needsRoot, async (t) => {
  const s = scratch(t);
  const raw = (p: string) => Buffer.concat([Buffer.from(s.dir + '/'), Buffer.from(p, 'latin1')]);
  fs.mkdirSync(raw('layer\xff'));
  fs.writeFileSync(Buffer.concat([raw('layer\xff'), Buffer.from('/f')]), 'x');
  // The U+FFFD look-alike exists too, and must not be what is read.
  s.write({ 'layer\uFFFD/other': 'z' });
  const c = ovlRaw(`convert --to oci "$(printf '%s/layer\\377' '${s.dir}')" "$(printf '%s/out\\376' '${s.dir}')"`);
  t.equal(c.status, 0, c.stderr);
  t.same(fs.readdirSync(raw('out\xfe')), ['f'], 'DEST made under its bytes, from SRC\'s bytes');
  t.notOk(fs.existsSync(s.path('out\uFFFD')), 'nothing under the look-alike');
  fs.writeFileSync(Buffer.concat([raw('out\xfe'), Buffer.from('/.wh.f')]), '');
  fs.unlinkSync(Buffer.concat([raw('out\xfe'), Buffer.from('/f')]));
  const back = ovlRaw(`convert --to overlay --json "$(printf '%s/out\\376' '${s.dir}')"`);
  t.equal(back.status, 0, back.stderr);
  t.match(JSON.parse(back.stdout), { to: 'overlay', src: /out\\376$/ }, 'the JSON names SRC escaped');
  t.ok(fs.lstatSync(Buffer.concat([raw('out\xfe'), Buffer.from('/f')])).isCharacterDevice(), 'converted in place under its bytes');
});
