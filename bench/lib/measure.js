'use strict';
// Timing helpers. Candidates run in interleaved rounds (A B C A B C ...) so
// that drift in the machine (frequency, page cache, other tenants) touches
// every candidate alike; each round yields one time per operation, and the
// medians of those are compared within the same run.

function nowNs() {
  return process.hrtime.bigint();
}

function elapsedNs(start) {
  return Number(process.hrtime.bigint() - start);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * candidates: [{ name, iterations, run(iterations) -> total ns (may be async) }]
 * Returns Map name -> { iterations, samplesNs: per-operation ns per round }.
 * One untimed warm-up round first (JIT, page cache, kernel slab caches).
 */
async function interleave(candidates, rounds) {
  const results = new Map(candidates.map((c) => [c.name, { iterations: c.iterations, samplesNs: [] }]));
  for (const c of candidates) await c.run(Math.max(1, Math.ceil(c.iterations / 10)));
  for (let round = 0; round < rounds; round++) {
    // Rotate who goes first, so no candidate always runs right after the same neighbour.
    const order = candidates.map((_, i) => candidates[(i + round) % candidates.length]);
    for (const c of order) {
      const totalNs = await c.run(c.iterations);
      results.get(c.name).samplesNs.push(totalNs / c.iterations);
    }
  }
  return results;
}

module.exports = { nowNs, elapsedNs, median, interleave };
