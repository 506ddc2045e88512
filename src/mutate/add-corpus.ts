/**
 * `addCorpus(index, input)`: `plait add`'s library half. Reads a corpus with the same readers,
 * file:line errors and `skipInvalid` as a build, encodes it with the index's own model (checked
 * against the manifest), and commits it as ONE generation (updateIndex): either every document of
 * the corpus is added or, on any failure, none.
 *
 * Documents whose title, text and metadata equal the stored ones are neither re-encoded nor
 * replaced (unchanged-upsert.ts: compared before the encoding, and again under the write lock); an
 * input that changes nothing commits nothing. `sync` makes the index hold exactly the input, in that
 * one generation (sync-plan.ts): changed and new documents are upserted, and indexed ids the input
 * lacks are deleted. `dryRun` counts what the
 * add (or sync) would do from the committed store, and loads no model and writes nothing.
 */
import { createEncoder } from '../encoder/create-encoder.js';
import type { Encoder, EncoderOptions } from '../encoder/types.js';
import { ENCODER_OPTION_KEYS } from '../encoder/types.js';
import { checkSignal, isPlaitError, PlaitError } from '../errors/index.js';
import { LIVING_DEFAULTS } from '../config/defaults.js';
import { readManifest } from '../format/index-reader.js';
import { locateIndex } from '../format/index-path.js';
import { CORPUS_READER_OPTION_KEYS, corpusReaderOptionsOf, emptyCorpusError, openCorpus, withRecordedFields } from '../indexer/corpus/index.js';
import type { CorpusFieldNames } from '../format/manifest.js';
import type { CorpusInput, CorpusReadReport, CorpusReaderOptions } from '../indexer/corpus/types.js';
import { checkModel } from '../search/model-check.js';
import { checkOptionKeys, pickOptions, type OptionKeys } from '../util/option-keys.js';
import type { DocumentInput } from '../docstore/types.js';
import { encodeDocuments, throwIfWriteCancelled } from './encode-documents.js';
import type { BuildProgress } from '../indexer/build-index.js';
import { documentExists, firstIndexedId, updateIndex, type UpdateResult } from './index-updater.js';
import { DocStoreReader } from '../docstore/index.js';
import { roleFileName, type IndexManifest } from '../format/manifest.js';
import { join } from 'node:path';
import { planSync, storedMetadataOf } from './sync-plan.js';
import { plannedTypeWarnings } from '../docstore/metadata-types.js';
import { writeUpserts } from './unchanged-upsert.js';
import type { EncodedDocument } from './index-updater.js';
import { LOCK_WAIT_OPTION_KEYS, withLockWait, type LockWaitOptions } from './lock-wait.js';

export interface AddCorpusOptions extends CorpusReaderOptions, LockWaitOptions {
  /** Refuse ids already indexed (DOCUMENT_EXISTS, nothing written) instead of replacing them. */
  noReplace?: boolean;
  /** An open encoder of the index's model (not closed); default: one created from the manifest. */
  encoder?: Encoder;
  encoderOptions?: EncoderOptions;
  /** Progress of the encoding ('encode' phase: passages encoded of the total), as the build reports it. */
  onProgress?: (p: BuildProgress) => void;
  /**
   * Make the index hold exactly the input (rsync --delete, `git add -A`): unchanged documents (same
   * title, text and metadata as stored) are left as they are, not re-encoded; changed and new ones
   * are upserted; indexed ids absent from the input are deleted — all in one generation. Refused
   * (INVALID_ARGUMENT) beside `noReplace` (a sync replaces what changed) and `skipInvalid` (a skipped
   * document would count as absent and be deleted).
   */
  sync?: boolean;
  /** Count what the add would do (added, replaced, unchanged and deleted with `sync`) and write nothing; no model is loaded. */
  dryRun?: boolean;
  /**
   * With `sync`: the most documents it may delete, a non-negative integer or `'all'`. Default: half
   * the index's live documents, at least 10 (LIVING_DEFAULTS.syncMaxDeleteShare, syncMaxDeleteFloor).
   * A sync that would delete more is refused before anything is encoded or written (INVALID_INPUT,
   * `details.reason` `syncDeleteLimit`, `details.wouldDelete`, `details.maxDelete`), a dry run too.
   */
  maxDelete?: number | 'all';
}

/** AddCorpusOptions' keys (util/option-keys.ts): `addCorpus(i, c, { noreplace: true })` had replaced indexed documents without a word. */
const ADD_CORPUS_OPTION_KEYS = {
  noReplace: true, encoder: true, encoderOptions: true, onProgress: true, sync: true, dryRun: true, maxDelete: true,
  ...CORPUS_READER_OPTION_KEYS,
  lockWaitMs: true, onLockWait: true, signal: true,
} as const satisfies OptionKeys<AddCorpusOptions>;

export interface AddCorpusResult extends UpdateResult {
  path: string;
  report: CorpusReadReport;
  /** Milliseconds spent reading and encoding, and committing the write. */
  encodeMs: number;
  writeMs: number;
  /** The JSONL field names taken from the index's build (`settings.corpusFields`) because the add named none of them; absent when none was. */
  recordedFields?: CorpusFieldNames;
  /** Documents of the input left as they are because nothing in them changed (title, text and metadata equal to the indexed ones; 0 with `noReplace`). */
  unchanged: number;
  /** Documents encoded (new and changed ones; 0 for a dry run). */
  encoded: number;
  /** Whether this was a dry run (`committed` false, `generation` and `manifest` the current ones). */
  dryRun: boolean;
}

/**
 * An id refused because it is already indexed (`noReplace`) named by the input file and line it
 * was read from (updateIndex only knows its position in the batch).
 */
function inputLineOf(e: unknown, sources: ReadonlyArray<{ file: string; line: number }>): unknown {
  if (!isPlaitError(e, 'DOCUMENT_EXISTS')) return e;
  const source = sources[Number(e.details?.['position'])];
  if (source === undefined) return e;
  return existsAt(String(e.details?.['id']), source, e.details ?? {});
}

/** DOCUMENT_EXISTS for an id read at `source` (file and line in the message and details). */
function existsAt(id: string, source: { file: string; line: number }, details: Record<string, unknown>): PlaitError {
  return documentExists(id, 'noReplace', `line ${source.line} of ${source.file}`, { ...details, file: source.file, line: source.line });
}

/** Runs `read` on the committed document store of `path` and the manifest that names it. */
function withCommittedStore<T>(path: string, read: (store: DocStoreReader, manifest: IndexManifest) => T): T {
  const m = readManifest(path);
  const store = DocStoreReader.open(join(path, roleFileName(m, 'docstore')), { commit: m.docstoreCommit ?? null });
  try {
    return read(store, m);
  } finally {
    store.close();
  }
}

/** `noReplace`'s refusal before the encoding, from the committed document store (the commit checks again). */
function refuseBeforeEncoding(path: string, docs: readonly DocumentInput[], sources: ReadonlyArray<{ file: string; line: number }>): void {
  const i = withCommittedStore(path, (store) => firstIndexedId(docs.map((d) => d.docId), (id) => store.docIdToRowid(id) !== null));
  if (i >= 0) throw existsAt(docs[i]!.docId, sources[i]!, { position: i, index: path });
}

/** `maxDelete` checked: undefined (the default limit), a non-negative integer, or 'all'; refused without `sync`, which alone deletes. */
function checkMaxDelete(options: AddCorpusOptions): number | 'all' | undefined {
  const v = options.maxDelete;
  if (v === undefined) return undefined;
  if (v !== 'all' && !(typeof v === 'number' && Number.isInteger(v) && v >= 0)) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `Expected a non-negative integer or 'all' for maxDelete but received ${JSON.stringify(v)}`, name: 'maxDelete' });
  }
  if (options.sync !== true) throw new PlaitError('INVALID_ARGUMENT', { message: 'Expected maxDelete with sync only: an add without sync deletes nothing', name: 'maxDelete' });
  return v;
}

/**
 * Refuses a sync that would delete more than `maxDelete` of the index's `live` documents (default:
 * LIVING_DEFAULTS' share of them, at least its floor): the sign of a wrong input, not of an edited folder.
 * @throws PlaitError INVALID_INPUT (`reason` syncDeleteLimit, `wouldDelete`, `maxDelete`, `documents`)
 */
function refuseLargeSyncDelete(input: CorpusInput, wouldDelete: number, live: number, maxDelete: number | 'all' | undefined): void {
  if (maxDelete === 'all') return;
  const limit = maxDelete ?? Math.max(LIVING_DEFAULTS.syncMaxDeleteFloor, Math.floor(live * LIVING_DEFAULTS.syncMaxDeleteShare));
  if (wouldDelete <= limit) return;
  const source = typeof input === 'string' ? input : 'the input';
  throw new PlaitError('INVALID_INPUT', {
    message: `the sync would delete ${wouldDelete} of the index's ${live} documents (those ${source} does not hold), more than ${maxDelete === undefined ? `the ${limit} a sync deletes by default (half the documents, at least ${LIVING_DEFAULTS.syncMaxDeleteFloor})` : `maxDelete ${limit}`}: nothing was changed. Is it the whole folder or corpus the index mirrors? If those deletions are meant, allow them: plait add --sync --max-delete ${wouldDelete} (maxDelete: ${wouldDelete}; 'all' for no limit)`,
    reason: 'syncDeleteLimit',
    wouldDelete,
    maxDelete: limit,
    documents: live,
  });
}

/** `sync` beside an option it contradicts: refused before anything is read. */
function refuseWithSync(options: AddCorpusOptions): void {
  if (options.sync !== true) return;
  const why =
    options.noReplace === true ? ['noReplace', 'a sync replaces the documents that changed'] :
    options.skipInvalid === true ? ['skipInvalid', 'a skipped document would count as absent from the input and be deleted from the index'] : null;
  if (why !== null) throw new PlaitError('INVALID_ARGUMENT', { message: `Expected sync without ${why[0]} but received both: ${why[1]}`, name: why[0] });
}

/**
 * @throws PlaitError INVALID_ARGUMENT (an unknown option key, or `sync` beside `noReplace` or `skipInvalid`, before anything is read), the corpus readers' errors (MALFORMED_JSONL, MISSING_ID, DUPLICATE_ID, EMPTY_TEXT,
 * TEXT_NOT_UTF8 with file and line), DOCUMENT_EXISTS with the input's `file` and `line` (`noReplace`
 * and an id already in the index), EMPTY_CORPUS, INDEX_NOT_FOUND, MODEL_MISMATCH, INDEX_LOCKED
 * (another writer held the lock for all of `lockWaitMs`, default LOCK_WAIT_DEFAULTS.waitMs);
 * ABORTED (TIMEOUT for AbortSignal.timeout(); the signal's own PlaitError reason) when `signal` aborted during the encoding: it
 * stops within one batch a worker and nothing is written. (An abort during the lock wait ends the
 * wait with INDEX_LOCKED, as before; the commit itself is never interrupted.)
 */
export async function addCorpus(index: string, input: CorpusInput, options: AddCorpusOptions = {}): Promise<AddCorpusResult> {
  checkOptionKeys(options, ADD_CORPUS_OPTION_KEYS, 'addCorpus option');
  checkOptionKeys(options.encoderOptions, ENCODER_OPTION_KEYS, 'encoder option');
  refuseWithSync(options);
  const signal = checkSignal('signal', options.signal); // before the model loads: a wrong value must not be ignored
  const path = locateIndex(index);
  const manifest = readManifest(path);
  const sync = options.sync === true;
  const dryRun = options.dryRun === true;
  const maxDelete = checkMaxDelete(options);
  const t0 = performance.now();
  // Made once there is something to encode: a dry run, or a sync that finds nothing changed, loads no model.
  let encoder: Encoder | null = null;
  const openEncoder = async (): Promise<Encoder> => {
    encoder = options.encoder ?? (await createEncoder(manifest.modelSpec, options.encoderOptions ?? {}));
    checkModel(manifest.model, encoder.info);
    return encoder;
  };
  try {
    // The field names the index was built with, for those this add does not name (recorded-fields.ts).
    const { options: read, applied } = await withRecordedFields(input, corpusReaderOptionsOf(options), manifest.settings.corpusFields);
    const corpus = await openCorpus(input, read);
    const docs: DocumentInput[] = [];
    const sources: Array<{ file: string; line: number }> = [];
    for await (const d of corpus) {
      docs.push({ docId: d.docId, title: d.title, text: d.text, metadata: d.metadata });
      sources.push(d.source);
    }
    // An empty input stays refused under sync too: a mistyped or emptied folder must not delete the whole index.
    if (docs.length === 0) throw emptyCorpusError(input, corpus.report, 'add');
    if (options.noReplace === true) refuseBeforeEncoding(path, docs, sources);
    const recorded = applied === undefined ? {} : { recordedFields: applied };
    // Which documents to encode: the new and changed ones (every one under noReplace, refused above if indexed).
    const compare = options.noReplace !== true;
    const { plan, current } = withCommittedStore(path, (store, m) => ({ plan: planSync(store, docs, compare, sync), current: m }));
    if (sync) refuseLargeSyncDelete(input, plan.absent.length, current.counts.documents, maxDelete);
    if (dryRun) {
      // What the add would say of mixed metadata types, counted as its commit counts them (metadata-types.ts).
      const typeWarnings = withCommittedStore(path, (store) =>
        plannedTypeWarnings(
          store.metadataTypes(),
          [...plan.changed.map((i) => docs[i]!.docId), ...plan.absent].map((id) => store.storedContent(id)?.metadata ?? null),
          [...plan.fresh, ...plan.changed].map((i) => ({ docId: docs[i]!.docId, metadata: storedMetadataOf(docs[i]!) })),
          (field, type) => store.typeExample(field, type),
        ),
      );
      return {
        generation: current.generation ?? 0, committed: false, added: plan.fresh.length, replaced: plan.changed.length, deleted: plan.absent.length,
        missing: [], compacted: false, manifest: current, path, report: corpus.report, encodeMs: 0, writeMs: 0, unchanged: plan.unchanged.length, encoded: 0, dryRun: true, ...recorded,
        ...(typeWarnings.length === 0 ? {} : { metadataWarnings: typeWarnings }),
      };
    }
    const split = { encode: [...plan.fresh, ...plan.changed].sort((a, b) => a - b), keep: plan.unchanged };
    let writeMs = 0;
    const encode = async (some: readonly DocumentInput[]): Promise<EncodedDocument[]> => {
      const started = Date.now();
      const out = await encodeDocuments(some, await openEncoder(), manifest, {
        onEncoded: (done, total) => options.onProgress?.({ phase: 'encode', done, total, elapsedMs: Date.now() - started }),
        ...(signal === undefined ? {} : { signal }),
      });
      throwIfWriteCancelled(signal, some.length);
      return out;
    };
    // After the encoding (minutes, for a large input) a writer holding the lock is waited out.
    // A sync's deletions are read under the lock: every indexed id that the input does not hold;
    // so are the unchanged documents (`keep`: one another writer changed meanwhile is encoded and written after all).
    const commit = async (add: EncodedDocument[], keep: DocumentInput[]): Promise<UpdateResult> => {
      const t = performance.now();
      try {
        const req = { add, keep, noReplace: options.noReplace === true, ...(sync ? { deleteExcept: docs.map((d) => d.docId) } : {}) };
        return await withLockWait(() => updateIndex(path, req), pickOptions<LockWaitOptions>(options, LOCK_WAIT_OPTION_KEYS));
      } catch (e) {
        // Under noReplace every document is in `add`, in input order: its position is its place in the input.
        throw inputLineOf(e, sources);
      } finally {
        writeMs += performance.now() - t;
      }
    };
    const { result, encoded } = await writeUpserts(docs, split, encode, commit);
    // encodeMs: reading the input, comparing and encoding (as before: from the start to the first commit try).
    return { ...result, path, report: corpus.report, encodeMs: performance.now() - t0 - writeMs, writeMs, encoded, dryRun: false, ...recorded };
  } finally {
    if (options.encoder === undefined) await (encoder as Encoder | null)?.close();
  }
}
