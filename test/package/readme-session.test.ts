// The console sessions of the docs run as written: the one under "## A
// session" in docs/cli.md and the README's CLI quick start. Every `# ` line is
// run by bash, in order, in one shell, and what it prints (stdout and stderr
// together, as on a terminal) must be the lines the page shows under it. Each
// runs in a mount namespace of its own, where /srv is a tmpfs and /srv/ex this
// test's scratch directory (bind-mounted), so the pages' paths are real and
// everything a session mounts ends with the namespace.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { nodeCommand } from '../helpers/child-env';
import { OVL } from '../helpers/cli';
import { needsOverlay, scratch } from '../helpers/scratch';

const root = path.join(__dirname, '..', '..', '..');
/** Each session: the page, and the heading it stands under. */
const SESSIONS = [
  { page: 'docs/cli.md', heading: '## A session' },
  { page: 'README.md', heading: '## Quick start: CLI' },
];

interface Step {
  command: string;
  output: string[];
}

/** The first console block under the heading: commands (`# `) and the lines each prints. */
function sessionUnder(markdown: string, heading: string): Step[] {
  const start = markdown.indexOf(`\n${heading}\n`);
  const open = markdown.indexOf('\n```console\n', start);
  const close = markdown.indexOf('\n```\n', open + 1);
  if (start < 0 || open < 0 || close < 0) return [];
  const steps: Step[] = [];
  for (const line of markdown.slice(open + '\n```console\n'.length, close).split('\n')) {
    if (line.startsWith('# ')) steps.push({ command: line.slice(2), output: [] });
    else steps.at(-1)?.output.push(line);
  }
  return steps;
}

const MARK = '@@readme-step@@';

/** One bash script: each command preceded by a marker line, `$?` carried across the marker. */
function script(steps: Step[], bin: string): string {
  const lines = [
    'set +e',
    `export PATH=${bin}:$PATH`,
    // The stage: nothing of this reaches the session's commands but the paths.
    'mount -t tmpfs tmpfs /srv && mkdir /srv/ex && mount --bind "$1" /srv/ex || exit 99',
    'cd /',
  ];
  steps.forEach((step, i) => {
    lines.push(`__status=$?; echo '${MARK} ${i}'; (exit $__status)`);
    lines.push(`${step.command} 2>&1`);
  });
  return lines.join('\n') + '\n';
}

function outputsBySteps(stdout: string, count: number): string[][] {
  const outputs: string[][] = Array.from({ length: count }, () => []);
  let current = -1;
  for (const line of stdout.replace(/\n$/, '').split('\n')) {
    const m = new RegExp(`^${MARK} (\\d+)$`).exec(line);
    if (m) current = Number(m[1]);
    else if (current >= 0) outputs[current]?.push(line);
  }
  return outputs;
}

t.test('docs/cli.md has a console session under ## A session', async (t) => {
  const steps = sessionUnder(fs.readFileSync(path.join(root, 'docs/cli.md'), 'utf8'), '## A session');
  t.ok(steps.length >= 10, `${steps.length} commands`);
  t.ok(steps.some((s) => s.command.startsWith('ovl umount')), 'it unmounts what it mounted');
});

t.test("the README's CLI quick start is a console session", async (t) => {
  const steps = sessionUnder(fs.readFileSync(path.join(root, 'README.md'), 'utf8'), '## Quick start: CLI');
  t.ok(steps.length >= 5, `${steps.length} commands`);
  t.ok(steps.some((s) => s.command.startsWith('ovl mount')), 'it mounts');
  t.ok(steps.at(-1)?.command.startsWith('ovl umount'), 'it ends by unmounting what it mounted');
});

for (const { page, heading } of SESSIONS) {
  t.test(`the session in ${page} under ${heading} runs as written`, { skip: needsOverlay.skip || (!fs.existsSync('/srv') && 'no /srv to put a tmpfs on in a private mount namespace') }, async (t) => {
    const steps = sessionUnder(fs.readFileSync(path.join(root, page), 'utf8'), heading);
    t.ok(steps.length > 0, `${steps.length} commands`);
    const s = scratch(t);
    const [bin] = s.mkdirs('bin');
    const [stage] = s.mkdirs('stage');
    const [command, nodeArgs] = nodeCommand([OVL]);
    fs.writeFileSync(path.join(bin as string, 'ovl'), `#!/bin/sh\nexec ${[command, ...nodeArgs].map((word) => `'${word}'`).join(' ')} "$@"\n`, { mode: 0o755 });
    fs.writeFileSync(s.path('session.sh'), script(steps, bin as string));
    // A private mount namespace: /srv's tmpfs and every mount the session leaves go with it.
    const run = spawnSync('unshare', ['--mount', '--propagation', 'private', 'bash', s.path('session.sh'), stage as string], { encoding: 'utf8', timeout: 120_000 });
    t.equal(run.status, 0, `the session's last command succeeds: ${run.stderr}`);
    t.equal(run.stderr, '', 'everything went to the captured output');
    const outputs = outputsBySteps(run.stdout, steps.length);
    steps.forEach((step, i) => t.same(outputs[i], step.output, `# ${step.command}`));
  });
}
