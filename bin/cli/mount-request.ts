// What `ovl mount` and `ovl replace` share: their flags, and how -o, the layer
// flags, --make-*, --idmap and --docker become one MountOptions. The library
// validates the result; only what the command line itself can get wrong is refused here.
import { splitUnescaped } from '../../lib/internal';
import { fromGraphDriver, parseOptions, type LayerSource, type SealedLayer, type OciLayer, type IdMapping, type IdmapOptions, type MechanismName, type MountOptions, type ParsedOptions, type Propagation } from '../../lib/index';
import { inputName, MAX_INPUT_BYTES, readInputText } from './read-input';
import { UsageError } from './usage-error';

export const MOUNT_FLAGS = {
  options: { type: 'string', short: 'o', multiple: true },
  lower: { type: 'string', multiple: true },
  data: { type: 'string', multiple: true },
  upper: { type: 'string' },
  work: { type: 'string' },
  'lower-image': { type: 'string', multiple: true },
  oci: { type: 'string', multiple: true },
  'data-image': { type: 'string', multiple: true },
  'upper-image': { type: 'string' },
  sealed: { type: 'string', multiple: true },
  store: { type: 'string' },
  digest: { type: 'string' },
  'read-only': { type: 'boolean', short: 'r' },
  json: { type: 'boolean' },
  mechanism: { type: 'string' },
  'make-private': { type: 'boolean' },
  'make-shared': { type: 'boolean' },
  'make-slave': { type: 'boolean' },
  'make-unbindable': { type: 'boolean' },
  idmap: { type: 'string', multiple: true },
  'idmap-userns': { type: 'string' },
  docker: { type: 'string' },
} as const;

export interface MountFlagValues {
  options?: string[];
  lower?: string[];
  data?: string[];
  upper?: string;
  work?: string;
  'lower-image'?: string[];
  oci?: string[];
  'data-image'?: string[];
  'upper-image'?: string;
  sealed?: string[];
  store?: string;
  digest?: string;
  'read-only'?: boolean;
  mechanism?: string;
  'make-private'?: boolean;
  'make-shared'?: boolean;
  'make-slave'?: boolean;
  'make-unbindable'?: boolean;
  idmap?: string[];
  'idmap-userns'?: string;
  docker?: string;
}

/** The help lines both commands print for the flags they share. */
export const MOUNT_FLAGS_HELP = `  -o, --options OPTIONS  mount(8)-style options, e.g. lowerdir=/a:/b,upperdir=/u,workdir=/w,index=on;
                         escape ',' ':' and '\\' in paths with '\\'. Also ro, rw, nosuid, nodev, noexec,
                         noatime, relatime, strictatime, overlay's own options, and the LSM labels
                         context=, fscontext=, defcontext=, rootcontext= (quoted when they hold ',':
                         context="system_u:object_r:container_file_t:s0:c1,c2"), passed to the
                         kernel as they are. May be repeated, but an overlay option or label given
                         twice is refused, naming it; of ro, rw and -r the last one wins.
      --lower DIR        a lower layer; repeat for more, the first is the top (after any from -o)
      --data DIR         a data-only lower layer (6.5+), repeatable; its files show only through
                         the redirect of a metacopy file in a layer above, which overlay follows
                         with metacopy=on (which some kernels, 6.12 among them, need to mount it)
      --upper DIR        the writable layer (needs --work)
      --work DIR         overlay's work directory: empty, on the same mount as upper, not inside it
      --lower-image FILE a lower layer from an ext4, erofs or squashfs image file, mounted read-only
                         and never at a path; repeatable, in order with --lower
      --oci STORE:REF    the layers of image REF of the image store STORE (ovl unpack), top first;
                         split at the first ':' (a STORE holding a ':' is given as a path without
                         one: a symlink, or ./ from another directory); repeatable, in order with --lower
      --data-image FILE  a data-only lower layer from an image file; repeatable, in order with --data
      --upper-image FILE upper and work from the directories upper/ and work/ of a read-write
                         image (ext4), made if missing; not with --upper, --work or upperdir=
      --sealed IMAGE     a lower layer sealed in composefs' form: an EROFS metadata image over the
                         object store --store; repeatable, in order with --lower
      --store DIR        the object store (xx/<62 hex>) of every --sealed image, mounted as a
                         data-only layer (6.5+; the bottom lower before)
      --digest sha256:HEX
                         the fs-verity digest the one --sealed image must have; measured first
  -r, --read-only        mount read-only (the same as -o ro, where it stands)
      --make-private, --make-shared, --make-slave, --make-unbindable
                         the new mount's propagation, set once it is attached
      --idmap uid:INSIDE:OUTSIDE:COUNT, --idmap gid:INSIDE:OUTSIDE:COUNT
                         idmap the lower layers: a lower's file owned by INSIDE shows as OUTSIDE;
                         repeatable; a map left out is the same as the other (6.8+)
      --idmap-userns PATH
                         idmap the lower layers as the user namespace PATH does (/proc/PID/ns/user)
      --docker FILE|-    the layers of a 'docker inspect' record (overlay2), from FILE or stdin;
                         TARGET defaults to its MergedDir
      --json             print {"target","mechanism","mountId","warnings"}; errors as JSON on stderr
      --mechanism NAME   force how the mount reaches the kernel (diagnostics): fsconfig-fd,
                         fsconfig-path, mount, mount-fd-path, mount-fd-relative
  -h, --help             show this help`;

const PROPAGATION_FLAGS: Array<[keyof MountFlagValues, Propagation]> = [
  ['make-private', 'private'],
  ['make-shared', 'shared'],
  ['make-slave', 'slave'],
  ['make-unbindable', 'unbindable'],
];

/** The one --make-* flag given, if any. */
export function propagationOf(values: MountFlagValues): Propagation | undefined {
  const given = PROPAGATION_FLAGS.filter(([flag]) => values[flag]);
  if (given.length > 1) throw new UsageError(`one of ${given.map(([flag]) => `--${flag}`).join(', ')} at most`);
  return given[0]?.[1];
}

/** `uid:0:100000:65536` as ['uid', [0, 100000, 65536]]; the flag is named in every refusal. */
function parseIdmapFlag(text: string): ['uid' | 'gid', IdMapping] {
  const m = /^(uid|gid):(\d+):(\d+):(\d+)$/.exec(text);
  if (!m) throw new UsageError(`--idmap: '${text}' is not uid:INSIDE:OUTSIDE:COUNT or gid:INSIDE:OUTSIDE:COUNT`);
  return [m[1] as 'uid' | 'gid', [Number(m[2]), Number(m[3]), Number(m[4])]];
}

/** --idmap and --idmap-userns as the library's `idmap` option; ranges are checked by the library. */
function idmapOf(values: MountFlagValues): IdmapOptions | undefined {
  const userns = values['idmap-userns'];
  const ranges = (values.idmap ?? []).map(parseIdmapFlag);
  if (userns !== undefined && ranges.length) throw new UsageError('--idmap and --idmap-userns cannot be combined');
  if (userns !== undefined) {
    if (userns === '') throw new UsageError('--idmap-userns: PATH is empty');
    return { userns };
  }
  if (!ranges.length) return undefined;
  const uidMap = ranges.filter(([kind]) => kind === 'uid').map(([, range]) => range);
  const gidMap = ranges.filter(([kind]) => kind === 'gid').map(([, range]) => range);
  if (!uidMap.length) return { gidMap };
  return gidMap.length ? { uidMap, gidMap } : { uidMap };
}

function isRemountItem(item: string): boolean {
  return item === 'remount';
}

/**
 * Takes `remount` out of the -o strings, as mount(8) reads it: an item of its
 * own between unescaped commas. Returns the other items, still escaped.
 */
export function withoutRemount(options: string[]): { remount: boolean; rest: string[] } {
  let remount = false;
  const rest: string[] = [];
  for (const text of options) {
    const items = splitUnescaped(text, ',');
    if (items.some(isRemountItem)) remount = true;
    rest.push(items.filter((item) => !isRemountItem(item)).join(','));
  }
  return { remount, rest };
}

function onlyOnce(what: string, fromOptions: string | undefined, fromFlag: string | undefined): string | undefined {
  if (fromOptions !== undefined && fromFlag !== undefined) throw new UsageError(`${what} given twice (in -o and as --${what})`);
  return fromFlag ?? fromOptions;
}

/** What parseArgs's tokens say of one option: its name and, for a string option, its value. */
export interface OptionToken {
  kind: string;
  name?: string;
  value?: string | undefined;
}

/**
 * The -o strings in command-line order, each -r/--read-only among them as
 * `ro`: so the last of ro and rw wins wherever each was given, as in mount(8).
 */
function optionStringsInOrder(tokens: readonly OptionToken[]): string[] {
  const strings: string[] = [];
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    if (token.name === 'read-only') strings.push('ro');
    else if (token.name === 'options' && token.value !== undefined) strings.push(token.value);
  }
  return strings;
}

/** The flags with -o and -r folded into one ordered list of -o strings (not for --docker, where -r means a read-only view). */
export function withReadOnlyInOptions<V extends MountFlagValues>(values: V, tokens: readonly OptionToken[]): V {
  return { ...values, options: optionStringsInOrder(tokens), 'read-only': undefined };
}

/** -o, parsed by the library (it names an unknown option). */
export function parsedOptionsOf(options: string[] | undefined): ParsedOptions {
  return options?.length ? parseOptions(options.join(',')) : {};
}

/** Whether any layer was asked for, in -o or by flag. */
export function namesLayers(values: MountFlagValues, parsed: ParsedOptions): boolean {
  return !!(
    parsed.lower?.length ||
    parsed.data?.length ||
    parsed.upper ||
    parsed.work ||
    values.lower?.length ||
    values.data?.length ||
    values.upper !== undefined ||
    values.work !== undefined ||
    values['lower-image']?.length ||
    values.oci?.length ||
    values['data-image']?.length ||
    values['upper-image'] !== undefined ||
    values.sealed?.length
  );
}

/** A command line's options in the order given (parseArgs tokens). */
export type OptionTokens = ReadonlyArray<{ kind: string; name?: string; value?: string | undefined }>;

// --oci STORE:REF, split at the first ':' (a reference holds colons, 'name:tag', 'sha256:...').
function ociLayer(value: string): OciLayer {
  const colon = value.indexOf(':');
  if (colon <= 0 || colon === value.length - 1) throw new UsageError(`--oci takes STORE:REF, got '${value}'`);
  return { oci: value.slice(0, colon), ref: value.slice(colon + 1) };
}

/**
 * The layers of one kind from the flags, directories, image files and image
 * stores in the order they were given: `--lower a --lower-image b.img --lower c`
 * stacks a, b.img, c.
 */
function orderedLayers(tokens: OptionTokens | undefined, dirFlag: string, imageFlag: string, dirs: string[] = [], images: string[] = [], more: { sealed?: SealedLayer[]; oci?: string[] } = {}): Array<LayerSource | SealedLayer | OciLayer> {
  const [sealed, stores] = [more.sealed ?? [], more.oci ?? []];
  if (!images.length && !sealed.length && !stores.length) return dirs;
  if (!tokens) return [...sealed, ...dirs, ...images.map((image) => ({ image })), ...stores.map(ociLayer)];
  const out: Array<LayerSource | SealedLayer | OciLayer> = [];
  let nextSealed = 0;
  for (const token of tokens) {
    if (token.kind !== 'option' || token.value === undefined) continue;
    if (token.name === dirFlag) out.push(token.value);
    else if (token.name === imageFlag) out.push({ image: token.value });
    else if (token.name === 'sealed' && sealed[nextSealed]) out.push(sealed[nextSealed++]!);
    else if (more.oci !== undefined && token.name === 'oci') out.push(ociLayer(token.value));
  }
  return out;
}

/** The --sealed layers, each over the one --store; --digest belongs to a lone --sealed. */
function sealedLayers(values: MountFlagValues): SealedLayer[] {
  const images = values.sealed ?? [];
  if (!images.length) {
    if (values.store !== undefined || values.digest !== undefined) throw new UsageError(`--${values.store !== undefined ? 'store' : 'digest'} goes with --sealed`);
    return [];
  }
  if (values.store === undefined) throw new UsageError('--sealed needs --store DIR, the object store its files lead into');
  if (values.digest !== undefined && images.length > 1) throw new UsageError('--digest names the digest of one --sealed image: give one --sealed with it');
  return images.map((sealed) => ({ sealed, store: values.store!, ...(values.digest !== undefined ? { digest: values.digest } : {}) }));
}

/** -o and the layer, flag, propagation and idmap options as one mount request (without target). */
export function layerOptions(values: MountFlagValues, parsed: ParsedOptions, tokens?: OptionTokens): Omit<MountOptions, 'target'> {
  const lower = orderedLayers(tokens, 'lower', 'lower-image', values.lower, values['lower-image'], { sealed: sealedLayers(values), oci: values.oci });
  const options: Omit<MountOptions, 'target'> = { ...parsed, lower: [...(parsed.lower ?? []), ...lower] };
  const data = [...(parsed.data ?? []), ...(orderedLayers(tokens, 'data', 'data-image', values.data, values['data-image']) as LayerSource[])];
  if (data.length) options.data = data;
  const upper = onlyOnce('upper', parsed.upper, values.upper);
  const work = onlyOnce('work', parsed.work, values.work);
  const upperImage = values['upper-image'];
  if (upperImage !== undefined) {
    if (upper !== undefined || work !== undefined) throw new UsageError('--upper-image gives upper and work: no --upper, --work, upperdir= or workdir= with it');
    if (upperImage === '') throw new UsageError('--upper-image: FILE is empty');
    options.upper = { image: upperImage, path: 'upper' };
    options.work = { image: upperImage, path: 'work' };
  }
  if (upper !== undefined) options.upper = upper;
  if (work !== undefined) options.work = work;
  return withFlags(options, values);
}

/** -r, --mechanism, --make-* and --idmap on top of a request. */
function withFlags<T extends Omit<MountOptions, 'target'>>(options: T, values: MountFlagValues): T {
  if (values['read-only']) options.readOnly = true;
  if (values.mechanism !== undefined) options.mechanism = values.mechanism as MechanismName;
  const propagation = propagationOf(values);
  if (propagation !== undefined) options.propagation = propagation;
  const idmap = idmapOf(values);
  if (idmap !== undefined) options.idmap = idmap;
  return options;
}

async function readRecordText(source: string): Promise<string> {
  const what = inputName(source);
  const tooBig = (): Error => new UsageError(`--docker: ${what} holds more than ${MAX_INPUT_BYTES / (1024 * 1024)} MiB, more than any docker inspect record; stopped reading`);
  try {
    return await readInputText(source, tooBig);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`--docker: cannot read ${what}: ${(err as Error).message}`);
  }
}

/**
 * The request from a `docker inspect` record: its layers, and MergedDir as the
 * target unless TARGET is given. Layer flags and -o cannot be mixed in.
 */
export async function dockerOptions(values: MountFlagValues, target: string | undefined): Promise<MountOptions> {
  if (values.options?.length || namesLayers(values, {})) {
    throw new UsageError('--docker takes the layers from the record: no -o, --lower, --data, --upper, --work or image flags with it');
  }
  const text = await readRecordText(values.docker as string);
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--docker: not JSON: ${(err as Error).message}`);
  }
  const fromRecord = fromGraphDriver(record, values['read-only'] ? { readOnly: true } : {});
  const chosen = target ?? fromRecord.target;
  if (chosen === undefined) throw new UsageError('TARGET is missing, and the record names no MergedDir');
  const { target: _mergedDir, ...layers } = fromRecord;
  return { ...withFlags(layers, values), target: chosen };
}
