/**
 * Documents → what a living-index write stores: the same text (`indexText`: title, newline, text),
 * the same passage split (the build's window and stride, recorded in the manifest) and the same
 * encoder as the build, so an added document is indexed exactly as a rebuild would index it.
 */
import { plural } from '../util/plural.js';
import { BUILD_MEMORY_DEFAULTS, ENCODER_DEFAULTS } from '../config/defaults.js';
import { PlaitError, abortedBy, invalidArgument, checkArray, checkShape, checkObject } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { OTHER_APIS_FIELDS } from '../util/other-api-fields.js';
import type { Encoder } from '../encoder/types.js';
import type { IndexManifest } from '../format/manifest.js';
import type { DocumentInput } from '../docstore/types.js';
import { indexText } from '../indexer/index-text.js';
import { docIdFault, invalidDocId } from '../indexer/corpus/document-id.js';
import { idText, numberIdRefusal } from '../util/json-number-text.js';
import { splitLongText } from '../indexer/split-passages.js';
import type { EncodedDocument } from './index-updater.js';
import { embedInSteps } from '../indexer/build-index.js';

/**
 * Checks a document given to a write door that takes documents rather than a corpus file
 * (`PlaitIndex.add`, HTTP writes, a cluster's write log). The id is a non-empty string or an integer
 * (its decimal text, as a JSONL corpus line's number id: util/json-number-text.ts `idText`), by
 * the one rule of what an id may be (indexer/corpus/document-id.ts: spaces inside are fine); text a
 * string, title a string, metadata an object.
 * @returns the document with its id as a string
 * @throws PlaitError INVALID_ARGUMENT (a field of the wrong type; a key that is no document field,
 * checkDocumentKeys; an id that is a fraction or an integer past 2^53), INVALID_ID (a control character or line break in the id, or white space at
 * an end: `details.reason`), EMPTY_TEXT (no title and no text).
 */
export function checkDocument(doc: unknown, i: number): DocumentInput {
  const d = doc as (Partial<Omit<DocumentInput, 'docId'>> & { docId?: unknown }) | null;
  if (d === null || typeof d !== 'object') throw invalidArgument(`documents[${i}]`, 'an object {docId, text, title?, metadata?}', doc);
  checkDocumentKeys(d, i);
  const docId = idText(d.docId, undefined, 'docId');
  if (docId === undefined) {
    throw new PlaitError('INVALID_ARGUMENT', { message: `documents[${i}].docId ${numberIdRefusal(d.docId as number)}`, name: `documents[${i}].docId`, received: d.docId });
  }
  if (docId === null) throw invalidArgument(`documents[${i}].docId`, 'a non-empty string or an integer', d.docId);
  const fault = docIdFault(docId);
  if (fault !== null) throw invalidDocId(docId, fault, `(documents[${i}])`, { index: i });
  if (typeof d.text !== 'string') throw invalidArgument(`documents[${i}].text`, 'a string', d.text);
  if (d.title !== undefined && typeof d.title !== 'string') throw invalidArgument(`documents[${i}].title`, 'a string', d.title);
  if (d.metadata !== undefined && d.metadata !== null && (typeof d.metadata !== 'object' || Array.isArray(d.metadata))) {
    throw invalidArgument(`documents[${i}].metadata`, 'an object', d.metadata);
  }
  const title = d.title ?? '';
  if (indexText(title, d.text).trim().length === 0) throw new PlaitError('EMPTY_TEXT', { message: `document "${docId}" has no text to index`, docId });
  return { docId, title, text: d.text, metadata: d.metadata ?? undefined };
}

/** The fields of a document given to a write door (CorpusDocumentInput). */
const DOCUMENT_KEYS: ReadonlySet<string> = new Set(['docId', 'title', 'text', 'metadata']);

/**
 * Refuses a document's key that is none of DOCUMENT_KEYS (a key holding undefined aside): another
 * name for one of them (`_id`, `id`, `doc_id`, `body`: util/other-api-fields.ts) is named with the
 * one meant, any other field is told to go under `metadata`. `index.add([{ docId, text, year: 2020 }])`
 * had stored the document without its year, silently, and `{ _id: 'a', … }` had been refused as "a
 * docId … received undefined" (trial 12); HTTP refuses both by its schema, and a JSONL line warns.
 * @throws PlaitError INVALID_ARGUMENT (details: `name` documents[i].key, `unknownField`, `suggestion` when one is meant).
 */
function checkDocumentKeys(d: object, i: number): void {
  for (const [key, value] of Object.entries(d)) {
    if (DOCUMENT_KEYS.has(key) || value === undefined) continue;
    const meant = OTHER_APIS_FIELDS[key] ?? OTHER_APIS_FIELDS[key.toLowerCase()] ?? (key.toLowerCase() === 'doc_id' ? 'docId' : undefined);
    const suggestion = meant !== undefined && DOCUMENT_KEYS.has(meant) ? meant : undefined;
    throw new PlaitError('INVALID_ARGUMENT', {
      message:
        suggestion !== undefined
          ? `documents[${i}] has "${key}": a document's fields are docId, title, text and metadata; did you mean "${suggestion}"?`
          : `documents[${i}] has "${key}", which is not a document field (docId, title, text, metadata): a document's own fields go under metadata, { docId, text, metadata: { ${JSON.stringify(key)}: … } }, where they are stored, returned and filterable`,
      name: `documents[${i}].${key}`,
      unknownField: key,
      ...(suggestion === undefined ? {} : { suggestion }),
    });
  }
}

export interface EncodeDocumentsOptions {
  /** Progress: passages encoded so far of the total, after each step of the build's size. */
  onEncoded?: (passages: number, total: number) => void;
  /**
   * Cancels the encoding within one batch a worker (Encoder EncodeOptions.signal).
   * @throws the signal's reason when it is a PlaitError (the server's TIMEOUT), TIMEOUT for AbortSignal.timeout(), else ABORTED (errors/plait-error.ts abortedBy).
   */
  signal?: AbortSignal;
}
const ENCODE_DOCUMENTS_OPTION_KEYS = { onEncoded: true, signal: true } as const satisfies OptionKeys<EncodeDocumentsOptions>;

/** Splits and encodes documents as the build did (its split setting, window and stride). */
export async function encodeDocuments(
  docs: readonly DocumentInput[],
  encoder: Encoder,
  manifest: IndexManifest,
  options: EncodeDocumentsOptions = {},
): Promise<EncodedDocument[]> {
  checkOptionKeys(options, ENCODE_DOCUMENTS_OPTION_KEYS, 'encodeDocuments option');
  checkArray('docs', docs, 'an array of documents ({ docId, text })');
  checkObject('encoder', encoder, 'an Encoder (from createEncoder)');
  checkShape('manifest', manifest, 'an IndexManifest (from readManifest)', ['settings', 'codec']);
  const { onEncoded, signal } = options;
  const { split, window, stride } = manifest.settings;
  const pieces = docs.map((doc) => {
    const full = indexText(doc.title, doc.text);
    return split
      ? splitLongText(full, (t) => encoder.tokenize(t), window, stride, BUILD_MEMORY_DEFAULTS.splitBlockChars)
      : [{ text: full.slice(0, ENCODER_DEFAULTS.maxTextLength), start: 0, end: full.length }];
  });
  const texts = pieces.flat().map((p) => p.text);
  // In the build's progress steps (embedInSteps), so that a long add reports as `plait index` does.
  const embeddings = await embedInSteps(
    Int32Array.from(texts, (_, i) => i),
    (pids) => encoder.encodeDocuments(Array.from(pids, (i) => texts[i]!), signal === undefined ? {} : { signal }),
    (n) => onEncoded?.(n, texts.length),
  );
  let k = 0;
  return docs.map((doc, i) => {
    const ps = pieces[i]!;
    const embs = embeddings.slice(k, k + ps.length);
    k += ps.length;
    return { doc, passages: ps.map((p) => ({ start: p.start, end: p.end })), embeddings: embs };
  });
}

/**
 * A write's last check before its commit: throws when `signal` was aborted (the encoding may have
 * finished just as it was), so that a cancelled write commits nothing; the commit, once begun, is
 * never interrupted.
 * @throws the signal's reason when it is a PlaitError, TIMEOUT for AbortSignal.timeout(), else ABORTED.
 */
export function throwIfWriteCancelled(signal: AbortSignal | undefined, documents: number): void {
  if (signal?.aborted === true) throw abortedBy(signal, `the write of ${plural(documents, 'document')} was cancelled before its commit: nothing was written`);
}
