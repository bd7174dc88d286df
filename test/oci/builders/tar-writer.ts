// Layers and image archives built byte for byte for the tests, hostile
// entries included (names no honest tool writes), so the unpack tests need
// no tar binary nor podman. Each entry's header is the library's own tar
// writer's (lib/oci/tar-writer.ts): long names go in PAX headers.
import { createHash } from 'node:crypto';
import { TAR_END, tarHeader, tarPadding, type TarWriteType } from '../../../lib/oci/tar-writer';

export interface TarSpec {
  name: string;
  type?: 'file' | 'dir' | 'symlink' | 'link' | 'chardev' | 'blockdev' | 'fifo';
  content?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  /** A device's [major, minor]. */
  device?: [number, number];
  /** PAX records written before the entry (path, xattrs...). */
  pax?: Record<string, string>;
}

const TYPE: Record<NonNullable<TarSpec['type']>, TarWriteType> = { file: 'file', link: 'link', symlink: 'symlink', chardev: 'chardev', blockdev: 'blockdev', dir: 'directory', fifo: 'fifo' };

/** A whole tar stream, with its two closing zero blocks. */
export function tar(entries: TarSpec[]): Buffer {
  const parts: Buffer[] = [];
  for (const spec of entries) {
    const type = spec.type ?? 'file';
    const data = type === 'file' ? Buffer.from(spec.content ?? '') : Buffer.alloc(0);
    const pax = spec.pax ? Object.fromEntries(Object.entries(spec.pax).map(([k, v]) => [k, Buffer.from(v)])) : undefined;
    parts.push(
      tarHeader({
        name: Buffer.from(spec.name),
        type: TYPE[type],
        mode: spec.mode ?? (type === 'dir' ? 0o755 : 0o644),
        uid: spec.uid ?? 0,
        gid: spec.gid ?? 0,
        size: data.length,
        mtimeSec: spec.mtime ?? 1_700_000_000,
        ...(spec.linkname === undefined ? {} : { linkname: Buffer.from(spec.linkname) }),
        ...(spec.device ? { devmajor: spec.device[0], devminor: spec.device[1] } : {}),
        ...(pax ? { pax } : {}),
      }),
      data,
      tarPadding(data.length),
    );
  }
  parts.push(TAR_END);
  return Buffer.concat(parts);
}

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
