'use strict';
// 4. Event-loop health: the largest event-loop delay
// (perf_hooks.monitorEventLoopDelay, 1 ms resolution) while N Promise
// mounts are in flight at once, against N Sync mounts in a plain loop.
// Each mount has its own upper, work and target (overlay warns when two
// mounts share an upper or work dir); the lower layers are shared.
// Only the mounting is observed; unmounting happens after, unobserved.
const fs = require('node:fs');
const path = require('node:path');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { nowNs, elapsedNs, median } = require('../lib/measure');

const SECTION = '4. event-loop health while mounting';

function makeSets(workspace, count) {
  const lowerBase = workspace.overlaySet(2, 'evloop-lower');
  const base = workspace.dir('evloop');
  return Array.from({ length: count }, (_, i) => {
    const dir = (name) => {
      const p = path.join(base, `${name}${i}`);
      fs.mkdirSync(p);
      return p;
    };
    return { lower: lowerBase.lower, upper: dir('u'), work: dir('w'), target: dir('m') };
  });
}

async function observe(mountAll) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  // The monitor records from its second tick on; let it tick before the work starts.
  await new Promise((resolve) => setTimeout(resolve, 5));
  const start = nowNs();
  const mounts = await mountAll();
  const totalNs = elapsedNs(start);
  // One more turn so a delay caused by the last completions is recorded.
  await new Promise((resolve) => setTimeout(resolve, 2));
  histogram.disable();
  return { mounts, totalNs, maxDelayNs: histogram.max };
}

async function benchEventLoop({ ovl, workspace, report, plan }) {
  const count = plan.eventLoopMounts;
  const sets = makeSets(workspace, count);
  const runs = {
    promise: { name: `${count} Promise mounts in flight`, samplesNs: [], delaysNs: [] },
    sync: { name: `${count} Sync mounts in a loop`, samplesNs: [], delaysNs: [] },
  };
  const mountAll = {
    promise: () => Promise.all(sets.map((s) => ovl.mount(s))),
    sync: async () => sets.map((s) => ovl.mountSync(s)),
  };
  report.note(`${SECTION}: ${plan.rounds} rounds of ${count} mounts each way, interleaved`);
  for (let round = 0; round < plan.rounds; round++) {
    for (const kind of ['promise', 'sync']) {
      const { mounts, totalNs, maxDelayNs } = await observe(mountAll[kind]);
      for (const m of mounts) m.unmountSync();
      runs[kind].samplesNs.push(totalNs / count);
      runs[kind].delaysNs.push(maxDelayNs);
    }
  }
  const rows = {};
  for (const [kind, r] of Object.entries(runs)) {
    const eventLoopMaxDelayMs = Math.round(median(r.delaysNs) / 1e4) / 100;
    rows[kind] = report.add(SECTION, r.name, r.samplesNs, { runs: `${plan.rounds}x${count}`, extra: { eventLoopMaxDelayMs } });
  }
  return rows;
}

module.exports = { benchEventLoop, SECTION };
