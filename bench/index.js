'use strict';
// npm run bench [-- --json] [-- --quick] [-- --only images,layer-tools]
// Measures overlay-native against the system calls themselves (a C loop)
// and against spawning mount(8). Needs root. Everything it mounts lives
// under one temp dir and is unmounted before it exits, also on failure.
const fs = require('node:fs');

const ovl = require('../dist/lib/index.js');
const { Workspace } = require('./lib/workspace');
const { compile } = require('./lib/c-reference');
const { Report } = require('./lib/report');
const { checkTargets } = require('./lib/targets');
const { benchMountUmount, SECTION: MOUNT, HANDOFF, MOUNT2 } = require('./sections/mount-umount');
const { benchWhiteouts, SECTION: WHITEOUTS } = require('./sections/whiteouts');
const { benchLayerScaling } = require('./sections/layer-scaling');
const { benchEventLoop, SECTION: EVENT_LOOP } = require('./sections/event-loop');
const { benchLive, SECTION: LIVE } = require('./sections/live');
const { benchLayerTools, SECTION: LAYER_TOOLS } = require('./sections/layer-tools');
const { benchApply, SECTION: APPLY } = require('./sections/apply');
const { benchOciImages, SECTION: OCI_IMAGES } = require('./sections/oci-images');
const { benchImageLayers, SECTION: IMAGES, WITH_USER_TIME: IMAGES_WITH_USER_TIME } = require('./sections/image-layers');
const { benchSeal, SECTION: SEAL } = require('./sections/seal');

// Iteration counts sized to keep a full run under about three minutes on a 2-core VM.
const PLANS = {
  full: {
    rounds: 11,
    mountRounds: 25, // the headline ratios: more, shorter rounds so one noisy stretch cannot move the median
    mountIterations: 200,
    spawnIterations: 20,
    hopIterations: 2000,
    whiteouts: 100000,
    whiteoutRounds: 3,
    whiteoutKinds: 20000, // the xattr kind and force over existing names, each against C making the same calls
    whiteoutKindRounds: 5,
    layerCounts: [1, 10, 100, 500],
    scalingBudget: 500, // iterations = budget / layers, at least 3
    eventLoopMounts: 200,
    liveIterations: 100,
    imageCounts: [1, 10, 50],
    imageBudget: 100, // iterations = budget / images, at least 1: a loop-backed image's umount costs tens of ms, a single erofs image about 0.1 ms
    imageRounds: 5,
    imageCalibrationMs: 500, // a round of measuring the library's user time, for the one-image context rows
    layerEntries: 36000,
    layerRounds: 5,
    ociMarkers: 20000,
    applyStacks: 100,
    ociEntries: 30000,
    ociRounds: 5,
    sealDirs: ['/etc', '/usr/sbin', '/usr/share/doc', '/usr/share/perl5', '/usr/lib/python3'],
    sealRounds: 5,
    sealMounts: 100,
  },
  quick: {
    rounds: 2,
    mountRounds: 2,
    mountIterations: 20,
    spawnIterations: 2,
    hopIterations: 100,
    whiteouts: 1000,
    whiteoutRounds: 1,
    whiteoutKinds: 500,
    whiteoutKindRounds: 1,
    layerCounts: [1, 10],
    scalingBudget: 20,
    eventLoopMounts: 20,
    liveIterations: 5,
    imageCounts: [1],
    imageBudget: 2,
    imageRounds: 1,
    imageCalibrationMs: 20,
    layerEntries: 2000,
    layerRounds: 1,
    ociMarkers: 500,
    applyStacks: 5,
    ociEntries: 300,
    ociRounds: 1,
    sealDirs: ['/etc', '/usr/sbin'],
    sealRounds: 1,
    sealMounts: 5,
  },
};

// In the order a full run takes them; `--only a,b` runs just those (to
// measure one section again without the others' minutes).
const SECTIONS = {
  mount: benchMountUmount,
  whiteouts: benchWhiteouts,
  'layer-scaling': benchLayerScaling,
  'event-loop': benchEventLoop,
  live: benchLive,
  apply: benchApply,
  images: benchImageLayers,
  'layer-tools': benchLayerTools,
  'oci-images': benchOciImages,
  seal: benchSeal,
};

function chosenSections(argv) {
  const at = argv.indexOf('--only');
  if (at < 0) return Object.keys(SECTIONS);
  const names = (argv[at + 1] ?? '').split(',').filter(Boolean);
  const unknown = names.filter((n) => !(n in SECTIONS));
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(`--only takes section names separated by commas (${Object.keys(SECTIONS).join(', ')})${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}`);
  }
  return Object.keys(SECTIONS).filter((n) => names.includes(n));
}

// The C references, each compiled the first time a section asks for it, so
// `--only` builds just the ones its sections run.
function compiledOnUse(binDir, sources) {
  const binaries = {};
  for (const [key, source] of Object.entries(sources)) {
    let binary;
    Object.defineProperty(binaries, key, { enumerable: true, get: () => (binary ??= compile(source, binDir)) });
  }
  return binaries;
}

function loadAverage() {
  return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

async function main() {
  const json = process.argv.includes('--json');
  const plan = process.argv.includes('--quick') ? PLANS.quick : PLANS.full;
  const chosen = chosenSections(process.argv);
  if (process.getuid() !== 0) throw new Error('the bench mounts overlays: run it as root');
  const report = new Report({ json });
  const workspace = new Workspace();
  const started = Date.now();
  try {
    const binaries = compiledOnUse(workspace.dir('bin'), {
      mountLoop: 'mount_loop',
      whiteoutLoop: 'whiteout_loop',
      liveLoop: 'live_loop',
      applyLoop: 'apply_loop',
      imageLoop: 'image_loop',
      layerWalk: 'layer_walk',
      ociWhiteoutLoop: 'oci_whiteout_loop',
    });
    report.note(`overlay-native bench: node ${process.version}, kernel ${fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}, workspace ${workspace.root} (tmpfs)`);
    // Other work on the machine moves every number; say how busy it was.
    report.note(`load average at start: ${loadAverage()}`);
    const context = { ovl, workspace, binaries, report, plan };
    for (const name of chosen) await SECTIONS[name](context);
  } finally {
    workspace.cleanup();
  }
  report.printTables();
  report.note(`\nTargets (informational):`);
  const sections = { mount: MOUNT, handoff: HANDOFF, mount2: MOUNT2, live: LIVE, whiteouts: WHITEOUTS, eventLoop: EVENT_LOOP, apply: APPLY, images: IMAGES, imagesWithUserTime: IMAGES_WITH_USER_TIME, layerTools: LAYER_TOOLS, ociImages: OCI_IMAGES, seal: SEAL };
  for (const line of checkTargets(report.rows, sections)) report.note(`  ${line}`);
  report.note(`done in ${((Date.now() - started) / 1000).toFixed(1)} s, load average at end: ${loadAverage()}`);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err.stack || err}\n`);
  process.exitCode = 1;
});
