/**
 * A cluster write stored on some shards' write logs and not on others: WRITE_PARTIAL, the one
 * error that says which part is where.
 *
 * A write across shards is one JetStream message (or one run of parts) per shard, each stream
 * acknowledging on its own; nothing lets a stored message be taken back (a compensating delete
 * could remove a document another writer added meanwhile), so a shard whose log refuses its part
 * (a stream limit, a publish that times out, NATS lost between two shards) leaves the others'
 * parts stored — and their replicas apply them. Before, `WriteLog.append` rejected with the failing
 * shard's own error (INTERNAL or TIMEOUT naming one stream; HTTP 500/504) and said nothing of the
 * parts already stored, so a client could read it as "nothing written".
 *
 * What a client does with it: send the same write again. Adds are upserts and deletes by id repeat
 * harmlessly, so the ids already stored are replaced, not duplicated; under the same write id
 * (`AppendOptions.writeId`, HTTP `write_id`) the parts already stored are not stored again within
 * the stream's duplicate window (JetStream's `Nats-Msg-Id` dedupe, 2 minutes by default): only the
 * missing shards get theirs. Elasticsearch's bulk API answers the same way (per item: stored or
 * the error; retry the failed ones, `index` by id being idempotent).
 */
import { PlaitError, isPlaitError } from '../errors/index.js';
import type { ClusterWrite } from './write-entry.js';

/** How many ids a message names per shard (details carry them all). */
const MESSAGE_IDS = 5;

/** One shard's part of a partial write: where it was stored, or why not. */
export interface PartialShard {
  shard: number;
  stream: string;
  /** Documents its part adds (or replaces). */
  documents: number;
  /** Their ids, in the write's order (absent for a transaction: a corpus file's ids are in the file). */
  docIds?: string[];
  /** Ids its part deletes (absent when none). */
  deleteIds?: string[];
  /** True when the part deletes by filter (every shard's part does when the write has one). */
  filter?: true;
  /** Stored: the stream sequence of its last part (what read-your-writes waits for). */
  sequence?: number;
  /** Not stored: the publish's error code and message. */
  code?: string;
  message?: string;
}

/** A write part's shard, named by its ids. */
export function partOf(shard: number, stream: string, part: ClusterWrite): PartialShard {
  return {
    shard,
    stream,
    documents: part.add?.length ?? 0,
    docIds: (part.add ?? []).map((d) => d.doc.docId),
    ...((part.delete?.length ?? 0) > 0 ? { deleteIds: [...part.delete!] } : {}),
    ...(part.deleteWhere === undefined ? {} : { filter: true as const }),
  };
}

/** A failed part with its error's code and message. */
export function failedPart(p: PartialShard, error: unknown): PartialShard {
  return { ...p, code: isPlaitError(error) ? error.code : 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

function describe(s: PartialShard): string {
  const ids = [...(s.docIds ?? []), ...(s.deleteIds ?? [])];
  const listed = ids.slice(0, MESSAGE_IDS).map((id) => JSON.stringify(id)).join(', ');
  const what = [
    ...(s.documents > 0 ? [`${s.documents} document${s.documents === 1 ? '' : 's'} to add`] : []),
    ...((s.deleteIds?.length ?? 0) > 0 ? [`${s.deleteIds!.length} to delete`] : []),
    ...(s.filter === true ? ['the filter delete'] : []),
  ].join(', ');
  return `shard ${s.shard} (${what}${ids.length > 0 ? `: ${listed}${ids.length > MESSAGE_IDS ? ', …' : ''}` : ''})`;
}

/**
 * WRITE_PARTIAL for `what` (`write`, or a corpus add's `transaction`) `id`, whose parts `stored`
 * were acknowledged and `failed` (with failedPart's code and message) were not. `retry`: what to do.
 * `details`: `writeId`, `acknowledged: false`, `stored`, `failed` (PartialShard each, by shard), `retry`.
 */
export function partialWriteError(what: 'write' | 'transaction', id: string, stored: readonly PartialShard[], failed: readonly PartialShard[], retry: string, cause: unknown): PlaitError {
  return new PlaitError(
    'WRITE_PARTIAL',
    {
      message:
        `${what} ${id} was stored on ${stored.map(describe).join(', ')} — whose replicas apply it — but not on ${failed.map(describe).join(', ')}: ` +
        `${failed.map((f) => `shard ${f.shard}: ${f.message}`).join('; ')}; ${retry}`,
      writeId: id,
      acknowledged: false,
      stored: [...stored],
      failed: [...failed],
      retry,
    },
    { cause },
  );
}

/** The retry of a partial write sent under its write id (WriteLog.append's writeId, HTTP write_id). */
export function writeRetry(writeId: string): string {
  return `send the same write again under write id ${writeId} (HTTP "write_id"): the parts already stored are not stored twice, and adds replace and deletes by id repeat harmlessly, so nothing is duplicated`;
}
