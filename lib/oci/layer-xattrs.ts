// Which extended attributes travel in an OCI layer: all but overlay's own
// (trusted.overlay.*, user.overlay.*), which would steer the overlay the
// layer is mounted in (a redirect, a metacopy, an opaque mark); OCI marks
// whiteouts and opaque directories by name instead. unpack refuses a layer
// carrying them (layer-writer.ts); commit leaves them out (layer-tar.ts).
import { native } from '../core/native';

export function isOverlayXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}

/** An entry's attributes as PAX records of its tar header (`SCHILY.xattr.NAME`), overlay's own left out; undefined when none is left. */
export function xattrRecords(path: string): Record<string, Buffer> | undefined {
  let records: Record<string, Buffer> | undefined;
  for (const [name, value] of native.readXattrsSync(path)) {
    if (!isOverlayXattr(name)) (records ??= {})[`SCHILY.xattr.${name}`] = value;
  }
  return records;
}
