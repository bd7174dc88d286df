// Remounting a live overlay: mount flags, read-only state and propagation.
// Overlay never changes its layers on remount, so asking for that is refused here.
import { invalid } from '../core/errors';
import { PROPAGATIONS, type MountFlags, type Propagation } from '../request/mount-options';
import { native, type NativeRemountRequest, type RemountMechanism } from '../core/native';
import { FEATURES } from '../request/overlay-options';
import { checkBoolean, checkChoice, checkOptionsObject, checkPath } from '../core/args';
import { checkAtime } from '../request/mount-request';

/**
 * What a remount changes; anything left out stays as it is. A flag set to
 * false clears it: `readOnly: false` makes the mount and its superblock
 * writable again (`remount,rw`), `noatime: false` goes back to `relatime`.
 */
export interface RemountOptions extends MountFlags {
  propagation?: Propagation;
  /** Force mount(2) MS_REMOUNT instead of mount_setattr and fspick (tests, diagnosis). */
  mechanism?: RemountMechanism;
}

export interface RemountResult {
  /** 'new-api' (fspick + FSCONFIG_CMD_RECONFIGURE, mount_setattr) or 'mount' (mount(2) MS_REMOUNT). */
  mechanism: RemountMechanism;
}

const KNOWN = new Set(['readOnly', 'nosuid', 'nodev', 'noexec', 'noatime', 'atime', 'propagation', 'mechanism']);
const LAYER_FIELDS = new Set(['lower', 'data', 'upper', 'work', 'idmap', ...FEATURES.map((f) => f.field)]);

function optionalBoolean(request: NativeRemountRequest, key: 'readOnly' | 'nosuid' | 'nodev' | 'noexec', value: unknown): void {
  if (value !== undefined) request[key] = checkBoolean(key, value);
}

/** Validates remount options and turns them into the addon's request. */
function toRemountRequest(target: string, options: RemountOptions = {}): NativeRemountRequest {
  checkOptionsObject('options', options);
  for (const key of Object.keys(options)) {
    if (LAYER_FIELDS.has(key)) {
      throw invalid(key, 'overlay cannot change its layers or overlay options on remount; use replace() to swap in a new stack');
    }
    if (!KNOWN.has(key)) throw invalid(key, 'is not a remount option');
  }
  const o = options;
  const request: NativeRemountRequest = { target: checkPath('target', target) };
  optionalBoolean(request, 'readOnly', o.readOnly);
  optionalBoolean(request, 'nosuid', o.nosuid);
  optionalBoolean(request, 'nodev', o.nodev);
  optionalBoolean(request, 'noexec', o.noexec);
  const atime = checkAtime(o) ?? (o.noatime === false ? 'relatime' : undefined);
  if (atime !== undefined) request.atime = atime;
  const propagation = checkChoice<Propagation>('propagation', o.propagation, PROPAGATIONS);
  if (propagation !== undefined) request.propagation = propagation;
  const mechanism = checkChoice<RemountMechanism>('mechanism', o.mechanism, ['new-api', 'mount']);
  if (mechanism !== undefined) request.mechanism = mechanism;
  return request;
}

/**
 * Remounts the overlay on `target`, as `mount -o remount,...` does: only the
 * options given change. Refuses a path with no overlay mounted on it.
 */
export async function remount(target: string, options?: RemountOptions): Promise<RemountResult> {
  const request = toRemountRequest(target, options);
  return native.remountOverlay(request);
}

/** Synchronous twin of {@link remount}. */
export function remountSync(target: string, options?: RemountOptions): RemountResult {
  return native.remountOverlaySync(toRemountRequest(target, options));
}
