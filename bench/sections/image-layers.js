'use strict';
// 7. Image files as layers: mount+umount of a stack of 1, 10 and 50 image
// layers of one type (erofs, squashfs, ext4) over a plain directory, Sync
// API, against a C loop making the same system calls (bench/c/image_loop.c:
// loop attach, detached image mounts, the overlay by fd, the record file).
// Loop-backed images are dominated by the kernel's loop teardown at umount,
// so this section runs few, long iterations.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { nowNs, elapsedNs, interleave, median } = require('../lib/measure');
const { runTimed } = require('../lib/c-reference');

const SECTION = '7. image layers: mount+umount of N image lowers (Sync API)';
const TYPES = ['erofs', 'squashfs', 'ext4'];
// The context row's name, for the targets' note: C spending the library's user time between its calls.
const WITH_USER_TIME = 'C reference spending the library';
const CALIBRATION_ROUNDS = 3;

/** Runs `run` in batches of ten for about `ns`; returns how many it ran. */
function runFor(run, ns) {
  const start = nowNs();
  let iterations = 0;
  while (elapsedNs(start) < ns) {
    run(10);
    iterations += 10;
  }
  return iterations;
}

/**
 * The library's user-space CPU time per mount+umount (JavaScript, the addon, libc), median of a
 * few rounds of roundNs each, after a warm-up: until V8 has compiled the path its compiler threads'
 * time is counted too (process.cpuUsage covers every thread), and measured that way it came out
 * 50% high. The kernel splits CPU time into user and system by sampling at its tick (4 ms at
 * HZ=250), so a round must span a few hundred ticks for the split to mean anything.
 */
function libraryUserNs(run, roundNs) {
  runFor(run, 2 * roundNs);
  const perOp = [];
  for (let round = 0; round < CALIBRATION_ROUNDS; round++) {
    const before = process.cpuUsage();
    const iterations = runFor(run, roundNs);
    perOp.push((process.cpuUsage(before).user * 1000) / iterations);
  }
  return Math.round(median(perOp));
}

function missingTool() {
  for (const tool of ['mkfs.erofs', 'mksquashfs', 'mkfs.ext4']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return tool;
    }
  }
  return fs.existsSync('/dev/loop-control') ? undefined : '/dev/loop-control';
}

function makeImage(type, src, image) {
  if (type === 'erofs') execFileSync('mkfs.erofs', [image, src], { stdio: 'ignore' });
  if (type === 'squashfs') execFileSync('mksquashfs', [src, image, '-quiet', '-noappend', '-no-progress'], { stdio: 'ignore' });
  if (type === 'ext4') execFileSync('mkfs.ext4', ['-q', '-F', '-d', src, image, '4M'], { stdio: 'ignore' });
  return image;
}

async function benchImageLayers({ ovl, workspace, binaries, report, plan }) {
  const missing = missingTool();
  if (missing) return report.note(`${SECTION}: skipped (${missing} missing)`);
  const base = workspace.dir('images');
  const src = path.join(base, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'f'), 'x');
  const plain = workspace.dir('image-plain');
  const target = workspace.dir('image-target');
  // The record the library keeps goes where the C loop writes its own: both on the workspace's tmpfs.
  const records = workspace.dir('image-records');
  process.env.OVERLAY_NATIVE_RECORD_DIR = records;
  const largest = Math.max(...plan.imageCounts);
  for (const type of TYPES) {
    // Distinct files: one image named twice is mounted once.
    const images = Array.from({ length: largest }, (_, i) => makeImage(type, src, path.join(base, `${type}-${i}.img`)));
    for (const count of plan.imageCounts) {
      const stack = images.slice(0, count);
      const options = { lower: [...stack.map((image) => ({ image })), plain], target };
      const iterations = Math.max(1, Math.round(plan.imageBudget / count));
      const libName = `${count} ${type} images, mountSync+unmountSync`;
      const cName = `${count} ${type} images, C reference`;
      const cArgs = (n) => [String(n), target, records, plain, ...stack];
      const library = {
        name: libName,
        iterations,
        run(n) {
          const start = nowNs();
          for (let i = 0; i < n; i++) ovl.mountSync(options).unmountSync();
          return elapsedNs(start);
        },
      };
      const candidates = [library, { name: cName, iterations, run: (n) => runTimed(binaries.imageLoop, cArgs(n)) }];
      if (count === 1) {
        // Context for the one-image rows, where the kernel's part is smallest: the VM charges the
        // kernel's calls more when a process spends time in user space between them (image_loop.c).
        const userNs = libraryUserNs((n) => library.run(n), plan.imageCalibrationMs * 1e6);
        candidates.push({
          name: `${count} ${type} images, ${WITH_USER_TIME}'s user time (${(userNs / 1000).toFixed(0)} µs) between its calls`,
          iterations,
          run: (n) => runTimed(binaries.imageLoop, cArgs(n), { IMAGE_LOOP_USER_NS: String(userNs) }),
        });
      }
      const results = await interleave(candidates, plan.imageRounds);
      const referenceNs = median(results.get(cName).samplesNs);
      for (const [name, r] of results) report.add(SECTION, name, r.samplesNs, { referenceNs, runs: `${plan.imageRounds}x${r.iterations}` });
    }
  }
  delete process.env.OVERLAY_NATIVE_RECORD_DIR;
}

module.exports = { benchImageLayers, libraryUserNs, SECTION, WITH_USER_TIME };
