// Reading what a command is handed as FILE or '-' (stdin): one reader for
// every such input, capped, so a wrong stream (a disk image, /dev/zero) is
// not read into memory whole before JSON.parse refuses it.
import fs from 'node:fs';

/** The most a declaration or a --docker record may hold: a few kilobytes is usual. */
export const MAX_INPUT_BYTES = 16 * 1024 * 1024;

/** How an input is named in messages: stdin, or the quoted file name. */
export function inputName(source: string): string {
  return source === '-' ? 'stdin' : `'${source}'`;
}

/**
 * The text of `source` ('-' for stdin). Past MAX_INPUT_BYTES it stops and
 * throws `tooBig()`; a file that cannot be opened or read rejects with
 * Node's own error (code, syscall, path).
 */
export async function readInputText(source: string, tooBig: () => Error): Promise<string> {
  const stream = source === '-' ? process.stdin : fs.createReadStream(source);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_INPUT_BYTES) throw tooBig();
      chunks.push(chunk);
    }
  } finally {
    // Stop reading at once: the writer gets EPIPE instead of filling memory.
    stream.destroy();
  }
  return Buffer.concat(chunks).toString('utf8');
}
