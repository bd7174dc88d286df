'use strict';
// 2. Whiteouts: N character devices 0/0 in one fresh directory on the
// bench's tmpfs, by the batch call, by one call each (Sync, and Promise with
// a bounded number in flight), against the C reference calling mknodat in a
// loop with the same names; then the batch call for the xattr kind and with
// `force` over existing names, each against a C loop making the batch's
// system calls in the same order (bench/c/whiteout_loop.c). Every candidate
// gets a new directory each round; making the entries `force` replaces and
// deleting everything afterwards are not timed.
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
function inFreshDirectory(workspace, label, timed, prepare) {
  return async (count) => {
    const dir = workspace.dir(label);
    try {
      if (prepare) prepare(dir, count);
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
  if (available) await benchKinds({ ovl, workspace, binaries, report, plan, names });
  return available;
}

// The xattr kind and force, each a pair: the library's batch and C making its calls.
async function benchKinds({ ovl, workspace, binaries, report, plan, names }) {
  const count = plan.whiteoutKinds;
  const batch = names.slice(0, count);
  const existingFiles = (dir, n) => runTimed(binaries.whiteoutLoop, [dir, String(n), 'files']);
  const kinds = [
    { label: 'xattr', library: `whiteoutsSync kind 'xattr', ${count} new names`, c: `C reference, xattr whiteouts x ${count} (same calls)`, options: { kind: 'xattr' } },
    { label: 'force', library: `whiteoutsSync force, over ${count} empty files`, c: `C reference, forced whiteouts x ${count} (same calls)`, options: { force: true }, prepare: existingFiles },
  ];
  const candidates = [];
  for (const k of kinds) {
    candidates.push(
      {
        name: k.library,
        iterations: count,
        run: inFreshDirectory(
          workspace,
          `wo-${k.label}`,
          (dir, n) => {
            const start = nowNs();
            ovl.whiteoutsSync(dir, n === count ? batch : batch.slice(0, n), k.options);
            return elapsedNs(start);
          },
          k.prepare,
        ),
      },
      { name: k.c, iterations: count, run: inFreshDirectory(workspace, `wo-c-${k.label}`, (dir, n) => runTimed(binaries.whiteoutLoop, [dir, String(n), k.label]), k.prepare) },
    );
  }
  report.note(`${SECTION}: the xattr kind and force, ${plan.whiteoutKindRounds} rounds of ${count} each, interleaved`);
  const results = await interleave(candidates, plan.whiteoutKindRounds);
  for (const k of kinds) {
    const referenceNs = median(results.get(k.c).samplesNs);
    for (const name of [k.library, k.c]) {
      const r = results.get(name);
      report.add(SECTION, name, r.samplesNs, { referenceNs, runs: `${plan.whiteoutKindRounds}x${r.iterations}` });
    }
  }
}

module.exports = { benchWhiteouts, SECTION };
