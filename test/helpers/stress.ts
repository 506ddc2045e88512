/**
 * A mixed workload against a model of the truth (issue 20; next-plaid keeps a 75-cycle add/delete
 * stress record — this goes further): random add / upsert / delete / compact / calibration-record
 * steps, each derived from (seed, step number, the live docIds) so that the writer child and the
 * checking parent derive the same step without talking. The model is docId → version (the
 * document's embedding and text are functions of both). `checkIndex` compares an index with a
 * model: counts, the exact docId set, late-interaction search (exhaustive and PLAID) and BM25 for
 * sampled documents, and that no deleted document is ever returned.
 */
import { join } from 'node:path';
import { readManifest } from '../../src/format/index-reader.js';
import { roleFileName } from '../../src/format/manifest.js';
import { DocStoreReader } from '../../src/docstore/docstore-reader.js';
import { openIndex } from '../../src/search/plait-index.js';
import { Random } from '../../src/util/random.js';
import { SyntheticVectors } from '../../fixtures/synthetic.js';
import type { TokenEmbeddings } from '../../src/encoder/types.js';
import type { EncodedDocument } from '../../src/mutate/index-updater.js';

export const STRESS_DIM = 32;
export type Model = Map<string, number>;

export type Step =
  | { kind: 'add'; docs: Array<[string, number]> }
  | { kind: 'upsert'; docs: Array<[string, number]> }
  | { kind: 'delete'; ids: string[] }
  | { kind: 'compact' }
  | { kind: 'calibrate' };

/** A document's unique word (its BM25 handle) for a given version. */
export const wordOf = (docId: string, version: number): string => `zq${docId.replace(/[^a-z0-9]/gi, '')}v${version}`;

export function textOf(docId: string, version: number): string {
  return `${wordOf(docId, version)} common shared words ${docId.length % 2 === 0 ? 'even' : 'odd'} stress`;
}

export function embeddingOf(docId: string, version: number): TokenEmbeddings {
  let h = version * 7919;
  for (let i = 0; i < docId.length; i++) h = (Math.imul(h, 31) + docId.charCodeAt(i)) | 0;
  const gen = new SyntheticVectors({ dim: STRESS_DIM, clusters: 64, spread: 0.35, seed: h >>> 0 });
  return gen.passage(gen.length(6, 24));
}

export function encoded(docId: string, version: number): EncodedDocument {
  return { doc: { docId, title: '', text: textOf(docId, version) }, passages: [{ start: 0, end: 0 }], embeddings: [embeddingOf(docId, version)] };
}

/** Step `i` of the workload with this seed, given the live docIds (sorted). */
export function stepOf(seed: number, i: number, live: readonly string[]): Step {
  const rng = new Random(seed * 100_003 + i);
  const roll = rng.int(100);
  if (roll < 40 || live.length < 4) return { kind: 'add', docs: Array.from({ length: 1 + rng.int(3) }, (_, j) => [`s${i}n${j}`, 0] as [string, number]) };
  if (roll < 60) return { kind: 'upsert', docs: [[live[rng.int(live.length)]!, i]] };
  if (roll < 85) return { kind: 'delete', ids: [...new Set([live[rng.int(live.length)]!, live[rng.int(live.length)]!])] };
  if (roll < 92) return { kind: 'compact' };
  return { kind: 'calibrate' };
}

/** The model after a step. */
export function applyStep(model: Model, step: Step): Model {
  const next = new Map(model);
  if (step.kind === 'add' || step.kind === 'upsert') for (const [id, v] of step.docs) next.set(id, v);
  else if (step.kind === 'delete') for (const id of step.ids) next.delete(id);
  return next;
}

/** docId → version of an index's live documents (the version read back from its unique word). */
export function indexModel(path: string): Model {
  const m = readManifest(path);
  const store = DocStoreReader.open(join(path, roleFileName(m, 'docstore')));
  try {
    const out: Model = new Map();
    for (const r of store.filterRowids('1', [])) {
      const d = store.getDocument(r)!;
      out.set(d.docId, Number(/v(\d+) /.exec(d.text)![1]));
    }
    if (out.size !== m.counts.documents) throw new Error(`manifest counts ${m.counts.documents} documents, store holds ${out.size}`);
    return out;
  } finally {
    store.close();
  }
}

export function sameModel(a: Model, b: Model): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

/**
 * Checks an index against the model: exact documents, and for `samples` live documents, late
 * search (exhaustive and PLAID) and BM25 find them by their own embedding / unique word; no search
 * returns a document the model does not hold. Throws describing the first disagreement.
 */
export async function checkIndex(path: string, model: Model, samples: number, seed: number): Promise<void> {
  const got = indexModel(path);
  if (!sameModel(got, model)) {
    const missing = [...model].filter(([k, v]) => got.get(k) !== v).slice(0, 5);
    const extra = [...got].filter(([k, v]) => model.get(k) !== v).slice(0, 5);
    throw new Error(`index holds ${got.size} documents, model ${model.size}; missing/stale ${JSON.stringify(missing)}, extra ${JSON.stringify(extra)}`);
  }
  const index = await openIndex(path);
  try {
    const live = [...model.keys()].sort();
    const rng = new Random(seed);
    for (let s = 0; s < Math.min(samples, live.length); s++) {
      const id = live[rng.int(live.length)]!;
      const v = model.get(id)!;
      const e = embeddingOf(id, v);
      for (const exhaustive of [true, false]) {
        const hits = index.searchEncoded('', e, { topK: 5, exhaustive }).hits;
        for (const h of hits) if (!model.has(h.docId)) throw new Error(`${exhaustive ? 'exhaustive' : 'PLAID'} search returned ${h.docId}, which the model does not hold`);
        if (!hits.slice(0, 3).some((h) => h.docId === id)) throw new Error(`${exhaustive ? 'exhaustive' : 'PLAID'} search by ${id}'s own embedding misses it: ${hits.map((h) => h.docId).join(' ')}`);
      }
      const bm = index.docstore.bm25(wordOf(id, v), 3);
      if (bm.length !== 1 || index.docstore.rowidToDocId(bm[0]!.docRowid) !== id) throw new Error(`BM25 for ${wordOf(id, v)} gives ${JSON.stringify(bm)}`);
      const common = index.docstore.bm25('common stress', 50);
      for (const h of common) if (!model.has(index.docstore.rowidToDocId(h.docRowid)!)) throw new Error('BM25 returned a deleted document');
    }
  } finally {
    await index.close();
  }
}
