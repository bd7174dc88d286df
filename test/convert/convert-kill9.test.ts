// `ovl convert --to oci` killed by a real kill -9 after several delays, from
// early in the run to after it ends: the next run of the same command ends
// where an uninterrupted one does, with nothing else left. Trees of 1500
// files, so that the kills land while the work runs, not while Node starts:
// a soak, run by npm run test:slow (the failure points the test addon arms
// in convert-crash.test.ts reach each step deterministically in npm test).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import t from 'tap';
import { toOciSync } from '../../lib/index';
import { nodeCommand } from '../helpers/child-env';
import { OVL, ovl } from '../helpers/cli';
import { rerunToOci, writeUpper } from './convert-crash-steps';
import { needsRoot } from '../helpers/layer';
import { scratch } from '../helpers/scratch';

// A real kill -9 after `delayMs`; whether it came before, during or after the
// work is the point: each test tries several delays.
async function killedAfter(args: string[], delayMs: number): Promise<string> {
  const child = spawn(...nodeCommand([OVL, ...args]), { stdio: 'ignore' });
  const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
  clearTimeout(timer);
  return signal ?? `exit ${code}`;
}

const FILES = 1500;

t.test('--to oci: a real kill -9 after several delays, then run again', { skip: needsRoot.skip }, async (t) => {
  const s0 = scratch(t);
  writeUpper(s0, 'up', FILES);
  const started = Date.now();
  t.equal(ovl(['convert', '--to', 'oci', s0.path('up'), s0.path('timing')]).status, 0);
  const whole = Date.now() - started;
  for (const where of ['new', 'empty'] as const) {
    for (const share of [0.2, 0.5, 0.75, 0.9, 1.05]) {
      await t.test(`${where} DEST, killed after ${Math.round(share * 100)}% of an uninterrupted run`, async (t) => {
        const s = scratch(t);
        writeUpper(s, 'up', FILES);
        toOciSync(s.path('up'), s.path('ref'));
        if (where === 'empty') fs.mkdirSync(s.path('out'));
        t.comment(await killedAfter(['convert', '--to', 'oci', s.path('up'), s.path('out')], Math.round(whole * share)));
        rerunToOci(t, s, 'out');
      });
    }
  }
});

