// ovl mount --docker: a record shaped as `docker inspect` prints it (overlay2),
// read from a file or from stdin; MergedDir is the target unless one is given.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { ovl } from '../helpers/cli';
import { needsOverlay, scratch, type Scratch } from '../helpers/scratch';

const hex = (i: number) => i.toString(16).padStart(64, '0');

/** Layers laid out as /var/lib/docker/overlay2, and the inspect output naming them. */
function inspectOutput(s: Scratch, layers: number) {
  const root = s.path('docker', 'overlay2');
  const lower: string[] = [];
  for (let i = 0; i < layers; i++) {
    const diff = path.join(root, hex(i), 'diff');
    fs.mkdirSync(diff, { recursive: true });
    fs.writeFileSync(path.join(diff, 'shared'), String(i));
    lower.unshift(diff); // LowerDir lists the top layer first
  }
  const container = path.join(root, hex(999));
  for (const d of ['diff', 'work', 'merged']) fs.mkdirSync(path.join(container, d), { recursive: true });
  const GraphDriver = {
    Data: { LowerDir: lower.join(':'), MergedDir: path.join(container, 'merged'), UpperDir: path.join(container, 'diff'), WorkDir: path.join(container, 'work') },
    Name: 'overlay2',
  };
  return { text: JSON.stringify([{ Id: hex(999), GraphDriver }], null, 2), container };
}

t.test('from a file, onto its MergedDir; writes land in UpperDir', needsOverlay, async (t) => {
  const s = scratch(t);
  const { text, container } = inspectOutput(s, 3);
  fs.writeFileSync(s.path('inspect.json'), text);
  const r = ovl(['mount', '--json', '--docker', s.path('inspect.json')]);
  t.equal(r.status, 0, r.stderr);
  const merged = path.join(container, 'merged');
  t.match(JSON.parse(r.stdout), { target: merged });
  t.equal(fs.readFileSync(path.join(merged, 'shared'), 'utf8'), '2', 'the top layer wins');
  fs.writeFileSync(path.join(merged, 'new'), 'x');
  t.ok(fs.existsSync(path.join(container, 'diff', 'new')));
  t.equal(ovl(['umount', merged]).status, 0);
});

t.test('from stdin, read-only, onto a TARGET given', needsOverlay, async (t) => {
  const s = scratch(t);
  const { text, container } = inspectOutput(s, 2);
  fs.writeFileSync(path.join(container, 'diff', 'shared'), 'upper');
  const [target] = s.mkdirs('view');
  const r = ovl(['mount', '--docker', '-', '--read-only', target as string], { input: text });
  t.equal(r.status, 0, r.stderr);
  t.equal(s.read('view/shared'), 'upper', 'UpperDir is the top lower');
  t.throws(() => fs.writeFileSync(s.path('view/x'), ''), { code: 'EROFS' });
  t.same(fs.readdirSync(path.join(container, 'work')), [], 'WorkDir untouched');
  t.same(fs.readdirSync(path.join(container, 'merged')), [], 'nothing on MergedDir');
  t.equal(ovl(['umount', target as string]).status, 0);
});

t.test('refusals: no target, not JSON, another driver, layer flags mixed in', async (t) => {
  const s = scratch(t);
  const { text } = inspectOutput(s, 2);
  const record = JSON.parse(text) as Array<{ GraphDriver: { Name: string; Data: Record<string, string> } }>;
  delete (record[0] as { GraphDriver: { Data: Record<string, string> } }).GraphDriver.Data.MergedDir;
  const cases: Array<[string[], string, RegExp]> = [
    [['--docker', '-'], JSON.stringify(record), /^ovl: mount: TARGET is missing, and the record names no MergedDir/],
    [['--docker', '-', '/x'], 'not json', /^ovl: mount: --docker: not JSON/],
    [['--docker', '-', '/x'], JSON.stringify({ GraphDriver: { Name: 'btrfs', Data: {} } }), /^ovl: mount: EINVAL: GraphDriver\.Name: .*btrfs/],
    [['--docker', '-', '--lower', '/a', '/x'], text, /--docker takes the layers from the record/],
    [['--docker', s.path('missing.json'), '/x'], '', /--docker: cannot read '.*missing\.json'/],
  ];
  for (const [args, input, message] of cases) {
    const r = ovl(['mount', ...args], { input });
    t.equal(r.status, 1, args.join(' '));
    t.match(r.stderr, message);
  }
});
