// A hostile tree cannot redirect a write: beneath a root, no symlink is
// followed in any component and resolution never leaves the root. Every case
// runs with openat2 and with the component walk used before 5.6.
import * as fs from 'node:fs';
import t from 'tap';
import { isOpaqueSync, isWhiteoutSync, setOpaqueSync, clearOpaqueSync, whiteoutSync, whiteoutsSync, type Resolver } from '../../lib/index';
import { needsRoot, RESOLVERS, tempsIn } from '../helpers/layer';
import { scratch } from '../helpers/scratch';

const syscallOf: Record<Resolver, string> = { openat2: 'openat2', walk: 'openat' };

for (const resolver of RESOLVERS) {
  t.test(`a symlink on the way is refused, never followed (${resolver})`, needsRoot, async (t) => {
    const s = scratch(t);
    const [root, outside] = s.mkdirs('layer', 'outside', 'outside/sub', 'layer/real');
    fs.symlinkSync(outside, s.path('layer/abs'));
    fs.symlinkSync('real', s.path('layer/rel'));
    fs.symlinkSync('../outside', s.path('layer/up'));
    fs.mkdirSync(s.path('layer/real/deep'));
    fs.symlinkSync(outside, s.path('layer/real/deep/hop'));
    const opts = { root, resolver };
    for (const via of ['abs', 'rel', 'up', 'real/deep/hop']) {
      const component = `'${via}'`;
      const expected = { code: 'ELOOP', syscall: syscallOf[resolver], path: s.path('layer', via, 'sub/x'), field: 'path', message: new RegExp(`${component} in .* is a symlink`) };
      t.throws(() => whiteoutSync(`${via}/sub/x`, opts), expected, `whiteout via ${via}`);
      t.throws(() => whiteoutSync(`${via}/sub/x`, { ...opts, kind: 'xattr', force: true }), { code: 'ELOOP' }, `xattr whiteout via ${via}`);
      t.throws(() => isWhiteoutSync(`${via}/sub/x`, opts), { code: 'ELOOP' }, `isWhiteout via ${via}`);
      t.throws(() => setOpaqueSync(`${via}/sub`, opts), { code: 'ELOOP', field: 'dir' }, `setOpaque via ${via}`);
      t.throws(() => clearOpaqueSync(`${via}/sub`, opts), { code: 'ELOOP' }, `clearOpaque via ${via}`);
      t.throws(() => whiteoutsSync(root, ['real/ok', `${via}/sub/x`], { resolver }), { code: 'ELOOP', index: 1, field: 'paths[1]' }, `whiteouts via ${via}`);
      t.notOk(fs.existsSync(s.path('layer/real/ok')), 'all or nothing: the path before it is not made either');
    }
    t.same(fs.readdirSync(outside), ['sub'], 'nothing was made outside');
    t.same(fs.readdirSync(s.path('outside/sub')), []);
    t.equal(isOpaqueSync(s.path('outside/sub')), false, 'no xattr outside');
    t.equal(isOpaqueSync(outside), false);
    t.same(fs.readdirSync(s.path('layer/real')), ['deep'], 'nor inside the symlinks’ targets');
  });

  t.test(`a symlink as the last component is the entry itself (${resolver})`, needsRoot, async (t) => {
    const s = scratch(t);
    const [root, outside] = s.mkdirs('layer', 'outside');
    s.write({ 'outside/victim': 'safe' });
    fs.symlinkSync(s.path('outside/victim'), s.path('layer/link'));
    fs.symlinkSync(outside, s.path('layer/dirlink'));
    const opts = { root, resolver };
    t.throws(() => whiteoutSync('link', opts), { code: 'EEXIST' });
    t.equal(isWhiteoutSync('link', opts), false, 'a symlink is not a whiteout, whatever it points at');
    t.throws(() => setOpaqueSync('dirlink', opts), { code: 'ELOOP', field: 'dir', message: /symlink/ });
    t.equal(isOpaqueSync(outside), false);
    whiteoutSync('link', { ...opts, force: true });
    t.equal(isWhiteoutSync('link', opts), 'chardev', 'force replaces the symlink itself');
    t.equal(s.read('outside/victim'), 'safe', 'its target is untouched');
    t.same(tempsIn(root), []);
  });

  t.test(`a tree whose a is a symlink to /etc never touches /etc (${resolver})`, needsRoot, async (t) => {
    const s = scratch(t);
    const [root] = s.mkdirs('layer');
    fs.symlinkSync('/etc', s.path('layer/a'));
    const name = `ovl-escape-probe-${process.pid}-${resolver}`;
    // Should a regression ever write into /etc, remove it rather than leave it there.
    t.teardown(() => fs.rmSync(`/etc/${name}`, { force: true }));
    const opaqueBefore = isOpaqueSync('/etc');
    t.throws(() => whiteoutSync(`a/${name}`, { root, resolver }), { code: 'ELOOP' });
    t.throws(() => whiteoutSync(`a/${name}`, { root, resolver, kind: 'xattr', force: true }), { code: 'ELOOP' });
    t.throws(() => whiteoutsSync(root, [`a/${name}`], { resolver }), { code: 'ELOOP', index: 0 });
    t.throws(() => setOpaqueSync('a', { root, resolver }), { code: 'ELOOP' });
    t.notOk(fs.existsSync(`/etc/${name}`), 'no whiteout in /etc');
    t.equal(isOpaqueSync('/etc'), opaqueBefore, 'no xattr on /etc');
  });

  t.test(`'..' and paths outside root are refused (${resolver})`, needsRoot, async (t) => {
    const s = scratch(t);
    const [root] = s.mkdirs('layer', 'layer/d', 'outside');
    const opts = { root, resolver };
    t.throws(() => whiteoutSync('../outside/x', opts), { code: 'EXDEV', field: 'path', message: /'\.\.'/ });
    t.throws(() => whiteoutSync('d/../../outside/x', opts), { code: 'EXDEV' });
    t.throws(() => whiteoutSync('d/../x', opts), { code: 'EXDEV' }, "even a '..' that would stay inside");
    t.throws(() => whiteoutSync(s.path('outside/x'), opts), { code: 'EXDEV', field: 'path', message: /not inside root/ });
    t.throws(() => setOpaqueSync('..', opts), { code: 'EXDEV', field: 'dir' });
    t.throws(() => isWhiteoutSync('/etc/passwd', opts), { code: 'EXDEV' });
    t.same(fs.readdirSync(s.path('outside')), []);
    whiteoutSync(s.path('layer/d/inside'), opts);
    t.equal(isWhiteoutSync('./d//inside/', opts), 'chardev', 'an absolute path inside root, and redundant slashes and dots, are fine');
  });
}

t.test('the root itself may be a symlink: it is the caller’s, not the tree’s', needsRoot, async (t) => {
  const s = scratch(t);
  s.mkdirs('real-layer/d');
  fs.symlinkSync(s.path('real-layer'), s.path('layer-link'));
  whiteoutSync('d/x', { root: s.path('layer-link') });
  t.equal(isWhiteoutSync(s.path('real-layer/d/x')), 'chardev');
});

t.test('without root, symlinks on the way are followed as by any fs call', needsRoot, async (t) => {
  const s = scratch(t);
  s.mkdirs('real');
  fs.symlinkSync(s.path('real'), s.path('link'));
  whiteoutSync(s.path('link/x'));
  t.equal(isWhiteoutSync(s.path('real/x')), 'chardev');
});
