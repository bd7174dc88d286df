// The package loads as CommonJS and as an ES module, by its own name, and
// its declarations type-check for both.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { nodeCommand } from '../helpers/child-env';

const root = path.join(__dirname, '..', '..', '..');
const node = (args: string[]) => execFileSync(...nodeCommand(args), { cwd: root }).toString().trim();

t.test('require by name', async (t) => {
  const out = node(['-e', "const o = require('overlay-native'); console.log(typeof o.mount, typeof o.mountSync, typeof o.OverlayError)"]);
  t.equal(out, 'function function function');
});

t.test('import by name, sharing one addon with require', async (t) => {
  const script = [
    "import { mount, umountSync, OverlayError } from 'overlay-native';",
    "import { createRequire } from 'node:module';",
    'const cjs = createRequire(import.meta.url)("overlay-native");',
    'console.log(typeof mount, typeof umountSync, OverlayError === cjs.OverlayError);',
  ].join('\n');
  t.equal(node(['--input-type=module', '-e', script]), 'function function true');
});

t.test('declarations type-check from CommonJS and ES module TypeScript', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovl-types-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(root, path.join(dir, 'node_modules', 'overlay-native'));
  const body = (imp: string) =>
    `${imp}\nconst opts: MountOptions = { lower: ['/a', '/b'], target: '/m', index: true };\n` +
    'export const pending: Promise<OverlayMount> = mount(opts);\nexport const isError = (e: unknown) => e instanceof OverlayError;\n';
  fs.writeFileSync(path.join(dir, 'esm.mts'), body("import { mount, OverlayError, type MountOptions, type OverlayMount } from 'overlay-native';"));
  fs.writeFileSync(path.join(dir, 'cjs.cts'), body("import { mount, OverlayError, type MountOptions, type OverlayMount } from 'overlay-native';"));
  fs.writeFileSync(path.join(dir, 'bad.mts'), "import { mount } from 'overlay-native';\nmount({ lower: 'not-an-array', target: '/m' });\n");
  // One compiler run for all three files (tsc's start-up is most of its time): the
  // two good ones must bring no error, the bad one exactly its wrong type.
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = ['--noEmit', '--strict', '--pretty', 'false', '--module', 'node16', '--moduleResolution', 'node16', '--types', 'node', '--typeRoots', path.join(root, 'node_modules', '@types'), 'esm.mts', 'cjs.cts', 'bad.mts'];
  const run = spawnSync(...nodeCommand([tsc, ...args], { coverage: false }), { cwd: dir, encoding: 'utf8' });
  const errors = run.stdout.split('\n').filter((line) => /error TS\d+/.test(line));
  t.equal(run.status, 2, 'tsc reports errors (exit 2)');
  t.same(errors.filter((line) => !line.startsWith('bad.mts(')), [], 'esm.mts and cjs.cts type-check');
  t.equal(errors.length, 1, errors.join('\n'));
  t.match(errors[0], /^bad\.mts\(2,\d+\): error TS2322: Type 'string' is not assignable to type/, 'a wrong type is a compile error');
});
