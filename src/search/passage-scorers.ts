/**
 * Where passages get scored: on the calling thread (`LocalScorer`, synchronous, checking the
 * deadline every chunk) or on the index's worker pool (`pooledScorer`, the deadline's signal
 * passed to each task). Both answer the widening policy's requests (late-ranking.ts).
 */
import type { Kernels } from '../kernels/types.js';
import { exactScoresBy, exhaustiveScores, plaidSearch, scratchMarks, type DeadlineCheck, type EncodedQuery, type ScoringArrays } from './plaid.js';
import type { ScoreRequest, ScoredPassages } from './late-ranking.js';
import type { SearchPool } from './search-pool.js';
import type { Deadline } from './deadline.js';
import { warmUpScoring } from './warm-up.js';

export class LocalScorer {
  /** PLAID's scratch marks (one byte per passage), reused by every search on this thread. */
  private readonly mark: Uint8Array;
  /** 0..nPassages-1, the pids of an exhaustive scan (read-only, built once). */
  private allPids: Int32Array | null = null;

  constructor(
    readonly arrays: ScoringArrays,
    readonly kernels: Kernels,
  ) {
    this.mark = scratchMarks(arrays);
  }

  score(q: EncodedQuery, req: ScoreRequest, check?: DeadlineCheck): ScoredPassages {
    if (req.kind === 'exhaustive') {
      const scores = exhaustiveScores(this.arrays, q, this.kernels, check);
      this.allPids ??= Int32Array.from({ length: scores.length }, (_, i) => i);
      return { hits: { pids: this.allPids, scores }, timings: null };
    }
    return plaidSearch(this.arrays, q, req.params, this.kernels, req.marks ?? this.mark, check);
  }

  /** Pays this thread's one-time scoring setup (warm-up.ts). */
  warmUp(): void {
    warmUpScoring(this.arrays, this.kernels, this.mark);
  }

  /** Exact scores of a short list of passages (BM25-only hybrid candidates, stored-document rerank), by the exact-stage method in use. */
  exact(q: EncodedQuery, pids: Int32Array, check?: DeadlineCheck): Float32Array {
    return exactScoresBy(this.arrays, q, pids, this.kernels, check);
  }
}

/**
 * A scorer that runs each request on the pool: rejected at once when the deadline's signal fires,
 * and the workers stop scoring once its time has passed (so a timed-out search frees them).
 */
export function pooledScorer(pool: SearchPool, q: EncodedQuery, deadline: Deadline): (req: ScoreRequest) => Promise<ScoredPassages> {
  return async (req) => {
    if (req.kind === 'exhaustive') return { hits: await pool.exhaustive(q, deadline.signal, req.keep, deadline.epochMs), timings: null };
    return pool.plaid(q, req.params, deadline.signal, deadline.epochMs, req.marks);
  };
}
