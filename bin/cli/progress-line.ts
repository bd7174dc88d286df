// The progress line of ovl unpack, commit and save: bytes and layers done,
// on stderr, only when stderr is a terminal and the run has gone on for a
// few seconds (nothing on a pipe or a file, nothing with --json, nothing for
// a quick run), redrawn in place a few times a second and cleared when the
// run ends, so what the command prints after stands alone.
import type { OciProgress } from '../../lib/index';

/** How long a run goes before its line shows; OVERLAY_NATIVE_PROGRESS_AFTER_MS sets it (the tests' hook, 0: at once). */
const AFTER_MS = 2000;
const REDRAW_MS = 250;

export interface ProgressLine {
  /** The library's `progress` callback; absent when no line is drawn. */
  progress?: (p: OciProgress) => void;
  /** Clears the line, if one was drawn. */
  end(): void;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

export function progressLine(command: string, what: string, json: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressLine {
  if (json || !stream.isTTY) return { end() {} };
  const override = Number(process.env.OVERLAY_NATIVE_PROGRESS_AFTER_MS);
  const after = Number.isFinite(override) && override >= 0 ? override : AFTER_MS;
  const start = Date.now();
  let last = -Infinity;
  let drawn = false;
  return {
    progress(p) {
      const now = Date.now();
      if (now - start < after || now - last < REDRAW_MS) return;
      last = now;
      drawn = true;
      stream.write(`\r\x1b[Kovl ${command}: ${megabytes(p.bytes)} ${what}, ${p.layers} layer${p.layers === 1 ? '' : 's'} done`);
    },
    end() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}
