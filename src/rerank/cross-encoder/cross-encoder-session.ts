/**
 * One onnxruntime session of a cross-encoder graph: feeds whatever inputs the graph declares
 * (input_ids and attention_mask always; token_type_ids for BERT-style models, absent from XLM-R,
 * bge-reranker and ModernBERT exports; position_ids when an export asks for them) in the integer
 * type it declares, and returns the `logits` output (or the only output) as [batch, numLabels].
 * Lives on a cross-encoder worker thread (or in-process with threads = 0): `run` blocks its thread.
 */
import type * as ort from 'onnxruntime-node';
import { onnxRuntime } from '../../encoder/native-runtimes.js';
import { PlaitError } from '../../errors/index.js';
import type { PairBatch } from './pair-tokenizer.js';

export interface CrossSessionSpec {
  onnxPath: string;
  intraOpNumThreads: number;
}

export interface CrossForward {
  /** Row-major [batchSize, numLabels]. */
  logits: Float32Array;
  numLabels: number;
  /** Time inside onnxruntime's run, in ms. */
  forwardMs: number;
}

const KNOWN_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids', 'position_ids'] as const;
type InputName = (typeof KNOWN_INPUTS)[number];

export class CrossEncoderSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly inputs: { name: InputName; type: 'int64' | 'int32' }[],
    private readonly outputName: string,
    private readonly file: string,
  ) {}

  static async load(spec: CrossSessionSpec): Promise<CrossEncoderSession> {
    let session: ort.InferenceSession;
    try {
      session = await onnxRuntime().InferenceSession.create(spec.onnxPath, {
        intraOpNumThreads: spec.intraOpNumThreads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      });
    } catch (cause) {
      throw new PlaitError('MODEL_LOAD_FAILED', { message: `onnxruntime cannot load ${spec.onnxPath}: ${(cause as Error).message}`, file: spec.onnxPath }, { cause });
    }
    const unknown = session.inputNames.filter((n) => !(KNOWN_INPUTS as readonly string[]).includes(n));
    const outputName = session.outputNames.includes('logits') ? 'logits' : session.outputNames.length === 1 ? session.outputNames[0] : undefined;
    if (unknown.length > 0 || !session.inputNames.includes('input_ids') || outputName === undefined) {
      await session.release();
      throw new PlaitError('MODEL_LOAD_FAILED', {
        message:
          `${spec.onnxPath} takes inputs [${session.inputNames.join(', ')}] and gives [${session.outputNames.join(', ')}]; ` +
          `a cross-encoder takes ${KNOWN_INPUTS.join(', ')} (input_ids required) and gives "logits"`,
        file: spec.onnxPath,
      });
    }
    const inputs = session.inputNames.map((name, i) => {
      const meta = session.inputMetadata[i];
      const type = meta !== undefined && meta.isTensor && meta.type === 'int32' ? ('int32' as const) : ('int64' as const);
      return { name: name as InputName, type };
    });
    return new CrossEncoderSession(session, inputs, outputName, spec.onnxPath);
  }

  async run(batch: PairBatch): Promise<CrossForward> {
    const shape = [batch.batchSize, batch.seqLen];
    const feeds: Record<string, ort.Tensor> = {};
    for (const { name, type } of this.inputs) {
      let data: Int32Array;
      if (name === 'input_ids') data = batch.inputIds;
      else if (name === 'attention_mask') data = batch.attentionMask;
      else if (name === 'token_type_ids') data = batch.tokenTypeIds;
      else {
        data = new Int32Array(batch.batchSize * batch.seqLen);
        for (let i = 0; i < data.length; i++) data[i] = i % batch.seqLen;
      }
      feeds[name] = type === 'int32' ? new (onnxRuntime().Tensor)('int32', data, shape) : new (onnxRuntime().Tensor)('int64', BigInt64Array.from(data, (v) => BigInt(v)), shape);
    }
    const t = performance.now();
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      result = await this.session.run(feeds, [this.outputName]);
    } catch (cause) {
      throw new PlaitError('ENCODE_FAILED', { message: `onnxruntime (${this.file}): ${(cause as Error).message}` }, { cause });
    }
    const forwardMs = performance.now() - t;
    const out = result[this.outputName] as ort.Tensor;
    const dims = out.dims;
    const numLabels = dims.length === 1 ? 1 : dims.length === 2 ? dims[1]! : -1;
    if (out.type !== 'float32' || dims[0] !== batch.batchSize || numLabels < 1) {
      throw new PlaitError('ENCODE_FAILED', {
        message: `output "${this.outputName}" of ${this.file} has type ${out.type} and shape [${dims.join(', ')}]; expected float32 [${batch.batchSize}, numLabels]`,
      });
    }
    return { logits: Float32Array.from(out.data as Float32Array), numLabels, forwardMs };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
