// `kill -9` during `ovl apply`: the next apply (the same declaration, then an
// empty one) removes the work generations the killed one made and no stack
// uses, and converges; afterwards nothing under the scratch directory is left
// that neither the record nor this test's own files explain.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { applySync, kernelFeatures } from '../../lib/index';
import { OVL } from '../helpers/cli';
import { mountsAt } from '../helpers/mounts';
import { needsOverlay, scratch, type Scratch } from '../helpers/scratch';
import { testAddonPath } from '../helpers/test-addon';
import { nodeCommand } from '../helpers/child-env';

const COUNT = 20;

/** Runs `ovl apply FILE` and kills it (SIGKILL) `ms` after `sign` first exists: the killed apply is then at work. */
function killedAfter(file: string, env: NodeJS.ProcessEnv, sign: string, ms: number): Promise<string | null> {
  const child = spawn(...nodeCommand([OVL, 'apply', file]), { env, stdio: 'ignore' });
  const exited = new Promise<string | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  const poll = (): void => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (fs.existsSync(sign)) setTimeout(() => child.kill('SIGKILL'), ms);
    else setTimeout(poll, 1);
  };
  poll();
  return exited;
}

/** Every generation left under the stacks' work directories, and whether the record names it. */
function generations(root: string, record: { stacks: Array<{ work?: string; generation?: number }>; keptWork: string[] }): { named: string[]; unexplained: string[] } {
  const named = new Set([...record.stacks.map((e) => path.join(e.work ?? '', `g${e.generation}`)), ...record.keptWork]);
  const all = Array.from({ length: COUNT }, (_, i) => path.join(root, `s${i}/work`)).flatMap((w) => fs.readdirSync(w).map((n) => path.join(w, n)));
  return { named: all.filter((g) => named.has(g)), unexplained: all.filter((g) => !named.has(g)) };
}

/** Twenty stacks over `v`, written as a declaration file; returns its path. */
function declare(s: Scratch, v: string): string {
  const stacks = Array.from({ length: COUNT }, (_, i) => {
    const [upper, work, target] = s.mkdirs(`s${i}/upper`, `s${i}/work`, `s${i}/merged`);
    return { name: `c${i}`, target, lower: [s.path(v)], upper, work };
  });
  const file = s.path(`${v}.json`);
  fs.writeFileSync(file, JSON.stringify({ stacks }));
  return file;
}

function setup(t: Parameters<typeof scratch>[0], upgrade: boolean): { s: Scratch; stateFile: string; final: string; version: string } {
  const s = scratch(t, 'ovl-apply-kill-');
  s.write({ 'v1/version': '1', 'v2/version': '2' });
  s.mkdirs('state');
  const stateFile = s.path('state/apply.json');
  const v1 = declare(s, 'v1');
  if (upgrade) applySync(JSON.parse(fs.readFileSync(v1, 'utf8')), { stateFile });
  return { s, stateFile, final: upgrade ? declare(s, 'v2') : v1, version: upgrade ? '2' : '1' };
}

/** After the kill: the same declaration again converges and leaves only what the record names; then an empty one leaves nothing. */
function convergesAfterKill(t: Parameters<typeof scratch>[0], { s, stateFile, final, version }: ReturnType<typeof setup>): void {
  const left = generations(s.path('.'), fs.existsSync(stateFile) ? JSON.parse(fs.readFileSync(stateFile, 'utf8')) : { stacks: [], keptWork: [] }).unexplained.length;
  t.comment(`generations the record does not name after the kill: ${left}`);
  const again = applySync(JSON.parse(fs.readFileSync(final, 'utf8')), { stateFile });
  t.equal(again.actions.length, COUNT);
  for (let i = 0; i < COUNT; i++) {
    t.equal(fs.readFileSync(s.path(`s${i}/merged/version`), 'utf8'), version, `c${i} shows v${version}`);
    t.equal(mountsAt(s.path(`s${i}/merged`)).length, 1, `one mount on c${i}`);
  }
  let record = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  t.same(generations(s.path('.'), record).unexplained, [], 'every work generation left is in the record');
  t.same(applySync(JSON.parse(fs.readFileSync(final, 'utf8')), { stateFile }).actions.map((a) => a.action), Array(COUNT).fill('keep'), 'converged: all keep');
  applySync({ stacks: [] }, { stateFile });
  record = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  t.same(record.stacks, []);
  t.same(generations(s.path('.'), record).unexplained, [], 'after the empty declaration only the kept generations (stacks detached while in use) are left');
  t.same(fs.readdirSync(s.path('state')), ['apply.json'], 'no lock and no temporary record left');
  for (let i = 0; i < COUNT; i++) t.same(mountsAt(s.path(`s${i}/merged`)), []);
}

for (const delay of [0, 5, 20, 60]) {
  for (const upgrade of kernelFeatures().lowerdirPlus ? [false, true] : [false]) {
    t.test(`killed ${delay} ms after its first work generation, in ${upgrade ? 'an upgrade' : 'a first apply'}: the next apply cleans up and converges`, needsOverlay, async (t) => {
      const h = setup(t, upgrade);
      const env = { ...process.env, OVL_APPLY_STATE: h.stateFile };
      // The sign: the killed apply has made its first new work generation.
      const signal = await killedAfter(h.final, env, h.s.path(`s0/work/g${upgrade ? 2 : 1}`), delay);
      t.comment(`the apply ${signal === 'SIGKILL' ? 'was killed' : 'finished before the kill'}`);
      convergesAfterKill(t, h);
    });
  }
}

// The test addon's failure points, each killing the process there: while building, just before the switch
// (the record holds pending entries), and with one target switched and the others not.
const haveTestAddon = {
  get skip(): string | false {
    return needsOverlay.skip || (!kernelFeatures().lowerdirPlus && 'no lowerdir+ (6.8+): nothing is built detached or switched') || (!fs.existsSync(testAddonPath) && `${testAddonPath} is not built (npm run build:cmake)`);
  },
};
for (const point of ['buildOverlay', 'switchOverlays', 'applySwitch.after-first-step']) {
  for (const upgrade of [false, true]) {
    t.test(`killed at the failure point ${point} in ${upgrade ? 'an upgrade' : 'a first apply'}: the next apply cleans up and converges`, haveTestAddon, async (t) => {
      const h = setup(t, upgrade);
      const child = spawnSync(...nodeCommand([path.join(__dirname, '..', 'fixtures', 'apply-killed-at.js'), point, h.final, h.stateFile]), {
        env: { ...process.env, OVERLAY_NATIVE_ADDON: testAddonPath },
        encoding: 'utf8',
      });
      t.equal(child.signal, 'SIGKILL', `killed at ${point} (${child.stderr})`);
      convergesAfterKill(t, h);
    });
  }
}
