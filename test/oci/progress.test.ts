// Progress: the `progress` callback of unpack, commit and save (bytes and
// layers done, counted up as the work goes, Sync and Promise alike), and the
// CLI's progress line drawn from it: on stderr when it is a terminal (a
// pseudo-terminal from util-linux's script), never on a pipe, never with
// --json. OVERLAY_NATIVE_PROGRESS_AFTER_MS=0 draws it at once, where a user
// sees it only for a run of more than a few seconds.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import t, { type Test } from 'tap';
import { commit, commitSync, save, saveSync, unpack, unpackSync, type OciProgress } from '../../lib/index';
import { archive, dockerArchiveFiles, ociLayoutFiles } from './builders/image-archives';
import { mountedChangedStack } from './builders/committed-stack';
import { OVL } from '../helpers/cli';
import { nodeCommand } from '../helpers/child-env';
import { needsRoot } from '../helpers/layer';
import { needsOverlay, scratch } from '../helpers/scratch';
import { tar } from './builders/tar-writer';

const layers = [0, 1, 2].map((i) => tar([{ name: `l${i}/big`, content: randomBytes(1_500_000) }]));
const NOW = { OVERLAY_NATIVE_PROGRESS_AFTER_MS: '0' };

// Each report's numbers only grow, and the last one holds the totals.
function recorder(): { reports: OciProgress[]; progress: (p: OciProgress) => void } {
  const reports: OciProgress[] = [];
  return { reports, progress: (p) => void reports.push(p) };
}

function checkCounts(t: Test, reports: OciProgress[], bytes: number, layerCount: number, what: string): void {
  t.ok(reports.length > 1, `${what}: reported as it went (${reports.length} reports)`);
  t.ok(reports.every((r, i) => i === 0 || (r.bytes >= reports[i - 1].bytes && r.layers >= reports[i - 1].layers)), `${what}: the counts only grow`);
  t.same(reports.at(-1), { bytes, layers: layerCount }, `${what}: the last report holds the totals`);
}

// The command run with its stdout and stderr on a pseudo-terminal: everything it wrote, as the terminal got it.
function onTerminal(args: string[]): { status: number | null; output: string } {
  const [command, commandArgs] = nodeCommand([OVL, ...args]);
  const quoted = [command, ...commandArgs].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('script', ['-qec', quoted, '/dev/null'], { encoding: 'utf8', env: { ...process.env, ...NOW }, stdio: ['ignore', 'pipe', 'pipe'] });
  return { status: r.status, output: r.stdout };
}

t.test('unpack and unpackSync report archive bytes read and layers unpacked', needsRoot, async (t) => {
  const s = scratch(t);
  fs.writeFileSync(s.path('a.tar'), archive(ociLayoutFiles([{ ref: 'example.com/p:1', layers }])));
  const size = fs.statSync(s.path('a.tar')).size;
  const a = recorder();
  await unpack(s.path('a.tar'), { store: s.path('store'), progress: a.progress });
  checkCounts(t, a.reports, size, 3, 'unpack');
  const b = recorder();
  unpackSync(s.path('a.tar'), { store: s.path('sync'), progress: b.progress });
  checkCounts(t, b.reports, size, 3, 'unpackSync');
  t.throws(() => unpackSync(s.path('a.tar'), { store: s.path('x'), progress: 'yes' as never }), { code: 'ERR_INVALID_ARG_TYPE', field: 'progress' });
  t.notOk(fs.existsSync(s.path('x')), 'a bad option writes nothing');
});

t.test('commit and save report blob and archive bytes written and layers done', needsOverlay, async (t) => {
  const s = scratch(t);
  const store = s.path('store');
  const target = await mountedChangedStack(t, s, store);
  const c = recorder();
  const committed = await commit(target, { store, ref: 'example.com/p:2', progress: c.progress });
  checkCounts(t, c.reports, committed.layer.size, 1, 'commit');
  const cs = recorder();
  const again = commitSync(target, { store, ref: 'example.com/p:3', compression: 'zstd', progress: cs.progress });
  checkCounts(t, cs.reports, again.layer.size, 1, 'commitSync');
  const v = recorder();
  const saved = await save(store, 'example.com/p:2', s.path('o.tar'), { format: 'oci-archive', progress: v.progress });
  checkCounts(t, v.reports, saved.size, 2, 'save');
  const vs = recorder();
  const savedSync = saveSync(store, 'example.com/p:2', s.path('d.tar'), { format: 'docker-archive', progress: vs.progress });
  checkCounts(t, vs.reports, savedSync.size, 2, 'saveSync');
  await t.rejects(commit(target, { store, ref: 'example.com/p:4', progress: 1 as never }), { code: 'ERR_INVALID_ARG_TYPE', field: 'progress' });
});

const LINE = /\r\x1b\[Kovl unpack: \d+\.\d MB read, \d layers? done/;

t.test('ovl unpack draws its progress line on a terminal, and clears it', needsRoot, async (t) => {
  const s = scratch(t);
  fs.writeFileSync(s.path('a.tar'), archive(dockerArchiveFiles([{ ref: 'example.com/p:1', layers }])));
  const r = onTerminal(['unpack', '--store', s.path('store'), s.path('a.tar')]);
  t.equal(r.status, 0, r.output);
  t.match(r.output, LINE, 'the line, drawn in place');
  t.match(r.output, /\r\x1b\[Kexample\.com\/p:1\r?\n$/, 'cleared before the reference is printed');
  const json = onTerminal(['unpack', '--json', '--store', s.path('json'), s.path('a.tar')]);
  t.equal(json.status, 0, json.output);
  t.notMatch(json.output, /ovl unpack:/, 'no line with --json');
  t.same(Object.keys(JSON.parse(json.output)), ['refs', 'layers']);
});

t.test('ovl unpack, commit and save draw nothing on a pipe', needsOverlay, async (t) => {
  const s = scratch(t);
  fs.writeFileSync(s.path('a.tar'), archive(dockerArchiveFiles([{ ref: 'example.com/p:1', layers }])));
  const env = { ...process.env, ...NOW };
  const u = spawnSync(...nodeCommand([OVL, 'unpack', '--store', s.path('store'), s.path('a.tar')]), { encoding: 'utf8', env });
  t.same([u.status, u.stderr, u.stdout], [0, '', 'example.com/p:1\n']);
  const target = await mountedChangedStack(t, s, s.path('cstore'));
  const c = spawnSync(...nodeCommand([OVL, 'commit', '--store', s.path('cstore'), '--ref', 'example.com/p:2', target]), { encoding: 'utf8', env });
  t.same([c.status, c.stderr], [0, '']);
  const v = spawnSync(...nodeCommand([OVL, 'save', '--format', 'oci-archive', `${s.path('cstore')}:example.com/p:2`, s.path('o.tar')]), { encoding: 'utf8', env });
  t.same([v.status, v.stderr, v.stdout], [0, '', '']);
  // The same commit and save on a terminal draw their lines.
  const ct = onTerminal(['commit', '--store', s.path('cstore'), '--ref', 'example.com/p:3', target]);
  t.equal(ct.status, 0, ct.output);
  t.match(ct.output, /\r\x1b\[Kovl commit: \d+\.\d MB written, \d+ layers? done/);
  const vt = onTerminal(['save', '--format', 'docker-archive', `${s.path('cstore')}:example.com/p:3`, s.path('d.tar')]);
  t.equal(vt.status, 0, vt.output);
  t.match(vt.output, /\r\x1b\[Kovl save: \d+\.\d MB written, \d layers? done/);
});
