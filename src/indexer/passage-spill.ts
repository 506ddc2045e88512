/**
 * A temporary file of passage texts written during the first pass of a build, so that sampling
 * (random access) and encoding (sequential) never hold the corpus in memory. Lives in the build's
 * temporary folder and is deleted before the index is published.
 */
import { closeSync, openSync, readSync, writeSync, unlinkSync } from 'node:fs';

export class PassageSpill {
  private fd: number;
  private offsets: Float64Array = new Float64Array(1024);
  private count = 0;
  private size = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w+');
  }

  get length(): number {
    return this.count;
  }

  append(text: string): number {
    const bytes = Buffer.from(text, 'utf8');
    if (this.count + 1 >= this.offsets.length) {
      const grown = new Float64Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    this.offsets[this.count] = this.size;
    this.size += bytes.length;
    this.offsets[this.count + 1] = this.size;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes > 1 << 22) this.flush();
    return this.count++;
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const buf = Buffer.concat(this.pending);
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Texts of passages [from, to), read with one positional read. */
  read(from: number, to: number): string[] {
    this.flush();
    const start = this.offsets[from]!;
    const end = this.offsets[to]!;
    const buf = Buffer.allocUnsafe(end - start);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(this.fd, buf, off, buf.length - off, start + off);
      if (n === 0) break;
      off += n;
    }
    const out: string[] = [];
    for (let i = from; i < to; i++) out.push(buf.toString('utf8', this.offsets[i]! - start, this.offsets[i + 1]! - start));
    return out;
  }

  readOne(pid: number): string {
    return this.read(pid, pid + 1)[0]!;
  }

  dispose(): void {
    closeSync(this.fd);
    try {
      unlinkSync(this.path);
    } catch {
      // Already gone: nothing to clean.
    }
  }
}
