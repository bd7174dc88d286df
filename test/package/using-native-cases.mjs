// The body of using-native.test.mjs: only Node 24 and later can parse this
// module. The library is loaded from its compiled output, as a user loads it.
import * as fs from 'node:fs';
import { mount, mountSync } from '../../dist/lib/index.js';
import { mountsBeneath, needsOverlay, scratch } from '../../dist/test/helpers/scratch.js';

export async function runCases(t) {
  t.test('await using unmounts at the end of the scope, also when the body throws', needsOverlay, async (t) => {
    const s = scratch(t);
    const [a, b, target] = s.mkdirs('a', 'b', 'merged');
    s.write({ 'a/f': 'x' });
    {
      await using m = await mount({ lower: [a, b], target });
      t.equal(s.read('merged/f'), 'x');
      t.same(mountsBeneath(s.dir), [m.target]);
    }
    t.same(mountsBeneath(s.dir), [], 'unmounted');

    await t.rejects(async () => {
      await using m = await mount({ lower: [a, b], target });
      t.ok(m.mounted);
      throw new Error('body failed');
    }, /body failed/);
    t.same(mountsBeneath(s.dir), [], 'unmounted when the body throws');
  });

  t.test('using unmounts synchronously, and a mount unmounted by hand is left alone', needsOverlay, async (t) => {
    const s = scratch(t);
    const [a, b, target] = s.mkdirs('a', 'b', 'merged');
    t.throws(() => {
      using m = mountSync({ lower: [a, b], target });
      t.same(mountsBeneath(s.dir), [m.target]);
      throw new Error('sync body failed');
    }, /sync body failed/);
    t.same(mountsBeneath(s.dir), [], 'unmounted when the body throws');

    {
      using m = mountSync({ lower: [a, b], target });
      m.unmountSync();
      t.notOk(m.mounted, 'unmounted by hand: disposal does nothing more');
    }
    t.same(fs.readdirSync(target), []);
  });

  t.test("Node's own AsyncDisposableStack unmounts stacked mounts in reverse order", needsOverlay, async (t) => {
    const s = scratch(t);
    const [a, b, inner] = s.mkdirs('a', 'b', 'inner');
    s.write({ 'a/sub/f': 'x' });
    const outer = `${inner}/sub`;
    {
      await using stack = new AsyncDisposableStack();
      stack.use(await mount({ lower: [a, b], target: inner }));
      // A second overlay on a directory of the first: it must go first.
      const [c, d] = s.mkdirs('c', 'd');
      stack.use(await mount({ lower: [c, d], target: outer }));
      t.same(mountsBeneath(s.dir).sort(), [inner, outer].sort());
    }
    t.same(mountsBeneath(s.dir), [], 'both unmounted; the parent would have been busy had it gone first');
  });
}
