// Thousands of mounts, good and failing, Sync and Promise: RSS stays flat
// after warm-up and every fd the addon opened is closed again. Measured in a
// child process: coverage instrumentation in this one grows the heap by itself.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { needsOverlay, scratch } from '../helpers/scratch';

const CYCLES = Number(process.env.OVL_LEAK_CYCLES ?? 20000);

t.test(`${CYCLES} mount/umount cycles, with failures, keep fds and RSS flat`, needsOverlay, async (t) => {
  const s = scratch(t);
  const { NODE_V8_COVERAGE: _coverage, ...env } = process.env;
  const fixture = path.join(__dirname, '..', 'fixtures', 'leak-cycles.js');
  const out = execFileSync(process.execPath, ['--expose-gc', fixture, s.dir, String(CYCLES)], { env });
  const r = JSON.parse(out.toString()) as { fdsBefore: number; fdsAfter: number; rssBefore: number; rssAfter: number; unexpected: number };
  t.equal(r.unexpected, 0, 'every failure case failed');
  t.equal(r.fdsAfter, r.fdsBefore, 'open fds back where they started');
  const mb = (n: number) => (n / 1e6).toFixed(1);
  t.ok(r.rssAfter <= r.rssBefore * 1.1, `RSS within 10% after warm-up: ${mb(r.rssBefore)} MB -> ${mb(r.rssAfter)} MB`);
  t.same(fs.readdirSync(s.path('merged')), [], 'nothing left mounted');
});
