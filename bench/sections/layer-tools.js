'use strict';
// 6. Layer tools on a real-sized upper: a copy of part of /usr/share (copied
// up as a package install would leave it) plus new files and whiteouts, over
// /usr as the lower. changes() Sync and Promise, and changesIterator() read
// to its end, against a C walk making the same system calls
// (bench/c/layer_walk.c); toOci against `cp -a` of the same tree; fromOci
// against a C loop making the same whiteouts.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { nowNs, elapsedNs, interleave, median } = require('../lib/measure');
const { countEntries } = require('../lib/trees');
const { runTimed } = require('../lib/c-reference');

const SECTION = '8. layer tools on a copy of /usr/share over /usr (tmpfs upper)';
const LOWER = '/usr';


// Whole /usr/share subdirectories, in order, until about `target` entries; then
// a new file for every tenth entry and a whiteout for every twentieth.
function buildUpper(upper, target) {
  const share = path.join(upper, 'share');
  fs.mkdirSync(share, { recursive: true });
  let entries = 0;
  const skipped = [];
  for (const name of fs.readdirSync('/usr/share').sort()) {
    const from = path.join('/usr/share', name);
    if (entries >= target) {
      skipped.push(name);
      continue;
    }
    if (!fs.lstatSync(from).isDirectory()) continue;
    execFileSync('cp', ['-a', from, path.join(share, name)]);
    entries += 1 + countEntries(from);
  }
  fs.mkdirSync(path.join(upper, 'new'));
  for (let i = 0; i < entries / 10; i++) fs.writeFileSync(path.join(upper, 'new', `f${i}`), `new ${i}`);
  const whiteouts = skipped.slice(0, Math.ceil(entries / 20)).map((name) => `share/${name}`);
  ovlWhiteouts(upper, whiteouts);
  return entries + Math.ceil(entries / 10) + whiteouts.length;
}

let ovlRef;
function ovlWhiteouts(root, paths) {
  ovlRef.whiteoutsSync(root, paths);
}

async function benchLayerTools({ ovl, workspace, binaries, report, plan }) {
  ovlRef = ovl;
  const upper = workspace.dir('lt-upper');
  const total = buildUpper(upper, plan.layerEntries);
  report.note(`${SECTION}: ${total} entries in the upper, ${plan.layerRounds} rounds, interleaved`);
  let listed = 0;
  const candidates = [
    {
      name: 'changesSync',
      iterations: 1,
      run: () => {
        const start = nowNs();
        listed = ovl.changesSync(upper, { lower: [LOWER] }).length;
        return elapsedNs(start);
      },
    },
    {
      name: 'changes (Promise)',
      iterations: 1,
      run: async () => {
        const start = nowNs();
        await ovl.changes(upper, { lower: [LOWER] });
        return elapsedNs(start);
      },
    },
    {
      // The stream, read to its end one change at a time, as ovl diff reads it.
      name: 'changesIterator (for await)',
      iterations: 1,
      run: async () => {
        const start = nowNs();
        for await (const c of ovl.changesIterator(upper, { lower: [LOWER] })) void c;
        return elapsedNs(start);
      },
    },
    { name: 'C walk, same system calls', iterations: 1, run: () => runTimed(binaries.layerWalk, [upper, LOWER]) },
  ];
  const results = await interleave(candidates, plan.layerRounds);
  const referenceNs = median(results.get('C walk, same system calls').samplesNs);
  for (const [name, r] of results) report.add(SECTION, name, r.samplesNs, { referenceNs, runs: `${plan.layerRounds}x${total} entries` });
  report.note(`${SECTION}: changes() listed ${listed} entries`);

  // toOci against cp -a: each candidate writes a fresh copy, removed untimed.
  const exportCandidates = [
    {
      name: 'toOciSync',
      iterations: 1,
      run: () => {
        const dest = path.join(workspace.dir('lt-oci'), 'out');
        const start = nowNs();
        ovl.toOciSync(upper, dest);
        const ns = elapsedNs(start);
        fs.rmSync(path.dirname(dest), { recursive: true, force: true });
        return ns;
      },
    },
    {
      name: 'cp -a of the same tree',
      iterations: 1,
      run: () => {
        const dest = path.join(workspace.dir('lt-cp'), 'out');
        const start = nowNs();
        execFileSync('cp', ['-a', upper, dest]);
        const ns = elapsedNs(start);
        fs.rmSync(path.dirname(dest), { recursive: true, force: true });
        return ns;
      },
    },
  ];
  const exported = await interleave(exportCandidates, plan.layerRounds);
  const cpNs = median(exported.get('cp -a of the same tree').samplesNs);
  for (const [name, r] of exported) report.add(SECTION, name, r.samplesNs, { referenceNs: cpNs, runs: `${plan.layerRounds}x${total} entries` });

  // fromOci against a C loop making the same whiteouts: a fresh OCI layer of
  // `markers` .wh.* files in one directory each round, made untimed.
  const markers = plan.ociMarkers;
  const freshLayer = () => {
    const dir = workspace.dir('lt-fromoci');
    for (let i = 0; i < markers; i++) fs.writeFileSync(path.join(dir, `.wh.w${String(i).padStart(7, '0')}`), '');
    return dir;
  };
  const convertCandidates = [
    {
      name: `fromOciSync, ${markers} markers`,
      iterations: markers,
      run: (n) => {
        const dir = freshLayer();
        const start = nowNs();
        ovl.fromOciSync(dir);
        const ns = elapsedNs(start);
        fs.rmSync(dir, { recursive: true, force: true });
        return (ns * n) / markers;
      },
    },
    {
      name: 'C loop, unlinkat + mknodat each',
      iterations: markers,
      run: (n) => {
        const dir = freshLayer();
        const ns = runTimed(binaries.ociWhiteoutLoop, [dir, String(markers)]);
        fs.rmSync(dir, { recursive: true, force: true });
        return (ns * n) / markers;
      },
    },
  ];
  const converted = await interleave(convertCandidates, plan.layerRounds);
  const loopNs = median(converted.get('C loop, unlinkat + mknodat each').samplesNs);
  for (const [name, r] of converted) report.add(SECTION, name, r.samplesNs, { referenceNs: loopNs, runs: `${plan.layerRounds}x${markers}` });
}

module.exports = { benchLayerTools, SECTION };
