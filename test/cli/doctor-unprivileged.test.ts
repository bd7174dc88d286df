// ovl doctor as nobody: what it could not probe without CAP_SYS_ADMIN says
// "not probed" and why, never that the kernel or the filesystem lacks it.
import * as fs from 'node:fs';
import t from 'tap';
import { mountSync } from '../../lib/index';
import { ovlThrough } from '../helpers/cli';
import { mountTmpfs } from '../helpers/filesystems';
import { unmountAtEnd } from '../helpers/mounts';
import { needsOverlay, scratch } from '../helpers/scratch';
import { setprivMissing } from '../helpers/env';

const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all'];

interface Finding {
  id: string;
  status: string;
  summary: string;
  meaning: string;
}

t.test('as nobody on its own tmpfs directories: not probed, never "lacks"', { skip: needsOverlay.skip || setprivMissing() }, async (t) => {
  const s = scratch(t);
  fs.chmodSync(s.dir, 0o755);
  mountTmpfs(s, 'tmp');
  const [upper, work] = s.mkdirs('tmp/upper', 'tmp/work');
  for (const d of [upper!, work!]) fs.chownSync(d, 65534, 65534);
  const { NODE_V8_COVERAGE: _c, ...env } = process.env;
  const text = ovlThrough(AS_NOBODY, ['doctor', '--upper', upper!, '--work', work!], { env, cwd: '/' });
  t.notMatch(text.stdout, /before 6\.5|before 6\.8|before 6\.13|cannot be opened with fsopen/, 'no claim that the kernel is old');
  t.match(text.stdout, /^info MOVE_MOUNT_BENEATH: not probed \(probing needs root, or CAP_SYS_ADMIN\)$/m);
  t.match(text.stdout, /^info trusted\.overlay\.\* xattrs: not probed \(setting them needs CAP_SYS_ADMIN/m);
  const json = ovlThrough(AS_NOBODY, ['doctor', '--json', '--upper', upper!, '--work', work!], { env, cwd: '/' });
  const result = JSON.parse(json.stdout) as { findings: Finding[]; kernel: { probed: boolean } };
  t.equal(result.kernel.probed, false);
  const byId = new Map(result.findings.map((f) => [f.id, f]));
  for (const id of ['kernel-new-mount-api', 'kernel-lowerdir-plus', 'kernel-layer-fd', 'kernel-move-mount-beneath']) {
    t.match(byId.get(id), { status: 'info', summary: /not probed/, meaning: /root, or CAP_SYS_ADMIN/ }, id);
  }
  t.match(byId.get('xattr-trusted'), { status: 'info', summary: /not probed/ });
  // What nobody could try on its own directories is a fact about the filesystem: told as such.
  for (const id of ['d-type', 'tmpfile', 'rename-whiteout']) t.match(byId.get(id), { status: 'ok' }, id);
  // tmpfs keeps user.* xattrs from 6.6: before, the refusal is the filesystem's (EOPNOTSUPP, which Node names ENOTSUP), not the caller's.
  t.match(byId.get('xattr-user'), { summary: /^user\.overlay\.\* xattrs (work too|cannot be set \((EOPNOTSUPP|ENOTSUP)\))$/ });
  t.same(fs.readdirSync(work!), [], 'the probes left nothing');
});

t.test("as nobody, a mounted overlay's upper it may not look at: in use or not is not known, and said so", { skip: needsOverlay.skip || setprivMissing() }, async (t) => {
  const s = scratch(t);
  fs.chmodSync(s.dir, 0o755);
  const [lower, upper, work, merged] = s.mkdirs('private/lower', 'private/upper', 'private/work', 'private/merged');
  fs.chmodSync(s.path('private'), 0o700);
  unmountAtEnd(t, mountSync({ lower: [lower!], upper: upper!, work: work!, target: merged! }));
  const [mine, mineWork] = s.mkdirs('mine/upper', 'mine/work');
  for (const d of [mine!, mineWork!]) fs.chownSync(d, 65534, 65534);
  const { NODE_V8_COVERAGE: _c, ...env } = process.env;
  const json = ovlThrough(AS_NOBODY, ['doctor', '--json', '--upper', mine!, '--work', mineWork!], { env, cwd: '/' });
  const result = JSON.parse(json.stdout) as { findings: Finding[] };
  for (const id of ['upper-in-use', 'work-in-use']) {
    t.match(result.findings.find((f) => f.id === id), { status: 'info', summary: new RegExp(`not fully probed .*'${upper}'`) }, id);
  }
  const asRoot = JSON.parse(ovlThrough([], ['doctor', '--json', '--upper', mine!, '--work', mineWork!]).stdout) as { findings: Finding[] };
  t.match(asRoot.findings.find((f) => f.id === 'upper-in-use'), { status: 'ok' }, 'root looks at it: not in use');
});
