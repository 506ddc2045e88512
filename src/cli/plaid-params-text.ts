/**
 * PLAID settings in words, one way everywhere the CLI prints them (`plait search --timings`,
 * `plait calibrate`, `plait info`): each field that a search ran with, including the query-level
 * rules of plait's defaults (probe floor, pruning margin, probed-token ranking), so that what is
 * printed is what ran.
 */
import { CANDIDATE_DEFAULTS, type PlaidParams } from '../config/defaults.js';
import type { LateRound } from '../search/late-ranking.js';

export function describePlaidParams(p: PlaidParams): string {
  return (
    `ncells ${p.nIvfProbe} per query token${p.nIvfProbeTotal === undefined ? '' : ` (at least ${p.nIvfProbeTotal} per query)`}` +
    `, threshold ${p.centroidScoreThreshold}${p.centroidScoreMargin === undefined ? '' : ` or within ${p.centroidScoreMargin} of a token's best`}` +
    `, ndocs ${p.ndocs}${p.ndocsQueryTokens === undefined ? '' : ` (× ${p.ndocsQueryTokens}/qLen for queries under ${p.ndocsQueryTokens} tokens)`}` +
    (p.interactionScoring === 'probed-tokens' ? `, candidates ranked by probed tokens where the query's estimate walk is at most ${CANDIDATE_DEFAULTS.probedTokensMaxWalk.toLocaleString('en-US')} IVF entries` : '')
  );
}

/**
 * The rounds of late ranking after the first, in words (`plait search --timings`): what each
 * widening round ran with (late-ranking.ts: ×4 ncells and ndocs, pruning off) or the exact scan that
 * ended it; '' when the first round was the only one. A filter's exact scan, which replaces PLAID,
 * is said by describeFirstRound.
 */
export function describeLaterRounds(rounds: readonly LateRound[]): string {
  if (rounds.length <= 1) return '';
  const later = rounds.slice(1).map((r, i) => `round ${i + 2} ${describeRound(r)}`);
  return `; ${rounds.length} rounds (fewer than k documents survived): ${later.join('; ')}`;
}

/** One round, short: PLAID's settings that widening changes, its candidates, or the scan. */
export function describeRound(r: LateRound): string {
  if (r.kind === 'exhaustive') return 'exact scan of every passage';
  if (r.kind === 'filtered-exact') return `exact scan of the filter's ${r.passages} passages (no PLAID)`;
  const p = r.params;
  const pruning = p.centroidScoreThreshold === -Infinity ? 'no pruning' : `threshold ${p.centroidScoreThreshold}`;
  return `PLAID ncells ${p.nIvfProbe}, ${pruning}, ndocs ${p.ndocs} (${r.candidates} candidates)`;
}
