// How a test starts a Node process of the project's code. tap gives every
// test process NODE_OPTIONS that import its processinfo hooks (a module-loader
// thread and an inspector session in each process) and wraps child_process so
// that every child gets them again: `ovl --version` cost 0.80 CPU-s so against
// 0.27 s without, measured here, and the suite starts hundreds of children.
// The child is started through env(1), which sets NODE_OPTIONS without them
// after tap's wrapper has had its say; it records coverage with Node's own
// NODE_V8_COVERAGE into the directory tap's report reads (the report, c8,
// reads both forms, source maps included), or none when tap's coverage is off.
import * as path from 'node:path';

// (tap writes the option quoted: `"--import=file:///.../processinfo/.../import.mjs"`.)
const TAP_HOOKS = /(^|\s)"?--import=[^"\s]*@tapjs[/\\]processinfo[^"\s]*"?/g;

/**
 * `[command, args]` running `node ARGS...` without tap's hooks. `coverage:
 * false` for a child that runs as another user: it could not write tap's
 * coverage directory, and Node says so on its stderr.
 */
export function nodeCommand(args: string[], { coverage: wanted = true } = {}): [string, string[]] {
  const nodeOptions = (process.env.NODE_OPTIONS ?? '').replace(TAP_HOOKS, '').trim();
  const root = process.env._TAPJS_PROCESSINFO_CWD_;
  const coverage = wanted && process.env._TAPJS_PROCESSINFO_COVERAGE_ === '1' && root
    ? [`NODE_V8_COVERAGE=${path.join(root, '.tap', 'coverage')}`]
    : ['-u', 'NODE_V8_COVERAGE'];
  return ['env', [...coverage, `NODE_OPTIONS=${nodeOptions}`, process.execPath, ...args]];
}
