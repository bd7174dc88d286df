// ovl diff against a real peer: Podman (containers/storage) lists the same
// entries for the same container upper, line for line (names aside: we
// escape as mountinfo does, Podman prints them raw). Needs podman as root;
// `podman import/create/mount/diff` are enough (no `podman run`).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import t from 'tap';
import { ovl } from '../helpers/cli';
import { scratch } from '../helpers/scratch';

function whyNoPodman(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root for podman mount';
  if (spawnSync('podman', ['--version']).status !== 0) return 'podman is not installed (apt-get install podman)';
  return undefined;
}

const podman = (...args: string[]) => execFileSync('podman', args, { encoding: 'utf8', maxBuffer: 64 << 20 }).trim();
const unescape = (line: string) => line.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

t.test('ovl diff lists what podman diff lists', { skip: whyNoPodman() ?? false, timeout: 600_000 }, async (t) => {
  const s = scratch(t);
  const files: Record<string, string> = {};
  for (let d = 0; d < 20; d++) for (let f = 0; f < 20; f++) files[`rootfs/usr/share/d${d}/sub/f${f}`] = `${d}/${f}`;
  Object.assign(files, { 'rootfs/etc/issue': 'Debian', 'rootfs/etc/ssl/certs/a': 'a', 'rootfs/opt/app/x': 'x' });
  s.write(files);
  const image = `localhost/overlay-native-test:${process.pid}`;
  execFileSync('tar', ['-C', s.path('rootfs'), '-cf', s.path('rootfs.tar'), '.']);
  podman('import', s.path('rootfs.tar'), image);
  t.teardown(() => void spawnSync('podman', ['rmi', '-f', image]));
  const id = podman('create', image, '/bin/sh');
  t.teardown(() => void spawnSync('podman', ['rm', '-f', id]));
  const merged = podman('mount', id);
  t.teardown(() => void spawnSync('podman', ['umount', id]));
  const [upper, lower] = podman('inspect', id, '--format', '{{.GraphDriver.Data.UpperDir}} {{.GraphDriver.Data.LowerDir}}').split(' ') as [string, string];
  t.notOk(lower.includes(':'), 'one lower layer');

  // What a package install and a clean-up would do through the container's root.
  fs.appendFileSync(`${merged}/etc/issue`, ' 13');
  fs.rmSync(`${merged}/etc/ssl`, { recursive: true });
  fs.rmSync(`${merged}/usr/share/d3`, { recursive: true });
  fs.mkdirSync(`${merged}/usr/share/d3`);
  fs.writeFileSync(`${merged}/usr/share/d3/again`, 'made again');
  fs.chmodSync(`${merged}/usr/share/d5`, 0o700);
  fs.writeFileSync(`${merged}/usr/share/d7/sub/f1`, 'edited');
  for (let i = 0; i < 50; i++) fs.mkdirSync(`${merged}/opt/app/new${i}/deep`, { recursive: true });
  fs.writeFileSync(`${merged}/opt/app/with space`, 's');

  const theirs = podman('diff', id).split('\n').sort();
  const r = ovl(['diff', '--lower', lower, upper]);
  t.equal(r.status, 0, r.stderr);
  const ours = r.stdout.trim().split('\n').map(unescape).sort();
  t.ok(theirs.length > 100, `${theirs.length} entries`);
  t.same(ours, theirs, 'the same entries, line for line');
});
