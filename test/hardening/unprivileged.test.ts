// Without CAP_SYS_ADMIN every privileged call fails clearly (EPERM, saying
// what is needed) and creates nothing.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { needsOverlay, scratch } from '../helpers/scratch';
import { mountsBeneath } from '../helpers/mounts';
import { setprivMissing } from '../helpers/env';

const lib = path.join(__dirname, '..', '..', 'lib', 'index.js');

t.test('as nobody: EPERM naming what is needed, nothing created', { skip: needsOverlay.skip || setprivMissing() }, async (t) => {
  const s = scratch(t);
  fs.chmodSync(s.dir, 0o755);
  const [a, b, upper, work, target] = s.mkdirs('a', 'b', 'upper', 'work', 'merged');
  const script = `
    const o = require(${JSON.stringify(lib)});
    const results = {};
    const attempt = (name, fn) => { try { fn(); results[name] = 'succeeded'; } catch (e) { results[name] = { code: e.code, syscall: e.syscall, message: e.message }; } };
    attempt('mount', () => o.mountSync({ lower: [${JSON.stringify(a)}, ${JSON.stringify(b)}], upper: ${JSON.stringify(upper)}, work: ${JSON.stringify(work)}, target: ${JSON.stringify(target)} }));
    attempt('umount', () => o.umountSync(${JSON.stringify(target)}));
    o.mount({ lower: [${JSON.stringify(a)}, ${JSON.stringify(b)}], target: ${JSON.stringify(target)} })
      .then(() => { results.mountPromise = 'succeeded'; }, (e) => { results.mountPromise = { code: e.code, syscall: e.syscall }; })
      .then(() => console.log(JSON.stringify(results)));
  `;
  const { NODE_V8_COVERAGE: _c, ...env } = process.env;
  const child = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, '-e', script], { env, cwd: '/' });
  t.equal(child.status, 0, child.stderr.toString());
  const results = JSON.parse(child.stdout.toString());
  t.match(results.mount, { code: 'EPERM', message: /mounting needs root, or CAP_SYS_ADMIN/ });
  t.match(results.mountPromise, { code: 'EPERM' });
  t.match(results.umount, { code: 'EPERM', syscall: 'umount2' });
  t.same(fs.readdirSync(upper), [], 'nothing written to upper');
  t.same(fs.readdirSync(work), [], 'nothing written to work');
  t.same(mountsBeneath(s.dir), [], 'nothing mounted');
});
