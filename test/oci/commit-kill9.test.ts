// ovl commit killed (SIGKILL) while it writes the layer: the store's refs
// are as they were and whatever whole layer or blob got in is named by
// nothing; the next commit removes the killed run's work and does the job.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import t from 'tap';
import { commitSync } from '../../lib/index';
import { OVL } from '../helpers/cli';
import { nodeCommand } from '../helpers/child-env';
import { mountedChangedStack } from './builders/committed-stack';
import { settled } from '../helpers/mounts';
import { needsOverlay, scratch } from '../helpers/scratch';

t.test('ovl commit killed half way leaves the refs as they were; the next run finishes', needsOverlay, async (t) => {
  const s = scratch(t);
  const store = s.path('store');
  const target = await mountedChangedStack(t, s, store);
  fs.mkdirSync(`${target}/big`);
  for (let i = 0; i < 120; i++) fs.writeFileSync(`${target}/big/f${i}`, randomBytes(256 * 1024));
  const refsBefore = fs.readdirSync(`${store}/refs`);
  const layersBefore = fs.readdirSync(`${store}/layers`);
  const child = spawn(...nodeCommand([OVL, 'commit', '--store', store, '--ref', 'example.com/k:1', target]), { stdio: 'ignore' });
  const writing = () => fs.existsSync(`${store}/tmp`) && fs.readdirSync(`${store}/tmp`).some((w) => (fs.statSync(`${store}/tmp/${w}/blob-0`, { throwIfNoEntry: false })?.size ?? 0) > 1 << 20);
  t.ok(await settled(writing), 'the layer is being written');
  const exited = new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  child.kill('SIGKILL');
  t.equal(await exited, 'SIGKILL');
  t.same(fs.readdirSync(`${store}/refs`), refsBefore, 'no ref was added');
  t.same(fs.readdirSync(`${store}/layers`), layersBefore, 'no layer got in');
  t.equal(fs.readdirSync(`${store}/tmp`).length, 1, "the killed run's work is left in tmp/");
  const r = commitSync(target, { store, ref: 'example.com/k:1' });
  t.ok(r.base);
  t.same(fs.readdirSync(`${store}/tmp`), [], 'the next run removed it');
  t.equal(fs.readdirSync(`${store}/layers`).length, layersBefore.length + 1);
});
