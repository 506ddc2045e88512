/**
 * Should spelling correction rewrite a word typed with diacritics into a word of an English index?
 * The store folds "über" to "uber", unknown to cranfield, and the corrector made it "user". Two
 * test sets from each judged set's queries (BM25, Porter store, as bench/query-rewriting.ts):
 * - accented typos: the one-typo queries of `corruptQuery`, the typo's word given an accent on its
 *   first vowel after the first letter ("velocty" → "velócty"): a typo of an English word;
 * - a foreign word: each query with one common German, French or Spanish word with diacritics
 *   appended ("über", "résumé", "análisis"…, seeded by the query id): words the corpus lacks.
 * Each is searched without spelling, with spelling as it was (the folded word corrected), and with a
 * word typed with diacritics left alone (measured by leaving such words out of the query, which is
 * the same for BM25 since their folded term is unknown: df 0 matches nothing).
 *
 *   node dist/bench/spelling-diacritics.js        # cranfield and cisi under ../shared/data
 */
import { join } from 'node:path';
import { evaluateRun, metricVector, pairedRandomizationTest, type Run } from '../src/eval/index.js';
import { ENGLISH_STOPWORDS } from '../src/docstore/index.js';
import { QueryRewriter, resolveRewrite } from '../src/rewrite/query-rewriter.js';
import { buildBm25Store, readJudgedSet, type JudgedSet } from './bm25-docstore.js';
import { corruptQuery } from './query-rewriting.js';
import { dataDir, isMain, machine } from './common.js';

const FOREIGN = ['über', 'für', 'können', 'später', 'größe', 'résumé', 'déjà', 'très', 'élevé', 'façon', 'análisis', 'información', 'método', 'también', 'según', 'después', 'naïve', 'würde', 'müssen', 'été'];
const ACCENT: Record<string, string> = { a: 'á', e: 'é', i: 'í', o: 'ó', u: 'ú' };
const MARKED = /\p{M}/u;

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** The word `corruptQuery` changed, given an accent on its first vowel after the first letter. */
function accentTypo(text: string, seed: number): string {
  const typo = corruptQuery(text, seed);
  const a = text.split(/(\s+)/);
  const b = typo.split(/(\s+)/);
  if (a.length !== b.length) return typo;
  return b.map((w, i) => (w === a[i] ? w : w.replace(/(?<=^.+?)[aeiou]/, (v) => ACCENT[v]!))).join('');
}

const hasMarks = (w: string): boolean => MARKED.test(w.normalize('NFD'));

async function measure(name: string): Promise<object> {
  const data = dataDir();
  if (data === null) throw new Error('../shared/data is missing');
  const set: JudgedSet = await readJudgedSet(join(data, name), name);
  const store = await buildBm25Store(join(data, name), 'porter');
  const rewriter = new QueryRewriter(store.reader);
  const spelling = resolveRewrite({ spelling: true });
  const run = (texts: (q: JudgedSet['queries'][number]) => string, policy: 'none' | 'fold' | 'leave'): { run: Run; rewrites: string[] } => {
    const out: Run = new Map();
    const rewrites: string[] = [];
    for (const q of set.queries) {
      let text = texts(q);
      if (policy === 'leave') text = text.split(/\s+/).filter((w) => !hasMarks(w)).join(' ');
      const query = policy === 'none' ? text : (() => {
        const rw = rewriter.rewrite(text, spelling, ENGLISH_STOPWORDS);
        for (const r of rw.rewrites) rewrites.push(`${r.from} → ${r.to}`);
        return rw.bm25;
      })();
      out.set(q.id, store.reader.bm25(query, 1000).map((h) => ({ docId: h.docId, score: h.score })));
    }
    return { run: out, rewrites };
  };
  const result: Record<string, object> = {};
  const sets = {
    accentedTypos: (q: JudgedSet['queries'][number]) => accentTypo(q.text, hash(q.id)),
    foreignWord: (q: JudgedSet['queries'][number]) => `${q.text} ${FOREIGN[hash(q.id) % FOREIGN.length]}`,
  };
  for (const [label, texts] of Object.entries(sets)) {
    const rows = (['none', 'fold', 'leave'] as const).map((p) => ({ p, ...run(texts, p) }));
    const evals = rows.map((r) => evaluateRun(r.run, set.qrels));
    const t = pairedRandomizationTest(metricVector(evals[1]!, 'ndcg@10'), metricVector(evals[2]!, 'ndcg@10'));
    const counts = new Map<string, number>();
    for (const r of rows[1]!.rewrites.filter((x) => hasMarks(x.split(' → ')[0]!))) counts.set(r, (counts.get(r) ?? 0) + 1);
    result[label] = {
      ndcg10: Object.fromEntries(rows.map((r, i) => [r.p, +evals[i]!.mean['ndcg@10'].toFixed(4)])),
      foldMinusLeave: { delta: +t.meanDiff.toFixed(4), p: +t.p.toFixed(4) },
      accentedWordsCorrected: [...counts.values()].reduce((a, b) => a + b, 0),
      corrections: Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).slice(0, 12)),
    };
  }
  store.close();
  return { queries: set.queries.length, ...result };
}

if (isMain(import.meta.url)) {
  const result: Record<string, object> = {};
  for (const name of ['cranfield', 'cisi']) result[name] = await measure(name);
  console.log(JSON.stringify({ machine: machine(), result }, null, 1));
}
