// What the addon users load offers: no test-only export, and no way for an
// environment variable to make the library load a .node file from elsewhere.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { native } from '../../lib/core/native';
import { testAddon, testAddonPath } from '../helpers/test-addon';
import { nodeCommand } from '../helpers/child-env';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeGypBuild = require('node-gyp-build') as { path(dir: string): string };

const TEST_ONLY = ['injectFault', 'takeArmedFaults', 'layerChangesPeakQueued'];

t.test('the shipped addon has no test-only export', async (t) => {
  const exported = Object.keys(native);
  t.same(exported.filter((name) => TEST_ONLY.includes(name)), []);
  t.ok(exported.includes('exportLayer') && exported.includes('readXattrsSync'), 'the library’s own calls are there');
});

t.test('the test addon has them', { skip: fs.existsSync(testAddonPath) ? false : `${testAddonPath} is not built` }, async (t) => {
  t.same(TEST_ONLY.filter((name) => !(name in testAddon())), []);
});

const lib = path.join(__dirname, '..', '..', 'lib', 'index.js');

function loadWith(addon: string): { status: number | null; stderr: string } {
  const { NODE_V8_COVERAGE: _c, ...env } = process.env;
  const run = spawnSync(...nodeCommand(['-e', `require(${JSON.stringify(lib)}).kernelFeatures()`]), { env: { ...env, OVERLAY_NATIVE_ADDON: addon } });
  return { status: run.status, stderr: run.stderr.toString() };
}

t.test('OVERLAY_NATIVE_ADDON takes only a build inside the package', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovl-surface-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const elsewhere = path.join(dir, 'overlay_native.node');
  fs.writeFileSync(elsewhere, 'not an addon');
  const refused = loadWith(elsewhere);
  t.not(refused.status, 0);
  t.match(refused.stderr, /OVERLAY_NATIVE_ADDON .* must name a \.node file inside .*test hook/);
  // The build this checkout loads: build/Release, or a prebuild once `npm run prebuildify` has taken build/ away.
  const inside = nodeGypBuild.path(path.join(__dirname, '..', '..', '..'));
  t.equal(loadWith(path.relative(process.cwd(), inside)).status, 0, `the package’s own build (${path.relative(process.cwd(), inside)}), even by a relative path, loads`);
});
