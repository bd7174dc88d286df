// A sealed image made the way composefs lays one out, without its tools
// (CI has none): each regular file of the tree becomes an empty file of its
// size carrying trusted.overlay.redirect (`/xx/<62 hex>`) and
// trusted.overlay.metacopy (version 0, length 36, flags 0, sha256, then the
// digest), packed by mkfs.erofs; its content goes into the store under its
// fs-verity digest.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeErofs } from '../helpers/images';
import { putObject } from './fsverity-reference';
import type { Scratch } from '../helpers/scratch';
import { setXattrs } from '../helpers/xattr';

export interface SealedFixture {
  image: string;
  store: string;
  /** file path in the tree -> its object ('xx/<62 hex>') */
  objects: Record<string, string>;
}

/** The metacopy xattr's value for a digest: header then the 32 bytes. */
export function metacopyValue(digest: string): Buffer {
  return Buffer.concat([Buffer.from([0, 36, 0, 1]), Buffer.from(digest, 'hex')]);
}

/** `files` (path -> content) sealed into `name`.img over the store `store` (made if missing), both in the scratch dir. */
export function makeSealed(s: Scratch, name: string, files: Record<string, string | Buffer>, store = s.path('store')): SealedFixture {
  const meta = s.path(`${name}-meta`);
  const objects: Record<string, string> = {};
  for (const [rel, content] of Object.entries(files)) {
    const data = Buffer.from(content);
    const digest = putObject(store, data);
    const file = path.join(meta, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '');
    fs.truncateSync(file, data.length);
    setXattrs(file, {
      'trusted.overlay.redirect': `/${digest.slice(0, 2)}/${digest.slice(2)}`,
      'trusted.overlay.metacopy': metacopyValue(digest),
    });
    objects[rel] = `${digest.slice(0, 2)}/${digest.slice(2)}`;
  }
  fs.mkdirSync(store, { recursive: true });
  return { image: makeErofs(meta, s.path(`${name}.img`)), store, objects };
}
