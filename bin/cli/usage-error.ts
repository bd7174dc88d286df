/** Wrong usage of the command line: exit 1, with a pointer to --help. */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE';

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A request the CLI answers "no" to without asking the library (nothing mounted there...). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
