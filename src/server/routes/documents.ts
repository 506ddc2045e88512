/**
 * Writes over HTTP (issue 24): `POST /v1/indexes/{name}/documents` adds documents (upsert: an
 * indexed `doc_id` is replaced, unless `no_replace`; one whose title, text and metadata equal the
 * indexed ones is neither encoded nor replaced, counted in `unchanged`), `POST /v1/indexes/{name}/documents/delete`
 * deletes by `doc_ids` and/or a metadata `filter`. The server splits and encodes the documents
 * with the index's own model (as `plait add` does: mutate/encode-documents.ts) and commits them as
 * ONE generation through `updateIndex`; the answer comes after the commit and after the served
 * index switched to it, so a search sent after the answer sees the write. The answer names the
 * generation as search answers do (`generation`: the served generation's string, equal to the
 * `generation` of every search answer that sees the write until the next commit), with its number
 * (`generation_number`, the manifest's; this was `generation` before the two were aligned) and
 * the manifest's `commit` id.
 *
 * Writes to one index are serialised in the server (a second write waits for the first's commit
 * instead of failing on the write lock); another process's lock is waited for as `plait add` waits
 * (LOCK_WAIT_DEFAULTS, within the write's deadline), then 409 INDEX_LOCKED.
 * A write holds an admission slot like any request and runs under its request's signal — its
 * deadline (`timeout_ms`), the client's disconnect, a drain that ran out of time — up to the commit:
 * the encoding stops within one batch a worker when it aborts (the encoder's EncodeOptions.signal),
 * and the signal is checked once more right before the commit, in the same synchronous step, so a
 * cancelled write commits nothing and frees the encoder for the next write. The commit itself is
 * never interrupted: once it began, the write runs to its end and answers what it committed (never
 * a 504 for a committed write).
 *
 * Bounds: CLUSTER_WRITE_DEFAULTS.maxDocuments documents and maxDeleteIds ids per request (413
 * WRITE_TOO_LARGE beyond), and the server's body limit (`--max-body-bytes`, 413 WRITE_TOO_LARGE).
 *
 * On a coordinator (`DocumentsRoutesOptions.cluster`) the same routes and bodies write to the
 * cluster's write log instead: the documents are encoded once here, split by shard and published
 * (src/cluster/write-log.ts); the answer comes once JetStream stored every shard's part, with the
 * write's stream sequence per shard — what a search passes to read its own writes. Counts of what
 * was added, replaced or deleted are not known then (each replica applies the write later), nor is
 * a generation or commit: none exists yet, so that answer names none (it names the write by
 * `write_id` and `sequences` instead).
 * On a shard replica's HTTP server (`shardReplica`) both routes refuse: writes go through the log.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { CLUSTER_WRITE_DEFAULTS } from '../../config/defaults.js';
import { PlaitError, extendedError, isPlaitError } from '../../errors/index.js';
import { commitIdOf } from '../../format/index-transaction.js';
import { checkDocument, encodeDocuments, throwIfWriteCancelled } from '../../mutate/encode-documents.js';
import { documentExists, firstIndexedId, updateIndex, type EncodedDocument, type UpdateRequest, type UpdateResult } from '../../mutate/index-updater.js';
import { updateIndexOffThread } from '../../mutate/write-thread.js';
import { splitUnchanged, writeUpserts } from '../../mutate/unchanged-upsert.js';
import { withLockWait } from '../../mutate/lock-wait.js';
import type { DocumentInput } from '../../docstore/types.js';
import { compileFilter, type MetadataFilter } from '../../docstore/metadata-filter.js';
import { indexGeneration, type Engine, type IndexEntry } from '../engine.js';
import { ERROR_SCHEMA, storageRefusal } from '../http-errors.js';
import { FILTER_WARNING_PROPERTIES } from './search.js';
import { runWork } from '../request-work.js';
import { estimateTokens } from '../request-cost.js';
import { checkBatch, checkText } from '../text-checks.js';
import { lookupDocId } from '../../indexer/corpus/document-id.js';
import { snakeKeys } from '../snake-keys.js';
import { encodeClusterWrite } from '../../cluster/encode-write.js';
import type { WriteAck, WriteLog } from '../../cluster/write-log.js';
import { previewFilter } from '../../cluster/filter-preview.js';
import { appliedFilterWarnings, clusterAddTypes, waitForReplicas, type ClusterAddTypes, type ReplicasWait, type TypesRoundOptions } from '../../cluster/replica-wait.js';
import type { FilterWarning } from '../../docstore/metadata-catalogue.js';
import { integerRange } from '../../config/parse-number.js';
import type { IndexManifest } from '../../format/manifest.js';
import type { Encoder } from '../../encoder/types.js';
import '../fastify-types.js';

/** A coordinator's write target: its served cluster, its write log, the encoder and a shard's manifest. */
export interface ClusterWriteTarget {
  /** The name the routes serve the cluster under (`/v1/indexes/{name}/documents`). */
  index: string;
  log: WriteLog;
  /** The cluster's model (the coordinator's own encoder; not closed here). */
  encoder: Encoder;
  /** A shard's manifest: model, dimension and passage split, the same on every shard. */
  manifest: IndexManifest;
}

/** The shard a replica's HTTP server serves: the cluster's name and the shard's number. */
export interface ShardReplicaTarget {
  cluster: string;
  shard: number;
}

export interface DocumentsRoutesOptions {
  /** Write to this cluster's log instead of committing to a served index. */
  cluster?: ClusterWriteTarget;
  /**
   * The served index is a shard replica: writes are refused (400 INVALID_ARGUMENT). Committed here
   * they would reach this replica only — not the shard's other replicas, not its write log, and
   * possibly a document that hashes to another shard — so replicas would answer differently.
   */
  shardReplica?: ShardReplicaTarget;
}

interface DocumentBody {
  /** A string or an integer (its decimal text), as a JSONL corpus line's id (checkDocument). */
  doc_id: string | number;
  text: string;
  title?: string;
  metadata?: Record<string, unknown>;
}

interface AddBody {
  documents: DocumentBody[];
  write_id?: string;
  no_replace?: boolean;
  timeout_ms?: number;
  wait_ms?: number;
}

interface DeleteBody {
  doc_ids?: (string | number)[];
  write_id?: string;
  filter?: MetadataFilter;
  timeout_ms?: number;
  wait_ms?: number;
}

/** One warning of a write's answer: a filter's (FILTER_WARNING_PROPERTIES) or METADATA_TYPE_MIXED's field, types and new_types. */
const WRITE_WARNING_ITEM = {
  type: 'object',
  properties: {
    ...FILTER_WARNING_PROPERTIES,
    types: { type: 'array', items: { type: 'object', properties: { type: { type: 'string' }, documents: { type: 'integer' }, example_id: { type: 'string' } } } },
    new_types: { type: 'array', items: { type: 'string' } },
  },
} as const;

const TIMEOUT_MS = {
  type: 'integer',
  minimum: 1,
  description: 'deadline for this request in ms, up to the commit (default: the server deadline); on a cluster coordinator up to the publish: the encoding and a filter delete\'s preview (504 TIMEOUT, nothing published, when it passes)',
} as const;

const WAIT_MS = {
  type: 'integer',
  minimum: 0,
  description:
    "a cluster coordinator only (400 INVALID_ARGUMENT on a single index, whose answer comes after the commit): once the write logs stored the write, wait up to this many ms for every shard's replicas that answer to apply it, and answer what each did in `replicas` " +
    '(as `plait cluster add|delete --wait`; at most the server\'s maximum timeout_ms). A replica behind at the end, or a shard with no replica answering, is 504 TIMEOUT with the write stored all the same (details: acknowledged, write_id, sequences, replicas). Default: answer once the logs stored it',
} as const;

const WRITE_ID = {
  type: 'string',
  pattern: '^[A-Za-z0-9_.:-]{1,128}$',
  description:
    'a cluster coordinator only (400 INVALID_ARGUMENT on a single index, whose write is one commit): the write\'s id (default: a new UUID). A write sent again under the id of one that failed with 503 WRITE_PARTIAL (its details.write_id) stores only the shards\' parts that were missing, within the write log\'s duplicate window (2 minutes, JetStream\'s default); later, or without it, the stored parts are stored again, which replaces the same ids (nothing is duplicated). An id names ONE write: another write under it within the window is taken for a retry and not stored',
} as const;

const ADD_BODY_SCHEMA = {
  type: 'object',
  required: ['documents'],
  additionalProperties: false,
  properties: {
    documents: {
      type: 'array',
      minItems: 1,
      description: `documents to add or replace, at most ${CLUSTER_WRITE_DEFAULTS.maxDocuments} (413 beyond); doc_id unique in the request`,
      items: {
        type: 'object',
        required: ['doc_id', 'text'],
        additionalProperties: false,
        properties: {
          doc_id: {
            type: ['string', 'number'],
            minLength: 1,
            description:
              'a non-empty string (spaces inside are fine; a control character or line break, or white space at an end, is 400 INVALID_ID) or an integer, stored as its decimal text (123 is the id "123", as a JSONL corpus\'s "_id": 123; a fraction or an integer past 2^53 is 400 INVALID_ARGUMENT: send it as a string)',
          },
          text: { type: 'string' },
          title: { type: 'string' },
          metadata: { type: 'object', additionalProperties: true, description: 'searchable with filter (JSON object)' },
        },
      },
    },
    write_id: WRITE_ID,
    no_replace: { type: 'boolean', description: 'refuse (409 DOCUMENT_EXISTS, nothing written) a doc_id already indexed instead of replacing it; not available on a cluster coordinator (400 INVALID_ARGUMENT)' },
    timeout_ms: TIMEOUT_MS,
    wait_ms: WAIT_MS,
  },
} as const;

const DELETE_BODY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    doc_ids: {
      type: 'array',
      items: { type: ['string', 'number'] },
      description: `ids to delete, at most ${CLUSTER_WRITE_DEFAULTS.maxDeleteIds} (413 beyond): strings, or integers read as their decimal text as a write's doc_id is; absent ids are listed in missing`,
    },
    filter: { type: 'object', additionalProperties: true, description: 'also delete every document whose metadata match (the search filter language; 400 INVALID_FILTER when malformed)' },
    write_id: WRITE_ID,
    timeout_ms: TIMEOUT_MS,
    wait_ms: WAIT_MS,
  },
} as const;

const WRITE_RESPONSE = {
  type: 'object',
  required: ['index', 'committed', 'generation', 'generation_number', 'commit', 'added', 'replaced', 'unchanged', 'deleted', 'missing', 'compacted'],
  properties: {
    index: { type: 'string' },
    committed: { type: 'boolean', description: 'false when nothing changed (every id to delete absent, every document unchanged): no generation was committed, and generation names the current one' },
    generation: {
      type: 'string',
      description:
        "the served index's generation right after this write, as search answers name it (their `generation`): a search answer carrying this value (or a later one) sees the write. (It was the generation's number before the two were aligned: that number is now generation_number.)",
    },
    generation_number: { type: 'integer', description: 'the number of the generation the write committed (or the current one when nothing changed): the manifest\'s generation, as `plait info` shows it' },
    commit: { type: 'string', description: "the commit id of that generation (the manifest's commit)" },
    added: { type: 'integer', description: 'documents new to the index' },
    replaced: { type: 'integer', description: 'documents that replaced an indexed one with the same doc_id and another title, text or metadata' },
    unchanged: { type: 'integer', description: 'documents equal to the indexed one with the same doc_id (title, text and metadata): not encoded, not replaced (Elasticsearch\'s "noop")' },
    deleted: { type: 'integer' },
    missing: { type: 'array', items: { type: 'string' }, description: 'doc_ids asked to be deleted that were not indexed' },
    compacted: { type: 'boolean', description: 'whether the write was followed by an automatic compaction' },
    warnings: {
      type: 'array',
      description:
        'when the delete\'s filter matched no live document: why, as a search with that filter says it — FILTER_FIELD_UNKNOWN (field, suggestion), FILTER_TYPE_MISMATCH (asked_type, stored_types), else FILTER_NO_MATCH; ' +
        'whatever the delete\'s filter matched, FILTER_TYPE_MIXED for a comparison on a field holding values of several JSON types, which deleted the values of its own type only (asked_type; stored_counts: each type and its live documents before the delete); ' +
        'METADATA_TYPE_MIXED when the write left a metadata field holding values of several JSON types, one of them new to it (field; types: each type, its live documents and an example_id; new_types): committed all the same, but a comparison filter on the field matches the values of its own type only',
      items: WRITE_WARNING_ITEM,
    },
  },
} as const;

const LOGGED_RESPONSE = {
  type: 'object',
  required: ['index', 'acknowledged', 'write_id', 'documents', 'deletes', 'sequences'],
  properties: {
    index: { type: 'string' },
    acknowledged: { type: 'boolean', description: 'true: every shard\'s part of the write is stored in its write log (replicas apply it in order)' },
    write_id: { type: 'string' },
    documents: { type: 'integer', description: 'documents published to be added or replaced (how many each replica adds, replaces or finds unchanged is known once it applied the write)' },
    deletes: { type: 'integer', description: 'doc_ids published to be deleted (a filter\'s matches are known to the replicas only: filter_matches is a count taken before the delete)' },
    filter_matches: {
      type: ['integer', 'null'],
      description: 'a delete by filter without wait_ms: the live documents it matched just before it was published, counted by one replica of each shard (null: a shard did not answer in time, or runs a version without the count); each replica deletes what it matches as it applies the write (with wait_ms: absent, each replica\'s `deleted` is in replicas)',
    },
    warnings: {
      type: 'array',
      description:
        'a delete by filter that matched no document on any shard: why, as a search with that filter says it — FILTER_FIELD_UNKNOWN (field, suggestion), FILTER_TYPE_MISMATCH (asked_type, stored_types), else FILTER_NO_MATCH; ' +
        'and, matched or not, FILTER_TYPE_MIXED for a comparison on a field holding values of several JSON types over the cluster (the shards\' counts summed: a field of numbers on one shard and strings on another is mixed), which deletes the values of its own type only (asked_type; stored_counts). ' +
        'Without wait_ms from the preview (filter_matches), with it from what the replicas counted as they applied the delete. ' +
        'An add with wait_ms, once every replica applied it: METADATA_TYPE_MIXED for each metadata field the add left holding values of several JSON types over the cluster, one of them new (every shard\'s counts summed: a field of numbers on one shard and strings on another is mixed), as a single index\'s add says it (field; types: each type, its live documents and an example_id; new_types)',
      items: WRITE_WARNING_ITEM,
    },
    metadata_types_unknown: {
      type: 'array',
      items: { type: 'integer' },
      description: 'an add with wait_ms: the shards whose metadata type counts did not come (a replica restarted since it applied the add, of a version before them, or not answering by the end of wait_ms, or before a drain that ran out of time answered), so METADATA_TYPE_MIXED over the cluster is unknown (each shard\'s own is in its replicas\' transaction.metadata_warnings); absent when every shard answered',
    },
    replicas: {
      type: 'object',
      required: ['complete', 'waited_ms', 'shards'],
      description: 'with wait_ms: per shard the write touched, each replica that answered, how far it applied its log and what it did with this write (as `plait cluster add|delete --wait --json` prints it)',
      properties: {
        complete: { type: 'boolean', description: 'true: every shard had a replica answering and each answering replica applied the write (false only inside a 504\'s details)' },
        waited_ms: { type: 'integer' },
        shards: {
          type: 'array',
          items: {
            type: 'object',
            required: ['shard', 'sequence', 'replicas'],
            properties: {
              shard: { type: 'integer' },
              sequence: { type: 'integer', description: 'the write\'s last stream sequence on this shard' },
              replicas: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['pid', 'applied', 'transaction'],
                  properties: {
                    pid: { type: 'integer' },
                    applied: { type: ['integer', 'null'], description: 'the last sequence the replica applied (null: it applies no log)' },
                    transaction: {
                      type: ['object', 'null'],
                      description: 'what it did with this write, in a commit of its own; null when it had not applied it, was restarted since, or runs a version before tracked writes',
                      properties: {
                        txn: { type: 'string', description: 'the write_id' },
                        sequence: { type: 'integer' },
                        added: { type: 'integer' },
                        replaced: { type: 'integer' },
                        unchanged: { type: 'integer' },
                        deleted: { type: 'integer' },
                        not_found: { type: 'integer', description: 'a delete by ids: this shard\'s ids that were not in its index' },
                        filter_warnings: { type: 'array', description: 'this shard\'s own: why its filter matched nothing there, FILTER_TYPE_MIXED by its counts', items: { type: 'object', properties: FILTER_WARNING_PROPERTIES } },
                        metadata_warnings: { type: 'array', description: 'METADATA_TYPE_MIXED by this shard\'s counts', items: { type: 'object', additionalProperties: true } },
                        refused: { type: 'string', description: 'the code the replica refused the write with (nothing of it applied)' },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    sequences: {
      type: 'array',
      description: 'per shard the write touched: the stream sequences of its part (first_sequence–sequence when in several parts); a replica that applied `sequence` serves the write',
      items: {
        type: 'object',
        required: ['shard', 'sequence'],
        properties: { shard: { type: 'integer' }, stream: { type: 'string' }, first_sequence: { type: 'integer' }, sequence: { type: 'integer' }, parts: { type: 'integer' }, documents: { type: 'integer' }, deletes: { type: 'integer' }, stored_before: { type: 'boolean', description: 'true: a retry under write_id found this shard\'s part stored by an earlier try (a WRITE_PARTIAL\'s): not stored again, the sequences are that try\'s' } },
      },
    },
  },
} as const;

const errors = { '4xx': ERROR_SCHEMA, '5xx': ERROR_SCHEMA };

/** A wait's answer (ReplicasWait) as HTTP gives it: snake_case, without the replicas' wire-only type counts (filterTypes, metadataTypes: summed into `warnings`). */
function replicasAnswer(w: ReplicasWait): Record<string, unknown> {
  const shards = w.shards.map((s) => ({ ...s, replicas: s.replicas.map((x) => ({ ...x, transaction: x.transaction === null ? null : (({ filterTypes: _, metadataTypes: __, ...t }) => t)(x.transaction) })) }));
  return snakeKeys({ complete: w.complete, waitedMs: w.waitedMs, shards }) as Record<string, unknown>;
}

/** The answer to a cluster write: the log positions. */
function loggedAnswer(name: string, ack: WriteAck): Record<string, unknown> {
  const sum = (k: 'documents' | 'deletes'): number => ack.shards.reduce((a, s) => a + s[k], 0);
  return {
    index: name, acknowledged: true, write_id: ack.writeId, documents: sum('documents'), deletes: sum('deletes'),
    sequences: ack.shards.map((s) => ({ shard: s.shard, stream: s.stream, first_sequence: s.firstSequence, sequence: s.sequence, parts: s.parts, documents: s.documents, deletes: s.deletes, stored_before: s.storedBefore })),
  };
}

/** The documents of an add body, checked (doc_id → docId). */
/** The tokens a write encodes, estimated for admission (request-cost.ts): each document's title and text. */
function documentTokens(docs: readonly DocumentInput[]): number {
  return estimateTokens(docs.map((d) => (d.title === undefined ? d.text : `${d.title} ${d.text}`)));
}

function documentsOf(b: AddBody): DocumentInput[] {
  checkBatch(b.documents.length, CLUSTER_WRITE_DEFAULTS.maxDocuments, 'documents', 'write');
  return b.documents.map((d, i) => {
    checkText(d.text, `documents[${i}].text`);
    if (d.title !== undefined) checkText(d.title, `documents[${i}].title`);
    if (typeof d.doc_id === 'string') checkText(d.doc_id, `documents[${i}].doc_id`);
    return checkDocument({ docId: d.doc_id, text: d.text, title: d.title, metadata: d.metadata }, i);
  });
}

/** 409 DOCUMENT_EXISTS for documents[i], named as the client sent it (no_replace). */
function refusedByNoReplace(id: string, i: number): PlaitError {
  const field = `documents[${i}]`;
  return documentExists(id, 'no_replace', field, { field });
}

/** The ids and filter of a delete body, checked. */
function deletionsOf(b: DeleteBody): { delete: string[]; deleteWhere?: MetadataFilter } {
  if (b.doc_ids === undefined && b.filter === undefined) throw new PlaitError('INVALID_ARGUMENT', { message: 'give doc_ids, filter, or both', field: 'body' });
  checkBatch(b.doc_ids?.length ?? 0, CLUSTER_WRITE_DEFAULTS.maxDeleteIds, 'doc_ids', 'write');
  // The write's rule (checkDocument): an integer is its decimal text (document-id.ts lookupDocId).
  const ids = (b.doc_ids ?? []).map((id, i) => lookupDocId(id, `doc_ids[${i}]`));
  return { delete: ids, ...(b.filter === undefined ? {} : { deleteWhere: b.filter }) };
}

/**
 * The answer to a write: UpdateResult in snake_case, with the commit id, and the served generation
 * named as search answers name it (`served`: IndexEntry.generation right after this write's refresh).
 */
function writeAnswer(name: string, r: UpdateResult, served: string): Record<string, unknown> {
  return {
    index: name,
    committed: r.committed,
    generation: served,
    generation_number: r.generation,
    commit: commitIdOf(r.manifest),
    added: r.added,
    replaced: r.replaced,
    unchanged: r.unchanged,
    deleted: r.deleted,
    missing: r.missing,
    compacted: r.compacted,
    ...(r.filterWarnings === undefined && r.metadataWarnings === undefined ? {} : { warnings: [...(r.filterWarnings ?? []), ...(r.metadataWarnings ?? [])].map((w) => snakeKeys(w)) }),
  };
}

export const documentsRoutes: FastifyPluginAsync<DocumentsRoutesOptions> = async (app, opts) => {
  const engine = app.engine;
  const cluster = opts.cluster;
  const replica = opts.shardReplica;
  const refuseOnReplica = (): void => {
    if (replica === undefined) return;
    throw new PlaitError('INVALID_ARGUMENT', {
      message: `this server is a replica of shard ${replica.shard} of cluster ${replica.cluster}: a write here would reach this replica only; write through the cluster (a coordinator's POST /v1/indexes/${replica.cluster}/documents, or plait cluster add|delete) so that every replica applies it`,
      name: 'index',
    });
  };
  /** The cluster's write target for `name` (404 INDEX_NOT_FOUND for another name). */
  const clusterTarget = (name: string): ClusterWriteTarget => {
    if (name !== cluster!.index) throw new PlaitError('INDEX_NOT_FOUND', { message: `no index named "${name}" is served`, name, served: [cluster!.index] });
    return cluster!;
  };
  /**
   * Prepares a write in an admission slot under the request's deadline (504, nothing published,
   * when it passes): `before` (a filter delete's preview, a NATS round that a hanging replica
   * stretches to CLUSTER_WRITE_DEFAULTS.filterPreviewMs — it had run before the admission, neither
   * counted nor bounded by timeout_ms), then the encoding. Then publishes it to the cluster's log
   * outside the deadline: once the append starts the write may be stored, so its answer must be what
   * the log acknowledged, never a 504 for a stored write. `track`: a tracked write (wait_ms), applied
   * by each replica in a commit of its own whose counts it remembers (write-log.ts TRACK_HEADER).
   */
  const logWrite = async <P>(
    reply: FastifyReply,
    timeoutMs: number | undefined,
    t: ClusterWriteTarget,
    input: Parameters<typeof encodeClusterWrite>[0],
    track: boolean,
    writeId: string | undefined,
    before?: (signal: AbortSignal) => Promise<P>,
  ): Promise<{ ack: WriteAck; prepared: P | undefined }> => {
    const tokens = 'documents' in input ? documentTokens(input.documents ?? []) : 0;
    const { write, prepared } = await runWork(engine, reply, { timeoutMs: timeoutMs ?? engine.options.writeTimeoutMs, tokens }, async (signal) => {
      const prepared = await before?.(signal);
      const write = await trackEncode(engine, t.manifest.model.name, () => encodeClusterWrite(input, t.encoder, t.manifest, { signal }));
      return { write, prepared };
    });
    // A shard's log that refuses its part after others stored theirs: WRITE_PARTIAL (503) naming both (cluster/partial-write.ts).
    return { ack: await t.log.append(write, { track, ...(writeId === undefined ? {} : { writeId }) }), prepared };
  };
  /** write_id, checked: a coordinator's only (a single index's write is one commit, all or nothing). */
  const writeIdOf = (b: { write_id?: string | undefined }): string | undefined => {
    if (b.write_id !== undefined && cluster === undefined) throw new PlaitError('INVALID_ARGUMENT', { message: 'write_id is for a cluster coordinator, whose write goes to several write logs: a single index commits a write whole or not at all', name: 'write_id', field: 'body/write_id' });
    return b.write_id;
  };
  /** wait_ms, checked: a coordinator's only, at most the server's maximum deadline. */
  const waitOf = (b: { wait_ms?: number | undefined }): number | undefined => {
    if (b.wait_ms === undefined) return undefined;
    if (cluster === undefined) throw new PlaitError('INVALID_ARGUMENT', { message: 'wait_ms is for a cluster coordinator, whose replicas apply a write after its answer: a single index answers after the commit', name: 'wait_ms', field: 'body/wait_ms' });
    const max = engine.options.maxTimeoutMs;
    if (b.wait_ms > max) throw new PlaitError('INVALID_ARGUMENT', { message: `Expected ${integerRange(0, max)} for body/wait_ms but received ${b.wait_ms}`, field: 'body/wait_ms', keyword: 'maximum', min: 0, max });
    return b.wait_ms;
  };
  /**
   * wait_ms: waits for the replicas of every shard the write touched (replica-wait.ts), outside the
   * admission slot (it encodes nothing: pings, every CLUSTER_WRITE_DEFAULTS.waitPollMs), and answers
   * them; a wait that runs out is 504 TIMEOUT whose details say the write is stored. A drain that
   * ran out of time (engine.shutdownSignal) or the client's hang-up ends the wait at once: the drain's
   * 503 then says the write is stored too (it had kept pinging up to wait_ms, its client cut off).
   */
  const awaitReplicas = async (reply: FastifyReply, t: ClusterWriteTarget, ack: WriteAck, waitMs: number, then?: (w: ReplicasWait, o: TypesRoundOptions) => Promise<void>): Promise<ReplicasWait> => {
    const deadlineAt = Date.now() + waitMs;
    const sequences = ack.shards.map((s) => ({ shard: s.shard, sequence: s.sequence }));
    const stop = new AbortController();
    const onShutdown = (): void => stop.abort(engine.shutdownSignal.reason);
    const onClose = (): void => {
      if (!reply.raw.writableFinished) stop.abort(new PlaitError('ABORTED', { message: 'the client closed the connection' }));
    };
    if (engine.shutdownSignal.aborted) onShutdown();
    engine.shutdownSignal.addEventListener('abort', onShutdown, { once: true });
    reply.raw.once('close', onClose);
    let w: ReplicasWait;
    try {
      w = await waitForReplicas(t.log.nc, t.log.cluster, ack.writeId, sequences, waitMs, stop.signal);
      // `then` (an add's type-count round) ends with the wait's deadline, the drain and the hang-up too.
      if (w.complete && then !== undefined) await then(w, { deadlineAt, signal: stop.signal });
    } finally {
      engine.shutdownSignal.removeEventListener('abort', onShutdown);
      reply.raw.removeListener('close', onClose);
    }
    if (w.complete) return w;
    if (stop.signal.aborted) {
      const reason = stop.signal.reason instanceof PlaitError ? stop.signal.reason : new PlaitError('INDEX_CLOSED', { message: 'the server is shutting down' });
      throw extendedError(reason, `; the write is stored in the write logs (write ${ack.writeId}): its replicas apply it, unwaited for`, { acknowledged: true, writeId: ack.writeId, sequences });
    }
    throw new PlaitError('TIMEOUT', {
      message: `the write is stored in the write logs (write ${ack.writeId}), but not every replica had applied it within ${waitMs} ms: ${w.shards.map((s) => `shard ${s.shard}: ${s.replicas.length === 0 ? 'no replica answered' : s.replicas.map((x) => `replica ${x.pid} applied up to ${x.applied ?? 'no log'} of ${s.sequence}`).join(', ')}`).join('; ')}`,
      acknowledged: true,
      writeId: ack.writeId,
      sequences,
      replicas: replicasAnswer(w),
    });
  };
  /** Per served index, the tail of its queue of writes (owned by this plugin instance). */
  const tails = new Map<string, Promise<unknown>>();

  /**
   * Runs `commit` after the index's earlier writes; then the served index switches to the new
   * generation, whose name (as search answers give it) is returned with the result — taken before
   * the next queued write can change it.
   */
  const serialised = <T>(entry: IndexEntry, commit: () => T | Promise<T>): Promise<{ out: T; served: string }> => {
    const index = engine.plaitIndex(entry);
    const run = (tails.get(entry.name) ?? Promise.resolve()).then(async () => {
      const out = await commit();
      // Named from what is served after the refresh, found or not: the server's own poller may have
      // swapped this write's generation in first (refresh then returns false) and not yet named it.
      await index.refresh();
      entry.generation = indexGeneration(index.manifest);
      return { out, served: entry.generation };
    });
    tails.set(entry.name, run.catch(() => {}));
    return run;
  };

  /**
   * A write under its request's signal (runWork): `prepare` (the encoding, in an admission slot)
   * and the wait behind the index's earlier writes (the slot given back: commits and refreshes of
   * other writes must not hold searches out) run under it; right before the commit the signal is
   * checked in the same synchronous step as `updateIndex`, and from there the write runs to its end
   * (`irrevocable`) and answers what it committed — a 504 racing the commit and the served index's
   * refresh would report a committed write as failed.
   */
  const write = (
    reply: FastifyReply,
    timeoutMs: number | undefined,
    entry: IndexEntry,
    items: number,
    tokens: number,
    perform: (signal: AbortSignal, commit: (req: UpdateRequest) => Promise<{ out: UpdateResult; served: string }>) => Promise<{ out: UpdateResult; served: string }>,
  ): Promise<Record<string, unknown>> => {
    let committing = false;
    return runWork(engine, reply, { timeoutMs: timeoutMs ?? engine.options.writeTimeoutMs, irrevocable: () => committing, tokens }, async (signal, release) => {
      const { out, served } = await perform(signal, (req) => {
        release();
        return commitWrite(signal, req);
      });
      return writeAnswer(entry.name, out, served);
    }).catch((e: unknown) => {
      throw committing ? e : notCommitted(e, items);
    });
    /**
     * One commit try of the write (the prepared request), behind the index's earlier writes. A
     * commit refused before it wrote anything (INDEX_LOCKED, INDEX_CHANGED: an unchanged document
     * another writer changed meanwhile, which `perform` encodes and commits again) is not irrevocable.
     */
    function commitWrite(signal: AbortSignal, req: UpdateRequest): Promise<{ out: UpdateResult; served: string }> {
      // Another process's lock (a second server on the folder, a `plait add` committing) is waited
      // for as the CLI waits (LOCK_WAIT_DEFAULTS), within this write's deadline: it had been a 409
      // at once. updateIndex fails before it writes anything when the lock is held, so each try
      // that finds it held is not irrevocable; each try checks the signal first, so a write whose
      // deadline passed while it waited commits nothing.
      return serialised(entry, () =>
        withLockWait(
          () => {
            throwIfWriteCancelled(signal, items);
            committing = true;
            const refused = (e: unknown): never => {
              if (isPlaitError(e, 'INDEX_LOCKED') || isPlaitError(e, 'INDEX_CHANGED')) committing = false;
              throw e;
            };
            const path = engine.plaitIndex(entry).path;
            // A delete runs on the write thread (mutate/write-thread.ts): /health, /ready, /metrics and
            // searches are answered meanwhile (a 500-document delete had held them 1.3–1.6 s on scifact).
            if ((req.add?.length ?? 0) === 0) return updateIndexOffThread(path, req).catch(refused);
            try {
              return updateIndex(path, req);
            } catch (e) {
              return refused(e);
            }
          },
          { signal },
        ).catch((e: unknown) => {
          // The wait ended by the request's signal: its own error (TIMEOUT, ABORTED), not the lock's.
          if (isPlaitError(e, 'INDEX_LOCKED') && signal.aborted) throwIfWriteCancelled(signal, items);
          // A read-only folder or a full disk: 403 / 507 that say so, not a 500.
          throw storageRefusal(e, entry.name);
        }),
      );
    }
  };

  app.post<{ Params: { name: string }; Body: AddBody }>(
    '/v1/indexes/:name/documents',
    {
      config: { bodyKind: 'write' },
      schema: {
        operationId: 'addDocuments',
        summary: 'Add or replace documents (encoded with the index\'s model, committed as one generation)',
        tags: ['documents'],
        params: { type: 'object', properties: { name: { type: 'string' } } },
        body: ADD_BODY_SCHEMA,
        response: { 200: cluster === undefined ? WRITE_RESPONSE : LOGGED_RESPONSE, ...errors },
      },
    },
    async (request, reply) => {
      const b = request.body;
      if (cluster !== undefined) {
        const t = clusterTarget(request.params.name);
        const docs = documentsOf(b);
        if (b.no_replace === true) throw new PlaitError('INVALID_ARGUMENT', { message: 'no_replace is not available on a cluster: replicas apply writes later, so the writer cannot know what is indexed', name: 'no_replace' });
        const waitMs = waitOf(b);
        const { ack } = await logWrite(reply, b.timeout_ms, t, { documents: docs }, waitMs !== undefined, writeIdOf(b));
        const answer = loggedAnswer(t.index, ack);
        if (waitMs === undefined) return answer;
        // Applied everywhere: METADATA_TYPE_MIXED over the corpus, every shard's counts summed (replica-wait.ts clusterAddTypes).
        let types: ClusterAddTypes = { metadataWarnings: [], unknownShards: [] };
        const w = await awaitReplicas(reply, t, ack, waitMs, async (done, o) => void (types = await clusterAddTypes(t.log.nc, t.log.cluster, t.log.shards, done, o)));
        return {
          ...answer, replicas: replicasAnswer(w),
          ...(types.metadataWarnings.length === 0 ? {} : { warnings: types.metadataWarnings.map((x) => snakeKeys(x)) }),
          ...(types.unknownShards.length === 0 ? {} : { metadata_types_unknown: types.unknownShards }),
        };
      }
      const entry = engine.index(request.params.name);
      refuseOnReplica();
      waitOf(b);
      writeIdOf(b);
      const index = engine.plaitIndex(entry);
      const docs = documentsOf(b);
      // no_replace refuses before the encoding when the served generation already holds an id; the commit checks again.
      const noReplace = b.no_replace === true;
      const indexed = noReplace ? firstIndexedId(docs.map((d) => d.docId), (id) => index.docstore.docIdToRowid(id) !== null) : -1;
      if (indexed >= 0) throw refusedByNoReplace(docs[indexed]!.docId, indexed);
      // Documents equal to the served ones are not encoded (mutate/unchanged-upsert.ts): the commit
      // compares them again under the lock, and one another writer changed meanwhile is encoded then
      // (outside the admission slot, which the commit gave back) and committed with a second try.
      const split = splitUnchanged(docs, (id) => index.docstore.storedContent(id), !noReplace);
      const encodeTokens = documentTokens(split.encode.map((i) => docs[i]!));
      try {
        return await write(reply, b.timeout_ms, entry, docs.length, encodeTokens, async (signal, commit) => {
          const encode = async (some: readonly DocumentInput[]): Promise<EncodedDocument[]> => {
            const encoder = await index.encoder();
            return trackEncode(engine, index.manifest.model.name, () => encodeDocuments(some, encoder, index.manifest, { signal }));
          };
          return (await writeUpserts(docs, split, encode, (add, keep) => commit({ add, keep, noReplace }))).result;
        });
      } catch (e) {
        // The library names its own option and the index folder; a client sent no_replace and documents[i].
        if (!isPlaitError(e, 'DOCUMENT_EXISTS')) throw e;
        throw refusedByNoReplace(String(e.details?.['id']), Number(e.details?.['position']));
      }
    },
  );

  app.post<{ Params: { name: string }; Body: DeleteBody }>(
    '/v1/indexes/:name/documents/delete',
    {
      config: { bodyKind: 'write' },
      schema: {
        operationId: 'deleteDocuments',
        summary: 'Delete documents by doc_id and/or metadata filter (committed as one generation)',
        tags: ['documents'],
        params: { type: 'object', properties: { name: { type: 'string' } } },
        body: DELETE_BODY_SCHEMA,
        response: { 200: cluster === undefined ? WRITE_RESPONSE : LOGGED_RESPONSE, ...errors },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const deletions = deletionsOf(b);
      if (cluster !== undefined) {
        const t = clusterTarget(request.params.name);
        const waitMs = waitOf(b);
        const filter = deletions.deleteWhere;
        if (filter !== undefined) compileFilter(filter); // INVALID_FILTER before any replica is asked
        // Without wait_ms, a filter's matches counted by a replica of each shard before the delete is
        // published (after, one may have applied it already): a typo says why it deletes nothing, as on
        // one index. In the admission slot, under the request's deadline (logWrite).
        const preview = filter === undefined || waitMs !== undefined ? undefined : (signal: AbortSignal) => previewFilter(t.log.nc, t.log.cluster, t.log.shards, filter, { signal });
        const { ack, prepared } = await logWrite(reply, b.timeout_ms, t, deletions, waitMs !== undefined, writeIdOf(b), preview);
        const answer = loggedAnswer(t.index, ack);
        const warnings = (w: readonly FilterWarning[] | undefined): Record<string, unknown> => (w === undefined || w.length === 0 ? {} : { warnings: w.map((x) => snakeKeys(x)) });
        if (waitMs !== undefined) {
          const replicas = await awaitReplicas(reply, t, ack, waitMs);
          return { ...answer, replicas: replicasAnswer(replicas), ...warnings(filter === undefined ? undefined : appliedFilterWarnings(filter, replicas)) };
        }
        if (prepared === undefined) return answer;
        return { ...answer, filter_matches: prepared.matches, ...warnings(prepared.filterWarnings) };
      }
      const entry = engine.index(request.params.name);
      refuseOnReplica();
      waitOf(b);
      writeIdOf(b);
      return write(reply, b.timeout_ms, entry, deletions.delete.length, 0, async (_signal, commit) => commit(deletions));
    },
  );
};

/** Document encoding counted in the encoder's busy-time metrics, as search and rerank encoding are. */
function trackEncode<T>(engine: Engine, model: string, work: () => Promise<T>): Promise<T> {
  return engine.metrics.track(engine.metrics.encoderBusy, engine.metrics.encoderInFlight, { model }, work);
}

/** The codes a write answers when it stopped before its commit began: its deadline, its client, the server's drain. */
const STOPPED_BEFORE_COMMIT = new Set(['TIMEOUT', 'ABORTED', 'INDEX_CLOSED', 'CLOSED']);

/**
 * A write stopped before its commit began (runWork's `irrevocable` was still false: from the commit on
 * a write runs to its end and answers what it committed) says so, so that a client knows to send it
 * again: the deadline's, the hang-up's or the drain's message alone ("the server is shutting down: the
 * request did not finish within the drain timeout") left a writer guessing whether its documents were
 * in. The code and details stay; `details.committed` is false.
 */
function notCommitted(e: unknown, items: number): unknown {
  if (!(e instanceof PlaitError) || !STOPPED_BEFORE_COMMIT.has(e.code)) return e;
  return extendedError(e, `; nothing of this write (${items} ${items === 1 ? 'item' : 'items'}) was committed: send it again`, { committed: false });
}
