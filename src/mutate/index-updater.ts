/**
 * The living index's writes: add (upsert), delete and compact, each committed as one new
 * generation through the index transaction (src/format/index-transaction.ts has the protocol and
 * the crash argument; docs/ARCHITECTURE.md "One door into an index folder").
 *
 * A write, inside one transaction (which holds the write lock and read the committed manifest):
 *  1. opens the committed generation G (manifest + arrays, as a reader would);
 *  2. applies deletes and adds to its document store in ONE SQLite transaction, left open: in place
 *     (schema 4, WAL — readers keep their snapshots), or, the first write on an older store, on a
 *     copy `docs.g(G+1).sqlite` that becomes the in-place store (docstore-updater.ts); if nothing
 *     changes (every id to delete absent, every added document equal to the stored one — title,
 *     text and metadata: an upsert of an unchanged document is a no-op), it rolls back and nothing
 *     is committed;
 *  3. compresses the new passages with the index's own codec (existing centroids, cutoffs,
 *     weights: nothing is retrained) into NEW segment files `codes/residuals.g(G+1).NNNN` —
 *     existing segments are never rewritten;
 *  4. writes the new passages' doclens and IVF lists as a delta (or folds the deltas into a new
 *     base, WRITE_COST_DEFAULTS) and the tombstone bitmap (old bits + the deleted passages; none
 *     while no deleted passage awaits compaction);
 *  5. commits: every file fsynced, folder fsynced, the store's SQLite transaction committed with the
 *     generation's manifest in its commit record (the commit point), manifest renamed into place
 *     (its publication), folder fsynced;
 *  6. removes the registered files the new manifest does not list.
 * A write is acknowledged (the promise resolves, the CLI prints) only after step 5.
 *
 * Compaction rewrites the live passages into fresh segments with dense pids (dropping tombstoned
 * ones), renumbers the document store's passages and rebuilds the IVF; the manifest commits it like
 * any write. Token document frequencies (query-token IDF) count each added passage's distinct token
 * ids, which the store keeps (schema 4), and a delete subtracts them; passages stored before schema
 * 4 (a build's, before this plait) have none kept and stay counted (`token_df_unsubtracted`).
 *
 * Cost (issue 20): an add writes its own passages' codes and residuals and, as a delta, their own
 * doclens and IVF lists (folded into a new base past WRITE_COST_DEFAULTS' bounds); a delete writes
 * no doclens or IVF; both change the document store's pages they touch (WAL frames, then the
 * checkpoint) instead of copying it. Still rewritten by every write while deleted passages await
 * compaction: the tombstone bitmap (n/8 bytes; why it is not incremental: bench/RESULTS.md, "The
 * tombstone bitmap"). Bytes written and time per write: bench/write-cost.ts, bench/RESULTS.md ("Write cost").
 */
import { plural } from '../util/plural.js';
import { LIVING_DEFAULTS, SEGMENT_MERGE_DEFAULTS, WRITE_COST_DEFAULTS } from '../config/defaults.js';
import { PlaitError, checkNonEmptyString, checkShape, checkObject } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import type { TokenEmbeddings } from '../encoder/types.js';
import type { Kernels } from '../kernels/types.js';
import { getKernels } from '../kernels/index.js';
import { loadIndexData, type IndexData } from '../format/index-reader.js';
import { roleFileName, segmentFile, type AppliedLog, type ArraysDelta, type DriftFigures, type FileEntry, type IndexManifest, type SegmentEntry } from '../format/manifest.js';
import { commitIdOf, IndexTransaction, type CommitParticipant, type FsOp } from '../format/index-transaction.js';
import type { LockKind } from '../format/write-lock.js';
import { DocStoreUpdater } from '../docstore/docstore-updater.js';
import { distinctTokenIds } from '../docstore/passage-tokens.js';
import type { DocumentInput } from '../docstore/types.js';
import { buildIvf } from '../indexer/index-writer.js';
import { compileFilter, type MetadataFilter } from '../docstore/metadata-filter.js';
import { comparedFieldTypes, mixedFilterWarnings, noMatchWarnings, type FilterWarning, type WireFieldTypes } from '../docstore/metadata-catalogue.js';
import type { FieldTypeChange, MetadataTypeWarning } from '../docstore/metadata-types.js';
import { checkFinite } from '../indexer/compress-passages.js';
import { sameContent } from './sync-plan.js';

/** A document ready to add: its passages' [start, end) offsets and one embedding per passage. */
export interface EncodedDocument {
  doc: DocumentInput;
  passages: ReadonlyArray<{ start: number; end: number }>;
  embeddings: readonly TokenEmbeddings[];
}

export interface UpdateRequest {
  add?: readonly EncodedDocument[];
  /** docIds to delete; ids not in the index are reported in `missing`, not an error. */
  delete?: readonly string[];
  /** Also delete every document this metadata filter matches (INVALID_FILTER when malformed). */
  deleteWhere?: MetadataFilter;
  /** Refuse an added docId that is already indexed (DOCUMENT_EXISTS, nothing written) instead of replacing it. */
  noReplace?: boolean;
  /**
   * A sync (addCorpus `sync`): also delete every indexed document whose id is neither here nor in
   * `add` — the ids of the whole input, those left unchanged included. Read from the store under the
   * write lock, so a document another writer committed meanwhile is judged too (last writer wins).
   */
  deleteExcept?: readonly string[];
  /**
   * Documents the caller found unchanged before encoding (same title, text and metadata as the
   * committed store: sync-plan.ts sameContent) and so did not encode: under the write lock each is
   * compared again, and left as it is (counted `unchanged`). When another writer changed or deleted
   * one meanwhile, nothing is written (INDEX_CHANGED, `details.changedIds`): the caller encodes those
   * and writes again, so that its version is not lost to the other writer's.
   */
  keep?: readonly DocumentInput[];
  /**
   * Cluster replicas (issue 24): the write-log position this write brings the index to, stored in
   * the committed manifest (`appliedLog`) atomically with the write. Absent: the manifest keeps
   * the previous position. A write that changes nothing commits nothing, position included.
   */
  appliedLog?: AppliedLog;
}

/**
 * UpdateRequest's, UpdateOptions' and compactIndex's keys (util/option-keys.ts): `updateIndex(p,
 * { delete: ids }, { autocompactShare: 1 })` had compacted at the default share without a word, and
 * `{ deletes: ids }` had committed nothing as if the ids were absent. Checked before the lock is taken.
 */
const UPDATE_REQUEST_KEYS = { add: true, delete: true, deleteWhere: true, noReplace: true, deleteExcept: true, keep: true, appliedLog: true } as const satisfies OptionKeys<UpdateRequest>;
const UPDATE_OPTION_KEYS = { kernels: true, autoCompactShare: true, onStep: true, onOp: true, lock: true, deltaMergeShare: true } as const satisfies OptionKeys<UpdateOptions>;

/** compactIndex's options: updateIndex's that a compaction reads. */
export type CompactOptions = Pick<UpdateOptions, 'kernels' | 'onStep' | 'onOp' | 'lock'>;
const COMPACT_OPTION_KEYS = { kernels: true, onStep: true, onOp: true, lock: true } as const satisfies OptionKeys<CompactOptions>;

export interface UpdateResult {
  /** The generation committed, or the current one when nothing changed (`committed` false). */
  generation: number;
  /** Whether a generation was committed (false: no add, and every id to delete was absent). */
  committed: boolean;
  added: number;
  replaced: number;
  /**
   * Added documents equal to the indexed ones (title, text and metadata), and `keep`'s: an upsert
   * of an unchanged document is a no-op (Elasticsearch's detect_noop) — it is neither replaced nor
   * counted in `replaced`, and its passages are not tombstoned. A write whose every document is
   * unchanged (and that deletes nothing) commits nothing: `committed` false, the current generation.
   */
  unchanged: number;
  deleted: number;
  /** Ids asked to be deleted that were not in the index. */
  missing: string[];
  /** Whether the write was followed by an automatic compaction (tombstone share past LIVING_DEFAULTS.autoCompactShare). */
  compacted: boolean;
  manifest: IndexManifest;
  /**
   * With `deleteWhere` that matched no live document: why, as a search with that filter says it
   * (FILTER_FIELD_UNKNOWN, FILTER_TYPE_MISMATCH, else FILTER_NO_MATCH; docstore/metadata-catalogue.ts).
   * A delete by `{"metadata.year": …}` or `{"year": 1960}` over strings had answered `deleted: 0` alone.
   * And, matched or not, FILTER_TYPE_MIXED for each comparison on a field of several JSON types (the
   * delete took the values of the compared type only), as a search's filterWarnings carry it. A
   * filter matched nothing exactly when a warning of another code is here.
   */
  filterWarnings?: FilterWarning[];
  /**
   * With `deleteWhere`: the live documents per JSON type of each field the filter compares, before
   * this write, as [field, [[type, documents], …]] (docstore/metadata-catalogue.ts comparedFieldTypes).
   * A cluster's replica hands them to the writer, which sums its shards' to say FILTER_TYPE_MIXED
   * over the corpus (a field of numbers on one shard and strings on another is mixed, though
   * neither shard's own filterWarnings says so; cluster/cluster-writer.ts).
   */
  filterFieldTypes?: WireFieldTypes;
  /**
   * METADATA_TYPE_MIXED (docstore/metadata-types.ts): each metadata field this write left holding
   * values of several JSON types (string, number, boolean), one of them new to it — `year` stored
   * as "1962" by an untyped CSV column, then 1962 by a typed one — with each type's live document
   * count and an example docId. The write is committed all the same (mixed fields are legal JSON);
   * a comparison filter on such a field matches the values of its own type only. Absent when none.
   */
  metadataWarnings?: MetadataTypeWarning[];
  /**
   * With added documents holding metadata: this index's live documents per scalar JSON type of each
   * field they hold, before and after this write, with an example docId per type
   * (docstore/metadata-types.ts FieldTypeChange). A cluster's replica hands them to the writer,
   * which sums every shard's to say METADATA_TYPE_MIXED over the corpus (a field of numbers on one
   * shard and strings on another is mixed, though neither shard's own metadataWarnings says so;
   * cluster/cluster-writer.ts). Absent when the write added no metadata field.
   */
  metadataFieldTypes?: FieldTypeChange[];
}

export interface UpdateOptions {
  kernels?: Kernels;
  /** Compact automatically when tombstoned passages pass this share (default LIVING_DEFAULTS.autoCompactShare; 1 or more: never). */
  autoCompactShare?: number;
  /** Test hook: called between the steps of a write (crash tests kill the process there). */
  onStep?: (step: string) => void;
  /** Test hook: the transaction's file operations, in order (index-transaction.ts). */
  onOp?: (op: FsOp) => void;
  /** Write-lock kind (default: write-lock.ts's choice). */
  lock?: LockKind;
  /** Fold doclens/IVF deltas into a new base past this share of the base's IVF entries (default WRITE_COST_DEFAULTS.deltaMergeShare; 0: rewrite on every add). */
  deltaMergeShare?: number;
}

/** The index as the transaction found it: loaded under the lock, and checked to be the committed generation. */
function loadBase(tx: IndexTransaction, kernels: Kernels): IndexData {
  const data = loadIndexData(tx.dir, kernels, { verify: 'sizes' });
  if (commitIdOf(data.manifest) !== commitIdOf(tx.current)) throw new PlaitError('INTERNAL', { message: `${tx.dir} changed while its write lock was held` });
  return data;
}

function popcount(bits: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < bits.length; i++) for (let b = bits[i]!; b !== 0; b &= b - 1) n++;
  return n;
}

/**
 * The refusal of an added docId that is already indexed, under `noReplace`: a conflict with the
 * index's state (HTTP 409), not malformed input (an id twice in one batch stays DUPLICATE_ID).
 * `option` is the caller's spelling of the option (noReplace, no_replace, --no-replace) and `where`
 * the document's place in the caller's input ("add[3]", "documents[3]", "line 4 of new.jsonl");
 * `details` always carry `id` and `option`, plus what the caller adds.
 */
export function documentExists(id: string, option: string, where: string, details: Record<string, unknown> = {}): PlaitError {
  return new PlaitError('DOCUMENT_EXISTS', { message: `"${id}" (${where}) is already in the index, and ${option} refuses to replace it`, id, option, ...details });
}

/**
 * Position of the first of `docIds` that `isIndexed` finds (-1: none): the refusal `noReplace` will
 * make, found before the encoding so that a refused write costs no encoding (minutes, for a large
 * corpus). The commit checks again under the lock and stays the authority (another writer may add
 * an id in between).
 */
export function firstIndexedId(docIds: readonly string[], isIndexed: (docId: string) => boolean): number {
  return docIds.findIndex((id) => isIndexed(id));
}

/**
 * INDEX_CHANGED for `keep`'s documents that another writer changed or deleted after the caller
 * compared them (nothing written): `details.changedIds` are the ids to encode and write again.
 */
function keptDocumentsChanged(dir: string, ids: readonly string[]): PlaitError {
  const shown = ids.slice(0, 5).map((id) => JSON.stringify(id)).join(', ') + (ids.length > 5 ? `, … (${ids.length})` : '');
  return new PlaitError('INDEX_CHANGED', { message: `another writer changed ${shown} after this write found them unchanged: encode them and write again`, changedIds: [...ids], index: dir });
}

/** The live ids that neither `keep` nor `adds` name: what a sync deletes. */
function absentIds(live: readonly string[], keep: readonly string[], adds: readonly EncodedDocument[]): string[] {
  const kept = new Set(keep);
  for (const a of adds) kept.add(a.doc.docId);
  return live.filter((id) => !kept.has(id));
}

/** Tombstoned passages of a manifest's generation (0 when none). */
export function tombstonedPassages(data: Pick<IndexData, 'tombstones'>): number {
  return data.tombstones === null ? 0 : popcount(data.tombstones);
}

/**
 * Adds, replaces and deletes documents as one new generation.
 * @throws PlaitError INVALID_ARGUMENT (an unknown key of `req` or `options`, before the lock), INDEX_LOCKED (another writer), DUPLICATE_ID (an id twice in the batch),
 * DOCUMENT_EXISTS (`noReplace` and an id already indexed, unchanged or not: `details.id`, `details.position` its
 * 0-based place in `add`; nothing is written), INDEX_CHANGED (a document of `keep` changed or deleted by
 * another writer since the caller compared it: `details.changedIds`; nothing is written), DIMENSION_MISMATCH, INDEX_NOT_FOUND / INDEX_CORRUPT / INDEX_VERSION (opening).
 */
export function updateIndex(dir: string, req: UpdateRequest, options: UpdateOptions = {}): UpdateResult {
  checkOptionKeys(req, UPDATE_REQUEST_KEYS, 'updateIndex request key');
  checkNonEmptyString('dir', dir, 'an index folder path');
  checkObject('req', req, 'an UpdateRequest ({ add?, delete?, deleteWhere? })');
  checkOptionKeys(options, UPDATE_OPTION_KEYS, 'updateIndex option');
  const tx = IndexTransaction.begin(dir, { onOp: options.onOp, lock: options.lock });
  let last = tx;
  let opened: DocStoreUpdater | null = null;
  try {
    const step = options.onStep ?? ((): void => {});
    const kernels = options.kernels ?? getKernels();
    const data = loadBase(tx, kernels);
    const m = data.manifest;
    const adds = req.add ?? [];
    const where = req.deleteWhere === undefined ? null : compileFilter(req.deleteWhere);
    if (req.noReplace === true && (req.keep?.length ?? 0) > 0) throw new PlaitError('INVALID_ARGUMENT', { message: 'Expected keep without noReplace but received both: noReplace refuses an indexed id even when unchanged', name: 'keep' });
    const seen = new Set<string>();
    for (const d of req.keep ?? []) {
      if (seen.has(d.docId)) throw new PlaitError('DUPLICATE_ID', { id: d.docId, file: 'the documents kept', line: seen.size + 1 });
      seen.add(d.docId);
    }
    adds.forEach((a, i) => {
      if (seen.has(a.doc.docId)) throw new PlaitError('DUPLICATE_ID', { id: a.doc.docId, file: 'the documents added', line: i + 1 });
      seen.add(a.doc.docId);
      if (a.embeddings.length !== a.passages.length) throw new PlaitError('INVALID_INPUT', { message: `document "${a.doc.docId}" has ${plural(a.passages.length, 'passage')} but ${plural(a.embeddings.length, 'embedding')}` });
      for (const e of a.embeddings) {
        if (e.vectors.length !== e.length * m.dim) throw new PlaitError('DIMENSION_MISMATCH', { expected: m.dim, received: e.length === 0 ? 0 : e.vectors.length / e.length });
        checkFinite(e, m.dim, `document "${a.doc.docId}"`);
      }
    });

    // 2. The document store, changed in one SQLite transaction: in place (committed below, at the
    // commit point), or — the first write on a store from before schema 4 — on a migrating copy.
    const { store, docsName } = openStore(tx, m);
    opened = store;
    step(store.mode === 'in-place' ? 'docstore-opened' : 'docstore-copied');
    const deletedPids: number[] = [];
    let replaced = 0;
    let deleted = 0;
    const missing: string[] = [];
    let newPassages = 0;
    const newDoclens: number[] = [];
    const vocab = Math.max(0, m.model.vocabSize ?? 0);
    const byFilter = where === null ? [] : store.docIdsMatching(where.where, where.params);
    // A comparison on a field of several JSON types deletes the values of its own type only (a
    // `year` of strings and numbers: {"$lt": 1960} leaves every string behind): said whether or not
    // it matched, as a search says it, with the counts before this write changes them.
    const typesBefore = where === null ? null : store.fieldTypesBefore();
    const mixed = where === null ? [] : mixedFilterWarnings(where.source, typesBefore!);
    // Each id once: an id listed twice, or listed and also matched by the filter, is one delete —
    // its second sighting is not "missing" (it was in the index).
    const absent = req.deleteExcept === undefined ? [] : absentIds(store.liveDocIds(), req.deleteExcept, adds);
    // `keep`: still equal to the stored documents now that the lock is held (read before any change of this write).
    const keep = req.keep ?? [];
    const changedIds = keep.filter((d) => !sameContent(d, store.storedContent(d.docId))).map((d) => d.docId);
    if (changedIds.length > 0) throw keptDocumentsChanged(dir, changedIds);
    for (const id of new Set([...(req.delete ?? []), ...byFilter, ...absent])) {
      const rowid = store.rowidOf(id);
      if (rowid === null) {
        missing.push(id);
        continue;
      }
      deletedPids.push(...store.deleteDocument(rowid));
      deleted++;
    }
    let unchanged = keep.length;
    const written: EncodedDocument[] = [];
    adds.forEach((a, i) => {
      const rowid = store.rowidOf(a.doc.docId);
      if (rowid !== null) {
        // `position` is the place in `add`; addCorpus maps it to the input's file and line, the server to documents[i].
        // Refused even when unchanged: noReplace promises that an indexed id is never written.
        if (req.noReplace === true) throw documentExists(a.doc.docId, 'noReplace', `add[${i}]`, { position: i, index: dir });
        // An upsert of what is stored changes nothing: its old passages stay live, no new ones are written.
        if (sameContent(a.doc, store.storedContent(a.doc.docId))) {
          unchanged++;
          return;
        }
        deletedPids.push(...store.deleteDocument(rowid));
        replaced++;
      }
      written.push(a);
      // Each passage's distinct token ids: counted into token_df now, subtracted when it is deleted.
      store.addDocument(a.doc, a.passages.map((p, j) => ({ start: p.start, end: p.end, tokenIds: vocab > 0 ? distinctTokenIds(a.embeddings[j]!.tokenIds, vocab) : undefined })));
      for (const e of a.embeddings) newDoclens.push(e.length);
      newPassages += a.passages.length;
    });
    // A filter that matched no live document says why (read before any change: the catalogue is the live documents').
    const why = where !== null && byFilter.length === 0 ? noMatchWarnings(where.source, store.fieldCatalogue()) : [];
    const filterWarnings = {
      ...(why.length + mixed.length === 0 ? {} : { filterWarnings: [...why, ...mixed] }),
      ...(where === null ? {} : { filterFieldTypes: comparedFieldTypes(where.source, typesBefore!) }),
    };
    if (written.length === 0 && deleted === 0) {
      // Nothing changes (every id absent, every document unchanged): no generation is committed
      // (the store rolls back, close() removes a copy), the appliedLog position included.
      return { generation: m.generation ?? 0, committed: false, added: 0, replaced: 0, unchanged, deleted: 0, missing, compacted: false, manifest: m, ...filterWarnings };
    }
    // A field this write left holding several JSON types, one of them new: said, not refused.
    const typeWarnings = store.typeWarnings();
    const touched = store.touchedFieldTypes();
    const metadataWarnings = { ...(typeWarnings.length === 0 ? {} : { metadataWarnings: typeWarnings }), ...(touched.length === 0 ? {} : { metadataFieldTypes: touched }) };
    const docsEntry = finishCopy(tx, store, docsName, m);
    step('docstore-written');

    // 3. New passages: compressed with the existing codec into new segments.
    const oldPassages = m.counts.passages;
    const nPassages = oldPassages + newPassages;
    const embeddings = written.flatMap((a) => a.embeddings);
    const newTokens = newDoclens.reduce((s, n) => s + n, 0);
    const vectors = new Float32Array(newTokens * m.dim);
    let row = 0;
    for (const e of embeddings) {
      vectors.set(e.vectors, row * m.dim);
      row += e.length;
    }
    const { codes, residuals } = data.codec.compress(vectors, newTokens);
    // Existing segments keep their entries (a build's segments are named by position, which an append
    // never changes), except a trailing run that the merge policy folds with the new passages.
    const doclens = Int32Array.from(newDoclens);
    const bpt = data.codec.bytesPerToken;
    const merge = trailingSegmentsToMerge(m.segments, newTokens, bpt, m.settings.segmentBytes);
    const segments: SegmentEntry[] = m.segments.slice(0, m.segments.length - merge).map((s) => ({ ...s }));
    if (merge === 0) {
      writeSegments(tx, codes, residuals, doclens, oldPassages, bpt, m.settings.segmentBytes, segments);
    } else {
      const merged = data.segments.slice(data.segments.length - merge);
      const firstPid = merged[0]!.firstPid;
      writeSegments(
        tx,
        concatArrays(Int32Array, [...merged.map((g) => g.codes), codes]),
        concatArrays(Uint8Array, [...merged.map((g) => g.residuals), residuals]),
        concatArrays(Int32Array, [data.doclens.subarray(firstPid, oldPassages), doclens]),
        firstPid,
        bpt,
        m.settings.segmentBytes,
        segments,
      );
    }
    step('segments-written');

    // 4. doclens and IVF of the new passages (a delta, or past the bounds a new base), tombstones.
    const arrays = newPassages === 0 ? { files: m.files, fileNames: m.fileNames, deltas: m.deltas } : writeArrays(tx, data, codes, doclens, oldPassages, options.deltaMergeShare);
    const tomb = new Uint8Array(Math.ceil(nPassages / 8));
    if (data.tombstones !== null) tomb.set(data.tombstones);
    for (const pid of deletedPids) tomb[pid >> 3]! |= 1 << (pid & 7);
    // No deleted passage awaits compaction (an add to an index without deletes): no bitmap, as in a
    // build's manifest — every reader reads that form; a delete still writes the whole bitmap
    // (bench/RESULTS.md, "The tombstone bitmap: why a delete still rewrites it").
    const deletedNow = popcount(tomb);
    let tombstones: IndexManifest['tombstones'];
    if (deletedNow > 0) {
      const file = tx.name('tombstones', 'bits');
      tombstones = { file, entry: tx.writeArray(file, tomb), passages: nPassages, deleted: deletedNow };
    }
    step('arrays-written');

    // 5. The manifest: the commit point.
    const drift = driftAfter(m, data, vectors, codes, newTokens, deletedPids);
    // The in-place store's SQLite commit is the commit point; it records this manifest (appliedLog included).
    const manifest = tx.commit({
      ...m,
      counts: { documents: store.documents, passages: nPassages, tokens: m.counts.tokens + newTokens, centroids: m.counts.centroids },
      files: { ...arrays.files, docstore: docsEntry },
      fileNames: { ...arrays.fileNames, docstore: docsName },
      deltas: arrays.deltas,
      segments,
      tombstones,
      drift,
      ...(req.appliedLog === undefined ? {} : { appliedLog: { stream: req.appliedLog.stream, sequence: req.appliedLog.sequence } }),
    }, { participant: participantOf(store, docsName) });
    step('committed');
    const result: UpdateResult = { generation: tx.generation, committed: true, added: written.length - replaced, replaced, unchanged, deleted, missing, compacted: false, manifest, ...filterWarnings, ...metadataWarnings };
    const share = options.autoCompactShare ?? LIVING_DEFAULTS.autoCompactShare;
    if (share < 1 && nPassages > 0 && deletedNow / nPassages > share) {
      last = tx.continueWith();
      result.manifest = compactIn(last, kernels, step);
      result.generation = last.generation;
      result.compacted = true;
    }
    return result;
  } finally {
    opened?.abort(); // rolls back an in-place write that did not commit, before close() removes a copy
    last.close();
  }
}

/** The document store a write changes: the committed one in place (schema 4), or a registered copy of an older one to migrate. */
function openStore(tx: IndexTransaction, m: IndexManifest): { store: DocStoreUpdater; docsName: string } {
  const committed = roleFileName(m, 'docstore');
  if (m.files.docstore.inPlace === true) return { store: new DocStoreUpdater(tx.path(committed), 'in-place'), docsName: committed };
  const docsName = tx.name('docs', 'sqlite');
  return { store: new DocStoreUpdater(tx.copy(committed, docsName), 'migrate'), docsName };
}

/**
 * The manifest entry of the store after this write: in place with no size or CRC (a build's store,
 * listed with its size and CRC as built, loses them with its first change), or a migrated copy
 * finished, fsynced and in place from now on.
 */
function finishCopy(tx: IndexTransaction, store: DocStoreUpdater, docsName: string, m: IndexManifest): FileEntry {
  if (store.mode === 'in-place') return IN_PLACE_ENTRY;
  store.finishCopy();
  tx.sync(docsName);
  return IN_PLACE_ENTRY;
}

/** An in-place store commits at the transaction's commit point, recording the manifest (none for a migrated copy: its rename commits it). */
function participantOf(store: DocStoreUpdater, docsName: string): CommitParticipant | undefined {
  return store.mode === 'in-place' ? { name: docsName, commit: (manifest) => store.commit(JSON.stringify(manifest)) } : undefined;
}

/** A manifest entry of an in-place store: no size or CRC (SQLite changes the file; manifest.ts FileEntry.inPlace). */
const IN_PLACE_ENTRY: FileEntry = { bytes: 0, crc32: 0, inPlace: true };


/**
 * How many trailing segments an add rewrites together with its new passages: a log merge policy
 * (Lucene's LogMergePolicy, tantivy's LogMergePolicy). Every add used to make a segment of its own and
 * only compaction merged them — and compaction runs by itself only past 25% deleted passages, so
 * an index that only grows kept one segment (two files, two maps at open) per add: 105 segments,
 * 237 files after ~100 one-document adds on cisi, toward vm.max_map_count's 65,530 maps. Here the
 * new passages, as a segment at level ⌊log_F tokens⌋, take the last F − 1 segments along when each is
 * a living write's (not a build's) at the same level or below, and again at the level the result
 * reaches, within `segmentBytes`: at most F − 1 segments a level, and each token rewritten about
 * once a level (log_F of the tokens added), as a fold of the IVF deltas does (WRITE_COST_DEFAULTS).
 * F = SEGMENT_MERGE_DEFAULTS.mergeFactor.
 */
function trailingSegmentsToMerge(segments: readonly SegmentEntry[], newTokens: number, bpt: number, segmentBytes: number): number {
  const f = SEGMENT_MERGE_DEFAULTS.mergeFactor;
  const level = (tokens: number): number => Math.floor(Math.log(Math.max(1, tokens)) / Math.log(f));
  let merge = 0;
  let tokens = newTokens;
  for (;;) {
    const run = segments.slice(Math.max(0, segments.length - merge - (f - 1)), segments.length - merge);
    const runTokens = run.reduce((t, g) => t + g.tokens, 0);
    if (run.length < f - 1 || run.some((g) => g.stem === undefined || level(g.tokens) > level(tokens)) || (tokens + runTokens) * bpt > segmentBytes) return merge;
    merge += run.length;
    tokens += runTokens;
  }
}

/** The arrays one after another in one new array. */
function concatArrays<T extends Int32Array | Uint8Array>(Ctor: { new (n: number): T }, parts: readonly T[]): T {
  const out = new Ctor(parts.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of parts) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

/** Writes passages [0, n) of the given arrays as segments of the transaction's generation (pids from firstPid), appending their entries. */
function writeSegments(
  tx: IndexTransaction,
  codes: Int32Array,
  residuals: Uint8Array,
  doclens: Int32Array,
  firstPid: number,
  bpt: number,
  segmentBytes: number,
  out: SegmentEntry[],
): void {
  let p = 0;
  let row = 0;
  let k = 0;
  while (p < doclens.length) {
    const start = p;
    const rowStart = row;
    while (p < doclens.length && (p === start || (row - rowStart + doclens[p]!) * bpt <= segmentBytes)) row += doclens[p++]!;
    const stem = tx.segmentStem(k++);
    const seg: SegmentEntry = { stem, firstPid: firstPid + start, passages: p - start, tokens: row - rowStart, codes: { bytes: 0, crc32: 0 }, residuals: { bytes: 0, crc32: 0 } };
    seg.codes = tx.writeArray(segmentFile(seg, 'codes', 0), codes.subarray(rowStart, row));
    seg.residuals = tx.writeArray(segmentFile(seg, 'residuals', 0), residuals.subarray(rowStart * bpt, row * bpt));
    out.push(seg);
  }
}

/**
 * The doclens and IVF of `doclens.length` new passages from `firstPid`: written as a delta (their
 * own doclens and IVF lists, WRITE_COST_DEFAULTS), or — once the deltas would pass
 * `deltaMergeShare` of the base's IVF entries or `maxDeltas` — folded with the base and the earlier
 * deltas (already merged in `data`) into a new base. Returns the manifest fields to commit.
 */
function writeArrays(
  tx: IndexTransaction,
  data: IndexData,
  codes: Int32Array,
  doclens: Int32Array,
  firstPid: number,
  mergeShare: number = WRITE_COST_DEFAULTS.deltaMergeShare,
): Pick<IndexManifest, 'files' | 'fileNames' | 'deltas'> {
  const m = data.manifest;
  const k = data.codec.nCentroids;
  const fresh = buildIvf(codes, doclens, k); // pids local to the new passages
  const deltas = m.deltas ?? [];
  const baseEntries = m.files.ivf.bytes / 4;
  const deltaEntries = deltas.reduce((s, d) => s + d.ivf.entry.bytes / 4, 0) + fresh.ivf.length;
  const doclensName = tx.name('doclens', 'i32');
  const ivfName = tx.name('ivf', 'i32');
  const ivfOffsetsName = tx.name('ivf-offsets', 'i64');
  if (deltas.length < WRITE_COST_DEFAULTS.maxDeltas && deltaEntries <= mergeShare * baseEntries) {
    const delta: ArraysDelta = {
      firstPid,
      passages: doclens.length,
      doclens: { file: doclensName, entry: tx.writeArray(doclensName, doclens) },
      ivfOffsets: { file: ivfOffsetsName, entry: tx.writeArray(ivfOffsetsName, BigInt64Array.from(fresh.offsets, (x) => BigInt(x))) },
      ivf: { file: ivfName, entry: tx.writeArray(ivfName, fresh.ivf.map((p) => p + firstPid)) },
    };
    return { files: m.files, fileNames: m.fileNames, deltas: [...deltas, delta] };
  }
  // A new base: every list is the merged old list (base + deltas, as read) followed by the new pids.
  const allDoclens = new Int32Array(firstPid + doclens.length);
  allDoclens.set(data.doclens);
  allDoclens.set(doclens, firstPid);
  const ivf = new Int32Array(data.ivf.length + fresh.ivf.length);
  const offsets = new BigInt64Array(k + 1);
  let o = 0;
  for (let c = 0; c < k; c++) {
    offsets[c] = BigInt(o);
    const a0 = data.ivfOffsets[c]!;
    const a1 = data.ivfOffsets[c + 1]!;
    ivf.set(data.ivf.subarray(a0, a1), o);
    o += a1 - a0;
    for (let j = fresh.offsets[c]!; j < fresh.offsets[c + 1]!; j++) ivf[o++] = fresh.ivf[j]! + firstPid;
  }
  offsets[k] = BigInt(o);
  return {
    files: { ...m.files, doclens: tx.writeArray(doclensName, allDoclens), ivf: tx.writeArray(ivfName, ivf), ivfOffsets: tx.writeArray(ivfOffsetsName, offsets) },
    fileNames: { ...m.fileNames, doclens: doclensName, ivf: ivfName, ivfOffsets: ivfOffsetsName },
    deltas: undefined,
  };
}

/**
 * Drift figures after adding `n` tokens and deleting the passages `deletedPids` (replaced documents'
 * included): the added tokens' mean absolute residual per dimension (|v − c| against the assigned
 * centroid, the statistic the build records as `codec.avgResidual` over its held-out tokens),
 * pooled with earlier adds' figure; and the tokens of added passages still indexed — the deleted
 * ones at or past `addedFrom` (the first write's passage count) are added ones, and leave it.
 */
function driftAfter(m: IndexManifest, data: IndexData, vectors: Float32Array, codes: Int32Array, n: number, deletedPids: readonly number[]): DriftFigures {
  const dim = m.dim;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const c = codes[i]! * dim;
    for (let d = 0; d < dim; d++) s += Math.abs(vectors[i * dim + d]! - data.centroids[c + d]!);
  }
  const prev: DriftFigures = m.drift ?? { buildMeanDistance: m.codec.avgResidual, addedTokens: 0, addedMeanDistance: 0, liveAddedTokens: 0, addedFrom: m.counts.passages };
  const tokens = prev.addedTokens + n;
  const mean = tokens === 0 ? 0 : (prev.addedMeanDistance * prev.addedTokens + s / dim) / tokens;
  const figures: DriftFigures = { buildMeanDistance: prev.buildMeanDistance, addedTokens: tokens, addedMeanDistance: mean };
  if (prev.liveAddedTokens === undefined || prev.addedFrom === undefined) return figures;
  let live = prev.liveAddedTokens + n;
  for (const pid of deletedPids) if (pid >= prev.addedFrom) live -= data.doclens[pid]!;
  return { ...figures, liveAddedTokens: live, addedFrom: prev.addedFrom };
}

/**
 * Whether compaction would change anything: a passage awaiting it (a tombstone), more than one
 * segment, or doclens/IVF deltas of adds. Without any, the committed generation is already what
 * compaction writes.
 */
export function needsCompaction(m: IndexManifest): boolean {
  checkShape('m', m, 'an IndexManifest (from readManifest)', ['settings', 'codec']);
  return (m.tombstones?.deleted ?? 0) > 0 || m.segments.length > 1 || (m.deltas?.length ?? 0) > 0;
}

/**
 * Rewrites the live passages into fresh segments with dense pids, drops the tombstones, and
 * commits a new generation. An index with nothing to compact (`needsCompaction` false) is left as
 * it is: no generation is committed and its manifest is returned (a rewrite of every segment for
 * nothing cost a 1,460-document index 70 MB of writes).
 * @throws PlaitError INVALID_ARGUMENT (an unknown option key), INDEX_LOCKED, INDEX_NOT_FOUND / INDEX_CORRUPT.
 */
export function compactIndex(dir: string, options: CompactOptions = {}): IndexManifest {
  checkOptionKeys(options, COMPACT_OPTION_KEYS, 'compactIndex option');
  checkNonEmptyString('dir', dir, 'an index folder path');
  const tx = IndexTransaction.begin(dir, { onOp: options.onOp, lock: options.lock });
  try {
    const committed = tx.current;
    if (!needsCompaction(committed)) return committed;
    return compactIn(tx, options.kernels ?? getKernels(), options.onStep ?? ((): void => {}));
  } finally {
    tx.close();
  }
}

function compactIn(tx: IndexTransaction, kernels: Kernels, step: (s: string) => void): IndexManifest {
  const data = loadBase(tx, kernels);
  const m = data.manifest;
  const n = m.counts.passages;
  const newPid = new Int32Array(n).fill(-1);
  let live = 0;
  let liveTokens = 0;
  // Live passages keep their order, so the added ones still start where the build's live ones end.
  const addedFrom = m.drift?.addedFrom;
  let liveBuilt = 0;
  for (let p = 0; p < n; p++) {
    const dead = data.tombstones !== null && (data.tombstones[p >> 3]! & (1 << (p & 7))) !== 0;
    if (!dead) {
      newPid[p] = live++;
      liveTokens += data.doclens[p]!;
      if (addedFrom !== undefined && p < addedFrom) liveBuilt++;
    }
  }
  const bpt = data.codec.bytesPerToken;
  const doclens = new Int32Array(live);
  const codes = new Int32Array(liveTokens);
  const residuals = new Uint8Array(liveTokens * bpt);
  let t = 0;
  for (const seg of data.segments) {
    for (let p = seg.firstPid; p < seg.firstPid + seg.passages; p++) {
      if (newPid[p]! < 0) continue;
      const len = data.doclens[p]!;
      const r0 = data.tokenStarts[p]!;
      codes.set(seg.codes.subarray(r0, r0 + len), t);
      residuals.set(seg.residuals.subarray(r0 * bpt, (r0 + len) * bpt), t * bpt);
      doclens[newPid[p]!] = len;
      t += len;
    }
  }
  const { store, docsName } = openStore(tx, m);
  try {
    store.renumberPassages(newPid);
    // A field this write left holding several JSON types, one of them new: said, not refused.
    const typeWarnings = store.typeWarnings();
    const metadataWarnings = typeWarnings.length === 0 ? {} : { metadataWarnings: typeWarnings };
    const docsEntry = finishCopy(tx, store, docsName, m);
    step('compact-docstore-written');
    const segments: SegmentEntry[] = [];
    writeSegments(tx, codes, residuals, doclens, 0, bpt, m.settings.segmentBytes, segments);
    const doclensName = tx.name('doclens', 'i32');
    const doclensEntry = tx.writeArray(doclensName, doclens);
    const { ivf, offsets } = buildIvf(codes, doclens, data.codec.nCentroids);
    const ivfName = tx.name('ivf', 'i32');
    const ivfOffsetsName = tx.name('ivf-offsets', 'i64');
    const ivfEntry = tx.writeArray(ivfName, ivf);
    const offsetsEntry = tx.writeArray(ivfOffsetsName, BigInt64Array.from(offsets, (x) => BigInt(x)));
    step('compact-arrays-written');
    const { tombstones: _dropped, deltas: _folded, ...rest } = m;
    const manifest = tx.commit({
      ...rest,
      counts: { ...m.counts, passages: live, tokens: liveTokens },
      ...(m.drift === undefined || addedFrom === undefined ? {} : { drift: { ...m.drift, addedFrom: liveBuilt } }),
      files: { ...m.files, docstore: docsEntry, doclens: doclensEntry, ivf: ivfEntry, ivfOffsets: offsetsEntry },
      fileNames: { ...m.fileNames, docstore: docsName, doclens: doclensName, ivf: ivfName, ivfOffsets: ivfOffsetsName },
      segments,
    }, { participant: participantOf(store, docsName) });
    step('committed');
    return manifest;
  } finally {
    store.abort(); // rolls back unless committed
  }
}
