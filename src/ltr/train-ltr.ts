/**
 * Training a plait ranking model from judged queries: run the candidate pipeline (the stages the
 * ltr stage will follow) for each query, compute the features of its candidates (features.ts),
 * label them from the qrels (unjudged = 0), and train LambdaMART through XGBoost
 * (xgboost-train.ts). The result is an `LtrModel` whose file records the features, the candidate
 * pipeline and the training run.
 */
import { LTR_DEFAULTS } from '../config/defaults.js';
import { SEARCH_PIPELINE_OPTION_KEYS, SearchPipeline, pipelineOptionsOf, type SearchPipelineOptions } from '../pipeline/search-pipeline.js';
import { checkOptionKeys, closestKey, type OptionKeys } from '../util/option-keys.js';
import { formatPipeline, parsePipeline } from '../pipeline/pipeline-spec.js';
import type { PlaitIndex } from '../search/plait-index.js';
import type { Qrels } from '../eval/qrels.js';
import type { EvalQuery } from '../eval/queries.js';
import { PlaitError, checkArray, checkString, checkStringArray } from '../errors/index.js';
import { qrelsInIndex, unjudgedQueriesError } from '../eval/judgments-check.js';
import { LTR_FEATURE_SET_VERSION, computeFeatures, featureNames } from './features.js';
import { LTR_MODEL_FORMAT, LTR_MODEL_VERSION, LtrModel, ltrTrainedOn, type LtrTrainedOn } from './ltr-model.js';
import { trainXgboost, type LtrGroup, type XgboostTrainOptions } from './xgboost-train.js';

export interface CollectOptions extends Omit<SearchPipelineOptions, 'ltrModel'> {
  /** The candidate pipeline (no ltr stage); default LTR_DEFAULTS.candidates. */
  candidates?: string;
  /** Numeric metadata fields to add as `meta:<field>` features. */
  metadataFields?: readonly string[];
  onProgress?: (done: number, total: number) => void;
}

const { ltrModel: _ltrModel, ...COLLECT_PIPELINE_KEYS } = SEARCH_PIPELINE_OPTION_KEYS;
const COLLECT_OPTION_KEYS = { ...COLLECT_PIPELINE_KEYS, candidates: true, metadataFields: true, onProgress: true } as const satisfies OptionKeys<CollectOptions>;

/**
 * One group per query that has judgments: its candidates, feature rows and labels. Queries the
 * qrels do not judge are left out. The judgments are checked before any search, as `plait ltr
 * train` checks them (eval/judgments-check.ts): `warnings` says how many documents judged relevant
 * the index lacks (they label nothing).
 * @throws PlaitError INVALID_ARGUMENT (an unknown option key, with the nearest known one — `candidate`
 * used to train on the default candidates; a candidate pipeline with an ltr stage), INVALID_INPUT
 * (no query is judged, showing both sides' ids; the index holds none of the documents judged
 * relevant: qrels of another corpus), INVALID_ARGUMENT for a metadata field no document holds as a
 * number or true/false, and the pipeline's errors.
 */
export async function collectLtrGroups(
  index: PlaitIndex,
  queries: readonly EvalQuery[],
  qrels: Qrels,
  options: CollectOptions = {},
): Promise<{ groups: LtrGroup[]; features: string[]; candidates: string; trainedOn: LtrTrainedOn; warnings: string[] }> {
  checkOptionKeys(options, COLLECT_OPTION_KEYS, 'collectLtrGroups option');
  // The shapes readQueries and readQrels return (a Map of queries had failed as "queries.filter is not a function").
  if (!Array.isArray(queries)) throw new PlaitError('INVALID_ARGUMENT', { message: 'queries must be an array of { id, text } (as readQueries returns)', name: 'queries' });
  if (!(qrels instanceof Map)) throw new PlaitError('INVALID_ARGUMENT', { message: 'qrels must be a Map of query id to judgments (as readQrels returns)', name: 'qrels' });
  // An ltr stage is refused before the pipeline is built: the pipeline would ask for a ranking model, the wrong advice here.
  const stages = parsePipeline(options.candidates ?? LTR_DEFAULTS.candidates);
  if (stages.some((s) => s.stage === 'ltr')) throw new PlaitError('INVALID_ARGUMENT', { message: `the candidate pipeline "${formatPipeline(stages)}" has an ltr stage (give the stages before it)`, name: 'candidates' });
  const pipeline = new SearchPipeline(index, stages, pipelineOptionsOf(options));
  const features = featureNames(options.metadataFields, pipeline.stages.some((s) => s.stage === 'cross'));
  checkMetadataFeatures(index, options.metadataFields ?? []);
  const judged = queries.filter((q) => qrels.has(q.id));
  // Before any search: a training over every query's candidates had ended in "at least 2 queries with a judged-relevant candidate".
  const unjudged = unjudgedQueriesError(queries, [...qrels.keys()], 'the query list', 'the qrels');
  if (unjudged !== null) throw unjudged;
  const coverage = qrelsInIndex(qrels, judged.map((q) => q.id), (ids) => ids.map((id) => index.docstore.docIdToRowid(id) !== null), 'the qrels', index.path, 'trained on');
  if (coverage.error !== null) throw coverage.error;
  const groups: LtrGroup[] = [];
  for (let i = 0; i < judged.length; i++) {
    const q = judged[i]!;
    const list = await pipeline.candidates(q.text);
    const gains = qrels.get(q.id)!;
    groups.push({
      queryId: q.id,
      docIds: list.map((c) => c.docId),
      rows: await computeFeatures(index, q.text, list, features),
      labels: Int32Array.from(list, (c) => Math.max(0, Math.round(gains.get(c.docId) ?? 0))),
    });
    options.onProgress?.(i + 1, judged.length);
  }
  return { groups, features, candidates: pipeline.spec, trainedOn: ltrTrainedOn(index.path, index.manifest), warnings: coverage.warning === null ? [] : [coverage.warning] };
}

/**
 * A `meta:<field>` feature reads a top-level metadata field holding a number or true/false
 * (features.ts); one that no live document holds so would be missing on every row, and the model
 * trained without a word (`--features yeer` for `year` trained an 8-feature model with a dead
 * ninth column: xgboost-train.ts's withFeatureCount even widened the count for it).
 * @throws PlaitError INVALID_ARGUMENT naming the field, the nearest numeric field and the numeric fields there are.
 */
function checkMetadataFeatures(index: PlaitIndex, fields: readonly string[]): void {
  if (fields.length === 0) return;
  const catalogue = index.docstore.fieldCatalogue();
  const numeric = [...catalogue].filter(([f, types]) => !f.includes('.') && (types.has('number') || types.has('boolean'))).map(([f]) => f);
  for (const field of fields) {
    if (numeric.includes(field)) continue;
    const near = closestKey(field, numeric);
    const held = catalogue.get(field);
    throw new PlaitError('INVALID_ARGUMENT', {
      message: `no document of the index holds a number or true/false in metadata field "${field}"${held === undefined ? '' : ` (it holds ${[...held].join(', ')})`}, so the feature meta:${field} would be missing on every candidate${near === undefined ? '' : `; did you mean "${near}"?`} (numeric fields: ${numeric.length === 0 ? 'none' : numeric.map((f) => `"${f}"`).join(', ')})`,
      name: 'metadataFields',
      field,
    });
  }
}

/**
 * Trains on collected groups and wraps XGBoost's model as a plait ranking model.
 * @param trainedOn the index the groups came from (collectLtrGroups' `trainedOn`): recorded so that
 *   the model warns when run on another index (LtrModel.indexWarning); omitted, nothing is recorded.
 */
export async function trainLtrModel(groups: readonly LtrGroup[], features: readonly string[], candidates: string, options: XgboostTrainOptions = {}, trainedOn?: LtrTrainedOn): Promise<LtrModel> {
  checkArray('groups', groups, 'an array of LtrGroups (from collectLtrGroups)');
  checkStringArray('features', features, 'an array of feature names');
  checkString('candidates', candidates, 'the candidate pipeline (a string)');
  const r = await trainXgboost(groups, features.length, options);
  return LtrModel.fromJSON({
    format: LTR_MODEL_FORMAT,
    version: LTR_MODEL_VERSION,
    featureSet: LTR_FEATURE_SET_VERSION,
    features: [...features],
    candidates,
    ...(trainedOn === undefined ? {} : { trainedOn }),
    training: {
      objective: String(r.params.objective),
      rounds: r.rounds,
      roundsTried: r.roundsTried,
      metric: String(r.params.eval_metric),
      validScore: r.validScore,
      validBaseline: r.validBaseline,
      seed: Number(r.params.seed),
      trainQueries: r.trainQueries.length,
      validQueries: r.validQueries.length,
      droppedQueries: r.dropped.length,
      params: r.params,
    },
    xgboost: withFeatureNames(r.model, features),
  });
}

/**
 * XGBoost's model with the plait feature names as its own column names (`learner.feature_names`,
 * the names a Python DMatrix gives; the CLI's libsvm gives none): LtrModel.fromJSON refuses a file
 * whose "features" no longer match them (a hand-edited list), and Python's xgboost shows them.
 */
function withFeatureNames(model: unknown, features: readonly string[]): unknown {
  const learner = (model as { learner?: Record<string, unknown> } | null)?.learner;
  if (learner !== undefined && learner !== null && typeof learner === 'object') {
    learner.feature_names = [...features];
    learner.feature_types = features.map(() => 'float');
  }
  return model;
}
