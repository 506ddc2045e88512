/**
 * `plait cluster add` / `plait cluster delete`'s library half (issue 24): a corpus (the readers,
 * file:line errors and skipInvalid of `plait add`) encoded once with the cluster's model and
 * published to the shards' write logs in writes of at most CLUSTER_WRITE_DEFAULTS.maxDocuments
 * documents, each acknowledged before the next is encoded (memory stays bounded whatever the corpus).
 *
 * A corpus is one write, as `plait add` is one generation: nothing lands unless the whole input
 * parses and every batch is stored. First the whole input is read without encoding (a corrupt .gz,
 * a malformed line 5,000, an empty file are refused before any encoding or publishing); then the
 * batches are published as the STAGED entries of one write transaction (write-transaction.ts) and
 * committed at the end: a writer that fails or is killed in between leaves nothing any replica
 * applies. Each shard applies its part in one commit; across shards see write-transaction.ts.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { CLUSTER_WRITE_DEFAULTS } from '../config/defaults.js';
import { createEncoder } from '../encoder/create-encoder.js';
import type { Encoder, EncoderOptions } from '../encoder/types.js';
import { ENCODER_OPTION_KEYS } from '../encoder/types.js';
import { PlaitError, invalidArgument, checkNonEmptyString, checkShape, checkObject } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { CORPUS_READER_OPTION_KEYS, corpusReaderOptionsOf, emptyCorpusError, openCorpus, withRecordedFields } from '../indexer/corpus/index.js';
import type { CorpusInput, CorpusReadReport, CorpusReaderOptions } from '../indexer/corpus/types.js';
import type { DocumentInput } from '../docstore/types.js';
import type { MetadataFilter } from '../docstore/metadata-filter.js';
import { encodeClusterWrite } from './encode-write.js';
import { clusterLayout } from './shard-files.js';
import { WriteLog, type WriteAck } from './write-log.js';
import { WriteTransaction, type ShardCommitAck } from './write-transaction.js';
import { appliedFilterWarnings, clusterAddTypes, waitForReplicas, withoutTypeCounts, type ReplicasWait } from './replica-wait.js';
import type { MetadataTypeWarning } from '../docstore/metadata-types.js';
import { previewFilter, type FilterPreview } from './filter-preview.js';
import type { FilterWarning } from '../docstore/metadata-catalogue.js';

export interface ClusterAddOptions extends CorpusReaderOptions {
  /** An open encoder of the cluster's model (not closed); default: one created from a shard's manifest. */
  encoder?: Encoder;
  encoderOptions?: EncoderOptions;
  /** Documents per write (default CLUSTER_WRITE_DEFAULTS.maxDocuments). */
  batchDocuments?: number;
  /**
   * After the commit, wait up to this many ms for every replica answering to apply the file, and
   * answer their counts (`replicas`; replica-wait.ts). Absent: answer once the logs stored it.
   */
  waitMs?: number;
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

/** addCorpusToCluster's answer: what was published, per shard (its entries' sequence range and documents). */
export interface ClusterAddResult extends ClusterWriteResult {
  /** The write transaction's id (the log entries' `Plait-Txn` / `Plait-Commit` header). */
  transaction: string;
  /** Per shard touched: its staged entries' first sequence, the commit entry's sequence, batches and documents published to it. */
  published: ShardCommitAck[];
  /** With `waitMs`: each shard's replicas, how far they applied and what each did with the file (added, replaced, unchanged, deleted). */
  replicas?: ReplicasWait;
  /**
   * With `waitMs`, once every replica applied it: METADATA_TYPE_MIXED over the whole cluster, as
   * `addCorpus` says it of one index (same fields, message and example ids) — each metadata field
   * the add left holding several JSON types over the corpus, one of them new, from every shard's
   * counts summed (the touched shards' as their replicas applied the add, the others' asked after:
   * replica-wait.ts clusterAddTypes). A field of numbers on shard 0 and strings on shard 1 is mixed,
   * though neither shard's own `replicas…transaction.metadataWarnings` says so. Absent when none or unknown.
   */
  metadataWarnings?: MetadataTypeWarning[];
  /**
   * With `waitMs`, once every replica applied it: the shards whose type counts did not come (a
   * replica predating them, restarted since, or not answering). Present only when some did not:
   * the cluster's types are then unknown, and each shard's own warnings are in its replicas'
   * transactions.
   */
  metadataTypesUnknown?: number[];
  report: CorpusReadReport;
}

/** ClusterAddOptions' keys (util/option-keys.ts): `addCorpusToCluster(nc, c, f, { batchdocuments: 10 })` had written in the default batches. */
const CLUSTER_ADD_OPTION_KEYS = {
  encoder: true, encoderOptions: true, batchDocuments: true, waitMs: true,
  ...CORPUS_READER_OPTION_KEYS,
} as const satisfies OptionKeys<ClusterAddOptions>;

/** deleteFromCluster's options. */
export interface ClusterDeleteOptions {
  /**
   * After the write logs stored the delete, wait up to this many ms for every replica answering to
   * apply it, and answer what each did (`replicas`: deleted, ids not found, a filter's warnings;
   * replica-wait.ts). The delete is then a tracked write (write-log.ts TRACK_HEADER), applied by
   * each replica in a commit of its own. Absent: answer once the logs stored it.
   */
  waitMs?: number;
}
const CLUSTER_DELETE_OPTION_KEYS = { waitMs: true } as const satisfies OptionKeys<ClusterDeleteOptions>;

/** deleteFromCluster's answer. */
export interface ClusterDeleteResult extends ClusterWriteResult {
  /** The write's id (its log entries' `Plait-Write` header; with `waitMs`, the id the replicas are asked about). */
  write: string;
  /** Per shard written: its stream, the entry's last sequence and the ids sent to it (a filter goes to every shard: what it matches is known to the replicas only). */
  published: { shard: number; stream: string; sequence: number; deletes: number }[];
  /** With `waitMs`: each shard's replicas, how far they applied and what each did (deleted, notFound, filterWarnings). */
  replicas?: ReplicasWait;
  /**
   * A filter delete without `waitMs`: what one replica per shard counted the filter to match just
   * before the delete was published, and why none when none (filter-preview.ts).
   */
  filterPreview?: FilterPreview;
  /**
   * A filter delete: what the filter did over the whole cluster, as a single index's delete says it
   * (UpdateResult.filterWarnings): why it matched nothing when it matched nothing on every shard
   * (commonWarnings), and FILTER_TYPE_MIXED for each comparison on a field of several JSON types
   * over the corpus (the shards' type counts summed: clusterMixedWarnings). With `waitMs` from the
   * replicas' own counts as they applied it (why: only when every shard answered counts), without
   * from the preview (`filterPreview.filterWarnings`). Absent when none.
   */
  filterWarnings?: FilterWarning[];
}

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
 * Adds (upserts) a corpus to the cluster at `root` (a local cluster folder or a published cluster's
 * name) as one write transaction: every replica applies its shard's part of the whole corpus in one
 * commit, or nothing of it (the module header). The corpus is read twice: once to check all of it,
 * then to encode and publish it.
 * @throws PlaitError INVALID_ARGUMENT (an unknown option key, before anything is read), the corpus
 * readers' errors (CORRUPT_INPUT, MALFORMED_JSONL, … with file and line), EMPTY_CORPUS — all before
 * anything is published —, INDEX_NOT_FOUND, MODEL_MISMATCH, and WriteLog.append's (then staged entries
 * may be in the log, never committed: no replica applies them).
 */
export async function addCorpusToCluster(nc: NatsConnection, root: string, input: CorpusInput, options: ClusterAddOptions = {}): Promise<ClusterAddResult> {
  checkOptionKeys(options, CLUSTER_ADD_OPTION_KEYS, 'addCorpusToCluster option');
  checkShape('nc', nc, 'a NATS connection (from natsConnect)', ['publish', 'request']);
  checkNonEmptyString('root', root, 'a cluster folder path');
  checkOptionKeys(options.encoderOptions, ENCODER_OPTION_KEYS, 'encoder option');
  if (options.waitMs !== undefined && !(Number.isInteger(options.waitMs) && options.waitMs >= 0)) throw invalidArgument('waitMs', 'a non-negative integer (ms)', options.waitMs);
  const layout = await clusterLayout(nc, root);
  const { options: read } = await withRecordedFields(input, corpusReaderOptionsOf(options), layout.manifest.settings.corpusFields); // as addCorpus
  // The whole input checked before the model loads or anything is published.
  const checked = await openCorpus(input, { ...read, onWarning: () => {} }); // the second read reports the skips, once
  let total = 0;
  for await (const _ of checked) total++;
  if (total === 0) throw emptyCorpusError(input, checked.report, 'add');
  const log = await WriteLog.open(nc, layout.cluster, { shards: layout.shards });
  const encoder = options.encoder ?? (await createEncoder(layout.manifest.modelSpec, options.encoderOptions ?? {}));
  const size = options.batchDocuments ?? CLUSTER_WRITE_DEFAULTS.maxDocuments;
  const tx = new WriteTransaction(log);
  let documents = 0;
  let writes = 0;
  try {
    // Read again (the file may have changed since: the reader's errors still stop it before the commit).
    const corpus = await openCorpus(input, read);
    let batch: DocumentInput[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      await tx.stage(await encodeClusterWrite({ documents: batch }, encoder, layout.manifest));
      documents += batch.length;
      writes++;
      batch = [];
    };
    for await (const d of corpus) {
      batch.push({ docId: d.docId, title: d.title, text: d.text, metadata: d.metadata });
      if (batch.length >= size) await flush();
    }
    await flush();
    if (documents === 0) throw emptyCorpusError(input, corpus.report, 'add');
    const ack = await tx.commit();
    const waitEnds = Date.now() + (options.waitMs ?? 0);
    const replicas = options.waitMs === undefined ? undefined : await waitForReplicas(nc, layout.cluster, ack.txn, ack.shards, options.waitMs);
    // Applied everywhere: the field types over the corpus, every shard's counts summed, within the wait's time (--wait).
    const types = replicas?.complete === true ? await clusterAddTypes(nc, layout.cluster, layout.shards, replicas, { deadlineAt: waitEnds }) : undefined;
    return {
      cluster: layout.cluster, shards: layout.shards, documents, writes, transaction: ack.txn,
      sequences: ack.shards.map((s) => ({ shard: s.shard, sequence: s.sequence })), published: ack.shards,
      ...(replicas === undefined ? {} : { replicas: withoutTypeCounts(replicas) }),
      ...(types === undefined || types.metadataWarnings.length === 0 ? {} : { metadataWarnings: types.metadataWarnings }),
      ...(types === undefined || types.unknownShards.length === 0 ? {} : { metadataTypesUnknown: types.unknownShards }),
      report: corpus.report,
    };
  } finally {
    if (options.encoder === undefined) await encoder.close();
  }
}

/**
 * Deletes ids (routed to their shards) and/or what a metadata filter matches (on every shard), as
 * one write. With `options.waitMs`, then waits for the replicas and answers what each did (a
 * replica of a version before this applies the delete all the same and answers without counts);
 * without it, a filter's matches are first counted by one replica per shard (`filterPreview`).
 * @throws PlaitError INVALID_ARGUMENT (an unknown key of `what` or `options`; neither ids nor
 * filter; a `waitMs` not a non-negative integer), INVALID_FILTER, INDEX_NOT_FOUND, and
 * WriteLog.append's. A wait that runs out is not thrown: `replicas.complete` is false.
 */
export async function deleteFromCluster(nc: NatsConnection, root: string, what: ClusterDeletion, options: ClusterDeleteOptions = {}): Promise<ClusterDeleteResult> {
  checkOptionKeys(what, CLUSTER_DELETION_KEYS, 'deleteFromCluster key');
  checkShape('nc', nc, 'a NATS connection (from natsConnect)', ['publish', 'request']);
  checkNonEmptyString('root', root, 'a cluster folder path');
  checkObject('what', what, 'a ClusterDeletion ({ ids } or { where })');
  checkOptionKeys(options, CLUSTER_DELETE_OPTION_KEYS, 'deleteFromCluster option');
  if ((what.ids?.length ?? 0) === 0 && what.filter === undefined) throw new PlaitError('INVALID_ARGUMENT', { message: 'give ids and/or a filter to delete' });
  if (options.waitMs !== undefined && !(Number.isInteger(options.waitMs) && options.waitMs >= 0)) throw invalidArgument('waitMs', 'a non-negative integer (ms)', options.waitMs);
  const layout = await clusterLayout(nc, root);
  const log = await WriteLog.open(nc, layout.cluster, { shards: layout.shards });
  // No documents: the encoder is never asked for, so none is created.
  const write = await encodeClusterWrite({ delete: what.ids ?? [], ...(what.filter === undefined ? {} : { deleteWhere: what.filter }) }, null, layout.manifest);
  // Without a wait, the filter's matches counted before publishing (after, a replica may have applied it already).
  const filterPreview = what.filter === undefined || options.waitMs !== undefined ? undefined : await previewFilter(nc, layout.cluster, layout.shards, what.filter);
  // Tracked only when waited for: a tracked write is applied alone, never folded with its neighbours.
  const ack = await log.append(write, { track: options.waitMs !== undefined });
  const sequences = lastSequences([ack]);
  const replicas = options.waitMs === undefined ? undefined : await waitForReplicas(nc, layout.cluster, ack.writeId, sequences, options.waitMs);
  const filterWarnings = what.filter === undefined ? undefined : replicas === undefined ? filterPreview?.filterWarnings : appliedFilterWarnings(what.filter, replicas);
  return {
    cluster: layout.cluster, shards: layout.shards, documents: what.ids?.length ?? 0, writes: 1, sequences, write: ack.writeId,
    published: ack.shards.map((s) => ({ shard: s.shard, stream: s.stream, sequence: s.sequence, deletes: s.deletes })),
    ...(replicas === undefined ? {} : { replicas }), ...(filterPreview === undefined ? {} : { filterPreview }),
    ...(filterWarnings === undefined || filterWarnings.length === 0 ? {} : { filterWarnings }),
  };
}
