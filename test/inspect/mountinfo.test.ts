// parseMountinfo on crafted mountinfo text, and listMounts on real mounts made
// through every mechanism, with paths no string format should be able to break.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { kernelFeatures, listMounts, listMountsSync, mountSync, parseMountinfo, type MechanismName } from '../../lib/index';
import { unmountAtEnd } from '../helpers/mounts';
import { needsOverlay, scratch } from '../helpers/scratch';

const ROOT_LINE = '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw';

function line(id: number, target: string, superOptions: string, optional = 'shared:7'): string {
  return `${id} 22 0:45 / ${target} rw,nosuid,relatime ${optional} - overlay overlay ${superOptions}`;
}

t.test('the legacy lowerdir= form: octal escapes, then the kernel’s backslash escapes', async (t) => {
  const text = [
    ROOT_LINE,
    line(
      40,
      '/mnt/my\\040merged\\012dir',
      'rw,lowerdir=/a/l\\134\\0541:/a/l\\134:2:/a/sp\\040ace:/a/ta\\011b:/a/new\\012line:/a/back\\134\\134slash::/a/da\\134:ta' +
        ',upperdir=/a/up\\134\\054per\\134:x,workdir=/a/wo\\040rk\\134\\134,redirect_dir=on,metacopy=on',
    ),
    '',
  ].join('\n');
  const [m, ...rest] = parseMountinfo(text);
  t.same(rest, [], 'the ext4 root is skipped');
  t.match(m, {
    mountId: 40,
    parentId: 22,
    target: '/mnt/my merged\ndir',
    root: '/',
    source: 'overlay',
    lower: ['/a/l,1', '/a/l:2', '/a/sp ace', '/a/ta\tb', '/a/new\nline', '/a/back\\slash'],
    data: ['/a/da:ta'],
    upper: '/a/up,per:x',
    work: '/a/wo rk\\',
    options: ['rw', 'redirect_dir=on', 'metacopy=on'],
    mountOptions: ['rw', 'nosuid', 'relatime'],
    notes: [],
  });
});

t.test('the lowerdir+= form: one literal entry per layer, ":" plain or as \\072', async (t) => {
  const text = line(
    41,
    '/m',
    'rw,lowerdir+=/a/l\\0541,lowerdir+=/a/l:2,lowerdir+=/a/c\\072olon,lowerdir+=/a/back\\134slash,lowerdir+=/a/eq=x' +
      ',datadir+=/d/one,datadir+=/d/t\\011wo,upperdir=/u/trail\\134,workdir=/w/a\\134:b,uuid=on',
  );
  const [m] = parseMountinfo(text);
  t.match(m, {
    lower: ['/a/l,1', '/a/l:2', '/a/c:olon', '/a/back\\slash', '/a/eq=x'],
    data: ['/d/one', '/d/t\two'],
    upper: '/u/trail\\',
    work: '/w/a\\:b',
    options: ['rw', 'uuid=on'],
    notes: [],
  });
});

t.test('no upper, several optional fields, a bind-mounted subtree', async (t) => {
  const text = `51 22 0:46 /sub /bound ro,relatime shared:3 master:2 propagate_from:1 - overlay none ro,lowerdir=/a:/b`;
  const [m] = parseMountinfo(text);
  t.match(m, { target: '/bound', root: '/sub', source: 'none', lower: ['/a', '/b'], data: [], options: ['ro'], mountOptions: ['ro', 'relatime'] });
  t.notOk('upper' in m, 'no upper key without an upper');
  t.notOk('work' in m);
  const [none] = parseMountinfo(line(52, '/m', 'rw,lowerdir=/a:/b', ''));
  const [shared] = parseMountinfo(line(52, '/m', 'rw,lowerdir=/a:/b'));
  t.same({ ...none, propagation: 'shared', peerGroup: 7 }, shared, 'no optional fields: the same but for propagation');
});

t.test('propagation from the optional fields, as findmnt names it', async (t) => {
  const cases: Array<[string, Record<string, unknown>, string[]]> = [
    ['', { propagation: 'private' }, ['peerGroup', 'master']],
    ['shared:7', { propagation: 'shared', peerGroup: 7 }, ['master']],
    ['master:2', { propagation: 'slave', master: 2 }, ['peerGroup']],
    ['shared:1 master:2', { propagation: 'slave', peerGroup: 1, master: 2 }, []],
    ['shared:3 master:2 propagate_from:1', { propagation: 'slave', peerGroup: 3, master: 2 }, []],
    ['unbindable', { propagation: 'unbindable' }, ['peerGroup', 'master']],
  ];
  for (const [optional, expected, absent] of cases) {
    const [m] = parseMountinfo(line(60, '/m', 'rw,lowerdir=/a:/b', optional));
    t.match(m, expected, `'${optional}'`);
    for (const key of absent) t.notOk(key in (m as object), `'${optional}': no ${key}`);
  }
});

t.test('names that are not paths are flagged, not passed off as paths', async (t) => {
  const [byFdName] = parseMountinfo(line(60, '/m', 'rw,lowerdir=/proc/self/fd/18:/real,upperdir=/proc/1234/fd/20,workdir=/proc/thread-self/fd/21'));
  t.same(byFdName?.lower, ['/proc/self/fd/18', '/real'], 'the names are kept as shown');
  t.same(
    byFdName?.notes.map((n) => [n.field, n.name, n.kind]),
    [
      ['lower[0]', '/proc/self/fd/18', 'fd-name'],
      ['upper', '/proc/1234/fd/20', 'fd-name'],
      ['work', '/proc/thread-self/fd/21', 'fd-name'],
    ],
  );
  const [byNumber] = parseMountinfo(line(61, '/m', 'rw,lowerdir=18:19::20,upperdir=./up,workdir=work'));
  t.same(
    byNumber?.notes.map((n) => [n.field, n.kind]),
    [
      ['lower[0]', 'relative'],
      ['lower[1]', 'relative'],
      ['data[0]', 'relative'],
      ['upper', 'relative'],
      ['work', 'relative'],
    ],
  );
  t.match(byNumber?.notes[0]?.note, /fd number/);
  t.notMatch(byNumber?.notes[3]?.note, /fd number/, 'a relative name that is not a number is not called an fd');
  const [procPath] = parseMountinfo(line(62, '/m', 'rw,lowerdir=/proc/self/fdinfo:/proc/self/fd/3x'));
  t.same(procPath?.notes, [], 'only /proc/.../fd/N names are fd names');
});

t.test('UTF-8 names, raw or with escaped bytes', async (t) => {
  const [m] = parseMountinfo(line(70, '/mnt/caf\\303\\251', 'rw,lowerdir=/l/é:/l/日本\\040語,upperdir=/u/ü,workdir=/w'));
  t.equal(m?.target, '/mnt/café');
  t.same(m?.lower, ['/l/é', '/l/日本 語']);
  t.equal(m?.upper, '/u/ü');
});

t.test('empty or foreign text', async (t) => {
  t.same(parseMountinfo(''), []);
  t.same(parseMountinfo(`${ROOT_LINE}\n23 22 0:5 / /proc rw - proc proc rw\n`), []);
  t.throws(() => parseMountinfo(undefined as unknown as string), TypeError);
});

const MECHANISMS: MechanismName[] = ['fsconfig-fd', 'fsconfig-path', 'mount', 'mount-fd-path', 'mount-fd-relative'];
const HOSTILE = ['l,1', 'l:2', 'sp ace', 'ta\tb', 'new\nline', 'back\\slash', 'eq=x,lowerdir=y', 'trail\\', 'café'];

function available(mechanism: MechanismName): boolean {
  const k = kernelFeatures();
  return mechanism === 'fsconfig-fd' ? k.layerFd : mechanism === 'fsconfig-path' ? k.lowerdirPlus : true;
}

for (const mechanism of MECHANISMS) {
  const skip = needsOverlay.skip || (available(mechanism) ? false : `${mechanism} is not available on this kernel`);
  t.test(`listMounts reads back a ${mechanism} mount`, { skip }, async (t) => {
    const s = scratch(t);
    const lower = s.mkdirs(...HOSTILE.map((n) => path.join('lower', n)));
    const [data, upper, work, target] = s.mkdirs('data:1,x', 'up per,:\\', 'wo\nrk', 'merged ,:\\\n\t');
    // Data-only layers came in 6.5, with overlay's own parameter parser.
    const withData = kernelFeatures().overlayParsesParams;
    const dataOptions = withData ? { data: [data as string], metacopy: true, redirectDir: 'on' as const } : {};
    const m = mountSync({ lower, upper, work, target: target as string, mechanism, ...dataOptions });
    unmountAtEnd(t, m);
    const found = listMountsSync({ target: target as string });
    t.equal(found.length, 1, 'one overlay on the target');
    const info = found[0]!;
    t.equal(info.mountId, m.mountId);
    t.equal(info.target, target);
    const expected: Array<[string, string | undefined, string]> = [
      ...lower.map((p, i): [string, string | undefined, string] => [`lower[${i}]`, info.lower[i], p]),
      ...(withData ? [['data[0]', info.data[0], data as string] as [string, string | undefined, string]] : []),
      ['upper', info.upper, upper as string],
      ['work', info.work, work as string],
    ];
    const noted = new Map(info.notes.map((n) => [n.field, n]));
    for (const [field, shown, original] of expected) {
      const note = noted.get(field);
      if (note) t.equal(note.name, shown, `${field}: the note names what mountinfo shows`);
      else t.equal(shown, original, `${field} reads back as the original path`);
    }
    if (mechanism === 'fsconfig-fd' || mechanism === 'mount') t.same(info.notes, [], 'every layer shows its real path');
    if (mechanism === 'mount-fd-path') t.ok(info.notes.every((n) => n.kind === 'fd-name') && info.notes.length === expected.length, 'all fd names');
    if (mechanism === 'mount-fd-relative') t.ok(info.notes.every((n) => n.kind === 'relative') && info.notes.length === expected.length, 'all fd numbers');
    if (mechanism === 'fsconfig-path') {
      const backslashed = expected.filter(([, , original]) => original.includes('\\')).map(([field]) => field);
      t.same([...noted.keys()].sort(), backslashed.sort(), 'only paths holding a backslash go as fd names');
    }
    m.unmountSync();
    t.same(listMountsSync({ target: target as string }), [], 'gone after unmount');
  });
}

t.test('listMounts: all overlays, or the stack on one target, bottom first', needsOverlay, async (t) => {
  const s = scratch(t);
  const [a, b, c, target] = s.mkdirs('a', 'b', 'c', 'merged');
  const bottom = mountSync({ lower: [a as string, b as string], target: target as string });
  const top = mountSync({ lower: [c as string, a as string], target: target as string });
  t.teardown(() => {
    for (const m of [top, bottom]) if (m.mounted) m.unmountSync({ detach: true });
  });
  const stacked = await listMounts({ target: target as string });
  t.same(stacked.map((m) => m.mountId), [bottom.mountId, top.mountId]);
  t.same(stacked.map((m) => m.lower), [[a, b], [c, a]]);
  const all = await listMounts();
  t.ok(all.some((m) => m.mountId === top.mountId), 'listed without a target too');
  fs.symlinkSync(target as string, s.path('link'));
  t.same((await listMounts({ target: s.path('link') })).map((m) => m.mountId), [bottom.mountId, top.mountId], 'a symlink to the target finds it');
  t.same(await listMounts({ target: s.path('missing') }), [], 'nothing on a path that does not exist');
  await t.rejects(listMounts({ target: '' }), TypeError);
  top.unmountSync();
  bottom.unmountSync();
});
