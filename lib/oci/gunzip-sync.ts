// Gzip inflated synchronously a slice at a time, as a layer streams past.
// zlib's streams run on the thread pool and its *Sync calls take the whole
// input at once (and close the engine after it), so this drives the engine
// of a zlib Gunzip object directly, as zlib.gunzipSync does inside, without
// closing it between slices: each slice in, all the output it gives out.
import zlib from 'node:zlib';

const CHUNK = 64 * 1024;

// The engine zlib.Gunzip holds (lib/zlib.js's processChunkSync drives it the same way).
interface Engine {
  writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void;
  close(): void;
}

interface GunzipInternals {
  _handle: Engine | null;
  _writeState: Uint32Array;
}

export class GunzipSync {
  private readonly gunzip = zlib.createGunzip();
  private error: Error | undefined;

  constructor() {
    this.gunzip.on('error', (err: Error) => {
      this.error = err;
    });
  }

  /** Inflates `input`, handing each piece of output to `out`. */
  write(input: Buffer, out: (bytes: Buffer) => void): void {
    this.run(input, zlib.constants.Z_NO_FLUSH, out);
  }

  /** The input has ended: throws if the gzip stream had not (it is truncated). */
  end(out: (bytes: Buffer) => void): void {
    this.run(Buffer.alloc(0), zlib.constants.Z_FINISH, out);
    this.gunzip.close();
  }

  private engineError(): Error {
    const kError = Object.getOwnPropertySymbols(this.gunzip).find((sym) => sym.description === 'kError');
    const err = (kError && (this.gunzip as unknown as Record<symbol, unknown>)[kError]) ?? this.error;
    return err instanceof Error ? err : Object.assign(new Error('the gzip stream cannot be read'), { code: 'Z_DATA_ERROR' });
  }

  private run(input: Buffer, flush: number, out: (bytes: Buffer) => void): void {
    const z = this.gunzip as unknown as GunzipInternals;
    const engine = z._handle;
    if (engine === null) throw this.engineError();
    let inOff = 0;
    let inLen = input.length;
    for (;;) {
      const buffer = Buffer.allocUnsafe(CHUNK);
      engine.writeSync(flush, input, inOff, inLen, buffer, 0, CHUNK);
      // A zlib error destroys the stream at once (its handle dropped) and is emitted later: taken from it here.
      if (z._handle === null) throw this.engineError();
      const [outLeft, inLeft] = [z._writeState[0], z._writeState[1]];
      if (CHUNK - outLeft > 0) out(buffer.subarray(0, CHUNK - outLeft));
      inOff += inLen - inLeft;
      inLen = inLeft;
      // A full output buffer may hold more back; otherwise the input is used up.
      if (outLeft !== 0) return;
    }
  }
}
