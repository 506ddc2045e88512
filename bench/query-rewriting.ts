/**
 * Query rewriting on the judged sets (issue 26): nDCG@10, MRR@10 and R@100 of each rewrite alone
 * and combined against the mode's plain search, with the paired randomization test, and the
 * latency each adds (p50, p95).
 *
 *   node dist/bench/query-rewriting.js bm25                      # BM25 side: stemming, spelling, RM3 (document stores only)
 *   node dist/bench/query-rewriting.js index <dataset> <index>   # every mode on a built index (late, hybrid; PRF)
 *
 * Spelling is measured on real queries (is anything rewritten that should not be?) and on a test
 * set made by corrupting the judged queries: one edit (deletion, insertion, substitution or
 * transposition, seeded) in one content word of at least 5 letters per query.
 */
import { join } from 'node:path';
import { evaluateRun, metricVector, pairedRandomizationTest, type EvalResult, type Run } from '../src/eval/index.js';
import { ENGLISH_STOPWORDS } from '../src/docstore/index.js';
import { QueryRewriter, resolveRewrite, type RewriteOptions } from '../src/rewrite/query-rewriter.js';
import { Random } from '../src/util/random.js';
import { openIndex } from '../src/search/plait-index.js';
import type { SearchOptions } from '../src/search/search-options.js';
import { buildBm25Store, readJudgedSet, type JudgedSet } from './bm25-docstore.js';
import { dataDir, isMain, machine, percentiles } from './common.js';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** `text` with one edit in one of its content words of ≥ 5 letters (seeded by `seed`); the text itself when it has none. */
export function corruptQuery(text: string, seed: number): string {
  const rng = new Random(seed);
  const words = [...text.matchAll(/\p{L}+/gu)].filter((m) => m[0].length >= 5 && !ENGLISH_STOPWORDS.has(m[0].toLowerCase()));
  if (words.length === 0) return text;
  const m = words[rng.int(words.length)]!;
  const w = m[0];
  const i = 1 + rng.int(w.length - 2); // keep the first letter, as most typos do
  const c = LETTERS[rng.int(26)]!;
  let typo: string;
  switch (rng.int(4)) {
    case 0:
      typo = w.slice(0, i) + w.slice(i + 1);
      break;
    case 1:
      typo = w.slice(0, i) + c + w.slice(i);
      break;
    case 2:
      typo = w.slice(0, i) + (c === w[i] ? LETTERS[(LETTERS.indexOf(c) + 1) % 26] : c) + w.slice(i + 1);
      break;
    default:
      typo = w[i] === w[i + 1] || i + 1 >= w.length ? w.slice(0, i) + w.slice(i + 1) : w.slice(0, i) + w[i + 1] + w[i] + w.slice(i + 2);
  }
  return text.slice(0, m.index) + typo + text.slice(m.index! + w.length);
}

interface Row {
  name: string;
  result: EvalResult;
  latency: { p50: number; p95: number };
  rewritten: number;
}

function summarize(rows: Row[], base: Row): object[] {
  return rows.map((r) => {
    const out: Record<string, unknown> = { variant: r.name, rewrittenQueries: r.rewritten, p50Ms: +r.latency.p50.toFixed(2), p95Ms: +r.latency.p95.toFixed(2) };
    for (const m of ['ndcg@10', 'mrr@10', 'recall@100'] as const) {
      out[m] = +r.result.mean[m].toFixed(4);
      if (r !== base) {
        const t = pairedRandomizationTest(metricVector(r.result, m), metricVector(base.result, m));
        out[`${m} Δ`] = +t.meanDiff.toFixed(4);
        out[`${m} p`] = +t.p.toFixed(4);
      }
    }
    return out;
  });
}

async function bm25Side(): Promise<object> {
  const data = dataDir();
  if (data === null) throw new Error('../shared/data is missing');
  const out: Record<string, object> = {};
  for (const name of ['scifact', 'cranfield', 'cisi']) {
    const set = await readJudgedSet(join(data, name), name);
    const rows: Row[] = [];
    const unstemmed = await buildBm25Store(join(data, name), 'none');
    const stemmed = await buildBm25Store(join(data, name), 'porter');
    const runVariant = (label: string, reader: typeof stemmed.reader, rewrite: RewriteOptions | null, texts: (q: JudgedSet['queries'][number]) => string): Row => {
      const rewriter = new QueryRewriter(reader);
      const r = resolveRewrite(rewrite ?? undefined);
      const run: Run = new Map();
      const ms: number[] = [];
      let rewritten = 0;
      for (const q of set.queries) {
        const t = performance.now();
        let query: Parameters<typeof reader.bm25>[0] = texts(q);
        if (rewrite !== null) {
          let rw = rewriter.rewrite(texts(q), r, ENGLISH_STOPWORDS);
          if (r.rm3 !== null) rw = rewriter.expandRm3(rw, r.rm3, ENGLISH_STOPWORDS);
          if (rw.rewrites.length > 0) rewritten++;
          query = rw.bm25;
        }
        run.set(q.id, reader.bm25(query, 1000).map((h) => ({ docId: h.docId, score: h.score })));
        ms.push(performance.now() - t);
      }
      const p = percentiles(ms);
      return { name: label, result: evaluateRun(run, set.qrels), latency: { p50: p.p50, p95: p.p95 }, rewritten };
    };
    const natural = (q: JudgedSet['queries'][number]): string => q.text;
    const corrupted = (q: JudgedSet['queries'][number]): string => corruptQuery(q.text, hashId(q.id));
    const base = runVariant('bm25 unstemmed (schema 2)', unstemmed.reader, null, natural);
    rows.push(base);
    const stem = runVariant('bm25 porter (schema 3, default)', stemmed.reader, null, natural);
    rows.push(stem);
    rows.push(runVariant('porter + spelling', stemmed.reader, { spelling: true }, natural));
    rows.push(runVariant('porter + rm3', stemmed.reader, { rm3: true }, natural));
    rows.push(runVariant('porter + spelling + rm3', stemmed.reader, { spelling: true, rm3: true }, natural));
    const vsStem = summarize(rows.slice(2), stem);
    const corruptBase = runVariant('corrupted queries', stemmed.reader, null, corrupted);
    const corruptFixed = runVariant('corrupted + spelling', stemmed.reader, { spelling: true }, corrupted);
    const recovered = (corruptFixed.result.mean['ndcg@10'] - corruptBase.result.mean['ndcg@10']) / (stem.result.mean['ndcg@10'] - corruptBase.result.mean['ndcg@10']);
    out[name] = {
      queries: set.queries.length,
      stemming: summarize([base, stem], base),
      rewritesVsPorter: vsStem,
      spellingOnCorrupted: summarize([corruptBase, corruptFixed], corruptBase),
      corruptedNdcgRecoveredShare: +recovered.toFixed(3),
    };
    unstemmed.close();
    stemmed.close();
  }
  return out;
}

/** A stable seed from a query id. */
function hashId(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Every mode on a built index: plain, spelling, rm3 (bm25/hybrid), prf (late/hybrid), and combined. */
async function indexSide(dataset: string, indexPath: string): Promise<object> {
  const name = dataset.split('/').filter(Boolean).at(-1)!;
  const set = await readJudgedSet(dataset, name);
  const index = await openIndex(indexPath, { encoderOptions: { threads: 1 } });
  const out: Record<string, object> = {};
  try {
    const variants: Array<[string, RewriteOptions | undefined]> = [
      ['plain', undefined],
      ['spelling', { spelling: true }],
      ['rm3', { rm3: true }],
      ['prf', { prf: true }],
      ['spelling + rm3 + prf', { spelling: true, rm3: true, prf: true }],
    ];
    for (const mode of ['late', 'hybrid'] as const) {
      const rows: Row[] = [];
      for (const [label, rewrite] of variants) {
        if (mode === 'late' && rewrite?.rm3 === true && rewrite.prf !== true) continue;
        // RM3 expands BM25, which late mode does not run (refused there): the late row combines the others.
        const applied = mode === 'late' && rewrite?.rm3 !== undefined ? { ...rewrite, rm3: false } : rewrite;
        const options: SearchOptions = { mode, topK: 100, ...(applied === undefined ? {} : { rewrite: applied }) };
        const run: Run = new Map();
        const ms: number[] = [];
        let rewritten = 0;
        for (const q of set.queries) {
          const t = performance.now();
          const res = await index.search(q.text, options);
          ms.push(performance.now() - t);
          if ((res.rewrites?.length ?? 0) > 0) rewritten++;
          run.set(q.id, res.hits.map((h) => ({ docId: h.docId, score: h.score })));
        }
        const p = percentiles(ms);
        rows.push({ name: `${mode} ${label}`, result: evaluateRun(run, set.qrels), latency: { p50: p.p50, p95: p.p95 }, rewritten });
      }
      out[mode] = summarize(rows, rows[0]!);
    }
  } finally {
    await index.close();
  }
  return out;
}

if (isMain(import.meta.url)) {
  const [what, dataset, indexPath] = process.argv.slice(2);
  const result = what === 'index' && dataset !== undefined && indexPath !== undefined ? await indexSide(dataset, indexPath) : await bm25Side();
  console.log(JSON.stringify({ machine: machine(), load: (await import('node:os')).loadavg(), result }, null, 1));
}
