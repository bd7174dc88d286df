#!/usr/bin/env node
// ovl: the command line of overlay-native. Parsing and printing only; the
// library does the work.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from './cli/command';
import { applyCommand } from './commands/apply';
import { EXIT_OK, EXIT_USAGE } from './cli/exit-codes';
import { doctorCommand } from './commands/doctor';
import { convertCommand } from './commands/convert';
import { unpackCommand } from './commands/unpack';
import { commitCommand } from './commands/commit';
import { saveCommand } from './commands/save';
import { diffCommand } from './commands/diff';
import { lsCommand } from './commands/ls';
import { mountCommand } from './commands/mount';
import { opaqueCommand } from './commands/opaque';
import { sealCommand } from './commands/seal';
import { verifyCommand } from './commands/verify';
import { replaceCommand } from './commands/replace';
import { umountCommand } from './commands/umount';
import { whiteoutCommand } from './commands/whiteout';

const COMMANDS: Command[] = [mountCommand, umountCommand, replaceCommand, lsCommand, applyCommand, whiteoutCommand, opaqueCommand, doctorCommand, diffCommand, convertCommand, sealCommand, verifyCommand, unpackCommand, commitCommand, saveCommand];

const HELP = `Usage: ovl COMMAND [OPTIONS]...
       ovl --help | ovl COMMAND --help | ovl --version

Mount and inspect Linux overlay filesystems.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(10)}${c.summary}`).join('\n')}

Exit status, as mount(8): 0 success; 1 wrong usage, an invalid request or missing
privilege (root or CAP_SYS_ADMIN), or 'ovl doctor' found a problem; 32 the kernel
refused the mount or umount; 64 some of several TARGETs, PATHs or DIRs done, then
one failed (umount, whiteout, opaque).`;

function version(): string {
  // dist/bin/ovl.js -> the package root
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h') {
    process.stdout.write(HELP + '\n');
    return EXIT_OK;
  }
  if (first === '--version' || first === '-V') {
    process.stdout.write(version() + '\n');
    return EXIT_OK;
  }
  const command = COMMANDS.find((c) => c.name === first);
  if (!command) {
    const what = first === undefined ? 'a COMMAND is missing' : `unknown command '${first}'`;
    process.stderr.write(`ovl: ${what} (see 'ovl --help')\n`);
    return EXIT_USAGE;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`ovl: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = EXIT_USAGE;
  },
);
