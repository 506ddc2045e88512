/**
 * Why a ranking model scores a document as it does for a query: the document's features (computed
 * over the model's candidate list, as the ltr stage computes them) and each feature's contribution
 * to the score by per-tree path gains (tree-model.ts; bias + contributions = score).
 *
 * On one index (a PlaitIndex) or on any `PipelineIndex`: a cluster's coordinator explains over
 * `ClusterIndex.pipelineIndex()`, the candidates from the cluster's pipeline, the features from the
 * documents' shards with the corpus statistics, the model run here — so the explanation equals the
 * single index's over the same documents and codebook (test/cluster-coordinator.test.ts). A shard
 * missing from the candidates or the features fails it (CLUSTER_UNAVAILABLE naming the shards):
 * ranks and features from part of the corpus are not the corpus's.
 */
import { SEARCH_PIPELINE_OPTION_KEYS, SearchPipeline, pipelineOptionsOf, type SearchPipelineOptions } from '../pipeline/search-pipeline.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { PlaitIndex } from '../search/plait-index.js';
import type { PipelineIndex } from '../pipeline/pipeline-index.js';
import { LTR_DEFAULTS } from '../config/defaults.js';
import { PlaitError, checkSignal, checkShape, checkString } from '../errors/index.js';
import { throwIfAborted } from '../search/deadline.js';
import type { LtrExplanation, LtrModel } from './ltr-model.js';

export interface LtrDocExplanation extends LtrExplanation {
  query: string;
  docId: string;
  /** The candidate pipeline the features were computed over (the model's unless another was given). */
  candidates: string;
  /** False when the candidate pipeline did not return the document: it was added last to the list. */
  inCandidates: boolean;
  /** The document's rank under the model among the candidates (1-based). */
  rank: number;
}

/**
 * `candidates`: the candidate pipeline (default: the model's); `signal`: cancels the candidate
 * search (checked first, before anything loads: ABORTED, or TIMEOUT for `AbortSignal.timeout()`).
 */
export type ExplainLtrOptions = Omit<SearchPipelineOptions, 'ltrModel'> & { candidates?: string; signal?: AbortSignal };
const { ltrModel: _ltrModel, ...EXPLAIN_PIPELINE_KEYS } = SEARCH_PIPELINE_OPTION_KEYS;
const EXPLAIN_LTR_OPTION_KEYS = { ...EXPLAIN_PIPELINE_KEYS, candidates: true, signal: true } as const satisfies OptionKeys<ExplainLtrOptions>;

/**
 * The explanation of `model`'s score of document `docId` for `query`: bias + Σ contributions = score,
 * the score an ltr stage after the same candidates gives it (`plait explain --ltr-model`, HTTP explain's `ltr`).
 * `index`: one index, or a PipelineIndex (a cluster coordinator's `ClusterIndex.pipelineIndex(deadline)`).
 * @throws PlaitError DOCUMENT_NOT_FOUND (unknown docId), INVALID_ARGUMENT (an unknown option key, with the nearest known one),
 *   ABORTED / TIMEOUT (`options.signal`), CLUSTER_UNAVAILABLE (a cluster's shard missing from the candidates,
 *   the features or the document's lookup, named in `details.shards`), the candidate pipeline's errors.
 */
export async function explainLtr(
  index: PlaitIndex | PipelineIndex,
  model: LtrModel,
  query: string,
  docId: string,
  options: ExplainLtrOptions = {},
): Promise<LtrDocExplanation> {
  checkOptionKeys(options, EXPLAIN_LTR_OPTION_KEYS, 'explainLtr option');
  checkShape('index', index, 'an open PlaitIndex (from openIndex) or a PipelineIndex (a coordinator\'s)', ['search', 'rerank']);
  checkShape('model', model, 'an LtrModel (from LtrModel.load)', ['file']);
  checkString('query', query, 'a query (a string)');
  checkString('docId', docId, 'a document id (a string)');
  const signal = checkSignal('signal', options.signal);
  throwIfAborted(signal);
  // The code and words of every other door for an unknown id (PlaitIndex.explain, the HTTP explain's 404): it was INVALID_INPUT here.
  const local = index instanceof PlaitIndex;
  if (local && index.docstore.docIdToRowid(docId) === null) throw notFound(docId);
  const pipeline = new SearchPipeline(index, options.candidates ?? model.file.candidates ?? LTR_DEFAULTS.candidates, pipelineOptionsOf(options));
  const { list, missingShards } = await pipeline.candidatesFrom(query, signal === undefined ? {} : { signal });
  if (missingShards.length > 0) throw shardsMissing(missingShards, 'the candidates');
  let at = list.findIndex((c) => c.docId === docId);
  const inCandidates = at >= 0;
  if (!inCandidates) {
    // A candidate exists; another is looked up on its shard (one round, only for a document outside the candidates).
    if (!local) {
      const got = await pipeline.index.documents([docId], signal);
      if (got.missingShards.length > 0) throw shardsMissing(got.missingShards, `document "${docId}"`);
      if (got.documents[0] === null || got.documents[0] === undefined) throw notFound(docId);
    }
    list.push({ docId, pid: -1, score: -Infinity });
    at = list.length - 1;
  }
  const rows = await model.featureRows(pipeline.index, query, list);
  const width = model.features.length;
  const scores = model.score(rows, list.length);
  const rank = 1 + Array.from(scores).filter((s, i) => s > scores[at]! || (s === scores[at]! && i < at)).length;
  return { query, docId, candidates: pipeline.spec, inCandidates, rank, ...model.explainRow(rows.slice(at * width, (at + 1) * width)) };
}

function notFound(docId: string): PlaitError {
  return new PlaitError('DOCUMENT_NOT_FOUND', { message: `the index holds no document "${docId}"`, docId });
}

function shardsMissing(shards: readonly number[], what: string): PlaitError {
  return new PlaitError('CLUSTER_UNAVAILABLE', { message: `shard${shards.length === 1 ? '' : 's'} ${shards.join(', ')} did not give ${what} in time: an ltr explanation over part of the corpus would not be the corpus's`, shards: [...shards] });
}
