/**
 * A plait ranking model file: the feature list it was trained on (feature set version and names,
 * features.ts), how it was trained, and XGBoost's own JSON model (its `learner` object as
 * XGBoost saved it; `xgboostJsonText` in xgboost-train.ts writes it back in the form XGBoost's
 * `model_in` loads, which the tests use to compare predictions with XGBoost's).
 *
 *   {
 *     "format": "plait-ltr-model", "version": 1,
 *     "featureSet": 1, "features": ["bm25", "late_idf", …, "meta:year"],
 *     "candidates": "hybrid:100",          // the pipeline that produced the training candidates
 *     "trainedOn": { "identity": "3f0c…", "index": "cranfield", "documents": 1400, "model": "bundled:use-lite" },
 *     "training": { … },                   // objective, rounds, validation scores, seed, query counts
 *     "xgboost": { "learner": { … } }      // XGBoost's model_out=<file>.json
 *   }
 *
 * `LtrModel.load` / `fromJSON` validate everything they read and throw LTR_MODEL_INVALID (with
 * the file and the reason) for anything else: not JSON, another format or version, unknown
 * features, a tree count or feature count that disagrees with the feature list.
 *
 * `trainedOn` (absent in files written before it was recorded, which load as before) names the
 * index the model learnt from, by its identity (format/index-identity.ts: it survives the index's
 * adds and compactions). A model run on another index is warned about, not refused: its features
 * are computed the same way on any index, and applying a model trained on one collection to a
 * similar one is common practice (a cranfield model on cisi ran without a word; it now says so:
 * `indexWarning`, which the pipeline's results, `plait search|eval|explain` and the server's start
 * report). A feature list the index cannot produce stays a refusal (LTR_FEATURE_MISSING).
 */
import { plural } from '../util/plural.js';
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { PlaitError } from '../errors/index.js';
import { writeFileAtomic } from '../util/write-file-atomic.js';
import { LTR_BASE_FEATURES, LTR_FEATURE_SET_VERSION, LTR_META_PREFIX, checkFeatureNames, computeFeatures, type FeatureCandidate } from './features.js';
import { decodeUbjson, looksLikeUbjson } from './ubjson.js';
import { formatPipeline, parsePipeline } from '../pipeline/pipeline-spec.js';
import { TreeEnsemble, type FeatureContributions } from './tree-model.js';
import type { PlaitIndex } from '../search/plait-index.js';
import type { IndexManifest } from '../format/manifest.js';
import { indexIdentityOf } from '../format/index-identity.js';
import type { PipelineIndex } from '../pipeline/pipeline-index.js';

export const LTR_MODEL_FORMAT = 'plait-ltr-model';
export const LTR_MODEL_VERSION = 1;

/** What `plait ltr train` records about a training run. */
export interface LtrTrainingRecord {
  objective: string;
  /** Boosting rounds kept (early stopping's best iteration + 1). */
  rounds: number;
  /** Rounds tried before early stopping ended the search. */
  roundsTried: number;
  /** The validation metric (e.g. "ndcg@10") at the kept round. */
  metric: string;
  validScore: number;
  /** The metric of the candidates' own order on the validation queries (no model); absent in older files, null for a metric other than ndcg. */
  validBaseline?: number | null;
  seed: number;
  trainQueries: number;
  validQueries: number;
  /** Queries dropped because no judged-relevant document was among their candidates. */
  droppedQueries: number;
  params: Record<string, string | number>;
}

/** The index a model was trained on: its identity, and for messages its folder name, size and model. */
export interface LtrTrainedOn {
  /** indexIdentityOf(manifest): 16 hex digits. */
  identity: string;
  /** The index folder's name at training time. */
  index: string;
  documents: number;
  /** The index's model name (ModelInfo.name). */
  model: string;
}

/** The record `trainLtrModel` writes for `index` (a folder path and its manifest). */
export function ltrTrainedOn(path: string, manifest: IndexManifest): LtrTrainedOn {
  return { identity: indexIdentityOf(manifest), index: basename(resolve(path)), documents: manifest.counts.documents, model: manifest.model.name };
}

export interface LtrModelFile {
  format: typeof LTR_MODEL_FORMAT;
  version: number;
  featureSet: number;
  features: string[];
  candidates?: string;
  trainedOn?: LtrTrainedOn;
  training?: LtrTrainingRecord;
  xgboost: unknown;
}

function invalid(source: string, message: string): PlaitError {
  return new PlaitError('LTR_MODEL_INVALID', { message: `${source}: ${message}`, source });
}

/**
 * A model file's object: JSON, or UBJSON (Python xgboost's `save_model` default from 2.1). XGBoost's
 * legacy binary (`binf`, the 1.x CLI's `model_out` without `.json`) and anything else are refused
 * naming what they are; a cut-off file says so.
 * @throws PlaitError FILE_NOT_FOUND, LTR_MODEL_INVALID.
 */
async function readModelObject(path: string): Promise<unknown> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new PlaitError('FILE_NOT_FOUND', { message: `ranking model ${path}`, path }, { cause: e });
  }
  if (bytes.subarray(0, 4).toString('latin1') === 'binf' || bytes.subarray(0, 4).equals(Buffer.from([0, 0, 0, 0x3f]))) {
    throw invalid(path, "XGBoost's legacy binary model format, which plait does not read: save the model as JSON (the CLI's model_out=<file>.json, Python's save_model('model.json')) or UBJSON (save_model('model.ubj'))");
  }
  if (looksLikeUbjson(bytes)) {
    try {
      return decodeUbjson(bytes);
    } catch (e) {
      throw new PlaitError('LTR_MODEL_INVALID', { message: `${path}: not a readable UBJSON model (${(e as Error).message})`, source: path }, { cause: e });
    }
  }
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    const cut = text.trim().length > 0 && !/[}\]]\s*$/.test(text);
    throw new PlaitError('LTR_MODEL_INVALID', { message: `${path}: not JSON (${(e as Error).message})${cut ? `; the file ends mid-value after ${bytes.length} bytes: it was cut off (an interrupted copy or download?)` : ''}`, source: path }, { cause: e });
  }
}

export interface LtrExplanation {
  score: number;
  bias: number;
  /** Each feature's value and its contribution to the score, largest |contribution| first. */
  features: Array<{ name: string; value: number | null; contribution: number }>;
}

export class LtrModel {
  private constructor(
    readonly file: LtrModelFile,
    readonly trees: TreeEnsemble,
  ) {}

  get features(): readonly string[] {
    return this.file.features;
  }

  /** Whether the model reads the cross-encoder score (then its pipeline needs a cross stage first). */
  get needsCross(): boolean {
    return this.file.features.includes('cross');
  }

  /** @throws PlaitError LTR_MODEL_INVALID (see the module header). */
  static fromJSON(json: unknown, source = 'ranking model'): LtrModel {
    const f = json as Partial<LtrModelFile> | null;
    if (f !== null && typeof f === 'object' && f.format === undefined && 'learner' in f) {
      // XGBoost's own file (model_out, save_model): its columns carry no plait meaning until named.
      throw invalid(source, `an XGBoost model, not a plait ranking model: plait needs the plait feature of each of its columns; wrap it with plait ltr import ${source} --features <names in column order> --out <model.json> (LtrModel.fromXgboost), the names taken from ${LTR_BASE_FEATURES.join(', ')}, ${LTR_META_PREFIX}<field>`);
    }
    if (f === null || typeof f !== 'object' || f.format !== LTR_MODEL_FORMAT) throw invalid(source, `not a plait ranking model (expected "format": "${LTR_MODEL_FORMAT}"; plait ltr train writes one)`);
    if (f.version !== LTR_MODEL_VERSION) throw invalid(source, `model file version ${String(f.version)} (this plait reads ${LTR_MODEL_VERSION})`);
    if (f.featureSet !== LTR_FEATURE_SET_VERSION) throw invalid(source, `feature set ${String(f.featureSet)} (this plait computes set ${LTR_FEATURE_SET_VERSION})`);
    if (!Array.isArray(f.features) || f.features.length === 0 || new Set(f.features).size !== f.features.length) throw invalid(source, 'expected a non-empty list of distinct feature names in "features"');
    checkFeatureNames(f.features, source);
    // The trees' own column names (plait ltr train writes them; Python's DMatrix names): a hand-edited
    // or reordered "features" list would score each column with another feature's values.
    const own = (f.xgboost as { learner?: { feature_names?: unknown } } | null)?.learner?.feature_names;
    if (Array.isArray(own) && own.length > 0 && own.map(String).join('\u0000') !== f.features.join('\u0000')) {
      throw invalid(source, `"features" is ${JSON.stringify(f.features)} but the trees were trained on columns ${JSON.stringify(own)} (learner.feature_names): was the file edited? Retrain, or restore the list`);
    }
    const trees = TreeEnsemble.fromXgboostJson(f.xgboost, source);
    if (trees.nFeatures !== f.features.length) throw invalid(source, `the trees read ${plural(trees.nFeatures, 'feature')} but the file names ${f.features.length}`);
    const t = f.trainedOn as Partial<LtrTrainedOn> | null | undefined;
    if (t !== undefined && (t === null || typeof t !== 'object' || typeof t.identity !== 'string' || typeof t.index !== 'string' || typeof t.model !== 'string' || !Number.isInteger(t.documents))) {
      throw invalid(source, 'expected "trainedOn" to be { identity, index, documents, model } (plait ltr train writes it)');
    }
    return new LtrModel(f as LtrModelFile, trees);
  }

  /**
   * Reads a plait model file (JSON, or the same object as UBJSON).
   * @throws PlaitError FILE_NOT_FOUND, LTR_MODEL_INVALID (also for XGBoost's own file: `fromXgboost` / `plait ltr import` wrap it).
   */
  static async load(path: string): Promise<LtrModel> {
    return LtrModel.fromJSON(await readModelObject(path), path);
  }

  /**
   * Wraps a model XGBoost trained elsewhere (its JSON object, or a file: JSON, UBJSON from
   * Python's `save_model`; XGBoost ≥ 1.6) as a plait ranking model.
   * @param options.features the plait feature of each column, in column order (LTR_BASE_FEATURES,
   *   `meta:<field>`); default the model's own `feature_names` (a Python DMatrix's column names)
   *   when they are all plait features. Both given, they must be equal: a column order that
   *   differs from the training data's would score every document with the wrong values.
   * @param options.candidates the pipeline whose candidates the model was trained on (recorded: the
   *   ltr stage warns after other candidates; explanations use it).
   * @throws PlaitError FILE_NOT_FOUND, LTR_MODEL_INVALID (not an XGBoost model, unknown or missing
   *   feature names, names that disagree with the model's or with its column count), INVALID_ARGUMENT
   *   (a candidate pipeline that does not parse or has an ltr stage).
   */
  static async fromXgboost(model: unknown, options: { features?: readonly string[]; candidates?: string; source?: string } = {}): Promise<LtrModel> {
    const source = options.source ?? (typeof model === 'string' ? model : 'XGBoost model');
    const xgb = typeof model === 'string' ? await readModelObject(model) : model;
    const learner = (xgb as { learner?: { feature_names?: unknown } } | null)?.learner;
    if (learner === undefined || learner === null || typeof learner !== 'object') {
      const plait = (xgb as { format?: unknown } | null)?.format === LTR_MODEL_FORMAT;
      throw invalid(source, plait ? 'already a plait ranking model (give it to --ltr-model / LtrModel.load as it is)' : 'no "learner" object (expected XGBoost\'s model, saved with model_out=<file>.json or save_model)');
    }
    const own = Array.isArray(learner.feature_names) && learner.feature_names.length > 0 ? learner.feature_names.map(String) : null;
    const features = options.features === undefined ? own : [...options.features];
    if (features === null) throw invalid(source, `the model names no features (XGBoost keeps them only from a DMatrix with feature_names): give the plait feature of each column in order (--features), from ${LTR_BASE_FEATURES.join(', ')}, ${LTR_META_PREFIX}<field>`);
    if (own !== null && options.features !== undefined && own.join('\u0000') !== features.join('\u0000')) {
      throw invalid(source, `the model's columns are named ${JSON.stringify(own)} but the features given are ${JSON.stringify(features)}: a column would be scored with another feature's values`);
    }
    let candidates: string | undefined;
    if (options.candidates !== undefined) {
      const stages = parsePipeline(options.candidates);
      // As collectLtrGroups refuses it: the candidates are the stages before the ltr stage.
      if (stages.some((st) => st.stage === 'ltr')) throw new PlaitError('INVALID_ARGUMENT', { message: `the candidate pipeline "${formatPipeline(stages)}" has an ltr stage (give the stages before it)`, name: 'candidates' });
      candidates = formatPipeline(stages);
    }
    return LtrModel.fromJSON(
      { format: LTR_MODEL_FORMAT, version: LTR_MODEL_VERSION, featureSet: LTR_FEATURE_SET_VERSION, features, ...(candidates === undefined ? {} : { candidates }), xgboost: xgb },
      source,
    );
  }

  /**
   * A warning when the model was trained on another index than the one whose manifest is given
   * (by identity; see the module header), else null — also for a file without the record.
   * @param name how to name the index in the message (default: its model and document count).
   */
  indexWarning(manifest: Pick<IndexManifest, 'files' | 'codec' | 'model' | 'counts'>, name?: string): string | null {
    const t = this.file.trainedOn;
    if (t === undefined) return null;
    const identity = indexIdentityOf(manifest);
    if (identity === t.identity) return null;
    const described = `(${plural(manifest.counts.documents, 'document')}, ${manifest.model.name}; identity ${identity})`;
    const here = name === undefined ? `this index ${described}` : `"${name}" ${described}`;
    return `the ranking model was trained on index "${t.index}" (${plural(t.documents, 'document')}, ${t.model}; identity ${t.identity}), not on ${here}: its features are computed the same way, but their ranges differ between collections; retrain it on this index (plait ltr train) if its ranking looks off`;
  }

  /**
   * A warning when the ltr stage runs after other candidates than the model learnt from (the
   * file's `candidates`; compared in canonical form), else null — also for a file without the
   * record. Its rank features (bm25_rank, late_rank) run over another list length, and the list's
   * mix of documents differs, so the trees see values they were not fit to: a model trained on
   * "hybrid:100" served after "hybrid:1000" ranked without a word (features.ts: "training and
   * scoring must use the same candidate pipeline").
   * @param candidates the stages before the ltr stage (pipeline-spec.ts formatPipeline)
   */
  candidatesWarning(candidates: string): string | null {
    const trained = this.file.candidates;
    if (trained === undefined) return null;
    let canonical: string;
    try {
      canonical = formatPipeline(parsePipeline(trained));
    } catch {
      canonical = trained;
    }
    if (canonical === candidates) return null;
    return `the ranking model was trained on the candidates of "${canonical}" but runs after "${candidates}": its rank features and the candidates' mix differ from training; use "${canonical} > ltr:<k>", or retrain on these candidates (plait ltr train --pipeline "${candidates}")`;
  }

  /** Writes the model file (temporary file + rename). */
  save(path: string): void {
    writeFileAtomic(path, `${JSON.stringify(this.file)}\n`);
  }

  /** Feature rows of the candidates (row-major, float32), in this model's feature order. */
  featureRows(index: PlaitIndex | PipelineIndex, query: string, candidates: readonly FeatureCandidate[]): Promise<Float32Array> {
    return computeFeatures(index, query, candidates, this.file.features);
  }

  /** Scores of row-major feature rows (n × features.length). */
  score(rows: Float32Array, n: number): Float64Array {
    return this.trees.predictRows(rows, n);
  }

  /** One row's score with each feature's contribution (per-tree path gains, tree-model.ts). */
  explainRow(row: Float32Array): LtrExplanation {
    const c: FeatureContributions = this.trees.contributions(row);
    const features = this.file.features
      .map((name, j) => ({ name, value: Number.isNaN(row[j]!) ? null : row[j]!, contribution: c.values[j]! }))
      .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
    return { score: this.trees.predict(row), bias: c.bias, features };
  }

  /** Total split gain per feature name (XGBoost's `total_gain` importance), largest first. */
  importance(): Array<{ name: string; gain: number }> {
    const g = this.trees.totalGain();
    return this.file.features.map((name, j) => ({ name, gain: g[j]! })).sort((a, b) => b.gain - a.gain);
  }
}
