'use strict';
// 2. Whiteouts: N character devices 0/0 in one fresh directory on the
// bench's tmpfs, by the batch call, by one call each (Sync, and Promise with
// a bounded number in flight), against the C reference calling mknodat in a
// loop with the same names. Every candidate gets a new empty directory each
// round; deleting the entries afterwards is not timed.
const fs = require('node:fs');
const path = require('node:path');
const { nowNs, elapsedNs, interleave, median } = require('../lib/measure');
const { runTimed } = require('../lib/c-reference');

const SECTION = '2. whiteouts in one directory (tmpfs)';
const PROMISES_IN_FLIGHT = 16;

// The same names the C reference makes: w0000000, w0000001, ...
function whiteoutNames(count) {
  return Array.from({ length: count }, (_, i) => `w${String(i).padStart(7, '0')}`);
}

async function inFlight(limit, items, task) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

// Wraps a candidate so each run starts in a fresh directory and cleans up after, untimed.
function inFreshDirectory(workspace, label, timed) {
  return async (count) => {
    const dir = workspace.dir(label);
    try {
      return await timed(dir, count);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
}

async function benchWhiteouts({ ovl, workspace, binaries, report, plan }) {
  const count = plan.whiteouts;
  const names = whiteoutNames(count);
  const available = typeof ovl.whiteoutsSync === 'function';
  const candidates = [];
  if (available) {
    candidates.push(
      {
        name: `whiteoutsSync, ${count} in one call`,
        iterations: count,
        run: inFreshDirectory(workspace, 'wo-batch', (dir, n) => {
          const batch = n === count ? names : names.slice(0, n);
          const start = nowNs();
          ovl.whiteoutsSync(dir, batch);
          return elapsedNs(start);
        }),
      },
      {
        name: `whiteoutSync, one call each`,
        iterations: count,
        run: inFreshDirectory(workspace, 'wo-sync', (dir, n) => {
          const start = nowNs();
          for (let i = 0; i < n; i++) ovl.whiteoutSync(path.join(dir, names[i]));
          return elapsedNs(start);
        }),
      },
      {
        name: `whiteout (Promise), one call each, ${PROMISES_IN_FLIGHT} in flight`,
        iterations: count,
        run: inFreshDirectory(workspace, 'wo-promise', async (dir, n) => {
          const start = nowNs();
          await inFlight(PROMISES_IN_FLIGHT, names.slice(0, n), (name) => ovl.whiteout(path.join(dir, name)));
          return elapsedNs(start);
        }),
      },
    );
  } else {
    report.note(`${SECTION}: whiteout/whiteoutsSync not available in this build; only the C reference runs`);
  }
  const cName = `C reference, mknodat x ${count}`;
  candidates.push({
    name: cName,
    iterations: count,
    run: inFreshDirectory(workspace, 'wo-c', (dir, n) => runTimed(binaries.whiteoutLoop, [dir, String(n)])),
  });
  report.note(`${SECTION}: ${plan.whiteoutRounds} rounds of ${count} each, interleaved`);
  const results = await interleave(candidates, plan.whiteoutRounds);
  const referenceNs = median(results.get(cName).samplesNs);
  for (const [name, r] of results) report.add(SECTION, name, r.samplesNs, { referenceNs, runs: `${plan.whiteoutRounds}x${r.iterations}` });
  return available;
}

module.exports = { benchWhiteouts, SECTION };
