// The docs' word on path length (README.md; docs/api.md, `mount`): a path given as a string must fit
// PATH_MAX (4095 bytes and its NUL); up to that a layer mounts whatever the
// mechanism's own limits (fsconfig's 255 bytes, mount(2)'s page), and past it
// the request is refused with ENAMETOOLONG naming the field.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { mountSync } from '../../lib/index';
import { mountsAt } from '../helpers/mounts';
import { needsOverlay, scratch } from '../helpers/scratch';

const PATH_MAX = 4096;

/** `base` extended with 200-byte components to exactly `length` bytes. */
function pathOfLength(base: string, length: number): string {
  let p = base;
  while (p.length < length) p += '/' + 'd'.repeat(Math.min(200, length - p.length - 1));
  return p;
}

t.test('a layer path just under PATH_MAX mounts; one of PATH_MAX bytes is ENAMETOOLONG naming the field', needsOverlay, async (t) => {
  const s = scratch(t);
  const [other, target] = s.mkdirs('other', 'm');
  // 4093 bytes, so that its file 'f' is 4095: the longest name a system call takes.
  const deep = pathOfLength(s.path('deep'), PATH_MAX - 3);
  fs.mkdirSync(deep, { recursive: true });
  fs.writeFileSync(path.join(deep, 'f'), 'deep');
  const m = mountSync({ lower: [deep, other as string], target: target as string });
  t.equal(fs.readFileSync(path.join(target as string, 'f'), 'utf8'), 'deep', `mounted by ${m.mechanism}`);
  m.unmountSync();

  const tooLong = pathOfLength(deep, PATH_MAX);
  t.equal(Buffer.byteLength(tooLong), PATH_MAX);
  t.throws(() => mountSync({ lower: [other as string, tooLong], target: target as string }), { code: 'ENAMETOOLONG', field: 'lower[1]' });
  for (const mechanism of ['fsconfig-path', 'mount'] as const) {
    t.throws(() => mountSync({ lower: [other as string, tooLong], target: target as string, mechanism }), { code: 'ENAMETOOLONG', field: 'lower[1]' }, mechanism);
  }
  t.same(mountsAt(target as string), [], 'nothing mounted');
});
