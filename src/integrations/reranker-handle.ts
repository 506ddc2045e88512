/**
 * The Reranker behind an integration (LangChain's compressor, the AI SDK's reranking model): the
 * caller's own, or one created on first use from a model spec and closed by the integration.
 *
 * Frameworks construct their models synchronously (`new PlaitRerank()`, `plait.reranking()`),
 * while loading a model is asynchronous and may fail: so the Reranker is created lazily, once, on
 * the first call, and a failed load is not cached (the next call tries again, as
 * `rerank()`'s shared rerankers do). This file imports no framework.
 */
import { PlaitError, checkNonEmptyString, checkOptions, checkShape, invalidArgument, isPlaitError } from '../errors/index.js';
import { Reranker, type RerankerOptions } from '../rerank/reranker.js';
import type { OptionKeys } from '../util/option-keys.js';

export interface IntegrationRerankerOptions {
  /**
   * A Reranker the caller owns (and closes). When set, `model` and `rerankerOptions` must be
   * absent: the Reranker was already created with its own.
   */
  reranker?: Reranker;
  /** Model for the Reranker created on first use: undefined or 'bundled' → the bundled model; a ColBERT ONNX folder; a hub repo id. */
  model?: string;
  /** Options of the Reranker created on first use (cache size, encoder threads); see RerankerOptions. */
  rerankerOptions?: Omit<RerankerOptions, 'model'>;
}

/** IntegrationRerankerOptions' keys, for the adapters' own tables (util/option-keys.ts). */
export const INTEGRATION_RERANKER_KEYS = { reranker: true, model: true, rerankerOptions: true } as const satisfies OptionKeys<IntegrationRerankerOptions>;

export class RerankerHandle {
  private pending: Promise<Reranker> | null = null;
  private readonly owned: boolean;

  /**
   * @param door how the integration's user names the model (`plait.reranking(modelId)`, `new
   *   PlaitRerank({ model })`): a model that is not found is refused in those words, not the CLI's.
   * @throws PlaitError INVALID_ARGUMENT when `reranker` is given together with `model` or `rerankerOptions` (they would be ignored),
   *   or any of them is of the wrong kind (checked here, not when the first call loads the model).
   */
  constructor(
    private readonly options: IntegrationRerankerOptions = {},
    private readonly door?: string,
  ) {
    if (options.model !== undefined) checkNonEmptyString('model', options.model, 'a model (a hub repo id, a folder, or "bundled")');
    if (options.reranker !== undefined) checkShape('reranker', options.reranker, 'a Reranker (from Reranker.create)', ['rerank']);
    checkOptions('rerankerOptions', options.rerankerOptions);
    if (options.reranker !== undefined && (options.model !== undefined || options.rerankerOptions !== undefined)) {
      throw new PlaitError('INVALID_ARGUMENT', { message: 'give either a reranker or model/rerankerOptions, not both: a given Reranker already has its model', name: 'reranker' });
    }
    this.owned = options.reranker === undefined;
    if (options.reranker !== undefined) this.pending = Promise.resolve(options.reranker);
  }

  /** The Reranker, created on the first call; rejects with the model's errors (MODEL_NOT_FOUND, MODEL_LOAD_FAILED, …). */
  get(): Promise<Reranker> {
    if (this.pending === null) {
      const created = Reranker.create({ ...this.options.rerankerOptions, model: this.options.model }).catch((e: unknown) => {
        throw isPlaitError(e, 'MODEL_NOT_FOUND') && this.door !== undefined ? modelNotFoundAt(this.door, this.options.model, e) : e;
      });
      this.pending = created;
      created.catch(() => {
        if (this.pending === created) this.pending = null;
      });
    }
    return this.pending;
  }

  /** Closes the Reranker if this handle created it (a caller's own is left open); the next call creates a new one. */
  async close(): Promise<void> {
    const p = this.pending;
    if (!this.owned || p === null) return;
    this.pending = null;
    await (await p.catch(() => null))?.close();
  }
}

/**
 * MODEL_NOT_FOUND in the integration's words: which call took the name, and the names it takes
 * (the AI SDK's reader writes `plait.reranking('…')`, never `--model`).
 */
function modelNotFoundAt(door: string, model: string | undefined, e: PlaitError): PlaitError {
  const why = e.message.slice(e.message.indexOf(': ') + 2);
  return new PlaitError(
    'MODEL_NOT_FOUND',
    { ...e.details, message: `${door} was given ${JSON.stringify(model)}: ${why}. It takes "bundled" (the default: the bundled offline model), a local ColBERT ONNX folder, or a hub repo id (org/name)`, door },
    { cause: e },
  );
}

/**
 * A framework's `topN` (documents returned, best first), checked at the adapter's door so that the
 * error names the caller's field, not the Reranker's `topK`: an integer ≥ `min`, or undefined (all).
 * @throws PlaitError INVALID_ARGUMENT "Expected an integer ≥ 1 … for topN but received 0"
 */
export function checkTopN(topN: unknown, min: 0 | 1): number | undefined {
  if (topN === undefined) return undefined;
  if (typeof topN !== 'number' || !Number.isInteger(topN) || topN < min) {
    throw invalidArgument('topN', `an integer ≥ ${min} (leave topN out to get every document back, ranked)`, topN);
  }
  return topN;
}
