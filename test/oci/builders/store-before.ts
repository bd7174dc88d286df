// A store that already holds one image, and its listing: what a refused
// unpack must leave exactly as it was.
import * as fs from 'node:fs';
import { unpackSync } from '../../../lib/index';
import { archive, dockerArchiveFiles } from './image-archives';
import type { Scratch } from '../../helpers/scratch';

/** Every path beneath `dir` with its size. */
export function storeListing(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort().map((n) => `${n} ${fs.lstatSync(`${dir}/${n}`).size}`);
}

/** s.path('store') made holding image example.com/first:1 of `layer`; returns its listing. */
export function storeWithOneImage(s: Scratch, layer: Buffer): string[] {
  fs.writeFileSync(s.path('first.tar'), archive(dockerArchiveFiles([{ ref: 'example.com/first:1', layers: [layer] }])));
  unpackSync(s.path('first.tar'), { store: s.path('store') });
  return storeListing(s.path('store'));
}
