// ovl doctor on filesystems made for the test: tmpfs (all ok, exit 0) and
// ramfs (no xattrs: warnings with their meaning, exit 1).
import t from 'tap';
import { ovl, stderrJson } from '../helpers/cli';
import { mountTmpfs } from '../helpers/filesystems';
import { needsOverlay, scratch, type Scratch } from '../helpers/scratch';

function dirsOn(s: Scratch, fs: string): string[] {
  return ['--lower', ...s.mkdirs('lower'), '--upper', ...s.mkdirs(`${fs}/upper`), '--work', ...s.mkdirs(`${fs}/work`)];
}

t.test('an upper on tmpfs: every finding ok or info, exit 0', needsOverlay, async (t) => {
  const s = scratch(t);
  mountTmpfs(s, 'tmp');
  const args = dirsOn(s, 'tmp');
  const r = ovl(['doctor', ...args]);
  t.equal(r.status, 0, r.stdout + r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  t.ok(lines.length > 3);
  for (const line of lines) t.match(line, /^(ok  |info) \S/, 'STATUS summary, nothing indented');
  const json = ovl(['doctor', '--json', ...args]);
  t.equal(json.status, 0);
  t.match(JSON.parse(json.stdout), { ok: true, findings: Array, upper: { fstype: 'tmpfs' }, work: Object, lower: [Object], probes: Object, kernel: Object });
});

t.test('an upper on ramfs: xattr warnings with what they mean, exit 1', needsOverlay, async (t) => {
  const s = scratch(t);
  mountTmpfs(s, 'ram', 'ramfs');
  const args = dirsOn(s, 'ram');
  const r = ovl(['doctor', ...args]);
  t.equal(r.status, 1);
  t.match(r.stdout, /^warn .*\n {5}.*redirect_dir falls back to nofollow/m, 'the meaning indented under the warning');
  const result = JSON.parse(ovl(['doctor', '--json', ...args]).stdout) as { ok: boolean; findings: Array<{ id: string; status: string }> };
  t.equal(result.ok, false);
  t.match(result.findings.find((f) => f.id === 'xattr-trusted'), { status: 'warn' });
});

t.test('wrong usage: exit 1', async (t) => {
  t.match(ovl(['doctor', '--upper', '/u']).stderr, /^ovl: doctor: --upper and --work are both needed/);
  t.match(ovl(['doctor', '--upper', '/u', '--work', '/w', '/extra']).stderr, /unexpected argument '\/extra'/);
  t.match(stderrJson(ovl(['doctor', '--json', '--bogus'])), { command: 'doctor', code: 'ERR_USAGE', exitCode: 1 });
});
