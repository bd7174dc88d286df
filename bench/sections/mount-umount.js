'use strict';
// 1. One mount+umount of a two-lower overlay with upper and work, five ways:
// the Sync API, the Promise API, the C reference (same system calls, no
// Node), the C reference handing each call to a worker thread and back (the
// floor for any API that keeps the calls off the caller's thread),
// spawning mount(8) + umount(8) from Node as scripts do today, and, for
// context, C calling mount(2) with the options as one string (no layer
// opened or checked: fewer calls than the library makes, so not its reference).
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const { nowNs, elapsedNs, interleave, median } = require('../lib/measure');
const { runTimed } = require('../lib/c-reference');

const SECTION = '1. mount+umount, 2 lower + upper + work';
const HANDOFF = 'C reference, each call handed to a worker thread';
const MOUNT2 = 'context: C mount(2) with an option string + umount2';

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
      name: HANDOFF,
      iterations: n,
      run: (count) => runTimed(binaries.mountLoop, ['--handoff', String(count), set.target, set.upper, set.work, ...set.lower]),
    },
    {
      name: MOUNT2,
      iterations: n,
      run: (count) => runTimed(binaries.mountLoop, ['--mount2', String(count), set.target, mountData]),
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
  report.note(`${SECTION}: ${plan.mountRounds} rounds of ${n} (mount(8): ${plan.spawnIterations}) each, interleaved`);
  const results = await interleave(candidates, plan.mountRounds);
  const referenceNs = median(results.get('C reference (fsconfig-fd)').samplesNs);
  for (const [name, r] of results) report.add(SECTION, name, r.samplesNs, { referenceNs, runs: `${plan.mountRounds}x${r.iterations}` });
  await measureThreadPoolHop(report, plan);
}

// Context for the Promise row: what one libuv thread-pool round trip costs on
// this machine, as Node's own fs.promises.stat('/') minus fs.statSync('/').
// A Promise mount+umount makes two such trips.
async function measureThreadPoolHop(report, plan) {
  const n = plan.hopIterations;
  const results = await interleave(
    [
      {
        name: 'fs.statSync',
        iterations: n,
        run(count) {
          const start = nowNs();
          for (let i = 0; i < count; i++) fs.statSync('/');
          return elapsedNs(start);
        },
      },
      {
        name: 'await fs.promises.stat',
        iterations: n,
        async run(count) {
          const start = nowNs();
          for (let i = 0; i < count; i++) await fs.promises.stat('/');
          return elapsedNs(start);
        },
      },
    ],
    plan.rounds,
  );
  const sync = results.get('fs.statSync').samplesNs;
  const promise = results.get('await fs.promises.stat').samplesNs;
  const hops = promise.map((p, i) => p - sync[i]);
  report.add(SECTION, 'context: one thread-pool round trip (fs.promises.stat - fs.statSync)', hops, { runs: `${plan.rounds}x${n}` });
}

module.exports = { benchMountUmount, SECTION, HANDOFF, MOUNT2 };
