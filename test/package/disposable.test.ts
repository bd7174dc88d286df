// `await using` / `using` unmount at the end of the scope, also when its body
// throws. TypeScript lowers these (Node 20 cannot parse them), as it does for users.
import * as fs from 'node:fs';
import t from 'tap';
import { mount, mountSync } from '../../lib/index';
import { needsOverlay, scratch } from '../helpers/scratch';
import { mountsBeneath } from '../helpers/mounts';

t.test('await using unmounts at the end of the scope', needsOverlay, async (t) => {
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

t.test('using unmounts synchronously', needsOverlay, async (t) => {
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
