/**
 * Writes an index's binary files chunk by chunk: codes and residuals appended as passages are
 * compressed, into passage-aligned segment files of at most `segmentBytes` of residuals each
 * (codes.NNNN.i32 / residuals.NNNN.u8); doclens into one file. Then the inverted file (centroid →
 * sorted unique pids) and, last, the manifest.
 *
 * Memory stays bounded by the chunk: the IVF's per-centroid counts are kept while appending
 * (pids arrive in order), and the lists are filled in centroid ranges of at most
 * BUILD_MEMORY_DEFAULTS.ivfBlockEntries entries, each range one sequential pass over the code
 * segments on disk; no file is read back whole. What grows with the corpus is 4 bytes a passage
 * (doclens, kept to map tokens to pids in those passes).
 */
import { join } from 'node:path';
import { closeSync, openSync, readSync } from 'node:fs';
import { BUILD_MEMORY_DEFAULTS, FORMAT_DEFAULTS } from '../config/defaults.js';
import { invalidArgument } from '../errors/index.js';
import { ArrayFileWriter, writeArrayFile, writeFileAtomic, fileEntry } from '../format/index-files.js';
import {
  FORMAT_NAME,
  formatVersionFor,
  INDEX_FILES,
  MANIFEST_FILE,
  segmentFileName,
  type FileEntry,
  type IndexFileRole,
  type IndexManifest,
  type SegmentEntry,
} from '../format/manifest.js';
import type { ResidualCodec } from '../codec/residual-codec.js';

export interface IndexWriterOptions {
  /** Largest residual segment, in bytes (default FORMAT_DEFAULTS.segmentBytes); a passage never straddles two. */
  segmentBytes?: number;
  /** IVF entries filled per pass over the codes (default BUILD_MEMORY_DEFAULTS.ivfBlockEntries). */
  ivfBlockEntries?: number;
}

interface OpenSegment {
  firstPid: number;
  passages: number;
  tokens: number;
  codes: ArrayFileWriter;
  residuals: ArrayFileWriter;
}

export class IndexWriter {
  private readonly segmentBytes: number;
  private readonly ivfBlockEntries: number;
  private readonly doclensFile: ArrayFileWriter;
  private doclens = new Int32Array(1024);
  private nPassages = 0;
  private nTokens = 0;
  private current: OpenSegment | null = null;
  private readonly segments: SegmentEntry[] = [];
  /** IVF pass 1, done while appending: entries per centroid and the last pid counted for it. */
  private readonly ivfCounts: Float64Array;
  private readonly lastPid: Int32Array;
  private readonly files: Partial<Record<IndexFileRole, FileEntry>> = {};

  constructor(
    readonly dir: string,
    readonly codec: ResidualCodec,
    options: IndexWriterOptions = {},
  ) {
    this.segmentBytes = options.segmentBytes ?? FORMAT_DEFAULTS.segmentBytes;
    if (!Number.isInteger(this.segmentBytes) || this.segmentBytes < 1 || this.segmentBytes > 2 ** 31 - 1) {
      throw invalidArgument('segmentBytes', 'an integer in [1, 2^31 - 1]', this.segmentBytes);
    }
    this.ivfBlockEntries = options.ivfBlockEntries ?? BUILD_MEMORY_DEFAULTS.ivfBlockEntries;
    this.doclensFile = new ArrayFileWriter(join(dir, INDEX_FILES.doclens));
    this.files.centroids = writeArrayFile(join(dir, INDEX_FILES.centroids), codec.centroids);
    this.ivfCounts = new Float64Array(codec.nCentroids);
    this.lastPid = new Int32Array(codec.nCentroids).fill(-1);
  }

  get passages(): number {
    return this.nPassages;
  }

  get tokens(): number {
    return this.nTokens;
  }

  /** Appends a chunk of consecutive passages (pids continue from the previous chunk). */
  appendChunk(codes: Int32Array, residuals: Uint8Array, doclens: Int32Array): void {
    const bpt = this.codec.bytesPerToken;
    this.doclensFile.append(doclens);
    let row = 0;
    let from = 0; // first passage of the run not yet written
    let runRow = 0;
    for (let i = 0; i < doclens.length; i++) {
      const len = doclens[i]!;
      const seg = this.segmentFor(len * bpt, i - from, (row - runRow) * bpt);
      if (seg === 'flush') {
        this.writeRun(codes, residuals, from, i, runRow, row);
        this.closeSegment();
        from = i;
        runRow = row;
      }
      this.countIvf(codes, row, len, this.nPassages + i);
      row += len;
    }
    this.writeRun(codes, residuals, from, doclens.length, runRow, row);
    this.keepDoclens(doclens);
    this.nPassages += doclens.length;
    this.nTokens += row;
  }

  /** 'flush' when the passage would push the open segment (plus the pending run) past segmentBytes. */
  private segmentFor(passageBytes: number, pendingPassages: number, pendingBytes: number): 'same' | 'flush' {
    const cur = this.current;
    const used = (cur === null ? 0 : cur.residuals.bytes) + pendingBytes;
    const passagesInSegment = (cur === null ? 0 : cur.passages) + pendingPassages;
    return passagesInSegment > 0 && used + passageBytes > this.segmentBytes ? 'flush' : 'same';
  }

  private writeRun(codes: Int32Array, residuals: Uint8Array, from: number, to: number, rowFrom: number, rowTo: number): void {
    if (to <= from) return;
    const bpt = this.codec.bytesPerToken;
    if (this.current === null) {
      const i = this.segments.length;
      this.current = {
        firstPid: this.nPassages + from,
        passages: 0,
        tokens: 0,
        codes: new ArrayFileWriter(join(this.dir, segmentFileName('codes', i))),
        residuals: new ArrayFileWriter(join(this.dir, segmentFileName('residuals', i))),
      };
    }
    this.current.codes.append(codes.subarray(rowFrom, rowTo));
    this.current.residuals.append(residuals.subarray(rowFrom * bpt, rowTo * bpt));
    this.current.passages += to - from;
    this.current.tokens += rowTo - rowFrom;
  }

  private closeSegment(): void {
    const cur = this.current;
    if (cur === null) return;
    this.segments.push({ firstPid: cur.firstPid, passages: cur.passages, tokens: cur.tokens, codes: cur.codes.close(), residuals: cur.residuals.close() });
    this.current = null;
  }

  private countIvf(codes: Int32Array, row: number, len: number, pid: number): void {
    for (let t = row, end = row + len; t < end; t++) {
      const c = codes[t]!;
      if (this.lastPid[c] !== pid) {
        this.lastPid[c] = pid;
        this.ivfCounts[c]!++;
      }
    }
  }

  private keepDoclens(doclens: Int32Array): void {
    const need = this.nPassages + doclens.length;
    if (need > this.doclens.length) {
      const grown = new Int32Array(Math.max(need, this.doclens.length * 2));
      grown.set(this.doclens.subarray(0, this.nPassages));
      this.doclens = grown;
    }
    this.doclens.set(doclens, this.nPassages);
  }

  /** Closes the streamed files and writes the IVF, filled in centroid ranges from the code segments on disk. */
  finishArrays(): { ivfBytes: number } {
    this.closeSegment();
    this.files.doclens = this.doclensFile.close();
    const k = this.codec.nCentroids;
    const offsets = new BigInt64Array(k + 1);
    for (let c = 0; c < k; c++) offsets[c + 1] = offsets[c]! + BigInt(this.ivfCounts[c]!);
    this.files.ivfOffsets = writeArrayFile(join(this.dir, INDEX_FILES.ivfOffsets), offsets);
    const ivf = new ArrayFileWriter(join(this.dir, INDEX_FILES.ivf));
    const doclens = this.doclens.subarray(0, this.nPassages);
    for (let c0 = 0; c0 < k; ) {
      // The next range of centroids whose lists fit in one block (at least one centroid).
      let c1 = c0;
      let entries = 0;
      while (c1 < k && (c1 === c0 || entries + this.ivfCounts[c1]! <= this.ivfBlockEntries)) entries += this.ivfCounts[c1++]!;
      ivf.append(this.fillIvfRange(c0, c1, entries, doclens));
      c0 = c1;
    }
    this.files.ivf = ivf.close();
    return { ivfBytes: this.files.ivf.bytes };
  }

  /** IVF lists of centroids [c0, c1): one pass over every code segment, passages in pid order. */
  private fillIvfRange(c0: number, c1: number, entries: number, doclens: Int32Array): Int32Array {
    const out = new Int32Array(entries);
    const cursor = new Int32Array(c1 - c0);
    for (let c = c0, o = 0; c < c1; c++) {
      cursor[c - c0] = o;
      o += this.ivfCounts[c]!;
    }
    const lastPid = new Int32Array(c1 - c0).fill(-1);
    const span = c1 - c0;
    // Every token belongs to a passage, so the pid walk below never runs past the last one.
    let pid = -1;
    let left = 0;
    this.segments.forEach((_, i) => {
      forEachCodeBlock(join(this.dir, segmentFileName('codes', i)), (block) => {
        for (let t = 0; t < block.length; t++) {
          while (left === 0) left = doclens[++pid]!;
          left--;
          const c = block[t]! - c0;
          if (c >= 0 && c < span && lastPid[c] !== pid) {
            lastPid[c] = pid;
            out[cursor[c]!++] = pid;
          }
        }
      });
    });
    return out;
  }

  /** Lists the document store (in place) and writes the manifest: the index exists from here on. */
  writeManifest(
    partial: Omit<IndexManifest, 'format' | 'formatVersion' | 'files' | 'codec' | 'dim' | 'nbits' | 'segments' | 'settings'> & {
      avgResidual: number;
      settings: Omit<IndexManifest['settings'], 'segmentBytes'>;
    },
  ): IndexManifest {
    // Born in place (DocStoreWriter.close: WAL), with its size and CRC-32 as built: checked on open
    // until the first write changes it (manifest.ts FileEntry.inPlace).
    this.files.docstore = { ...fileEntry(join(this.dir, INDEX_FILES.docstore)), inPlace: true };
    const { avgResidual, settings, ...rest } = partial;
    const manifest: IndexManifest = {
      format: FORMAT_NAME,
      formatVersion: formatVersionFor(this.codec.nbits),
      ...rest,
      settings: { ...settings, segmentBytes: this.segmentBytes },
      dim: this.codec.dim,
      nbits: this.codec.nbits,
      codec: { cutoffs: Array.from(this.codec.cutoffs), weights: Array.from(this.codec.weights), avgResidual },
      files: this.files as Record<IndexFileRole, FileEntry>,
      segments: this.segments,
    };
    writeFileAtomic(join(this.dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  }
}

/** Reads an int32 file in blocks of 4 MiB, in order. */
function forEachCodeBlock(path: string, visit: (block: Int32Array) => void): void {
  const fd = openSync(path, 'r');
  try {
    const buf = new Int32Array(1 << 20);
    const bytes = new Uint8Array(buf.buffer);
    let pos = 0;
    for (;;) {
      let n = 0;
      while (n < bytes.length) {
        const r = readSync(fd, bytes, n, bytes.length - n, pos + n);
        if (r === 0) break;
        n += r;
      }
      if (n === 0) break;
      visit(buf.subarray(0, n >> 2));
      pos += n;
      if (n < bytes.length) break;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Inverted file in memory: for each centroid, the ascending unique pids with a token assigned to
 * it. Two passes (count, then fill) over passages in pid order, so lists come out sorted without a
 * sort. The writer does the same in bounded memory; this form is the oracle tests compare it with.
 */
export function buildIvf(codes: Int32Array, doclens: Int32Array, nCentroids: number): { ivf: Int32Array; offsets: Int32Array } {
  const lastPid = new Int32Array(nCentroids).fill(-1);
  const counts = new Int32Array(nCentroids);
  let t = 0;
  for (let pid = 0; pid < doclens.length; pid++) {
    const end = t + doclens[pid]!;
    for (; t < end; t++) {
      const c = codes[t]!;
      if (lastPid[c] !== pid) {
        lastPid[c] = pid;
        counts[c]!++;
      }
    }
  }
  const offsets = new Int32Array(nCentroids + 1);
  for (let c = 0; c < nCentroids; c++) offsets[c + 1] = offsets[c]! + counts[c]!;
  const ivf = new Int32Array(offsets[nCentroids]!);
  const cursor = offsets.slice(0, nCentroids);
  lastPid.fill(-1);
  t = 0;
  for (let pid = 0; pid < doclens.length; pid++) {
    const end = t + doclens[pid]!;
    for (; t < end; t++) {
      const c = codes[t]!;
      if (lastPid[c] !== pid) {
        lastPid[c] = pid;
        ivf[cursor[c]!++] = pid;
      }
    }
  }
  return { ivf, offsets };
}
