/**
 * Opens an index folder: reads and validates the manifest (format name and version), then loads
 * every binary file into SharedArrayBuffer-backed typed arrays, checking each file's size and CRC-32
 * against the manifest. A truncated, overwritten or missing file fails with INDEX_CORRUPT.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PlaitError } from '../errors/index.js';
import { ResidualCodec, checkNbits } from '../codec/residual-codec.js';
import type { Kernels } from '../kernels/types.js';
import { FORMAT_NAME, FORMAT_VERSION, INDEX_FILES, MANIFEST_FILE, type IndexManifest } from './manifest.js';
import { readArrayFile, readJsonFile } from './index-files.js';
import { prefixStarts } from '../util/vectors.js';

export interface IndexData {
  path: string;
  manifest: IndexManifest;
  codec: ResidualCodec;
  centroids: Float32Array;
  doclens: Int32Array;
  /** First token row of each passage (prefix sums of doclens). */
  tokenStarts: Int32Array;
  codes: Int32Array;
  residuals: Uint8Array;
  ivf: Int32Array;
  ivfOffsets: Int32Array;
}

export function readManifest(path: string): IndexManifest {
  if (!existsSync(path)) throw new PlaitError('INDEX_NOT_FOUND', { message: `no index at ${path}`, path });
  const m = readJsonFile(join(path, MANIFEST_FILE), 'index manifest') as Partial<IndexManifest> | null;
  if (m === null || typeof m !== 'object' || m.format !== FORMAT_NAME) {
    throw new PlaitError('INDEX_CORRUPT', { message: `${join(path, MANIFEST_FILE)} is not a plait index manifest`, path });
  }
  if (m.formatVersion !== FORMAT_VERSION) {
    throw new PlaitError('INDEX_VERSION', {
      message: `index format version ${String(m.formatVersion)}; this plait reads version ${FORMAT_VERSION} (rebuild the index)`,
      path,
    });
  }
  for (const key of ['model', 'counts', 'codec', 'files', 'dim', 'nbits'] as const) {
    if (m[key] === undefined) throw new PlaitError('INDEX_CORRUPT', { message: `manifest lacks "${key}"`, path });
  }
  return m as IndexManifest;
}

export function loadIndexData(path: string, kernels?: Kernels): IndexData {
  const manifest = readManifest(path);
  const f = manifest.files;
  const file = (role: keyof typeof INDEX_FILES): string => join(path, INDEX_FILES[role]);
  const centroids = readArrayFile(file('centroids'), Float32Array, f.centroids, INDEX_FILES.centroids);
  const doclens = readArrayFile(file('doclens'), Int32Array, f.doclens, INDEX_FILES.doclens);
  const codes = readArrayFile(file('codes'), Int32Array, f.codes, INDEX_FILES.codes);
  const residuals = readArrayFile(file('residuals'), Uint8Array, f.residuals, INDEX_FILES.residuals);
  const ivf = readArrayFile(file('ivf'), Int32Array, f.ivf, INDEX_FILES.ivf);
  const ivfOffsets = readArrayFile(file('ivfOffsets'), Int32Array, f.ivfOffsets, INDEX_FILES.ivfOffsets);
  const { dim, counts } = manifest;
  const nbits = checkNbits(manifest.nbits);
  const expect = (ok: boolean, what: string): void => {
    if (!ok) throw new PlaitError('INDEX_CORRUPT', { message: `${what} does not match the manifest`, path });
  };
  expect(centroids.length === counts.centroids * dim, 'centroids');
  expect(doclens.length === counts.passages, 'doclens');
  expect(codes.length === counts.tokens, 'codes');
  expect(residuals.length === (counts.tokens * dim * nbits) / 8, 'residuals');
  expect(ivfOffsets.length === counts.centroids + 1, 'ivf offsets');
  const { starts: tokenStarts, total } = prefixStarts(doclens);
  expect(total === counts.tokens, 'sum of doclens');
  const codec = new ResidualCodec(dim, nbits, centroids, Float32Array.from(manifest.codec.cutoffs), Float32Array.from(manifest.codec.weights), kernels);
  return { path, manifest, codec, centroids, doclens, tokenStarts, codes, residuals, ivf, ivfOffsets };
}
