// fromGraphDriver(): mount options from the GraphDriver record `docker inspect`
// prints for a container or an image on the overlay2 storage driver.
import fs from 'node:fs';
import path from 'node:path';
import { checkBoolean, checkKnownKeys, checkOptionsObject } from '../core/args';
import { invalid } from '../core/errors';

const ENOENT = 2;
const ENOTDIR = 20;
const EINVAL = 22;

/** GraphDriver.Data as overlay2 writes it. */
export interface GraphDriverData {
  /** Lower layers joined with ':', the top one first. */
  LowerDir?: string;
  UpperDir?: string;
  WorkDir?: string;
  MergedDir?: string;
}

export interface GraphDriverRecord {
  Name?: string;
  Data?: GraphDriverData;
}

export interface GraphDriverOptions {
  /** A read-only view of the layers: UpperDir becomes the top lower layer and nothing is written. */
  readOnly?: boolean;
  /** Check that every layer exists and is a directory (default true). The mount checks the directories it opens again. */
  checkLayers?: boolean;
}

/** What `mount()` takes, `target` being MergedDir when the record names one. */
export interface GraphDriverMount {
  lower: string[];
  upper?: string;
  work?: string;
  target?: string;
  readOnly?: boolean;
}

// overlay2 is Docker's driver; 'overlay' is its predecessor, whose records
// have the same keys (with one lower directory). Others are not overlays.
const OVERLAY_DRIVERS = ['overlay2', 'overlay'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Finds the GraphDriver record in what `docker inspect` printed, or in a part of it. */
function findRecord(input: unknown): { name?: string; data: Record<string, unknown> } {
  let value = input;
  if (Array.isArray(value)) {
    if (value.length !== 1) throw invalid('record', `a docker inspect array must hold exactly one object, this one holds ${value.length}: pick one (jq '.[0]')`);
    value = value[0];
  }
  if (!isObject(value)) throw invalid('record', 'expected the output of docker inspect, its GraphDriver object, or GraphDriver.Data');
  if (isObject(value.GraphDriver)) value = value.GraphDriver;
  const record = value as Record<string, unknown>;
  if (isObject(record.Data)) {
    if (record.Name !== undefined && typeof record.Name !== 'string') throw invalid('GraphDriver.Name', 'must be a string');
    return { name: record.Name as string | undefined, data: record.Data };
  }
  if (record.Data === null) throw invalid('GraphDriver.Data', `is null: the ${String(record.Name ?? 'storage')} driver recorded no layers`);
  if ('LowerDir' in record || 'UpperDir' in record) return { data: record };
  throw invalid('record', 'has no GraphDriver, Data, LowerDir or UpperDir');
}

function optionalPath(data: Record<string, unknown>, key: keyof GraphDriverData): string | undefined {
  const v = data[key];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw invalid(key, 'must be a string');
  if (!path.isAbsolute(v)) throw invalid(key, `must be an absolute path, got '${v}'`);
  return v;
}

/**
 * Splits LowerDir. Docker joins absolute layer paths with ':' and does not
 * escape them, so a ':' is a separator only where a new absolute path starts
 * (':' followed by '/'); a '\:' is taken as a literal colon. A colon that is
 * part of a path and followed by '/' cannot be told apart: the layer check
 * then reports the pieces as missing.
 */
export function splitLowerDir(lowerDir: string): string[] {
  const layers: string[] = [];
  let current = '';
  for (let i = 0; i < lowerDir.length; i++) {
    const c = lowerDir[i];
    if (c === '\\' && lowerDir[i + 1] === ':') {
      current += ':';
      i++;
    } else if (c === ':' && lowerDir[i + 1] === '/') {
      layers.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  layers.push(current);
  return layers.filter((l) => l !== '');
}

function checkLayer(field: string, dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw invalid(field, `layer '${dir}' does not exist${code && code !== 'ENOENT' ? ` (${code})` : ''}`, ENOENT, dir);
  }
  if (!st.isDirectory()) throw invalid(field, `layer '${dir}' is not a directory`, ENOTDIR, dir);
}

const GRAPH_DRIVER_OPTION_KEYS: ReadonlySet<string> = new Set(['readOnly', 'checkLayers']);

function checkGraphDriverOptions(options: GraphDriverOptions | undefined): GraphDriverOptions {
  const o = checkOptionsObject('options', options);
  checkKnownKeys(o, GRAPH_DRIVER_OPTION_KEYS, 'fromGraphDriver()');
  checkBoolean('readOnly', o.readOnly);
  if (o.checkLayers !== undefined) checkBoolean('checkLayers', o.checkLayers);
  return o;
}

/**
 * Turns a GraphDriver record (the whole `docker inspect` array of one, one
 * inspect object, its GraphDriver, or GraphDriver.Data) into mount options.
 * Refuses, with the reason, a driver other than overlay2 and layers that do
 * not exist.
 */
export function fromGraphDriver(record: unknown, options?: GraphDriverOptions): GraphDriverMount {
  const o = checkGraphDriverOptions(options);
  const { name, data } = findRecord(record);
  if (name !== undefined && !OVERLAY_DRIVERS.includes(name)) {
    throw invalid('GraphDriver.Name', `the '${name}' storage driver does not describe overlay layers; only overlay2 (and the older overlay) records can be mounted`);
  }
  const lowerDir = data.LowerDir;
  if (lowerDir !== undefined && typeof lowerDir !== 'string') throw invalid('LowerDir', 'must be a colon-separated string');
  const lower = lowerDir ? splitLowerDir(lowerDir) : [];
  lower.forEach((l, i) => {
    if (!path.isAbsolute(l)) throw invalid(`LowerDir[${i}]`, `must be an absolute path, got '${l}'`);
  });
  const upper = optionalPath(data, 'UpperDir');
  const work = optionalPath(data, 'WorkDir');
  const target = optionalPath(data, 'MergedDir');
  if (upper === undefined && lower.length === 0) throw invalid('record', 'names no layers: neither LowerDir nor UpperDir');

  if (o.checkLayers !== false) {
    lower.forEach((l, i) => checkLayer(`LowerDir[${i}]`, l));
    if (upper !== undefined) checkLayer('UpperDir', upper);
    if (work !== undefined && !o.readOnly) checkLayer('WorkDir', work);
  }

  const withTarget = <T extends object>(o: T): T & { target?: string } => (target === undefined ? o : { ...o, target });
  if (o.readOnly) {
    const layers = upper === undefined ? lower : [upper, ...lower];
    // Without an upper the kernel needs two lower layers ("at least 2 lowerdir are needed while upperdir nonexistent").
    if (layers.length < 2) throw invalid('record', 'a read-only view needs at least two layers, this record has one: bind-mount it read-only instead', EINVAL);
    return withTarget({ lower: layers, readOnly: true });
  }
  if (upper === undefined) return withTarget({ lower, readOnly: true });
  if (work === undefined) throw invalid('WorkDir', 'is missing: an UpperDir needs its WorkDir (or mount read-only)');
  if (lower.length === 0) throw invalid('LowerDir', 'is missing: overlay needs a lower layer under UpperDir (or mount read-only)');
  return withTarget({ lower, upper, work });
}
