// The bench in --quick mode still runs end to end and prints JSON lines of
// the promised shape. Checks shape only: timings are never asserted.
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import t from 'tap';
import { whyNoImages } from '../helpers/images';
import { holdSuperblockLock } from '../helpers/superblock-lock';
import { kernelFeatures } from '../../lib/index';
import { needsOverlay } from '../helpers/scratch';
import { nodeCommand } from '../helpers/child-env';

const BENCH = path.join(__dirname, '..', '..', '..', 'bench', 'index.js');

t.test('npm run bench -- --quick --json prints one result object per line', needsOverlay, async (t) => {
  holdSuperblockLock(); // the bench mounts image layers
  const out = execFileSync(...nodeCommand([BENCH, '--quick', '--json']), { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
  const rows = out
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  t.ok(rows.length >= 10, `${rows.length} rows`);
  for (const row of rows) {
    t.type(row.name, 'string');
    t.type(row.opsPerSec, 'number');
    t.type(row.medianUs, 'number');
    t.ok(row.ratioToC === null || typeof row.ratioToC === 'number', `${row.name}: ratioToC is a number or null`);
  }
  const names = rows.map((r) => r.name as string);
  const expectedNames = ['mountSync + unmountSync', 'await mount + await unmount', 'C reference (fsconfig-fd)', 'C reference, each call handed to a worker thread', 'spawn mount(8) + umount(8)'];
  // The live rows, where the kernel can replace (6.5+) and idmap layers (lowerdir+, 6.8+); elsewhere the bench says why it skips them.
  const k = kernelFeatures();
  if (k.moveMountBeneath && k.lowerdirPlus) expectedNames.push('replaceSync', 'await replace', 'C reference, replace');
  if (k.lowerdirPlus) expectedNames.push('idmapped mountSync + unmountSync', 'C reference, idmapped mount+umount');
  if (!whyNoImages()) for (const type of ['erofs', 'squashfs', 'ext4']) expectedNames.push(`1 ${type} images, mountSync+unmountSync`, `1 ${type} images, C reference`);
  for (const expected of expectedNames) {
    t.ok(names.includes(expected), `has "${expected}"`);
  }
  if (k.moveMountBeneath && k.lowerdirPlus) {
    for (const prefix of ['applySync, ', 'await apply, ', 'replaceSync x ', "C reference, apply's system calls"]) t.ok(names.some((n) => n.startsWith(prefix)), `has "${prefix}..."`);
  }
  if (!whyNoImages()) {
    for (const type of ['erofs', 'squashfs', 'ext4']) {
      const prefix = `1 ${type} images, C reference spending the library's user time (`;
      t.ok(names.some((n) => n.startsWith(prefix)), `has "${prefix}..."`);
    }
  }
  t.ok(names.some((n) => n.startsWith('C reference, mknodat')), 'has the whiteout C reference');
  t.ok(names.some((n) => n.startsWith('1 layers, fsconfig-fd')), 'has the layer scaling rows');
  t.ok(names.some((n) => n.includes('Promise mounts in flight')), 'has the event-loop rows');
  for (const name of ['unpackSync of the oci-dir', 'await unpack of the oci-dir', 'gunzip -c piped to tar -x, the layer blob']) t.ok(names.includes(name), `has "${name}"`);
});

t.test('--only runs just the sections named, and refuses a name it does not know', needsOverlay, async (t) => {
  const out = execFileSync(...nodeCommand([BENCH, '--quick', '--json', '--only', 'whiteouts']), { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
  const names = out.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { name: string }).name);
  t.ok(names.some((n) => n.startsWith('C reference, mknodat')), 'the whiteout rows');
  t.notOk(names.includes('mountSync + unmountSync'), 'no mount rows');
  const refused = spawnSync(...nodeCommand([BENCH, '--quick', '--only', 'whiteout,images']), { encoding: 'utf8' });
  t.equal(refused.status, 1);
  t.match(refused.stderr, /unknown: whiteout\b/);
});
