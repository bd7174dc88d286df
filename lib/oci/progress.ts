// How far an unpack, commit or save has come, handed to the caller's
// `progress` callback as the work goes (bytes and layers done), so a long
// run can be shown; the CLI draws its progress line on a terminal from it.
import { typeError } from '../core/args';

export interface OciProgress {
  /** unpack: archive bytes read; commit: layer blob bytes written; save: archive bytes written. */
  bytes: number;
  /** Layers done: read and unpacked, written as blobs, or written into the archive. */
  layers: number;
}

export type OciProgressCallback = (progress: OciProgress) => void;

/** The `progress` option checked: a function, or absent. */
export function checkProgress(value: unknown): OciProgressCallback | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw typeError('progress', 'a function', value);
  return value as OciProgressCallback;
}

/** The running count; each change goes to the callback, when there is one. */
export class ProgressCount {
  private bytesDone = 0;
  private layersDone = 0;

  constructor(private readonly report: OciProgressCallback | undefined) {}

  bytes(n: number): void {
    if (this.report === undefined || n === 0) return;
    this.bytesDone += n;
    this.report({ bytes: this.bytesDone, layers: this.layersDone });
  }

  layer(): void {
    if (this.report === undefined) return;
    this.layersDone++;
    this.report({ bytes: this.bytesDone, layers: this.layersDone });
  }
}
