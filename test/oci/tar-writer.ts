// A small ustar writer for the tests: layers and image archives built byte
// for byte, hostile entries included (names no honest tool writes), so the
// unpack tests need no tar binary nor podman. Long names go in PAX headers.
import { createHash } from 'node:crypto';

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

const TYPEFLAG = { file: '0', link: '1', symlink: '2', chardev: '3', blockdev: '4', dir: '5', fifo: '6' } as const;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, typeflag: string, size: number, spec: TarSpec): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write(octal(spec.mode ?? (typeflag === '5' ? 0o755 : 0o644), 8), 100);
  h.write(octal(spec.uid ?? 0, 8), 108);
  h.write(octal(spec.gid ?? 0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(spec.mtime ?? 1_700_000_000, 12), 136);
  h.write('        ', 148);
  h.write(typeflag, 156);
  h.write((spec.linkname ?? '').slice(0, 100), 157, 'utf8');
  h.write('ustar\u000000', 257, 'latin1');
  if (spec.device) {
    h.write(octal(spec.device[0], 8), 329);
    h.write(octal(spec.device[1], 8), 337);
  }
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148);
  return h;
}

function padded(data: Buffer): Buffer[] {
  const pad = (512 - (data.length % 512)) % 512;
  return pad ? [data, Buffer.alloc(pad)] : [data];
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return `${len}${body}`;
}

/** A whole tar stream, with its two closing zero blocks. */
export function tar(entries: TarSpec[]): Buffer {
  const parts: Buffer[] = [];
  for (const spec of entries) {
    const type = spec.type ?? 'file';
    const pax = { ...(spec.pax ?? {}) };
    if (Buffer.byteLength(spec.name) > 100) pax.path = spec.name;
    if (Buffer.byteLength(spec.linkname ?? '') > 100) pax.linkpath = spec.linkname!;
    if (Object.keys(pax).length > 0) {
      const body = Buffer.from(Object.entries(pax).map(([k, v]) => paxRecord(k, v)).join(''));
      parts.push(header('PaxHeader', 'x', body.length, { name: 'PaxHeader' }), ...padded(body));
    }
    const data = type === 'file' ? Buffer.from(spec.content ?? '') : Buffer.alloc(0);
    parts.push(header(spec.name, TYPEFLAG[type], data.length, spec), ...padded(data));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
