/**
 * Residual codecs on judged data (issue 22): nbits 1, 2, 4 and ternary, built from the SAME token
 * embeddings (the corpus is encoded once with the bundled model; every later build replays the
 * cached vectors, so the k-means centroids are identical and only the codec differs), then per
 * width: index bytes (residuals a token, the whole folder), nDCG@10 and Recall@100 of PLAID at
 * default settings (k = 10 for nDCG@10, k = 100 for Recall@100) and of exhaustive MaxSim, and the
 * paired randomization test (src/eval/significance.ts) of each per-query nDCG@10 against 2-bit.
 * Also hybrid mode (BM25 fused with PLAID, the bundled model's default) at default settings.
 * 1-bit is also evaluated with ColBERTv2's quartile weights on the same bits (plait fits each side's
 * mean). For 1 and 2 bits PLAID is also run with exact scoring on the codes (PLAIT_EXACT_SCORING=codes:
 * the int8-query lookup tables of src/codec/code-scorer.ts, the "1-bit with an int8 query" path).
 * Every width with scoring on its codes (1, 2, 4 bits: fast-scan; ternary: its byte LUT,
 * src/kernels/ternary-code-kernels.ts) is also run in all three modes with the exact stage by
 * EXACT_SCORING_DEFAULTS.method (what a plain search does) against 'decompress' in the same mode:
 * nDCG@10, Δ, p and the share of each query's top-10 the two have in common.
 * Queries are encoded once. PLAIT_CODECS_SKIP_EXHAUSTIVE=1 leaves exhaustive mode out.
 *
 * The embedding cache (vectors.f32 + index.jsonl, keyed by SHA-1 of the passage text) and the
 * indexes live under PLAIT_CODECS_DIR (default /tmp/codec-bench); a rerun reuses both, so the
 * encoding (tens of minutes on the shared 2-core machine) is paid once.
 *
 * Run: `node dist/bench/codecs.js [datasets=cranfield,cisi] [widths=2,ternary,1,4]`;
 * decompression speed per width: `node dist/bench/codecs.js decode`.
 */
import { appendFileSync, closeSync, cpSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { buildIndex } from '../src/indexer/build-index.js';
import { createEncoder } from '../src/encoder/create-encoder.js';
import { resolveModelSpec } from '../src/encoder/resolve-model.js';
import type { Encoder, TokenEmbeddings } from '../src/encoder/types.js';
import { openIndex, type SearchOptions } from '../src/search/plait-index.js';
import { listedBytes, readManifest } from '../src/format/index-reader.js';
import { readQueries, readQrels, evaluateRun, pairedRandomizationTest, type Run, type Qrels } from '../src/eval/index.js';
import { getKernels, kernelsStatus } from '../src/kernels/index.js';
import { MANIFEST_FILE } from '../src/format/manifest.js';
import { mulberry32 } from '../src/util/random.js';
import { quantileSorted } from '../src/util/vectors.js';
import { TERNARY_NBITS, nbitsName, parseNbits, residualRowBytes, type Nbits } from '../src/kernels/validate.js';
import { dataDir, isMain, machine } from './common.js';
import { supportsCodeScoring } from '../src/codec/code-scorer.js';

const ROOT = process.env.PLAIT_CODECS_DIR ?? '/tmp/codec-bench';
/**
 * PLAIT_CODECS_SKIP_EXHAUSTIVE=1 leaves exhaustive mode out: on scifact (3M tokens) an exhaustive pass
 * over 300 queries costs minutes of CPU per method, more than a loaded shared machine gives a session.
 */
const SKIP_EXHAUSTIVE = process.env.PLAIT_CODECS_SKIP_EXHAUSTIVE === '1';

/**
 * Token embeddings cached on disk by text: a miss is encoded by `inner` and appended, a hit read
 * back, so a second build of the same corpus encodes nothing and gets the same bits.
 */
class EmbeddingCache {
  private readonly fd: number;
  private readonly index = new Map<string, { offset: number; length: number; tokenIds: Int32Array }>();
  private end: number;
  hits = 0;
  misses = 0;

  constructor(
    private readonly dir: string,
    private readonly dim: number,
  ) {
    mkdirSync(dir, { recursive: true });
    this.fd = openSync(join(dir, 'vectors.f32'), 'a+');
    this.end = fstatSync(this.fd).size;
    const idx = join(dir, 'index.jsonl');
    if (existsSync(idx)) {
      for (const line of readFileSync(idx, 'utf8').split('\n')) {
        if (line === '') continue;
        const e = JSON.parse(line) as { k: string; o: number; n: number; t: string };
        // An entry whose vectors did not reach the file (a killed run) is dropped.
        if (e.o + e.n * dim * 4 <= this.end) this.index.set(e.k, { offset: e.o, length: e.n, tokenIds: new Int32Array(new Uint8Array(Buffer.from(e.t, 'base64')).buffer) });
      }
    }
  }

  private static key(kind: string, text: string): string {
    return createHash('sha1').update(kind).update('\0').update(text).digest('hex');
  }

  async get(kind: 'q' | 'd', texts: string[], encode: (t: string[]) => Promise<TokenEmbeddings[]>): Promise<TokenEmbeddings[]> {
    const keys = texts.map((t) => EmbeddingCache.key(kind, t));
    const missing = [...new Set(keys.map((k, i) => (this.index.has(k) ? -1 : i)).filter((i) => i >= 0))];
    if (missing.length > 0) {
      const fresh = await encode(missing.map((i) => texts[i]!));
      missing.forEach((i, j) => {
        const e = fresh[j]!;
        const bytes = Buffer.from(e.vectors.buffer, e.vectors.byteOffset, e.length * this.dim * 4);
        writeSync(this.fd, bytes, 0, bytes.length, this.end);
        const entry = { offset: this.end, length: e.length, tokenIds: Int32Array.from(e.tokenIds) };
        this.end += bytes.length;
        this.index.set(keys[i]!, entry);
        appendFileSync(join(this.dir, 'index.jsonl'), `${JSON.stringify({ k: keys[i], o: entry.offset, n: entry.length, t: Buffer.from(entry.tokenIds.buffer).toString('base64') })}\n`);
      });
      this.misses += missing.length;
    }
    this.hits += texts.length - missing.length;
    return keys.map((k) => {
      const e = this.index.get(k)!;
      const vectors = new Float32Array(e.length * this.dim);
      readSync(this.fd, new Uint8Array(vectors.buffer), 0, vectors.byteLength, e.offset);
      return { vectors, length: e.length, tokenIds: e.tokenIds };
    });
  }

  /**
   * `rows` token rows drawn at random (seeded) from the cached documents: entries whose key is not
   * in `exclude` (the queries' keys, `keysOf('q', texts)`).
   */
  sampleRows(rows: number, exclude: ReadonlySet<string>, seed: number): Float32Array {
    const entries = [...this.index].filter(([k]) => !exclude.has(k)).map(([, e]) => e);
    const rand = mulberry32(seed);
    const out = new Float32Array(rows * this.dim);
    for (let r = 0; r < rows; r++) {
      const e = entries[Math.floor(rand() * entries.length)]!;
      const row = Math.floor(rand() * e.length);
      readSync(this.fd, new Uint8Array(out.buffer, r * this.dim * 4, this.dim * 4), 0, this.dim * 4, e.offset + row * this.dim * 4);
    }
    return out;
  }

  static keysOf(kind: 'q' | 'd', texts: readonly string[]): Set<string> {
    return new Set(texts.map((t) => EmbeddingCache.key(kind, t)));
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Held-out rows for the 1-bit weight comparison (ColBERTv2's build holds out 5% of its k-means sample; plenty for 2 values). */
const REWEIGHT_ROWS = 20_000;

/**
 * The 1-bit codec with ColBERTv2's weights, the quantiles at 1/4 and 3/4 of held-out residuals,
 * beside plait's (each side's mean residual, ResidualCodec's oneBitMeanWeights): the same cutoff,
 * so the same stored bits. Written as a copy of the 1-bit index with only manifest.codec.weights
 * changed, fitted on REWEIGHT_ROWS cached document tokens against the index's own centroids.
 */
function quartileOneBit(src: string, dst: string, cache: EmbeddingCache, queryKeys: ReadonlySet<string>): void {
  if (existsSync(join(dst, MANIFEST_FILE))) return;
  const m = readManifest(src);
  const dim = m.dim;
  const centroids = new Float32Array(new Uint8Array(readFileSync(join(src, 'centroids.f32'))).buffer);
  const rows = cache.sampleRows(REWEIGHT_ROWS, queryKeys, 7);
  const codes = new Int32Array(REWEIGHT_ROWS);
  getKernels().assignNearest(rows, REWEIGHT_ROWS, centroids, m.counts.centroids, dim, codes);
  const values = new Float32Array(REWEIGHT_ROWS * dim);
  for (let i = 0; i < REWEIGHT_ROWS; i++) for (let d = 0; d < dim; d++) values[i * dim + d] = rows[i * dim + d]! - centroids[codes[i]! * dim + d]!;
  values.sort();
  cpSync(src, dst, { recursive: true });
  const manifest = { ...m, codec: { ...m.codec, weights: [quantileSorted(values, 0.25), quantileSorted(values, 0.75)] } };
  writeFileSync(join(dst, MANIFEST_FILE), JSON.stringify(manifest, null, 2));
}

/** `inner` with encodeDocuments / encodeQueries served from the cache. */
function cachedEncoder(inner: Encoder, cache: EmbeddingCache): Encoder {
  return Object.assign(Object.create(inner) as Encoder, {
    info: inner.info,
    spec: inner.spec,
    encodeDocuments: (texts: string[]) => cache.get('d', texts, (t) => inner.encodeDocuments(t)),
    encodeQueries: (texts: string[]) => cache.get('q', texts, (t) => inner.encodeQueries(t)),
    close: async () => {},
  });
}

interface ModeFigures {
  ndcg10: number;
  recall100: number;
  /** nDCG@10 minus 2-bit's in the same mode, with the paired randomization test's p. */
  vs2bit?: { diff: number; p: number };
  /** For the default-method modes: nDCG@10 minus decompression's in the same mode, p, mean share of the top-10 in common. */
  vsDecompress?: { diff: number; p: number; sharedTop10: number };
  perQuery: Map<string, number>;
  top10: Map<string, string[]>;
  /** Median CPU time of one query of the k = 10 run (this process's, ms; the machine's load does not count). */
  p50CpuMs: number;
}

interface WidthFigures {
  nbits: string;
  residualBytesPerToken: number;
  bytesPerToken: number;
  indexMB: number;
  buildS: number;
  modes: Record<string, ModeFigures>;
}

async function evaluateWidth(path: string, queries: Array<{ id: string; text: string }>, emb: TokenEmbeddings[], qrels: Qrels, nbits: Nbits): Promise<Record<string, ModeFigures>> {
  const index = await openIndex(path, { workers: 0 });
  try {
    const cpuMs = new WeakMap<Run, number[]>();
    const runOf = (o: SearchOptions): Run => {
      const run: Run = new Map();
      const ms: number[] = [];
      queries.forEach((q, i) => {
        const u0 = process.cpuUsage();
        run.set(q.id, index.searchEncoded(q.text, emb[i]!, { mode: 'late', ...o }).hits.map((h) => ({ docId: h.docId, score: h.score })));
        const u = process.cpuUsage(u0);
        ms.push((u.user + u.system) / 1000);
      });
      cpuMs.set(run, ms);
      return run;
    };
    const figures = (top10Run: Run, top100: Run): ModeFigures => {
      const a = evaluateRun(top10Run, qrels);
      const b = evaluateRun(top100, qrels);
      const top10 = new Map([...top10Run].map(([q, hits]) => [q, hits.slice(0, 10).map((h) => h.docId)]));
      const ms = Float32Array.from(cpuMs.get(top10Run) ?? []).sort();
      return { ndcg10: a.mean['ndcg@10'], recall100: b.mean['recall@100'], perQuery: new Map([...a.perQuery].map(([q, m]) => [q, m['ndcg@10']])), top10, p50CpuMs: ms.length === 0 ? Number.NaN : quantileSorted(ms, 0.5) };
    };
    const out: Record<string, ModeFigures> = {};
    const previous = process.env.PLAIT_EXACT_SCORING;
    try {
      process.env.PLAIT_EXACT_SCORING = 'decompress';
      out.plaid = figures(runOf({ topK: 10 }), runOf({ topK: 100 }));
      // The bundled model's default mode: BM25 fused with PLAID's late interaction.
      out.hybrid = figures(runOf({ topK: 10, mode: 'hybrid' }), runOf({ topK: 100, mode: 'hybrid' }));
      if (!SKIP_EXHAUSTIVE) {
        const exhaustive = runOf({ topK: 100, exhaustive: true });
        out.exhaustive = figures(exhaustive, exhaustive);
      }
      if (nbits === 1 || nbits === 2) {
        process.env.PLAIT_EXACT_SCORING = 'codes';
        out.plaidCodes = figures(runOf({ topK: 10 }), runOf({ topK: 100 }));
      }
      if (supportsCodeScoring(nbits)) {
        delete process.env.PLAIT_EXACT_SCORING;
        out.plaidDefault = figures(runOf({ topK: 10 }), runOf({ topK: 100 }));
        out.hybridDefault = figures(runOf({ topK: 10, mode: 'hybrid' }), runOf({ topK: 100, mode: 'hybrid' }));
        if (!SKIP_EXHAUSTIVE) {
          const all = runOf({ topK: 100, exhaustive: true });
          out.exhaustiveDefault = figures(all, all);
        }
        for (const mode of ['plaid', 'hybrid', 'exhaustive']) if (out[mode] !== undefined) out[`${mode}Default`]!.vsDecompress = againstDecompression(out[`${mode}Default`]!, out[mode]!);
      }
    } finally {
      if (previous === undefined) delete process.env.PLAIT_EXACT_SCORING;
      else process.env.PLAIT_EXACT_SCORING = previous;
    }
    return out;
  } finally {
    await index.close();
  }
}

/** `f` (a default-method mode) against `base` (the same mode decompressing): Δ nDCG@10, p, mean top-10 shared. */
function againstDecompression(f: ModeFigures, base: ModeFigures): { diff: number; p: number; sharedTop10: number } {
  const ids = [...base.perQuery.keys()];
  const test = pairedRandomizationTest(ids.map((q) => f.perQuery.get(q)!), ids.map((q) => base.perQuery.get(q)!));
  let shared = 0;
  for (const q of ids) {
    const mine = new Set(f.top10.get(q) ?? []);
    const theirs = base.top10.get(q) ?? [];
    shared += theirs.length === 0 ? 1 : theirs.filter((d) => mine.has(d)).length / theirs.length;
  }
  return { diff: f.ndcg10 - base.ndcg10, p: test.p, sharedTop10: shared / ids.length };
}

/** Fills `vs2bit` of every row's modes not yet compared, once the 2-bit row is there. */
function compareTo2bit(rows: WidthFigures[]): void {
  const base = rows.find((r) => r.nbits === '2');
  if (base === undefined) return;
  for (const r of rows) {
    for (const [mode, f] of Object.entries(r.modes)) {
      const b = base.modes[mode];
      if (b === undefined || r === base || f.vs2bit !== undefined || f.vsDecompress !== undefined) continue;
      const ids = [...b.perQuery.keys()];
      const test = pairedRandomizationTest(ids.map((q) => f.perQuery.get(q)!), ids.map((q) => b.perQuery.get(q)!));
      f.vs2bit = { diff: f.ndcg10 - b.ndcg10, p: test.p };
    }
  }
}

export async function dataset(name: string, widths: Nbits[]): Promise<object> {
  const data = dataDir();
  if (data === null || !existsSync(join(data, name))) return { dataset: name, skipped: `no data set ${name} under ../shared/data` };
  const spec = await resolveModelSpec(undefined);
  const inner = await createEncoder(spec, { threads: 2 });
  const cache = new EmbeddingCache(join(ROOT, `${name}-embeddings`), inner.info.dim);
  const encoder = cachedEncoder(inner, cache);
  try {
    const [allQueries, qrels] = await Promise.all([readQueries(join(data, name, 'queries.jsonl')), readQrels(join(data, name, 'qrels', 'test.tsv'))]);
    const queries = allQueries.filter((q) => qrels.has(q.id));
    const emb = await encoder.encodeQueries(queries.map((q) => q.text));
    const rows: WidthFigures[] = [];
    for (const nbits of widths) {
      const path = join(ROOT, `${name}-${nbitsName(nbits)}`);
      let buildS = Number.NaN;
      if (!existsSync(join(path, 'manifest.json'))) {
        const t = performance.now();
        await buildIndex(join(data, name, 'corpus.jsonl'), { index: path, nbits, encoder, skipInvalid: true });
        buildS = (performance.now() - t) / 1000;
        console.error(`# built ${path} in ${buildS.toFixed(0)} s (cache: ${cache.hits} hits, ${cache.misses} encoded)`);
      }
      const m = readManifest(path);
      const rb = residualRowBytes(m.dim, m.nbits);
      rows.push({
        nbits: nbitsName(nbits),
        residualBytesPerToken: rb,
        bytesPerToken: rb + 4,
        indexMB: listedBytes(m) / 1e6,
        buildS,
        modes: await evaluateWidth(path, queries, emb, qrels, nbits),
      });
      compareTo2bit(rows);
      console.error(`# evaluated ${path}: ${tableRow(rows[rows.length - 1]!)}`);
      console.error(`# on codes: ${onCodesTable({ dataset: name, widths: rows.slice(-1) }).split('\n').slice(2).join('')}`);
    }
    if (widths.includes(1)) {
      const src = join(ROOT, `${name}-1`);
      const path = join(ROOT, `${name}-1-quartiles`);
      quartileOneBit(src, path, cache, EmbeddingCache.keysOf('q', queries.map((q) => q.text)));
      const m = readManifest(path);
      const rb = residualRowBytes(m.dim, m.nbits);
      rows.push({ nbits: "1 (ColBERTv2's quartile weights)", residualBytesPerToken: rb, bytesPerToken: rb + 4, indexMB: listedBytes(m) / 1e6, buildS: Number.NaN, modes: await evaluateWidth(path, queries, emb, qrels, 1) });
      console.error(`# evaluated ${path} (weights ${m.codec.weights.map((w) => w.toFixed(5)).join(', ')}; plait's ${readManifest(src).codec.weights.map((w) => w.toFixed(5)).join(', ')})`);
    }
    compareTo2bit(rows);
    const m0 = readManifest(join(ROOT, `${name}-${nbitsName(widths[0]!)}`));
    return {
      dataset: name,
      queries: queries.length,
      counts: m0.counts,
      dim: m0.dim,
      widths: rows.map((r) => ({ ...r, modes: Object.fromEntries(Object.entries(r.modes).map(([k, { perQuery: _p, top10: _t, ...v }]) => [k, v])) })),
    };
  } finally {
    cache.close();
    await inner.close();
  }
}

/** One width's line of the markdown table (`table`). */
function tableRow(r: WidthFigures): string {
  const f4 = (x: number | undefined): string => (x === undefined ? '–' : x.toFixed(4));
  const d = (m: ModeFigures | undefined): string => (m?.vs2bit === undefined ? '' : ` (${m.vs2bit.diff >= 0 ? '+' : ''}${m.vs2bit.diff.toFixed(4)}, p ${m.vs2bit.p.toFixed(3)})`);
  const cell = (m: ModeFigures | undefined): string => (m === undefined ? '–' : f4(m.ndcg10) + d(m));
  const m = r.modes;
  return `| ${r.nbits} | ${r.bytesPerToken} | ${r.indexMB.toFixed(1)} | ${cell(m.plaid)} | ${cell(m.exhaustive)} | ${cell(m.hybrid)} | ${cell(m.plaidCodes)} | ${f4(m.plaid?.recall100)} | ${f4(m.exhaustive?.recall100)} |`;
}

/** The default exact method (on the codes) against decompression, one line a width with code scoring. */
function onCodesTable(result: { dataset: string; widths: WidthFigures[] }): string {
  const lines = [
    `| ${result.dataset} nbits | PLAID nDCG@10 decompress → default (Δ, p, top-10 shared) | exhaustive | hybrid | PLAID p50 CPU ms/query at k = 10, decompress → default |`,
    '|---|---|---|---|---|',
  ];
  const cell = (d: ModeFigures | undefined, f: ModeFigures | undefined): string => {
    if (d === undefined || f?.vsDecompress === undefined) return '–';
    const v = f.vsDecompress;
    return `${d.ndcg10.toFixed(4)} → ${f.ndcg10.toFixed(4)} (${v.diff >= 0 ? '+' : ''}${v.diff.toFixed(4)}, p ${v.p.toFixed(3)}, ${v.sharedTop10.toFixed(3)})`;
  };
  for (const r of result.widths) {
    const m = r.modes;
    if (m.plaidDefault !== undefined) lines.push(`| ${r.nbits} | ${cell(m.plaid, m.plaidDefault)} | ${cell(m.exhaustive, m.exhaustiveDefault)} | ${cell(m.hybrid, m.hybridDefault)} | ${m.plaid!.p50CpuMs.toFixed(2)} → ${m.plaidDefault.p50CpuMs.toFixed(2)} |`);
  }
  return lines.join('\n');
}

function table(result: { dataset: string; widths: WidthFigures[] }): string {
  const lines = [
    `| ${result.dataset} nbits | B/token (residual + 4 id) | index MB | PLAID nDCG@10 (Δ vs 2-bit, p) | exhaustive nDCG@10 (Δ, p) | hybrid (BM25 + PLAID) nDCG@10 (Δ, p) | PLAID on codes nDCG@10 (Δ, p) | PLAID R@100 | exhaustive R@100 |`,
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of result.widths) lines.push(tableRow(r));
  return lines.join('\n');
}

/**
 * Decompression speed, ns per token (this process's CPU time, best of 7 windows of ≥ 0.3 s): each
 * width at 128 d (ColBERTv2) and 512 d (the bundled model), 20,000 tokens on K = 4,096 centroids.
 */
export function decodeSpeed(): Array<{ dim: number; nbits: string; nsPerToken: number }> {
  const kernels = getKernels();
  const rand = mulberry32(5);
  const n = 20_000;
  const out: Array<{ dim: number; nbits: string; nsPerToken: number }> = [];
  for (const dim of [128, 512]) {
    const centroids = new Float32Array(4096 * dim).map(() => rand() * 2 - 1);
    const codes = Int32Array.from({ length: n }, () => Math.floor(rand() * 4096));
    const rows = new Float32Array(n * dim);
    for (const nbits of [1, TERNARY_NBITS, 2, 4] as const) {
      const bytes = new Uint8Array(n * residualRowBytes(dim, nbits)).map(() => Math.floor(rand() * (nbits === TERNARY_NBITS ? 243 : 256)));
      const weights = Float32Array.from({ length: nbits === TERNARY_NBITS ? 3 : 1 << nbits }, (_, i) => (i - 1) * 0.05);
      let best = Infinity;
      for (let w = 0; w < 7; w++) {
        let calls = 0;
        const u0 = process.cpuUsage();
        const t0 = performance.now();
        do {
          kernels.decompress(codes, bytes, n, dim, centroids, weights, nbits, rows);
          calls++;
        } while (performance.now() - t0 < 300);
        const u = process.cpuUsage(u0);
        best = Math.min(best, ((u.user + u.system) * 1000) / calls / n);
      }
      out.push({ dim, nbits: nbitsName(nbits), nsPerToken: best });
    }
  }
  return out;
}

if (isMain(import.meta.url) && process.argv[2] === 'decode') {
  console.log(`# decode, ${kernelsStatus().active}, ${machine().cpu}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  for (const r of decodeSpeed()) console.log(`dim ${r.dim} nbits ${r.nbits}: ${r.nsPerToken.toFixed(1)} ns a token`);
} else if (isMain(import.meta.url)) {
  const names = (process.argv[2] ?? 'cranfield,cisi').split(',');
  const widths = (process.argv[3] ?? '2,ternary,1,4').split(',').map(parseNbits);
  console.log(`# codecs, ${kernelsStatus().active}, ${machine().cpu}, ${machine().cores} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  for (const name of names) {
    const r = (await dataset(name, widths)) as { dataset: string; widths?: WidthFigures[] };
    console.log(JSON.stringify(r));
    if (r.widths !== undefined) {
      console.log(table(r as { dataset: string; widths: WidthFigures[] }));
      console.log(onCodesTable(r as { dataset: string; widths: WidthFigures[] }));
    }
    console.log(`# load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  }
}
