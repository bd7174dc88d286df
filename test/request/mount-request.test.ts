// Requests refused before the kernel: each error names the field at fault.
import t, { type Test } from 'tap';
import { mount, mountSync, MAX_LAYERS, type MountOptions } from '../../lib/index';
import { toNativeRequest, toReplaceRequest } from '../../lib/request/mount-request';

const base = { lower: ['/a', '/b'], target: '/mnt' };

function refused(t: Test, options: unknown, field: string, pattern: RegExp): void {
  t.throws(() => mountSync(options as MountOptions), { field, message: pattern }, `${field}: ${pattern}`);
}

t.test('layers', async (t) => {
  refused(t, { target: '/mnt' }, 'lower', /at least one lower/);
  refused(t, { ...base, lower: [] }, 'lower', /at least one lower/);
  refused(t, { ...base, lower: ['/a'] }, 'lower', /at least 2 lower layers \(data-only layers count\)/);
  refused(t, { ...base, lower: ['/a', ''] }, 'lower[1]', /must not be empty/);
  refused(t, { ...base, lower: ['/a', 'b\0c'] }, 'lower[1]', /NUL/);
  refused(t, { ...base, lower: ['/a', 7] }, 'lower[1]', /must be a path string, got the number 7/);
  refused(t, { ...base, lower: '/a:/b' }, 'lower', /must be an array of paths/);
  const many = Array.from({ length: MAX_LAYERS + 1 }, (_, i) => `/l${i}`);
  refused(t, { ...base, lower: many }, 'lower', /501 layers, but the kernel stacks at most 500/);
  refused(t, { ...base, lower: many.slice(0, 400), data: many.slice(400) }, 'lower', /501 layers/);
  refused(t, { ...base, upper: '/u' }, 'work', /upper and work must be given together/);
  refused(t, { ...base, work: '/w' }, 'upper', /upper and work must be given together/);
  refused(t, { lower: ['/a', '/b'] }, 'target', /must be a path string, got undefined/);
});

t.test('features and flags', async (t) => {
  refused(t, { ...base, index: 'yes' }, 'index', /must be a boolean/);
  refused(t, { ...base, xino: 'maybe' }, 'xino', /must be one of 'on', 'off', 'auto'/);
  refused(t, { ...base, redirectDir: 'sideways' }, 'redirectDir', /must be one of/);
  refused(t, { ...base, readOnly: 1 }, 'readOnly', /must be a boolean/);
  refused(t, { ...base, atime: 'never' }, 'atime', /must be one of 'relatime', 'noatime', 'strictatime'/);
  refused(t, { ...base, noatime: true, atime: 'strictatime' }, 'noatime', /conflicts/);
  refused(t, { ...base, mechanism: 'magic' }, 'mechanism', /must be one of/);
});

t.test("verity: 'off' is the kernel's default and is not sent (6.1 knows no verity= and would refuse it with a bare EINVAL)", async (t) => {
  t.notOk(toNativeRequest({ ...base, verity: 'off' }).options.some(([key]) => key === 'verity'), 'no verity pair for off');
  t.same(toNativeRequest({ ...base, verity: 'require' }).options.filter(([key]) => key === 'verity'), [['verity', 'require']], 'require is sent');
});

t.test('combinations the kernel rejects', async (t) => {
  const rw = { ...base, upper: '/u', work: '/w' };
  refused(t, { ...rw, metacopy: true, redirectDir: 'follow' }, 'metacopy', /needs redirect_dir=on/);
  refused(t, { ...rw, nfsExport: true, index: false }, 'nfsExport', /needs index=on/);
  refused(t, { ...rw, nfsExport: true, metacopy: true }, 'nfsExport', /metacopy=on/);
  refused(t, { ...base, userxattr: true, redirectDir: 'on' }, 'userxattr', /redirect_dir=on/);
  refused(t, { ...base, userxattr: true, redirectDir: 'off' }, 'userxattr', /redirect_dir=off \(only nofollow\)/);
  refused(t, { ...base, userxattr: true, metacopy: true }, 'userxattr', /metacopy=on/);
  refused(t, { ...base, volatile: true }, 'volatile', /needs an upper/);
});

t.test('combinations the kernel takes on some kernels or without an upper go to the kernel', async (t) => {
  // test/inspect/kernel-rules.test.ts puts each to the kernel: these must not be refused before it.
  const passes = (options: object, what: string) => t.doesNotThrow(() => toNativeRequest({ ...base, ...options } as MountOptions), what);
  passes({ metacopy: true, redirectDir: 'follow' }, 'metacopy=on,redirect_dir=follow without an upper');
  passes({ nfsExport: true, index: false }, 'nfs_export=on,index=off without an upper');
  passes({ nfsExport: true, metacopy: true }, 'nfs_export=on,metacopy=on without an upper');
  passes({ verity: 'on', metacopy: false }, 'verity=on,metacopy=off');
  passes({ userxattr: true, verity: 'require' }, 'userxattr,verity=require');
  passes({ lower: ['/a'], data: ['/d'] }, 'one lower and a data layer without an upper (composefs)');
});

t.test('the Promise form rejects instead of throwing', async (t) => {
  const pending = mount({ ...base, lower: [] });
  t.type(pending, Promise);
  await t.rejects(pending, { code: 'EINVAL', field: 'lower' });
});

t.test('options from JSON.parse or a spread read the same as a literal', async (t) => {
  const parsed = JSON.parse('{"__proto__": {"readOnly": "yes", "lower": 7}, "lower": ["/a", "/b"], "target": "/t", "readOnly": true}') as MountOptions;
  t.throws(() => toNativeRequest(parsed), { code: 'EINVAL', field: '__proto__' }, "an own '__proto__' key is refused as an unknown option, never taken as a prototype");
  const base = { lower: ['/a', '/b'], userxattr: true };
  t.same(toNativeRequest({ ...base, target: '/t' }), toNativeRequest({ lower: ['/a', '/b'], userxattr: true, target: '/t' }));
  t.same(toReplaceRequest(base, '/t'), toNativeRequest({ ...base, target: '/t' }), 'the target given apart, as replace does');
});
