/**
 * What a request costs admission (admission.ts): the document tokens it will encode, estimated
 * from its texts' length in characters (SERVER_DEFAULTS.charsPerToken), without tokenizing them on
 * the serving thread — the budget needs an order of magnitude, not the count. A rerank counts its
 * query and its documents (each cut at `max_tokens_per_doc` where given), an encode request and a
 * write their texts; a search or an explain counts 0 (one short query, on the index's own encoder).
 */
import { SERVER_DEFAULTS } from '../config/defaults.js';

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
