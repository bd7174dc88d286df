// toOci against GNU tar on a real tree: a copy of /usr/share/doc plus names
// that are not UTF-8, hard links, device nodes, a fifo, a sparse file and
// set-id bits. An upper without whiteouts written in OCI form is the same
// tree, so `tar --xattrs --numeric-owner --full-time -cvv` lists both alike,
// entry by entry (sorted by name, so hard links point the same way).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import t from 'tap';
import { toOciSync } from '../../lib/index';
// Under test:asan the sanitizer runtimes are preloaded: the shell, tar and dd
// this test runs are not built for them (dd aborts in ASan's aligned_alloc).
import { withoutPreload } from '../helpers/env';
import { needsRoot } from '../helpers/layer';
import { scratch } from '../helpers/scratch';

function tarListing(dir: string): string[] {
  const out = execFileSync('tar', ['--xattrs', '--numeric-owner', '--full-time', '--sort=name', '-cvvf', '/dev/null', '-C', dir, '.'], { maxBuffer: 256 << 20, env: withoutPreload() });
  return out.toString('latin1').trim().split('\n');
}

t.test('toOci writes what GNU tar records, entry by entry', needsRoot, async (t) => {
  const s = scratch(t);
  const upper = s.path('upper');
  execFileSync('cp', ['-a', '/usr/share/doc', upper], { env: withoutPreload() });
  // What the issue asks the proof to include, made with the shell so the bytes are raw.
  execFileSync('sh', ['-c', `cd "$1" && printf x > "$(printf 'caf\\351')" && mkdir "$(printf 'dir\\377')" && printf y > "$(printf 'dir\\377/f\\376')" &&
    printf linked > one && ln one "$(printf 'two\\351')" && ln one again && mknod tty c 4 64 && mknod loop b 7 200 && mkfifo fifo &&
    truncate -s 16M sparse && printf data | dd of=sparse bs=1 seek=8388608 conv=notrunc status=none &&
    chmod 6755 one && mkdir -m 1777 tmp && touch -h -d '2001-02-03 04:05:06.123456789' one tmp tty`, 'sh', upper], { env: withoutPreload() });
  const before = tarListing(upper);
  t.ok(before.length > 100, `${before.length} entries in the tree`);
  const { skipped } = toOciSync(upper, s.path('oci'));
  t.same(skipped, []);
  t.same(tarListing(s.path('oci')), before, 'the same listing: names, types, modes, owners, sizes, times, link targets, devices');
  const bytes = execFileSync('sh', ['-c', 'cd "$1" && ls', 'sh', s.path('oci')], { env: withoutPreload() }).toString('latin1');
  t.match(bytes, /caf\xe9/, 'the raw name is there, byte for byte');
  t.equal(fs.statSync(s.path('oci/one')).ino, fs.statSync(s.path('oci/again')).ino, 'hard links are one inode');
});
