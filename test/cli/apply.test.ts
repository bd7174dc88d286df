// ovl apply: the plan as a table or JSON, --dry-run, a declaration on stdin,
// usage errors, `ovl ls` naming the stacks apply manages, and the systemd
// unit's own command line run as the unit would run it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { kernelFeatures, mountSync } from '../../lib/index';
import { ovl, OVL, stderrJson } from '../helpers/cli';
import { topMount } from '../helpers/mounts';
import { needsOverlay, scratch, type Scratch } from '../helpers/scratch';

const canReplace = (): boolean => kernelFeatures().moveMountBeneath && kernelFeatures().lowerdirPlus;

function stacks(s: Scratch, count: number, template: string): object {
  return {
    stacks: Array.from({ length: count }, (_, i) => {
      const [upper, work, target] = s.mkdirs(`s${i}/upper`, `s${i}/work`, `s${i}/merged`);
      return { name: `web${i}`, target, lower: [s.path(template)], upper, work };
    }),
  };
}

function top(target: string): string {
  return String(topMount(target)?.mountId ?? '');
}

t.test('apply, again, --dry-run, and an empty declaration from stdin', needsOverlay, async (t) => {
  const s = scratch(t, 'ovl-apply-cli-');
  s.write({ 'v1/version': '1', 'v2/version': '2' });
  const env = { ...process.env, OVL_APPLY_STATE: s.path('state.json') };
  fs.writeFileSync(s.path('v1.json'), JSON.stringify(stacks(s, 3, 'v1')));
  const first = ovl(['apply', s.path('v1.json')], { env });
  t.equal(first.status, 0, first.stderr);
  const lines = first.stdout.trim().split('\n');
  t.match(lines[0], /^NAME +TARGET +ACTION +WHY$/);
  t.match(lines.slice(1), [/^web0 .* mount +not mounted$/, /^web1 .* mount/, /^web2 .* mount/]);
  const ids = [0, 1, 2].map((i) => top(s.path(`s${i}/merged`)));
  t.notOk(ids.includes(''), 'all three mounted');

  const ls = ovl(['ls'], { env });
  t.match(ls.stdout.split('\n')[0], /OPTIONS +APPLY$/);
  t.match(ls.stdout, new RegExp(`${s.path('s1/merged')} .* web1\\n`));
  const lsJson = JSON.parse(ovl(['ls', '--json', s.path('s2/merged')], { env }).stdout) as Array<{ apply: string | null }>;
  t.equal(lsJson[0]?.apply, 'web2');

  fs.writeFileSync(s.path('v2.json'), JSON.stringify(stacks(s, 2, canReplace() ? 'v2' : 'v1')));
  const dry = ovl(['apply', '--dry-run', '--json', s.path('v2.json')], { env });
  t.equal(dry.status, 0, dry.stderr);
  const planned = JSON.parse(dry.stdout) as { dryRun: boolean; actions: Array<{ name: string; action: string }> };
  t.equal(planned.dryRun, true);
  t.same(planned.actions.map((a) => [a.name, a.action]), [['web0', canReplace() ? 'replace' : 'keep'], ['web1', canReplace() ? 'replace' : 'keep'], ['web2', 'unmount']]);
  t.same([0, 1, 2].map((i) => top(s.path(`s${i}/merged`))), ids, 'the dry run changed nothing');

  const second = ovl(['apply', '--json', s.path('v2.json')], { env });
  t.equal(second.status, 0, second.stderr);
  t.same((JSON.parse(second.stdout) as typeof planned).actions.map((a) => a.action), planned.actions.map((a) => a.action), 'did as planned');
  t.equal(top(s.path('s2/merged')), '', 'web2 unmounted');
  if (canReplace()) t.equal(fs.readFileSync(s.path('s0/merged/version'), 'utf8'), '2');

  const none = ovl(['apply', '-'], { env, input: '{"stacks": []}' });
  t.equal(none.status, 0, none.stderr);
  t.match(none.stdout, /web0 .* unmount +no longer declared\n.*web1 .* unmount/);
  t.same([0, 1, 2].map((i) => top(s.path(`s${i}/merged`))), ['', '', ''], 'an empty declaration unmounts everything apply made');
});

t.test('refusals: usage, bad JSON, a broken stack, a foreign overlay in the way', needsOverlay, async (t) => {
  const s = scratch(t, 'ovl-apply-cli-');
  s.write({ 'v1/version': '1' });
  const env = { ...process.env, OVL_APPLY_STATE: s.path('state.json') };
  t.equal(ovl(['apply'], { env }).status, 1);
  const badJson = ovl(['apply', '-'], { env, input: '{"stacks": [' });
  t.equal(badJson.status, 1);
  t.match(badJson.stderr, /^ovl: apply: stdin is not JSON/);
  const declaration = stacks(s, 2, 'v1') as { stacks: Array<Record<string, unknown>> };
  (declaration.stacks[1] as Record<string, unknown>).lower = [s.path('missing')];
  const broken = ovl(['apply', '--json', '-'], { env, input: JSON.stringify(declaration) });
  t.equal(broken.status, 1);
  t.match(stderrJson(broken), { code: 'ENOENT', field: 'stacks[1].lower[0]', message: /stack 'web1'/ });
  t.equal(top(s.path('s0/merged')), '', 'nothing mounted');

  s.mkdirs('other');
  const foreign = mountSync({ lower: [s.path('v1'), s.path('other')], target: s.path('s0/merged') });
  const inTheWay = ovl(['apply', '-'], { env, input: JSON.stringify(stacks(s, 1, 'v1')) });
  t.equal(inTheWay.status, 1);
  t.match(inTheWay.stderr, /stacks\[0\]\.target: .*apply did not make/);
  t.equal(top(s.path('s0/merged')), String(foreign.mountId), 'the foreign overlay stays');
  foreign.unmountSync();
});

t.test("the systemd unit's ExecStart, run as the unit runs it", needsOverlay, async (t) => {
  const s = scratch(t, 'ovl-apply-cli-');
  s.write({ 'v1/version': '1' });
  const unit = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'contrib', 'ovl-apply.service'), 'utf8');
  const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? '';
  const stateEnv = /^Environment=OVL_APPLY_STATE=(.*)$/m.exec(unit)?.[1];
  t.equal(stateEnv, '/run/overlay-native/apply.json', 'the record on /run');
  const [program, ...args] = execStart.split(' ');
  t.equal(program, '/usr/local/bin/ovl');
  t.same(args, ['apply', '/etc/overlay-native/stacks.json']);
  // The same command with this checkout's ovl, this test's declaration and record.
  fs.writeFileSync(s.path('stacks.json'), JSON.stringify(stacks(s, 2, 'v1')));
  const swapped = args.map((a) => (a === '/etc/overlay-native/stacks.json' ? s.path('stacks.json') : a));
  const env = { ...process.env, OVL_APPLY_STATE: s.path('apply.json') };
  const boot = ovl(swapped, { env });
  t.equal(boot.status, 0, boot.stderr);
  t.not(top(s.path('s1/merged')), '', 'mounted at "boot"');
  const reload = ovl(swapped, { env });
  t.match(reload.stdout, /web0 .* keep .*\n.*web1 .* keep/, 'ExecReload (the same command) keeps what is there');
  t.ok(fs.existsSync(OVL));
  ovl(['apply', '-'], { env, input: '{"stacks":[]}' });
});

t.test('messages: --state in a missing directory or a directory, a missing FILE, relative paths from the file', needsOverlay, async (t) => {
  const s = scratch(t, 'ovl-apply-cli-');
  s.write({ 'conf/v1/version': '1', 'conf/s/upper/.keep': '' });
  s.mkdirs('conf/s/work', 'conf/s/merged', 'elsewhere');
  fs.writeFileSync(s.path('conf/stacks.json'), JSON.stringify({ stacks: [{ name: 'rel', target: 's/merged', lower: ['v1'], upper: 's/upper', work: 's/work' }] }));
  const noDir = ovl(['apply', '--json', '--state', s.path('no/such/dir/s.json'), s.path('conf/stacks.json')]);
  t.equal(noDir.status, 1);
  t.match(stderrJson(noDir), { code: 'ENOENT', field: 'state', message: /does not exist/ });
  t.notOk(fs.existsSync(s.path('no')), 'no directory made');
  const isDir = ovl(['apply', '--json', '--state', s.path('elsewhere'), s.path('conf/stacks.json')]);
  t.match(stderrJson(isDir), { code: 'EISDIR', field: 'state' });
  const missing = ovl(['apply', '--json', '--state', s.path('state.json'), s.path('nope.json')]);
  t.equal(missing.status, 1);
  t.match(stderrJson(missing), { code: 'ENOENT', field: 'FILE', path: s.path('nope.json') });
  t.notMatch(missing.stderr, /--help/, 'not a usage error');
  // Run from another directory: the file's relative paths are the file's.
  const r = ovl(['apply', '--state', s.path('state.json'), '../conf/stacks.json'], { cwd: s.path('elsewhere') });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, new RegExp(`rel +${s.path('conf/s/merged')} +mount`));
  t.equal(fs.readFileSync(s.path('conf/s/merged/version'), 'utf8'), '1');
  ovl(['apply', '--state', s.path('state.json'), '-'], { input: '{"stacks":[]}' });
  t.equal(top(s.path('conf/s/merged')), '');
});

t.test('a declaration on stdin is read up to 16 MiB, like --docker -', async (t) => {
  const big = ovl(['apply', '--dry-run', '--json', '-'], { input: Buffer.alloc(16 * 1024 * 1024 + 1, 0x20) });
  t.equal(big.status, 1);
  t.match(stderrJson(big), { code: 'EFBIG', field: 'FILE', message: /more than 16 MiB/ });
});
