/**
 * An index's identity, for files made against it (a ranking model records the index it was
 * trained on, ltr/ltr-model.ts): what stays the same through the index's adds, deletes,
 * compactions and calibrations, and differs between two builds. Writes never retrain the
 * centroids (mutate/ compresses new passages with the index's own codec), so the identity is the
 * centroids file's CRC-32 and size (from the manifest: nothing is read or hashed at open), the
 * codec's cutoffs and weights, and the model (name, dim, fingerprint of its files). The commit
 * ids change with every write and the creation time with a copy, so neither would do. A
 * cluster's shards share it (one codebook); a rebuild of the same corpus with the same model and
 * seed gets the same identity, and is the same index for what a model learnt from it.
 */
import { createHash } from 'node:crypto';
import type { IndexManifest } from './manifest.js';

/** 16 hex digits of SHA-256 over the fields above; stable across plait versions that keep them. */
export function indexIdentityOf(manifest: Pick<IndexManifest, 'files' | 'codec' | 'model'>): string {
  const c = manifest.files.centroids;
  const m = manifest.model;
  const fields = { centroids: { bytes: c.bytes, crc32: c.crc32 }, cutoffs: manifest.codec.cutoffs, weights: manifest.codec.weights, model: { name: m.name, dim: m.dim, fingerprint: m.fingerprint ?? null } };
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex').slice(0, 16);
}
