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
 * - The graph's table: the first dimension of the initializer that a Gather node indexes with
 *   `input_ids` (directly or through Cast / Identity nodes), read with positional reads that skip
 *   every tensor's data (onnx-output-shape.ts's walker), so a 440 MB graph is not read whole.
 *   A graph that does not say (the table behind a DequantizeLinear or a Constant node, weights in a
 *   subgraph) is not checked: null, and the run reports what it reports.
 * - The tokenizer's ids: the largest id in tokenizer.json's model.vocab (an object of ids, or
 *   Unigram's array, ids 0…n−1), added_tokens and the padding id, plus one.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { PlaitError } from '../../errors/index.js';
import { FileCursor, firstMessage, walk } from './onnx-output-shape.js';

/** Ops that pass token ids through unchanged on their way to the embedding Gather. */
const ID_PASSTHROUGH = new Set(['Cast', 'Identity']);

interface NodeHead {
  op: string;
  inputs: string[];
  outputs: string[];
}

/** NodeProto: input = 1, output = 2, op_type = 4 (attributes, field 5, are skipped). */
function readNode(c: FileCursor, from: number, to: number): NodeHead {
  const head: NodeHead = { op: '', inputs: [], outputs: [] };
  walk(c, from, to, (f, wire, a, b) => {
    if (wire !== 2) return true;
    if (f === 1) head.inputs.push(c.text(a, b));
    else if (f === 2) head.outputs.push(c.text(a, b));
    else if (f === 4) head.op = c.text(a, b);
    return true;
  });
  return head;
}

/** TensorProto: dims = 1 (packed or not), name = 8; raw_data (9) is skipped by its length. */
function readTensorHead(c: FileCursor, from: number, to: number): { name: string; dims: number[] } {
  let name = '';
  const dims: number[] = [];
  walk(c, from, to, (f, wire, a, b) => {
    if (f === 8 && wire === 2) name = c.text(a, b);
    else if (f === 1 && wire === 0) dims.push(c.varint(a).value);
    else if (f === 1 && wire === 2) for (let p = a; p < b; ) {
      const v = c.varint(p);
      dims.push(v.value);
      p = v.next;
    }
    return true;
  });
  return { name, dims };
}

/**
 * Rows of the token-embedding table of the ONNX graph `file` (the vocabulary it can embed), or
 * null when the graph does not show one (see the module header) or the file cannot be walked.
 */
export function readEmbeddingRows(file: string): number | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null; // the loader names a missing graph itself
  }
  try {
    const c = new FileCursor(fd);
    const graph = firstMessage(c, 0, fstatSync(fd).size, 7);
    if (graph === null) return null;
    const ids = new Set(['input_ids']);
    const tables = new Set<string>();
    const initializers: [number, number][] = [];
    // GraphProto: node = 1 (topologically sorted, so a Cast of input_ids comes before its Gather), initializer = 5.
    walk(c, graph[0], graph[1], (f, wire, from, to) => {
      if (wire !== 2) return true;
      if (f === 5) initializers.push([from, to]);
      else if (f === 1) {
        const n = readNode(c, from, to);
        if (ID_PASSTHROUGH.has(n.op) && ids.has(n.inputs[0] ?? '')) for (const o of n.outputs) ids.add(o);
        else if (n.op === 'Gather' && n.inputs.length >= 2 && ids.has(n.inputs[1]!)) tables.add(n.inputs[0]!);
      }
      return true;
    });
    if (tables.size === 0) return null;
    let rows: number | null = null;
    for (const [from, to] of initializers) {
      const t = readTensorHead(c, from, to);
      if (tables.has(t.name) && t.dims.length === 2) rows = Math.min(rows ?? Infinity, t.dims[0]!);
    }
    return rows;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
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
 * @param onnxPath the graph; tokenizerPath and tokenizerJson (parsed) its tokenizer.json
 * @throws PlaitError MODEL_UNSUPPORTED with details { file: tokenizerPath, onnxFile, tokenizerIds, graphRows }
 */
export function checkTokenizerFitsGraph(onnxPath: string, tokenizerPath: string, tokenizerJson: unknown): void {
  const bound = tokenizerIdBound(tokenizerJson);
  if (bound === null) return;
  const rows = readEmbeddingRows(onnxPath);
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
