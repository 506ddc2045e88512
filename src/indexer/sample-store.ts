/**
 * What a build keeps of its k-means sample, in memory that does not grow with the corpus:
 *
 * - `SampleSpill`: every sampled passage's vectors as float16 (and token ids) in a temporary file,
 *   in ascending pid order. The compression pass reads them back sequentially instead of encoding
 *   those passages a second time (encoding is the build's dominant cost), and k-means reads its
 *   training rows from it block by block.
 * - `RowReservoir`: a uniform random subset (reservoir sampling, Vitter's algorithm R) of at most
 *   `capacity` row numbers of the spill (8 bytes each). Capacity = k-means cap + held-out cap, so
 *   it names exactly the vectors k-means trains on and the held-out ones the codec is fitted on.
 *   Keeping the vectors themselves cost 610 MiB at 512-d in float32 (305 MiB in float16), which
 *   with the bundled model's ~570 MiB of encoder workers broke a 1 GiB build budget (measured: a
 *   cisi build peaked at 1.24 GB with them in float16).
 */
import { closeSync, openSync, readSync, writeSync, unlinkSync } from 'node:fs';
import { fromFloat16, toFloat16 } from '../codec/float16.js';
import type { TokenEmbeddings } from '../encoder/types.js';
import type { Random } from '../util/random.js';

export class RowReservoir {
  private ids: Float64Array;
  private kept = 0;
  private seen = 0;

  constructor(
    readonly capacity: number,
    private readonly rng: Random,
  ) {
    this.ids = new Float64Array(Math.min(capacity, 1 << 14));
  }

  /** Rows offered so far. */
  get total(): number {
    return this.seen;
  }

  /** Rows held (min(total, capacity)). */
  get size(): number {
    return this.kept;
  }

  /** Offers the next `n` rows (row numbers continue from the previous call). */
  add(n: number): void {
    for (let i = 0; i < n; i++, this.seen++) {
      let slot: number;
      if (this.kept < this.capacity) slot = this.kept++;
      else {
        slot = this.rng.int(this.seen + 1);
        if (slot >= this.capacity) continue;
      }
      if (slot >= this.ids.length) {
        const grown = new Float64Array(Math.min(this.capacity, this.ids.length * 2));
        grown.set(this.ids);
        this.ids = grown;
      }
      this.ids[slot] = this.seen;
    }
  }

  /** The held row numbers in a random order (shuffled in place). */
  shuffled(): Float64Array {
    for (let i = this.kept - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      const t = this.ids[i]!;
      this.ids[i] = this.ids[j]!;
      this.ids[j] = t;
    }
    return this.ids.subarray(0, this.kept);
  }
}

/** Rows of the spill read per positional read when gathering scattered rows (16 MiB at 512-d). */
const GATHER_WINDOW_ROWS = 1 << 14;

export class SampleSpill {
  private readonly vectorsFd: number;
  private readonly idsFd: number;
  /** Token offset of each appended passage (index = order of appending), plus the end. */
  private offsets = new Float64Array(1024);
  private count = 0;
  private half = new Uint16Array(0);
  private window = new Uint16Array(0);

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

  /**
   * Rows `rows[from..to)` (token row numbers across all appended passages, ascending) decoded to
   * float32 into `out`: one positional read per window of GATHER_WINDOW_ROWS rows.
   */
  readRows(rows: Float64Array, from: number, to: number, out: Float32Array): void {
    const dim = this.dim;
    if (this.window.length < GATHER_WINDOW_ROWS * dim) this.window = new Uint16Array(GATHER_WINDOW_ROWS * dim);
    for (let i = from; i < to; ) {
      const r0 = rows[i]!;
      let j = i + 1;
      while (j < to && rows[j]! - r0 < GATHER_WINDOW_ROWS) j++;
      const span = rows[j - 1]! - r0 + 1;
      const w = this.window.subarray(0, span * dim);
      readAll(this.vectorsFd, new Uint8Array(w.buffer, 0, span * dim * 2), r0 * dim * 2);
      for (let m = i; m < j; m++) {
        const at = (rows[m]! - r0) * dim;
        fromFloat16(w.subarray(at, at + dim), out.subarray((m - from) * dim, (m - from + 1) * dim));
      }
      i = j;
    }
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
