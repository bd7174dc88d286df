// Thousands of mounts, good and failing, Sync and Promise: RSS stays flat
// after warm-up and every fd the addon opened is closed again. Measured in a
// child process: coverage instrumentation in this one grows the heap by itself.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { needsOverlay, scratch } from '../helpers/scratch';
import { underSanitizer } from '../helpers/env';

// Under AddressSanitizer freed memory sits in its quarantine, so RSS says
// nothing about leaks there: the plain run measures them.
const soakOptions = { skip: needsOverlay.skip || (underSanitizer() && 'RSS is meaningless under AddressSanitizer (its quarantine); the plain npm test run measures it') };

const CYCLES = Number(process.env.OVL_LEAK_CYCLES ?? 20000);
const WHITEOUTS = Number(process.env.OVL_LEAK_WHITEOUTS ?? 100000);

interface Soak {
  fdsBefore: number;
  fdsAfter: number;
  rssBefore: number;
  rssAfter: number;
  unexpected: number;
}

/** Runs a soak fixture in a child: coverage instrumentation here would grow the heap by itself. */
function soak(fixture: string, args: string[]): Soak {
  const { NODE_V8_COVERAGE: _coverage, ...env } = process.env;
  const out = execFileSync(process.execPath, ['--expose-gc', path.join(__dirname, '..', 'fixtures', fixture), ...args], { env, maxBuffer: 1 << 20 });
  return JSON.parse(out.toString()) as Soak;
}

function expectFlat(t: Test, r: Soak): void {
  t.equal(r.unexpected, 0, 'every failure case failed');
  t.equal(r.fdsAfter, r.fdsBefore, 'open fds back where they started');
  const mb = (n: number) => (n / 1e6).toFixed(1);
  t.ok(r.rssAfter <= r.rssBefore * 1.1, `RSS within 10% after warm-up: ${mb(r.rssBefore)} MB -> ${mb(r.rssAfter)} MB`);
}

t.test(`${CYCLES} mount/umount cycles, with failures, keep fds and RSS flat`, soakOptions, async (t) => {
  const s = scratch(t);
  expectFlat(t, soak('leak-cycles.js', [s.dir, String(CYCLES)]));
  t.same(fs.readdirSync(s.path('merged')), [], 'nothing left mounted');
});

t.test(`${WHITEOUTS} whiteouts, batch, Sync and Promise, with failures, keep fds and RSS flat`, soakOptions, async (t) => {
  const s = scratch(t);
  expectFlat(t, soak('whiteout-cycles.js', [s.dir, String(WHITEOUTS)]));
  t.same(fs.readdirSync(s.dir), [], 'every layer removed');
});
