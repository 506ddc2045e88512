/**
 * The query encoder's lifetime for one index: created on first use from the model recorded in the
 * index (or the one named in the options), checked against the index's model, closed with the
 * index when the index created it. A failed creation is forgotten so that the next search retries.
 */
import { createEncoder } from '../encoder/create-encoder.js';
import { resolveModelSpec } from '../encoder/resolve-model.js';
import type { Encoder, EncoderOptions, ModelSpec } from '../encoder/types.js';
import type { IndexManifest } from '../format/manifest.js';
import { checkModel } from './model-check.js';

export interface QueryEncoderOptions {
  /** Model to encode queries with; default: the model recorded in the index. Must match it. */
  model?: string;
  /** An encoder the caller owns (not closed with the index). */
  encoder?: Encoder;
  /** How the query encoder runs (EncoderOptions: threads, batch size …); default `{ threads: 1 }`. Ignored with `encoder`. */
  encoderOptions?: EncoderOptions;
}

export class QueryEncoder {
  private promise: Promise<Encoder> | null = null;
  private readonly owned: boolean;

  constructor(
    private readonly manifest: IndexManifest,
    private readonly options: QueryEncoderOptions,
  ) {
    this.owned = options.encoder === undefined;
    if (options.encoder !== undefined) this.promise = Promise.resolve(options.encoder);
  }

  /** The encoder, created once. @throws PlaitError MODEL_MISMATCH, MODEL_NOT_FOUND, MODEL_LOAD_FAILED. */
  get(): Promise<Encoder> {
    if (this.promise !== null) return this.promise;
    const spec: Promise<ModelSpec> = this.options.model !== undefined ? resolveModelSpec(this.options.model, {}) : Promise.resolve(this.manifest.modelSpec);
    const created = spec
      .then((s) => createEncoder(s, this.options.encoderOptions ?? { threads: 1 }))
      .then(async (enc) => {
        try {
          checkModel(this.manifest.model, enc.info);
        } catch (e) {
          await enc.close();
          throw e;
        }
        return enc;
      });
    this.promise = created;
    created.catch(() => {
      this.promise = null;
    });
    return created;
  }

  /** Closes the encoder if this object created it. */
  async close(): Promise<void> {
    if (!this.owned || this.promise === null) return;
    const enc = await this.promise.catch(() => null);
    await enc?.close();
  }
}
