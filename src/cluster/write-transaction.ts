/**
 * A write transaction on the cluster's write logs: many writes (a corpus file's batches) that
 * every replica applies as ONE commit of its shard's part, or not at all — as `plait add` is one
 * generation on a single index.
 *
 * Why a transaction and not only "validate the whole input, then publish": validation catches a
 * corrupt .gz or a malformed line 5,000 before anything is published (addCorpusToCluster does that
 * first, so a refused input costs no encoding and leaves nothing in the log), but it cannot cover a
 * writer killed half-way through publishing (SIGKILL, a lost machine), an encoder that fails on
 * batch 40, a file changed between the check and the read, or standard input read once. Before,
 * each batch was an ordinary log entry: replicas applied the batches published before any of these
 * faults while the user was told the add failed.
 *
 * Protocol, per shard:
 * 1. `stage(write)`: each batch's shard part is published as a STAGED entry (header `Plait-Txn`,
 *    entry version 2): stored and acknowledged by JetStream like any write, so nothing acknowledged
 *    is lost, but applied by no replica when it arrives (an applier skips it).
 * 2. `commit()`, once every staged entry is acknowledged: one COMMIT entry per shard touched (header
 *    `Plait-Commit`), listing the sequence ranges of that shard's staged entries. A replica meeting
 *    it reads those entries back from the stream by sequence, folds them, and applies them in one
 *    commit recorded at the commit entry's sequence (log-applier.ts). Its position is only ever a
 *    commit entry's or an ordinary write's, so a replica restarted anywhere re-reads what it needs.
 * A transaction never committed (its writer refused the input, failed or died) leaves staged entries
 * that no replica applies; they take log space until the stream is rebuilt.
 *
 * What this does not give: atomicity ACROSS shards. The commit entries are published to the shards
 * at once, after all the staged entries, and each is one message; a writer killed between two of
 * them (a window of one round trip) leaves the shards whose commit was stored applying their part.
 * Running the add again converges (adds are upserts). A write across shards was never atomic across
 * them (write-log.ts); what is new is that no shard ever applies a part of its part.
 *
 * Old replicas (before transactions) read a staged entry as a write of an unknown version and skip it,
 * as they skip the commit entry: a file written through a transaction is then missing there whole,
 * never half. Upgrade replicas before writers.
 */
import { randomUUID } from 'node:crypto';
import { pack, unpack } from '../util/msgpack.js';
import { PlaitError, checkObject } from '../errors/index.js';
import type { FilterWarning, WireFieldTypes } from '../docstore/metadata-catalogue.js';
import type { FieldTypeChange, MetadataTypeWarning } from '../docstore/metadata-types.js';
import type { ClusterWrite } from './write-entry.js';
import { COMMIT_HEADER, type WriteLog } from './write-log.js';
import { failedPart, partialWriteError, type PartialShard } from './partial-write.js';

/** A commit entry's body (msgpack): `{ v: 1, txn, writes: [[first, last], …] }`, each range one staged write's parts. */
interface WireCommit {
  v: number;
  txn: string;
  writes: [number, number][];
}
const COMMIT_VERSION = 1;

/** What a commit entry says: the transaction and, per staged write on this shard, its first and last part's sequence. */
export interface TransactionCommit {
  txn: string;
  writes: readonly (readonly [number, number])[];
}

export function encodeCommit(c: TransactionCommit): Uint8Array {
  const wire: WireCommit = { v: COMMIT_VERSION, txn: c.txn, writes: c.writes.map(([a, b]) => [a, b]) };
  return pack(wire);
}

/** @throws PlaitError INVALID_INPUT when the bytes are not a version-1 commit entry. */
export function decodeCommit(bytes: Uint8Array): TransactionCommit {
  let wire: WireCommit;
  try {
    wire = unpack(bytes) as WireCommit;
  } catch (e) {
    throw new PlaitError('INVALID_INPUT', { message: `a commit entry is not msgpack: ${(e as Error).message}` }, { cause: e });
  }
  const ok =
    wire !== null && typeof wire === 'object' && wire.v === COMMIT_VERSION && typeof wire.txn === 'string' && Array.isArray(wire.writes) &&
    wire.writes.every((r) => Array.isArray(r) && r.length === 2 && Number.isInteger(r[0]) && Number.isInteger(r[1]) && r[0] >= 1 && r[1] >= r[0]);
  if (!ok) throw new PlaitError('INVALID_INPUT', { message: `a commit entry is not a version-${COMMIT_VERSION} plait commit` });
  return { txn: wire.txn, writes: wire.writes };
}

/** One shard's part of a committed transaction. */
export interface ShardCommitAck {
  shard: number;
  stream: string;
  /** The first staged entry's sequence: the transaction's entries on this shard span firstSequence–sequence. */
  firstSequence: number;
  /** The commit entry's sequence: a replica that applied it applied the shard's whole part (read-your-writes waits for it). */
  sequence: number;
  /** Staged writes (batches) on this shard. */
  writes: number;
  /** Documents published to this shard (added or replaced). */
  documents: number;
}

/**
 * What a replica did with a transaction (its shard's part) or a tracked write (a delete a writer
 * waits for: write-log.ts TRACK_HEADER), as it remembers it for a writer's wait
 * (LogApplier.transaction): updateIndex's counts, or the code every replica refused it with.
 */
export interface TransactionApplied {
  /** The transaction's id, or the tracked write's id. */
  txn: string;
  /** The commit entry's sequence (a tracked write: its last part's). */
  sequence: number;
  added: number;
  replaced: number;
  unchanged: number;
  deleted: number;
  /** A write that deletes ids: how many of this shard's were not in its index (absent otherwise). */
  notFound?: number;
  /** A filter delete that matched no live document here: why (updateIndex's filterWarnings; docstore/metadata-catalogue.ts). */
  filterWarnings?: FilterWarning[];
  /**
   * A filter delete: this shard's live documents per JSON type of each field the filter compares,
   * before the delete (updateIndex's filterFieldTypes), which the writer sums over the shards to
   * say FILTER_TYPE_MIXED over the corpus (cluster-writer.ts). Absent from replicas predating it.
   */
  filterTypes?: WireFieldTypes;
  /**
   * METADATA_TYPE_MIXED: each field the commit left holding several JSON types, one of them new
   * (updateIndex's metadataWarnings, this shard's counts), so that `plait cluster add --wait` says
   * it to the writer as `plait add` does (only the replica's stderr had). Absent when none.
   */
  metadataWarnings?: MetadataTypeWarning[];
  /**
   * This shard's counts of each metadata field the write's documents here hold, per scalar type
   * before and after the commit, with an example docId each (updateIndex's metadataFieldTypes;
   * empty when it added no metadata here), which the writer sums with every other shard's to say
   * METADATA_TYPE_MIXED over the corpus (cluster-writer.ts). Absent from replicas predating it:
   * the cluster's types are then unknown.
   */
  metadataTypes?: FieldTypeChange[];
  /** Set when the transaction was refused (nothing of it applied; every replica refuses alike). */
  refused?: string;
}

export interface TransactionAck {
  txn: string;
  /** One per shard the transaction touched, by shard number. */
  shards: ShardCommitAck[];
}

/** A write transaction on `log` (see the module header). Not reusable after commit. */
export class WriteTransaction {
  readonly txn: string;
  private readonly staged = new Map<number, { ranges: [number, number][]; documents: number; stream: string }>();
  private committed = false;

  constructor(private readonly log: WriteLog, txn: string = randomUUID()) {
    checkObject('log', log, 'a WriteLog (from WriteLog.open)');
    this.txn = txn;
  }

  /**
   * Publishes `write`'s shard parts as staged entries (stored, not applied).
   * @throws as WriteLog.append; INVALID_ARGUMENT after commit.
   */
  async stage(write: ClusterWrite): Promise<void> {
    if (this.committed) throw new PlaitError('INVALID_ARGUMENT', { message: `transaction ${this.txn} is committed: begin another` });
    // A filter delete must lead what is folded with it (write-entry.ts foldWrites): it is a write of its own.
    if (write.deleteWhere !== undefined) throw new PlaitError('INVALID_ARGUMENT', { message: 'a filter delete is not staged in a transaction: publish it with WriteLog.append', name: 'deleteWhere' });
    const ack = await this.log.stage(this.txn, write);
    for (const s of ack.shards) {
      let e = this.staged.get(s.shard);
      if (e === undefined) this.staged.set(s.shard, (e = { ranges: [], documents: 0, stream: s.stream }));
      e.ranges.push([s.firstSequence, s.sequence]);
      e.documents += s.documents;
    }
  }

  /** Shards with staged entries so far. */
  get shards(): number[] {
    return [...this.staged.keys()].sort((a, b) => a - b);
  }

  /**
   * Publishes the commit entry of every shard staged to: from then on each replica applies its
   * shard's part as one commit. Resolves when JetStream stored every commit entry.
   * @throws PlaitError INVALID_ARGUMENT (nothing staged, or already committed), WRITE_PARTIAL (some
   * shards' commit entries stored — their replicas apply their part — others not: details name
   * both, by shard, with document counts), and WriteLog.append's when none was stored.
   */
  async commit(): Promise<TransactionAck> {
    if (this.committed) throw new PlaitError('INVALID_ARGUMENT', { message: `transaction ${this.txn} is committed already` });
    if (this.staged.size === 0) throw new PlaitError('INVALID_ARGUMENT', { message: `transaction ${this.txn} staged nothing to commit` });
    this.committed = true;
    const settled = await Promise.allSettled(
      this.shards.map(async (shard) => {
        const e = this.staged.get(shard)!;
        const ack = await this.log.publishEntry(shard, `${this.txn}-commit`, encodeCommit({ txn: this.txn, writes: e.ranges }), { [COMMIT_HEADER]: this.txn });
        return { shard, stream: ack.stream, firstSequence: e.ranges[0]![0], sequence: ack.sequence, writes: e.ranges.length, documents: e.documents };
      }),
    );
    const shards = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    if (shards.length === settled.length) return { txn: this.txn, shards };
    const errors = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (shards.length === 0) throw errors[0]; // no commit entry stored: no replica applies anything of it
    // Some shards' commit entries stored (their replicas apply their part), others not: say which (partial-write.ts).
    const part = (shard: number): PartialShard => ({ shard, stream: this.staged.get(shard)!.stream, documents: this.staged.get(shard)!.documents });
    const stored = settled.flatMap((r, i) => (r.status === 'fulfilled' ? [{ ...part(this.shards[i]!), sequence: r.value.sequence }] : []));
    const failed = settled.flatMap((r, i) => (r.status === 'rejected' ? [failedPart(part(this.shards[i]!), r.reason)] : []));
    throw partialWriteError('transaction', this.txn, stored, failed, 'run the add again: adds are upserts, so the documents the stored shards applied are replaced, not duplicated', errors[0]);
  }
}
