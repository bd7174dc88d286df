'use strict';
// 3. How mount latency grows with the number of lower layers, for every
// mechanism this kernel offers, against the C reference (fsconfig-fd) at the
// same layer count. Sync API, so the numbers are the mechanism's own cost.
// mount(2) mechanisms that cannot fit the layers in one page are skipped
// with the kernel's reason.
const { nowNs, elapsedNs, interleave, median } = require('../lib/measure');
const { runTimed } = require('../lib/c-reference');

const SECTION = '3. mount+umount latency by lower-layer count (Sync API per mechanism)';

function offeredMechanisms(ovl) {
  const k = ovl.kernelFeatures();
  const all = [];
  if (k.layerFd) all.push('fsconfig-fd');
  if (k.lowerdirPlus) all.push('fsconfig-path');
  all.push('mount', 'mount-fd-path', 'mount-fd-relative');
  return all;
}

// One trial mount: a mechanism that cannot take this many layers says so here.
function tryOnce(ovl, options) {
  try {
    ovl.mountSync(options).unmountSync();
    return null;
  } catch (err) {
    return `${err.code || 'error'}: ${err.reason || err.message}`;
  }
}

async function benchLayerScaling({ ovl, workspace, binaries, report, plan }) {
  const mechanisms = offeredMechanisms(ovl);
  report.note(`${SECTION}: mechanisms offered here: ${mechanisms.join(', ')}`);
  for (const layers of plan.layerCounts) {
    const set = workspace.overlaySet(layers, `layers${layers}`);
    const iterations = Math.max(3, Math.round(plan.scalingBudget / layers));
    const candidates = [];
    for (const mechanism of mechanisms) {
      const options = { ...set, mechanism };
      const refusal = tryOnce(ovl, options);
      if (refusal) {
        report.note(`  ${layers} layers, ${mechanism}: skipped (${refusal})`);
        continue;
      }
      candidates.push({
        name: `${layers} layers, ${mechanism}`,
        iterations,
        run(count) {
          const start = nowNs();
          for (let i = 0; i < count; i++) ovl.mountSync(options).unmountSync();
          return elapsedNs(start);
        },
      });
    }
    const cName = `${layers} layers, C reference (fsconfig-fd)`;
    candidates.push({
      name: cName,
      iterations,
      run: (count) => runTimed(binaries.mountLoop, [String(count), set.target, set.upper, set.work, ...set.lower]),
    });
    const results = await interleave(candidates, plan.rounds);
    const referenceNs = median(results.get(cName).samplesNs);
    for (const [name, r] of results) report.add(SECTION, name, r.samplesNs, { referenceNs, runs: `${plan.rounds}x${r.iterations}` });
  }
}

module.exports = { benchLayerScaling, SECTION };
