/**
 * `plait cluster add` / `plait cluster delete`'s library half (issue 24): a corpus (the readers,
 * file:line errors and skipInvalid of `plait add`) encoded once with the cluster's model and
 * appended to the shards' write logs in writes of at most CLUSTER_WRITE_DEFAULTS.maxDocuments
 * documents, each acknowledged before the next is encoded (memory stays bounded whatever the
 * corpus). Unlike `plait add` on one index, a corpus is not one atomic write: each batch is (per
 * shard), and a failure part-way leaves the batches before it written — adds are upserts, so
 * running the same command again converges.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { CLUSTER_WRITE_DEFAULTS } from '../config/defaults.js';
import { createEncoder } from '../encoder/create-encoder.js';
import type { Encoder, EncoderOptions } from '../encoder/types.js';
import { ENCODER_OPTION_KEYS } from '../encoder/types.js';
import { PlaitError } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { CORPUS_READER_OPTION_KEYS, corpusReaderOptionsOf, emptyCorpusError, openCorpus, withRecordedFields } from '../indexer/corpus/index.js';
import type { CorpusInput, CorpusReadReport, CorpusReaderOptions } from '../indexer/corpus/types.js';
import type { DocumentInput } from '../docstore/types.js';
import type { MetadataFilter } from '../docstore/metadata-filter.js';
import { encodeClusterWrite } from './encode-write.js';
import { clusterLayout } from './shard-files.js';
import { WriteLog, type WriteAck } from './write-log.js';

export interface ClusterAddOptions extends CorpusReaderOptions {
  /** An open encoder of the cluster's model (not closed); default: one created from a shard's manifest. */
  encoder?: Encoder;
  encoderOptions?: EncoderOptions;
  /** Documents per write (default CLUSTER_WRITE_DEFAULTS.maxDocuments). */
  batchDocuments?: number;
}

export interface ClusterWriteResult {
  cluster: string;
  shards: number;
  /** Documents written (added or replaced) or ids sent for deletion. */
  documents: number;
  writes: number;
  /** Per shard written, the stream sequence of its last write (read-your-writes waits for these). */
  sequences: { shard: number; sequence: number }[];
}

/** ClusterAddOptions' keys (util/option-keys.ts): `addCorpusToCluster(nc, c, f, { batchdocuments: 10 })` had written in the default batches. */
const CLUSTER_ADD_OPTION_KEYS = {
  encoder: true, encoderOptions: true, batchDocuments: true,
  ...CORPUS_READER_OPTION_KEYS,
} as const satisfies OptionKeys<ClusterAddOptions>;

/** What deleteFromCluster deletes; its keys: `{ ids, filtr }` had deleted the ids and ignored the filter. */
export interface ClusterDeletion {
  ids?: readonly string[];
  filter?: MetadataFilter;
}
const CLUSTER_DELETION_KEYS = { ids: true, filter: true } as const satisfies OptionKeys<ClusterDeletion>;

/** The last sequence per shard over several acknowledgements. */
function lastSequences(acks: readonly WriteAck[]): { shard: number; sequence: number }[] {
  const last = new Map<number, number>();
  for (const a of acks) for (const s of a.shards) last.set(s.shard, Math.max(last.get(s.shard) ?? 0, s.sequence));
  return [...last].sort((a, b) => a[0] - b[0]).map(([shard, sequence]) => ({ shard, sequence }));
}

/**
 * Adds (upserts) a corpus to the cluster at `root` (a local cluster folder or a published cluster's name).
 * @throws PlaitError INVALID_ARGUMENT (an unknown option key, before anything is read), the corpus readers' errors, EMPTY_CORPUS, INDEX_NOT_FOUND, MODEL_MISMATCH, and WriteLog.append's.
 */
export async function addCorpusToCluster(nc: NatsConnection, root: string, input: CorpusInput, options: ClusterAddOptions = {}): Promise<ClusterWriteResult & { report: CorpusReadReport }> {
  checkOptionKeys(options, CLUSTER_ADD_OPTION_KEYS, 'addCorpusToCluster option');
  checkOptionKeys(options.encoderOptions, ENCODER_OPTION_KEYS, 'encoder option');
  const layout = await clusterLayout(nc, root);
  const log = await WriteLog.open(nc, layout.cluster, { shards: layout.shards });
  const encoder = options.encoder ?? (await createEncoder(layout.manifest.modelSpec, options.encoderOptions ?? {}));
  const size = options.batchDocuments ?? CLUSTER_WRITE_DEFAULTS.maxDocuments;
  const acks: WriteAck[] = [];
  let documents = 0;
  try {
    const { options: read } = await withRecordedFields(input, corpusReaderOptionsOf(options), layout.manifest.settings.corpusFields); // as addCorpus
    const corpus = await openCorpus(input, read);
    let batch: DocumentInput[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      acks.push(await log.append(await encodeClusterWrite({ documents: batch }, encoder, layout.manifest)));
      documents += batch.length;
      batch = [];
    };
    for await (const d of corpus) {
      batch.push({ docId: d.docId, title: d.title, text: d.text, metadata: d.metadata });
      if (batch.length >= size) await flush();
    }
    await flush();
    if (documents === 0) throw emptyCorpusError(input, corpus.report, 'add');
    return { cluster: layout.cluster, shards: layout.shards, documents, writes: acks.length, sequences: lastSequences(acks), report: corpus.report };
  } finally {
    if (options.encoder === undefined) await encoder.close();
  }
}

/**
 * Deletes ids (routed to their shards) and/or what a metadata filter matches (on every shard), as one write.
 * @throws PlaitError INVALID_ARGUMENT (an unknown key of `what`; neither ids nor filter), INVALID_FILTER, INDEX_NOT_FOUND, and WriteLog.append's.
 */
export async function deleteFromCluster(nc: NatsConnection, root: string, what: ClusterDeletion): Promise<ClusterWriteResult> {
  checkOptionKeys(what, CLUSTER_DELETION_KEYS, 'deleteFromCluster key');
  if ((what.ids?.length ?? 0) === 0 && what.filter === undefined) throw new PlaitError('INVALID_ARGUMENT', { message: 'give ids and/or a filter to delete' });
  const layout = await clusterLayout(nc, root);
  const log = await WriteLog.open(nc, layout.cluster, { shards: layout.shards });
  // No documents: the encoder is never asked for, so none is created.
  const write = await encodeClusterWrite({ delete: what.ids ?? [], ...(what.filter === undefined ? {} : { deleteWhere: what.filter }) }, null, layout.manifest);
  const ack = await log.append(write);
  return { cluster: layout.cluster, shards: layout.shards, documents: what.ids?.length ?? 0, writes: 1, sequences: lastSequences([ack]) };
}
