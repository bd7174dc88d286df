// commit() and save() refuse bad input naming the field, before anything is
// written: a target that is not an overlay (a plain directory, a tmpfs), an
// overlay with no upper, a bad reference, an unknown compression; a
// missing store, an unknown or missing format, an image the store lacks, an
// OUT whose directory is missing. Nothing is left behind: no store made, no
// work in tmp/, no archive nor temporary beside it.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { commit, commitSync, mountSync, save, saveSync, type SaveFormat } from '../../lib/index';
import { mountedChangedStack } from './builders/committed-stack';
import { unmountAtEnd } from '../helpers/mounts';
import { needsOverlay, scratch } from '../helpers/scratch';

t.test('commit refuses what is not an overlay with an upper, and bad options', needsOverlay, async (t) => {
  const s = scratch(t);
  const store = s.path('store');
  const [plain, lo1, lo2, ro, tmpfs] = s.mkdirs('plain', 'lo1', 'lo2', 'ro', 'tmpfs');
  await t.rejects(commit(plain, { store, ref: 'a:1' }), { field: 'target', code: 'EINVAL', message: /not a mount point/ });
  t.throws(() => commitSync(plain, { store, ref: 'a:1' }), { field: 'target', code: 'EINVAL' });
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', tmpfs]);
  t.teardown(() => void execFileSync('umount', [tmpfs]));
  await t.rejects(commit(tmpfs, { store, ref: 'a:1' }), { field: 'target', message: /a tmpfs mount, not an overlay/ });
  unmountAtEnd(t, mountSync({ lower: [lo1, lo2], target: ro }));
  await t.rejects(commit(ro, { store, ref: 'a:1' }), { field: 'upper', code: 'EINVAL', message: /no upper layer/ });
  t.throws(() => commitSync(ro, { store, ref: 'a:1' }), { field: 'upper', code: 'EINVAL' });
  t.notOk(fs.existsSync(store), 'no store was made');

  const target = await mountedChangedStack(t, s, store);
  for (const ref of ['', 'Upper/Case:1', 'a:b:c', 'name:-tag', `sha256:${'0'.repeat(64)}`, 'x/../y']) {
    await t.rejects(commit(target, { store, ref }), { field: 'ref', code: 'EINVAL' }, `ref '${ref}'`);
  }
  await t.rejects(commit(target, { store, ref: 7 as unknown as string }), { field: 'ref', code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => commitSync(target, { store, ref: 'a:1', compression: 'lz4' as 'gzip' }), { field: 'compression', code: 'EINVAL' });
  await t.rejects(commit(target, { store, ref: 'a:1', tag: 'x' } as never), /tag/);
  t.same(fs.readdirSync(`${store}/refs`), [encodeURIComponent('example.com/base:1')], 'no ref was added');
  t.same(fs.readdirSync(`${store}/tmp`), [], 'no work left');
});

t.test('save refuses a missing store, an unknown format, an image the store lacks, a bad OUT', needsOverlay, async (t) => {
  const s = scratch(t);
  const store = s.path('store');
  await mountedChangedStack(t, s, store);
  const out = s.path('out.tar');
  await t.rejects(save(s.path('nope'), 'a:1', out, { format: 'oci-archive' }), { field: 'store', code: 'ENOENT' });
  t.throws(() => saveSync(s.path('nope'), 'a:1', out, { format: 'oci-archive' }), { field: 'store', code: 'ENOENT' });
  await t.rejects(save(store, 'example.com/base:1', out, { format: 'tar' as SaveFormat }), { field: 'format', code: 'EINVAL' });
  await t.rejects(save(store, 'example.com/base:1', out, {} as never), { field: 'format', message: /missing/ });
  await t.rejects(save(store, 'example.com/none:1', out, { format: 'oci-archive' }), { field: 'ref', code: 'ENOENT', message: /holds no image/ });
  t.throws(() => saveSync(store, 'BAD', out, { format: 'oci-archive' }), { field: 'ref', code: 'EINVAL' });
  await t.rejects(save(store, 'example.com/base:1', s.path('no-dir', 'out.tar'), { format: 'docker-archive' }), { field: 'out', code: 'ENOENT' });
  t.throws(() => saveSync(store, 'example.com/base:1', new PassThrough() as never, { format: 'oci-archive' }), { field: 'out', code: 'ERR_INVALID_ARG_TYPE' });
  t.same(fs.readdirSync(s.dir).filter((n) => n.includes('out') || n.includes('.ovl-save-')), [], 'no archive, no temporary');
  t.same(fs.readdirSync(`${store}/tmp`), [], 'no work left');
});
