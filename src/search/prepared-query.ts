/**
 * An encoded query made ready for scoring: its dimension checked against the index and, when
 * asked, its per-token IDF weights (idf.ts) from the token document frequencies the index stores
 * (read once, on first use).
 */
import { PlaitError } from '../errors/index.js';
import type { DocStoreReader } from '../docstore/index.js';
import type { TokenEmbeddings } from '../encoder/types.js';
import { idfWeights, idfWeightsOf } from './idf.js';
import type { GlobalStats } from './search-options.js';
import type { EncodedQuery } from './plaid.js';

export class QueryPreparer {
  private df: { n: number; df: Int32Array } | null = null;

  constructor(
    private readonly dim: number,
    private readonly docstore: DocStoreReader,
  ) {}

  /**
   * `global`: the whole corpus's token dfs of this query's tokens (a cluster shard), used instead of the index's own.
   * @throws PlaitError DIMENSION_MISMATCH when the embedding's width is not the index's (or `global` does not match its tokens).
   */
  prepare(e: TokenEmbeddings, idf: boolean, global?: GlobalStats['tokenIdf']): EncodedQuery {
    if (e.vectors.length !== e.length * this.dim) {
      throw new PlaitError('DIMENSION_MISMATCH', { expected: this.dim, received: e.length === 0 ? 0 : e.vectors.length / e.length });
    }
    let weights: Float32Array | null = null;
    if (idf && global !== undefined) {
      if (global.df.length !== e.length) throw new PlaitError('DIMENSION_MISMATCH', { message: `global token dfs for ${global.df.length} tokens, the query has ${e.length}`, expected: e.length, received: global.df.length });
      weights = idfWeightsOf(global.df, global.passages);
    } else if (idf) {
      this.df ??= this.docstore.tokenDf();
      weights = idfWeights(e.tokenIds, this.df.df, this.df.n);
    }
    return { vectors: e.vectors, length: e.length, weights };
  }
}
