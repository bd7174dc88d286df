// toOci without root says up front what it cannot keep: by default it
// refuses before writing anything, naming the first such entry; with
// `unprivileged: 'report'` it exports and lists each owner or device node
// it could not keep in `skipped`. Run as nobody, all capabilities dropped.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { toOciSync } from '../../lib/index';
import { needsRoot } from '../helpers/layer';
import { scratch, type Scratch } from '../helpers/scratch';
import { setprivMissing } from '../helpers/env';

const lib = path.join(__dirname, '..', '..', 'lib', 'index.js');
const NOBODY = 65534;

const asNobodyHere = { skip: needsRoot.skip || setprivMissing() };

type Outcome = { ok: true; skipped: Array<{ path: string; reason: string }> } | { ok: false; code: string; field: string; message: string };

// Both twins, each in a process of uid/gid 65534 with no capabilities.
function toOciAsNobody(upper: string, dest: string, options: object): Outcome[] {
  const script = `
    const o = require(${JSON.stringify(lib)});
    const out = [];
    const done = (r) => out.push(r);
    const fail = (e) => done({ ok: false, code: e.code, field: e.field, message: e.message });
    try { done({ ok: true, ...o.toOciSync(${JSON.stringify(upper)}, ${JSON.stringify(dest + '-sync')}, ${JSON.stringify(options)}) }); } catch (e) { fail(e); }
    o.toOci(${JSON.stringify(upper)}, ${JSON.stringify(dest + '-promise')}, ${JSON.stringify(options)})
      .then((r) => done({ ok: true, ...r }), fail)
      .then(() => console.log(JSON.stringify(out)));
  `;
  const { NODE_V8_COVERAGE: _c, ...env } = process.env;
  const child = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', process.execPath, '-e', script], { env, cwd: '/' });
  if (child.status !== 0) throw new Error(child.stderr.toString());
  return JSON.parse(child.stdout.toString()) as Outcome[];
}

// An upper nobody can read: its own files, one owned by someone else, a
// setuid file of someone else, a device node. Destinations go in `out`, nobody's.
function writeUpper(s: Scratch): { upper: string; out: string } {
  fs.chmodSync(s.dir, 0o755);
  s.write({ 'upper/a': 'mine', 'upper/b': 'theirs', 'upper/s': 'setuid' });
  const upper = s.path('upper');
  for (const p of ['', 'a']) fs.chownSync(path.join(upper, p), NOBODY, NOBODY);
  fs.chownSync(path.join(upper, 'b'), 1234, 5678);
  fs.chownSync(path.join(upper, 's'), 1234, 5678);
  fs.chmodSync(path.join(upper, 's'), 0o4755);
  execFileSync('mknod', [path.join(upper, 'tty'), 'c', '5', '0']);
  fs.chownSync(path.join(upper, 'tty'), NOBODY, NOBODY);
  const [out] = s.mkdirs('out');
  fs.chownSync(out!, NOBODY, NOBODY);
  return { upper, out: out! };
}

t.test('as nobody, by default: refused before anything is written, naming the first entry and why', asNobodyHere, async (t) => {
  const s = scratch(t);
  const { upper, out } = writeUpper(s);
  for (const r of toOciAsNobody(upper, path.join(out, 'oci'), { userxattr: true })) {
    t.match(r, { ok: false, code: 'EPERM', field: '/b', message: /owned by 1234:5678.*CAP_CHOWN.*nothing was written.*unprivileged: 'report'/ });
  }
  t.same(fs.readdirSync(out), [], 'no DEST, no temporary');
});

t.test("as nobody, unprivileged: 'report': exported, with each owner and device node not kept in skipped", asNobodyHere, async (t) => {
  const s = scratch(t);
  const { upper, out } = writeUpper(s);
  const results = toOciAsNobody(upper, path.join(out, 'oci'), { userxattr: true, unprivileged: 'report' });
  for (const r of results) {
    t.match(r, { ok: true });
    if (!r.ok) continue;
    t.match(
      r.skipped,
      [
        { path: '/b', reason: /owner 1234:5678 not kept .*CAP_CHOWN/ },
        { path: '/s', reason: /owner 1234:5678 not kept .*set-id bits dropped/ },
        { path: '/tty', reason: /character device.*CAP_MKNOD/ },
      ],
      'what was not kept, in tree order',
    );
    t.equal(r.skipped.length, 3, 'and nothing else');
  }
  for (const dest of ['oci-sync', 'oci-promise']) {
    t.same(fs.readdirSync(path.join(out, dest)).sort(), ['a', 'b', 's'], `${dest}: every entry but the device`);
    t.equal(fs.readFileSync(path.join(out, dest, 'b'), 'utf8'), 'theirs', 'contents kept');
    const st = fs.lstatSync(path.join(out, dest, 's'));
    t.same([st.uid, st.mode & 0o7777], [NOBODY, 0o755], 'a setuid file not owned as it was loses its setuid bit');
  }
});

t.test("as nobody: a file it cannot read is refused up front in either mode (EACCES)", asNobodyHere, async (t) => {
  const s = scratch(t);
  const { upper, out } = writeUpper(s);
  fs.writeFileSync(path.join(upper, 'a0'), 'secret', { mode: 0o600 });
  for (const r of toOciAsNobody(upper, path.join(out, 'oci'), { userxattr: true, unprivileged: 'report' })) {
    t.match(r, { ok: false, code: 'EACCES', field: '/a0', message: /cannot read this file/ });
  }
  t.same(fs.readdirSync(out), [], 'nothing written');
});

t.test('unprivileged takes refuse or report, naming the field otherwise', async (t) => {
  t.throws(() => toOciSync('/nonexistent-a', '/nonexistent-b', { unprivileged: 'skip' as 'report' }), { code: 'EINVAL', field: 'unprivileged' });
});
