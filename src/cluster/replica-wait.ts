/**
 * A writer's wait for the replicas (`plait cluster add --wait`, `plait cluster delete --wait`):
 * after a transaction's commit (or a tracked write's append: write-log.ts TRACK_HEADER), asks every
 * shard's replicas (`ping` with the transaction's or write's id; every replica answers, no queue
 * group) how far each applied its log and what it did with it, until every replica that answers
 * has applied the shard's entry, or the timeout.
 *
 * "Every replica" is every replica that answers at that moment: a replica that is down is not
 * known to the writer (it applies the transaction when it comes back); a shard with no replica
 * answering is not done. The counts are the replica's own updateIndex answer for the transaction
 * (it applies a transaction in a commit of its own); a replica restarted since it applied it
 * answers its position without counts (`transaction` null), as does a replica of a version before
 * tracked writes asked about a delete (it applied it as an ordinary write).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { CLUSTER_DEFAULTS, CLUSTER_WRITE_DEFAULTS } from '../config/defaults.js';
import { decodeMessage, encodeMessage, type PingReply, type PingRequest, type Reply, type TypesReply, type TypesRequest } from './shard-protocol.js';
import { clusterTypeWarnings, type FieldTypeChange, type MetadataTypeWarning } from '../docstore/metadata-types.js';
import { clusterSubjects } from './subjects.js';
import type { TransactionApplied } from './write-transaction.js';
import { clusterMixedWarnings, commonWarnings, type FilterWarning } from '../docstore/metadata-catalogue.js';
import type { MetadataFilter } from '../docstore/metadata-filter.js';
import { checkArray, checkNonEmptyString, checkShape, checkString } from '../errors/index.js';

/** One replica's answer at the end of the wait. */
export interface ReplicaApplied {
  pid: number;
  /** The last sequence it applied (null: it applies no log). */
  applied: number | null;
  /** What it did with the transaction (or tracked write); null when it had not applied it (yet), was restarted since, or (a delete) runs a version before tracked writes. */
  transaction: TransactionApplied | null;
}

export interface ReplicasWait {
  /** Whether every shard touched had at least one replica answering and each had applied its commit entry, within the timeout. */
  complete: boolean;
  waitedMs: number;
  shards: { shard: number; sequence: number; replicas: ReplicaApplied[] }[];
}

async function ping(nc: NatsConnection, subject: string, txn: string): Promise<ReplicaApplied[]> {
  const out: ReplicaApplied[] = [];
  try {
    const request: PingRequest = { txn };
    const it = await nc.requestMany(subject, encodeMessage(request), { strategy: 'timer', maxWait: CLUSTER_DEFAULTS.pingWaitMs });
    for await (const m of it) {
      if (m.data.length === 0) continue;
      const r = decodeMessage<Reply<PingReply>>(m.data);
      if (r.ok) out.push({ pid: r.pid, applied: r.applied, transaction: r.transaction ?? null });
    }
  } catch {
    // No responders: no replica of this shard is up.
  }
  return out.sort((a, b) => a.pid - b.pid);
}

/**
 * Waits until the replicas of every shard in `acks` applied the entry at its `sequence` (transaction
 * `txn`'s commit entry, or tracked write `txn`), at most `timeoutMs`; each replica's answer says what
 * it did with `txn`. Never throws for a timeout: `complete` says whether it was reached. `signal`
 * (a server's drain, a client's hang-up) ends the wait early, after the ping round under way, with
 * what that round saw.
 */
export async function waitForReplicas(nc: NatsConnection, cluster: string, txn: string, acks: readonly { shard: number; sequence: number }[], timeoutMs: number, signal?: AbortSignal): Promise<ReplicasWait> {
  checkShape('nc', nc, 'a NATS connection (from natsConnect)', ['publish', 'request']);
  checkNonEmptyString('cluster', cluster, 'a cluster name');
  checkString('txn', txn, 'a transaction id');
  checkArray('acks', acks, 'an array of { shard, sequence }');
  const subjects = clusterSubjects(cluster);
  const started = Date.now();
  const done = (r: readonly ReplicaApplied[], sequence: number): boolean => r.length > 0 && r.every((x) => x.applied !== null && x.applied >= sequence);
  for (;;) {
    const shards = await Promise.all(acks.map(async (a) => ({ shard: a.shard, sequence: a.sequence, replicas: await ping(nc, `${subjects.shardService(a.shard)}.ping`, txn) })));
    const complete = shards.every((s) => done(s.replicas, s.sequence));
    const waitedMs = Date.now() - started;
    if (complete || waitedMs >= timeoutMs || signal?.aborted === true) return { complete, waitedMs, shards };
    await pause(Math.min(CLUSTER_WRITE_DEFAULTS.waitPollMs, Math.max(0, timeoutMs - waitedMs)), signal);
  }
}

/** `ms`, or less when `signal` aborts first (its timer and listener cleared either way). */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const end = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', end);
      resolve();
    };
    const timer = setTimeout(end, ms);
    signal?.addEventListener('abort', end, { once: true });
  });
}

/** Per shard waited for, the counts of its first replica that answered them (replicas of a shard apply alike); undefined for a shard with none. */
export function shardCounts(w: ReplicasWait): (TransactionApplied | undefined)[] {
  return w.shards.map((s) => s.replicas.find((x) => x.transaction !== null && x.transaction.refused === undefined)?.transaction ?? undefined);
}

/**
 * A waited filter delete's warnings over the cluster (ClusterDeleteResult.filterWarnings): why it
 * matched nothing, when every shard's counts came and each matched nothing, and FILTER_TYPE_MIXED
 * from the shards' type counts before the delete, summed (the shards that answered counts).
 */
export function appliedFilterWarnings(filter: MetadataFilter, w: ReplicasWait): FilterWarning[] {
  const per = shardCounts(w);
  const known = per.filter((t): t is TransactionApplied => t !== undefined);
  const why = known.length === per.length ? commonWarnings(known.map((t) => t.filterWarnings)) : null;
  const mixed = clusterMixedWarnings(filter, known.map((t) => ({ ...(t.filterWarnings === undefined ? {} : { filterWarnings: t.filterWarnings }), ...(t.filterTypes === undefined ? {} : { filterTypes: t.filterTypes }) })));
  return [...(why ?? []), ...mixed];
}

/** A waited add's METADATA_TYPE_MIXED over the cluster (clusterAddTypes). */
export interface ClusterAddTypes {
  /** The warnings over the corpus (every shard's counts summed); empty when none, or when the counts are unknown. */
  metadataWarnings: MetadataTypeWarning[];
  /**
   * The shards whose counts did not come: a replica predating them (its transaction or `types`
   * answer without counts), restarted since it applied the add, or none answering `types` within
   * CLUSTER_WRITE_DEFAULTS.typeCountsMs. Non-empty: the cluster's types are unknown, and only each
   * shard's own METADATA_TYPE_MIXED (its transaction's metadataWarnings) was said.
   */
  unknownShards: number[];
}

/**
 * What bounds clusterAddTypes' rounds besides CLUSTER_WRITE_DEFAULTS.typeCountsMs a request:
 * `deadlineAt` (Date.now() ms: the writer's wait's end — `wait_ms` after the wait began, `--wait`),
 * and `signal` (a server's drain that ran out of time, a client's hang-up). A shard not heard by
 * then is `unknownShards`, as one that does not answer; the write itself is complete.
 */
export interface TypesRoundOptions {
  deadlineAt?: number;
  signal?: AbortSignal;
}

async function askTypes(nc: NatsConnection, subject: string, fields: string[], o: TypesRoundOptions, examples = false): Promise<FieldTypeChange[] | null> {
  // Before, each round waited its full typeCountsMs (2 s, twice with examples) past the wait's end and through a drain.
  const timeout = Math.min(CLUSTER_WRITE_DEFAULTS.typeCountsMs, Math.floor((o.deadlineAt ?? Infinity) - Date.now()));
  if (!(timeout >= 1) || o.signal?.aborted === true) return null;
  try {
    const request: TypesRequest = { fields, ...(examples ? { examples } : {}) };
    const m = await untilAborted(nc.request(subject, encodeMessage(request), { timeout }), o.signal);
    if (m === null) return null;
    const r = decodeMessage<Reply<TypesReply>>(m.data);
    return r.ok && Array.isArray(r.fieldTypes) ? r.fieldTypes : null;
  } catch {
    // No responders (no replica, or one before the `types` verb), a timeout: this shard's counts are unknown.
    return null;
  }
}

/** `p`'s value, or null as soon as `signal` aborts (p's later rejection is handled by the race; the listener is removed either way). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T | null> {
  if (signal === undefined) return p;
  let end = (): void => {};
  const aborted = new Promise<null>((resolve) => {
    end = () => resolve(null);
    signal.addEventListener('abort', end, { once: true });
  });
  return Promise.race([p, aborted]).finally(() => signal.removeEventListener('abort', end));
}

/**
 * A completed add wait's METADATA_TYPE_MIXED over the cluster of `shards` shards, as a single
 * index's add says it: each touched shard's counts of the fields its documents hold (before and
 * after, from its replica's transaction), the other shards' counts of every field touched anywhere
 * (asked with `types`, one replica per shard), summed (metadata-types.ts clusterTypeWarnings).
 * Before, each shard warned by its own counts only, so a field of numbers on shard 0 and strings
 * on shard 1 was said by nobody. A field a touched shard's add did not hold is counted there as it
 * is now (before = after). Examples are the add's own documents; a type it did not bring gets one
 * from a second `types` round, asked only for the fields warned of (as a single index searches its
 * store only when it warns). Never throws. `options`: its rounds end by `deadlineAt` and when
 * `signal` aborts (TypesRoundOptions); the shards not heard by then are `unknownShards`.
 */
export async function clusterAddTypes(nc: NatsConnection, cluster: string, shards: number, w: ReplicasWait, options: TypesRoundOptions = {}): Promise<ClusterAddTypes> {
  const per = shardCounts(w);
  const touched = new Map<number, FieldTypeChange[]>();
  const unknown: number[] = [];
  w.shards.forEach((s, i) => {
    // A shard that refused its part changed nothing: counted as one the add did not touch.
    if (s.replicas.some((x) => x.transaction?.refused !== undefined)) return;
    const t = per[i]?.metadataTypes;
    if (t === undefined) unknown.push(s.shard);
    else touched.set(s.shard, t);
  });
  const fields = new Set([...touched.values()].flatMap((t) => t.map((c) => c.field)));
  if (fields.size === 0) return { metadataWarnings: [], unknownShards: unknown };
  const subjects = clusterSubjects(cluster);
  const others = await Promise.all(
    Array.from({ length: shards }, async (_, shard): Promise<FieldTypeChange[] | null> => {
      if (unknown.includes(shard)) return null;
      const held = new Set((touched.get(shard) ?? []).map((c) => c.field));
      const asked = [...fields].filter((f) => !held.has(f));
      return asked.length === 0 ? [] : askTypes(nc, `${subjects.shardService(shard)}.types`, asked, options);
    }),
  );
  others.forEach((o, shard) => {
    if (o === null && !unknown.includes(shard)) unknown.push(shard);
  });
  if (unknown.length > 0) return { metadataWarnings: [], unknownShards: unknown.sort((a, b) => a - b) };
  // The add's own shards first, so that an example is the add's own document where it brought the type.
  const order = [...[...touched].sort((a, b) => a[0] - b[0]).map(([, t]) => t), ...others.map((o) => o!)];
  const warnings = clusterTypeWarnings(order);
  const lacking = warnings.filter((x) => x.types.some((t) => t.exampleId === undefined)).map((x) => x.field);
  if (lacking.length === 0) return { metadataWarnings: warnings, unknownShards: [] };
  // A type the add did not bring: an example from the shards' stores (a shard that does not answer gives none).
  const stored = await Promise.all(Array.from({ length: shards }, (_, shard) => askTypes(nc, `${subjects.shardService(shard)}.types`, lacking, options, true)));
  return { metadataWarnings: clusterTypeWarnings(order, stored.filter((x): x is FieldTypeChange[] => x !== null)), unknownShards: [] };
}

/** The wait without the replicas' wire-only add type counts (`metadataTypes`, summed into ClusterAddResult.metadataWarnings). */
export function withoutTypeCounts(w: ReplicasWait): ReplicasWait {
  return { ...w, shards: w.shards.map((s) => ({ ...s, replicas: s.replicas.map((x) => ({ ...x, transaction: x.transaction === null ? null : (({ metadataTypes: _, ...t }) => t)(x.transaction) })) })) };
}
