// No C++ exception ends the process: a thread that cannot start (the
// std::system_error of std::thread) comes back as an OverlayError with the
// errno, from the *Sync twin and from the Promise form alike.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { mountsBeneath, needsOverlay, scratch } from '../helpers/scratch';

const child = path.join(__dirname, '..', 'fixtures', 'thread-limit.js');

// Root is exempt from RLIMIT_NPROC, so the child runs as nobody; the
// mount(2) fallback with fd numbers starts its thread before the kernel is asked.
t.test('a thread that cannot start: EAGAIN, not terminate', needsOverlay, async (t) => {
  const s = scratch(t);
  fs.chmodSync(s.dir, 0o755);
  s.mkdirs('a', 'b', 'merged');
  const { NODE_V8_COVERAGE: _c, NODE_OPTIONS: _o, ...env } = process.env;
  const run = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, child, s.dir], { env, cwd: '/' });
  if (run.status !== 0) t.comment(run.stderr.toString());
  t.equal(run.signal, null, 'not killed by a signal');
  t.equal(run.status, 0, 'exited normally');
  const results = run.status === 0 ? JSON.parse(run.stdout.toString()) : {};
  for (const form of ['fdRelativeSync', 'fdRelative']) {
    t.match(results[form], { name: 'OverlayError', code: 'EAGAIN', message: /thread/ }, form);
  }
  for (const form of ['idmapSync', 'idmap']) {
    t.match(results[form], { name: 'OverlayError', code: 'EAGAIN' }, form);
  }
  t.same(mountsBeneath(s.dir), [], 'nothing mounted');
});
