// Gzip inflated (a layer streaming past unpack) or deflated (a layer commit
// writes) synchronously, a slice at a time. zlib's streams run on the thread
// pool and its *Sync calls take the whole input at once (and close the
// engine after it), so this drives the engine of a zlib Gunzip or Gzip
// object directly, as zlib.gunzipSync does inside, without closing it
// between slices: each slice in, all the output it gives out.
import zlib from 'node:zlib';

const CHUNK = 64 * 1024;

// The engine a zlib.Gunzip or zlib.Gzip holds (lib/zlib.js's processChunkSync drives it the same way).
interface Engine {
  writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void;
  close(): void;
}

interface GunzipInternals {
  _handle: Engine | null;
  _writeState: Uint32Array;
}

class ZlibSync {
  private error: Error | undefined;

  constructor(private readonly stream: zlib.Gunzip | zlib.Gzip) {
    this.stream.on('error', (err: Error) => {
      this.error = err;
    });
  }

  /** Inflates (deflates) `input`, handing each piece of output to `out`. */
  write(input: Buffer, out: (bytes: Buffer) => void): void {
    this.run(input, zlib.constants.Z_NO_FLUSH, out);
  }

  /** The input has ended: the last output out; inflating, throws if the gzip stream had not ended (it is truncated). */
  end(out: (bytes: Buffer) => void): void {
    this.run(Buffer.alloc(0), zlib.constants.Z_FINISH, out);
    this.stream.close();
  }

  private engineError(): Error {
    const kError = Object.getOwnPropertySymbols(this.stream).find((sym) => sym.description === 'kError');
    const err = (kError && (this.stream as unknown as Record<symbol, unknown>)[kError]) ?? this.error;
    return err instanceof Error ? err : Object.assign(new Error('the gzip stream cannot be read'), { code: 'Z_DATA_ERROR' });
  }

  private run(input: Buffer, flush: number, out: (bytes: Buffer) => void): void {
    const z = this.stream as unknown as GunzipInternals;
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

/** Gzip inflated a slice at a time. */
export class GunzipSync extends ZlibSync {
  constructor() {
    super(zlib.createGunzip());
  }
}

/** Gzip deflated a slice at a time, at zlib's default level (gzip's -6). */
export class GzipSync extends ZlibSync {
  constructor() {
    super(zlib.createGzip());
  }
}
