/** ColBERT-PRF's options (the feedback itself runs in search/colbert-prf.ts, on the index's codes). */
import { PRF_DEFAULTS, PRF_LIMITS } from '../config/defaults.js';
import { invalidArgument } from '../errors/index.js';

export interface PrfOptions {
  /** Feedback documents, their best passages (default 3). */
  fbDocs?: number;
  /** Expansion embeddings appended to the query (default 10). */
  fbEmbeddings?: number;
  /** β: the expansion embeddings' mean weight, relative to a query token's weight of 1 (default PRF_DEFAULTS.beta). */
  beta?: number;
}

export type ResolvedPrf = Required<PrfOptions>;

export function resolvePrf(options: PrfOptions | true): ResolvedPrf {
  const o = options === true ? {} : options;
  const fbDocs = o.fbDocs ?? PRF_DEFAULTS.fbDocs;
  const fbEmbeddings = o.fbEmbeddings ?? PRF_DEFAULTS.fbEmbeddings;
  const beta = o.beta ?? PRF_DEFAULTS.beta;
  if (!Number.isInteger(fbDocs) || fbDocs < 1 || fbDocs > PRF_LIMITS.maxFbDocs) throw invalidArgument('prf.fbDocs', `an integer in [1, ${PRF_LIMITS.maxFbDocs}]`, fbDocs);
  if (!Number.isInteger(fbEmbeddings) || fbEmbeddings < 1 || fbEmbeddings > PRF_LIMITS.maxFbEmbeddings) throw invalidArgument('prf.fbEmbeddings', `an integer in [1, ${PRF_LIMITS.maxFbEmbeddings}]`, fbEmbeddings);
  if (typeof beta !== 'number' || !(beta >= 0 && beta <= PRF_LIMITS.maxBeta)) throw invalidArgument('prf.beta', `a number in [0, ${PRF_LIMITS.maxBeta}]`, beta);
  return { fbDocs, fbEmbeddings, beta };
}

