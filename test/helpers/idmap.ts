// When the idmap tests can run: overlay needs `lowerdir+` for idmapped
// layers, and the kernel makes no user namespace for a chrooted process.
import * as fs from 'node:fs';
import { kernelFeatures } from '../../lib/index';
import { needsOverlay } from './scratch';

function inChroot(): boolean {
  try {
    const here = fs.statSync('/');
    const init = fs.statSync('/proc/1/root/');
    return here.dev !== init.dev || here.ino !== init.ino;
  } catch {
    return false;
  }
}

/** Options for t.test: skip with the reason where idmapped layers cannot be tried (asked when read, not at import). */
export const needsIdmap = {
  get skip(): string | false {
    return needsOverlay.skip || (!kernelFeatures().lowerdirPlus && 'no lowerdir+ on this kernel') || (inChroot() && 'user namespaces cannot be made inside a chroot');
  },
};
