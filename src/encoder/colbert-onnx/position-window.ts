/**
 * How many tokens a model can read: its position window, held against the lengths it is asked to
 * read (ColBERT's query_maxlen / doc_maxlen, PyLate's query_length / document_length, a
 * cross-encoder's max_length, and the options that override them). A window asked past the graph's
 * position table loaded without a word and failed at the first long text — onnxruntime's Gather or
 * broadcast error, ENCODE_FAILED (WORKER_FAILED before that was carried back) — in an index build, a
 * served /encode, a rerank.
 *
 * The rule, as ColBERT/PLAID's (a length its BERT cannot embed raises, it is not quietly shortened):
 * - a length someone chose past the window is refused when the model loads, naming both numbers:
 *   INVALID_ARGUMENT for an option (overrides, `--doc-maxlen`, `maxLength` / `--cross-max-length`),
 *   MODEL_UNSUPPORTED for a model file's setting (which file, which key, and the option that overrides it);
 * - a default no one chose (ColBERT's doc_maxlen 180 for a checkpoint that says nothing; a
 *   cross-encoder's max_position_embeddings or 512 guess) is cut to the window;
 * - a text longer than the window is truncated as ColBERT truncates it, never an error
 *   (colbert-inputs.ts; pair-tokenizer.ts for pairs).
 *
 * The window: the graph's position table (graph-tables.ts), less RoBERTa's two unused rows
 * (XLM-R/RoBERTa number positions from padding_idx + 1, so 514 rows hold 512 tokens); a graph
 * without one (rotary models such as ModernBERT; a table behind a DequantizeLinear) takes
 * config.json's max_position_embeddings; with neither, nothing is checked.
 */
import { PlaitError } from '../../errors/index.js';
import type { GraphTables } from './graph-tables.js';

/** config.json's model_type for the models whose first two position rows are never used. */
const OFFSET_POSITION_MODELS = /roberta|xlm|camembert/i;
/** The rows RoBERTa-style models leave unused (padding_idx + 1). */
const ROBERTA_POSITION_OFFSET = 2;

/** The tokens a model reads at most, and where that number comes from (for messages). */
export interface PositionWindow {
  tokens: number;
  /** E.g. "the position table of /m/model.onnx, 64 rows" or "config.json's max_position_embeddings, 8192". */
  from: string;
  onnxFile: string;
}

/** What config.json says of positions (either may be absent). */
export interface PositionConfig {
  modelType: string | null;
  maxPositionEmbeddings: number | null;
}

/**
 * The window of the graph `onnxFile` whose tables were read into `tables`, or null when neither the
 * graph nor config.json tells it.
 */
export function positionWindow(tables: GraphTables, config: PositionConfig, onnxFile: string): PositionWindow | null {
  const offset = config.modelType !== null && OFFSET_POSITION_MODELS.test(config.modelType) ? ROBERTA_POSITION_OFFSET : 0;
  const unused = offset > 0 ? `, the first ${offset} unused by ${config.modelType}` : '';
  if (tables.positionRows !== null && tables.positionRows > offset) {
    return { tokens: tables.positionRows - offset, from: `the position table of ${onnxFile}, ${tables.positionRows} rows${unused}`, onnxFile };
  }
  if (config.maxPositionEmbeddings !== null && config.maxPositionEmbeddings > offset) {
    return {
      tokens: config.maxPositionEmbeddings - offset,
      from: `config.json's max_position_embeddings, ${config.maxPositionEmbeddings}${unused}; the graph ${onnxFile} has no position table`,
      onnxFile,
    };
  }
  return null;
}

/** Where a length came from: a default, an option (its name), or a model file (its name and key). */
export type LengthSource = { kind: 'default' } | { kind: 'option'; name: string } | { kind: 'file'; file: string; key: string; option: string };

/**
 * `asked` when the window holds it; the window when `asked` is a default past it.
 * @throws PlaitError INVALID_ARGUMENT (an option past the window) or MODEL_UNSUPPORTED (a model
 *   file's setting past it), details { asked, positions, onnxFile, name | file + setting }
 */
export function fitLength(asked: number, source: LengthSource, window: PositionWindow | null): number {
  if (window === null || asked <= window.tokens) return asked;
  if (source.kind === 'default') return window.tokens;
  const because = `the model has ${window.tokens} positions (${window.from}) and cannot read a token past them`;
  if (source.kind === 'option') {
    throw new PlaitError('INVALID_ARGUMENT', {
      message: `Expected at most ${window.tokens} for ${source.name} but received ${asked}: ${because}`,
      name: source.name,
      asked,
      positions: window.tokens,
      onnxFile: window.onnxFile,
    });
  }
  throw new PlaitError('MODEL_UNSUPPORTED', {
    message: `${source.file} asks for ${source.key} ${asked} tokens but ${because}; set ${source.key} to at most ${window.tokens} there, or pass ${source.option} ≤ ${window.tokens}`,
    file: source.file,
    setting: source.key,
    asked,
    positions: window.tokens,
    onnxFile: window.onnxFile,
  });
}
