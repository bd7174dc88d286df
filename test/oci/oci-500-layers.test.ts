// An image of 500 layers, the mount engine's limit, unpacked from a
// docker-archive and mounted by reference: every layer in its place (the top
// one wins, a whiteout in the top hides the bottom's file), in both forms;
// one layer more is refused before the kernel, naming the field.
import * as fs from 'node:fs';
import t from 'tap';
import { MAX_LAYERS, mount, mountSync, unpack } from '../../lib/index';
import { archive, dockerArchiveFiles } from './builders/image-archives';
import { mountsAt, unmountAtEnd } from '../helpers/mounts';
import { needsOverlay, scratch } from '../helpers/scratch';
import { tar } from './builders/tar-writer';

const REF = 'example.com/tall:500';
const OVER = 'example.com/tall:501';

/** Layer i (0 is the bottom) holds `own/i` and `f` saying i; the top one also removes `own/0`. */
function layers(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const entries = [{ name: `own/${i}`, content: String(i) }, { name: 'f', content: String(i) }];
    if (i === count - 1) entries.push({ name: 'own/.wh.0', content: '' });
    return tar(entries);
  });
}

t.test('500 layers by reference: unpacked once, mounted in order; 501 refused naming lower', needsOverlay, async (t) => {
  t.equal(MAX_LAYERS, 500);
  const s = scratch(t);
  const tall = layers(MAX_LAYERS);
  fs.writeFileSync(s.path('tall.tar'), archive(dockerArchiveFiles([{ ref: REF, layers: tall }, { ref: OVER, layers: [...tall, tar([{ name: 'g', content: 'one more' }])] }])));
  const store = s.path('store');
  const unpacked = await unpack(s.path('tall.tar'), { store });
  t.same([...unpacked.refs].sort(), [REF, OVER].sort());
  t.equal(unpacked.layers.length, MAX_LAYERS + 1, 'each distinct layer stored once');

  const [target, sync] = s.mkdirs('m', 'sync');
  unmountAtEnd(t, await mount({ lower: [{ oci: store, ref: REF }], target: target! }));
  t.equal(fs.readFileSync(`${target}/f`, 'utf8'), String(MAX_LAYERS - 1), 'the top layer wins');
  const own = fs.readdirSync(`${target}/own`);
  t.equal(own.length, MAX_LAYERS - 1, 'every layer but the whited-out bottom one shows');
  t.notOk(own.includes('0'), "the top layer's whiteout hides the bottom's file");
  t.equal(fs.readFileSync(`${target}/own/1`, 'utf8'), '1');
  unmountAtEnd(t, mountSync({ lower: [{ oci: store, ref: REF }], target: sync! }));
  t.equal(fs.readFileSync(`${sync}/own/250`, 'utf8'), '250');

  const [refused] = s.mkdirs('refused');
  t.throws(() => mountSync({ lower: [{ oci: store, ref: OVER }], target: refused! }), { code: 'EINVAL', field: 'lower', message: /501 layers, but the kernel stacks at most 500/ });
  t.same(mountsAt(refused!), [], 'nothing mounted');
});
