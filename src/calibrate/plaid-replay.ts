/**
 * PLAID replayed over a whole grid of settings for one query, at the cost of about two exhaustive
 * passes instead of one PLAID search per grid point.
 *
 * Every stage of `plaidSearch` (src/search/plaid.ts) ranks passages by a score that does not
 * depend on the settings: stage 2 by pruned centroid interaction (depends on the threshold only),
 * stage 3 by full centroid interaction, stage 4 by exact MaxSim; probed-token ranking (which
 * replaces stages 2–3 for short queries) depends on the probes only, so it is computed once per
 * probing rule. So each score is computed once for every passage (exact MaxSim is the exhaustive
 * oracle anyway), and a grid point only re-selects
 * — same candidates in the same order, same `kernels.topK` — which gives exactly the passages
 * plaidSearch returns (the differential test in test/calibrate.test.ts holds it to that).
 *
 * Cost of a grid point is estimated from the work its stages would do (doc tokens × query tokens
 * looked up or scored), priced with the per-pair times measured on this very query's full passes.
 */
import type { Kernels } from '../kernels/types.js';
import { effectiveNdocs, type InteractionScoring, type PlaidParams } from '../config/defaults.js';
import { allInteractionScores, centroidScores, exhaustiveRange, ivfUnion, probeAndMask, probesPerToken, exactDepth, probeRescoreFor, probedTokenDepth, scratchMarks, usesProbedTokens, type EncodedQuery, type ScoringArrays } from '../search/plaid.js';
import { probedTokenRanking } from '../search/probed-token-interaction.js';

export interface ReplayGrid {
  nIvfProbe: readonly number[];
  centroidScoreThreshold: readonly number[];
  ndocs: readonly number[];
  /** Relative pruning margins (PlaidParams.centroidScoreMargin); null: ColBERT's rule. Default [null]. */
  centroidScoreMargin?: readonly (number | null)[];
  /** Query-level probe minimums (PlaidParams.nIvfProbeTotal); null: ColBERT's fixed ncells. Default [null]. */
  nIvfProbeTotal?: readonly (number | null)[];
  /** Query-length-aware depths (PlaidParams.ndocsQueryTokens); null: ColBERT's fixed ndocs. Default [null]. */
  ndocsQueryTokens?: readonly (number | null)[];
  /** Candidate ranking (PlaidParams.interactionScoring); null: ColBERT's centroid interaction. Default [null]. */
  interactionScoring?: readonly (InteractionScoring | null)[];
}

/** A depth rule: ndocs and the optional query-length scaling. */
interface Depth {
  ndocs: number;
  queryTokens: number | null;
}

function depths(grid: ReplayGrid): Depth[] {
  const out: Depth[] = [];
  for (const ndocs of grid.ndocs) for (const queryTokens of grid.ndocsQueryTokens ?? [null]) out.push({ ndocs, queryTokens });
  return out;
}

/** A probing rule: ncells per token and the optional query-level minimum. */
interface Probing {
  nIvfProbe: number;
  total: number | null;
}

function probings(grid: ReplayGrid): Probing[] {
  const out: Probing[] = [];
  for (const nIvfProbe of grid.nIvfProbe) for (const total of grid.nIvfProbeTotal ?? [null]) out.push({ nIvfProbe, total });
  return out;
}

/** A ranking rule: the absolute threshold and the optional relative margin of stage 2's pruning, and how candidates are ranked. */
interface Pruning {
  threshold: number;
  margin: number | null;
  scoring: InteractionScoring | null;
}

function prunings(grid: ReplayGrid): Pruning[] {
  const out: Pruning[] = [];
  for (const scoring of grid.interactionScoring ?? [null]) {
    for (const threshold of grid.centroidScoreThreshold) for (const margin of grid.centroidScoreMargin ?? [null]) out.push({ threshold, margin, scoring });
  }
  return out;
}

/**
 * The grid points, probing-major: index = (i·T + j)·D + l, i over (ncells, probe total) pairs, j
 * over (interaction scoring, threshold, margin) triples, l over (ndocs, query tokens) pairs.
 * Optional fields appear only when set.
 */
export function gridPoints(grid: ReplayGrid): PlaidParams[] {
  const out: PlaidParams[] = [];
  for (const { nIvfProbe, total } of probings(grid)) {
    for (const { threshold: centroidScoreThreshold, margin, scoring } of prunings(grid)) {
      for (const { ndocs, queryTokens } of depths(grid)) {
        const p: PlaidParams = { nIvfProbe, centroidScoreThreshold, ndocs };
        if (margin !== null) p.centroidScoreMargin = margin;
        if (scoring !== null) p.interactionScoring = scoring;
        if (total !== null) p.nIvfProbeTotal = total;
        if (queryTokens !== null) p.ndocsQueryTokens = queryTokens;
        out.push(p);
      }
    }
  }
  return out;
}

/** What one query measured: per grid point and bucket, how many of the exhaustive top-k were found. */
export interface QueryReplay {
  /** found[point · B + b]: exhaustive top-k documents of bucket b that the point's top-k holds. */
  found: Int32Array;
  /** Exhaustive top-k size per bucket (k, or fewer documents when the index is smaller). */
  total: Int32Array;
  /** Estimated PLAID time of each point, ms. */
  estMs: Float64Array;
  /** Measured: exhaustive pass, ms. */
  exhaustiveMs: number;
}

export interface ReplayContext {
  arrays: ScoringArrays;
  kernels: Kernels;
  /** pid → document (docRowid), as search collapses passages. */
  pidToDoc: Int32Array;
  /**
   * Document rowid span (DocStoreReader.rowidSpan): per-document scratch is indexed by docRowid,
   * which on a living index grows past the live document count (deleted rowids are never reused).
   */
  docSpan: number;
  grid: ReplayGrid;
  bucketK: readonly number[];
}

/**
 * Documents of a passage ranking, best first (max over each document's passages, ties by docRowid).
 * The kernels' top-k selection (native: partial, ties by the lower index) picks them, then runs of
 * equal scores are put in docRowid order, and a run cut by k keeps the lowest docRowids of all the
 * documents with that score. (A comparator sort of every touched document was 60% of calibration's
 * replay: ~8 ms a grid point on 1,500 documents.)
 */
export function topDocs(kernels: Kernels, pids: Int32Array, scores: Float32Array, pidToDoc: Int32Array, best: Float32Array, touched: Int32Array, k: number): Int32Array {
  let n = 0;
  for (let i = 0; i < pids.length; i++) {
    const d = pidToDoc[pids[i]!]!;
    const s = scores[i]!;
    if (best[d] === -Infinity) touched[n++] = d;
    if (s > best[d]!) best[d] = s;
  }
  const take = Math.min(k, n);
  const vals = new Float32Array(n);
  for (let i = 0; i < n; i++) vals[i] = best[touched[i]!]!;
  const idx = take > 0 ? kernels.topK(vals, n, take) : new Int32Array(0);
  const out = new Int32Array(take);
  for (let i = 0; i < take; i++) out[i] = touched[idx[i]!]!;
  if (take > 0 && take < n) {
    // The last score taken may be shared by documents left out: the lowest docRowids of them all.
    const v = vals[idx[take - 1]!]!;
    let inTop = 0;
    for (let i = take - 1; i >= 0 && best[out[i]!] === v; i--) inTop++;
    const tied: number[] = [];
    for (let i = 0; i < n; i++) if (vals[i] === v) tied.push(touched[i]!);
    if (tied.length > inTop) {
      tied.sort((x, y) => x - y);
      for (let j = 0; j < inTop; j++) out[take - inTop + j] = tied[j]!;
    }
  }
  // Equal scores in docRowid order (=== takes -0 and +0 as equal, as the comparator did).
  for (let i = 0; i < take; ) {
    let j = i + 1;
    while (j < take && best[out[j]!] === best[out[i]!]) j++;
    if (j - i > 1) out.subarray(i, j).sort();
    i = j;
  }
  for (let i = 0; i < n; i++) best[touched[i]!] = -Infinity;
  return out;
}

function select(kernels: Kernels, pids: Int32Array, perPassage: Float32Array, k: number): Int32Array {
  const vals = new Float32Array(pids.length);
  for (let i = 0; i < pids.length; i++) vals[i] = perPassage[pids[i]!]!;
  const idx = kernels.topK(vals, pids.length, k);
  const out = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = pids[idx[i]!]!;
  return out;
}

function tokensOf(doclens: Int32Array, pids: Int32Array): number {
  let t = 0;
  for (const p of pids) t += doclens[p]!;
  return t;
}

function* liveIndices(mark: Uint8Array): Generator<number> {
  for (let i = 0; i < mark.length; i++) if (mark[i] === 0) yield i;
}

/** What one grid point's selection came to (its cost without stage 1, which every point shares). */
interface Outcome {
  pids: Int32Array;
  scores: Float32Array;
  found: Int32Array;
  lookups: number;
  rankMs: number;
  exactPairs: number;
}

/** Scratch arrays reused across queries. */
export class PlaidReplayer {
  private readonly mark: Uint8Array;
  private readonly best: Float32Array;
  private readonly touched: Int32Array;
  readonly points: PlaidParams[];
  private readonly totalTokens: number;
  /** The passages the exhaustive reference ranks: every passage not deleted. */
  private readonly livePids: Int32Array;

  constructor(private readonly ctx: ReplayContext) {
    // Deleted passages (living index) are pre-marked, as plaidSearch's are: never candidates.
    this.mark = scratchMarks(ctx.arrays);
    this.livePids = Int32Array.from(liveIndices(this.mark));
    this.best = new Float32Array(ctx.docSpan).fill(-Infinity);
    this.touched = new Int32Array(Math.max(ctx.docSpan, 1));
    this.points = gridPoints(ctx.grid);
    this.totalTokens = tokensOf(ctx.arrays.doclens, this.livePids);
  }

  /** The passages `plaidSearch` would return for each point (ascending pid order is not kept: best first). */
  replay(q: EncodedQuery, visit?: (point: number, survivors: Int32Array, exact: Float32Array) => void): QueryReplay {
    const { arrays: a, kernels, grid, bucketK, pidToDoc } = this.ctx;
    const nP = a.doclens.length;
    const qLen = q.length;
    const B = bucketK.length;

    // The oracle: exact MaxSim of every passage, and its documents' ranking.
    let t = performance.now();
    const exact = exhaustiveRange(a, q, 0, nP, kernels);
    const exhaustiveMs = performance.now() - t;
    const kMax = Math.max(...bucketK);
    const live = this.livePids;
    const liveExact = live.length === nP ? exact : Float32Array.from(live, (pid) => exact[pid]!);
    const exactDocs = topDocs(kernels, live, liveExact, pidToDoc, this.best, this.touched, kMax);
    const exactRank = new Map<number, number>();
    for (let i = 0; i < exactDocs.length; i++) exactRank.set(exactDocs[i]!, i);
    const total = Int32Array.from(bucketK, (k) => Math.min(k, exactDocs.length));

    // Stage 1 and the interaction scores of every passage (full, and pruned per threshold).
    t = performance.now();
    const s = centroidScores(a, q, kernels);
    const stage1Ms = performance.now() - t;
    t = performance.now();
    const full = allInteractionScores(a, s, q, null, kernels);
    const ciMs = performance.now() - t;
    const pairs = Math.max(1, this.totalTokens * qLen);
    const msPerLookup = ciMs / pairs;
    const msPerExact = exhaustiveMs / pairs;
    const rules = prunings(grid);
    // Probed-token ranking applies to this query or not (query length, index width): as in plaidSearch.
    const probedTokens = usesProbedTokens(a, q, { nIvfProbe: 1, centroidScoreThreshold: 0, ndocs: 1, interactionScoring: 'probed-tokens' });
    // One score array per distinct mask (thresholds that keep the same cells share it, and so does
    // every later step that ranks by it: replayProbing).
    const maskCache = new Map<string, Float32Array>();
    const pruned = rules.map(({ threshold, margin, scoring }) => {
      if (scoring === 'probed-tokens' && probedTokens) return full; // no stage 2: the mask is not used
      // The same mask plaidSearch computes (probeAndMask), so the replay cannot drift from it.
      const { keep } = probeAndMask(s, a.nCentroids, qLen, 1, threshold, margin ?? undefined);
      if (keep.every((x) => x === 1)) return full;
      const key = Buffer.from(keep.buffer, keep.byteOffset, keep.byteLength).toString('latin1');
      let scores = maskCache.get(key);
      if (scores === undefined) maskCache.set(key, (scores = allInteractionScores(a, s, q, keep, kernels)));
      return scores;
    });

    const P = this.points.length;
    const found = new Int32Array(P * B);
    const estMs = new Float64Array(P);
    const T = rules.length;
    const depthRules = depths(grid);
    const D = depthRules.length;
    const rescore = probeRescoreFor(a, q);
    const usesPt = probedTokens && rules.some((r) => r.scoring === 'probed-tokens');
    // Settings that probe the same number of cells per token probe the same cells (probesPerToken):
    // short queries raise many ncells to the same ⌈nIvfProbeTotal / qLen⌉, so one replay serves them.
    const byProbes = new Map<number, Outcome[]>();
    const probes = probings(grid);
    for (let i = 0; i < probes.length; i++) {
      const perToken = probesPerToken(a.nCentroids, qLen, probes[i]!.nIvfProbe, probes[i]!.total ?? undefined);
      let outcomes = byProbes.get(perToken);
      if (outcomes === undefined) {
        outcomes = this.replayProbing(q, s, perToken, rescore, rules, depthRules, pruned, full, usesPt, exact, exactRank, kMax);
        byProbes.set(perToken, outcomes);
      }
      for (let jl = 0; jl < T * D; jl++) {
        const point = i * T * D + jl;
        const o = outcomes[jl]!;
        estMs[point] = stage1Ms + o.rankMs + o.lookups * msPerLookup + o.exactPairs * msPerExact;
        found.set(o.found, point * B);
        visit?.(point, o.pids, o.scores);
      }
    }
    return { found, total, estMs, exhaustiveMs };
  }

  /**
   * One probing rule's outcome at every (ranking rule, depth) pair, index j·D + l. Pairs that end in
   * the same selection share it: thresholds whose masks keep the same cells share one score array
   * (and every threshold that keeps all cells shares the full interaction), depth rules that come to
   * the same ndocs share one depth, and a stage 2 that keeps every candidate leads each rule to the
   * same stage 3. Each shared step runs once, so every point still gets exactly plaidSearch's passages.
   */
  private replayProbing(
    q: EncodedQuery,
    s: Float32Array,
    perToken: number,
    rescore: ReturnType<typeof probeRescoreFor>,
    rules: readonly Pruning[],
    depthRules: readonly Depth[],
    pruned: readonly Float32Array[],
    full: Float32Array,
    usesPt: boolean,
    exact: Float32Array,
    exactRank: ReadonlyMap<number, number>,
    kMax: number,
  ): Outcome[] {
    const { arrays: a, kernels, bucketK, pidToDoc } = this.ctx;
    const qLen = q.length;
    const B = bucketK.length;
    const { probed } = probeAndMask(s, a.nCentroids, qLen, perToken, 0, undefined, undefined, kernels, rescore);
    const candidates = ivfUnion(a, probed, this.mark);
    const candTokens = tokensOf(a.doclens, candidates);
    // Probed-token rankings depend on the probes and the depth only: once per depth, timed (their cost estimate).
    const ptCache = new Map<number, { pt: Float32Array; kept: Int32Array; ms: number }>();
    const ptRanking = (depth: number): { pt: Float32Array; kept: Int32Array; ms: number } => {
      let r = ptCache.get(depth);
      if (r === undefined) {
        const t = performance.now();
        const ranked = probedTokenRanking(a, q, s, probed, candidates, depth, kernels);
        const ms = performance.now() - t;
        const pt = new Float32Array(a.doclens.length);
        for (let x = 0; x < ranked.pids.length; x++) pt[ranked.pids[x]!] = ranked.scores[x]!;
        ptCache.set(depth, (r = { pt, kept: ranked.pids, ms }));
      }
      return r;
    };
    const ids = new Map<object, number>();
    const idOf = (x: object): number => {
      let id = ids.get(x);
      if (id === undefined) ids.set(x, (id = ids.size));
      return id;
    };
    const steps = new Map<string, { pids: Int32Array; lookups: number; rankMs: number }>();
    const step = (key: string, run: () => { pids: Int32Array; lookups: number; rankMs: number }) => {
      let r = steps.get(key);
      if (r === undefined) steps.set(key, (r = run()));
      return r;
    };
    // The documents a selection ranks, and how many of each bucket's exhaustive top-k they hold.
    const judged = new Map<Int32Array, { scores: Float32Array; found: Int32Array }>();
    const judge = (pids: Int32Array): { scores: Float32Array; found: Int32Array } => {
      let r = judged.get(pids);
      if (r !== undefined) return r;
      const scores = new Float32Array(pids.length);
      for (let x = 0; x < pids.length; x++) scores[x] = exact[pids[x]!]!;
      const docs = topDocs(kernels, pids, scores, pidToDoc, this.best, this.touched, kMax);
      const f = new Int32Array(B);
      for (let b = 0; b < B; b++) {
        const k = bucketK[b]!;
        for (let x = 0; x < Math.min(k, docs.length); x++) {
          const rank = exactRank.get(docs[x]!);
          if (rank !== undefined && rank < k) f[b]!++;
        }
      }
      judged.set(pids, (r = { scores, found: f }));
      return r;
    };

    const out: Outcome[] = [];
    for (const [j, rule] of rules.entries()) {
      for (const depth of depthRules) {
        const ndocs = effectiveNdocs(depth.ndocs, qLen, depth.queryTokens ?? undefined);
        const ptRule = usesPt && rule.scoring === 'probed-tokens';
        const keepN = exactDepth(undefined, ndocs, ptRule);
        let sel: { pids: Int32Array; lookups: number; rankMs: number };
        if (ptRule) {
          // plaidSearch: no stage 2; the best probedTokenDepth · ndocs candidates by centroid estimates ranked by probed tokens.
          sel = step(`pt/${ndocs}`, () => {
            if (candidates.length <= keepN) return { pids: candidates, lookups: 0, rankMs: 0 };
            const r = ptRanking(probedTokenDepth(ndocs, keepN));
            return { pids: select(kernels, r.kept, r.pt, keepN), lookups: 0, rankMs: r.ms };
          });
        } else {
          const scores = pruned[j]!;
          const s2 = candidates.length > ndocs ? step(`s2/${idOf(scores)}/${ndocs}`, () => ({ pids: select(kernels, candidates, scores, ndocs), lookups: candTokens * qLen, rankMs: 0 })) : { pids: candidates, lookups: 0, rankMs: 0 };
          sel = s2.pids.length <= keepN ? s2 : step(`s3/${idOf(s2.pids)}/${keepN}`, () => ({ pids: select(kernels, s2.pids, full, keepN), lookups: s2.lookups + tokensOf(a.doclens, s2.pids) * qLen, rankMs: 0 }));
        }
        const { scores, found } = judge(sel.pids);
        out.push({ pids: sel.pids, scores, found, lookups: sel.lookups, rankMs: sel.rankMs, exactPairs: tokensOf(a.doclens, sel.pids) * qLen });
      }
    }
    return out;
  }
}
