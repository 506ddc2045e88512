/**
 * A filter delete's preview (`plait cluster delete --filter` without --wait, a coordinator's POST
 * …/documents/delete with a filter): before the delete is published, one replica per shard counts
 * the live documents the filter matches and, when none, says why (FILTER_FIELD_UNKNOWN,
 * FILTER_TYPE_MISMATCH; docstore/metadata-catalogue.ts). Before, a cluster's filter delete was
 * answered before any replica had applied it, so a typo (`{"yeer": 1960}`) deleted nothing, silently,
 * where a single index says why.
 *
 * It is a preview: each replica counts what it serves now, which may be behind its log (writes
 * published but not applied yet). A shard that does not answer within
 * CLUSTER_WRITE_DEFAULTS.filterPreviewMs (no replica, a replica before the `filter` verb: no
 * responders) is "not asked", and the cluster's count is then unknown. `--wait` gives what each
 * replica did, counted as it applied the delete.
 *
 * Whatever the filter matched, each comparison on a field of several JSON types over the corpus is
 * FILTER_TYPE_MIXED, from the answering shards' type counts summed (clusterMixedWarnings), as a
 * cluster search says it: before, a delete by `{"year": {"$lt": 1960}}` over numbers on one shard
 * and strings on another said nothing of the strings it would leave behind.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { CLUSTER_WRITE_DEFAULTS } from '../config/defaults.js';
import { clusterMixedWarnings, commonWarnings, type FilterWarning } from '../docstore/metadata-catalogue.js';
import type { MetadataFilter } from '../docstore/metadata-filter.js';
import { decodeMessage, encodeMessage, type FilterReply, type FilterRequest, type Reply } from './shard-protocol.js';
import { clusterSubjects } from './subjects.js';

/** What the shards' replicas said of a filter before a delete by it. */
export interface FilterPreview {
  /** Per shard, the live documents the filter matches there (null: no replica answered in time). */
  shards: { shard: number; matches: number | null }[];
  /** Their sum; null when a shard did not answer. */
  matches: number | null;
  /**
   * When every shard answered and none matched: why, as a cluster search says it (commonWarnings;
   * FILTER_NO_MATCH when the shards give no common reason); and, matched or not, FILTER_TYPE_MIXED
   * for each comparison on a field of several JSON types over the answering shards (their counts
   * summed). Absent when none.
   */
  filterWarnings?: FilterWarning[];
}

/** previewFilter's options. */
export interface FilterPreviewOptions {
  /** How long each shard's count is waited for, ms (default CLUSTER_WRITE_DEFAULTS.filterPreviewMs). */
  timeoutMs?: number;
  /** Stops the wait at once (a request's deadline or disconnect): previewFilter then rejects with the signal's reason. */
  signal?: AbortSignal;
}

async function ask(nc: NatsConnection, subject: string, request: FilterRequest, timeoutMs: number): Promise<FilterReply | null> {
  try {
    const m = await nc.request(subject, encodeMessage(request), { timeout: timeoutMs });
    const r = decodeMessage<Reply<FilterReply>>(m.data);
    return r.ok && typeof r.matches === 'number' ? r : null;
  } catch {
    // No responders (no replica, or one before this verb), a timeout: this shard is not asked.
    return null;
  }
}

/**
 * Asks one replica of each of `shards` shards of `cluster` how many documents `filter` matches.
 * A shard that does not answer within `timeoutMs` is `matches: null`.
 * @throws only the signal's reason, when `options.signal` aborts first.
 */
export async function previewFilter(nc: NatsConnection, cluster: string, shards: number, filter: MetadataFilter, options: FilterPreviewOptions = {}): Promise<FilterPreview> {
  const subjects = clusterSubjects(cluster);
  const timeoutMs = options.timeoutMs ?? CLUSTER_WRITE_DEFAULTS.filterPreviewMs;
  const asked = Promise.all(Array.from({ length: shards }, (_, s) => ask(nc, `${subjects.shardService(s)}.filter`, { filter }, timeoutMs)));
  const replies = options.signal === undefined ? await asked : await untilAborted(asked, options.signal);
  const known = replies.every((r) => r !== null);
  const matches = known ? replies.reduce((a, r) => a + r!.matches, 0) : null;
  const why = matches === 0 ? commonWarnings(replies.map((r) => r!.filterWarnings)) : null;
  const mixed = clusterMixedWarnings(filter, replies.filter((r): r is FilterReply => r !== null));
  const all = [...(why ?? []), ...mixed];
  return { shards: replies.map((r, shard) => ({ shard, matches: r?.matches ?? null })), matches, ...(all.length === 0 ? {} : { filterWarnings: all }) };
}

/** `work`, or the signal's reason as soon as it aborts (the NATS requests then end at their own timeout). */
async function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}
