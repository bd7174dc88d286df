// node:util parseArgs, with its errors turned into short usage errors.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './usage-error';

export type Parsed<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T & { allowPositionals: true; strict: true; tokens: true }>>;

/**
 * A flag that takes one value (not `multiple`) given twice: parseArgs would
 * keep the last silently (`--upper A --upper B` mounting B), so it is refused,
 * as a repeated -o option is (lib/request/option-string.ts).
 */
function refuseRepeatedValue(config: ParseArgsConfig, tokens: ReadonlyArray<{ kind: string; name?: string }>): void {
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== 'option' || token.name === undefined) continue;
    const spec = config.options?.[token.name];
    if (spec?.type !== 'string' || spec.multiple) continue;
    if (seen.has(token.name)) throw new UsageError(`--${token.name} given more than once; it takes one value`);
    seen.add(token.name);
  }
}

/** Parses argv strictly (unknown options are errors), positionals allowed. */
export function parseCommandLine<T extends ParseArgsConfig>(config: T): Parsed<T> {
  let parsed: Parsed<T>;
  try {
    // tokens: the order of the flags, for those where the last one wins (-r and -o rw).
    parsed = parseArgs({ allowPositionals: true, strict: true, tokens: true, ...config }) as Parsed<T>;
  } catch (err) {
    // parseArgs explains how to pass a positional that starts with '-'; the first sentence is the point.
    const message = err instanceof Error ? (err.message.split(/\.\s/)[0] as string) : String(err);
    const short = message.replace(/\.$/, '');
    throw new UsageError(short.charAt(0).toLowerCase() + short.slice(1));
  }
  refuseRepeatedValue(config, parsed.tokens ?? []);
  return parsed;
}

/** Whether --json is among the options, so even a usage error can be reported as JSON. */
export function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}
