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
