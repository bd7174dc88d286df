// ovl unpack killed (SIGKILL) while a layer is half written: the store holds
// no ref and no layer of it, only the killed run's work in tmp/, which the
// next run removes before it does the whole job.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import t from 'tap';
import { OVL } from '../helpers/cli';
import { nodeCommand } from '../helpers/child-env';
import { archive, dockerArchiveFiles } from './builders/image-archives';
import { needsRoot } from '../helpers/layer';
import { settled } from '../helpers/mounts';
import { scratch } from '../helpers/scratch';
import { tar } from './builders/tar-writer';
import { saveSync, unpackSync } from '../../lib/index';

t.test('ovl unpack killed half way leaves the store as it was; the next run finishes', needsRoot, async (t) => {
  const s = scratch(t);
  const layer = tar(Array.from({ length: 40 }, (_, i) => ({ name: `f${i}`, content: randomBytes(256 * 1024) })));
  const whole = archive(dockerArchiveFiles([{ ref: 'example.com/k:1', layers: [layer] }]));
  // Half the archive now, the rest never: the kill comes while the layer is being written.
  const child = spawn(...nodeCommand([OVL, 'unpack', '--store', s.path('store'), '-']), { stdio: ['pipe', 'ignore', 'ignore'] });
  child.stdin.on('error', () => undefined); // the kill breaks the pipe
  child.stdin.write(whole.subarray(0, whole.length >> 1));
  const writing = () => fs.existsSync(s.path('store/tmp')) && fs.readdirSync(s.path('store/tmp')).some((w) => fs.existsSync(s.path('store/tmp', w, 'layer-0', 'f3')));
  t.ok(await settled(writing), 'the layer is being written');
  const exited = new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  child.kill('SIGKILL');
  t.equal(await exited, 'SIGKILL');
  t.same(fs.readdirSync(s.path('store/refs')), [], 'no ref');
  t.same(fs.readdirSync(s.path('store/layers')), [], 'no layer');
  t.same(fs.readdirSync(s.path('store/tar-split')), [], 'no tar-split record');
  t.equal(fs.readdirSync(s.path('store/tmp')).length, 1, "the killed run's work is left in tmp/");
  fs.writeFileSync(s.path('a.tar'), whole);
  t.same(unpackSync(s.path('a.tar'), { store: s.path('store') }).refs, ['example.com/k:1']);
  t.same(fs.readdirSync(s.path('store/tmp')), [], 'the next run removed it');
  t.equal(fs.readdirSync(s.path('store/layers')).length, 1);
  t.same(fs.readdirSync(s.path('store/tar-split')), fs.readdirSync(s.path('store/layers')), "the layer's record");
});

t.test('killed between a layer\'s record and the layer: the next run stores the layer, and save gives back its tar', needsRoot, async (t) => {
  const s = scratch(t);
  const layer = tar([{ name: 'f', content: 'kept' }]);
  fs.writeFileSync(s.path('a.tar'), archive(dockerArchiveFiles([{ ref: 'example.com/k:1', layers: [layer] }])));
  const store = s.path('store');
  unpackSync(s.path('a.tar'), { store });
  // The state such a kill leaves: the record moved in, the layer not yet, no ref.
  const [hex] = fs.readdirSync(`${store}/layers`);
  fs.rmSync(`${store}/layers/${hex}`, { recursive: true });
  fs.rmSync(`${store}/refs`, { recursive: true });
  const record = fs.readFileSync(`${store}/tar-split/${hex}`);
  t.same(unpackSync(s.path('a.tar'), { store }).layers.map((l) => l.added), [true]);
  t.same(fs.readFileSync(`${store}/tar-split/${hex}`), record, 'the record found there is kept');
  const saved = saveSync(store, 'example.com/k:1', s.path('out.tar'), { format: 'docker-archive' });
  t.same(saved.rewritten, []);
  t.ok(fs.readFileSync(s.path('out.tar')).includes(layer), 'the layer tar as it was');
});
