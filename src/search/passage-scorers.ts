/**
 * Where passages get scored: on the calling thread (`LocalScorer`, synchronous, checking the
 * deadline every chunk) or on the index's worker pool (`pooledScorer`, the deadline's signal
 * passed to each task). Both answer the widening policy's requests (late-ranking.ts).
 */
import type { Kernels } from '../kernels/types.js';
import { exactScores, exhaustiveScores, plaidSearch, type DeadlineCheck, type EncodedQuery, type ScoringArrays } from './plaid.js';
import type { ScoreRequest, ScoredPassages } from './late-ranking.js';
import type { SearchPool } from './search-pool.js';

function allPids(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

export class LocalScorer {
  /** PLAID's scratch marks (one byte per passage), reused by every search on this thread. */
  private readonly mark: Uint8Array;

  constructor(
    readonly arrays: ScoringArrays,
    readonly kernels: Kernels,
  ) {
    this.mark = new Uint8Array(arrays.doclens.length);
  }

  score(q: EncodedQuery, req: ScoreRequest, check?: DeadlineCheck): ScoredPassages {
    if (req.kind === 'exhaustive') {
      return { hits: { pids: allPids(this.arrays.doclens.length), scores: exhaustiveScores(this.arrays, q, this.kernels, check) }, timings: null };
    }
    return plaidSearch(this.arrays, q, req.params, this.kernels, this.mark, check);
  }

  /** Exact scores of a short list of passages (BM25-only hybrid candidates, stored-document rerank). */
  exact(q: EncodedQuery, pids: Int32Array, check?: DeadlineCheck): Float32Array {
    return exactScores(this.arrays, q, pids, this.kernels, check);
  }
}

/** A scorer that runs each request on the pool, abandoned (rejected at once) when `signal` fires. */
export function pooledScorer(pool: SearchPool, q: EncodedQuery, signal: AbortSignal | undefined): (req: ScoreRequest) => Promise<ScoredPassages> {
  return async (req) => {
    if (req.kind === 'exhaustive') return { hits: await pool.exhaustive(q, signal), timings: null };
    return pool.plaid(q, req.params, signal);
  };
}
