// listMounts names an image layer by its image file. mountinfo shows such a
// layer only as the directory inside its detached mount (`lowerdir+=/`,
// `/sub`), so the name comes from this package's record (lib/images/image-record.ts),
// and a listing says so in `notes`, or says that no record explains a name.
import type { ImageLayerName, ImageRecord, LiveRecord } from '../images/image-record';
import type { LayerNote, OverlayMountInfo } from './overlay-mount-info';

const CHECKED_BY = {
  'unique-mount-id': "per this package's record",
  'superblock-and-loops': "per this package's record, matched by mount id, superblock and loop devices (this kernel has no unique mount id)",
};

function imageNote(field: string, shown: string, layer: ImageLayerName, record: ImageRecord, checkedBy: LiveRecord['checkedBy']): LayerNote {
  const image = record.images.find((i) => i.image === layer.image);
  const how = image?.loopDevice ? `, through ${image.loopDevice}` : image ? ', mounted from the file' : '';
  const inside = layer.path === '/' ? 'the root' : `'${layer.path}'`;
  return { field, name: shown, kind: 'image', note: `${inside} of the ${image?.type ?? ''} image ${layer.image}${how}, ${CHECKED_BY[checkedBy]}`.replace('  ', ' '), inside: layer.path };
}

// The private-namespace detour (kernels before 6.15) names even plain layers by fd.
const FD_NAME = /^\/proc\/(?:self|thread-self|\d+)\/fd\/\d+$/;

// Rewrites one slot from the record: an image layer by its image file, a
// plain layer mountinfo shows by an fd name by its path; a note says so.
function renamed(
  field: string,
  shown: string | undefined,
  layer: ImageLayerName | null | undefined,
  requested: string | null | undefined,
  { record, checkedBy }: LiveRecord,
  notes: LayerNote[],
): string | undefined {
  if (shown === undefined) return shown;
  if (layer) {
    notes.push(imageNote(field, shown, layer, record, checkedBy));
    return layer.image;
  }
  if (requested && FD_NAME.test(shown)) {
    notes.push({ field, name: shown, kind: 'fd-name', note: `an fd name of the process that mounted it; the path, ${requested}, is from this package's record` });
    return requested;
  }
  return shown;
}

const DETACHED_NOTE =
  "the root of a detached tree (an image or idmapped layer), not this system's '/', unless '/' itself is the layer: no record of this package names it";

/** Names image layers from the live records, and notes a '/' no record explains. */
export function applyImageRecords(mounts: OverlayMountInfo[], records: Map<number, LiveRecord>): OverlayMountInfo[] {
  for (const m of mounts) {
    const live = records.get(m.mountId);
    const record = live?.record;
    if (!record || record.lower.length !== m.lower.length || record.data.length !== m.data.length) {
      const named: Array<[string, string | undefined]> = [
        ...m.lower.map((n, i): [string, string] => [`lower[${i}]`, n]),
        ...m.data.map((n, i): [string, string] => [`data[${i}]`, n]),
      ];
      for (const [field, name] of named) if (name === '/') m.notes.push({ field, name, kind: 'detached', note: DETACHED_NOTE });
      continue;
    }
    const notes: LayerNote[] = [];
    m.lower = m.lower.map((n, i) => renamed(`lower[${i}]`, n, record.lower[i], record.paths.lower[i], live!, notes) ?? n);
    m.data = m.data.map((n, i) => renamed(`data[${i}]`, n, record.data[i], record.paths.data[i], live!, notes) ?? n);
    const upper = renamed('upper', m.upper, record.upper, record.paths.upper, live!, notes);
    const work = renamed('work', m.work, record.work, record.paths.work, live!, notes);
    if (upper !== undefined) m.upper = upper;
    if (work !== undefined) m.work = work;
    m.notes = [...m.notes.filter((n) => !notes.some((i) => i.field === n.field)), ...notes];
    m.images = record.images;
  }
  return mounts;
}
