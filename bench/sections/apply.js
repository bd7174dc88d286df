'use strict';
// 6. apply: N stacks over one template upgraded to another in one call,
// against N replaceSync calls in a loop doing the same work-directory
// bookkeeping (a fresh work generation for each new stack, the old one
// removed), and against C making apply's system calls (bench/c/apply_loop.c).
// Times are per stack. A kernel that cannot replace skips, saying why.
const fs = require('node:fs');
const path = require('node:path');
const { nowNs, elapsedNs, interleave, median } = require('../lib/measure');
const { runTimed } = require('../lib/c-reference');

const SECTION = '6. apply: stacks over one template upgraded in one call';

function layout(workspace, count) {
  const base = workspace.dir('apply');
  const from = path.join(base, 'template-v1');
  const to = path.join(base, 'template-v2');
  for (const dir of [from, to]) fs.mkdirSync(dir);
  fs.writeFileSync(path.join(from, 'version'), '1');
  fs.writeFileSync(path.join(to, 'version'), '2');
  const stacksDir = path.join(base, 'stacks');
  const stacks = Array.from({ length: count }, (_, i) => {
    const dir = path.join(stacksDir, String(i));
    const s = { name: `s${i}`, target: path.join(dir, 'merged'), upper: path.join(dir, 'upper'), work: path.join(dir, 'work') };
    for (const d of [s.target, s.upper, s.work]) fs.mkdirSync(d, { recursive: true });
    return s;
  });
  return { base, from, to, stacksDir, stacks, stateFile: path.join(base, 'apply.json') };
}

function declaration(l, count, template) {
  return { stacks: l.stacks.slice(0, count).map((s) => ({ ...s, lower: [template] })) };
}

function candidates({ ovl, binaries }, l, count) {
  const opts = { stateFile: l.stateFile };
  const withStacks = (timed) => async (n) => {
    ovl.applySync(declaration(l, n, l.from), opts);
    try {
      const start = nowNs();
      await timed(n);
      return elapsedNs(start);
    } finally {
      ovl.applySync({ stacks: [] }, opts);
    }
  };
  return [
    { name: `applySync, ${count} stacks upgraded in one call`, iterations: count, run: withStacks((n) => ovl.applySync(declaration(l, n, l.to), opts)) },
    { name: `await apply, ${count} stacks upgraded in one call`, iterations: count, run: withStacks((n) => ovl.apply(declaration(l, n, l.to), opts)) },
    {
      name: `replaceSync x ${count} in a loop (fresh work generation, old one removed)`,
      iterations: count,
      run(n) {
        const mounts = l.stacks.slice(0, n).map((s) => {
          fs.mkdirSync(path.join(s.work, 'g1'));
          return ovl.mountSync({ target: s.target, lower: [l.from], upper: s.upper, work: path.join(s.work, 'g1') });
        });
        const start = nowNs();
        for (let i = 0; i < n; i++) {
          const s = l.stacks[i];
          const fresh = path.join(s.work, 'g2');
          fs.mkdirSync(fresh);
          mounts[i] = mounts[i].replaceSync({ lower: [l.to], upper: s.upper, work: fresh });
          fs.rmSync(path.join(s.work, 'g1'), { recursive: true, force: true });
        }
        const ns = elapsedNs(start);
        for (let i = 0; i < n; i++) {
          mounts[i].unmountSync();
          fs.rmSync(path.join(l.stacks[i].work, 'g2'), { recursive: true, force: true });
        }
        return ns;
      },
    },
    { name: `C reference, apply's system calls for ${count} stacks`, iterations: count, run: (n) => runTimed(binaries.applyLoop, [String(n), l.from, l.to, l.stacksDir, path.join(l.base, 'c-record.json')]) },
  ];
}

async function benchApply(context) {
  const { ovl, workspace, report, plan } = context;
  const k = ovl.kernelFeatures();
  if (!(k.moveMountBeneath && k.lowerdirPlus)) {
    report.note(`${SECTION}: skipped (this kernel cannot replace: MOVE_MOUNT_BENEATH and lowerdir+, 6.8+)`);
    return;
  }
  const count = plan.applyStacks;
  report.note(`${SECTION}: ${plan.rounds} rounds of ${count} stacks each, interleaved; per stack`);
  const l = layout(workspace, count);
  const results = await interleave(candidates(context, l, count), plan.rounds);
  const referenceNs = median(results.get(`C reference, apply's system calls for ${count} stacks`).samplesNs);
  for (const [name, r] of results) report.add(SECTION, name, r.samplesNs, { referenceNs, runs: `${plan.rounds}x${r.iterations}` });
}

module.exports = { benchApply, SECTION };
