/** ColBERT-PRF's options (the feedback itself runs in search/colbert-prf.ts, on the index's codes). */
import { PRF_DEFAULTS } from '../config/defaults.js';
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
  if (!Number.isInteger(fbDocs) || fbDocs < 1 || fbDocs > 100) throw invalidArgument('prf.fbDocs', 'an integer in [1, 100]', fbDocs);
  if (!Number.isInteger(fbEmbeddings) || fbEmbeddings < 1 || fbEmbeddings > 128) throw invalidArgument('prf.fbEmbeddings', 'an integer in [1, 128]', fbEmbeddings);
  if (!(beta >= 0 && beta <= 10)) throw invalidArgument('prf.beta', 'a number in [0, 10]', beta);
  return { fbDocs, fbEmbeddings, beta };
}

