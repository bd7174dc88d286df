// Paths in a declaration: relative ones resolve against one explicit base
// (the declaration file's directory for `ovl apply FILE`), not against
// whatever the working directory happens to be; and the form in which two
// stacks' paths are compared to find which stack is built on which.
import fs from 'node:fs';
import path from 'node:path';

function resolveLayer(base: string, value: unknown): unknown {
  if (typeof value === 'string') return value === '' ? value : path.resolve(base, value);
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && typeof (value as { image?: unknown }).image === 'string') {
    const image = (value as { image: string }).image;
    return image === '' ? value : { ...value, image: path.resolve(base, image) };
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'sealed' in value) {
    const layer = value as { sealed?: unknown; store?: unknown };
    const out: Record<string, unknown> = { ...value };
    if (typeof layer.sealed === 'string' && layer.sealed !== '') out.sealed = path.resolve(base, layer.sealed);
    if (typeof layer.store === 'string' && layer.store !== '') out.store = path.resolve(base, layer.store);
    return out;
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && typeof (value as { oci?: unknown }).oci === 'string') {
    const store = (value as { oci: string }).oci;
    return store === '' ? value : { ...value, oci: path.resolve(base, store) };
  }
  return value; // anything else is left for mount()'s validation to name
}

/**
 * A stack with its relative `target`, layers and image files resolved
 * against `base`; everything that is not a path string is left as it is,
 * for mount()'s validation to refuse by its field.
 */
export function resolvePaths(stack: Record<string, unknown>, base: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...stack };
  if (typeof stack.target === 'string' && stack.target !== '') out.target = path.resolve(base, stack.target);
  for (const key of ['lower', 'data'] as const) {
    if (Array.isArray(stack[key])) out[key] = (stack[key] as unknown[]).map((v) => resolveLayer(base, v));
  }
  for (const key of ['upper', 'work'] as const) {
    if (stack[key] !== undefined) out[key] = resolveLayer(base, stack[key]);
  }
  return out;
}

/**
 * `p` with the symbolic links of its existing part resolved (realpath of the
 * longest existing ancestor, the rest appended): a lower given through a
 * symlink still counts as lying under the target it leads into, and a
 * target that does not exist yet (inside another stack) can be compared too.
 */
export function comparablePath(p: string): string {
  const rest: string[] = [];
  let at = path.resolve(p);
  for (;;) {
    try {
      return path.join(fs.realpathSync(at), ...rest.reverse());
    } catch {
      const parent = path.dirname(at);
      if (parent === at) return path.resolve(p);
      rest.push(path.basename(at));
      at = parent;
    }
  }
}

/** Whether `inner` is `outer` or lies beneath it (both comparable paths). */
export function atOrBeneath(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer.endsWith('/') ? outer : `${outer}/`);
}
