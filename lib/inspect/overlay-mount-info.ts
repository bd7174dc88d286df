// What listMounts() says of one overlay mount: types only, shared by the
// mountinfo decoder (mountinfo.ts) and the image record (image-names.ts).
import type { MountedImage } from '../images/image-record';
import type { Propagation } from '../core/mount-words';

/** 'image': named from this package's record of an image layer; 'detached': a detached tree's root no record names. */
export type LayerNoteKind = 'fd-name' | 'relative' | 'image' | 'detached';

export interface LayerNote {
  /** The layer: 'lower[0]', 'data[1]', 'upper' or 'work'. */
  field: string;
  /** The name as mountinfo shows it. */
  name: string;
  kind: LayerNoteKind;
  /** One sentence for people. */
  note: string;
  /** For kind 'image': the directory inside the image ('/upper'), from the record. */
  inside?: string;
}

/** One overlay mount, as /proc/self/mountinfo shows it. */
export interface OverlayMountInfo {
  /** The kernel's mount id (mountinfo's first field); OverlayMount.mountId. */
  mountId: number;
  parentId: number;
  /** Where it is mounted. */
  target: string;
  /** The directory of the overlay mounted there: '/' unless a subtree was bind-mounted. */
  root: string;
  /** The source given at mount time ('overlay', 'none', ...). */
  source: string;
  /** Lower layers, the top one first, as the kernel names them. */
  lower: string[];
  /** Data-only lower layers. */
  data: string[];
  upper?: string;
  work?: string;
  /** The superblock's other options, decoded: 'rw', 'redirect_dir=on', 'uuid=on'... */
  options: string[];
  /** This mount's own flags: 'rw', 'nosuid', 'relatime'... */
  mountOptions: string[];
  /** Layers whose names are not paths to them (fd names, relative names). */
  notes: LayerNote[];
  /** How mount events propagate: a mount both shared and a slave (`shared:N master:M`) is 'slave'. */
  propagation: Propagation;
  /** The peer group it shares events with (mountinfo `shared:N`). */
  peerGroup?: number;
  /** The peer group it receives events from (mountinfo `master:N`). */
  master?: number;
  /** The image files its layers came from, from this package's record (listMounts only). */
  images?: MountedImage[];
}
