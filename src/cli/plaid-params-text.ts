/**
 * PLAID settings in words, one way everywhere the CLI prints them (`plait search --timings`,
 * `plait calibrate`, `plait info`): each field that a search ran with, including the query-level
 * rules of plait's defaults (probe floor, pruning margin, probed-token ranking), so that what is
 * printed is what ran.
 */
import { plural } from '../util/plural.js';
import { CANDIDATE_DEFAULTS, type PlaidParams } from '../config/defaults.js';
import type { LateRound } from '../search/late-ranking.js';
import { groupDigits } from '../util/group-digits.js';

export function describePlaidParams(p: PlaidParams): string {
  return (
    `ncells ${p.nIvfProbe} per query token${p.nIvfProbeTotal === undefined ? '' : ` (at least ${p.nIvfProbeTotal} per query)`}` +
    `, threshold ${p.centroidScoreThreshold}${p.centroidScoreMargin === undefined ? '' : ` or within ${p.centroidScoreMargin} of a token's best`}` +
    `, ndocs ${p.ndocs}${p.ndocsQueryTokens === undefined ? '' : ` (× ${p.ndocsQueryTokens}/qLen for queries under ${p.ndocsQueryTokens} tokens)`}` +
    (p.interactionScoring === 'probed-tokens' ? `, candidates ranked by probed tokens where the query's estimate walk is at most ${groupDigits(CANDIDATE_DEFAULTS.probedTokensMaxWalk)} IVF entries` : '')
  );
}

/**
 * The rounds of late ranking in words (`plait search --timings`) when there were several: each
 * round's cost (its ms, candidates and PLAID stage times), and for each round after the first what
 * it ran with (late-ranking.ts: ×4 ncells and ndocs, pruning off) or the exact scan that ended it;
 * the first round's settings are printed before it. '' when the first round was the only one. A
 * filter's exact scan, which replaces PLAID, is said by describeRound alone.
 */
export function describeLaterRounds(rounds: readonly LateRound[]): string {
  if (rounds.length <= 1) return '';
  const each = rounds.map((r, i) => (i === 0 ? `round 1 ${roundCost(r)}` : `round ${i + 1} ${describeRound(r)} ${roundCost(r)}`));
  return `; ${rounds.length} rounds (fewer than k documents survived): ${each.join('; ')}`;
}

/** One round, short: PLAID's settings that widening changes, or the scan. */
export function describeRound(r: LateRound): string {
  if (r.kind === 'exhaustive') return 'exact scan of every passage';
  if (r.kind === 'filtered-exact') return `exact scan of the filter's ${plural(r.passages, 'passage')} (no PLAID)`;
  const p = r.params;
  const pruning = p.centroidScoreThreshold === -Infinity ? 'no pruning' : `threshold ${p.centroidScoreThreshold}`;
  return `PLAID ncells ${p.nIvfProbe}, ${pruning}, ndocs ${p.ndocs}`;
}

/**
 * What one round cost, in parentheses: "(1114 candidates, 15.8 ms: candidates 5.6, prune 0.0,
 * interaction 9.9, exact 0.1)" for PLAID, "(12.3 ms)" for a scan. With several rounds the search's
 * top-level stage timings are only the last round's, so each round says its own.
 */
function roundCost(r: LateRound): string {
  const ms = r.ms.toFixed(1);
  if (r.kind !== 'plaid') return `(${ms} ms)`;
  const stages = `candidates ${r.candidatesMs.toFixed(1)}, prune ${r.pruneMs.toFixed(1)}, interaction ${r.interactionMs.toFixed(1)}, exact ${r.exactMs.toFixed(1)}`;
  return `(${r.candidates} candidates, ${ms} ms: ${stages})`;
}
