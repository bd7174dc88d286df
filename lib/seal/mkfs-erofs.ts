// The EROFS image of a seal's staging tree, written by erofs-utils'
// mkfs.erofs found on PATH (docs/api.md, 'Sealing a tree', gives the figures behind
// the choice). The staging tree's files hold no data, only their sizes, and
// mkfs.erofs 1.5 has no way to write a file as a hole: lz4 with tail packing
// shrinks each file's zeros to a few bytes inline (plain: every byte kept).
// --preserve-mtime and extended inodes keep each entry's own times, the UUID
// is fixed, and the build time is fixed afterwards (image-head.ts), so
// one tree always gives the same bytes.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { OverlayError } from '../core/errors';
import type { Step } from '../core/sync-or-async';

const ENOENT = 2;
const EIO = 5;

/** Every sealed image's filesystem UUID: a random one would make each seal's bytes differ. */
export const SEALED_IMAGE_UUID = '6f766c73-6561-4c00-8000-7365616c6564';

/** mkfs.erofs on PATH, or a refusal naming the package that has it. */
export function findMkfsErofs(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const tool = path.join(dir, 'mkfs.erofs');
    try {
      fs.accessSync(tool, fs.constants.X_OK);
      return tool;
    } catch {
      // not in this directory
    }
  }
  return missingTool();
}

function missingTool(): never {
  throw new OverlayError({ errno: ENOENT, field: 'image', reason: 'mkfs.erofs was not found on PATH; it writes sealed images: install erofs-utils (the Debian and Ubuntu package erofs-utils)' });
}

function mkfsArgs(tree: string, image: string): string[] {
  return ['--quiet', '-zlz4', '-Eztailpacking,force-inode-extended', '--preserve-mtime', `-U${SEALED_IMAGE_UUID}`, image, tree];
}

// SOURCE_DATE_EPOCH would give every entry that time (mkfs.erofs 1.5).
const ENV: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C' };
delete ENV.SOURCE_DATE_EPOCH;

function failed(image: string, err: unknown): OverlayError {
  const e = err as { stderr?: string | Buffer; code?: string | number; message?: string };
  if (e.code === 'ENOENT') return missingTool();
  const said = String(e.stderr ?? e.message ?? '').trim().split('\n').filter(Boolean).slice(-3);
  return new OverlayError({ errno: EIO, field: 'image', path: image, reason: `mkfs.erofs failed to write the image${said.length ? ': ' + said.join('; ') : ''}`, detail: said });
}

/** `tool` packing `tree` into `image`, in both forms. */
export function mkfsErofsStep(tool: string, tree: string, image: string): Step<void> {
  const args = mkfsArgs(tree, image);
  return {
    sync: () => {
      try {
        execFileSync(tool, args, { env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
      } catch (err) {
        throw failed(image, err);
      }
    },
    async: () =>
      new Promise<void>((resolve, reject) => {
        execFile(tool, args, { env: ENV }, (err, _stdout, stderr) => (err ? reject(failed(image, Object.assign(err, { stderr }))) : resolve()));
      }),
  };
}
