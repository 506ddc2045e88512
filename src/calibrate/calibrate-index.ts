/**
 * `calibrateIndex(index, options)`: measures PLAID on this index and stores the cheapest settings
 * that keep its promise (a share `target` of the exhaustive top-k, default 0.99) per k bucket.
 *
 *  1. Draw pseudo-queries from the corpus (keyword 2–4 words, titles, 6–20-word spans), or sample
 *     the user's query log; encode them once.
 *  2. For each query, within the time budget: exhaustive MaxSim (the oracle) and a replay of PLAID
 *     over the whole grid (src/calibrate/plaid-replay.ts: every grid point for ~2 exhaustive passes).
 *  3. Per bucket (k ≤ 10, ≤ 100, > 100), choose the cheapest point reaching the target on every
 *     kind of query (choose-settings.ts) among those under the cost ceiling (`maxCostRatio` × the
 *     defaults' estimated cost, and `maxLatencyMs`); plait's defaults (`plaidDefaultsFor`) are
 *     measured alongside and are always a candidate. Without a ceiling calibration chose settings
 *     that made PLAID on cisi cost nearly as much as exhaustive search (issue 27).
 *  4. Time the real `plaidSearch` at the chosen and default settings (p50), and write the record
 *     into the manifest (temporary file + rename). Search uses it from the next open.
 *
 * Cost: bounded by `budgetS` (80% for step 2, the rest for step 4; each step stops between
 * queries) and reported in the record (`costMs`, `queries`, `truncated`).
 */
import { CALIBRATION_DEFAULTS, INTERACTION_SCORINGS, PLAID_LIMITS, colbertDefaultsFor, plaidDefaultsFor, type PlaidParams } from '../config/defaults.js';
import { PlaitError, invalidArgument, checkShape } from '../errors/index.js';
import { writeCalibration, type CalibratedBucket, type IndexCalibration } from '../format/calibration-record.js';
import { contentCommitOf } from '../format/index-transaction.js';
import { getKernels } from '../kernels/index.js';
import { idfWeights } from '../search/idf.js';
import { plaidSearch, scratchMarks, type EncodedQuery } from '../search/plaid.js';
import type { PlaitIndex } from '../search/plait-index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { chooseSettings, FidelityTally } from './choose-settings.js';
import { PlaidReplayer, type ReplayGrid } from './plaid-replay.js';
import { checkSampleOptions, drawPseudoQueries, queryLogSample, type PseudoQuery } from './pseudo-queries.js';

export interface CalibrateOptions {
  /** Share of the exhaustive top-k to reach, in (0, 1] (default 0.99). */
  target?: number;
  /** Share of the miss budget 1 − target kept in reserve, in [0, 1) (default CALIBRATION_DEFAULTS.headroom). */
  headroom?: number;
  /** Time budget, seconds (default CALIBRATION_DEFAULTS.budgetS). */
  budgetS?: number;
  /** A query log to calibrate on instead of pseudo-queries drawn from the corpus. */
  queries?: readonly string[];
  /** Queries drawn or sampled (default CALIBRATION_DEFAULTS.queries). */
  count?: number;
  /** Seed of the sample, an integer in [0, CALIBRATION_DEFAULTS.maxSeed] (default CALIBRATION_DEFAULTS.seed). */
  seed?: number;
  /**
   * Grid of settings (default CALIBRATION_DEFAULTS.grid); ColBERT's defaults are always added. Each
   * list non-empty, of values a search takes for that setting, finite (GRID_RULES); INVALID_ARGUMENT
   * naming `grid.<name>` otherwise.
   */
  grid?: Partial<ReplayGrid>;
  /**
   * Cost ceiling: the chosen settings' estimated cost per query may be at most this multiple of the
   * defaults' (plaidDefaultsFor, same queries, same estimate), > 0; Infinity lifts it (default
   * CALIBRATION_DEFAULTS.maxCostRatio). When nothing under the ceiling reaches the target, the most
   * faithful point under it is stored, marked not reached and `capped`.
   */
  maxCostRatio?: number;
  /** Cost ceiling in estimated milliseconds per query (PLAID stages 1–4 on this machine), > 0; default none. */
  maxLatencyMs?: number;
  /** Write the record into the manifest (default true). */
  write?: boolean;
  /** Milliseconds clock the budget is checked against (default performance.now); read once per unit of work. */
  clock?: () => number;
  onProgress?: (p: { phase: 'replay' | 'timing'; done: number; total: number }) => void;
}

export interface CalibrationResult {
  calibration: IndexCalibration;
  /** Units of work done: queries replayed over the grid, and timed PLAID searches. */
  work: { replayed: number; timed: number };
}

const BUCKET_MAX: Array<number | null> = [10, 100, null];
/** Share of the budget for the replay; the rest times the chosen settings. */
const REPLAY_SHARE = 0.8;

/** The grid with every value of plait's and ColBERT's defaults added, so both are grid points. */
function withDefaults(grid: ReplayGrid, bucketK: readonly number[]): ReplayGrid {
  const add = <T>(xs: readonly T[], x: T): T[] => (xs.includes(x) ? [...xs] : [...xs, x]);
  // ColBERT's rules (null) are always measured, for ColBERT's defaults.
  let g: Required<ReplayGrid> = {
    nIvfProbe: [...grid.nIvfProbe],
    centroidScoreThreshold: [...grid.centroidScoreThreshold],
    ndocs: [...grid.ndocs],
    centroidScoreMargin: add(grid.centroidScoreMargin ?? [], null),
    nIvfProbeTotal: add(grid.nIvfProbeTotal ?? [], null),
    ndocsQueryTokens: add(grid.ndocsQueryTokens ?? [], null),
    interactionScoring: add(grid.interactionScoring ?? [], null),
  };
  for (const k of bucketK) {
    for (const d of [plaidDefaultsFor(k), colbertDefaultsFor(k)]) {
      g = {
        nIvfProbe: add(g.nIvfProbe, d.nIvfProbe),
        centroidScoreThreshold: add(g.centroidScoreThreshold, d.centroidScoreThreshold),
        ndocs: add(g.ndocs, d.ndocs),
        centroidScoreMargin: add(g.centroidScoreMargin, d.centroidScoreMargin ?? null),
        nIvfProbeTotal: add(g.nIvfProbeTotal, d.nIvfProbeTotal ?? null),
        ndocsQueryTokens: add(g.ndocsQueryTokens, d.ndocsQueryTokens ?? null),
        interactionScoring: add(g.interactionScoring, d.interactionScoring ?? null),
      };
    }
  }
  const nullFirst = (xs: readonly (number | null)[]): (number | null)[] => [null, ...xs.filter((x): x is number => x !== null).sort((a, b) => a - b)];
  return {
    nIvfProbe: [...g.nIvfProbe].sort((a, b) => a - b),
    centroidScoreThreshold: [...g.centroidScoreThreshold].sort((a, b) => b - a),
    ndocs: [...g.ndocs].sort((a, b) => a - b),
    centroidScoreMargin: nullFirst(g.centroidScoreMargin),
    nIvfProbeTotal: nullFirst(g.nIvfProbeTotal),
    ndocsQueryTokens: nullFirst(g.ndocsQueryTokens),
    interactionScoring: [null, ...g.interactionScoring.filter((x) => x !== null)],
  };
}

function pointOf(points: readonly PlaidParams[], p: PlaidParams): number {
  return points.findIndex((x) => x.nIvfProbe === p.nIvfProbe && x.centroidScoreThreshold === p.centroidScoreThreshold && x.ndocs === p.ndocs && x.centroidScoreMargin === p.centroidScoreMargin && x.nIvfProbeTotal === p.nIvfProbeTotal && x.ndocsQueryTokens === p.ndocsQueryTokens && x.interactionScoring === p.interactionScoring);
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

const isCount = (x: unknown): boolean => Number.isInteger(x) && (x as number) >= 1 && (x as number) <= PLAID_LIMITS.maxCount;
const isFinite = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x);

/**
 * What each grid list may hold: the values a search takes for the same setting (search-options.ts
 * resolveSearch), and finite, since the chosen point is stored in the manifest as JSON (Infinity
 * would be read back as null). The chosen point is what every later search of the index runs with,
 * so a value a search refuses made every search fail: `grid: { centroidScoreMargin: [-1] }` was
 * stored, and each search then threw "Expected a number >= 0 for centroidScoreMargin" — an option
 * the caller never gave. Nulls (ColBERT's rule) are allowed where the setting is optional.
 */
const GRID_RULES: { [K in keyof ReplayGrid]-?: { expected: string; ok: (x: unknown) => boolean; optional: boolean } } = {
  nIvfProbe: { expected: `a non-empty list of integers in [1, ${PLAID_LIMITS.maxCount}]`, ok: isCount, optional: false },
  centroidScoreThreshold: { expected: 'a non-empty list of finite numbers', ok: isFinite, optional: false },
  ndocs: { expected: `a non-empty list of integers in [1, ${PLAID_LIMITS.maxCount}]`, ok: isCount, optional: false },
  centroidScoreMargin: { expected: 'a non-empty list of finite numbers >= 0 (or null: none)', ok: (x) => isFinite(x) && (x as number) >= 0, optional: true },
  nIvfProbeTotal: { expected: `a non-empty list of integers in [1, ${PLAID_LIMITS.maxCount}] (or null: none)`, ok: isCount, optional: true },
  ndocsQueryTokens: { expected: `a non-empty list of integers in [1, ${PLAID_LIMITS.maxCount}] (or null: none)`, ok: isCount, optional: true },
  interactionScoring: { expected: `a non-empty list of ${INTERACTION_SCORINGS.map((x) => `"${x}"`).join(', ')} (or null: centroids)`, ok: (x) => (INTERACTION_SCORINGS as readonly unknown[]).includes(x), optional: true },
};

/** @throws PlaitError INVALID_ARGUMENT naming `grid.<name>` when a list given is empty or holds a value its GRID_RULES refuse */
function checkGrid(grid: Partial<ReplayGrid> | undefined): void {
  if (grid === undefined) return;
  for (const name of Object.keys(GRID_RULES) as (keyof ReplayGrid)[]) {
    const xs: unknown = grid[name];
    if (xs === undefined) continue;
    const rule = GRID_RULES[name];
    if (!Array.isArray(xs) || xs.length === 0 || xs.some((x) => !(rule.ok(x) || (rule.optional && x === null)))) throw invalidArgument(`grid.${name}`, rule.expected, xs);
  }
}

/** The keys of CalibrateOptions: any other is refused (`maxCostRation: 2` used to calibrate under the default ceiling of 3 and write the record). */
const CALIBRATE_OPTION_KEYS = {
  target: true,
  headroom: true,
  budgetS: true,
  queries: true,
  count: true,
  seed: true,
  grid: true,
  maxCostRatio: true,
  maxLatencyMs: true,
  write: true,
  clock: true,
  onProgress: true,
} as const satisfies OptionKeys<CalibrateOptions>;
const GRID_KEYS = {
  nIvfProbe: true,
  centroidScoreThreshold: true,
  ndocs: true,
  centroidScoreMargin: true,
  nIvfProbeTotal: true,
  ndocsQueryTokens: true,
  interactionScoring: true,
} as const satisfies OptionKeys<ReplayGrid>;

/**
 * Calibrates an open index (see the module header); writes the record unless `write: false`.
 * @throws PlaitError INVALID_ARGUMENT (an unknown option key, with the nearest known one; a value out of range), before any work.
 */
export async function calibrateIndex(index: PlaitIndex, options: CalibrateOptions = {}): Promise<CalibrationResult> {
  checkOptionKeys(options, CALIBRATE_OPTION_KEYS, 'calibrateIndex option');
  checkShape('index', index, 'an open PlaitIndex (from openIndex)', ['manifest', 'docstore']);
  checkOptionKeys(options.grid, GRID_KEYS, 'calibrateIndex grid option');
  const clock = options.clock ?? (() => performance.now());
  const started = clock();
  const wallStart = performance.now();
  const target = options.target ?? CALIBRATION_DEFAULTS.target;
  if (!(target > 0 && target <= 1)) throw invalidArgument('target', 'a number in (0, 1]', target);
  const headroom = options.headroom ?? CALIBRATION_DEFAULTS.headroom;
  if (!(headroom >= 0 && headroom < 1)) throw invalidArgument('headroom', 'a number in [0, 1)', headroom);
  const required = target + headroom * (1 - target);
  const budgetS = options.budgetS ?? CALIBRATION_DEFAULTS.budgetS;
  if (!(budgetS > 0) || !Number.isFinite(budgetS)) throw invalidArgument('budgetS', 'a positive number of seconds', budgetS);
  const budgetMs = budgetS * 1000;
  const maxCostRatio = options.maxCostRatio ?? CALIBRATION_DEFAULTS.maxCostRatio;
  if (!(maxCostRatio > 0)) throw invalidArgument('maxCostRatio', 'a positive number (Infinity for no ceiling)', maxCostRatio);
  const maxLatencyMs = options.maxLatencyMs ?? Infinity;
  if (!(maxLatencyMs > 0)) throw invalidArgument('maxLatencyMs', 'a positive number of milliseconds', maxLatencyMs);
  const count = options.count ?? CALIBRATION_DEFAULTS.queries;
  checkSampleOptions({ count, seed: options.seed });
  checkGrid(options.grid);
  const base = CALIBRATION_DEFAULTS.grid;
  const userGrid: ReplayGrid = {
    nIvfProbe: options.grid?.nIvfProbe ?? base.nIvfProbe,
    centroidScoreThreshold: options.grid?.centroidScoreThreshold ?? base.centroidScoreThreshold,
    ndocs: options.grid?.ndocs ?? base.ndocs,
    centroidScoreMargin: options.grid?.centroidScoreMargin ?? base.centroidScoreMargin,
    nIvfProbeTotal: options.grid?.nIvfProbeTotal ?? base.nIvfProbeTotal,
    ndocsQueryTokens: options.grid?.ndocsQueryTokens ?? base.ndocsQueryTokens,
    interactionScoring: options.grid?.interactionScoring ?? base.interactionScoring,
  };

  const manifest = index.manifest;
  const nDocs = manifest.counts.documents;
  const bucketK = CALIBRATION_DEFAULTS.bucketK.map((k) => Math.max(1, Math.min(k, nDocs)));
  const grid = withDefaults(userGrid, CALIBRATION_DEFAULTS.bucketK);

  // 1. Queries.
  const seed = options.seed ?? CALIBRATION_DEFAULTS.seed;
  const pseudo: PseudoQuery[] =
    options.queries !== undefined ? queryLogSample(options.queries, { count, seed }) : drawPseudoQueries(index.docstore, { count, seed });
  if (pseudo.length === 0) throw new PlaitError('INVALID_INPUT', { message: 'no queries to calibrate with (the corpus has no usable text, or the query log is empty)' });
  const encoder = await index.encoder();
  const embeddings = await encoder.encodeQueries(pseudo.map((q) => q.text));
  const idf = index.resolveSearch({ mode: 'late' }).idf;
  const df = idf ? index.docstore.tokenDf() : null;
  const encoded: EncodedQuery[] = embeddings.map((e) => ({ vectors: e.vectors, length: e.length, weights: df === null ? null : idfWeights(e.tokenIds, df.df, df.n) }));

  // 2. Replay.
  const kernels = getKernels();
  const arrays = index.scoringArrays;
  const replayer = new PlaidReplayer({ arrays, kernels, pidToDoc: index.docstore.pidToDoc, docSpan: index.docstore.rowidSpan, grid, bucketK });
  const points = replayer.points;
  const tally = new FidelityTally(points.length, bucketK.length);
  let replayed = 0;
  let truncated = false;
  for (let i = 0; i < encoded.length; i++) {
    if (clock() - started >= REPLAY_SHARE * budgetMs) {
      truncated = true;
      break;
    }
    if (encoded[i]!.length === 0) continue;
    const r = replayer.replay(encoded[i]!);
    tally.add(pseudo[i]!.kind, r.found, r.total, r.estMs);
    replayed = i + 1;
    options.onProgress?.({ phase: 'replay', done: i + 1, total: encoded.length });
  }
  if (tally.nQueries === 0) throw new PlaitError('INVALID_ARGUMENT', { message: `a budget of ${budgetS} s did not cover one query; give a larger budget`, budgetS });

  // 3. Choice.
  // Points outside the caller's grid (ColBERT's defaults, always measured) are not chosen.
  const inGrid = (xs: readonly (number | null)[] | undefined, x: number | undefined): boolean => (xs ?? [null]).includes(x ?? null);
  const eligible = points.map(
    (p) =>
      userGrid.nIvfProbe.includes(p.nIvfProbe) &&
      userGrid.centroidScoreThreshold.includes(p.centroidScoreThreshold) &&
      userGrid.ndocs.includes(p.ndocs) &&
      inGrid(userGrid.nIvfProbeTotal, p.nIvfProbeTotal) &&
      inGrid(userGrid.centroidScoreMargin, p.centroidScoreMargin) &&
      inGrid(userGrid.ndocsQueryTokens, p.ndocsQueryTokens) &&
      (userGrid.interactionScoring ?? [null]).includes(p.interactionScoring ?? null),
  );
  const defaults = CALIBRATION_DEFAULTS.bucketK.map((k) => plaidDefaultsFor(k));
  const defaultPoints = defaults.map((d) => pointOf(points, d));
  const uncapped = chooseSettings(points, tally, required, CALIBRATION_DEFAULTS.minQueriesPerKind, eligible);
  // The ceiling, per bucket: relative to that bucket's defaults, and absolute; the defaults always qualify.
  const choices = defaultPoints.map((dp, b) => {
    const ceiling = Math.min(maxCostRatio * tally.meanEstMs(dp), maxLatencyMs);
    const under = points.map((_, p) => p === dp || (eligible[p] === true && tally.meanEstMs(p) <= ceiling));
    return chooseSettings(points, tally, required, CALIBRATION_DEFAULTS.minQueriesPerKind, under)[b]!;
  });

  // 4. Time the real plaidSearch at chosen and default settings, interleaved query by query.
  const settings = [...choices.map((c) => c.params), ...defaults];
  const times: number[][] = settings.map(() => []);
  const mark = scratchMarks(arrays); // deleted passages pre-marked, as search does
  let timed = 0;
  for (let i = 0; i < replayed; i++) {
    if (i >= 3 && clock() - started >= budgetMs) {
      truncated = true;
      break;
    }
    const q = encoded[i]!;
    if (q.length === 0) continue;
    for (let s = 0; s < settings.length; s++) {
      const t = performance.now();
      plaidSearch(arrays, q, settings[s]!, kernels, mark);
      times[s]!.push(performance.now() - t);
      timed++;
    }
    options.onProgress?.({ phase: 'timing', done: i + 1, total: replayed });
  }

  const queriesByKind: Record<string, number> = Object.fromEntries(tally.queries);
  const buckets: CalibratedBucket[] = choices.map((c, b) => ({
    maxTopK: BUCKET_MAX[b] ?? null,
    k: bucketK[b]!,
    params: c.params,
    fidelity: c.fidelity,
    fidelityByKind: c.fidelityByKind,
    p50Ms: median(times[b]!),
    estMs: c.estMs,
    reached: c.reached,
    capped: uncapped[b]!.point !== c.point,
    defaults: {
      params: defaults[b]!,
      fidelity: tally.fidelity(defaultPoints[b]!, b),
      fidelityByKind: tally.fidelityByKind(defaultPoints[b]!, b),
      p50Ms: median(times[choices.length + b]!),
      estMs: tally.meanEstMs(defaultPoints[b]!),
    },
  }));
  const calibration: IndexCalibration = {
    createdAt: new Date().toISOString(),
    target,
    required,
    source: options.queries !== undefined ? 'query-log' : 'corpus',
    queries: tally.nQueries,
    queriesByKind,
    gridPoints: points.length,
    costMs: performance.now() - wallStart,
    budgetMs,
    truncated,
    costCeiling: { maxCostRatio: Number.isFinite(maxCostRatio) ? maxCostRatio : null, maxLatencyMs: Number.isFinite(maxLatencyMs) ? maxLatencyMs : null },
    documents: nDocs,
    passages: manifest.counts.passages,
    buckets,
  };
  if (options.write ?? true) {
    // Committed only on top of the content it measured (INDEX_CHANGED when a write came in between).
    const committed = writeCalibration(index.path, calibration, { measured: contentCommitOf(manifest) });
    manifest.calibration = calibration;
    manifest.generation = committed.generation;
    manifest.commit = committed.commit;
    manifest.contentCommit = committed.contentCommit;
  }
  return { calibration, work: { replayed: tally.nQueries, timed } };
}
