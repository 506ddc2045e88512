/**
 * `addCorpus(index, input)`: `plait add`'s library half. Reads a corpus with the same readers,
 * file:line errors and `skipInvalid` as a build, encodes it with the index's own model (checked
 * against the manifest), and commits it as ONE generation (updateIndex): either every document of
 * the corpus is added or, on any failure, none.
 */
import { createEncoder } from '../encoder/create-encoder.js';
import type { Encoder, EncoderOptions } from '../encoder/types.js';
import { ENCODER_OPTION_KEYS } from '../encoder/types.js';
import { checkSignal, isPlaitError, type PlaitError } from '../errors/index.js';
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
import { roleFileName } from '../format/manifest.js';
import { join } from 'node:path';
import { LOCK_WAIT_OPTION_KEYS, withLockWait, type LockWaitOptions } from './lock-wait.js';

export interface AddCorpusOptions extends CorpusReaderOptions, LockWaitOptions {
  /** Refuse ids already indexed (DOCUMENT_EXISTS, nothing written) instead of replacing them. */
  noReplace?: boolean;
  /** An open encoder of the index's model (not closed); default: one created from the manifest. */
  encoder?: Encoder;
  encoderOptions?: EncoderOptions;
  /** Progress of the encoding ('encode' phase: passages encoded of the total), as the build reports it. */
  onProgress?: (p: BuildProgress) => void;
}

/** AddCorpusOptions' keys (util/option-keys.ts): `addCorpus(i, c, { noreplace: true })` had replaced indexed documents without a word. */
const ADD_CORPUS_OPTION_KEYS = {
  noReplace: true, encoder: true, encoderOptions: true, onProgress: true,
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

/** `noReplace`'s refusal before the encoding, from the committed document store (the commit checks again). */
function refuseBeforeEncoding(path: string, docs: readonly DocumentInput[], sources: ReadonlyArray<{ file: string; line: number }>): void {
  const m = readManifest(path);
  const store = DocStoreReader.open(join(path, roleFileName(m, 'docstore')), { commit: m.docstoreCommit ?? null });
  let i: number;
  try {
    i = firstIndexedId(docs.map((d) => d.docId), (id) => store.docIdToRowid(id) !== null);
  } finally {
    store.close();
  }
  if (i >= 0) throw existsAt(docs[i]!.docId, sources[i]!, { position: i, index: path });
}

/**
 * @throws PlaitError INVALID_ARGUMENT (an unknown option key, before anything is read), the corpus readers' errors (MALFORMED_JSONL, MISSING_ID, DUPLICATE_ID, EMPTY_TEXT,
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
  const signal = checkSignal('signal', options.signal); // before the model loads: a wrong value must not be ignored
  const path = locateIndex(index);
  const manifest = readManifest(path);
  const t0 = performance.now();
  const encoder = options.encoder ?? (await createEncoder(manifest.modelSpec, options.encoderOptions ?? {}));
  try {
    checkModel(manifest.model, encoder.info);
    // The field names the index was built with, for those this add does not name (recorded-fields.ts).
    const { options: read, applied } = await withRecordedFields(input, corpusReaderOptionsOf(options), manifest.settings.corpusFields);
    const corpus = await openCorpus(input, read);
    const docs: DocumentInput[] = [];
    const sources: Array<{ file: string; line: number }> = [];
    for await (const d of corpus) {
      docs.push({ docId: d.docId, title: d.title, text: d.text, metadata: d.metadata });
      sources.push(d.source);
    }
    if (docs.length === 0) throw emptyCorpusError(input, corpus.report, 'add');
    if (options.noReplace === true) refuseBeforeEncoding(path, docs, sources);
    const started = Date.now();
    const encoded = await encodeDocuments(docs, encoder, manifest, {
      onEncoded: (done, total) => options.onProgress?.({ phase: 'encode', done, total, elapsedMs: Date.now() - started }),
      ...(signal === undefined ? {} : { signal }),
    });
    throwIfWriteCancelled(signal, docs.length);
    const t1 = performance.now();
    let result: UpdateResult;
    try {
      // After the encoding (minutes, for a large input) a writer holding the lock is waited out.
      result = await withLockWait(() => updateIndex(path, { add: encoded, noReplace: options.noReplace === true }), pickOptions<LockWaitOptions>(options, LOCK_WAIT_OPTION_KEYS));
    } catch (e) {
      throw inputLineOf(e, sources);
    }
    return { ...result, path, report: corpus.report, encodeMs: t1 - t0, writeMs: performance.now() - t1, ...(applied === undefined ? {} : { recordedFields: applied }) };
  } finally {
    if (options.encoder === undefined) await encoder.close();
  }
}
