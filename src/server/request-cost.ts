/**
 * What a request costs admission (admission.ts): the document tokens it will encode, estimated
 * from its texts' length in characters (SERVER_DEFAULTS.charsPerToken), without tokenizing them on
 * the serving thread — the budget needs an order of magnitude, not the count. A rerank counts its
 * query and its documents (each cut at `max_tokens_per_doc` where given), an encode request and a
 * write their texts; a search or an explain counts 0 (one short query, on the index's own encoder).
 *
 * A cross-encoder runs one forward pass per (query, document) pair, so its work is the query's
 * tokens once per document, plus each document's, each pair cut at the model's window
 * (estimateCrossTokens). A staged pipeline's texts are not in the request: its cross stages score
 * the previous stage's shortlist (its depth, at most the index's documents), each document by one
 * passage, estimated at the index's mean passage length in tokens (its manifest's counts), so
 * `bm25:1000 > cross:20` counts ~1,000 pairs before it runs (estimatePipelineTokens). It had
 * counted 0, and ran beside a full budget of reranks.
 */
import { SERVER_DEFAULTS } from '../config/defaults.js';
import type { PipelineStage } from '../pipeline/pipeline-spec.js';

/**
 * Estimated tokens of `texts`: ⌈characters ÷ charsPerToken⌉ each, at most `maxTokensPerText` each
 * when given (≥ 1), summed. 0 for no texts; never negative.
 */
export function estimateTokens(texts: readonly string[], maxTokensPerText?: number): number {
  let sum = 0;
  for (const t of texts) {
    const n = Math.ceil(t.length / SERVER_DEFAULTS.charsPerToken);
    sum += maxTokensPerText !== undefined && maxTokensPerText >= 1 ? Math.min(n, maxTokensPerText) : n;
  }
  return sum;
}

/**
 * Estimated tokens a cross-encoder encodes to score `query` against each of `texts`: per pair the
 * query's tokens plus the text's, at most `maxPairTokens` (the model's window; absent: no cap).
 * 0 for no texts.
 */
export function estimateCrossTokens(query: string, texts: readonly string[], maxPairTokens?: number): number {
  const q = estimateTokens([query]);
  const cap = maxPairTokens !== undefined && maxPairTokens >= 1 ? maxPairTokens : Infinity;
  let sum = 0;
  for (const t of texts) sum += Math.min(q + estimateTokens([t]), cap);
  return sum;
}

/** What the estimate of a pipeline knows of its index and cross-encoder. */
export interface PipelineCostBasis {
  /** Documents in the index (a stage's shortlist is at most this many); ≥ 0. */
  documents: number;
  /** Mean tokens of a passage (the index's tokens ÷ passages); ≥ 0. */
  meanPassageTokens: number;
  /** The cross-encoder's window in tokens (a pair is cut to it); absent: no cap. */
  maxPairTokens?: number | undefined;
}

/**
 * Estimated tokens the cross stages of `stages` encode for `query`: for each cross stage,
 * min(previous stage's depth, documents) pairs of (query tokens + mean passage tokens), each at
 * most `maxPairTokens`. 0 when the pipeline has no cross stage (its other stages read stored
 * embeddings or postings, no encoder) or the index is empty.
 */
export function estimatePipelineTokens(stages: readonly PipelineStage[], query: string, basis: PipelineCostBasis): number {
  const q = estimateTokens([query]);
  const cap = basis.maxPairTokens !== undefined && basis.maxPairTokens >= 1 ? basis.maxPairTokens : Infinity;
  const perPair = Math.min(q + Math.ceil(Math.max(0, basis.meanPassageTokens)), cap);
  let sum = 0;
  for (let i = 1; i < stages.length; i++) {
    if (stages[i]!.stage !== 'cross') continue;
    sum += Math.min(stages[i - 1]!.depth, Math.max(0, basis.documents)) * perPair;
  }
  return sum;
}
