/**
 * PLAID against exhaustive MaxSim on real text with the bundled model: the first 300 documents of
 * cisi (../shared/data/cisi; every one of its 112 queries), the share of the exhaustive top-10 that
 * PLAID finds — the goal is ≥ 99%, as bench/plaid-fidelity.ts measures on whole corpora (cisi: 100%,
 * scifact: 99.0%). A subset keeps the build within CI's time (≈ 70 s of CPU on one thread, most of
 * it encoding 684 passages); its 684 passages are more than PLAID's ndocs (256), so the stages
 * really cut.
 * Runs in CI (a missing data set fails there: test/helpers/requirements.ts).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIndex, openIndex, type PlaitIndex } from '../src/index.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';
import { dataPath, needsData } from './helpers/requirements.js';

const DOCS = 300;
const skip = needsData('cisi/corpus.jsonl', 'cisi/queries.jsonl');
let dir: string;
let index: PlaitIndex;
let queries: string[];
let encoded: TokenEmbeddings[];

before(async () => {
  if (skip !== false) return;
  dir = mkdtempSync(join(tmpdir(), 'plait-fidelity-cisi-'));
  const lines = readFileSync(dataPath('cisi/corpus.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '');
  const corpus = join(dir, 'cisi-300.jsonl');
  writeFileSync(corpus, `${lines.slice(0, DOCS).join('\n')}\n`);
  queries = readFileSync(dataPath('cisi/queries.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { text: string }).text);
  await buildIndex(corpus, { index: join(dir, 'idx'), encoderOptions: { threads: 1 } });
  index = await openIndex(join(dir, 'idx'), { encoderOptions: { threads: 1 } });
  encoded = await (await index.encoder()).encodeQueries(queries);
});

after(async () => {
  await index?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

interface Fidelity {
  recall: number;
  found: number;
  total: number;
  /** Largest |PLAID − exhaustive| score of a document both return. */
  scoreErr: number;
  /** Largest PLAID − exhaustive (PLAID scoring a document above its exact score would be a bug). */
  overScore: number;
  pruned: number;
}

const measured = new Map<number, Fidelity>();

/** Fidelity of PLAID at the defaults for `topK`, measured once per topK (the tests share it). */
function fidelity(options: { topK: number }): Fidelity {
  let f = measured.get(options.topK);
  if (f === undefined) measured.set(options.topK, (f = measure(options)));
  return f;
}

function measure(options: { topK: number }): Fidelity {
  const passages = index.manifest.counts.passages;
  let found = 0;
  let total = 0;
  let scoreErr = 0;
  let overScore = 0;
  let pruned = 0;
  for (let i = 0; i < queries.length; i++) {
    const exact = index.searchEncoded(queries[i]!, encoded[i]!, { mode: 'late', exhaustive: true, topK: 10 });
    const plaid = index.searchEncoded(queries[i]!, encoded[i]!, { mode: 'late', ...options });
    assert.equal(plaid.hits.length, options.topK);
    const exactScore = new Map(exact.hits.map((h) => [h.docId, h.score]));
    const top10 = plaid.hits.slice(0, 10);
    for (const h of top10) {
      const s = exactScore.get(h.docId);
      if (s === undefined) continue;
      scoreErr = Math.max(scoreErr, Math.abs(s - h.score));
      overScore = Math.max(overScore, h.score - s);
    }
    found += top10.filter((h) => exactScore.has(h.docId)).length;
    total += exact.hits.length;
    const t = plaid.timings as { candidates?: number };
    if (t.candidates !== undefined && t.candidates < passages) pruned++;
  }
  return { recall: found / total, found, total, scoreErr, overScore, pruned };
}

test('cisi (first 300 documents, 112 queries): the index is big enough for PLAID to prune', { skip }, () => {
  const { passages, documents } = index.manifest.counts;
  assert.equal(documents, DOCS);
  assert.equal(queries.length, 112);
  // More passages than ndocs (256 at k = 10): PLAID is not exhaustive search in disguise.
  assert.ok(passages > 256, `${passages} passages`);
});

test('cisi subset: PLAID at the defaults for k = 100 (what plait eval runs) keeps ≥ 99% of the exhaustive top-10', { skip }, (t) => {
  // ncells 2, threshold 0.45, ndocs 1024. Measured 100.0% (1120/1120) with the default 4 k-means
  // iterations, and the same with the 10 this subset ran before 2026-12 (bench/RESULTS.md, "k-means iterations").
  const f = fidelity({ topK: 100 });
  t.diagnostic(`k = 100 defaults: ${(100 * f.recall).toFixed(2)}% (${f.found}/${f.total})`);
  assert.ok(f.recall >= 0.99, `PLAID found ${(100 * f.recall).toFixed(1)}% of the exhaustive top-10 (${f.found}/${f.total})`);
  // A document PLAID ranks is scored exactly as exhaustive search scores it.
  assert.ok(f.scoreErr < 1e-4, `max score difference ${f.scoreErr}`);
});

test('cisi subset: PLAID at the defaults for k = 10 keeps ≥ 98% of the exhaustive top-10 (goal 99%: not met here)', { skip }, (t) => {
  // ncells 1, threshold 0.5, ndocs 256 (ColBERT's). Measured 99.73% (1117/1120) on this subset with
  // the default 4 k-means iterations, 99.64% (1116/1120) with the 10 it ran before 2026-12 (both on
  // the same code, 2026-12-08; an earlier engine measured 98.7%, 1105/1120, its misses from the
  // centroid-interaction stage). Whole cisi: 100% (bench/RESULTS.md).
  // The bound still guards the earlier level; raising it to the 0.99 goal is the engine's open item.
  const f = fidelity({ topK: 10 });
  t.diagnostic(`k = 10 defaults: ${(100 * f.recall).toFixed(2)}% (${f.found}/${f.total}), candidate generation pruned for ${f.pruned}/${queries.length} queries, max document score difference ${f.scoreErr.toFixed(4)}`);
  assert.ok(f.recall >= 0.98, `PLAID found ${(100 * f.recall).toFixed(1)}% of the exhaustive top-10 (${f.found}/${f.total})`);
  // A document's PLAID score is the max over the passages PLAID kept, so it can only be lower than
  // its exhaustive score (the max over all its passages), never higher.
  assert.ok(f.overScore < 1e-4, `PLAID scored a document ${f.overScore} above its exhaustive score`);
  assert.ok(f.pruned > 0, 'candidate generation kept every passage for every query');
});

// Measured before the fix: a document PLAID returned at k = 10 scored up to 0.648 below its
// exhaustive score (its best passage was pruned while a weaker one survived; cisi documents average
// 2.3 passages). The searcher now scores every passage of each returned document exactly.
test('cisi subset: a document PLAID returns at k = 10 has its exhaustive score', { skip }, () => {
  const f = fidelity({ topK: 10 });
  assert.ok(f.scoreErr < 1e-4, `max document score difference ${f.scoreErr}`);
});
