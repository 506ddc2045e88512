/**
 * Writes an index's binary files chunk by chunk (codes, residuals, doclens appended as passages are
 * encoded), then the inverted file (centroid → sorted unique pids) and, last, the manifest.
 * Memory stays bounded by the chunk, except for the IVF pass, which reads codes back (4 bytes a token).
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { ArrayFileWriter, writeArrayFile, writeFileAtomic, fileEntry } from '../format/index-files.js';
import { FORMAT_NAME, FORMAT_VERSION, INDEX_FILES, MANIFEST_FILE, type FileEntry, type IndexManifest } from '../format/manifest.js';
import type { ResidualCodec } from '../codec/residual-codec.js';

export class IndexWriter {
  private codes: ArrayFileWriter;
  private residuals: ArrayFileWriter;
  private doclens: ArrayFileWriter;
  private nPassages = 0;
  private nTokens = 0;
  private readonly files: Partial<Record<keyof typeof INDEX_FILES, FileEntry>> = {};

  constructor(
    readonly dir: string,
    readonly codec: ResidualCodec,
  ) {
    this.codes = new ArrayFileWriter(join(dir, INDEX_FILES.codes));
    this.residuals = new ArrayFileWriter(join(dir, INDEX_FILES.residuals));
    this.doclens = new ArrayFileWriter(join(dir, INDEX_FILES.doclens));
    this.files.centroids = writeArrayFile(join(dir, INDEX_FILES.centroids), codec.centroids);
  }

  get passages(): number {
    return this.nPassages;
  }

  get tokens(): number {
    return this.nTokens;
  }

  /** Appends a chunk of consecutive passages (pids continue from the previous chunk). */
  appendChunk(codes: Int32Array, residuals: Uint8Array, doclens: Int32Array): void {
    this.codes.append(codes);
    this.residuals.append(residuals);
    this.doclens.append(doclens);
    this.nPassages += doclens.length;
    this.nTokens += codes.length;
  }

  /** Closes the streamed files and builds the IVF from the codes on disk. */
  finishArrays(): { ivfBytes: number } {
    this.files.codes = this.codes.close();
    this.files.residuals = this.residuals.close();
    this.files.doclens = this.doclens.close();
    const codes = readInt32(join(this.dir, INDEX_FILES.codes));
    const doclens = readInt32(join(this.dir, INDEX_FILES.doclens));
    const { ivf, offsets } = buildIvf(codes, doclens, this.codec.nCentroids);
    this.files.ivf = writeArrayFile(join(this.dir, INDEX_FILES.ivf), ivf);
    this.files.ivfOffsets = writeArrayFile(join(this.dir, INDEX_FILES.ivfOffsets), offsets);
    return { ivfBytes: ivf.byteLength };
  }

  /** Records the document store's checksum and writes the manifest: the index exists from here on. */
  writeManifest(partial: Omit<IndexManifest, 'format' | 'formatVersion' | 'files' | 'codec' | 'dim' | 'nbits'> & { avgResidual: number }): IndexManifest {
    this.files.docstore = fileEntry(join(this.dir, INDEX_FILES.docstore));
    const { avgResidual, ...rest } = partial;
    const manifest: IndexManifest = {
      format: FORMAT_NAME,
      formatVersion: FORMAT_VERSION,
      ...rest,
      dim: this.codec.dim,
      nbits: this.codec.nbits,
      codec: { cutoffs: Array.from(this.codec.cutoffs), weights: Array.from(this.codec.weights), avgResidual },
      files: this.files as Record<keyof typeof INDEX_FILES, FileEntry>,
    };
    writeFileAtomic(join(this.dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  }
}

function readInt32(path: string): Int32Array {
  const buf = readFileSync(path);
  return new Int32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
}

/**
 * Inverted file: for each centroid, the ascending unique pids with a token assigned to it.
 * Two passes (count, then fill) over passages in pid order, so lists come out sorted without a sort.
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
