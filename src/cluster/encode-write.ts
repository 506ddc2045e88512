/**
 * The writer's half of a cluster write (issue 24): documents checked and encoded once, with the
 * cluster's model and the build's passage split (every shard has the same, from one sharded
 * build), into a `ClusterWrite` that WriteLog.append publishes. Everything a replica would refuse
 * is refused here, before anything is published (write-entry.ts `checkWrite`; a malformed filter).
 */
import type { Encoder } from '../encoder/types.js';
import { PlaitError, checkObject, checkShape } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import type { IndexManifest } from '../format/manifest.js';
import type { DocumentInput } from '../docstore/types.js';
import { compileFilter, type MetadataFilter } from '../docstore/metadata-filter.js';
import { checkDocument, encodeDocuments } from '../mutate/encode-documents.js';
import { checkModel } from '../search/model-check.js';
import { checkWrite, type ClusterWrite } from './write-entry.js';

export interface DocumentsWrite {
  /** Documents to add or replace (upsert by docId). */
  documents?: readonly DocumentInput[];
  /** docIds to delete. */
  delete?: readonly string[];
  /** Delete what this metadata filter matches, on every shard. */
  deleteWhere?: MetadataFilter;
}

/**
 * @param encoder the cluster's model; null for a write without documents (deletes only).
 * @param manifest a shard's manifest (model, dimension, split settings).
 * @throws PlaitError INVALID_ARGUMENT / EMPTY_TEXT (a document; documents without an encoder),
 * DUPLICATE_ID, INVALID_FILTER, MODEL_MISMATCH (the encoder is not the cluster's model); the
 * signal's reason (a PlaitError) or ABORTED when `options.signal` aborts the encoding (it stops
 * within one batch a worker; nothing is returned to publish).
 */
/** encodeClusterWrite's options: a signal that cancels the encoding. */
export interface EncodeClusterWriteOptions {
  signal?: AbortSignal;
}
const ENCODE_CLUSTER_WRITE_OPTION_KEYS = { signal: true } as const satisfies OptionKeys<EncodeClusterWriteOptions>;

export async function encodeClusterWrite(input: DocumentsWrite, encoder: Encoder | null, manifest: IndexManifest, options: EncodeClusterWriteOptions = {}): Promise<ClusterWrite> {
  checkOptionKeys(options, ENCODE_CLUSTER_WRITE_OPTION_KEYS, 'encodeClusterWrite option');
  checkObject('input', input, 'a DocumentsWrite ({ documents } or { delete })');
  checkShape('manifest', manifest, 'an IndexManifest (from readManifest)', ['settings', 'codec']);
  const docs = (input.documents ?? []).map((d, i) => checkDocument(d, i));
  if (encoder !== null) checkModel(manifest.model, encoder.info);
  else if (docs.length > 0) throw new PlaitError('INVALID_ARGUMENT', { message: 'documents to add need the cluster\'s encoder', name: 'encoder' });
  if (input.deleteWhere !== undefined) compileFilter(input.deleteWhere);
  // Duplicate ids are refused before the encoder runs (no passages yet: only the ids are checked).
  checkWrite({ add: docs.map((doc) => ({ doc, passages: [], embeddings: [] })) }, manifest.dim);
  const write: ClusterWrite = {
    add: docs.length === 0 || encoder === null ? [] : await encodeDocuments(docs, encoder, manifest, options),
    delete: [...(input.delete ?? [])],
    ...(input.deleteWhere === undefined ? {} : { deleteWhere: input.deleteWhere }),
  };
  checkWrite(write, manifest.dim);
  return write;
}
