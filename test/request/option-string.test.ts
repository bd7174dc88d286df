// mount(8)-style option strings: parse, format, round trip, no injection.
import t from 'tap';
import { escapePath, formatOptions, parseOptions, type ParsedOptions } from '../../lib/index';

t.test('parses the typed options', async (t) => {
  t.same(parseOptions('lowerdir=/a\\:b:/c,upperdir=/u,workdir=/w,index=on'), { lower: ['/a:b', '/c'], upper: '/u', work: '/w', index: true });
  t.same(parseOptions('lowerdir=/l::/d1::/d2,metacopy=on,redirect_dir=on'), {
    lower: ['/l'],
    data: ['/d1', '/d2'],
    metacopy: true,
    redirectDir: 'on',
  });
  t.same(parseOptions('lowerdir+=/a,lowerdir+=/b\\,c,datadir+=/d'), { lower: ['/a', '/b,c'], data: ['/d'] });
  t.same(parseOptions('lowerdir=/a:/b,ro,nosuid,nodev,noexec,noatime'), {
    lower: ['/a', '/b'],
    readOnly: true,
    nosuid: true,
    nodev: true,
    noexec: true,
    atime: 'noatime',
  });
  t.same(parseOptions('userxattr,volatile,default_permissions,override_creds,uuid=null,xino=off,verity=require,fsync=strict,nfs_export=off'), {
    userxattr: true,
    volatile: true,
    defaultPermissions: true,
    overrideCreds: true,
    uuid: 'null',
    xino: 'off',
    verity: 'require',
    fsync: 'strict',
    nfsExport: false,
  });
  t.same(parseOptions('nooverride_creds,rw,suid,dev,exec,strictatime,defaults'), {
    overrideCreds: false,
    readOnly: false,
    nosuid: false,
    nodev: false,
    noexec: false,
    atime: 'strictatime',
  });
  t.same(parseOptions(''), {});
});

t.test('a path never becomes a second option or layer', async (t) => {
  const hostile = ['x,upperdir=/etc', 'a:b', 'c\\', '\\,:', 'with space', 'new\nline', 'a::b', ':', ','];
  for (const path of hostile) {
    const text = formatOptions({ lower: [path, '/other'], upper: path + 'u', work: path + 'w' });
    t.same(parseOptions(text), { lower: [path, '/other'], upper: path + 'u', work: path + 'w' }, JSON.stringify(path));
  }
  t.equal(escapePath('a,b:c\\d'), 'a\\,b\\:c\\\\d');
  t.same(parseOptions('lowerdir=x\\,upperdir=/etc'), { lower: ['x,upperdir=/etc'] });
});

t.test('format then parse round-trips every field', async (t) => {
  const options: ParsedOptions = {
    lower: ['/l1', '/l:2'],
    data: ['/d,1'],
    upper: '/u',
    work: '/w',
    redirectDir: 'on',
    index: false,
    metacopy: true,
    nfsExport: false,
    xino: 'auto',
    uuid: 'off',
    verity: 'on',
    userxattr: true,
    volatile: true,
    defaultPermissions: true,
    overrideCreds: false,
    fsync: 'volatile',
    readOnly: true,
    nosuid: true,
    nodev: true,
    noexec: true,
    atime: 'strictatime',
  };
  t.same(parseOptions(formatOptions(options)), options);
  t.equal(formatOptions({ lower: ['/a'], noatime: true }), 'lowerdir=/a,noatime');
  t.equal(formatOptions({ lower: ['/a'], userxattr: false, readOnly: false }), 'lowerdir=/a');
});

t.test('refusals name the option', async (t) => {
  t.throws(() => parseOptions('lowerdir=/a,bogus=1'), { code: 'EINVAL', field: 'bogus', message: /bogus: unknown option/ });
  t.throws(() => parseOptions('=x'), { code: 'EINVAL', field: 'options', message: /no option name/ });
  t.throws(() => parseOptions('ro=1'), { code: 'EINVAL', field: 'ro', message: /ro: takes no value, got 'ro=1'/ });
  t.throws(() => parseOptions('nosuid=yes'), { field: 'nosuid', message: /takes no value/ });
  t.throws(() => parseOptions('index=maybe'), { field: 'index', message: /index=on/ });
  t.throws(() => parseOptions('xino'), { field: 'xino', message: /'xino=on'/ });
  t.throws(() => parseOptions('userxattr=1'), { field: 'userxattr', message: /takes no value/ });
  t.throws(() => parseOptions('upperdir='), { field: 'upperdir', message: /needs a value/ });
  t.throws(() => parseOptions('lowerdir=/a:::/b'), { field: 'lowerdir', message: /empty layer/ });
  t.throws(() => parseOptions('lowerdir=:/a'), { field: 'lowerdir', message: /empty layer/ });
  t.throws(() => parseOptions('lowerdir=/a,lowerdir=/b'), { field: 'lowerdir', message: /more than once/ });
  // One rule for a repeated key: every overlay option and label once, whatever the values.
  for (const [text, field] of [
    ['lowerdir=/a,upperdir=/u,workdir=/w,upperdir=/v', 'upperdir'],
    ['lowerdir=/a,upperdir=/u,workdir=/w,workdir=/w', 'workdir'],
    ['lowerdir=/a,index=on,index=off', 'index'],
    ['lowerdir=/a,userxattr,userxattr', 'userxattr'],
    ['lowerdir=/a,override_creds,nooverride_creds', 'nooverride_creds'],
    ['lowerdir=/a,context=a,context=b', 'context'],
  ] as const) {
    t.throws(() => parseOptions(text), { code: 'EINVAL', field, message: /given more than once/ }, text);
  }
  // lowerdir+ and datadir+ repeat by design, in the order the kernel takes them.
  t.same(parseOptions('lowerdir+=/a,lowerdir+=/b,datadir+=/d,datadir+=/e'), { lower: ['/a', '/b'], data: ['/d', '/e'] });
  t.throws(() => parseOptions('lowerdir=/a,lowerdir+=/b'), { field: 'lowerdir+', message: /cannot follow lowerdir=/ });
  t.throws(() => parseOptions('datadir+=/d,lowerdir+=/b'), { field: 'lowerdir+', message: /nor lowerdir\+ follow datadir\+/ });
  t.throws(() => parseOptions('lowerdir=/a,datadir+=/d'), { code: 'EINVAL', field: 'datadir+' });
  t.throws(() => parseOptions('lowerdir+=/b,lowerdir=/a'), { field: 'lowerdir', message: /cannot be mixed/ });
  // The mount flags are mount(8)'s words for one bit: the last wins, as mount(8) reads them.
  t.same(parseOptions('ro,rw,ro'), { readOnly: true });
  t.same(parseOptions('noatime,relatime'), { atime: 'relatime' });
  t.throws(() => parseOptions(42 as unknown as string), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', field: 'options', message: /got the number 42/ });
});
