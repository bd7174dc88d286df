'use strict';
// 5. Live operations against C loops of the same system calls
// (bench/c/live_loop.c): atomic replacement of a running overlay, and a
// mount+umount whose lower layers are idmapped. Replacements alternate
// between two stacks with their own upper and work, as the C loop does.
// A kernel without MOVE_MOUNT_BENEATH or idmapped mounts skips the part it
// cannot do, saying why.
const { nowNs, elapsedNs, interleave, median } = require('../lib/measure');
const { runTimed } = require('../lib/c-reference');

const SECTION = '5. live operations, 2 lower + upper + work';
const IDMAP = { uidMap: [[0, 100000, 65536]], gidMap: [[0, 100000, 65536]] };

function describe(err) {
  return `${err.code || 'error'}: ${err.reason || err.message}`;
}

// One trial replacement of a lower-only overlay: null, or why this kernel cannot.
function replaceRefusal(ovl, set) {
  let mounted = ovl.mountSync({ lower: set.lower, target: set.target });
  try {
    mounted = mounted.replaceSync({ lower: set.lower });
    return null;
  } catch (err) {
    return describe(err);
  } finally {
    mounted.unmountSync();
  }
}

function idmapRefusal(ovl, set) {
  try {
    ovl.mountSync({ ...set, idmap: IDMAP }).unmountSync();
    return null;
  } catch (err) {
    return describe(err);
  }
}

function replaceCandidates({ ovl, workspace, binaries }, iterations) {
  const a = workspace.overlaySet(2, 'replace');
  const b = { upper: workspace.dir('replace-upper'), work: workspace.dir('replace-work') };
  const stacks = [
    { lower: a.lower, upper: a.upper, work: a.work },
    { lower: a.lower, upper: b.upper, work: b.work },
  ];
  // Each run mounts stack 0, replaces `count` times, and unmounts, untimed at both ends.
  const withMounted = (timed) => async (count) => {
    let mounted = ovl.mountSync({ ...stacks[0], target: a.target });
    try {
      const start = nowNs();
      mounted = await timed(mounted, count);
      return elapsedNs(start);
    } finally {
      mounted.unmountSync();
    }
  };
  return [
    {
      name: 'replaceSync',
      iterations,
      run: withMounted((m, count) => {
        for (let i = 0; i < count; i++) m = m.replaceSync(stacks[(i + 1) % 2]);
        return m;
      }),
    },
    {
      name: 'await replace',
      iterations,
      run: withMounted(async (m, count) => {
        for (let i = 0; i < count; i++) m = await m.replace(stacks[(i + 1) % 2]);
        return m;
      }),
    },
    {
      name: 'C reference, replace',
      iterations,
      run: (count) => runTimed(binaries.liveLoop, ['replace', String(count), a.target, a.upper, a.work, b.upper, b.work, ...a.lower]),
    },
  ];
}

function idmapCandidates({ ovl, workspace, binaries }, iterations) {
  const set = workspace.overlaySet(2, 'idmap');
  const options = { ...set, idmap: IDMAP };
  return [
    {
      name: 'idmapped mountSync + unmountSync',
      iterations,
      run(count) {
        const start = nowNs();
        for (let i = 0; i < count; i++) ovl.mountSync(options).unmountSync();
        return elapsedNs(start);
      },
    },
    {
      name: 'idmapped await mount + await unmount',
      iterations,
      async run(count) {
        const start = nowNs();
        for (let i = 0; i < count; i++) await (await ovl.mount(options)).unmount();
        return elapsedNs(start);
      },
    },
    {
      name: 'C reference, idmapped mount+umount',
      iterations,
      run: (count) => runTimed(binaries.liveLoop, ['idmap', String(count), set.target, set.upper, set.work, ...set.lower]),
    },
  ];
}

async function measure(report, plan, candidates, referenceName) {
  const results = await interleave(candidates, plan.rounds);
  const referenceNs = median(results.get(referenceName).samplesNs);
  for (const [name, r] of results) report.add(SECTION, name, r.samplesNs, { referenceNs, runs: `${plan.rounds}x${r.iterations}` });
}

async function benchLive(context) {
  const { ovl, workspace, report, plan } = context;
  report.note(`${SECTION}: ${plan.rounds} rounds of ${plan.liveIterations} each, interleaved`);
  const probe = workspace.overlaySet(2, 'live-probe');
  const replaceRefused = replaceRefusal(ovl, probe);
  if (replaceRefused) report.note(`  replace: skipped (${replaceRefused})`);
  else await measure(report, plan, replaceCandidates(context, plan.liveIterations), 'C reference, replace');

  const idmapRefused = idmapRefusal(ovl, probe);
  if (idmapRefused) report.note(`  idmapped mounts: skipped (${idmapRefused})`);
  else await measure(report, plan, idmapCandidates(context, plan.liveIterations), 'C reference, idmapped mount+umount');
}

module.exports = { benchLive, SECTION };
