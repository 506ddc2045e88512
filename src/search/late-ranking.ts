/**
 * Late-interaction document ranking and its widening policy. PLAID's survivors are passages; after
 * collapsing them per document there may be fewer than the page needs (a few long documents fill
 * the candidate pool, or a tiny index). Then the search widens as a user would: ×4 nIvfProbe and
 * ndocs, pruning off, for SEARCH_DEFAULTS.wideningRounds rounds, and finally scores every passage.
 *
 * The policy is a generator that asks for scored passages (`ScoreRequest`) and decides from the
 * answer; it knows nothing of threads. `rankLate` answers on the calling thread (synchronous, for
 * `searchEncoded`), `rankLateAsync` through any async scorer — the worker pool, so a widened or
 * exhaustive round never falls back onto the main thread when the index has workers.
 */
import { SEARCH_DEFAULTS, type PlaidParams } from '../config/defaults.js';
import type { PassageHits, PlaidTimings } from './plaid.js';
import type { ResolvedSearch } from './search-options.js';
import type { CollapsedDocs, DocPassages } from './doc-passages.js';

/** A round of the policy: PLAID with these settings, or an exact scan keeping the best `keep` passages. */
export type ScoreRequest = { kind: 'plaid'; params: PlaidParams; marks?: Uint8Array } | { kind: 'exhaustive'; keep: number };

export interface ScoredPassages {
  hits: PassageHits;
  /** PLAID's stage timings (null for an exhaustive scan). */
  timings: PlaidTimings | null;
}

/**
 * The widening policy: asks for passages until their documents number `want` (or every passage
 * was scored), then returns the best `k` documents. `everyDocument`: the page covers every
 * document (k ≥ the index's documents), which only the exhaustive scan finds — it runs at once,
 * instead of after the PLAID rounds that could not have been enough (cisi `-k 5000`: 4 rounds).
 */
export function* latePlan(
  r: ResolvedSearch,
  want: number,
  k: number,
  docs: DocPassages,
  allowed: Uint8Array | null = null,
  marks?: Uint8Array,
  everyDocument = false,
): Generator<ScoreRequest, CollapsedDocs, ScoredPassages> {
  let params = r.plaid;
  for (let round = 0; ; round++) {
    const exhaustive = r.exhaustive || everyDocument || round > SEARCH_DEFAULTS.wideningRounds;
    // A metadata filter (`allowed`, by doc rowid) keeps every passage of an exact scan: the best
    // k·m passages overall may hold none of the allowed documents.
    const keep = allowed === null ? docs.passagesCovering(k) : docs.passageCount;
    // `marks` (a filter's): passages pre-marked so that PLAID's candidate generation skips them.
    const { hits } = yield exhaustive ? { kind: 'exhaustive', keep } : marks === undefined ? { kind: 'plaid', params } : { kind: 'plaid', params, marks };
    const collapsed = docs.collapse(hits.pids, hits.scores, k, allowed);
    if (collapsed.distinct >= want || exhaustive) return collapsed;
    // Wider in every stage; query-length-aware probing and depth (calibration's rules) stay on.
    params = { ...params, nIvfProbe: params.nIvfProbe * 4, centroidScoreThreshold: -Infinity, ndocs: params.ndocs * 4 };
  }
}

/**
 * One round of late ranking as it ran (SearchTimings.rounds): PLAID with the settings the round
 * used (the first round's are the resolved search's; each widening round ×4 nIvfProbe and ndocs,
 * pruning off), its stage timings and candidate count; an exact scan of every passage (the policy's
 * last resort, or an exhaustive search); or the exact scan of a filter's allowed passages that
 * replaces PLAID for a selective filter (filtered-search.ts exactFilter). `ms`: the round's
 * scoring time. A ColBERT-PRF search ranks twice: the second ranking's rounds follow the first's.
 */
export type LateRound =
  | ({ kind: 'plaid'; params: PlaidParams; ms: number } & PlaidTimings)
  | { kind: 'exhaustive'; ms: number }
  | { kind: 'filtered-exact'; passages: number; ms: number };

/** Where rankLate records: the last PLAID round's stage timings at the top, every round in `rounds`. */
export type LateTimings = Partial<PlaidTimings> & { rounds?: LateRound[] };

/** Appends a round to `timings.rounds`; a PLAID round's stage timings also become the top-level ones (the last round's). */
export function recordRound(timings: LateTimings, round: LateRound): void {
  (timings.rounds ??= []).push(round);
  if (round.kind === 'plaid') {
    const { candidatesMs, pruneMs, interactionMs, exactMs, candidates } = round;
    Object.assign(timings, { candidatesMs, pruneMs, interactionMs, exactMs, candidates });
  }
}

function roundOf(req: ScoreRequest, scored: ScoredPassages, ms: number): LateRound {
  return req.kind === 'plaid' && scored.timings !== null ? { kind: 'plaid', params: req.params, ms, ...scored.timings } : { kind: 'exhaustive', ms };
}

/** Runs the plan with a synchronous scorer; each round is recorded in `timings` (recordRound). */
export function rankLate(plan: Generator<ScoreRequest, CollapsedDocs, ScoredPassages>, score: (req: ScoreRequest) => ScoredPassages, timings: LateTimings): CollapsedDocs {
  let step = plan.next();
  while (step.done !== true) {
    const t = performance.now();
    const scored = score(step.value);
    recordRound(timings, roundOf(step.value, scored, performance.now() - t));
    step = plan.next(scored);
  }
  return step.value;
}

/** Runs the plan with an asynchronous scorer (the worker pool); each round is recorded in `timings` (recordRound). */
export async function rankLateAsync(
  plan: Generator<ScoreRequest, CollapsedDocs, ScoredPassages>,
  score: (req: ScoreRequest) => Promise<ScoredPassages>,
  timings: LateTimings,
): Promise<CollapsedDocs> {
  let step = plan.next();
  while (step.done !== true) {
    const t = performance.now();
    const scored = await score(step.value);
    recordRound(timings, roundOf(step.value, scored, performance.now() - t));
    step = plan.next(scored);
  }
  return step.value;
}
