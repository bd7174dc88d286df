// An unpacked OCI layer, converted in place to overlay form: `.wh.NAME`
// becomes a whiteout NAME, `.wh..wh..opq` an opaque mark on its directory.
// All or nothing, in one native call (native/convert/oci_convert_entry.cc): the tree is
// read and checked first, then changed in three stages (whiteouts, opaque
// marks, markers removed); a failure at any stage undoes the stages before
// it, so the layer is left as it was. Names are bytes throughout: a name
// that is not UTF-8 is converted under exactly its own bytes.
import { checkBoolean, checkChoice, checkOptions } from '../core/args';
import { checkPathLike, type PathLike } from '../layers/layer-names';
import { native, type WhiteoutKind } from '../core/native';

export interface FromOciOptions {
  /** The whiteouts to make: 'chardev' (default) or 'xattr' (for a layer mounted as a lower, 6.7+). */
  kind?: WhiteoutKind;
  /** Write user.overlay.* marks instead of trusted.overlay.*. */
  userxattr?: boolean;
}

/** The error fromOci rejects with when part of an undo failed too: what could not be put back. */
export interface FromOciError extends Error {
  notUndone?: string[];
}

/** The addon's arguments for a conversion, checked (exported for the tests that call the test addon). */
export function fromOciArgs(dir: PathLike, options: FromOciOptions | undefined): [PathLike, WhiteoutKind, boolean] {
  const root = checkPathLike('dir', dir);
  const o = checkOptions(options, ['kind', 'userxattr'], 'fromOci()');
  const userxattr = checkBoolean('userxattr', o.userxattr);
  const kind = checkChoice<WhiteoutKind>('kind', o.kind, ['chardev', 'xattr']) ?? 'chardev';
  return [root, kind, userxattr];
}

const NOT_UNDONE = 'not undone: ';

/** The addon names what an undo could not put back in `detail`; the API's error lists it in `notUndone` too. */
export function withNotUndone(err: unknown): unknown {
  const detail = (err as { detail?: unknown }).detail;
  if (!Array.isArray(detail)) return err;
  const notUndone = detail.filter((d): d is string => typeof d === 'string' && d.startsWith(NOT_UNDONE)).map((d) => d.slice(NOT_UNDONE.length));
  if (notUndone.length > 0) Object.defineProperty(err, 'notUndone', { value: notUndone, enumerable: true });
  return err;
}

/**
 * Converts the unpacked OCI layer `dir` (a path string or a Buffer of its
 * bytes) in place to overlay form, all or nothing. The whole tree is
 * checked before anything changes; a name it cannot convert (aufs
 * `.wh..wh.*` metadata, a marker that is a directory, a device or a fifo)
 * is refused, naming it. A failure later undoes what was done; what could
 * not be undone is listed in the error's `notUndone`.
 */
export async function fromOci(dir: PathLike, options?: FromOciOptions): Promise<void> {
  const args = fromOciArgs(dir, options);
  await native.convertOciLayer(...args).catch((err: unknown) => {
    throw withNotUndone(err);
  });
}

/** Synchronous twin of {@link fromOci}. */
export function fromOciSync(dir: PathLike, options?: FromOciOptions): void {
  const args = fromOciArgs(dir, options);
  try {
    native.convertOciLayerSync(...args);
  } catch (err) {
    throw withNotUndone(err);
  }
}
