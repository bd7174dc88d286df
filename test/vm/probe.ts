// Run in each VM guest (and usable on any host as root): reports what the
// running kernel offers and which rung of the engine's ladder it took for three
// stacks that need different rungs, and how mountinfo names the layers, so the
// runner's output says which mechanism ran on which kernel. Prints one JSON
// object; exits non-zero when a mount fails.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kernelFeatures, mountSync, type MountOptions } from '../../lib/index';

interface StackReport {
  stack: string;
  layers: number;
  longestPath: number;
  mechanism?: string;
  /** How mountinfo names the lower layers: 'lowerdir+' or 'lowerdir', and each kind of name counted. */
  shownAs?: string;
  error?: string;
}

/** The superblock options of the mount on `target`, from mountinfo. */
function superOptions(target: string): string[] {
  const line = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === target);
  if (!line) return [];
  const afterDash = line.split(' - ')[1] ?? '';
  return (afterDash.split(' ')[2] ?? '').split(',');
}

function describeLayers(options: string[]): string {
  const plus = options.filter((o) => o.startsWith('lowerdir+=')).map((o) => o.slice('lowerdir+='.length));
  const legacy = options.find((o) => o.startsWith('lowerdir='));
  const names = plus.length > 0 ? plus : (legacy?.slice('lowerdir='.length).split(':') ?? []);
  const kinds = { paths: 0, 'fd names': 0, 'fd numbers': 0 };
  for (const name of names) {
    if (name.startsWith('/proc/self/fd/')) kinds['fd names']++;
    else if (/^\d+$/.test(name)) kinds['fd numbers']++;
    else kinds.paths++;
  }
  const counted = Object.entries(kinds).filter(([, n]) => n > 0).map(([kind, n]) => `${n} ${kind}`);
  return `${plus.length > 0 ? 'lowerdir+' : 'lowerdir'} (${counted.join(', ')})`;
}

function tryStack(stack: string, request: MountOptions): StackReport {
  const report: StackReport = {
    stack,
    layers: request.lower.length,
    longestPath: Math.max(...request.lower.map((l) => Buffer.byteLength(String(l)))),
  };
  try {
    const m = mountSync(request);
    try {
      report.mechanism = m.mechanism;
      report.shownAs = describeLayers(superOptions(m.target));
    } finally {
      m.unmountSync({ detach: true });
    }
  } catch (e) {
    const err = e as Error & { code?: string; detail?: string };
    report.error = `${err.code ?? err.name}: ${err.message}${err.detail ? ` (${err.detail})` : ''}`;
  }
  return report;
}

function main(): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovl-probe-'));
  try {
    const mk = (...parts: string[]) => {
      const p = path.join(dir, ...parts);
      fs.mkdirSync(p, { recursive: true });
      return p;
    };
    // A directory name long enough that every layer beneath it is past 200
    // bytes, and one past fsconfig's 255-byte string limit.
    const long200 = 'l'.repeat(200);
    const long300 = ['p'.repeat(150), 'q'.repeat(150)];
    const many = Array.from({ length: 500 }, (_, i) => mk(long200, `layer-${String(i).padStart(3, '0')}`));
    const stacks = [
      tryStack('2 short layers, upper', { lower: [mk('a'), mk('b')], upper: mk('u1'), work: mk('w1'), target: mk('m1') }),
      tryStack('500 layers, paths over 200 bytes', { lower: many, target: mk('m2') }),
      tryStack('a layer path over 255 bytes, upper', { lower: [mk(...long300), mk('c')], upper: mk('u3'), work: mk('w3'), target: mk('m3') }),
    ];
    const report = { release: os.release(), features: kernelFeatures(), stacks };
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return stacks.some((s) => s.error) ? 1 : 0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = main();
