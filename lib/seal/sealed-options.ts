// The overlay options a sealed stack needs, and the refusals made before the
// kernel: metacopy=on (the image's files are metadata only) and redirects
// followed (each file's redirect leads to its object), redirect_dir=on with
// an upper (the kernel refuses metacopy=on with anything else there) and
// follow without one (nothing is written, so nothing need be recorded).
// `verity` asks the kernel to check each object's fs-verity digest against
// the image's metacopy xattr when it is opened; overlay has it since 6.6.
import os from 'node:os';
import { invalid } from '../core/errors';
import type { SealedUse } from '../core/native';

type Verity = SealedUse['verity'];

const EOPNOTSUPP = 95;

/** Whether overlay has data-only lower layers (6.5+): where a sealed layer's store goes. */
export function storesAsFor(release?: string): 'data' | 'lower' {
  const [major, minor] = kernelVersion(release);
  return major > 6 || (major === 6 && minor >= 5) ? 'data' : 'lower';
}

/** [major, minor] of the running kernel (`6.1.0-28-amd64` -> [6, 1]). */
export function kernelVersion(release = os.release()): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

interface SealedFeatures {
  metacopy?: boolean;
  redirectDir?: string;
  verity?: Verity;
}

/**
 * The features a sealed stack mounts with, from the ones asked: what is not
 * asked is chosen, what contradicts a sealed layer is refused by its field.
 */
export function sealedFeatures(asked: SealedFeatures, hasUpper: boolean, release?: string): { metacopy: true; redirectDir: 'on' | 'follow' } {
  if (asked.metacopy === false) throw invalid('metacopy', 'a sealed layer needs metacopy=on (its files carry only metadata, their data is in the store)');
  const redirectDir = asked.redirectDir ?? (hasUpper ? 'on' : 'follow');
  if (redirectDir !== 'on' && redirectDir !== 'follow') {
    throw invalid('redirectDir', `a sealed layer needs its redirects followed (redirect_dir=on or follow), not redirect_dir=${redirectDir}`);
  }
  if (asked.verity === 'on' || asked.verity === 'require') {
    const [major, minor] = kernelVersion(release);
    if (major < 6 || (major === 6 && minor < 6)) {
      throw invalid('verity', `verity=${asked.verity} needs overlayfs with fs-verity support (Linux 6.6+), this kernel is ${release ?? os.release()}`, EOPNOTSUPP);
    }
  }
  return { metacopy: true, redirectDir };
}
