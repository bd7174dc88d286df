import type { ParseArgsConfig } from 'node:util';
import { parseCommandLine, wantsJson, type Parsed } from './args';
import { EXIT_OK } from './exit-codes';
import { reportError } from './report';

/** One `ovl` subcommand: its help and how it runs. */
export interface Command {
  name: string;
  /** One line for `ovl --help`. */
  summary: string;
  /** The full `ovl COMMAND --help` text. */
  help: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;
const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

export type CommandLine<O extends Options> = Parsed<{ args: string[]; options: O & typeof HELP_OPTION }> & {
  tokens?: ReadonlyArray<{ kind: string; name?: string; value?: string | undefined }>;
};

export interface CommandFrame<O extends Options> {
  name: string;
  help: string;
  /** Its options; -h/--help is added. With a `json` option, even a usage error is reported as JSON. */
  options: O;
  /** A line to print under a failure (where the kernel's log says more). */
  hint?: (err: unknown) => string | undefined;
}

/**
 * What every command shares: strict parsing, --help, and one way to turn
 * any error into a message and mount(8)'s exit code. `body` gets the parsed
 * command line and whether to answer in JSON.
 */
export function framedRun<O extends Options>(frame: CommandFrame<O>, body: (line: CommandLine<O>, json: boolean) => Promise<number>): Command['run'] {
  const options = { ...frame.options, ...HELP_OPTION };
  return async (argv) => {
    const json = 'json' in frame.options && wantsJson(argv);
    try {
      // Tokens keep the order of options given more than once (--lower and --lower-image interleave).
      const line = parseCommandLine({ args: argv, options, tokens: true }) as CommandLine<O>;
      if ((line.values as { help?: boolean }).help) {
        process.stdout.write(frame.help + '\n');
        return EXIT_OK;
      }
      return await body(line, json);
    } catch (err) {
      return reportError(frame.name, err, json, frame.hint?.(err));
    }
  };
}
