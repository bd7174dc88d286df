// `ovl whiteout` and `ovl opaque` prepare a layer offline: the kernel expects
// no change to a layer while an overlay uses it (overlayfs.rst, "Changes to
// underlying filesystems"). So each PATH is looked up among the layers of the
// overlays mounted now, by device and inode, and refused when it lies in one.
import fs from 'node:fs';
import { listMountsSync, OverlayError, type OverlayMountInfo } from '../../lib/index';
import { canonicalPath, displayPath, parentOf, type PathLike } from '../../lib/internal';

const EBUSY = 16;

export interface LayerUse {
  /** Where the overlay using it is mounted. */
  target: string;
  /** Which of its layers: 'lower[0]', 'upper', 'work'... */
  field: string;
  /** The layer's directory. */
  layer: string;
}

function layersOf(m: OverlayMountInfo): Array<[string, string]> {
  const named: Array<[string, string]> = [...m.lower.map((l, i): [string, string] => [`lower[${i}]`, l]), ...m.data.map((d, i): [string, string] => [`data[${i}]`, d])];
  if (m.upper !== undefined) named.push(['upper', m.upper]);
  if (m.work !== undefined) named.push(['work', m.work]);
  // A name that is not a path to the layer (an fd name of another process) would point at the wrong directory here.
  // '/' is left out too: an idmapped layer shows as '/' (a detached tree has no path), and the host's root
  // used as a lower (a container template) changes under it anyway: refusing every change on the root
  // filesystem while one runs would help nobody.
  const notPaths = new Set(m.notes.map((n) => n.field));
  return named.filter(([field, name]) => !notPaths.has(field) && name !== '/');
}

function key(st: fs.BigIntStats): string {
  return `${st.dev}:${st.ino}`;
}

/** The layer directories of every overlay mounted in this mount namespace, by device and inode. */
export function mountedLayers(): Map<string, LayerUse> {
  const byInode = new Map<string, LayerUse>();
  for (const m of listMountsSync()) {
    for (const [field, layer] of layersOf(m)) {
      try {
        byInode.set(key(fs.statSync(layer, { bigint: true })), { target: m.target, field, layer });
      } catch {
        // gone or unreachable: nothing of ours can be in it
      }
    }
  }
  return byInode;
}

/** The deepest existing directory on the way to `p`, symlinks resolved as the library resolves them. */
function existingAncestor(p: PathLike): PathLike | undefined {
  for (let dir = p; ; dir = parentOf(dir)) {
    try {
      // A path that is not UTF-8 stays bytes (lib/layers/path-bytes.ts).
      return typeof dir === 'string' ? fs.realpathSync(dir) : fs.realpathSync(dir, { encoding: 'buffer' });
    } catch {
      if (Buffer.from(dir).equals(Buffer.from(parentOf(dir)))) return undefined;
    }
  }
}

/**
 * The mounted layer `p` lies in, if any: `p` (or its deepest existing
 * parent) and each parent up to the root of its filesystem are compared
 * with the layer directories. A layer never spans a mount point, so the walk
 * stops where the device changes.
 */
export function layerHolding(p: PathLike, layers: Map<string, LayerUse>): LayerUse | undefined {
  if (layers.size === 0) return undefined;
  let dir = existingAncestor(canonicalPath(p));
  if (dir === undefined) return undefined;
  let st = fs.statSync(dir, { bigint: true });
  for (;;) {
    const use = layers.get(key(st));
    if (use) return use;
    const parent = parentOf(dir);
    if (Buffer.from(parent).equals(Buffer.from(dir))) return undefined;
    const up: fs.BigIntStats = fs.statSync(parent, { bigint: true });
    if (up.dev !== st.dev) return undefined;
    [dir, st] = [parent, up];
  }
}

/** Refuses (EBUSY, naming the mount and the layer) the first path that lies in a mounted overlay's layer. */
export function refuseMountedLayers(command: string, paths: PathLike[], field: (i: number) => string): void {
  const layers = mountedLayers();
  paths.forEach((p, i) => {
    const use = layerHolding(p, layers);
    if (!use) return;
    throw new OverlayError({
      errno: EBUSY,
      field: field(i),
      path: displayPath(p),
      reason: `'${displayPath(p)}' is in ${use.field} ('${use.layer}') of the overlay mounted on '${use.target}'; the kernel expects no change to a mounted layer: unmount it first, or 'ovl ${command} --allow-mounted'`,
    });
  });
}
