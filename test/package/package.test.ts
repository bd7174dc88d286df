// The published tarball: built with a prebuild, holding only what a user
// needs, and working from a fresh project where nothing is compiled.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { needsOverlay, scratch } from '../helpers/scratch';

const root = path.join(__dirname, '..', '..', '..');
// The consumer must load the tarball's prebuild, not a build a test run points at.
const { OVERLAY_NATIVE_ADDON: _ignored, ...inherited } = process.env;
const packEnv = { ...inherited, npm_config_loglevel: 'error' };
const run = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: packEnv }).toString();

/** A copy of the working tree, so building prebuilds never touches the build/ other tests load. */
function stage(dir: string): string {
  const staging = path.join(dir, 'staging');
  const skip = new Set(['node_modules', 'build', 'build-cmake', 'prebuilds', '.git', '.tap']);
  fs.cpSync(root, staging, { recursive: true, filter: (src) => !skip.has(path.basename(src)) || path.dirname(src) !== root });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(staging, 'node_modules'));
  return staging;
}

t.test('npm pack, then install without compiling', needsOverlay, async (t) => {
  const s = scratch(t, 'ovl-pack-');
  const staging = stage(s.dir);
  run('npm', ['run', 'prebuildify'], staging);
  t.ok(fs.existsSync(path.join(staging, 'prebuilds', 'linux-x64', 'overlay-native.glibc.node')), 'prebuild made');

  const [packed] = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', s.dir], staging)) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  const files = packed!.files.map((f) => f.path).sort();
  t.ok(files.includes('prebuilds/linux-x64/overlay-native.glibc.node'), 'holds the prebuild');
  for (const f of ['binding.gyp', 'CMakeLists.txt', 'package.json', 'README.md', 'LICENSE', 'docs/api.md', 'docs/cli.md', 'dist/lib/index.js', 'dist/lib/index.mjs', 'dist/lib/index.d.ts', 'native/addon.cc']) {
    t.ok(files.includes(f), `holds ${f}`);
  }
  t.ok(files.includes('dist/bin/ovl.js'), 'holds the CLI');
  // The README's links resolve in the tarball too, and the pages it links theirs.
  const shippedPages = files.filter((f) => f.endsWith('.md'));
  const dangling = shippedPages.flatMap((page) =>
    [...fs.readFileSync(path.join(staging, page), 'utf8').replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '').matchAll(/\]\(([^)#\s:]+)(?:#[^)\s]*)?\)/g)]
      .map((m) => path.posix.normalize(path.posix.join(path.posix.dirname(page), m[1] as string)))
      .filter((target) => !files.includes(target))
      .map((target) => `${page} -> ${target}`),
  );
  t.ok(shippedPages.length > 3, `${shippedPages.length} pages shipped`);
  t.same(dangling, [], 'every page a shipped page links is shipped');
  const unwanted = files.filter((f) => /^(test|dist\/test|build|build-cmake|lib|scripts|bench|\.ci)\//.test(f) && f !== 'bench/README.md' || f.endsWith('.map') || f.endsWith('.ts') && !f.endsWith('.d.ts'));
  t.same(unwanted, [], 'nothing else: no tests, no build output, no TypeScript sources');

  const project = s.mkdirs('consumer')[0]!;
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', path.join(s.dir, packed!.filename)], project);
  const installed = path.join(project, 'node_modules', 'overlay-native');
  t.notOk(fs.existsSync(path.join(installed, 'build')), 'nothing was compiled');

  const [a, b, target] = s.mkdirs('consumer/a', 'consumer/b', 'consumer/merged');
  fs.writeFileSync(path.join(a, 'hello'), 'from the tarball');
  const cjs = [
    "const o = require('overlay-native');",
    `const m = o.mountSync({ lower: [${JSON.stringify(a)}, ${JSON.stringify(b)}], target: ${JSON.stringify(target)} });`,
    `const text = require('fs').readFileSync(${JSON.stringify(path.join(target, 'hello'))}, 'utf8');`,
    'm.unmountSync();',
    'console.log(text);',
  ].join('\n');
  t.equal(run(process.execPath, ['-e', cjs], project).trim(), 'from the tarball', 'require and a real mount');
  const esm = "import { mount, OverlayError } from 'overlay-native'; console.log(typeof mount, typeof OverlayError);";
  t.equal(run(process.execPath, ['--input-type=module', '-e', esm], project).trim(), 'function function', 'import');
  const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version as string;
  t.equal(run('npx', ['--no-install', 'ovl', '--version'], project).trim(), version, 'npx ovl --version');
  t.match(run('npx', ['--no-install', 'ovl', 'ls', '--json'], project), /^\[/, 'the CLI runs from the tarball');
});
