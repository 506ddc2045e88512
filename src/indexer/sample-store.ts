/**
 * What a build keeps of its k-means sample, in memory that does not grow with the corpus:
 *
 * - `VectorReservoir`: a uniform random subset (reservoir sampling, Vitter's algorithm R) of at
 *   most `capacity` sampled token vectors, stored as float16. Capacity = k-means cap + held-out
 *   cap, so it holds exactly the vectors k-means trains on and the held-out ones the codec is
 *   fitted on, never the whole sample: at 512-d, 2^18 + 50k vectors are 305 MiB in half floats
 *   (610 MiB in float32, which alone broke a 1 GiB build budget with the bundled model).
 * - `SampleSpill`: every sampled passage's vectors as float16 (and token ids) in a temporary file,
 *   in ascending pid order, so the compression pass reads them back sequentially instead of
 *   encoding those passages a second time (encoding is the build's dominant cost).
 */
import { closeSync, openSync, readSync, writeSync, unlinkSync } from 'node:fs';
import { fromFloat16, toFloat16 } from '../codec/float16.js';
import type { TokenEmbeddings } from '../encoder/types.js';
import type { Random } from '../util/random.js';

export class VectorReservoir {
  private rows: Uint16Array;
  private kept = 0;
  private seen = 0;

  constructor(
    readonly capacity: number,
    readonly dim: number,
    private readonly rng: Random,
  ) {
    this.rows = new Uint16Array(Math.min(capacity, 1 << 14) * dim);
  }

  /** Vectors offered so far. */
  get total(): number {
    return this.seen;
  }

  /** Vectors held (min(total, capacity)). */
  get size(): number {
    return this.kept;
  }

  add(vectors: Float32Array, n: number): void {
    const dim = this.dim;
    for (let i = 0; i < n; i++, this.seen++) {
      let slot: number;
      if (this.kept < this.capacity) slot = this.kept++;
      else {
        slot = this.rng.int(this.seen + 1);
        if (slot >= this.capacity) continue;
      }
      if ((slot + 1) * dim > this.rows.length) this.grow();
      toFloat16(vectors.subarray(i * dim, (i + 1) * dim), this.rows.subarray(slot * dim, (slot + 1) * dim));
    }
  }

  private grow(): void {
    const rows = Math.min(this.capacity, Math.max(1, (this.rows.length / this.dim) * 2));
    const next = new Uint16Array(rows * this.dim);
    next.set(this.rows);
    this.rows = next;
  }

  /** Shuffles the held rows in place and returns them (half floats, row-major, `size` rows). */
  shuffled(): Uint16Array {
    const dim = this.dim;
    const tmp = new Uint16Array(dim);
    for (let i = this.kept - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      if (j === i) continue;
      tmp.set(this.rows.subarray(i * dim, (i + 1) * dim));
      this.rows.copyWithin(i * dim, j * dim, (j + 1) * dim);
      this.rows.set(tmp, j * dim);
    }
    return this.rows.subarray(0, this.kept * dim);
  }
}

export class SampleSpill {
  private readonly vectorsFd: number;
  private readonly idsFd: number;
  /** Token offset of each appended passage (index = order of appending), plus the end. */
  private offsets = new Float64Array(1024);
  private count = 0;
  private half = new Uint16Array(0);

  constructor(
    readonly path: string,
    readonly dim: number,
  ) {
    this.vectorsFd = openSync(`${path}.f16`, 'w+');
    this.idsFd = openSync(`${path}.ids`, 'w+');
  }

  get length(): number {
    return this.count;
  }

  append(e: TokenEmbeddings): void {
    if (this.count + 2 > this.offsets.length) {
      const grown = new Float64Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    const start = this.offsets[this.count]!;
    const n = e.length * this.dim;
    if (this.half.length < n) this.half = new Uint16Array(n);
    const half = this.half.subarray(0, n);
    toFloat16(e.vectors.subarray(0, n), half);
    writeAll(this.vectorsFd, new Uint8Array(half.buffer, 0, n * 2), start * this.dim * 2);
    writeAll(this.idsFd, new Uint8Array(e.tokenIds.buffer, e.tokenIds.byteOffset, e.length * 4), start * 4);
    this.offsets[++this.count] = start + e.length;
  }

  /** Passages [from, to) in appending order, decoded to float32. */
  read(from: number, to: number): TokenEmbeddings[] {
    const t0 = this.offsets[from]!;
    const t1 = this.offsets[to]!;
    const n = (t1 - t0) * this.dim;
    const half = new Uint16Array(n);
    readAll(this.vectorsFd, new Uint8Array(half.buffer), t0 * this.dim * 2);
    const vectors = new Float32Array(n);
    fromFloat16(half, vectors);
    const ids = new Int32Array(t1 - t0);
    readAll(this.idsFd, new Uint8Array(ids.buffer), t0 * 4);
    const out: TokenEmbeddings[] = [];
    for (let i = from; i < to; i++) {
      const a = this.offsets[i]! - t0;
      const b = this.offsets[i + 1]! - t0;
      out.push({ vectors: vectors.subarray(a * this.dim, b * this.dim), length: b - a, tokenIds: ids.subarray(a, b) });
    }
    return out;
  }

  dispose(): void {
    for (const [fd, suffix] of [
      [this.vectorsFd, '.f16'],
      [this.idsFd, '.ids'],
    ] as const) {
      try {
        closeSync(fd);
      } catch {
        // Already closed.
      }
      try {
        unlinkSync(`${this.path}${suffix}`);
      } catch {
        // Already gone.
      }
    }
  }
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off, position + off);
}

function readAll(fd: number, bytes: Uint8Array, position: number): void {
  let off = 0;
  while (off < bytes.length) {
    const n = readSync(fd, bytes, off, bytes.length - off, position + off);
    if (n === 0) throw new Error(`sample spill ended early at byte ${position + off}`);
    off += n;
  }
}
