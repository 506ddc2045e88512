/**
 * An upsert of an unchanged document is a no-op (Elasticsearch's update API: detect_noop, on by
 * default, answers `"result": "noop"` and writes nothing). Every door that writes documents — the
 * library's `addCorpus` and `PlaitIndex.add`, `plait add`, `POST /v1/indexes/{name}/documents` —
 * compares the input with the document store before encoding (sync-plan.ts sameContent: equal
 * title, text and metadata), encodes only the new and changed documents, and hands the unchanged
 * ones to updateIndex as `keep`, which compares them again under the write lock. A document another
 * writer changed in between is not lost: the commit refuses (INDEX_CHANGED, nothing written) and
 * `writeUpserts` encodes those documents and commits again. Each retry moves at least one document
 * from `keep` to the encoded ones, so there are at most `keep.length` retries.
 *
 * A cluster's writes are compared by each replica under its lock instead (updateIndex compares
 * every added document with the stored one): replicas apply the same log to the same content, so
 * they decide alike and stay identical; the coordinator, which holds no documents, encodes them all.
 *
 * Why it matters (bench/RESULTS.md, "Keeping an index in step with a folder"): re-adding 200 cisi
 * notes with one edited had tombstoned all 515 old passages (half the index, which set off an
 * automatic compaction) and taken 12.8-19.7 s; re-measure with `node dist/bench/add-sync.js`.
 */
import { isPlaitError } from '../errors/index.js';
import type { DocumentInput, StoredContent } from '../docstore/types.js';
import type { EncodedDocument } from './index-updater.js';
import { sameContent } from './sync-plan.js';

/** Positions (0-based, input order) of the documents to encode and of those equal to the stored ones. */
export interface UpsertSplit {
  encode: number[];
  keep: number[];
}

/**
 * Splits `docs` by `storedContent` (a DocStoreReader's, or null-returning for none): equal to the
 * stored document → `keep`, else (new or changed) → `encode`. With `compare` false (noReplace,
 * which refuses every indexed id anyway) every document is encoded.
 */
export function splitUnchanged(docs: readonly DocumentInput[], storedContent: (docId: string) => StoredContent | null, compare = true): UpsertSplit {
  const split: UpsertSplit = { encode: [], keep: [] };
  docs.forEach((d, i) => (compare && sameContent(d, storedContent(d.docId)) ? split.keep : split.encode).push(i));
  return split;
}

/**
 * Encodes `docs` at `split.encode` and commits them with those at `split.keep` as `keep`; when the
 * commit answers INDEX_CHANGED with `changedIds` (another writer changed kept documents after the
 * split), encodes those too and commits again. `add` is handed in input order; `encode` gets
 * documents in input order. Returns the commit's result and how many documents were encoded.
 * @throws whatever `encode` or `commit` throws (INDEX_CHANGED without changedIds included).
 */
export async function writeUpserts<R>(
  docs: readonly DocumentInput[],
  split: UpsertSplit,
  encode: (docs: readonly DocumentInput[]) => Promise<EncodedDocument[]>,
  commit: (add: EncodedDocument[], keep: DocumentInput[]) => R | Promise<R>,
): Promise<{ result: R; encoded: number }> {
  const encoded = new Map<number, EncodedDocument>();
  let keep = [...split.keep];
  let toEncode = [...split.encode];
  for (;;) {
    if (toEncode.length > 0) {
      const out = await encode(toEncode.map((i) => docs[i]!));
      toEncode.forEach((i, k) => encoded.set(i, out[k]!));
    }
    const add = [...encoded.keys()].sort((a, b) => a - b).map((i) => encoded.get(i)!);
    try {
      return { result: await commit(add, keep.map((i) => docs[i]!)), encoded: encoded.size };
    } catch (e) {
      const ids = isPlaitError(e, 'INDEX_CHANGED') ? e.details?.['changedIds'] : undefined;
      if (!Array.isArray(ids) || ids.length === 0) throw e;
      const changed = new Set(ids);
      toEncode = keep.filter((i) => changed.has(docs[i]!.docId));
      if (toEncode.length === 0) throw e;
      keep = keep.filter((i) => !changed.has(docs[i]!.docId));
    }
  }
}
