// The child that holds an idmap's user namespace shares the process's memory
// (CLONE_VM) but not its thread-local state: it must call nothing from
// glibc, whose wrappers write errno into the parent thread's TLS
// (native/mount/userns.cc). Checked on the machine code of the addon this process
// loads: the function the child runs makes no call at all.
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import t from 'tap';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeGypBuild = require('node-gyp-build') as { path(dir: string): string };
const addon = process.env.OVERLAY_NATIVE_ADDON ?? nodeGypBuild.path(path.join(__dirname, '..', '..', '..'));
const callInstruction: Record<string, RegExp> = { x64: /\bcall\b/, arm64: /\bbl\b|\bblr\b/ };

function disassembly(): string | undefined {
  try {
    return execFileSync('objdump', ['-d', '-C', '--no-show-raw-insn', addon], { maxBuffer: 256 * 1024 * 1024 }).toString();
  } catch {
    return undefined;
  }
}

const asm = callInstruction[process.arch] ? disassembly() : undefined;
// A prebuild is stripped (prebuildify --strip): without its local symbols the child's function cannot be found in it.
function stripped(): boolean {
  const nm = spawnSync('nm', [addon], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return nm.status === 0 ? !/ t /.test(nm.stdout) : /no symbols/.test(nm.stderr);
}
const skip = !callInstruction[process.arch]
  ? `no raw system calls are written for ${process.arch}: the child gets its own memory there`
  : asm === undefined
    ? 'objdump (binutils) is not installed'
    : stripped()
      ? `${addon} is stripped (a prebuild): the check reads a build with symbols (node-gyp's build/Release)`
      : false;

t.test('the CLONE_VM child makes raw system calls only', { skip }, async (t) => {
  const body = /<ovl::\(anonymous namespace\)::HoldNamespace\(void\*\)>:\n([\s\S]*?)\n\n/.exec(asm ?? '');
  t.ok(body, `HoldNamespace is in ${addon} (a build with symbols)`);
  const lines = (body?.[1] ?? '').split('\n');
  t.ok(lines.some((l) => /:\s+(syscall|svc)\b/.test(l)), 'it makes its system calls by instruction');
  t.same(lines.filter((l) => callInstruction[process.arch]!.test(l)), [], 'it calls no function (no glibc wrapper, no errno)');
});
