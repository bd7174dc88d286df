'use strict';
// 10. Sealed images (lib/seal): sealSync of a Debian-like root (/etc,
// /usr/sbin and parts of /usr/share copied from this machine) into an empty
// store, against mkfs.erofs of the same tree plus `cp -a` of it (what a seal
// writes: an EROFS image and a copy of each file's content); mount+umount of
// the sealed stack (the image over its store as a data-only layer, Sync API)
// against C making the same system calls (bench/c/image_loop.c with
// IMAGE_LOOP_SEALED=1); and how much a store grows when a second image adds
// one package's files to the tree. Everything on the workspace's tmpfs.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { nowNs, elapsedNs, interleave, median } = require('../lib/measure');
const { countEntries } = require('../lib/trees');
const { runTimed } = require('../lib/c-reference');
const { libraryUserNs, WITH_USER_TIME } = require('./image-layers');

const SECTION = '10. sealed images: seal, and mount+umount of a sealed stack (Sync API)';
const REFERENCE = 'mkfs.erofs + cp -a of the same tree';
const MOUNT_C = 'sealed stack, C reference';
// The package a second image adds (its files copied under their own paths); the first one dpkg knows.
const PACKAGES = ['xz-utils', 'e2fsprogs', 'erofs-utils'];

function has(tool) {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The root: `dirs` copied whole under their own paths. */
function buildRoot(root, dirs) {
  for (const dir of dirs) {
    fs.mkdirSync(path.join(root, path.dirname(dir)), { recursive: true });
    execFileSync('cp', ['-a', dir, path.join(root, dir)]);
  }
  return countEntries(root);
}

/** The regular files of the first installed package of PACKAGES, and its name. */
function packageFiles() {
  for (const name of PACKAGES) {
    let listed;
    try {
      listed = execFileSync('dpkg', ['-L', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      continue;
    }
    const files = listed.split('\n').filter((f) => f && fs.existsSync(f) && fs.lstatSync(f).isFile());
    if (files.length) return { name, files };
  }
  return undefined;
}

/** Apparent bytes and allocated bytes of every regular file beneath dir. */
function usage(dir) {
  let bytes = 0;
  let blocks = 0;
  for (const rel of fs.readdirSync(dir, { recursive: true })) {
    const st = fs.lstatSync(path.join(dir, rel));
    if (!st.isFile()) continue;
    bytes += st.size;
    blocks += st.blocks * 512;
  }
  return { bytes, blocks };
}

const mb = (n) => `${(n / 1e6).toFixed(2)} MB`;

/** Nanoseconds `work` took. */
function timed(work) {
  const start = nowNs();
  work();
  return elapsedNs(start);
}

function mountLoop(ovl, options, n) {
  for (let i = 0; i < n; i++) ovl.mountSync(options).unmountSync();
}

async function benchSeal({ ovl, workspace, binaries, report, plan }) {
  if (!has('mkfs.erofs')) return report.note(`${SECTION}: skipped (mkfs.erofs missing)`);
  const root = workspace.dir('seal-root');
  const entries = buildRoot(root, plan.sealDirs);
  const size = usage(root);
  report.note(`${SECTION}: a root of ${entries} entries, ${mb(size.bytes)} in regular files (${plan.sealDirs.join(', ')}), ${plan.sealRounds} rounds, interleaved`);

  // Each candidate writes into fresh directories, removed untimed.
  const fresh = (label) => workspace.dir(label);
  const candidates = [
    {
      name: 'sealSync into an empty store',
      iterations: 1,
      run: () => {
        const dir = fresh('seal-out');
        fs.mkdirSync(path.join(dir, 'store'));
        const start = nowNs();
        ovl.sealSync(root, { store: path.join(dir, 'store'), image: path.join(dir, 'root.img') });
        const ns = elapsedNs(start);
        fs.rmSync(dir, { recursive: true, force: true });
        return ns;
      },
    },
    {
      name: REFERENCE,
      iterations: 1,
      run: () => {
        const dir = fresh('seal-ref');
        const start = nowNs();
        execFileSync('mkfs.erofs', ['--quiet', path.join(dir, 'root.img'), root], { stdio: 'ignore' });
        execFileSync('cp', ['-a', root, path.join(dir, 'copy')]);
        const ns = elapsedNs(start);
        fs.rmSync(dir, { recursive: true, force: true });
        return ns;
      },
    },
  ];
  const sealed = await interleave(candidates, plan.sealRounds);
  const referenceNs = median(sealed.get(REFERENCE).samplesNs);
  for (const [name, r] of sealed) report.add(SECTION, name, r.samplesNs, { referenceNs, runs: `${plan.sealRounds}x${entries} entries` });

  // The sealed stack mounted and unmounted, against C making the same calls.
  const kept = fresh('seal-kept');
  const store = path.join(kept, 'store');
  fs.mkdirSync(store);
  const image = path.join(kept, 'root.img');
  const first = ovl.sealSync(root, { store, image });
  const target = fresh('seal-target');
  const records = fresh('seal-records');
  process.env.OVERLAY_NATIVE_RECORD_DIR = records;
  try {
    const options = { lower: [{ sealed: image, store }], target };
    const iterations = plan.sealMounts;
    const cArgs = (n) => [String(n), target, records, store, image];
    const library = { name: 'sealed stack, mountSync+unmountSync', iterations, run: (n) => timed(() => mountLoop(ovl, options, n)) };
    // Context, as for one image layer (section 7): C spending the library's user time between its calls.
    const userNs = libraryUserNs((n) => library.run(n), plan.imageCalibrationMs * 1e6);
    const mounts = await interleave(
      [
        library,
        { name: MOUNT_C, iterations, run: (n) => runTimed(binaries.imageLoop, cArgs(n), { IMAGE_LOOP_SEALED: '1' }) },
        {
          name: `sealed stack, ${WITH_USER_TIME}'s user time (${(userNs / 1000).toFixed(0)} µs) between its calls`,
          iterations,
          run: (n) => runTimed(binaries.imageLoop, cArgs(n), { IMAGE_LOOP_SEALED: '1', IMAGE_LOOP_USER_NS: String(userNs) }),
        },
      ],
      plan.sealRounds,
    );
    const mountReferenceNs = median(mounts.get(MOUNT_C).samplesNs);
    for (const [name, r] of mounts) report.add(SECTION, name, r.samplesNs, { referenceNs: mountReferenceNs, runs: `${plan.sealRounds}x${iterations}` });
  } finally {
    delete process.env.OVERLAY_NATIVE_RECORD_DIR;
  }

  // Store growth: the same root plus one package's files, sealed into the filled store.
  const pkg = has('dpkg') ? packageFiles() : undefined;
  if (!pkg) return report.note(`${SECTION}: store growth not measured (no package of ${PACKAGES.join(', ')} found by dpkg)`);
  const second = fresh('seal-root2');
  execFileSync('cp', ['-a', `${root}/.`, second]);
  let pkgBytes = 0;
  let pkgBlocks = 0;
  for (const file of pkg.files) {
    const to = path.join(second, 'pkg', file);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(file, to);
    const st = fs.statSync(to);
    pkgBytes += st.size;
    pkgBlocks += st.blocks * 512;
  }
  const before = usage(store);
  const grown = ovl.sealSync(second, { store, image: path.join(kept, 'root2.img') });
  const after = usage(store);
  const bytesRatio = (after.bytes - before.bytes) / pkgBytes;
  const blocksRatio = (after.blocks - before.blocks) / pkgBlocks;
  report.note(
    `${SECTION}: the first image put ${first.added} objects (${mb(first.addedBytes)}) into the store; a second image adding ${pkg.name} (${pkg.files.length} files, ${mb(pkgBytes)}, ${mb(pkgBlocks)} allocated) grew it by ${grown.added} objects, ${mb(after.bytes - before.bytes)} (${mb(after.blocks - before.blocks)} allocated)`,
  );
  const met = (r) => (r <= 1.1 ? 'met   ' : 'MISSED');
  report.note(`  ${met(bytesRatio)} store growth for one package: ${bytesRatio.toFixed(3)}x of its bytes, ${blocksRatio.toFixed(3)}x of its allocated bytes (target <= 1.1x); files whose content the store had already add nothing`);
}

module.exports = { benchSeal, SECTION, REFERENCE, MOUNT_C };
