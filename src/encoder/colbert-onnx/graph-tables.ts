/**
 * The sizes of an ONNX graph's embedding tables, read at load without reading its weights: one
 * walk of the protobuf's nodes and initializer headers with positional reads that skip every
 * tensor's data (onnx-output-shape.ts's walker), so a 440 MB graph is not read whole (26–54 ms a
 * walk of a 438 MB graph's headers, enc-14's figure). Two readers use it, each once a load on the
 * calling thread: graph-vocabulary.ts (the token table against the tokenizer's ids) and
 * position-window.ts (the position table against the configured lengths).
 *
 * - Token table: the first dimension of the initializer that a Gather node indexes with
 *   `input_ids` (directly or through Cast / Identity nodes).
 * - Position table: the first dimension of a 2-D initializer, as wide as the token table, that a
 *   Gather indexes with position ids — values computed from a Range (BERT exports and plait's own
 *   converter: Range(0, S)), a CumSum (RoBERTa's ids counted from the padding mask) or a tensor
 *   whose name says "position" (HF's sliced `position_ids` buffer, a `position_ids` input) — or
 *   whose own name says "position" (`embeddings.position_embeddings.weight`); onnxruntime's fused
 *   EmbedLayerNormalization names it as its fourth input.
 * A graph that does not show a table (behind a DequantizeLinear or a Constant node, a rotary
 * model's, which has none) gives null: the callers fall back to config.json or check nothing.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { FileCursor, firstMessage, walk } from './onnx-output-shape.js';

/** Rows of the graph's tables; null where the graph does not show one. */
export interface GraphTables {
  /** Token-embedding rows: the vocabulary the graph can embed. */
  embeddingRows: number | null;
  /** Position-embedding rows: positions 0…rows−1 (RoBERTa's first two unused, see position-window.ts). */
  positionRows: number | null;
}

/** Ops that pass token ids through unchanged on their way to the embedding Gather. */
const ID_PASSTHROUGH = new Set(['Cast', 'Identity']);
/** Ops whose output stays a position index when an input is one (slicing, reshaping, offsetting). */
const POSITION_PASSTHROUGH = new Set(['Cast', 'Identity', 'Unsqueeze', 'Squeeze', 'Reshape', 'Expand', 'Slice', 'Add', 'Sub', 'Mul', 'Tile', 'Flatten', 'CumSum']);
/** Ops whose output is a position index: Range(0, S), RoBERTa's CumSum of the padding mask. */
const POSITION_SOURCES = new Set(['Range', 'CumSum']);
const POSITION_NAME = /position/i;

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

const NONE: GraphTables = { embeddingRows: null, positionRows: null };

/** The tables of the ONNX graph `file` (see the module header); nulls when it cannot be walked. */
export function readGraphTables(file: string): GraphTables {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return NONE; // the loader names a missing graph itself
  }
  try {
    const c = new FileCursor(fd);
    const graph = firstMessage(c, 0, fstatSync(fd).size, 7);
    if (graph === null) return NONE;
    const ids = new Set(['input_ids']);
    const positions = new Set<string>();
    const tokenTables = new Set<string>();
    const positionTables = new Set<string>();
    const initializers: [number, number][] = [];
    // GraphProto: node = 1 (topologically sorted, so what feeds a Gather comes before it), initializer = 5.
    walk(c, graph[0], graph[1], (f, wire, from, to) => {
      if (wire !== 2) return true;
      if (f === 5) initializers.push([from, to]);
      else if (f === 1) {
        const n = readNode(c, from, to);
        if (ID_PASSTHROUGH.has(n.op) && ids.has(n.inputs[0] ?? '')) for (const o of n.outputs) ids.add(o);
        if (n.op === 'Gather' && n.inputs.length >= 2) {
          const [data, index] = [n.inputs[0]!, n.inputs[1]!];
          if (ids.has(index)) tokenTables.add(data);
          else if (positions.has(index) || POSITION_NAME.test(index) || POSITION_NAME.test(data)) positionTables.add(data);
        } else if (n.op === 'EmbedLayerNormalization') {
          if (n.inputs[2] !== undefined) tokenTables.add(n.inputs[2]);
          if (n.inputs[3] !== undefined) positionTables.add(n.inputs[3]);
        } else if (POSITION_SOURCES.has(n.op) || (POSITION_PASSTHROUGH.has(n.op) && n.inputs.some((i) => positions.has(i) || POSITION_NAME.test(i)))) {
          for (const o of n.outputs) positions.add(o);
        }
      }
      return true;
    });
    if (tokenTables.size === 0 && positionTables.size === 0) return NONE;
    let embeddingRows: number | null = null;
    let width: number | null = null;
    const candidates: number[][] = [];
    for (const [from, to] of initializers) {
      const t = readTensorHead(c, from, to);
      if (t.dims.length !== 2) continue;
      if (tokenTables.has(t.name)) {
        embeddingRows = Math.min(embeddingRows ?? Infinity, t.dims[0]!);
        width = t.dims[1]!;
      } else if (positionTables.has(t.name)) candidates.push(t.dims);
    }
    // A position table is as wide as the token table (a type-vocabulary table indexed by a sliced buffer is 2 rows, not positions).
    let positionRows: number | null = null;
    for (const dims of candidates) if (width === null || dims[1] === width) positionRows = Math.min(positionRows ?? Infinity, dims[0]!);
    return { embeddingRows, positionRows };
  } catch {
    return NONE;
  } finally {
    closeSync(fd);
  }
}
