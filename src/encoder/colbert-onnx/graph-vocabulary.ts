/**
 * Does a tokenizer give ids that its ONNX graph can embed? A tokenizer.json that does not belong to
 * the graph beside it (a larger vocabulary, added tokens past the table, ids of another checkpoint)
 * loaded without a word and failed only at the first text or pair, with onnxruntime's
 * "Gather … indices element out of data bounds" (ENCODE_FAILED) — for an encoder, at the first
 * document of a build; for a cross-encoder, at the first query a server re-ranked.
 * `checkTokenizerFitsGraph` refuses it at load instead (MODEL_UNSUPPORTED, naming both sizes), for
 * both model roles: colbert-tokenizer.ts (encoders) and rerank/cross-encoder (cross-encoders).
 * Not MODEL_MISMATCH, though the files disagree: that code means "not the index's model" to its
 * readers (the CLI's hint "--model … is not the model this index was built with").
 *
 * - The graph's table: graph-tables.ts (the initializer a Gather indexes with `input_ids`). A graph
 *   that does not say (the table behind a DequantizeLinear or a Constant node, weights in a
 *   subgraph) is not checked: null, and the run reports what it reports.
 * - The tokenizer's ids: the largest id in tokenizer.json's model.vocab (an object of ids, or
 *   Unigram's array, ids 0…n−1), added_tokens and the padding id, plus one.
 */
import { PlaitError } from '../../errors/index.js';
import { readGraphTables } from './graph-tables.js';

/**
 * Rows of the token-embedding table of the ONNX graph `file` (the vocabulary it can embed), or
 * null when the graph does not show one (see the module header) or the file cannot be walked.
 */
export function readEmbeddingRows(file: string): number | null {
  return readGraphTables(file).embeddingRows;
}

/** One past the largest id a parsed tokenizer.json can give (see the module header), or null when it lists none. */
export function tokenizerIdBound(json: unknown): number | null {
  const t = json as { model?: { vocab?: unknown }; added_tokens?: unknown; padding?: { pad_id?: unknown } | null } | null;
  let max = -1;
  const see = (id: unknown): void => {
    if (typeof id === 'number' && Number.isInteger(id)) max = Math.max(max, id);
  };
  const vocab = t?.model?.vocab;
  if (Array.isArray(vocab)) max = Math.max(max, vocab.length - 1);
  else if (vocab !== null && typeof vocab === 'object') for (const id of Object.values(vocab)) see(id);
  if (Array.isArray(t?.added_tokens)) for (const a of t.added_tokens as { id?: unknown }[]) see(a?.id);
  see(t?.padding?.pad_id);
  return max < 0 ? null : max + 1;
}

/**
 * Refuses a tokenizer whose ids reach past the graph's embedding table.
 * @param onnxPath the graph; tokenizerPath and tokenizerJson (parsed) its tokenizer.json;
 *   embeddingRows the table's rows when the caller has walked the graph already (readGraphTables)
 * @throws PlaitError MODEL_UNSUPPORTED with details { file: tokenizerPath, onnxFile, tokenizerIds, graphRows }
 */
export function checkTokenizerFitsGraph(onnxPath: string, tokenizerPath: string, tokenizerJson: unknown, embeddingRows?: number | null): void {
  const bound = tokenizerIdBound(tokenizerJson);
  if (bound === null) return;
  const rows = embeddingRows === undefined ? readEmbeddingRows(onnxPath) : embeddingRows;
  if (rows === null || bound <= rows) return;
  throw new PlaitError('MODEL_UNSUPPORTED', {
    message:
      `${tokenizerPath} gives token ids up to ${bound - 1} (${bound} ids) but the graph ${onnxPath} embeds ${rows} tokens (ids 0–${rows - 1}); ` +
      'does tokenizer.json belong to this graph?',
    file: tokenizerPath,
    onnxFile: onnxPath,
    tokenizerIds: bound,
    graphRows: rows,
  });
}
