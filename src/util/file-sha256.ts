/** A file's sha256 (hex), streamed: model weights run to hundreds of MB. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** @throws the stream's error (ENOENT, EACCES, …). */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
