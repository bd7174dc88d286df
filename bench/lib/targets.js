'use strict';
// The targets, checked against this run's rows. Informational only:
// the bench never fails on a timing.

function find(rows, section, prefix) {
  return rows.find((r) => r.section === section && r.name.startsWith(prefix));
}

function checkTargets(rows, sections) {
  const checks = [];
  // `against`: what the row's reference is (a C loop, unless a tool stands in for it).
  const ratio = (label, row, limit, against = 'C') => {
    if (!row) return checks.push(`${label}: not measured`);
    const met = row.ratioToC <= limit;
    checks.push(`${met ? 'met   ' : 'MISSED'} ${label}: ${row.ratioToC.toFixed(2)}x of ${against} (target <= ${limit}x)`);
  };
  const sync = find(rows, sections.mount, 'mountSync');
  ratio('Sync mount+umount', sync, 1.1);
  // The Promise form against C making the same calls with the same two thread handoffs (issue 32's 1.10x).
  const promise = find(rows, sections.mount, 'await mount');
  const handoff = find(rows, sections.mount, sections.handoff);
  if (promise && handoff) {
    const r = promise.medianUs / handoff.medianUs;
    checks.push(`${r <= 1.1 ? 'met   ' : 'MISSED'} Promise mount+umount: ${r.toFixed(2)}x of C handing the same calls to a worker thread (target <= 1.1x); ${promise.ratioToC.toFixed(2)}x of C on one thread`);
  } else {
    checks.push('Promise mount+umount: not measured');
  }
  // Context only: C mount(2) with one option string makes fewer calls than the library.
  const mount2 = find(rows, sections.mount, sections.mount2);
  if (sync && promise && mount2) {
    checks.push(`       (against C mount(2) with an option string: Sync ${(sync.medianUs / mount2.medianUs).toFixed(2)}x, Promise ${(promise.medianUs / mount2.medianUs).toFixed(2)}x)`);
  }
  const spawn = find(rows, sections.mount, 'spawn');
  if (sync && spawn) {
    const speedup = spawn.medianUs / sync.medianUs;
    checks.push(`${speedup >= 5 ? 'met   ' : 'MISSED'} faster than spawning mount(8): ${speedup.toFixed(1)}x (target >= 5x)`);
  }
  ratio('batch whiteouts', find(rows, sections.whiteouts, 'whiteoutsSync,'), 1.25);
  ratio("batch whiteouts, kind 'xattr'", find(rows, sections.whiteouts, "whiteoutsSync kind 'xattr'"), 1.25);
  ratio('batch whiteouts, force', find(rows, sections.whiteouts, 'whiteoutsSync force'), 1.25);
  // Issue 32: replace against C making the same calls (bench/c/live_loop.c).
  ratio('replaceSync', find(rows, sections.live, 'replaceSync'), 1.5);
  ratio('await replace', find(rows, sections.live, 'await replace'), 1.5);
  const promiseLoop = find(rows, sections.eventLoop, rows.find((r) => r.section === sections.eventLoop)?.name.split(' ')[0] + ' Promise');
  if (promiseLoop) {
    const met = promiseLoop.eventLoopMaxDelayMs < 10;
    checks.push(`${met ? 'met   ' : 'MISSED'} event-loop max delay during Promise mounts: ${promiseLoop.eventLoopMaxDelayMs} ms (target < 10 ms)`);
  }
  // apply against the same replacements made one call at a time (not against C): the 1.2x.
  const applied = find(rows, sections.apply, 'applySync');
  const loop = find(rows, sections.apply, 'replaceSync');
  if (applied && loop) {
    const r = applied.medianUs / loop.medianUs;
    checks.push(`${r <= 1.2 ? 'met   ' : 'MISSED'} applySync against replaceSync in a loop: ${r.toFixed(2)}x (target <= 1.2x); ${applied.ratioToC.toFixed(2)}x of C`);
  }
  if (sections.layerTools) {
    ratio('changesSync', find(rows, sections.layerTools, 'changesSync'), 1.5);
    ratio('changes (Promise)', find(rows, sections.layerTools, 'changes (Promise)'), 1.5);
    ratio('toOciSync', find(rows, sections.layerTools, 'toOciSync'), 1.25, 'cp -a');
    ratio('fromOciSync against a C loop', find(rows, sections.layerTools, 'fromOciSync'), 1.5);
  }
  // Issue 31: an image archive unpacked, against gunzip | tar -x (zstd -d | tar -x) of the same layer.
  if (sections.ociImages) {
    ratio('unpackSync', find(rows, sections.ociImages, 'unpackSync'), 1.25, 'gunzip -c piped to tar -x');
    ratio('await unpack', find(rows, sections.ociImages, 'await unpack'), 1.25, 'gunzip -c piped to tar -x');
    ratio('unpackSync, zstd layer', find(rows, sections.ociImages, 'unpackSync of the oci-dir, zstd'), 1.25, 'zstd -dc piped to tar -x');
    // And a commit of the same tree as an upper, against tar -c | gzip of it.
    ratio('commitSync, gzip', find(rows, sections.ociImages, 'commitSync of the upper, gzip'), 1.25, 'tar -c piped to gzip');
    ratio('commitSync, zstd', find(rows, sections.ociImages, 'commitSync of the upper, zstd'), 1.25, 'tar -c piped to zstd -3');
  }
  // Issue 30: a seal against what it writes made by the usual tools, and the sealed stack's mount against C.
  if (sections.seal) {
    ratio('sealSync', find(rows, sections.seal, 'sealSync'), 1.25, 'mkfs.erofs + cp -a');
    const sealedMount = find(rows, sections.seal, 'sealed stack, mountSync');
    ratio('sealed stack mount+umount', sealedMount, 1.25);
    const withUserTime = find(rows, sections.seal, `sealed stack, ${sections.imagesWithUserTime}`);
    if (sealedMount && withUserTime) {
      checks.push(`       (C spending the library's user time between its calls: ${withUserTime.ratioToC.toFixed(2)}x of C; the library is ${(sealedMount.medianUs / withUserTime.medianUs).toFixed(2)}x of that)`);
    }
  }
  // Issue 19: each image-layer stack within 1.25x of C making the same system calls.
  for (const row of rows.filter((r) => sections.images && r.section === sections.images && !r.name.includes('C reference'))) {
    ratio(row.name, row, 1.25);
    // Context for a miss, as for the Promise mount: C spending the library's user time between its calls.
    const count = row.name.split(' ').slice(0, 2).join(' ');
    const withUserTime = find(rows, sections.images, `${count} images, ${sections.imagesWithUserTime}`);
    if (withUserTime) {
      checks.push(
        `       (C spending the library's user time between its calls: ${withUserTime.ratioToC.toFixed(2)}x of C; the library is ${(row.medianUs / withUserTime.medianUs).toFixed(2)}x of that)`,
      );
    }
  }
  return checks;
}

module.exports = { checkTargets };
