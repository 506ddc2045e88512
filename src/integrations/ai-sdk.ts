/**
 * Vercel AI SDK integration, imported as `plait/ai-sdk` (never from `plait` itself): a provider
 * whose reranking model runs plait's late interaction in-process, so
 * `rerank({ model: plait.reranking(), query, documents })` from `ai` needs no server.
 *
 * Written against the provider specification of @ai-sdk/provider 3.x (`RerankingModelV3`,
 * `ProviderV3`), the one `ai` 6.x calls. `ai` 7.x needs Node ≥ 22 (plait supports Node 20) and
 * speaks `RerankingModelV4`, but still takes V3 models (its resolve-model.ts wraps them with
 * asRerankingModelV4); that path is not tested here. @ai-sdk/provider is an optional peer
 * dependency of plait (package.json peerDependenciesMeta).
 *
 * The model id is the plait model: 'bundled' (the default) for the bundled offline model, a local
 * ColBERT ONNX folder, or a hub repo id, as `plait rerank --model` takes it. Scores are plait's
 * (MaxSim of the best passage, not a probability); object documents are ranked by their JSON text
 * unless `documentText` says which text to use (the AI SDK's Cohere provider also sends objects as
 * their JSON).
 */
import { NoSuchModelError, type JSONObject, type ProviderV3, type RerankingModelV3, type RerankingModelV3CallOptions, type SharedV3Warning } from '@ai-sdk/provider';
import { RerankerHandle, checkTopN, type IntegrationRerankerOptions } from './reranker-handle.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { checkArray, checkNonEmptyString, checkShape, checkString } from '../errors/index.js';

export type { IntegrationRerankerOptions } from './reranker-handle.js';

/** The AI SDK's `doRerank` result, as RerankingModelV3 declares it. */
type DoRerankResult = Awaited<ReturnType<RerankingModelV3['doRerank']>>;

/** The model id the bundled offline model goes by. */
export const BUNDLED_MODEL_ID = 'bundled';

export interface PlaitRerankingSettings extends Omit<IntegrationRerankerOptions, 'model'> {
  /** The text of an object document (default: `JSON.stringify(doc)`). */
  documentText?: (document: JSONObject) => string;
}

/**
 * A RerankingModelV3 backed by a plait Reranker: `doRerank` encodes the query and the documents
 * (long ones as the indexer's passages, scored by their best) and orders them by exact MaxSim.
 */
/** The settings' keys (util/option-keys.ts): `plait.reranking('bundled', { rerankeroptions: … })` had been ignored. The model id is the first argument, not a setting. */
const PLAIT_RERANKING_SETTINGS_KEYS = { reranker: true, rerankerOptions: true, documentText: true } as const satisfies OptionKeys<PlaitRerankingSettings>;

export class PlaitRerankingModel implements RerankingModelV3 {
  readonly specificationVersion = 'v3' as const;
  readonly provider = 'plait';
  readonly modelId: string;
  private readonly handle: RerankerHandle;
  private readonly documentText: (document: JSONObject) => string;

  /**
   * @param modelId the plait model (default 'bundled'); with `settings.reranker`, only the name the model reports.
   * @throws PlaitError INVALID_ARGUMENT for a modelId that is not a non-empty string, an unknown settings key, or when the settings give both a reranker and rerankerOptions.
   */
  constructor(modelId: string = BUNDLED_MODEL_ID, settings: PlaitRerankingSettings = {}) {
    // Checked here, not when the first rerank loads the model: plait.reranking(42) had made a model that failed only then.
    checkNonEmptyString('modelId', modelId, 'a model id (default "bundled")');
    checkOptionKeys(settings, PLAIT_RERANKING_SETTINGS_KEYS, 'plait reranking setting');
    this.modelId = modelId;
    const { documentText, ...handle } = settings;
    this.documentText = documentText ?? ((d) => JSON.stringify(d));
    this.handle = new RerankerHandle(handle.reranker !== undefined ? handle : { ...handle, model: modelId }, 'plait.reranking(modelId)');
  }

  /**
   * Orders the documents by plait's score against the query, highest first (ties: input order),
   * at most `topN`. `headers` and `providerOptions` have no meaning in-process: each given one is
   * reported as an 'unsupported' warning.
   *
   * `topN` must be an integer ≥ 1 when given. `ai`'s rerank() (6.0, src/rerank/rerank.ts) does not
   * check it: it hands it to the model as it came, so each provider's API decides, and the rerank
   * APIs the SDK's providers call take `top_n` as a positive count (plait's own Cohere-shaped routes
   * refuse 0 with a 400 the same way). So 0, a negative or a fractional topN is refused here, before
   * any model loads, rather than answered with an empty or silently rounded ranking.
   * @throws PlaitError EMPTY_TEXT (a query with no letter or digit), INVALID_ARGUMENT (options not of that shape, topN),
   * ABORTED / the signal's reason (abortSignal), the model's load errors.
   */
  async doRerank(options: RerankingModelV3CallOptions): Promise<DoRerankResult> {
    checkShape('options', options, 'RerankingModelV3CallOptions (an object with documents and query)', ['documents', 'query']);
    checkShape('options.documents', options.documents, "the documents ({ type: 'text' | 'object', values })", ['type', 'values']);
    checkArray('options.documents.values', options.documents.values);
    checkString('options.query', options.query);
    const { documents, query, abortSignal } = options;
    const topN = checkTopN(options.topN, 1);
    const texts = documents.type === 'text' ? documents.values : documents.values.map((d) => this.documentText(d));
    const reranker = await this.handle.get();
    const ranked = await reranker.rerank(query, texts, { ...(topN !== undefined ? { topK: topN } : {}), ...(abortSignal !== undefined ? { signal: abortSignal } : {}) });
    const warnings: SharedV3Warning[] = [];
    if (options.headers !== undefined && Object.keys(options.headers).length > 0) warnings.push({ type: 'unsupported', feature: 'headers', details: 'plait reranks in-process; there is no HTTP request' });
    if (options.providerOptions !== undefined && Object.keys(options.providerOptions).length > 0) warnings.push({ type: 'unsupported', feature: 'providerOptions', details: 'plait reads no provider options' });
    return {
      ranking: ranked.map((r) => ({ index: r.index, relevanceScore: r.score })),
      warnings,
      response: { modelId: reranker.encoder.info.name, timestamp: new Date() },
    };
  }

  /** Frees the Reranker this model created (a Reranker given in the settings is the caller's to close). */
  close(): Promise<void> {
    return this.handle.close();
  }
}

/** The plait provider: reranking models only (`plait.reranking(modelId?)`); the other model kinds throw NoSuchModelError. */
export interface PlaitProvider extends ProviderV3 {
  (modelId?: string, settings?: PlaitRerankingSettings): PlaitRerankingModel;
  /** A reranking model; `modelId` as `plait rerank --model` takes it (default 'bundled'). */
  reranking(modelId?: string, settings?: PlaitRerankingSettings): PlaitRerankingModel;
  /** ProviderV3's name for `reranking` (used by createProviderRegistry: `registry.rerankingModel('plait:bundled')`). */
  rerankingModel(modelId: string): PlaitRerankingModel;
}

/**
 * A plait provider whose models share `defaults` (e.g. `{ rerankerOptions: { cacheBytes } }`);
 * settings given to `reranking()` override them.
 */
export function createPlait(defaults: PlaitRerankingSettings = {}): PlaitProvider {
  const reranking = (modelId?: string, settings: PlaitRerankingSettings = {}): PlaitRerankingModel => new PlaitRerankingModel(modelId, { ...defaults, ...settings });
  const noSuchModel = (modelType: 'languageModel' | 'embeddingModel' | 'imageModel') => (modelId: string): never => {
    throw new NoSuchModelError({ modelId, modelType, message: `plait provides reranking models only (asked for ${modelType} "${modelId}")` });
  };
  return Object.assign((modelId?: string, settings?: PlaitRerankingSettings) => reranking(modelId, settings), {
    specificationVersion: 'v3' as const,
    reranking,
    rerankingModel: (modelId: string) => reranking(modelId),
    languageModel: noSuchModel('languageModel'),
    embeddingModel: noSuchModel('embeddingModel'),
    imageModel: noSuchModel('imageModel'),
  });
}

/** The default plait provider: `rerank({ model: plait.reranking(), query, documents })`. */
export const plait: PlaitProvider = createPlait();
