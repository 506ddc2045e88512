/**
 * The cluster's write log (issue 24): one JetStream stream per shard (`clusterSubjects(name)
 * .writeStream(i)`, file storage, nothing expires), holding that shard's writes in the order every
 * replica applies them. `WriteLog.append` splits a write by `shardOf`, publishes each shard's part
 * and resolves once JetStream has stored (acknowledged) every one: the PubAck's stream sequence is
 * the write's position, which a reader passes to read-your-writes (applied-sequence.ts).
 *
 * A shard's write larger than one NATS message (max_payload, 1 MiB by default, less
 * CLUSTER_WRITE_DEFAULTS.payloadHeadroomBytes) is published as parts with headers `Plait-Write`
 * (write id and attempt) and `Plait-Part` (`k/n`). The parts must be contiguous in the stream, so
 * that a replica's recorded position never falls inside a write: each part after the first expects
 * the previous part's sequence (JetStream's `Nats-Expected-Last-Sequence`), and when another
 * writer's entry got in between the whole write is published again under a new attempt, after a
 * random backoff (two writers restarting in step would otherwise cut each other forever); the
 * applier drops a write whose parts stop short. Each part also carries a `Nats-Msg-Id`, so a part
 * republished after a lost acknowledgement is stored once (the stream's duplicate window).
 *
 * What is atomic: one shard's part of a write is applied in one commit on every replica. A write
 * spanning shards is not atomic across them (each shard applies its part on its own schedule).
 * A write whose part one shard's log refuses after another's stored its own is WRITE_PARTIAL, naming
 * both (partial-write.ts); sent again under its write id, only the missing parts are stored.
 * Many writes made one (a corpus file): `stage` and `publishEntry`, driven by write-transaction.ts.
 */
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { CLUSTER_WRITE_DEFAULTS } from '../config/defaults.js';
import { PlaitError, invalidArgument, checkNonEmptyString, checkObject, checkShape } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { clusterSubjects, type ClusterSubjects } from './subjects.js';
import { encodeWrite, isEmptyWrite, splitParts, splitWrite, type ClusterWrite } from './write-entry.js';
import { natsCore, natsJetStream } from './nats-modules.js';
import { failedPart, partOf, partialWriteError, writeRetry } from './partial-write.js';

/** Header naming a log entry's write: `<write id>.<attempt>`. */
export const WRITE_HEADER = 'Plait-Write';
/** Header numbering a log entry's part of its write: `<k>/<n>`, k from 1. */
export const PART_HEADER = 'Plait-Part';

/** Header of a transaction's staged entry: its transaction id (write-transaction.ts; applied only at the commit). */
export const TXN_HEADER = 'Plait-Txn';
/** Header of a transaction's commit entry on a shard: the transaction id (the body lists the staged entries). */
export const COMMIT_HEADER = 'Plait-Commit';
/**
 * Header of a TRACKED write (every part): its write id, under which each replica remembers what it
 * did with it (deleted, not found, a filter's warnings) for a writer's wait (`plait cluster delete
 * --wait`, replica-wait.ts). Such a write is applied in a commit of its own (log-applier.ts). The
 * entry is an ordinary version-1 write otherwise: an applier of a version before this ignores the
 * header and applies it as any write (folded with others), and its ping answers no counts.
 */
export const TRACK_HEADER = 'Plait-Track';

/** A caller's write id: it travels in headers and message ids (`<id>.<attempt>.<part>`). */
export const WRITE_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** JetStream's code for a publish whose expected last sequence did not match. */
const WRONG_LAST_SEQUENCE = 10071;

export interface WriteLogOptions {
  /** Shards of the cluster (writes are routed by `shardOf(docId, shards)`). */
  shards: number;
  /** Stream replicas in a NATS cluster (JetStream's num_replicas; default 1, a single server). */
  streamReplicas?: number;
  /** Largest message payload to publish (default: the server's max_payload). Tests lower it. */
  maxPayload?: number;
}

/** WriteLogOptions' keys (util/option-keys.ts). */
const WRITE_LOG_OPTION_KEYS = { shards: true, streamReplicas: true, maxPayload: true } as const satisfies OptionKeys<WriteLogOptions>;

/** `WriteLog.append`'s options. */
export interface AppendOptions {
  /**
   * The write's id (default: a random UUID); a write re-sent under its id is stored once per shard
   * within the stream's duplicate window (JetStream's, 2 minutes by default): the retry of a
   * WRITE_PARTIAL stores only the parts that were missing. Letters, digits, `_`, `-`, `.`, `:`, at most 128.
   */
  writeId?: string;
  /**
   * Track the write (TRACK_HEADER): every replica applies it in a commit of its own and remembers
   * what it did under its write id, for a writer that waits (replica-wait.ts). Default false: folded
   * with its neighbours, the cheaper commit.
   */
  track?: boolean;
}
const APPEND_OPTION_KEYS = { writeId: true, track: true } as const satisfies OptionKeys<AppendOptions>;

/** Where one shard's part of a write landed. */
export interface ShardAck {
  shard: number;
  stream: string;
  /** The stream sequence of the write's first part. */
  firstSequence: number;
  /** The stream sequence of the write's last part: a replica that applied it applied the write. */
  sequence: number;
  parts: number;
  bytes: number;
  /** Documents this shard's part adds or replaces (0 for a commit entry). */
  documents: number;
  /** docIds this shard's part deletes (a filter delete is not counted: what it matches is known to the replicas only). */
  deletes: number;
  /**
   * True when JetStream took every part for one stored before under the same write id (a retry of
   * a WRITE_PARTIAL within the duplicate window): not stored again; the sequences are the first try's.
   */
  storedBefore: boolean;
}

export interface WriteAck {
  /** The write's id (parts' `Plait-Write` header, without the attempt). */
  writeId: string;
  /** One per shard the write touched, by shard number. */
  shards: ShardAck[];
}

/** Creates shard `i`'s write stream unless it exists (idempotent; concurrent callers are fine). */
export async function ensureWriteStream(jsm: JetStreamManager, subjects: ClusterSubjects, shard: number, replicas = 1): Promise<void> {
  checkShape('jsm', jsm, 'a JetStreamManager', ['streams']);
  checkObject('subjects', subjects, 'ClusterSubjects (from clusterSubjects)');
  const name = subjects.writeStream(shard);
  try {
    await jsm.streams.info(name);
    return;
  } catch (e) {
    if (!(e instanceof natsJetStream().JetStreamApiError) || e.code !== 10059) throw e;
  }
  try {
    await jsm.streams.add({
      name,
      subjects: [subjects.writeSubject(shard)],
      storage: natsJetStream().StorageType.File,
      retention: natsJetStream().RetentionPolicy.Limits,
      discard: natsJetStream().DiscardPolicy.Old,
      num_replicas: replicas,
    });
  } catch (e) {
    // Another process created it between our look and our add: fine if it is there now.
    await jsm.streams.info(name).catch(() => {
      throw e;
    });
  }
}

export class WriteLog {
  private readonly subjects: ClusterSubjects;
  private readonly js: JetStreamClient;
  /** One append at a time per shard from this process, so its own parts never interleave. */
  private readonly tails: Promise<unknown>[];

  private constructor(
    readonly nc: NatsConnection,
    /** The cluster's name (its subjects and streams). */
    readonly cluster: string,
    readonly shards: number,
    private readonly maxPart: number,
  ) {
    this.subjects = clusterSubjects(cluster);
    this.js = natsJetStream().jetstream(nc);
    this.tails = Array.from({ length: shards }, () => Promise.resolve());
  }

  /**
   * A writer for cluster `cluster` over an open connection (not closed by the log); creates the
   * shards' write streams that do not exist yet.
   * @throws PlaitError INVALID_ARGUMENT (an unknown option key, cluster name, shard count, a payload below the headroom).
   */
  static async open(nc: NatsConnection, cluster: string, options: WriteLogOptions): Promise<WriteLog> {
    checkOptionKeys(options, WRITE_LOG_OPTION_KEYS, 'WriteLog option');
    checkShape('nc', nc, 'a NATS connection (from natsConnect)', ['publish', 'request']);
    checkNonEmptyString('cluster', cluster, 'a cluster name');
    checkObject('options', options, 'WriteLog options');
    const subjects = clusterSubjects(cluster);
    if (!Number.isInteger(options.shards) || options.shards < 1) throw invalidArgument('shards', 'a positive integer', options.shards);
    const maxPayload = options.maxPayload ?? nc.info?.max_payload ?? 1 << 20;
    const maxPart = maxPayload - CLUSTER_WRITE_DEFAULTS.payloadHeadroomBytes;
    if (!Number.isInteger(maxPart) || maxPart < 1) throw invalidArgument('maxPayload', `an integer above ${CLUSTER_WRITE_DEFAULTS.payloadHeadroomBytes}`, maxPayload);
    const jsm = await natsJetStream().jetstreamManager(nc);
    for (let i = 0; i < options.shards; i++) await ensureWriteStream(jsm, subjects, i, options.streamReplicas ?? 1);
    return new WriteLog(nc, cluster, options.shards, maxPart);
  }

  /** Largest part of a write published as one message, in bytes. */
  get maxPartBytes(): number {
    return this.maxPart;
  }

  /**
   * Publishes `write` (documents already encoded; check them with `checkWrite` first) to the
   * streams of the shards it touches and resolves when every shard's part is stored.
   * @throws PlaitError WRITE_PARTIAL (some shards' parts stored, others not: details name both, by
   * shard and id; send it again, best under the same `writeId` — partial-write.ts), else when no
   * part was stored: INVALID_ARGUMENT (an empty write), TIMEOUT (JetStream did not acknowledge),
   * INDEX_LOCKED (the parts could not be made contiguous in publishAttempts tries); INVALID_ARGUMENT
   * for an options key other than `writeId` and `track` (a retried write under a misspelt key would be applied twice).
   */
  async append(write: ClusterWrite, options: AppendOptions = {}): Promise<WriteAck> {
    checkOptionKeys(options, APPEND_OPTION_KEYS, 'write log append option');
    if (isEmptyWrite(write)) throw invalidArgument('write', 'at least one document to add or delete, or a filter', write);
    if (options.writeId !== undefined && !(typeof options.writeId === 'string' && WRITE_ID.test(options.writeId))) throw invalidArgument('writeId', 'letters, digits, _, -, . or : (1 to 128)', options.writeId);
    const writeId = options.writeId ?? randomUUID();
    return this.publishSplit(write, writeId, options.track === true ? { [TRACK_HEADER]: writeId } : {}, false);
  }

  /**
   * Publishes `write`'s shard parts as STAGED entries of transaction `txnId` (write-transaction.ts):
   * stored in the log, applied by no replica until the transaction's commit entry names them.
   * @throws as append.
   */
  async stage(txnId: string, write: ClusterWrite): Promise<WriteAck> {
    if (isEmptyWrite(write)) throw invalidArgument('write', 'at least one document to add or delete, or a filter', write);
    return this.publishSplit(write, randomUUID(), { [TXN_HEADER]: txnId }, true);
  }

  /**
   * Publishes one entry (`bytes`, already encoded) to shard `shard`'s log with `extra` headers, in
   * parts kept contiguous as append's (write-transaction.ts publishes its commit entries with it).
   * @throws as append.
   */
  async publishEntry(shard: number, writeId: string, bytes: Uint8Array, extra: Readonly<Record<string, string>>): Promise<ShardAck> {
    if (!Number.isInteger(shard) || shard < 0 || shard >= this.shards) throw invalidArgument('shard', `an integer in [0, ${this.shards - 1}]`, shard);
    const run = this.tails[shard]!.then(() => this.publishShard(shard, writeId, bytes, extra));
    this.tails[shard] = run.catch(() => {});
    return run;
  }

  private async publishSplit(write: ClusterWrite, writeId: string, extra: Readonly<Record<string, string>>, staged: boolean): Promise<WriteAck> {
    const perShard = [...splitWrite(write, this.shards)].sort((a, b) => a[0] - b[0]);
    // Every shard's publish runs to its end (Promise.all had rejected at the first failure, the others' outcome unobserved).
    const settled = await Promise.allSettled(
      perShard.map(async ([shard, w]) => ({ ...(await this.publishEntry(shard, writeId, encodeWrite(w, staged), extra)), documents: w.add?.length ?? 0, deletes: w.delete?.length ?? 0 })),
    );
    const acks = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    if (acks.length === settled.length) return { writeId, shards: acks };
    const parts = perShard.map(([shard, w]) => partOf(shard, this.subjects.writeStream(shard), w));
    const errors = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    // Nothing stored (or staged entries, which no replica applies uncommitted): the write failed whole, with its own error.
    if (acks.length === 0 || staged) throw errors[0];
    const stored = settled.flatMap((r, i) => (r.status === 'fulfilled' ? [{ ...parts[i]!, sequence: r.value.sequence }] : []));
    const failed = settled.flatMap((r, i) => (r.status === 'rejected' ? [failedPart(parts[i]!, r.reason)] : []));
    throw partialWriteError('write', writeId, stored, failed, writeRetry(writeId), errors[0]);
  }

  private async publishShard(shard: number, writeId: string, bytes: Uint8Array, extra: Readonly<Record<string, string>>): Promise<ShardAck> {
    const stream = this.subjects.writeStream(shard);
    const subject = this.subjects.writeSubject(shard);
    const parts = splitParts(bytes, this.maxPart);
    for (let attempt = 1; attempt <= CLUSTER_WRITE_DEFAULTS.publishAttempts; attempt++) {
      let previous = 0;
      let first = 0;
      let interleaved = false;
      let duplicate = true;
      for (let k = 0; k < parts.length; k++) {
        const h = natsCore().headers();
        h.set(WRITE_HEADER, `${writeId}.${attempt}`);
        h.set(PART_HEADER, `${k + 1}/${parts.length}`);
        for (const [name, value] of Object.entries(extra)) h.set(name, value);
        try {
          const ack = await this.js.publish(subject, parts[k]!, {
            headers: h,
            msgID: `${writeId}.${attempt}.${k + 1}`,
            expect: { streamName: stream, ...(k === 0 ? {} : { lastSequence: previous }) },
          });
          previous = ack.seq;
          duplicate &&= ack.duplicate;
          if (k === 0) first = ack.seq;
        } catch (e) {
          if (k > 0 && e instanceof natsJetStream().JetStreamApiError && e.code === WRONG_LAST_SEQUENCE) {
            interleaved = true;
            break;
          }
          throw translatePublishError(e, stream);
        }
      }
      if (!interleaved) return { shard, stream, firstSequence: first, sequence: previous, parts: parts.length, bytes: bytes.length, documents: 0, deletes: 0, storedBefore: duplicate };
      // Two writers that restart at once would keep cutting each other's parts: back off at random.
      await new Promise((r) => setTimeout(r, Math.random() * CLUSTER_WRITE_DEFAULTS.publishBackoffMs * 2 ** attempt));
    }
    throw new PlaitError('INDEX_LOCKED', { message: `other writers kept interleaving with a ${parts.length}-part write on ${stream} (${CLUSTER_WRITE_DEFAULTS.publishAttempts} tries); retry it`, stream });
  }
}

function translatePublishError(e: unknown, stream: string): PlaitError {
  if (e instanceof PlaitError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const timeout = e instanceof Error && (e.name === 'TimeoutError' || /timeout/i.test(message));
  return new PlaitError(timeout ? 'TIMEOUT' : 'INTERNAL', { message: `publishing to ${stream}: ${message}`, stream }, { cause: e });
}
