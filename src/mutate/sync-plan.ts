/**
 * A sync's plan (`addCorpus(index, input, { sync: true })`, `plait add --sync`): which documents of
 * the input are new, which changed, which are unchanged, and which indexed ids the input lacks —
 * read from the committed document store before anything is encoded, so that an unchanged document
 * costs no encoding and a dry run loads no model.
 *
 * Unchanged means equal title, text and metadata: the stored strings compared with the input's (the
 * metadata as the JSON string the store holds, `JSON.stringify` of the input's, which is how
 * every writer stores it). Equal strings are split and encoded the same by the index's own model,
 * so leaving the document as it is changes no search. Compared with the stored text rather than a
 * content hash kept per document: the comparison needs no schema change (every existing index syncs
 * as it is), cannot collide, and its cost — one indexed row read per input document — is small
 * beside the hashing the other way would need for every input anyway (bench/RESULTS.md, "Keeping an
 * index in step with a folder"; re-measure with `node dist/bench/sync-compare.js`).
 */
import type { DocStoreReader } from '../docstore/docstore-reader.js';
import type { DocumentInput } from '../docstore/types.js';

/** Positions in the input (0-based, input order) by what a sync does with them, and the ids it deletes. */
export interface SyncPlan {
  /** Ids not in the index: added. */
  fresh: number[];
  /** Ids in the index with another title, text or metadata: replaced (re-encoded). */
  changed: number[];
  /** Ids in the index with the same title, text and metadata: left as they are. */
  unchanged: number[];
  /** Indexed ids the input does not hold: deleted (in the store's rowid order). */
  absent: string[];
}

/** The metadata as the document store keeps it (docstore-writer.ts, docstore-updater.ts). */
export function storedMetadataOf(doc: DocumentInput): string | null {
  return doc.metadata === undefined || doc.metadata === null ? null : JSON.stringify(doc.metadata);
}

/** Whether `doc` equals what the store holds for its id (null: not indexed). */
export function sameContent(doc: DocumentInput, stored: { title: string; text: string; metadata: string | null } | null): boolean {
  return stored !== null && stored.title === doc.title && stored.text === doc.text && stored.metadata === storedMetadataOf(doc);
}

/**
 * Classifies `docs` against the committed store. With `compare` false (noReplace, which refuses
 * every indexed id whatever its text) every indexed id counts as changed. `absent` is listed only
 * with `withAbsent` (a sync; a plain add deletes nothing), by default when `compare`.
 */
export function planSync(store: DocStoreReader, docs: readonly DocumentInput[], compare = true, withAbsent = compare): SyncPlan {
  const plan: SyncPlan = { fresh: [], changed: [], unchanged: [], absent: [] };
  docs.forEach((d, i) => {
    if (!compare) {
      (store.docIdToRowid(d.docId) === null ? plan.fresh : plan.changed).push(i);
      return;
    }
    const stored = store.storedContent(d.docId);
    if (stored === null) plan.fresh.push(i);
    else (sameContent(d, stored) ? plan.unchanged : plan.changed).push(i);
  });
  if (withAbsent) {
    const input = new Set(docs.map((d) => d.docId));
    plan.absent = store.liveDocIds().filter((id) => !input.has(id));
  }
  return plan;
}
