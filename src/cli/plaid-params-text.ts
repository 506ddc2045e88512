/**
 * PLAID settings in words, one way everywhere the CLI prints them (`plait search --timings`,
 * `plait calibrate`, `plait info`): each field that a search ran with, including the query-level
 * rules of plait's defaults (probe floor, pruning margin, probed-token ranking), so that what is
 * printed is what ran.
 */
import { CANDIDATE_DEFAULTS, type PlaidParams } from '../config/defaults.js';

export function describePlaidParams(p: PlaidParams): string {
  return (
    `ncells ${p.nIvfProbe} per query token${p.nIvfProbeTotal === undefined ? '' : ` (at least ${p.nIvfProbeTotal} per query)`}` +
    `, threshold ${p.centroidScoreThreshold}${p.centroidScoreMargin === undefined ? '' : ` or within ${p.centroidScoreMargin} of a token's best`}` +
    `, ndocs ${p.ndocs}${p.ndocsQueryTokens === undefined ? '' : ` (× ${p.ndocsQueryTokens}/qLen for queries under ${p.ndocsQueryTokens} tokens)`}` +
    (p.interactionScoring === 'probed-tokens' ? `, candidates ranked by probed tokens where the query's estimate walk is at most ${CANDIDATE_DEFAULTS.probedTokensMaxWalk.toLocaleString('en-US')} IVF entries` : '')
  );
}
