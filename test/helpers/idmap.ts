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

/** Options for t.test: skip with the reason where idmapped layers cannot be tried through `lowerdir+` (asked when read, not at import). */
export const needsIdmap = {
  get skip(): string | false {
    return needsOverlay.skip || (!kernelFeatures().lowerdirPlus && 'no lowerdir+ on this kernel') || (inChroot() && 'user namespaces cannot be made inside a chroot');
  },
};

/** The same where only user namespaces matter: mount(2) takes idmapped layers on every kernel here (6.1 too). */
export const needsUserNamespaces = {
  get skip(): string | false {
    return needsOverlay.skip || (inChroot() && 'user namespaces cannot be made inside a chroot');
  },
};
