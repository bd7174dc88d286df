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
      const results = await interleave(
        [
          {
            name: libName,
            iterations,
            run(n) {
              const start = nowNs();
              for (let i = 0; i < n; i++) ovl.mountSync(options).unmountSync();
              return elapsedNs(start);
            },
          },
          { name: cName, iterations, run: (n) => runTimed(binaries.imageLoop, [String(n), target, records, plain, ...stack]) },
        ],
        plan.imageRounds,
      );
      const referenceNs = median(results.get(cName).samplesNs);
      for (const [name, r] of results) report.add(SECTION, name, r.samplesNs, { referenceNs, runs: `${plan.imageRounds}x${r.iterations}` });
    }
  }
  delete process.env.OVERLAY_NATIVE_RECORD_DIR;
}

module.exports = { benchImageLayers, SECTION };
