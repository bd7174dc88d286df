// ovl seal, ovl mount --sealed and ovl verify, as a user runs them.
import * as fs from 'node:fs';
import t from 'tap';
import { native } from '../../lib/core/native';
import { ovl } from '../helpers/cli';
import { needsImages } from '../helpers/images';
import { makeSealed } from './sealed-images';
import { scratch } from '../helpers/scratch';

t.test('ovl mount --sealed IMAGE --store DIR -r, --json says how; with --digest; then umount', needsImages, async (t) => {
  const s = scratch(t);
  const sealed = makeSealed(s, 'a', { 'etc/hostname': 'sealed\n' });
  const [target] = s.mkdirs('m');
  const digest = `sha256:${native.fsverityDigestSync(sealed.image)}`;
  const r = ovl(['mount', '--sealed', sealed.image, '--store', sealed.store, '--digest', digest, '-r', '--json', target!]);
  t.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { sealed: { metacopy: boolean; layers: Array<{ digest: string }> } };
  t.equal(out.sealed.metacopy, true);
  t.equal(out.sealed.layers[0]?.digest, digest);
  t.equal(fs.readFileSync(`${target}/etc/hostname`, 'utf8'), 'sealed\n');
  t.equal(ovl(['umount', target!]).status, 0);
  const wrong = ovl(['mount', '--sealed', sealed.image, '--store', sealed.store, '--digest', `sha256:${'0'.repeat(64)}`, target!]);
  t.equal(wrong.status, 1);
  t.match(wrong.stderr, /EINVAL: lower\[0\]\.digest: the image's fs-verity digest is sha256:[0-9a-f]{64}, not the sha256:0{64} asked/);
  t.same(fs.readdirSync(target!), [], 'nothing mounted');
});

t.test('ovl mount: --sealed without --store, --store alone, --digest with two images are usage errors', async (t) => {
  t.match(ovl(['mount', '--sealed', '/i', '/x']).stderr, /--sealed needs --store DIR/);
  t.match(ovl(['mount', '--store', '/s', '--lower', '/a', '/x']).stderr, /--store goes with --sealed/);
  const two = ovl(['mount', '--sealed', '/i', '--sealed', '/j', '--store', '/s', '--digest', 'sha256:00', '/x']);
  t.equal(two.status, 1);
  t.match(two.stderr, /--digest names the digest of one --sealed image/);
});

t.test('ovl verify STORE [IMAGE]: exit 0 when whole, 1 naming the changed object and the missing one', needsImages, async (t) => {
  const s = scratch(t);
  const sealed = makeSealed(s, 'a', { a: 'content a', b: 'content b' });
  const whole = ovl(['verify', sealed.store]);
  t.equal(whole.status, 0, whole.stderr);
  t.match(whole.stderr, /2 objects, 0 wrong/);
  const object = `${sealed.store}/${sealed.objects.b}`;
  fs.writeFileSync(object, 'content B');
  const bad = ovl(['verify', sealed.store]);
  t.equal(bad.status, 1);
  t.match(bad.stdout, new RegExp(`^${object}: mismatch \\(content is sha256:[0-9a-f]{64}\\)\\n$`));
  const json = ovl(['verify', '--json', sealed.store]);
  t.equal(json.status, 1);
  t.match(JSON.parse(json.stdout), { ok: false, objects: 2, problems: [{ path: object, reason: 'mismatch' }] });
  fs.rmSync(`${sealed.store}/${sealed.objects.a}`);
  const missing = ovl(['verify', sealed.store, sealed.image]);
  t.equal(missing.status, 1);
  t.match(missing.stdout, `${sealed.store}/${sealed.objects.a}: missing (needed by /a in ${sealed.image})\n`);
  t.match(ovl(['verify']).stderr, /STORE is missing/);
});

t.test('ovl seal SRC IMAGE --store DIR prints the digest; --json the whole result; the image mounts with it', needsImages, async (t) => {
  const s = scratch(t);
  s.write({ 'src/etc/hostname': 'sealed by the CLI\n', 'src/bin/tool': 'x'.repeat(5000) });
  const [store, target] = s.mkdirs('store', 'm');
  const r = ovl(['seal', s.path('src'), s.path('a.img'), '--store', store!]);
  t.equal(r.status, 0, r.stderr);
  const digest = `sha256:${native.fsverityDigestSync(s.path('a.img'))}`;
  t.equal(r.stdout, `${digest}\n`);
  t.match(r.stderr, /2 files, 2 objects added \(5018 bytes\)/);
  const json = ovl(['seal', '--json', s.path('src'), s.path('b.img'), '--store', store!]);
  t.equal(json.status, 0, json.stderr);
  t.same(JSON.parse(json.stdout), { image: s.path('b.img'), store, digest, files: 2, added: 0, addedBytes: 0 });
  t.equal(ovl(['mount', '--sealed', s.path('b.img'), '--store', store!, '--digest', digest, '-r', target!]).status, 0);
  t.teardown(() => {
    if (fs.existsSync(`${target}/etc`)) ovl(['umount', target!]);
  });
  t.equal(fs.readFileSync(`${target}/etc/hostname`, 'utf8'), 'sealed by the CLI\n');
  t.equal(ovl(['umount', target!]).status, 0);
});

t.test('ovl seal: usage errors, and a bad SRC or STORE named, nothing left', needsImages, async (t) => {
  const s = scratch(t);
  const [store] = s.mkdirs('store');
  t.match(ovl(['seal', s.path('x')]).stderr, /SRC and IMAGE are needed/);
  t.match(ovl(['seal', s.path('x'), s.path('i.img')]).stderr, /--store DIR is needed/);
  const missing = ovl(['seal', s.path('nope'), s.path('i.img'), '--store', store!]);
  t.equal(missing.status, 1);
  t.match(missing.stderr, /ENOENT: source: '.*\/nope' does not exist/);
  t.match(ovl(['seal', s.dir, s.path('i.img'), '--store', s.path('none')]).stderr, /ENOENT: store: '.*\/none' does not exist/);
  t.same(fs.readdirSync(s.dir), ['store']);
  t.same(fs.readdirSync(store!), []);
});
