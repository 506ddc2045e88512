/**
 * A tiny, self-generated ColBERT checkpoint for the tests: a one-layer transformer in ONNX with
 * seeded random weights (token + position embeddings, LayerNorm, one masked self-attention layer,
 * a linear projection to `dim`) plus a hand-written BERT WordPiece `tokenizer.json` and the config
 * files of the chosen layout (colbert-ir/colbertv2.0, PyLate export, or answerai-colbert-small).
 */
import { mulberry32 as rng } from '../../src/util/random.js';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DataType, model, node, tensor, valueInfo, type ProtoWriter } from './onnx-proto.js';

export type TinyLayout = 'colbertv2' | 'pylate' | 'answerai';

export interface TinyColbertOptions {
  dim?: number;
  hidden?: number;
  layout?: TinyLayout;
  seed?: number;
}

/** string.punctuation, in Python's order. */
export const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

const WORDS = (
  'the of and to in a is that for it as was with be by on not he i this are or his from at which but have an ' +
  'they you were her she there one all we their can has more been would will other when who what so no its if ' +
  'out about up them into some could him time than only do like then now these may people any new first also ' +
  'after two how our over well way even because work most use through years where much should must before ' +
  'hello world search engine index query document model token vector late interaction retrieval text word ' +
  'cell cells protein gene blood cancer patient study result data flow wing pressure heat air information ' +
  'system library science paper books read run running play quick brown fox jumps lazy dog cat house water ' +
  'café naïve über résumé'
).split(' ');
const SUFFIXES = ['s', 'es', 'ed', 'ing', 'ly', 'er', 'est', 'tion', 'ness', 'ment', 'al', 'ity'];
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const SPECIALS = ['[PAD]', '[unused0]', '[unused1]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** The tiny vocabulary, id = position: specials first ([PAD] = 0), then punctuation, digits, letters, words, ##pieces. */
export function tinyVocab(): string[] {
  const seen = new Set<string>();
  const vocab: string[] = [];
  const add = (t: string): void => {
    if (!seen.has(t)) {
      seen.add(t);
      vocab.push(t);
    }
  };
  SPECIALS.forEach(add);
  [...PUNCTUATION].forEach(add);
  [...DIGITS].forEach(add);
  [...LETTERS].forEach(add);
  // The BERT normalizer strips accents only when lowercasing without an explicit strip_accents; keep both forms.
  WORDS.forEach((w) => add(w.normalize('NFD').replace(/\p{Mn}/gu, '')));
  SUFFIXES.forEach((s) => add(`##${s}`));
  [...LETTERS].forEach((l) => add(`##${l}`));
  [...DIGITS].forEach((d) => add(`##${d}`));
  return vocab;
}

function specialToken(id: number, content: string, special = true): Record<string, unknown> {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: !special, special };
}

/** A BERT-style tokenizer.json (BertNormalizer lowercase, BertPreTokenizer, WordPiece, [CLS] $A [SEP]). */
export function tinyTokenizerJson(extraTokens: readonly string[] = []): string {
  const vocab = tinyVocab();
  const vocabObj: Record<string, number> = {};
  vocab.forEach((t, i) => (vocabObj[t] = i));
  const cls = vocabObj['[CLS]']!;
  const sep = vocabObj['[SEP]']!;
  const added = SPECIALS.map((t) => specialToken(vocabObj[t]!, t));
  extraTokens.forEach((t, i) => {
    const entry = specialToken(vocab.length + i, t, false);
    entry['normalized'] = false;
    added.push(entry);
  });
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
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
        '[CLS]': { id: '[CLS]', ids: [cls], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [sep], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: vocabObj },
  };
  return JSON.stringify(json, null, 1);
}


export interface TinyGraphOptions {
  vocabSize: number;
  hidden: number;
  dim: number;
  maxPositions: number;
  withTokenTypes: boolean;
  outputName: string;
  seed: number;
}

/** The ONNX bytes of the one-layer encoder (opset 17, for LayerNormalization). */
export function tinyOnnxModel(o: TinyGraphOptions): Uint8Array {
  const rand = rng(o.seed);
  const weights = (n: number, scale: number): Float32Array => {
    const w = new Float32Array(n);
    for (let i = 0; i < n; i++) w[i] = (rand() * 2 - 1) * scale;
    return w;
  };
  const H = o.hidden;
  const init: ProtoWriter[] = [
    tensor('W_tok', [o.vocabSize, H], weights(o.vocabSize * H, 1)),
    tensor('W_pos', [o.maxPositions, H], weights(o.maxPositions * H, 0.3)),
    tensor('ln1_g', [H], new Float32Array(H).fill(1)),
    tensor('ln1_b', [H], new Float32Array(H)),
    tensor('ln2_g', [H], new Float32Array(H).fill(1)),
    tensor('ln2_b', [H], new Float32Array(H)),
    tensor('W_q', [H, H], weights(H * H, 1 / Math.sqrt(H))),
    tensor('W_k', [H, H], weights(H * H, 1 / Math.sqrt(H))),
    tensor('W_v', [H, H], weights(H * H, 1 / Math.sqrt(H))),
    tensor('W_o', [H, H], weights(H * H, 1 / Math.sqrt(H))),
    tensor('W_proj', [H, o.dim], weights(H * o.dim, 1 / Math.sqrt(H))),
    tensor('c_zero', [], BigInt64Array.of(0n)),
    tensor('c_one', [], BigInt64Array.of(1n)),
    tensor('c_axes1', [1], BigInt64Array.of(1n)),
    tensor('c_onef', [], Float32Array.of(1)),
    tensor('c_neg', [], Float32Array.of(-10000)),
    tensor('c_scale', [], Float32Array.of(1 / Math.sqrt(H))),
  ];
  const nodes: ProtoWriter[] = [
    node('Gather', ['W_tok', 'input_ids'], ['tok']),
    node('Shape', ['input_ids'], ['shp']),
    node('Gather', ['shp', 'c_one'], ['seqlen'], { axis: 0 }),
    node('Range', ['c_zero', 'seqlen', 'c_one'], ['pos_ids']),
    node('Gather', ['W_pos', 'pos_ids'], ['pos']),
    node('Add', ['tok', 'pos'], ['emb0']),
  ];
  let emb = 'emb0';
  if (o.withTokenTypes) {
    init.push(tensor('W_type', [2, H], weights(2 * H, 0.3)));
    nodes.push(node('Gather', ['W_type', 'token_type_ids'], ['typ']), node('Add', ['emb0', 'typ'], ['emb1']));
    emb = 'emb1';
  }
  nodes.push(
    node('LayerNormalization', [emb, 'ln1_g', 'ln1_b'], ['x'], { axis: -1, epsilon: { float: 1e-12 } }),
    node('MatMul', ['x', 'W_q'], ['q']),
    node('MatMul', ['x', 'W_k'], ['k']),
    node('MatMul', ['x', 'W_v'], ['v']),
    node('Transpose', ['k'], ['kt'], { perm: [0, 2, 1] }),
    node('MatMul', ['q', 'kt'], ['s0']),
    node('Mul', ['s0', 'c_scale'], ['s1']),
    node('Cast', ['attention_mask'], ['mf'], { to: DataType.FLOAT }),
    node('Sub', ['c_onef', 'mf'], ['inv']),
    node('Mul', ['inv', 'c_neg'], ['madd']),
    node('Unsqueeze', ['madd', 'c_axes1'], ['madd3']),
    node('Add', ['s1', 'madd3'], ['s2']),
    node('Softmax', ['s2'], ['p'], { axis: -1 }),
    node('MatMul', ['p', 'v'], ['ctx']),
    node('MatMul', ['ctx', 'W_o'], ['att']),
    node('Add', ['att', 'x'], ['res']),
    node('LayerNormalization', ['res', 'ln2_g', 'ln2_b'], ['h'], { axis: -1, epsilon: { float: 1e-12 } }),
    node('MatMul', ['h', 'W_proj'], [o.outputName]),
  );
  const inputs = [valueInfo('input_ids', DataType.INT64, ['batch', 'sequence']), valueInfo('attention_mask', DataType.INT64, ['batch', 'sequence'])];
  if (o.withTokenTypes) inputs.push(valueInfo('token_type_ids', DataType.INT64, ['batch', 'sequence']));
  return model(
    { name: 'tiny-colbert', nodes, initializers: init, inputs, outputs: [valueInfo(o.outputName, DataType.FLOAT, ['batch', 'sequence', o.dim])] },
    17,
  );
}

/** Writes a tiny checkpoint of the given layout into `dir` (created if needed). */
export async function makeTinyColbert(dir: string, opts: TinyColbertOptions = {}): Promise<void> {
  const layout = opts.layout ?? 'colbertv2';
  const dim = opts.dim ?? (layout === 'answerai' ? 96 : 128);
  const hidden = opts.hidden ?? 32;
  const seed = opts.seed ?? 7;
  await mkdir(dir, { recursive: true });
  const extra = layout === 'pylate' ? ['[Q] ', '[D] '] : [];
  const vocabSize = tinyVocab().length + extra.length;
  const graph: TinyGraphOptions = {
    vocabSize,
    hidden,
    dim,
    maxPositions: 512,
    withTokenTypes: layout === 'colbertv2',
    outputName: layout === 'answerai' ? 'contextual' : layout === 'pylate' ? 'token_embeddings' : 'last_hidden_state',
    seed,
  };
  const onnxFile = layout === 'answerai' ? 'vespa_colbert.onnx' : 'model.onnx';
  await writeFile(path.join(dir, onnxFile), tinyOnnxModel(graph));
  await writeFile(path.join(dir, 'tokenizer.json'), tinyTokenizerJson(extra));
  const write = (name: string, value: unknown): Promise<void> => writeFile(path.join(dir, name), JSON.stringify(value, null, 2));
  const bertConfig = { architectures: ['HF_ColBERT'], hidden_size: hidden, model_type: 'bert', vocab_size: vocabSize, max_position_embeddings: 512 };
  if (layout === 'colbertv2') {
    await write('config.json', bertConfig);
    await write('artifact.metadata', {
      query_token_id: '[unused0]',
      doc_token_id: '[unused1]',
      query_maxlen: 32,
      doc_maxlen: 180,
      dim,
      mask_punctuation: true,
      similarity: 'cosine',
      // Explicit: this layout's tests exercise attention to the [MASK] rows (ColBERT's default is false).
      attend_to_mask_tokens: true,
    });
  } else if (layout === 'answerai') {
    await write('config.json', bertConfig);
    await write('artifact.metadata', { query_maxlen: 32, doc_maxlen: 300, dim, mask_punctuation: true, attend_to_mask_tokens: false });
  } else {
    await write('config.json', { ...bertConfig, architectures: ['BertModel'] });
    await write('config_sentence_transformers.json', {
      query_prefix: '[Q] ',
      document_prefix: '[D] ',
      query_length: 32,
      document_length: 180,
      attend_to_expansion_tokens: false,
      skiplist_words: [...PUNCTUATION],
      do_query_expansion: true,
    });
  }
}
