/**
 * Random ModernBERT ColBERT checkpoints in PyLate's layouts, for the converter's tests and
 * benchmark: seeded weights under transformers' ModernBertModel names (Wqkv, GeGLU Wi/Wo, bias-free
 * norms), config.json with the real field names (global/local rope theta, local_attention,
 * global_attn_every_n_layers), `1_Dense/` projection, config_sentence_transformers.json with
 * "[Q] " / "[D] " prefixes, lengths, expansion and skiplist, and a byte-level BPE tokenizer.json
 * in ModernBERT's style ([CLS]/[SEP]/[PAD]/[MASK] added tokens after the vocabulary, no normalizer,
 * ByteLevel pre-tokenizer). Every word of WORDS is one token (BPE `ignore_merges`), so a test can
 * tokenize on its own with the GPT-2 split regex (bpeContentIds).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Random } from '../../src/util/random.js';
import { f32ToBf16, f32ToF16, safetensorsBytes, type FloatDtype, type Tensor, type Tensors } from './tiny-bert.js';
import { torchCheckpoint } from './torch-zip-writer.js';
import { PUNCTUATION } from '../../fixtures/tiny-colbert.js';

export interface ModernBertShape {
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  dim: number;
  /** Widths of a chain of Dense modules (1_Dense, 2_Dense, …), the last being dim; default [dim]. */
  denseWidths?: number[];
  /** Whole window (transformers' local_attention); keys at distance ≤ half of it are attended. */
  localAttention: number;
  globalEvery: number;
  globalTheta: number;
  localTheta: number;
  normEps: number;
  hiddenAct: 'gelu' | 'gelu_pytorch_tanh';
  normBias: boolean;
  attentionBias: boolean;
  mlpBias: boolean;
}

const WORDS =
  'what is late interaction retrieval protein gene study the quick brown fox jumps over lazy dog search engine index query document model cell of blood heat and water flow was run by people who read books in library after work'.split(' ');
/** Specials as ModernBERT's tokenizer has them, after the ordinary vocabulary. */
const SPECIALS = ['[UNK]', '[CLS]', '[SEP]', '[PAD]', '[MASK]'];
export const PREFIXES = ['[Q] ', '[D] '] as const;

/** GPT-2's byte → printable character map (bytes_to_unicode), as ByteLevel uses it. */
function byteChars(): string[] {
  const keep = (b: number): boolean => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out.push(keep(b) ? String.fromCharCode(b) : String.fromCharCode(256 + n++));
  return out;
}
const BYTE_CHARS = byteChars();
/** GPT-2's pre-tokenizer split (ByteLevel use_regex). */
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

function toByteLevel(s: string): string {
  return [...Buffer.from(s, 'utf8')].map((b) => BYTE_CHARS[b]!).join('');
}

/** The vocabulary, id = position: the 256 byte characters, WORDS with and without a leading space, " " + punctuation, then SPECIALS and PREFIXES. */
export function bpeVocab(): string[] {
  const vocab = [...BYTE_CHARS];
  for (const w of WORDS) vocab.push(w, toByteLevel(` ${w}`));
  for (const p of PUNCTUATION) vocab.push(toByteLevel(` ${p}`));
  vocab.push(...SPECIALS, ...PREFIXES);
  return [...new Set(vocab)];
}

/** Content ids of `text` by the split regex and whole-pre-token lookup (no plait code, no tokenizers binding). */
export function bpeContentIds(text: string): number[] {
  const vocab = bpeVocab();
  return (text.match(GPT2_SPLIT) ?? []).map((piece) => {
    const id = vocab.indexOf(toByteLevel(piece));
    if (id < 0) throw new Error(`"${piece}" is not one token of the tiny BPE vocabulary`);
    return id;
  });
}

export function bpeTokenizerJson(): string {
  const vocab = bpeVocab();
  const ids: Record<string, number> = {};
  vocab.forEach((t, i) => (ids[t] = i));
  const special = (content: string, lstrip = false): Record<string, unknown> => ({ id: ids[content], content, single_word: false, lstrip, rstrip: false, normalized: false, special: true });
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [...SPECIALS.map((s) => special(s, s === '[MASK]')), ...PREFIXES.map((p) => ({ ...special(p), special: false }))],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [ids['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [ids['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: true, vocab: ids, merges: [] },
  };
  return JSON.stringify(json, null, 1);
}

/** A window of 4 (keys within 2 positions) and a global layer every 3: with 16-token documents the window matters. */
export const TINY_MODERNBERT: ModernBertShape = {
  vocabSize: Math.ceil(bpeVocab().length / 8) * 8,
  hidden: 32,
  layers: 4,
  heads: 4,
  intermediate: 48,
  dim: 16,
  localAttention: 4,
  globalEvery: 3,
  globalTheta: 160_000,
  localTheta: 10_000,
  normEps: 1e-5,
  hiddenAct: 'gelu',
  normBias: false,
  attentionBias: false,
  mlpBias: false,
};

/** GTE-ModernColBERT-v1's shape (ModernBERT-base + a 768 → 128 Dense). */
export const GTE_MODERNCOLBERT_SHAPE: ModernBertShape = {
  vocabSize: 50368,
  hidden: 768,
  layers: 22,
  heads: 12,
  intermediate: 1152,
  dim: 128,
  localAttention: 128,
  globalEvery: 3,
  globalTheta: 160_000,
  localTheta: 10_000,
  normEps: 1e-5,
  hiddenAct: 'gelu',
  normBias: false,
  attentionBias: false,
  mlpBias: false,
};

export function denseWidths(s: ModernBertShape): number[] {
  return s.denseWidths ?? [s.dim];
}

/** Canonical name of Dense module k: `linear` (1_Dense), `linear2` (2_Dense), … */
export function projectionName(k: number): string {
  return k === 0 ? 'linear' : `linear${k + 1}`;
}

/** Seeded random weights under canonical names (no prefix; `linear.*` is the projection), torch [out, in] layout. */
export function randomModernBertTensors(s: ModernBertShape, seed: number): Tensors {
  const rnd = new Random(seed);
  const t: Tensors = new Map();
  const add = (name: string, shape: number[], scale: number, centre = 0): void => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = centre + (rnd.next() * 2 - 1) * scale;
    t.set(name, { shape, data });
  };
  const H = s.hidden;
  const linear = (name: string, inF: number, outF: number, bias: boolean): void => {
    add(`${name}.weight`, [outF, inF], Math.sqrt(3 / inF));
    if (bias) add(`${name}.bias`, [outF], 0.1);
  };
  const norm = (name: string): void => {
    add(`${name}.weight`, [H], 0.2, 1);
    if (s.normBias) add(`${name}.bias`, [H], 0.1);
  };
  add('embeddings.tok_embeddings.weight', [s.vocabSize, H], 1);
  norm('embeddings.norm');
  for (let l = 0; l < s.layers; l++) {
    const p = `layers.${l}.`;
    if (l > 0) norm(`${p}attn_norm`);
    linear(`${p}attn.Wqkv`, H, 3 * H, s.attentionBias);
    linear(`${p}attn.Wo`, H, H, s.attentionBias);
    norm(`${p}mlp_norm`);
    linear(`${p}mlp.Wi`, H, 2 * s.intermediate, s.mlpBias);
    linear(`${p}mlp.Wo`, s.intermediate, H, s.mlpBias);
  }
  norm('final_norm');
  let width = H;
  denseWidths(s).forEach((out, k) => {
    linear(projectionName(k), width, out, false);
    width = out;
  });
  return t;
}

function widenBf16(bits: number): number {
  return new Float32Array(Uint32Array.of((bits & 0xffff) << 16).buffer)[0]!;
}

function widenF16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  return exp === 0 ? sign * frac * 2 ** -24 : sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** The tensors as a file of `dtype` holds them (rounded to half precision), so the reference sees what the converter reads. */
export function roundedTo(t: Tensors, dtype: FloatDtype): Tensors {
  if (dtype === 'F32') return t;
  const round = dtype === 'F16' ? (v: number): number => widenF16(f32ToF16(v)) : (v: number): number => widenBf16(f32ToBf16(v));
  return new Map([...t].map(([n, x]): [string, Tensor] => [n, { shape: x.shape, data: x.data.map(round) }]));
}

export type ModernBertLayout = 'pylate' | 'st-subfolder';

export interface ModernBertCheckpointOptions {
  layout?: ModernBertLayout;
  format?: 'safetensors' | 'torch';
  dtype?: FloatDtype;
  shape?: ModernBertShape;
  seed?: number;
  queryMaxlen?: number;
  docMaxlen?: number;
  /** PyLate's attend_to_expansion_tokens. */
  attendToExpansion?: boolean;
  /** Prefix of the transformer's tensor names ('' as sentence-transformers saves, 'model.' as ModernBertForMaskedLM). */
  tensorPrefix?: string;
  configOverrides?: Record<string, unknown>;
  withTokenizer?: boolean;
}

export interface WrittenModernBert {
  dir: string;
  shape: ModernBertShape;
  /** What the weight files hold (rounded for F16 / BF16). */
  tensors: Tensors;
  queryMaxlen: number;
  docMaxlen: number;
  attendToExpansion: boolean;
}

export function modernBertConfigJson(s: ModernBertShape, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const ids = bpeVocab();
  return {
    architectures: ['ModernBertModel'],
    model_type: 'modernbert',
    vocab_size: s.vocabSize,
    hidden_size: s.hidden,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    intermediate_size: s.intermediate,
    hidden_activation: s.hiddenAct,
    max_position_embeddings: 8192,
    norm_eps: s.normEps,
    norm_bias: s.normBias,
    attention_bias: s.attentionBias,
    mlp_bias: s.mlpBias,
    global_rope_theta: s.globalTheta,
    local_rope_theta: s.localTheta,
    local_attention: s.localAttention,
    global_attn_every_n_layers: s.globalEvery,
    attention_dropout: 0,
    embedding_dropout: 0,
    mlp_dropout: 0,
    classifier_pooling: 'mean',
    pad_token_id: ids.indexOf('[PAD]'),
    cls_token_id: ids.indexOf('[CLS]'),
    sep_token_id: ids.indexOf('[SEP]'),
    bos_token_id: ids.indexOf('[CLS]'),
    eos_token_id: ids.indexOf('[SEP]'),
    torch_dtype: 'float32',
    transformers_version: '4.48.0',
    ...overrides,
  };
}

/** Writes a random ModernBERT ColBERT checkpoint into `dir` in PyLate's layout. */
export async function makeModernBertCheckpoint(dir: string, opts: ModernBertCheckpointOptions = {}): Promise<WrittenModernBert> {
  const shape = opts.shape ?? TINY_MODERNBERT;
  const dtype = opts.dtype ?? 'F32';
  const format = opts.format ?? 'safetensors';
  const raw = randomModernBertTensors(shape, opts.seed ?? 7);
  const queryMaxlen = opts.queryMaxlen ?? 16;
  const docMaxlen = opts.docMaxlen ?? 16;
  const attendToExpansion = opts.attendToExpansion ?? false;
  const prefix = opts.tensorPrefix ?? '';
  const sub = opts.layout === 'st-subfolder' ? '0_Transformer' : '';
  await mkdir(path.join(dir, sub), { recursive: true });
  const json = (rel: string, v: unknown): Promise<void> => writeFile(path.join(dir, rel), JSON.stringify(v, null, 2));
  const weightFile = format === 'torch' ? 'pytorch_model.bin' : 'model.safetensors';
  const write = async (file: string, entries: [string, Tensor][]): Promise<void> => {
    await writeFile(file, format === 'torch' ? torchCheckpoint(entries.map(([n, t]) => [n, { ...t, asTransposedView: n.endsWith('Wo.weight') }])) : safetensorsBytes(entries, dtype));
  };
  const transformer = [...raw].filter(([n]) => !n.startsWith('linear')).map(([n, t]): [string, Tensor] => [prefix + n, t]);
  await write(path.join(dir, sub, weightFile), transformer);
  await json(path.join(sub, 'config.json'), modernBertConfigJson(shape, opts.configOverrides));
  const modules: Record<string, unknown>[] = [{ idx: 0, name: '0', path: sub, type: 'sentence_transformers.models.Transformer' }];
  let width = shape.hidden;
  for (const [k, out] of denseWidths(shape).entries()) {
    const folder = `${k + 1}_Dense`;
    await mkdir(path.join(dir, folder), { recursive: true });
    await write(path.join(dir, folder, weightFile), [['linear.weight', raw.get(`${projectionName(k)}.weight`)!]]);
    await json(`${folder}/config.json`, { in_features: width, out_features: out, bias: false, activation_function: 'torch.nn.modules.linear.Identity' });
    modules.push({ idx: k + 1, name: String(k + 1), path: folder, type: 'pylate.models.Dense.Dense' });
    width = out;
  }
  await json('modules.json', modules);
  await json('config_sentence_transformers.json', {
    query_prefix: '[Q] ',
    document_prefix: '[D] ',
    query_length: queryMaxlen,
    document_length: docMaxlen,
    attend_to_expansion_tokens: attendToExpansion,
    skiplist_words: [...PUNCTUATION],
    do_query_expansion: true,
    similarity_fn_name: 'MaxSim',
  });
  if (opts.withTokenizer !== false) await writeFile(path.join(dir, sub, 'tokenizer.json'), bpeTokenizerJson());
  return { dir, shape, tensors: roundedTo(raw, format === 'torch' ? 'F32' : dtype), queryMaxlen, docMaxlen, attendToExpansion };
}
