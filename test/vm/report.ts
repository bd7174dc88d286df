// Host side of `npm run test:vm`: reads what a guest left in its results
// directory (see guest.sh) and prints it.
//   report.js detail OUT_DIR      one kernel: features, mechanisms, each test file,
//                                 the failures with their diagnostics
//   report.js summary OUT_DIR...  one line per kernel
// Exits 1 when anything in the named directories failed, else 0.
import * as fs from 'node:fs';
import * as path from 'node:path';

interface Counts {
  total: number;
  pass: number;
  fail: number;
  skip: number;
  todo: number;
}

interface FileResult {
  name: string;
  rc: number | undefined;
  seconds: string;
  counts: Counts | undefined;
  tap: string;
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return fallback;
  }
}

/** tap ends a file's output with a comment like `# { total: 5, pass: 3, fail: 1, skip: 1 }`. */
function parseCounts(tap: string): Counts | undefined {
  const line = tap.split('\n').reverse().find((l) => /^# \{ total: \d+/.test(l));
  if (!line) return undefined;
  const counts: Counts = { total: 0, pass: 0, fail: 0, skip: 0, todo: 0 };
  for (const [, key, value] of line.matchAll(/(\w+): (\d+)/g)) {
    if (key in counts) counts[key as keyof Counts] = Number(value);
  }
  return counts;
}

function results(out: string): FileResult[] {
  const tapDir = path.join(out, 'tap');
  const listed = readOr(path.join(out, 'tests'), '').split('\n').filter(Boolean);
  return listed.map((file) => {
    // As guest.sh names them: the path under dist/test, '/' as '-'.
    const name = file.replace(/^dist\/test\//, '').replace(/\//g, '-').replace(/\.js$/, '');
    const tap = readOr(path.join(tapDir, `${name}.tap`), '');
    const rc = readOr(path.join(tapDir, `${name}.rc`), '');
    return {
      name: file,
      rc: rc === '' ? undefined : Number(rc),
      seconds: readOr(path.join(tapDir, `${name}.time`), '?'),
      counts: parseCounts(tap),
      tap,
    };
  });
}

function failed(r: FileResult): boolean {
  return r.rc !== 0 || r.counts === undefined || r.counts.fail > 0;
}

/** Every `not ok` line with the YAML diagnostics under it. */
function failures(tap: string): string[] {
  const lines = tap.split('\n');
  const shown: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!/^\s*not ok\b/.test(line)) continue;
    shown.push(line);
    const indent = line.match(/^\s*/)![0];
    if (lines[i + 1]?.startsWith(`${indent}  ---`)) {
      for (i++; i < lines.length; i++) {
        shown.push(lines[i]!);
        if (lines[i] === `${indent}  ...`) break;
      }
    }
  }
  return shown;
}

interface Probe {
  release: string;
  features: Record<string, boolean | number>;
  stacks: Array<{ stack: string; layers: number; longestPath: number; mechanism?: string; shownAs?: string; error?: string }>;
}

function readProbe(out: string): Probe | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(out, 'probe.json'), 'utf8')) as Probe;
  } catch {
    return undefined;
  }
}

function detail(out: string): boolean {
  const kernel = readOr(path.join(out, 'kernel'), '(unknown: the guest did not report)');
  let ok = true;
  console.log(`kernel ${kernel}`);
  const probe = readProbe(out);
  if (probe) {
    const on = Object.entries(probe.features).filter(([k, v]) => k !== 'fsopenErrno' && v === true).map(([k]) => k);
    const off = Object.entries(probe.features).filter(([k, v]) => k !== 'fsopenErrno' && v === false).map(([k]) => k);
    console.log(`  features: ${on.join(', ') || 'none'}; lacks: ${off.join(', ') || 'nothing'}`);
    for (const s of probe.stacks) {
      const how = s.error ? `FAILED ${s.error}` : `mechanism ${s.mechanism}, mountinfo shows ${s.shownAs}`;
      console.log(`  ${s.stack} (${s.layers} layers, longest path ${s.longestPath} bytes): ${how}`);
      if (s.error) ok = false;
    }
  } else {
    ok = false;
    console.log(`  mechanism probe failed (rc ${readOr(path.join(out, 'probe.rc'), '?')}):`);
    console.log(readOr(path.join(out, 'probe.err'), '').replace(/^/gm, '    '));
  }
  for (const r of results(out)) {
    const c = r.counts;
    const counted = c ? `${c.pass} pass, ${c.fail} fail, ${c.skip} skip, ${c.todo} todo` : 'no tap summary';
    const status = r.rc === undefined ? 'NOT RUN' : failed(r) ? `FAIL (exit ${r.rc})` : 'ok';
    console.log(`  ${status.padEnd(14)} ${r.name}: ${counted} (${r.seconds}s)`);
    // A skip on an old kernel should be a tested refusal: name every skip.
    for (const line of r.tap.split('\n').filter((l) => /^\s*ok \d+ .* # SKIP/.test(l))) {
      console.log(`      skipped: ${line.trim().replace(/^ok \d+ - /, '')}`);
    }
    if (!failed(r)) continue;
    ok = false;
    if (r.rc === undefined) continue;
    const shown = failures(r.tap);
    // A file that crashed or timed out has no `not ok` line: show its tail.
    const lines = shown.length > 0 ? shown : r.tap.split('\n').slice(-40);
    console.log(lines.map((l) => `      | ${l}`).join('\n'));
  }
  return ok;
}

function summary(outs: string[]): boolean {
  let ok = true;
  for (const out of outs) {
    const files = results(out);
    const sum = (k: keyof Counts) => files.reduce((n, r) => n + (r.counts?.[k] ?? 0), 0);
    const bad = files.filter(failed).length;
    const probe = readProbe(out);
    const mechanisms = probe ? [...new Set(probe.stacks.map((s) => s.mechanism ?? 'FAILED'))].join(', ') : 'probe failed';
    const status = readOr(path.join(out, 'status'), 'no status');
    const kernel = readOr(path.join(out, 'kernel'), path.basename(out));
    console.log(
      `${kernel.padEnd(24)} ${files.length - bad}/${files.length} files ok; ` +
        `${sum('pass')} pass, ${sum('fail')} fail, ${sum('skip')} skip, ${sum('todo')} todo; ` +
        `mechanisms: ${mechanisms}; guest status ${status}`,
    );
    if (bad > 0 || status !== '0' || !probe) ok = false;
  }
  return ok;
}

const [mode, ...dirs] = process.argv.slice(2);
if (mode === 'detail' && dirs.length === 1) process.exitCode = detail(dirs[0]!) ? 0 : 1;
else if (mode === 'summary' && dirs.length > 0) process.exitCode = summary(dirs) ? 0 : 1;
else {
  console.error('usage: report.js detail OUT_DIR | report.js summary OUT_DIR...');
  process.exitCode = 2;
}
