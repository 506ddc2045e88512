/**
 * Finds a cross-encoder's files in the layouts the Hugging Face hub serves and reads its settings:
 * - transformers.js exports (Xenova/ms-marco-MiniLM-L-6-v2, cross-encoder/…'s `onnx/` folder):
 *   `onnx/model.onnx` (+ `onnx/model_quantized.onnx`, `onnx/model_int8.onnx`), with `tokenizer.json`
 *   and `config.json` at the root;
 * - optimum exports: `model.onnx` (+ `model_quantized.onnx`) at the root.
 * The variant option picks the file; the pair length comes from, first found: the option,
 * tokenizer.json's truncation.max_length, tokenizer_config.json's model_max_length,
 * config.json's max_position_embeddings (less RoBERTa's 2 offset positions), CROSS_ENCODER_DEFAULTS;
 * then held to the graph's position window (encoder/colbert-onnx/position-window.ts): the option or a
 * tokenizer file's length past it is refused (INVALID_ARGUMENT / MODEL_UNSUPPORTED, both numbers
 * named), config.json's or the default length is cut to it (source 'graph'); it had loaded, and the
 * first long pair failed with onnxruntime's error (ENCODE_FAILED).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CROSS_ENCODER_DEFAULTS } from '../../config/defaults.js';
import { PlaitError, invalidArgument, checkStringArray } from '../../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../../util/option-keys.js';
import { readOutputShape } from '../../encoder/colbert-onnx/onnx-output-shape.js';
import { readGraphTables } from '../../encoder/colbert-onnx/graph-tables.js';
import { fitLength, positionWindow, type LengthSource } from '../../encoder/colbert-onnx/position-window.js';

/** fp32: model.onnx; quantized: model_quantized.onnx (transformers.js/optimum dynamic int8); int8: model_int8.onnx. */
export type CrossEncoderVariant = 'fp32' | 'quantized' | 'int8';

export const VARIANT_FILES: Record<CrossEncoderVariant, string> = {
  fp32: 'model.onnx',
  quantized: 'model_quantized.onnx',
  int8: 'model_int8.onnx',
};

/** Where a variant's graph may be, in the order tried: transformers.js's onnx/ folder, then the root. */
export function onnxCandidates(variant: CrossEncoderVariant): string[] {
  const file = VARIANT_FILES[variant];
  return [`onnx/${file}`, file];
}

/** Settings files a hub pull fetches beside the graph (each optional). */
export const CROSS_ENCODER_SETTINGS_FILES = ['config.json', 'tokenizer_config.json', 'special_tokens_map.json'] as const;

export interface CrossEncoderFiles {
  dir: string;
  name: string;
  onnxPath: string;
  tokenizerPath: string;
  /** Longest pair in tokens, specials included. */
  maxLength: number;
  /** Where maxLength came from (for messages and docs); 'graph': the graph's position window, which a length no one chose was cut to. */
  maxLengthSource: 'option' | 'tokenizer.json' | 'tokenizer_config.json' | 'config.json' | 'default' | 'graph';
  /** Rows of the graph's token-embedding table (graph-tables.ts), null when it does not show one: the tokenizer is checked against it. */
  embeddingRows: number | null;
  /** config.json's id2label by class index (empty when absent). */
  labels: string[];
}

function readJson(file: string): Record<string, unknown> | null {
  if (!existsSync(file)) return null;
  try {
    const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch (cause) {
    throw new PlaitError('MODEL_LOAD_FAILED', { message: `${file} is not valid JSON`, file }, { cause });
  }
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}

/** crossEncoderFiles' options: the graph variant or file, the length cap, the name to report. */
export interface CrossEncoderFilesOptions {
  variant?: CrossEncoderVariant;
  onnxFile?: string;
  maxLength?: number;
  name?: string;
}
const CROSS_ENCODER_FILES_OPTION_KEYS = { variant: true, onnxFile: true, maxLength: true, name: true } as const satisfies OptionKeys<CrossEncoderFilesOptions>;

/** The cross-encoder files in `dir`; `onnxFile` (relative) overrides the variant's candidates. */
export function crossEncoderFiles(dir: string, opts: CrossEncoderFilesOptions = {}): CrossEncoderFiles {
  checkOptionKeys(opts, CROSS_ENCODER_FILES_OPTION_KEYS, 'crossEncoderFiles option');
  const variant = opts.variant ?? 'fp32';
  if (!(variant in VARIANT_FILES)) throw invalidArgument('variant', '"fp32", "quantized" or "int8"', variant);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new PlaitError('MODEL_NOT_FOUND', { message: `no cross-encoder folder at ${dir}`, dir });
  const candidates = opts.onnxFile === undefined ? onnxCandidates(variant) : [opts.onnxFile];
  // onnxFile may be absolute: a graph converted from the folder's weights lives in the model cache.
  const onnx = candidates.find((f) => existsSync(path.resolve(dir, f)));
  const tokenizerPath = path.join(dir, 'tokenizer.json');
  const missing = [...(onnx === undefined ? [candidates.join(' or ')] : []), ...(existsSync(tokenizerPath) ? [] : ['tokenizer.json'])];
  if (onnx === undefined || missing.length > 0) {
    throw new PlaitError('MODEL_FILE_MISSING', { message: `${dir} has no ${missing.join(', nor ')}`, dir, missing });
  }
  // A ColBERT encoder named as the cross-encoder failed at its first pair (WORKER_FAILED: output "embeddings" …
  // expected [1, numLabels]), a server's warm-up included; its graph declares one vector per token.
  const shape = readOutputShape(path.resolve(dir, onnx));
  if (shape !== null && shape.length === 3) {
    throw new PlaitError('MODEL_UNSUPPORTED', {
      message: `${opts.name ?? dir} is not a cross-encoder: its ONNX graph's first output is one vector per token ([${shape.map((d) => d ?? '?').join(', ')}]), a ColBERT encoder's, not a score per pair ([batch, num_labels]); use it as the encoder model, and name a cross-encoder (e.g. a BertForSequenceClassification checkpoint) for this stage`,
      dir,
      model: opts.name ?? dir,
    });
  }
  const config = readJson(path.join(dir, 'config.json')) ?? {};
  const tokenizer = readJson(tokenizerPath) ?? {};
  const tokenizerConfig = readJson(path.join(dir, 'tokenizer_config.json')) ?? {};
  let maxLength: number = CROSS_ENCODER_DEFAULTS.maxLength;
  let maxLengthSource: CrossEncoderFiles['maxLengthSource'] = 'default';
  const truncation = tokenizer['truncation'] as { max_length?: unknown } | null | undefined;
  // transformers writes model_max_length = 1e30 when it does not know; only believe real lengths.
  const fromTokenizerConfig = positiveInt(tokenizerConfig['model_max_length']);
  const positions = positiveInt(config['max_position_embeddings']);
  const modelType = typeof config['model_type'] === 'string' ? config['model_type'] : '';
  if (opts.maxLength !== undefined) {
    if (positiveInt(opts.maxLength) === undefined || opts.maxLength < 4) throw invalidArgument('maxLength', 'an integer ≥ 4', opts.maxLength);
    maxLength = opts.maxLength;
    maxLengthSource = 'option';
  } else if (positiveInt(truncation?.max_length) !== undefined) {
    maxLength = truncation!.max_length as number;
    maxLengthSource = 'tokenizer.json';
  } else if (fromTokenizerConfig !== undefined && fromTokenizerConfig < 1_000_000) {
    maxLength = fromTokenizerConfig;
    maxLengthSource = 'tokenizer_config.json';
  } else if (positions !== undefined) {
    // RoBERTa/XLM-R number positions from padding_idx + 1, so 514 embeddings hold 512 tokens.
    maxLength = /roberta|xlm/i.test(modelType) ? positions - 2 : positions;
    maxLengthSource = 'config.json';
  }
  // A length past the graph's positions failed at the first long pair: refused when chosen, cut when not.
  const onnxPath = path.resolve(dir, onnx);
  const tables = readGraphTables(onnxPath);
  const window = positionWindow(tables, { modelType: modelType === '' ? null : modelType, maxPositionEmbeddings: positions ?? null }, onnxPath);
  const source: LengthSource =
    maxLengthSource === 'option'
      ? { kind: 'option', name: 'maxLength' }
      : maxLengthSource === 'tokenizer.json'
        ? { kind: 'file', file: tokenizerPath, key: 'truncation.max_length', option: 'maxLength (--cross-max-length)' }
        : maxLengthSource === 'tokenizer_config.json'
          ? { kind: 'file', file: path.join(dir, 'tokenizer_config.json'), key: 'model_max_length', option: 'maxLength (--cross-max-length)' }
          : { kind: 'default' };
  const fitted = fitLength(maxLength, source, window);
  if (fitted !== maxLength) {
    maxLength = fitted;
    maxLengthSource = 'graph';
  }
  const labels: string[] = [];
  const id2label = config['id2label'];
  if (id2label !== null && typeof id2label === 'object') {
    for (const [k, v] of Object.entries(id2label as Record<string, unknown>)) {
      const i = Number(k);
      if (Number.isInteger(i) && i >= 0 && typeof v === 'string') labels[i] = v;
    }
  }
  return {
    dir,
    name: opts.name ?? path.basename(dir),
    onnxPath,
    tokenizerPath,
    maxLength,
    maxLengthSource,
    embeddingRows: tables.embeddingRows,
    labels: Array.from(labels, (l, i) => l ?? `LABEL_${i}`),
  };
}

const RELEVANT = new Set(['relevant', 'positive', 'pos', 'yes', 'true', 'entailment', 'match', '1', 'label_1']);

/**
 * The class whose softmax probability is the relevance score of a [B, 2] head: the label named
 * like "relevant"/"positive"/"LABEL_1" in config.json's id2label, else class 1 (the convention of
 * every two-class ms-marco and NLI-style reranker: 0 = not relevant, 1 = relevant).
 */
export function relevantClass(labels: readonly string[], numLabels: number, explicit?: string | number): number {
  checkStringArray('labels', labels, 'an array of class labels');
  if (explicit !== undefined) {
    const i = typeof explicit === 'number' ? explicit : labels.findIndex((l) => l === explicit);
    if (!Number.isInteger(i) || i < 0 || i >= numLabels) {
      throw invalidArgument('relevantLabel', `a class index in [0, ${numLabels}) or one of ${JSON.stringify(labels)}`, explicit);
    }
    return i;
  }
  const named = labels.findIndex((l, i) => i < numLabels && RELEVANT.has(l.trim().toLowerCase()));
  return named >= 0 ? named : Math.min(1, numLabels - 1);
}
