/**
 * Random BERT checkpoints in the layouts users download, for the converter's tests and benchmark:
 * seeded weights under transformers' names, written as safetensors (F32, F16 or BF16) or as a
 * PyTorch zip `pytorch_model.bin`, with config.json and the settings files of each layout
 * (ColBERT HF_ColBERT, PyLate at the root, sentence-transformers with `0_Transformer/`, a
 * BertForSequenceClassification cross-encoder) and the tiny WordPiece tokenizer.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Random } from '../../src/util/random.js';
import { PUNCTUATION, tinyTokenizerJson, tinyVocab } from '../../fixtures/tiny-colbert.js';
import { torchCheckpoint, type TorchTensorSpec } from './torch-zip-writer.js';

export interface BertShape {
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  maxPositions: number;
  typeVocab: number;
  /** ColBERT projection width (ignored by cross-encoders). */
  dim: number;
  numLabels: number;
  hiddenAct: 'gelu' | 'gelu_new' | 'relu';
  layerNormEps: number;
}

export type Tensor = { shape: number[]; data: Float32Array };
/** Canonical names: BERT keys without prefix, `linear.*` (projection), `pooler.dense.*`, `classifier.*`. */
export type Tensors = Map<string, Tensor>;

export type BertLayout = 'colbert' | 'pylate' | 'st-subfolder' | 'cross-encoder';
export type WeightFormat = 'safetensors' | 'torch';
export type FloatDtype = 'F32' | 'F16' | 'BF16';

export const TINY_SHAPE: BertShape = {
  vocabSize: tinyVocab().length,
  hidden: 32,
  layers: 2,
  heads: 4,
  intermediate: 64,
  maxPositions: 64,
  typeVocab: 2,
  dim: 16,
  numLabels: 1,
  hiddenAct: 'gelu',
  layerNormEps: 1e-12,
};

/** Seeded random BERT weights (+ projection, pooler and classifier), scaled so activations stay O(1). */
export function randomBertTensors(s: BertShape, seed: number, opts: { projectionBias?: boolean } = {}): Tensors {
  const rnd = new Random(seed);
  const t: Tensors = new Map();
  const add = (name: string, shape: number[], scale: number, centre = 0): void => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = centre + (rnd.next() * 2 - 1) * scale;
    t.set(name, { shape, data });
  };
  const H = s.hidden;
  const linear = (name: string, inF: number, outF: number, bias = true): void => {
    add(`${name}.weight`, [outF, inF], Math.sqrt(3 / inF));
    if (bias) add(`${name}.bias`, [outF], 0.1);
  };
  const norm = (name: string): void => {
    add(`${name}.weight`, [H], 0.2, 1);
    add(`${name}.bias`, [H], 0.1);
  };
  add('embeddings.word_embeddings.weight', [s.vocabSize, H], 1);
  add('embeddings.position_embeddings.weight', [s.maxPositions, H], 0.5);
  add('embeddings.token_type_embeddings.weight', [s.typeVocab, H], 0.5);
  norm('embeddings.LayerNorm');
  for (let l = 0; l < s.layers; l++) {
    const p = `encoder.layer.${l}.`;
    linear(`${p}attention.self.query`, H, H);
    linear(`${p}attention.self.key`, H, H);
    linear(`${p}attention.self.value`, H, H);
    linear(`${p}attention.output.dense`, H, H);
    norm(`${p}attention.output.LayerNorm`);
    linear(`${p}intermediate.dense`, H, s.intermediate);
    linear(`${p}output.dense`, s.intermediate, H);
    norm(`${p}output.LayerNorm`);
  }
  linear('linear', H, s.dim, opts.projectionBias === true);
  linear('pooler.dense', H, H);
  linear('classifier', H, s.numLabels);
  return t;
}

// ---- safetensors ----

export function f32ToBf16(v: number): number {
  const u = new Uint32Array(Float32Array.of(v).buffer)[0]!;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Nearest half (ties away from zero is close enough for weights of magnitude ≤ 2). */
export function f32ToF16(v: number): number {
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a >= 65504) return sign | 0x7bff;
  if (a < 2 ** -14) return sign | Math.round(a / 2 ** -24);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  let frac = Math.round((a / 2 ** e - 1) * 1024);
  if (frac === 1024) (frac = 0), e++;
  return sign | ((e + 15) << 10) | frac;
}

/** The bytes of a .safetensors file (F32/F16/BF16 floats; `extra` adds raw entries such as an I64 buffer). */
export function safetensorsBytes(entries: [string, Tensor][], dtype: FloatDtype = 'F32', extra: [string, { dtype: string; shape: number[]; bytes: Buffer }][] = []): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const bodies: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    let body: Buffer;
    if (dtype === 'F32') body = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    else {
      body = Buffer.alloc(t.data.length * 2);
      for (let i = 0; i < t.data.length; i++) body.writeUInt16LE(dtype === 'F16' ? f32ToF16(t.data[i]!) : f32ToBf16(t.data[i]!), i * 2);
    }
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + body.length] };
    bodies.push(body);
    offset += body.length;
  }
  for (const [name, e] of extra) {
    header[name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.bytes.length] };
    bodies.push(e.bytes);
    offset += e.bytes.length;
  }
  // An odd header length, so tensor data is not 4-byte aligned (the format does not promise it).
  let json = JSON.stringify(header);
  if ((8 + json.length) % 4 === 0) json += ' ';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([len, Buffer.from(json), ...bodies]);
}

// ---- layouts ----

export interface CheckpointOptions {
  layout: BertLayout;
  format?: WeightFormat;
  dtype?: FloatDtype;
  shape?: BertShape;
  seed?: number;
  docMaxlen?: number;
  queryMaxlen?: number;
  /** Override config.json fields (e.g. a wrong hidden_size, or another model_type). */
  configOverrides?: Record<string, unknown>;
  /** Skip tokenizer.json (the benchmark writes only what it measures). */
  withTokenizer?: boolean;
  /** Ship the slow tokenizer's vocab.txt + tokenizer_config.json instead of tokenizer.json (older repositories). */
  vocabTxtOnly?: boolean;
}

export interface WrittenCheckpoint {
  dir: string;
  shape: BertShape;
  tensors: Tensors;
  /** Marker tokens, query and document. */
  markers: [string, string];
  queryMaxlen: number;
  docMaxlen: number;
  attendToMaskTokens: boolean;
  /** Projection bias and activation the layout writes. */
  projectionBias: boolean;
  projectionTanh: boolean;
}

const BERT_KEYS = /^(embeddings|encoder)\./;

function configJson(s: BertShape, architecture: string, overrides: Record<string, unknown>): Record<string, unknown> {
  return {
    architectures: [architecture],
    model_type: 'bert',
    vocab_size: s.vocabSize,
    hidden_size: s.hidden,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    intermediate_size: s.intermediate,
    hidden_act: s.hiddenAct,
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    max_position_embeddings: s.maxPositions,
    type_vocab_size: s.typeVocab,
    layer_norm_eps: s.layerNormEps,
    position_embedding_type: 'absolute',
    pad_token_id: 0,
    ...overrides,
  };
}

async function writeWeights(file: string, entries: [string, Tensor][], format: WeightFormat, dtype: FloatDtype, withPositionIds: boolean): Promise<void> {
  if (format === 'torch') {
    const specs: [string, TorchTensorSpec][] = entries.map(([n, t]) => [n, { ...t, asTransposedView: n.endsWith('linear.weight') }]);
    await writeFile(file, torchCheckpoint(specs));
    return;
  }
  const extra: [string, { dtype: string; shape: number[]; bytes: Buffer }][] = [];
  if (withPositionIds) {
    const ids = BigInt64Array.from({ length: 8 }, (_, i) => BigInt(i));
    extra.push(['bert.embeddings.position_ids', { dtype: 'I64', shape: [1, 8], bytes: Buffer.from(ids.buffer) }]);
  }
  await writeFile(file, safetensorsBytes(entries, dtype, extra));
}

/** Writes a random checkpoint of `opts.layout` into `dir`; returns the canonical tensors for the reference. */
export async function makeBertCheckpoint(dir: string, opts: CheckpointOptions): Promise<WrittenCheckpoint> {
  const layout = opts.layout;
  const format = opts.format ?? 'safetensors';
  const dtype = opts.dtype ?? 'F32';
  const pylateLike = layout === 'pylate' || layout === 'st-subfolder';
  const extraTokens = pylateLike ? ['[Q] ', '[D] '] : [];
  const base = opts.shape ?? TINY_SHAPE;
  const shape: BertShape = { ...base, vocabSize: opts.shape === undefined ? tinyVocab().length + extraTokens.length : base.vocabSize };
  const projectionBias = layout === 'st-subfolder';
  const tensors = randomBertTensors(shape, opts.seed ?? 11, { projectionBias });
  const queryMaxlen = opts.queryMaxlen ?? 32;
  const docMaxlen = opts.docMaxlen ?? 16;
  const overrides = opts.configOverrides ?? {};
  await mkdir(dir, { recursive: true });
  const json = (rel: string, v: unknown): Promise<void> => writeFile(path.join(dir, rel), JSON.stringify(v, null, 2));
  const bert = [...tensors].filter(([n]) => BERT_KEYS.test(n));
  const tokenizer = async (rel: string): Promise<void> => {
    if (opts.withTokenizer === false) return;
    if (opts.vocabTxtOnly === true) {
      await writeFile(path.join(dir, path.dirname(rel), 'vocab.txt'), `${tinyVocab().join('\n')}\n`);
      await writeFile(path.join(dir, path.dirname(rel), 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true, tokenizer_class: 'BertTokenizer' }));
    } else await writeFile(path.join(dir, rel), tinyTokenizerJson(extraTokens));
  };
  const weightFile = format === 'torch' ? 'pytorch_model.bin' : 'model.safetensors';
  const projection = [...tensors].filter(([n]) => n.startsWith('linear.') && (projectionBias || n === 'linear.weight'));

  if (layout === 'colbert' || layout === 'cross-encoder') {
    const head =
      layout === 'colbert'
        ? projection
        : [...tensors].filter(([n]) => n.startsWith('pooler.') || n.startsWith('classifier.')).map(([n, t]): [string, Tensor] => [n.startsWith('pooler.') ? `bert.${n}` : n, t]);
    const entries: [string, Tensor][] = [...bert.map(([n, t]): [string, Tensor] => [`bert.${n}`, t]), ...head];
    await writeWeights(path.join(dir, weightFile), entries, format, dtype, true);
    const arch = layout === 'colbert' ? 'HF_ColBERT' : 'BertForSequenceClassification';
    const labels = layout === 'cross-encoder' ? { id2label: Object.fromEntries(Array.from({ length: shape.numLabels }, (_, i) => [String(i), `LABEL_${i}`])) } : {};
    await json('config.json', configJson(shape, arch, { ...labels, ...overrides }));
    if (layout === 'colbert') {
      await json('artifact.metadata', {
        query_token_id: '[unused0]',
        doc_token_id: '[unused1]',
        query_maxlen: queryMaxlen,
        doc_maxlen: docMaxlen,
        dim: shape.dim,
        mask_punctuation: true,
        attend_to_mask_tokens: false,
        similarity: 'cosine',
      });
    }
    await tokenizer('tokenizer.json');
  } else {
    const sub = layout === 'st-subfolder' ? '0_Transformer' : '';
    await mkdir(path.join(dir, sub), { recursive: true });
    await mkdir(path.join(dir, '1_Dense'), { recursive: true });
    await writeWeights(path.join(dir, sub, weightFile), bert, format, dtype, false);
    await json(path.join(sub, 'config.json'), configJson(shape, 'BertModel', overrides));
    await writeWeights(path.join(dir, '1_Dense', weightFile), projection, format, dtype, false);
    await json('1_Dense/config.json', {
      in_features: shape.hidden,
      out_features: shape.dim,
      bias: projectionBias,
      activation_function: projectionBias ? 'torch.nn.modules.activation.Tanh' : 'torch.nn.modules.linear.Identity',
    });
    await json('modules.json', [
      { idx: 0, name: '0', path: sub, type: 'sentence_transformers.models.Transformer' },
      { idx: 1, name: '1', path: '1_Dense', type: 'pylate.models.Dense.Dense' },
    ]);
    await json('config_sentence_transformers.json', {
      query_prefix: '[Q] ',
      document_prefix: '[D] ',
      query_length: queryMaxlen,
      document_length: docMaxlen,
      attend_to_expansion_tokens: true,
      skiplist_words: [...PUNCTUATION],
      do_query_expansion: true,
    });
    await tokenizer(path.join(sub, 'tokenizer.json'));
  }
  const markers: [string, string] = pylateLike ? ['[Q] ', '[D] '] : ['[unused0]', '[unused1]'];
  return { dir, shape, tensors, markers, queryMaxlen, docMaxlen, attendToMaskTokens: pylateLike, projectionBias, projectionTanh: projectionBias };
}
