// LSM labels (context=, fscontext=, defcontext=, rootcontext=): read from an
// option string as mount(8) reads them (quoted when they hold ','), checked,
// and passed to the kernel, whose answer reaches the caller. This kernel runs
// no LSM that takes them, so overlay's own parser refuses them: that refusal,
// not a silent drop, is what a caller must hear.
import * as fs from 'node:fs';
import t from 'tap';
import { formatOptions, kernelFeatures, mountSync, parseOptions, type MechanismName } from '../../lib/index';
import { mountsAt } from '../helpers/mounts';
import { needsOverlay, scratch } from '../helpers/scratch';

const LABEL = 'system_u:object_r:container_file_t:s0:c1,c2';
const selinux = fs.existsSync('/sys/fs/selinux/enforce');
const needsNoLsm = { skip: needsOverlay.skip || (selinux && 'SELinux is active here: it takes the labels instead of refusing them') };

t.test('parseOptions reads labels, quoted or bare; formatOptions writes them back quoted', async (t) => {
  t.same(parseOptions(`lowerdir=/a,context="${LABEL}",ro`), { lower: ['/a'], context: LABEL, readOnly: true });
  t.same(parseOptions('fscontext=system_u:object_r:fs_t:s0,defcontext="u:r:t:s0",rootcontext=u:r:root_t:s0'), {
    fscontext: 'system_u:object_r:fs_t:s0',
    defcontext: 'u:r:t:s0',
    rootcontext: 'u:r:root_t:s0',
  });
  const options = { lower: ['/a,b', '/c"d'], context: LABEL, rootcontext: 'u:r:t:s0' };
  t.equal(formatOptions(options), `lowerdir=/a\\,b:/c"d,context="${LABEL}",rootcontext="u:r:t:s0"`);
  t.same(parseOptions(formatOptions(options)), options, 'format then parse: the same options');
  t.same(parseOptions('lowerdir=/x"y,upperdir=/u,workdir=/w'), { lower: ['/x"y'], upper: '/u', work: '/w' }, 'a quote in a path is an ordinary character');
  t.throws(() => parseOptions('context="a:b,ro'), { code: 'EINVAL', field: 'context', message: /quote .* not closed/ });
  t.throws(() => parseOptions('context='), { code: 'EINVAL', field: 'context' });
  t.throws(() => parseOptions(`context=a:b:c:s0:c1,c2`), { code: 'EINVAL', field: 'c2', message: /unknown option/ }, 'unquoted, a comma splits');
});

t.test('labels are checked before the kernel, naming the field', async (t) => {
  const base = { lower: ['/a', '/b'], target: '/m' };
  t.throws(() => mountSync({ ...base, context: '' }), { code: 'EINVAL', field: 'context' });
  t.throws(() => mountSync({ ...base, fscontext: 'a"b' }), { code: 'EINVAL', field: 'fscontext', message: /double quote/ });
  t.throws(() => mountSync({ ...base, rootcontext: 7 as unknown as string }), { code: 'ERR_INVALID_ARG_TYPE', field: 'rootcontext' });
});

const k = kernelFeatures();
const unsupported: Record<string, string | false> = {
  'fsconfig-fd': !k.layerFd && 'no layers by fd (6.13+)',
  'fsconfig-path': !k.lowerdirPlus && 'no lowerdir+ (6.8+)',
  mount: false,
};

for (const mechanism of ['fsconfig-fd', 'fsconfig-path', 'mount'] as MechanismName[]) {
  t.test(`${mechanism}: the labels reach the kernel, and its refusal reaches the caller`, { skip: needsNoLsm.skip || unsupported[mechanism] || false }, async (t) => {
    const s = scratch(t);
    const [a, b, target] = s.mkdirs('a', 'b', 'm');
    for (const key of ['context', 'fscontext', 'defcontext', 'rootcontext'] as const) {
      const request = { lower: [a as string, b as string], target: target as string, mechanism, [key]: LABEL };
      if (mechanism === 'mount') {
        // mount(2) leaves the reason in the kernel log; the call fails all the same.
        t.throws(() => mountSync(request), { code: 'EINVAL', syscall: 'mount' }, key);
      } else {
        t.throws(() => mountSync(request), { code: 'EINVAL', syscall: 'fsconfig', field: key, detail: [`overlay: Unknown parameter '${key}'`] }, key);
      }
      t.same(mountsAt(target as string), [], 'nothing mounted');
    }
  });
}
