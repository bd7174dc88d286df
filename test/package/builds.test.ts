// The cmake-js build is the same addon as the node-gyp one: the same smoke
// test runs against each, in a child process that loads only that build.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { needsOverlay, scratch } from '../helpers/scratch';
import { nodeCommand } from '../helpers/child-env';

const root = path.join(__dirname, '..', '..', '..');
const smoke = path.join(__dirname, '..', 'fixtures', 'smoke.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeGypBuild = require('node-gyp-build') as { path(dir: string): string };
const builds = {
  'node-gyp-build (prebuild or node-gyp)': nodeGypBuild.path(root),
  'cmake-js': path.join(root, 'build-cmake', 'Release', 'overlay_native.node'),
};

for (const [name, addon] of Object.entries(builds)) {
  t.test(`smoke test against the ${name} build`, needsOverlay, async (t) => {
    t.ok(fs.existsSync(addon), `${addon} exists (npm test builds it first)`);
    const s = scratch(t);
    const out = execFileSync(...nodeCommand([smoke, s.dir]), { env: { ...process.env, OVERLAY_NATIVE_ADDON: addon } });
    const result = JSON.parse(out.toString());
    t.match(result.mechanism, /^(fsconfig-fd|fsconfig-path|mount)$/);
    t.same(result, {
      mechanism: result.mechanism,
      read: 'top',
      error: { name: 'OverlayError', code: 'ENOENT', field: 'lower[0]' },
      umountError: 'EINVAL',
    });
  });
}
