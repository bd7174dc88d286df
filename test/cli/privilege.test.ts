// Without the privilege to mount: a message that says what is needed, exit 1.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import t from 'tap';
import { ovlThrough, stderrJson } from '../helpers/cli';
import { needsOverlay, scratch } from '../helpers/scratch';
import { mountsBeneath } from '../helpers/mounts';

function cannotRun(command: string[], why: string): string | false {
  try {
    execFileSync(command[0] as string, command.slice(1), { stdio: 'ignore' });
    return false;
  } catch {
    return why;
  }
}

// A bare environment, and `env -u NODE_OPTIONS` because tap's spawn wrapper
// adds its hooks back: they would write where an unprivileged child cannot.
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
const NOBODY = ['env', '-u', 'NODE_OPTIONS', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all'];
const USER_NAMESPACE = ['env', '-u', 'NODE_OPTIONS', 'unshare', '--user', '--map-root-user'];

t.test('as user nobody: mount and umount say root or CAP_SYS_ADMIN is needed, exit 1', { skip: needsOverlay.skip || cannotRun(['setpriv', '--version'], 'setpriv (util-linux) is not installed') }, async (t) => {
  const s = scratch(t);
  fs.chmodSync(s.dir, 0o755);
  const [a, b, upper, work, merged] = s.mkdirs('a', 'b', 'upper', 'work', 'merged') as string[];
  const asNobody = (args: string[]) => ovlThrough(NOBODY, args, { env, cwd: '/' });

  const m = asNobody(['mount', '--lower', a!, '--lower', b!, '--upper', upper!, '--work', work!, merged!]);
  t.equal(m.status, 1);
  t.equal(m.stderr, 'ovl: mount: EPERM: mounting needs root or CAP_SYS_ADMIN, and this process does not have CAP_SYS_ADMIN\n');
  t.match(stderrJson(asNobody(['mount', '--json', '--lower', a!, '--lower', b!, merged!])), { command: 'mount', code: 'EPERM', exitCode: 1 });
  const u = asNobody(['umount', merged!]);
  t.equal(u.status, 1);
  t.match(u.stderr, /^ovl: umount: EPERM: unmounting needs root or CAP_SYS_ADMIN/);
  t.equal(asNobody(['ls', '--json']).status, 0, 'listing needs no privilege');
  t.same(mountsBeneath(s.dir), [], 'nothing mounted');
  t.same(fs.readdirSync(upper!), [], 'nothing written');
});

t.test('CAP_SYS_ADMIN only in a user namespace: the kernel says EPERM, exit 1 with the same hint', { skip: needsOverlay.skip || cannotRun([...USER_NAMESPACE, 'true'], 'no user namespaces here (unshare --user failed)') }, async (t) => {
  const s = scratch(t);
  fs.chmodSync(s.dir, 0o755);
  const [a, b, merged] = s.mkdirs('a', 'b', 'merged') as string[];
  const r = ovlThrough(USER_NAMESPACE, ['mount', '--json', '--lower', a!, '--lower', b!, merged!], { env });
  t.equal(r.status, 1);
  t.match(stderrJson(r), { code: 'EPERM', syscall: String, message: /CAP_SYS_ADMIN/, exitCode: 1 });
  t.same(mountsBeneath(s.dir), [], 'nothing mounted');
});

t.test('as user nobody: doctor and check report the kernel features as not probed, never as an old kernel', { skip: needsOverlay.skip || cannotRun(['setpriv', '--version'], 'setpriv (util-linux) is not installed') }, async (t) => {
  const s = scratch(t);
  fs.chmodSync(s.dir, 0o777);
  const [upper, work] = s.mkdirs('upper', 'work') as string[];
  fs.chmodSync(upper!, 0o777);
  fs.chmodSync(work!, 0o777);
  const asNobody = (args: string[]) => ovlThrough(NOBODY, args, { env, cwd: '/' });
  const json = asNobody(['doctor', '--json', '--upper', upper!, '--work', work!]);
  const result = JSON.parse(json.stdout) as { kernel: { probed: boolean; notProbedReason?: string; fsopenErrno: number }; findings: Array<{ id: string; summary: string }> };
  t.match(result.kernel, { probed: false, notProbedReason: /CAP_SYS_ADMIN/, fsopenErrno: 1 });
  for (const id of ['kernel-new-mount-api', 'kernel-lowerdir-plus', 'kernel-layer-fd', 'kernel-move-mount-beneath']) {
    t.match(result.findings.find((f) => f.id === id), { summary: /not probed/ }, `${id} says it was not probed`);
  }
  const text = asNobody(['doctor', '--upper', upper!, '--work', work!]).stdout;
  t.notMatch(text, /before 6\.(5|8|13)/, 'no claim about the kernel version from a probe that did not run');
  const asRoot = JSON.parse(ovlThrough([], ['doctor', '--json', '--upper', upper!, '--work', work!], {}).stdout) as typeof result;
  t.equal(asRoot.kernel.probed, true, 'as root the probes run');
});
