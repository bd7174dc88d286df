// mount(8)-style option strings: `lowerdir=/a\:b:/c,upperdir=/u,workdir=/w,index=on`.
// Options are split on ',' and layers on ':', and '\' escapes the next
// character, as the kernel's own parser does; so a path, whatever it holds,
// can never become a second option or a second layer.
import { checkArray, checkBoolean, checkChoice, checkKnownKeys, checkOptionsObject, typeError } from '../core/args';
import { invalid } from '../core/errors';
import { isLsmKey, LSM_KEYS } from './lsm-options';
import { ATIMES, MOUNT_OPTION_KEYS, type MountFlags, type MountOptions, type OverlayLayers } from './mount-options';
import { FEATURES, type FeatureSpec, type OverlayFeatures } from './overlay-options';

/** Everything an option string can say: all of MountOptions but the target. */
export type ParsedOptions = Partial<Omit<MountOptions, 'target' | 'mechanism' | keyof OverlayLayers>> & {
  // An option string names directories only: image layers have no `lowerdir=` form.
  lower?: string[];
  data?: string[];
  upper?: string;
  work?: string;
};

const ESCAPED = /[\\,:]/g;

/** Escapes a path for a `lowerdir=`, `upperdir=` or `workdir=` value. */
export function escapePath(p: string): string {
  if (typeof p !== 'string') throw typeError('path', 'a string', p);
  return p.replace(ESCAPED, (c) => '\\' + c);
}

/** Splits on `sep` where it is not escaped, keeping escapes in the pieces. */
export function splitUnescaped(text: string, sep: string): string[] {
  const pieces: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\' && i + 1 < text.length) {
      current += c + text[++i];
    } else if (c === sep) {
      pieces.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  pieces.push(current);
  return pieces;
}

const LSM_QUOTE_START = new RegExp(`^(?:${LSM_KEYS.join('|')})="$`);

/**
 * The options of a string: split on ',' where not escaped, and, as mount(8)
 * reads them, not between the double quotes of an LSM label
 * (`context="system_u:object_r:container_file_t:s0:c1,c2"`). Quotes anywhere
 * else are ordinary characters, so no path changes meaning.
 */
function splitOptions(text: string): string[] {
  const items: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      current += c;
      if (c === '"') quoted = false;
    } else if (c === '\\' && i + 1 < text.length) {
      current += c + text[++i];
    } else if (c === ',') {
      items.push(current);
      current = '';
    } else {
      current += c;
      if (c === '"' && LSM_QUOTE_START.test(current)) quoted = true;
    }
  }
  items.push(current);
  return items;
}

/** An LSM label's value: between double quotes (needed when it holds ','), or bare. */
function labelValue(key: string, value: string): string {
  if (!value.startsWith('"')) return value;
  if (value.length < 2 || !value.endsWith('"')) throw invalid(key, `the quote opened in '${key}=${value}' is not closed`);
  return value.slice(1, -1);
}

function unescape(text: string): string {
  return text.replace(/\\(.)/gs, '$1');
}

/** `a:b::d1::d2`: lower layers, then data-only layers after the first `::`. */
function parseLowerdir(value: string): { lower: string[]; data: string[] } {
  const pieces = splitUnescaped(value, ':');
  const lower: string[] = [];
  const data: string[] = [];
  let inData = false;
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i] as string;
    if (piece === '') {
      // An empty piece is the middle of '::'; any other empty layer is an error.
      if (i === 0 || i === pieces.length - 1 || pieces[i + 1] === '') throw invalid('lowerdir', `empty layer in '${value}'`);
      inData = true;
      continue;
    }
    (inData ? data : lower).push(unescape(piece));
  }
  return { lower, data };
}

type FlagSetter = (o: MountFlags) => void;
const MOUNT_FLAGS: Record<string, FlagSetter> = {
  ro: (o) => (o.readOnly = true),
  rw: (o) => (o.readOnly = false),
  nosuid: (o) => (o.nosuid = true),
  suid: (o) => (o.nosuid = false),
  nodev: (o) => (o.nodev = true),
  dev: (o) => (o.nodev = false),
  noexec: (o) => (o.noexec = true),
  exec: (o) => (o.noexec = false),
  noatime: (o) => (o.atime = 'noatime'),
  relatime: (o) => (o.atime = 'relatime'),
  strictatime: (o) => (o.atime = 'strictatime'),
  defaults: () => undefined,
};

function featureFromKey(key: string): { spec: FeatureSpec; negated: boolean } | undefined {
  for (const spec of FEATURES) {
    if (spec.key === key) return { spec, negated: false };
    if (spec.kind.type === 'pair' && spec.kind.off === key) return { spec, negated: true };
  }
  return undefined;
}

function parseFeature(spec: FeatureSpec, negated: boolean, value: string | undefined, out: OverlayFeatures): void {
  const set = (v: unknown): void => void Object.assign(out, { [spec.field]: v });
  switch (spec.kind.type) {
    case 'onoff':
      if (value !== 'on' && value !== 'off') throw invalid(spec.key, `must be '${spec.key}=on' or '${spec.key}=off'`);
      return set(value === 'on');
    case 'enum':
      if (value === undefined || !spec.kind.values.includes(value)) {
        throw invalid(spec.key, `must be ${spec.kind.values.map((v) => `'${spec.key}=${v}'`).join(', ')}`);
      }
      return set(value);
    case 'flag':
    case 'pair':
      if (value !== undefined) throw invalid(spec.key, `takes no value, got '${spec.key}=${value}'`);
      return set(!negated);
  }
}

/**
 * One rule for a repeated option: each of overlay's options and LSM labels
 * names one setting and is taken once; a second is refused naming the key.
 * mount(8) would pass both and the kernel silently take the last (for paths
 * a typo in a script then mounts another upper), so refusing is the safe
 * reading. `lowerdir+`/`datadir+` add a layer each and are meant to repeat,
 * in the order the kernel takes them. The mount flags (ro/rw, nosuid/suid...)
 * are mount(8)'s own words for one flag bit: of those the last wins, as
 * mount(8) reads them.
 */
class SeenKeys {
  private readonly items = new Map<string, string>();

  /** Records `item` as the one giving `setting`; throws naming `key` if another did. */
  once(setting: string, key: string, item: string): void {
    const earlier = this.items.get(setting);
    if (earlier !== undefined) {
      throw invalid(key, `given more than once ('${earlier}' and '${item}'); each option is taken once, where the kernel would silently take the last`);
    }
    this.items.set(setting, item);
  }
}

const LOWER_ORDER = 'lowerdir+ and datadir+ cannot follow lowerdir=, nor lowerdir+ follow datadir+ (the kernel refuses both)';

/**
 * Parses a mount(8)-style option string into typed options. Unknown options
 * are refused, naming the option, and so is an option given twice (SeenKeys).
 */
export function parseOptions(text: string): ParsedOptions {
  if (typeof text !== 'string') throw typeError('options', 'a string', text);
  const out: ParsedOptions = {};
  const seen = new SeenKeys();
  let lowerdirGiven = false;
  for (const item of splitOptions(text)) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? undefined : item.slice(eq + 1);
    const needsValue = () => {
      if (value === undefined || value === '') throw invalid(key, `needs a value: '${key}=...'`);
      return value;
    };
    if (key === 'lowerdir') {
      if (!lowerdirGiven && (out.lower?.length || out.data?.length)) throw invalid('lowerdir', `cannot be mixed with lowerdir+ or datadir+ ('${item}')`);
      seen.once('lowerdir', key, item);
      lowerdirGiven = true;
      Object.assign(out, parseLowerdir(needsValue()));
    } else if (key === 'lowerdir+') {
      if (lowerdirGiven || out.data?.length) throw invalid('lowerdir+', LOWER_ORDER);
      (out.lower ??= []).push(unescape(needsValue()));
    } else if (key === 'datadir+') {
      if (lowerdirGiven) throw invalid('datadir+', LOWER_ORDER);
      (out.data ??= []).push(unescape(needsValue()));
    } else if (key === 'upperdir' || key === 'workdir') {
      seen.once(key, key, item);
      out[key === 'upperdir' ? 'upper' : 'work'] = unescape(needsValue());
    } else if (isLsmKey(key)) {
      seen.once(key, key, item);
      out[key] = labelValue(key, needsValue());
    } else if (Object.hasOwn(MOUNT_FLAGS, key)) {
      if (value !== undefined) throw invalid(key, `takes no value, got '${item}'`);
      (MOUNT_FLAGS[key] as FlagSetter)(out);
    } else {
      const feature = featureFromKey(key);
      if (!feature) throw key === '' ? invalid('options', `'${item}' has no option name`) : invalid(key, 'unknown option');
      seen.once(feature.spec.field, key, item);
      parseFeature(feature.spec, feature.negated, value, out);
    }
  }
  if (out.data && !out.data.length) delete out.data;
  return out;
}

function featureText(spec: FeatureSpec, value: unknown): string | undefined {
  switch (spec.kind.type) {
    case 'onoff':
      return `${spec.key}=${value ? 'on' : 'off'}`;
    case 'enum':
      return `${spec.key}=${String(value)}`;
    case 'flag':
      return value ? spec.key : undefined;
    case 'pair':
      return value ? spec.key : spec.kind.off;
  }
}

/**
 * Formats typed options as a mount(8)-style string the kernel's mount(2)
 * parser reads back to the same layers: `,` `:` and `\` in paths are escaped.
 */
export function formatOptions(options: ParsedOptions): string {
  checkParsedOptions(options);
  const parts: string[] = [];
  if (options.lower?.length) {
    const layers = options.lower.map(escapePath).join(':');
    const data = (options.data ?? []).map((d) => '::' + escapePath(d)).join('');
    parts.push(`lowerdir=${layers}${data}`);
  }
  if (options.upper !== undefined) parts.push(`upperdir=${escapePath(options.upper)}`);
  if (options.work !== undefined) parts.push(`workdir=${escapePath(options.work)}`);
  for (const spec of FEATURES) {
    const value = options[spec.field];
    if (value === undefined) continue;
    const text = featureText(spec, value);
    if (text) parts.push(text);
  }
  // Quoted, as mount(8) and Podman write them: a label may hold ','.
  for (const key of LSM_KEYS) if (options[key] !== undefined) parts.push(`${key}="${options[key]}"`);
  if (options.readOnly) parts.push('ro');
  if (options.nosuid) parts.push('nosuid');
  if (options.nodev) parts.push('nodev');
  if (options.noexec) parts.push('noexec');
  const atime = options.noatime ? 'noatime' : options.atime;
  if (atime) parts.push(atime);
  return parts.join(',');
}

const PARSED_OPTION_KEYS: ReadonlySet<string> = new Set([...MOUNT_OPTION_KEYS].filter((k) => !['target', 'propagation', 'idmap', 'mechanism'].includes(k)));

function checkStrings(field: string, value: unknown): void {
  if (value === undefined) return;
  checkArray(field, value, 'an array of path strings').forEach((item, i) => {
    if (typeof item !== 'string') throw typeError(`${field}[${i}]`, 'a path string', item);
  });
}

/** What formatOptions can write: the fields parseOptions gives, each of its type. */
function checkParsedOptions(options: ParsedOptions): void {
  if (options === undefined) throw typeError('options', 'an object', options);
  checkOptionsObject('options', options);
  checkKnownKeys(options, PARSED_OPTION_KEYS, 'formatOptions()');
  checkStrings('lower', options.lower);
  checkStrings('data', options.data);
  for (const field of ['upper', 'work'] as const) {
    if (options[field] !== undefined && typeof options[field] !== 'string') throw typeError(field, 'a path string', options[field]);
  }
  for (const spec of FEATURES) {
    const value = options[spec.field];
    if (spec.kind.type === 'enum') checkChoice(spec.field, value, spec.kind.values);
    else checkBoolean(spec.field, value);
  }
  for (const flag of ['readOnly', 'nosuid', 'nodev', 'noexec', 'noatime'] as const) checkBoolean(flag, options[flag]);
  checkChoice('atime', options.atime, ATIMES);
}
