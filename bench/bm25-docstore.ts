/**
 * BM25 over a document store alone (no encoder): builds `docs.sqlite` for a BEIR data set with each
 * BM25 stemmer into a temporary folder and evaluates BM25 (and optional query rewrites) on its
 * judged queries. Used by bench/query-rewriting.ts and test/query-rewriting-quality.test.ts, which
 * need BM25 figures on scifact, cranfield and cisi without an hour of encoding.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DocStoreReader, DocStoreWriter } from '../src/docstore/index.js';
import type { Bm25Stemmer } from '../src/docstore/schema.js';
import { openCorpus } from '../src/indexer/corpus/index.js';
import { readQrels, readQueries, type EvalQuery, type Qrels } from '../src/eval/index.js';

export interface JudgedSet {
  name: string;
  queries: EvalQuery[];
  qrels: Qrels;
}

/** A data set's judged test queries and qrels. */
export async function readJudgedSet(dir: string, name: string): Promise<JudgedSet> {
  const qrels = await readQrels(join(dir, 'qrels', 'test.tsv'));
  const queries = (await readQueries(join(dir, 'queries.jsonl'))).filter((q) => qrels.has(q.id));
  return { name, queries, qrels };
}

/** Builds a BM25-only document store of `corpusDir` (documents, no passages) and opens it; `close()` removes it. */
export async function buildBm25Store(corpusDir: string, stemmer: Bm25Stemmer): Promise<{ reader: DocStoreReader; close: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'plait-bm25-'));
  const path = join(dir, 'docs.sqlite');
  const writer = new DocStoreWriter(path, { stemmer });
  const corpus = await openCorpus(corpusDir, { skipInvalid: true });
  for await (const doc of corpus) writer.addDocument({ docId: doc.docId, title: doc.title, text: doc.text });
  writer.close();
  const reader = DocStoreReader.open(path);
  return {
    reader,
    close: () => {
      reader.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
