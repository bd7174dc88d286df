// Output written as it is made, for commands that stream (ovl diff): lines
// gathered into chunks, each written when full, waiting for 'drain' when the
// reader is slower than the writer, so the producer stops with it.
import { EventEmitter } from 'node:events';

/** Lines per chunk: the library's walk batch, so nothing waits here while the walk reads on. */
const CHUNK_LINES = 4096;
const CHUNK_BYTES = 64 * 1024;

export class StdoutChunks {
  private text = '';
  private lines = 0;
  private failure: Error | undefined;

  constructor(private readonly out: NodeJS.WritableStream & EventEmitter = process.stdout) {
    // A write error fails the command at its next write, not as an uncaught error.
    this.out.on('error', (err: Error) => {
      this.failure ??= err;
    });
  }

  /**
   * The reader went away (EPIPE: `ovl diff | head`): not the command's
   * failure. It stops, as a C tool dies of SIGPIPE, but quietly with its status.
   */
  get readerGone(): boolean {
    return (this.failure as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';
  }

  async line(text: string): Promise<void> {
    this.text += text;
    this.lines++;
    if (this.lines >= CHUNK_LINES || this.text.length >= CHUNK_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.text === '') return;
    const chunk = this.text;
    this.text = '';
    this.lines = 0;
    if (!this.out.write(chunk)) await this.drained();
    if (this.failure) throw this.failure;
  }

  private drained(): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        this.out.off('drain', onDrain);
        this.out.off('error', onError);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => done();
      const onError = (err: Error) => done(err);
      this.out.on('drain', onDrain);
      this.out.on('error', onError);
    });
  }
}
