'use strict';
// 1. One mount+umount of a two-lower overlay with upper and work, four ways:
// the Sync API, the Promise API, the C reference (same system calls, no
// Node), and spawning mount(8) + umount(8) from Node as scripts do today.
const { execFileSync } = require('node:child_process');
const { nowNs, elapsedNs, interleave, median } = require('../lib/measure');
const { runTimed } = require('../lib/c-reference');

const SECTION = '1. mount+umount, 2 lower + upper + work';

async function benchMountUmount({ ovl, workspace, binaries, report, plan }) {
  const set = workspace.overlaySet(2, 'mount');
  const mountData = `lowerdir=${set.lower.join(':')},upperdir=${set.upper},workdir=${set.work}`;
  const n = plan.mountIterations;
  const candidates = [
    {
      name: 'mountSync + unmountSync',
      iterations: n,
      run(count) {
        const start = nowNs();
        for (let i = 0; i < count; i++) ovl.mountSync(set).unmountSync();
        return elapsedNs(start);
      },
    },
    {
      name: 'await mount + await unmount',
      iterations: n,
      async run(count) {
        const start = nowNs();
        for (let i = 0; i < count; i++) {
          const mounted = await ovl.mount(set);
          await mounted.unmount();
        }
        return elapsedNs(start);
      },
    },
    {
      name: 'C reference (fsconfig-fd)',
      iterations: n,
      run: (count) => runTimed(binaries.mountLoop, [String(count), set.target, set.upper, set.work, ...set.lower]),
    },
    {
      name: 'spawn mount(8) + umount(8)',
      iterations: plan.spawnIterations,
      run(count) {
        const start = nowNs();
        for (let i = 0; i < count; i++) {
          execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', mountData, set.target]);
          execFileSync('umount', [set.target]);
        }
        return elapsedNs(start);
      },
    },
  ];
  report.note(`${SECTION}: ${plan.rounds} rounds of ${n} (mount(8): ${plan.spawnIterations}) each, interleaved`);
  const results = await interleave(candidates, plan.rounds);
  const referenceNs = median(results.get('C reference (fsconfig-fd)').samplesNs);
  for (const [name, r] of results) report.add(SECTION, name, r.samplesNs, { referenceNs, runs: `${plan.rounds}x${r.iterations}` });
}

module.exports = { benchMountUmount, SECTION };
