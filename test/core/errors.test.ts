import t from 'tap';
import { OverlayError } from '../../lib/index';

t.test('shaped like a Node fs error', async (t) => {
  const err = new OverlayError({ errno: 22, syscall: 'mount', path: '/mnt/x' });
  t.type(err, Error);
  t.equal(err.name, 'OverlayError');
  t.equal(err.code, 'EINVAL');
  t.equal(err.errno, -22);
  t.equal(err.syscall, 'mount');
  t.equal(err.path, '/mnt/x');
  t.equal(err.message, "EINVAL: invalid argument, mount '/mnt/x'");
  t.same(err.detail, []);
  t.notOk(err.beforeKernel);
});

t.test('carries the kernel words in detail and message', async (t) => {
  const err = new OverlayError({
    errno: 22,
    syscall: 'fsconfig',
    subject: 'lowerdir+',
    path: '/l/501',
    field: 'lower[500]',
    detail: ['overlay: too many lower directories, limit is 500'],
  });
  t.equal(err.message, "EINVAL: invalid argument, fsconfig 'lowerdir+' '/l/501' (overlay: too many lower directories, limit is 500)");
  t.same(err.detail, ['overlay: too many lower directories, limit is 500']);
  t.equal(err.field, 'lower[500]');
});

t.test('a check before the kernel names the field and the reason', async (t) => {
  const err = new OverlayError({ errno: 18, field: 'work', reason: 'upper and work must be on the same mount' });
  t.equal(err.code, 'EXDEV');
  t.equal(err.message, 'EXDEV: work: upper and work must be on the same mount');
  t.ok(err.beforeKernel);
});

t.test('an errno Node does not know still gets a message', async (t) => {
  const err = new OverlayError({ errno: 4242, syscall: 'mount' });
  t.equal(err.code, 'E4242');
  t.match(err.message, /unknown error 4242, mount/);
});

t.test('fromMountSyscall and needsPrivilege sort errors as mount(8) exit codes do', async (t) => {
  const refused = new OverlayError({ errno: 22, syscall: 'fsconfig', path: '/t' });
  t.ok(refused.fromMountSyscall);
  t.notOk(refused.needsPrivilege);
  const eperm = new OverlayError({ errno: 1, syscall: 'fsopen' });
  t.ok(eperm.needsPrivilege);
  t.match(eperm.message, /CAP_SYS_ADMIN/, 'the hint is in the message, once');
  t.notOk(new OverlayError({ errno: 1, syscall: 'open', path: '/x' }).needsPrivilege, 'EPERM from open is about the file, not mounting');
  t.notOk(new OverlayError({ errno: 2, syscall: 'open', path: '/x' }).fromMountSyscall);
  t.ok(new OverlayError({ errno: 1, reason: 'mounting needs root' }).needsPrivilege);
});
