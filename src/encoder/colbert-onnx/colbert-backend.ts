/**
 * The colbert-onnx backend: tokenizes with the `tokenizers` binding, lays out ColBERT's inputs,
 * runs the ONNX graph (inputs `input_ids`, `attention_mask`, optional `token_type_ids`; first output
 * [batch, seq, dim]) and keeps, per text, the rows ColBERT keeps, each L2-normalised.
 */
import type * as ort from 'onnxruntime-node';
import { onnxRuntime } from '../native-runtimes.js';
import { PlaitError } from '../../errors/index.js';
import type { BackendOptions, EncoderBackend, ModelInfo, TextKind, TokenEmbeddings } from '../types.js';
import type { ColbertSpec } from './checkpoint-config.js';
import { buildBatch, type ColbertBatch } from './colbert-inputs.js';
import { loadColbertTokenizer, type LoadedColbertTokenizer } from './colbert-tokenizer.js';

const REQUIRED_INPUTS = ['input_ids', 'attention_mask'] as const;

export class ColbertOnnxBackend implements EncoderBackend {
  readonly info: ModelInfo;
  private readonly outputName: string;
  private readonly hasTokenTypes: boolean;

  private constructor(
    private readonly tokenizer: LoadedColbertTokenizer,
    private readonly session: ort.InferenceSession,
  ) {
    this.info = tokenizer.info;
    this.outputName = session.outputNames[0]!;
    this.hasTokenTypes = session.inputNames.includes('token_type_ids');
  }

  static async load(spec: ColbertSpec, options: BackendOptions): Promise<ColbertOnnxBackend> {
    // The calling thread's loadTokenizer (createEncoder) checked the ids and lengths against the graph.
    const tokenizer = await loadColbertTokenizer(spec, { checkGraph: false, ...(options.lengths === undefined ? {} : { lengths: options.lengths }) });
    const file = tokenizer.checkpoint.onnxPath;
    let session: ort.InferenceSession;
    try {
      session = await onnxRuntime().InferenceSession.create(file, {
        intraOpNumThreads: options.intraOpNumThreads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      });
    } catch (cause) {
      throw new PlaitError('MODEL_LOAD_FAILED', { message: `onnxruntime cannot load ${file}: ${(cause as Error).message}`, file }, { cause });
    }
    const missing = REQUIRED_INPUTS.filter((n) => !session.inputNames.includes(n));
    const extra = session.inputNames.filter((n) => !(REQUIRED_INPUTS as readonly string[]).includes(n) && n !== 'token_type_ids');
    if (missing.length > 0 || extra.length > 0 || session.outputNames.length === 0) {
      await session.release();
      throw new PlaitError('MODEL_LOAD_FAILED', {
        message: `${file} takes inputs [${session.inputNames.join(', ')}]; expected input_ids, attention_mask and optionally token_type_ids`,
        file,
      });
    }
    return new ColbertOnnxBackend(tokenizer, session);
  }

  async encode(texts: string[], kind: TextKind): Promise<TokenEmbeddings[]> {
    texts.forEach((t, i) => {
      if (typeof t !== 'string' || t.trim().length === 0) throw new PlaitError('EMPTY_TEXT', { message: `text ${i} is empty`, index: i });
    });
    if (texts.length === 0) return [];
    const contents = await this.tokenizer.contentIds(texts);
    const batch = buildBatch(contents, kind, this.tokenizer.special, this.tokenizer.settings);
    const output = await this.run(batch);
    return this.collect(batch, output);
  }

  private async run(batch: ColbertBatch): Promise<{ data: Float32Array; width: number }> {
    const shape = [batch.batchSize, batch.seqLen];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new (onnxRuntime().Tensor)('int64', batch.inputIds, shape),
      attention_mask: new (onnxRuntime().Tensor)('int64', batch.attentionMask, shape),
    };
    if (this.hasTokenTypes) feeds['token_type_ids'] = new (onnxRuntime().Tensor)('int64', new BigInt64Array(batch.inputIds.length), shape);
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      result = await this.session.run(feeds, [this.outputName]);
    } catch (cause) {
      throw new PlaitError('ENCODE_FAILED', { message: `onnxruntime: ${(cause as Error).message}` }, { cause });
    }
    const out = result[this.outputName] as ort.Tensor;
    const dims = out.dims;
    if (out.type !== 'float32' || dims.length !== 3 || dims[0] !== batch.batchSize || dims[1] !== batch.seqLen) {
      throw new PlaitError('ENCODE_FAILED', {
        message: `output "${this.outputName}" has type ${out.type} and shape [${dims.join(', ')}]; expected float32 [${batch.batchSize}, ${batch.seqLen}, dim]`,
      });
    }
    const width = dims[2]!;
    if (width < this.info.dim) {
      throw new PlaitError('DIMENSION_MISMATCH', { expected: this.info.dim, received: width });
    }
    return { data: out.data as Float32Array, width };
  }

  /** Copies each text's kept rows, the first `dim` of each (a smaller dim override truncates), L2-normalised. */
  private collect(batch: ColbertBatch, output: { data: Float32Array; width: number }): TokenEmbeddings[] {
    const dim = this.info.dim;
    const { data, width } = output;
    const result: TokenEmbeddings[] = [];
    for (let b = 0; b < batch.batchSize; b++) {
      const base = b * batch.seqLen;
      let rows = 0;
      for (let t = 0; t < batch.seqLen; t++) rows += batch.keep[base + t]!;
      const vectors = new Float32Array(rows * dim);
      const tokenIds = new Int32Array(rows);
      let r = 0;
      for (let t = 0; t < batch.seqLen; t++) {
        if (batch.keep[base + t] === 0) continue;
        const src = (base + t) * width;
        let norm = 0;
        for (let k = 0; k < dim; k++) norm += data[src + k]! * data[src + k]!;
        const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
        for (let k = 0; k < dim; k++) vectors[r * dim + k] = data[src + k]! * scale;
        tokenIds[r] = Number(batch.inputIds[base + t]);
        r++;
      }
      result.push({ vectors, length: rows, tokenIds });
    }
    return result;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
