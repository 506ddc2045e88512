/**
 * A replica's applier (issue 24): consumes its shard's write stream in order, from the sequence
 * after the one its index last applied (the manifest's `appliedLog`), and applies the writes to
 * the index folder through `updateIndex` — the index's own transaction — folding consecutive writes
 * into one commit (write-entry.ts `foldWrites`: the same final state as one commit per write, at a
 * fraction of the cost; bench/RESULTS.md "Cluster writes").
 *
 * Exactly once, across crashes: each commit records the stream and the sequence of the last write
 * it contains (`UpdateRequest.appliedLog`), in the same manifest rename that commits the write. A
 * process killed anywhere resumes from the recorded sequence + 1: a write is either in the commit
 * (and its sequence with it) or in neither, so nothing is lost and nothing is applied twice
 * (test/cluster-write-crash.test.ts kills an applier at random points). A write that commits
 * nothing (deleting absent ids, re-sending documents equal to the indexed ones) leaves the recorded
 * sequence behind; replaying it changes nothing.
 *
 * An upsert of a document equal to the indexed one (title, text and metadata) is a no-op here, as at
 * every door (updateIndex compares under the write lock; mutate/unchanged-upsert.ts): replicas apply
 * the same log to the same content, so each decides alike and they stay identical. The coordinator,
 * which holds no documents, cannot compare before the encoding, so a cluster write is encoded whole.
 *
 * Multi-part writes (write-log.ts): parts are reassembled; a write whose parts stop short (its
 * writer restarted it after another entry got in between, or died) is dropped, and a batch never
 * ends inside a write, so the recorded sequence is always a write's last part.
 *
 * A tracked write (write-log.ts TRACK_HEADER: `plait cluster delete --wait`) is applied in a commit
 * of its own, as a transaction is, and what it did (deleted, ids not found, a filter's warnings) is
 * remembered under its write id for the writer's ping (replica-wait.ts).
 *
 * A write every replica refuses the same way (e.g. a filter a newer writer accepted but this
 * version cannot parse) is skipped and reported through `onRejected`, so the replicas stay
 * converged; anything else (the index locked by a local `plait add`, a full disk) is retried after
 * CLUSTER_WRITE_DEFAULTS.applyRetryMs and reported through `onError`.
 */
import { readManifest } from '../format/index-reader.js';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ConsumerMessages, JetStreamManager, JsMsg, StoredMsg } from '@nats-io/jetstream';
import { CLUSTER_WRITE_DEFAULTS } from '../config/defaults.js';
import { PlaitError, isPlaitError, checkNonEmptyString, checkObject } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import type { Kernels } from '../kernels/types.js';
import { updateIndex, type UpdateOptions, type UpdateResult } from '../mutate/index-updater.js';
import { AppliedSequence, type WaitOptions, type WaitResult } from './applied-sequence.js';
import { clusterSubjects } from './subjects.js';
import { acquireReplicaLock } from './replica-lock.js';
import type { WriteLock } from '../format/write-lock.js';
import { canFold, decodeWrite, foldWrites, type ClusterWrite } from './write-entry.js';
import { COMMIT_HEADER, PART_HEADER, TRACK_HEADER, TXN_HEADER, WRITE_HEADER, ensureWriteStream } from './write-log.js';
import { decodeCommit, type TransactionApplied } from './write-transaction.js';
import { natsJetStream } from './nats-modules.js';

/** JetStream's code for a stream message get of a sequence the stream does not hold. */
const NO_MESSAGE = 10037;

/** Codes with which every replica refuses a write the same way: skipped, not retried. */
const REFUSED = new Set(['INVALID_INPUT', 'INVALID_ARGUMENT', 'INVALID_FILTER', 'DUPLICATE_ID', 'DIMENSION_MISMATCH', 'EMPTY_TEXT']);

export interface LogApplierOptions {
  /** An open connection (not closed by the applier). */
  nc: NatsConnection;
  cluster: string;
  shard: number;
  kernels?: Kernels;
  /** Writes folded into one commit at most (default CLUSTER_WRITE_DEFAULTS.applyBatchWrites). */
  batchWrites?: number;
  /** Entry bytes folded into one commit at most (default CLUSTER_WRITE_DEFAULTS.applyBatchBytes). */
  batchBytes?: number;
  /**
   * Called after each commit, before the applied sequence advances (the replica refreshes its open
   * index here, so that read-your-writes waits until the write is served). Awaited.
   */
  afterCommit?: (e: AppliedBatch) => Promise<void> | void;
  /** A write every replica refuses, skipped (its stream sequence and the error). */
  onRejected?: (e: { sequence: number; error: PlaitError }) => void;
  /** A batch that failed and will be retried. */
  onError?: (error: unknown) => void;
  /** Passed to updateIndex (test hooks: `onStep` lets crash tests kill mid-commit). */
  updateOptions?: Pick<UpdateOptions, 'onStep' | 'onOp' | 'lock' | 'autoCompactShare'>;
}
const LOG_APPLIER_OPTION_KEYS = { nc: true, cluster: true, shard: true, kernels: true, batchWrites: true, batchBytes: true, afterCommit: true, onRejected: true, onError: true, updateOptions: true } as const satisfies OptionKeys<LogApplierOptions>;

/** One commit of the applier. */
export interface AppliedBatch {
  /** Stream sequences of the first and last entry of the batch's writes. */
  firstSequence: number;
  lastSequence: number;
  writes: number;
  /** The transaction (or tracked write) this commit applied, when it applied one (then it applied that alone: `result` counts are its own). */
  txn?: string;
  /** updateIndex's answer (`committed` false when the batch changed nothing). */
  result: UpdateResult;
}

interface PendingWrite {
  write: ClusterWrite;
  firstSequence: number;
  sequence: number;
  bytes: number;
  /**
   * A committed transaction's id (write-transaction.ts) or a tracked write's (write-log.ts
   * TRACK_HEADER): applied in a commit of its own, folded with no other write, its counts remembered.
   */
  txn?: string;
}

interface PartialWrite {
  id: string;
  parts: number;
  chunks: Uint8Array[];
  firstSequence: number;
}

export class LogApplier {
  readonly stream: string;
  /** The sequence of the last write applied (and served, after `afterCommit`). */
  readonly applied: AppliedSequence;
  /**
   * Counters since start (for metrics): commits made, writes applied (folded ones each counted),
   * writes refused and skipped, batches retried, and added documents found equal to the indexed
   * ones (no-op upserts, updateIndex `unchanged`: a folded batch counts a document once).
   */
  readonly stats = { commits: 0, writes: 0, rejected: 0, retries: 0, unchanged: 0 };
  /** The last transactions applied or refused (at most CLUSTER_WRITE_DEFAULTS.appliedTransactionsKept), by id. */
  private readonly transactions = new Map<string, TransactionApplied>();
  private readonly pending: PendingWrite[] = [];
  private pendingBytes = 0;
  private partial: PartialWrite | null = null;
  private messages: ConsumerMessages | null = null;
  private applying: Promise<void> | null = null;
  private consuming: Promise<void> | null = null;
  private drained: (() => void) | null = null;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private jsm: JetStreamManager | null = null;
  /** The folder's replica lock (replica-lock.ts), held until stop(). */
  private replicaLock: WriteLock | null = null;

  private constructor(
    readonly dir: string,
    private readonly o: LogApplierOptions,
    start: number,
  ) {
    this.stream = clusterSubjects(o.cluster).writeStream(o.shard);
    this.applied = new AppliedSequence(start);
  }

  /**
   * Starts applying shard `shard`'s stream to the index folder `dir` from its recorded position.
   * @throws PlaitError INDEX_NOT_FOUND / INDEX_CORRUPT (the folder), INVALID_ARGUMENT when the
   * index records another stream (a folder of another shard or cluster), INDEX_LOCKED when another
   * replica applies the log into this folder (replica-lock.ts).
   */
  static async start(dir: string, options: LogApplierOptions): Promise<LogApplier> {
    checkOptionKeys(options, LOG_APPLIER_OPTION_KEYS, 'LogApplier option');
    checkNonEmptyString('dir', dir, 'a replica folder path');
    checkObject('options', options, 'LogApplier options');
    const m = readManifest(dir);
    const lock = acquireReplicaLock(dir);
    try {
      const applier = await LogApplier.open(dir, options, m);
      applier.replicaLock = lock;
      return applier;
    } catch (e) {
      lock?.release();
      throw e;
    }
  }

  private static async open(dir: string, options: LogApplierOptions, m: ReturnType<typeof readManifest>): Promise<LogApplier> {
    const stream = clusterSubjects(options.cluster).writeStream(options.shard);
    if (m.appliedLog !== undefined && m.appliedLog.stream !== stream) {
      throw new PlaitError('INVALID_ARGUMENT', { message: `${dir} applies the write log ${m.appliedLog.stream}, not ${stream}: is it another shard's or cluster's index?`, recorded: m.appliedLog.stream, stream });
    }
    const applier = new LogApplier(dir, options, m.appliedLog?.sequence ?? 0);
    // A replica may start before any writer: the stream is created if it is not there yet.
    const jsm = await natsJetStream().jetstreamManager(options.nc);
    await ensureWriteStream(jsm, clusterSubjects(options.cluster), options.shard);
    const state = (await jsm.streams.info(stream)).state;
    const from = applier.applied.value + 1;
    // The log must still hold every entry after the recorded position (and not be a newer, shorter log).
    if ((state.messages > 0 && state.first_seq > from) || (state.messages === 0 && state.last_seq >= from) || state.last_seq < from - 1) {
      throw new PlaitError('INDEX_CHANGED', {
        message: `${dir} applied ${stream} up to ${from - 1}, but the stream now holds ${state.messages === 0 ? 'no entries' : `${state.first_seq}–${state.last_seq}`} (last ${state.last_seq}): fetch the shard again (plait cluster fetch)`,
        stream,
        applied: from - 1,
        firstSequence: state.first_seq,
        lastSequence: state.last_seq,
      });
    }
    applier.jsm = jsm;
    const consumer = await natsJetStream().jetstream(options.nc).consumers.get(stream, { deliver_policy: natsJetStream().DeliverPolicy.StartSequence, opt_start_seq: applier.applied.value + 1 });
    // A short pull expiry: after a NATS restart the client re-checks its consumer no later than this (see the default).
    applier.messages = await consumer.consume({ expires: CLUSTER_WRITE_DEFAULTS.consumeExpiresMs });
    // The connection closing under a running applier ends the loop with an error: reported, never thrown unhandled.
    applier.consuming = applier.consume(applier.messages).catch((e: unknown) => {
      if (!applier.stopped) options.onError?.(e);
    });
    return applier;
  }

  /** Read-your-writes: waits until this replica applied (and served) `sequence`; see AppliedSequence. */
  waitFor(sequence: number, options: WaitOptions): Promise<WaitResult> {
    return this.applied.waitFor(sequence, options);
  }

  /** What this replica did with transaction (or tracked write) `txn` since it started (undefined: not applied here yet, or forgotten). */
  transaction(txn: string): TransactionApplied | undefined {
    return this.transactions.get(txn);
  }

  private remember(t: TransactionApplied): void {
    this.transactions.set(t.txn, t);
    while (this.transactions.size > CLUSTER_WRITE_DEFAULTS.appliedTransactionsKept) this.transactions.delete(this.transactions.keys().next().value!);
  }

  /** How far behind its log this replica is: the stream's last sequence, the applied one, the difference (a metric: stream lag). */
  async lag(): Promise<{ applied: number; last: number; behind: number }> {
    const last = (await this.jsm!.streams.info(this.stream)).state.last_seq;
    const applied = this.applied.value;
    return { applied, last, behind: Math.max(0, last - applied) };
  }

  private async consume(messages: ConsumerMessages): Promise<void> {
    const limit = 2 * (this.o.batchBytes ?? CLUSTER_WRITE_DEFAULTS.applyBatchBytes);
    for await (const m of messages) {
      if (this.stopped) break;
      await this.take(m);
      this.kick();
      // Backpressure: a long catch-up must not pull the whole stream into memory.
      while (this.pendingBytes > limit && !this.stopped) await new Promise<void>((r) => (this.drained = r));
    }
  }

  /**
   * One stream entry: a whole write, or a part of one (reassembled; a write cut short is dropped);
   * a transaction's staged entry (skipped: read back at its commit) or its commit entry.
   */
  private async take(m: JsMsg): Promise<void> {
    if (m.headers?.has(TXN_HEADER) === true) {
      this.partial = null;
      this.skip(m.seq);
      return;
    }
    if (m.headers?.has(COMMIT_HEADER) === true) {
      this.partial = null;
      await this.takeCommit(m.seq, m.headers.get(COMMIT_HEADER), m.data);
      return;
    }
    const [id, k, n] = partOf(m);
    // A tracked write (its writer waits for what each replica did): applied alone, its counts remembered.
    const tracked = m.headers?.get(TRACK_HEADER) || undefined;
    if (n === 1) {
      this.partial = null;
      this.push(m.data, m.seq, m.seq, tracked);
      return;
    }
    if (k === 1) this.partial = { id, parts: n, chunks: [m.data], firstSequence: m.seq };
    else if (this.partial !== null && this.partial.id === id && this.partial.chunks.length === k - 1) this.partial.chunks.push(m.data);
    else this.partial = null; // a part whose write did not start here: dropped with it
    if (this.partial !== null && this.partial.chunks.length === this.partial.parts) {
      const bytes = Buffer.concat(this.partial.chunks);
      this.push(bytes, this.partial.firstSequence, m.seq, tracked);
      this.partial = null;
    }
  }

  private push(bytes: Uint8Array, firstSequence: number, sequence: number, tracked: string | undefined): void {
    let write: ClusterWrite;
    try {
      write = decodeWrite(bytes);
    } catch (e) {
      // Not a write this version can read: every replica of this version skips it alike.
      this.reject(sequence, e);
      if (tracked !== undefined) this.remember({ txn: tracked, sequence, added: 0, replaced: 0, unchanged: 0, deleted: 0, refused: isPlaitError(e) ? e.code : 'INVALID_INPUT' });
      return;
    }
    this.pending.push({ write, firstSequence, sequence, bytes: bytes.length, ...(tracked === undefined ? {} : { txn: tracked }) });
    this.pendingBytes += bytes.length;
  }

  /** An entry every replica skips alike (unreadable, or a transaction that cannot be assembled). */
  private reject(sequence: number, e: unknown): void {
    this.stats.rejected++;
    this.o.onRejected?.({ sequence, error: isPlaitError(e) ? e : new PlaitError('INVALID_INPUT', { message: String(e) }) });
    this.skip(sequence);
  }

  /** An entry that changes nothing here: nothing before it waits to be applied, so a reader waiting for it need not wait for the next write. */
  private skip(sequence: number): void {
    if (this.pending.length === 0 && this.applying === null) this.applied.advance(sequence);
  }

  /**
   * A transaction's commit entry at `sequence`: its staged entries, read back from the stream by
   * sequence (the commit lists them), folded into one write applied alone at the commit's sequence.
   * A staged entry missing or not of this transaction makes the commit refused alike on every
   * replica (nothing of the transaction is applied); a read that fails otherwise is retried.
   */
  private async takeCommit(sequence: number, txn: string, body: Uint8Array): Promise<void> {
    try {
      const c = decodeCommit(body);
      if (c.txn !== txn) throw new PlaitError('INVALID_INPUT', { message: `commit entry ${sequence} names transaction ${c.txn} in its body and ${txn} in its header` });
      const writes: ClusterWrite[] = [];
      let bytes = 0;
      for (const [first, last] of c.writes) {
        const chunks: Uint8Array[] = [];
        for (let seq = first; seq <= last; seq++) {
          const sm = await this.storedMessage(seq);
          if (sm === null) throw new PlaitError('INVALID_INPUT', { message: `transaction ${txn} (commit entry ${sequence}) lists entry ${seq}, which ${this.stream} no longer holds` });
          const part = sm.header?.get(PART_HEADER) ?? '';
          if (sm.header?.get(TXN_HEADER) !== txn || part !== `${seq - first + 1}/${last - first + 1}`) {
            throw new PlaitError('INVALID_INPUT', { message: `entry ${seq} of ${this.stream} is not part ${seq - first + 1}/${last - first + 1} of transaction ${txn} (commit entry ${sequence})` });
          }
          chunks.push(sm.data);
        }
        const joined = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        bytes += joined.length;
        writes.push(decodeWrite(joined, true));
      }
      if (writes.length === 0) throw new PlaitError('INVALID_INPUT', { message: `transaction ${txn} (commit entry ${sequence}) lists no staged entry` });
      if (writes.some((w, i) => i > 0 && w.deleteWhere !== undefined)) throw new PlaitError('INVALID_INPUT', { message: `transaction ${txn} has a filter delete after its first write` });
      const folded = foldWrites(writes);
      this.pending.push({ write: { add: folded.add ?? [], delete: folded.delete ?? [], ...(folded.deleteWhere === undefined ? {} : { deleteWhere: folded.deleteWhere }) }, firstSequence: sequence, sequence, bytes, txn });
      this.pendingBytes += bytes;
    } catch (e) {
      if (this.stopped) return;
      this.reject(sequence, e);
      this.remember({ txn, sequence, added: 0, replaced: 0, unchanged: 0, deleted: 0, refused: isPlaitError(e) ? e.code : 'INVALID_INPUT' });
    }
  }

  /** The stream's entry `seq`; null when the stream no longer holds it. Other failures (NATS restarting) are retried until stop. */
  private async storedMessage(seq: number): Promise<StoredMsg | null> {
    for (;;) {
      if (this.stopped) throw new PlaitError('ABORTED', { message: 'the applier stopped' });
      try {
        return await this.jsm!.streams.getMessage(this.stream, { seq });
      } catch (e) {
        if (e instanceof natsJetStream().JetStreamApiError && e.code === NO_MESSAGE) return null;
        this.stats.retries++;
        this.o.onError?.(e);
        await new Promise((r) => setTimeout(r, CLUSTER_WRITE_DEFAULTS.applyRetryMs));
      }
    }
  }

  private kick(): void {
    if (this.applying !== null || this.retryTimer !== null || this.stopped) return;
    // After the I/O phase: every entry already received joins the batch.
    this.applying = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.applyPending());
  }

  private async applyPending(): Promise<void> {
    let failed = false;
    try {
      while (this.pending.length > 0 && !this.stopped) {
        if (!(await this.applyBatch())) {
          failed = true;
          break;
        }
      }
    } finally {
      this.applying = null;
      this.release();
    }
    if (failed && !this.stopped) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.kick();
      }, CLUSTER_WRITE_DEFAULTS.applyRetryMs);
    } else if (this.pending.length > 0) this.kick();
  }

  private release(): void {
    const d = this.drained;
    this.drained = null;
    d?.();
  }

  /** Applies the longest foldable run at the head of the queue; false when it must be retried. */
  private async applyBatch(single = false): Promise<boolean> {
    const maxWrites = single ? 1 : (this.o.batchWrites ?? CLUSTER_WRITE_DEFAULTS.applyBatchWrites);
    const maxBytes = this.o.batchBytes ?? CLUSTER_WRITE_DEFAULTS.applyBatchBytes;
    let n = 1;
    let bytes = this.pending[0]!.bytes;
    // A transaction is applied in a commit of its own (its counts are its own: AppliedBatch.txn).
    const alone = (p: PendingWrite): boolean => p.txn !== undefined;
    while (n < this.pending.length && n < maxWrites && !alone(this.pending[0]!) && !alone(this.pending[n]!) && canFold(this.pending[n]!.write) && bytes + this.pending[n]!.bytes <= maxBytes) bytes += this.pending[n++]!.bytes;
    const batch = this.pending.slice(0, n);
    const last = batch[n - 1]!;
    let result: UpdateResult;
    try {
      result = updateIndex(this.dir, { ...foldWrites(batch.map((p) => p.write)), appliedLog: { stream: this.stream, sequence: last.sequence } }, { kernels: this.o.kernels, ...this.o.updateOptions });
    } catch (e) {
      if (isPlaitError(e) && REFUSED.has(e.code)) {
        if (n > 1) return this.applyBatch(true); // find the write refused, applying the others one by one
        this.dequeue(1);
        this.stats.rejected++;
        if (last.txn !== undefined) this.remember({ txn: last.txn, sequence: last.sequence, added: 0, replaced: 0, unchanged: 0, deleted: 0, refused: e.code });
        this.o.onRejected?.({ sequence: last.sequence, error: e });
        this.applied.advance(last.sequence);
        return true;
      }
      this.stats.retries++;
      this.o.onError?.(e);
      return false;
    }
    this.dequeue(n);
    this.stats.writes += n;
    if (last.txn !== undefined) {
      this.remember({
        txn: last.txn, sequence: last.sequence, added: result.added, replaced: result.replaced, unchanged: result.unchanged, deleted: result.deleted,
        ...((last.write.delete?.length ?? 0) === 0 ? {} : { notFound: result.missing.length }),
        ...(result.filterWarnings === undefined ? {} : { filterWarnings: result.filterWarnings }),
        ...(result.filterFieldTypes === undefined ? {} : { filterTypes: result.filterFieldTypes }),
        ...(result.metadataWarnings === undefined ? {} : { metadataWarnings: result.metadataWarnings }),
        // Always sent (empty: the write added no metadata here), so that absent means a replica predating them.
        metadataTypes: result.metadataFieldTypes ?? [],
      });
    }
    if (result.committed) this.stats.commits++;
    this.stats.unchanged += result.unchanged;
    try {
      await this.o.afterCommit?.({ firstSequence: batch[0]!.firstSequence, lastSequence: last.sequence, writes: n, ...(last.txn === undefined ? {} : { txn: last.txn }), result });
    } catch (e) {
      // Committed but perhaps not served yet: the sequence advances with the next batch that is.
      this.o.onError?.(e);
      return true;
    }
    this.applied.advance(last.sequence);
    return true;
  }

  private dequeue(n: number): void {
    for (const p of this.pending.splice(0, n)) this.pendingBytes -= p.bytes;
  }

  /** Stops consuming; a commit in progress finishes; writes received but not applied are left to the next start. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.release();
    await this.messages?.close();
    await this.consuming?.catch(() => {});
    await this.applying;
    this.applied.close();
    this.replicaLock?.release();
    this.replicaLock = null;
  }
}

/** A log entry's write id and part `k` of `n` (an entry without the headers is a whole write). */
function partOf(m: JsMsg): [string, number, number] {
  const id = m.headers?.get(WRITE_HEADER) ?? '';
  const part = /^(\d+)\/(\d+)$/.exec(m.headers?.get(PART_HEADER) ?? '1/1');
  const k = Number(part?.[1] ?? 1);
  const n = Number(part?.[2] ?? 1);
  return k >= 1 && n >= k ? [id, k, n] : [id, 1, 1];
}
