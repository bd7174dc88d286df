// What `apply` is given: a list of named stacks, each the options of mount().
// Every stack is validated by mount()'s own validation, so a declaration
// takes exactly what mount() takes; errors are re-aimed at the stack
// (`stacks[3].lower[1]`) and name it.
import path from 'node:path';
import { invalid } from '../../core/errors';
import type { MountOptions } from '../../request/mount-options';
import type { NativeMountRequest } from '../../core/native';
import { typeError } from '../../core/args';
import { toNativeRequest } from '../../request/mount-request';
import { resolvePaths } from './paths';

/** One stack: a unique name and everything mount() takes. */
export interface StackDeclaration extends MountOptions {
  name: string;
}

export interface Declaration {
  stacks: StackDeclaration[];
}

/** A stack that passed validation. */
export interface ValidStack {
  index: number;
  name: string;
  /** The absolute target, as mount() resolves it. */
  target: string;
  /** mount()'s request, with `work` still the declared directory (apply hands out a fresh one inside it). */
  request: NativeMountRequest;
  /** The request as one string: two declarations of a stack are the same when these are. */
  key: string;
}

/** Points an error from mount()'s validation or the kernel at stack `index`, named `name`. */
export function inStack(err: unknown, index: number, name: string | undefined): unknown {
  if (!(err instanceof Error)) return err;
  const e = err as Error & { field?: string };
  const where = `stacks[${index}]`;
  if (e.field === undefined || !e.field.startsWith(where)) {
    Object.defineProperty(e, 'field', { value: e.field === undefined ? where : `${where}.${e.field}`, enumerable: true, configurable: true, writable: true });
    e.message = `${name !== undefined ? `stack '${name}' (${where})` : where}: ${e.message}`;
  }
  if (name !== undefined) Object.defineProperty(e, 'stackName', { value: name, enumerable: true, configurable: true, writable: true });
  return e;
}

function checkName(value: unknown, index: number): string {
  const field = `stacks[${index}].name`;
  if (typeof value !== 'string') throw typeError(field, 'a string', value);
  if (value === '' || /[\0\n]/.test(value)) throw invalid(field, 'must be a non-empty line of text');
  return value;
}

/**
 * apply gives each mount a fresh work directory inside the declared `work`
 * (WORK/gN, made and removed from this side), which an image's inside is not
 * until it is mounted: an upper or work in an image is refused here, before
 * a readdir of the image file would say ENOTDIR.
 */
function refuseImageWork(request: NativeMountRequest): void {
  const field = request.images?.[3] ? 'work' : request.images?.[2] ? 'upper' : undefined;
  if (field) throw invalid(field, 'apply hands each mount a fresh work directory inside the declared work (WORK/gN), which it cannot do inside an image: mount or replace a stack with an upper image instead');
}

/**
 * Validates a declaration: its shape, every stack with mount()'s own checks,
 * unique names and unique targets. Relative paths resolve against `base`.
 * Throws the first error, naming the field.
 */
export function validateDeclaration(declaration: unknown, base: string): ValidStack[] {
  if (declaration === null || typeof declaration !== 'object' || Array.isArray(declaration)) {
    throw typeError('declaration', 'an object { stacks: [...] }', declaration);
  }
  for (const key of Object.keys(declaration)) {
    if (key !== 'stacks') throw invalid(key, `unknown key in a declaration (it holds only 'stacks')`);
  }
  const stacks = (declaration as { stacks?: unknown }).stacks;
  if (!Array.isArray(stacks)) throw typeError('stacks', 'an array of stacks', stacks);
  const names = new Map<string, number>();
  const targets = new Map<string, number>();
  return stacks.map((stack: unknown, index): ValidStack => {
    if (stack === null || typeof stack !== 'object' || Array.isArray(stack)) throw typeError(`stacks[${index}]`, 'an object', stack);
    const name = checkName((stack as { name?: unknown }).name, index);
    let request: NativeMountRequest;
    try {
      // Everything but the name is mount()'s, which refuses a key it does not know.
      const { name: _name, ...options } = stack as StackDeclaration;
      request = toNativeRequest(resolvePaths(options as unknown as Record<string, unknown>, base) as unknown as StackDeclaration);
      refuseImageWork(request);
    } catch (err) {
      throw inStack(err, index, name);
    }
    const sameName = names.get(name);
    if (sameName !== undefined) throw invalid(`stacks[${index}].name`, `'${name}' is also the name of stacks[${sameName}]`);
    const sameTarget = targets.get(request.target);
    if (sameTarget !== undefined) throw invalid(`stacks[${index}].target`, `'${request.target}' is also the target of stacks[${sameTarget}]`, undefined, request.target);
    names.set(name, index);
    targets.set(request.target, index);
    return { index, name, target: path.resolve(request.target), request, key: JSON.stringify(request) };
  });
}

/** The request fields in which two versions of a stack differ, for the reason of a replace. */
export function changedFields(before: string, after: NativeMountRequest): string[] {
  let old: Record<string, unknown>;
  try {
    old = JSON.parse(before) as Record<string, unknown>;
  } catch {
    return ['everything'];
  }
  const now = after as unknown as Record<string, unknown>;
  const keys = new Set([...Object.keys(old), ...Object.keys(now)]);
  return [...keys].filter((k) => JSON.stringify(old[k]) !== JSON.stringify(now[k]));
}

