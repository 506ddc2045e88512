/**
 * Does an existing index hold a BEIR folder's corpus? `plait eval <folder> --index <index>` reuses
 * an index that is already there, and an index of another corpus whose ids overlap (cranfield's and
 * cisi's are both 1, 2, 3, …) would be evaluated against the folder's qrels without a word (nDCG@10
 * 0.022 for cisi's qrels on a cranfield index). The first documents of corpus.jsonl (a stream, at
 * most EVAL_CORPUS_CHECK_DEFAULTS.documents with text) are compared with the stored ones by id,
 * title and text, as the index stores them (exactly; test/plaid-settings-cli.test.ts). A gzip'd
 * corpus.jsonl.gz is read through the corpus reader's line splitter, decompressed as it streams.
 */
import { join } from 'node:path';
import { EVAL_CORPUS_CHECK_DEFAULTS } from '../config/defaults.js';
import { readLineBatches } from '../indexer/corpus/line-reader.js';
import { DocStoreReader } from '../docstore/docstore-reader.js';
import { readManifest } from '../format/index-reader.js';
import { roleFileName } from '../format/manifest.js';
import { idText } from '../util/json-number-text.js';

export interface CorpusMatch {
  /** Corpus documents compared (those with an id and some text among the first lines). */
  compared: number;
  /** Of those, stored in the index with the same title and text. */
  matched: number;
  /** The first one that did not match, and why. */
  firstMismatch: { id: string; reason: 'missing' | 'differs' } | null;
}

/**
 * The first `documents` BEIR documents (`_id`, `title`, `text`) of a corpus.jsonl (or corpus.jsonl.gz),
 * read as a stream; lines that do not parse (or are not UTF-8) are passed over.
 * @throws PlaitError CORRUPT_INPUT (a gzip'd corpus that does not decompress as far as the lines read), COMPRESSED_INPUT.
 */
async function leadingDocuments(corpus: string, documents: number): Promise<{ id: string; title: string; text: string }[]> {
  const out: { id: string; title: string; text: string }[] = [];
  for await (const { lines } of readLineBatches(corpus)) {
    for (const line of lines) {
      if (out.length >= documents) return out;
      if (line === null) continue;
      let d: unknown;
      try {
        d = JSON.parse(line);
      } catch {
        continue;
      }
      if (typeof d !== 'object' || d === null) continue;
      const { _id: id, title, text } = d as { _id?: unknown; title?: unknown; text?: unknown };
      if ((typeof id !== 'string' && typeof id !== 'number') || typeof text !== 'string' || text.trim() === '') continue;
      out.push({ id: idText(id, line, '_id') ?? String(id), title: typeof title === 'string' ? title : '', text }); // as the corpus reader reads it
    }
  }
  return out;
}

/** Compares the corpus's first documents with the index at `indexPath`. */
export async function matchCorpus(indexPath: string, corpus: string, documents: number = EVAL_CORPUS_CHECK_DEFAULTS.documents): Promise<CorpusMatch> {
  const docs = await leadingDocuments(corpus, documents);
  const manifest = readManifest(indexPath);
  const store = DocStoreReader.open(join(indexPath, roleFileName(manifest, 'docstore')), { commit: manifest.docstoreCommit ?? null });
  try {
    let matched = 0;
    let firstMismatch: CorpusMatch['firstMismatch'] = null;
    for (const d of docs) {
      const stored = store.getDocument(d.id);
      if (stored !== null && stored.text === d.text && (stored.title ?? '') === d.title) matched++;
      else firstMismatch ??= { id: d.id, reason: stored === null ? 'missing' : 'differs' };
    }
    return { compared: docs.length, matched, firstMismatch };
  } finally {
    store.close();
  }
}
