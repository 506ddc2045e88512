/**
 * ColBERT's input conventions, as pure functions over token ids:
 * - query: [CLS] marker q… [SEP], padded with [MASK] to exactly queryMaxlen (query augmentation), the
 *   [MASK]s attended to when the checkpoint says so; every position gives an output row;
 * - document: [CLS] marker d… [SEP], truncated to docMaxlen keeping the final [SEP], batch-padded with
 *   [PAD]; pad rows and skiplist tokens (punctuation) are dropped after encoding.
 * The marker is one token id ([unused0]/[unused1], or PyLate's "[Q] "/"[D] " added tokens) or, when the
 * vocabulary has no such token, the ids of the marker text (a prefix measured in tokens).
 */
import type { RowToken, TextKind, TokenizedText } from '../types.js';

export interface SpecialIds {
  cls: number;
  sep: number;
  pad: number;
  mask: number;
  queryMarker: Int32Array;
  documentMarker: Int32Array;
  /** Token ids whose rows documents drop (sorted set). */
  skiplist: Set<number>;
}

export interface InputSettings {
  queryMaxlen: number;
  docMaxlen: number;
  attendToMaskTokens: boolean;
  queryExpansion: boolean;
}

/** One padded batch in the int64 layout onnxruntime wants, with which rows each text keeps. */
export interface ColbertBatch {
  batchSize: number;
  seqLen: number;
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  /** keep[b·seqLen + t] = 1 when row t of text b is part of its output. */
  keep: Uint8Array;
}

/** Content tokens that fit one window: maxlen less [CLS], [SEP] and the marker's tokens. */
export function contentRoom(maxlen: number, markerLength: number): number {
  return Math.max(0, maxlen - 2 - markerLength);
}

/** The unpadded sequence of one text: [CLS] marker content… [SEP], content truncated to fit maxlen. */
export function wrapTokens(content: ArrayLike<number>, kind: TextKind, ids: SpecialIds, s: InputSettings): number[] {
  const marker = kind === 'query' ? ids.queryMarker : ids.documentMarker;
  const maxlen = kind === 'query' ? s.queryMaxlen : s.docMaxlen;
  const room = contentRoom(maxlen, marker.length);
  const seq = [ids.cls, ...marker];
  for (let i = 0; i < Math.min(room, content.length); i++) seq.push(content[i]!);
  seq.push(ids.sep);
  return seq;
}

export function buildBatch(contents: readonly ArrayLike<number>[], kind: TextKind, ids: SpecialIds, s: InputSettings): ColbertBatch {
  const seqs = contents.map((c) => wrapTokens(c, kind, ids, s));
  const expand = kind === 'query' && s.queryExpansion;
  const seqLen = expand ? s.queryMaxlen : Math.max(...seqs.map((q) => q.length));
  const n = seqs.length;
  const inputIds = new BigInt64Array(n * seqLen);
  const attentionMask = new BigInt64Array(n * seqLen);
  const keep = new Uint8Array(n * seqLen);
  seqs.forEach((seq, b) => {
    const base = b * seqLen;
    for (let t = 0; t < seqLen; t++) {
      const real = t < seq.length;
      if (real) {
        const id = seq[t]!;
        inputIds[base + t] = BigInt(id);
        attentionMask[base + t] = 1n;
        // Queries keep every row; documents drop the skiplist (ColBERT masks punctuation).
        keep[base + t] = kind === 'query' || !ids.skiplist.has(id) ? 1 : 0;
      } else if (expand) {
        inputIds[base + t] = BigInt(ids.mask);
        attentionMask[base + t] = s.attendToMaskTokens ? 1n : 0n;
        keep[base + t] = 1;
      } else {
        inputIds[base + t] = BigInt(ids.pad);
      }
    }
  });
  return { batchSize: n, seqLen, inputIds, attentionMask, keep };
}

/**
 * The rows the backend keeps for one text, with roles and offsets, laid out by the same rules as
 * `wrapTokens` and `buildBatch`: [CLS], the marker, the content that fits, [SEP]; a query padded
 * with [MASK] rows to queryMaxlen when query augmentation is on; a document without its skiplist rows.
 */
export function rowLayout(tokens: TokenizedText, kind: TextKind, ids: SpecialIds, s: InputSettings): RowToken[] {
  const marker = kind === 'query' ? ids.queryMarker : ids.documentMarker;
  const maxlen = kind === 'query' ? s.queryMaxlen : s.docMaxlen;
  const room = contentRoom(maxlen, marker.length);
  const special = (id: number, role: RowToken['role']): RowToken => ({ id, role, start: -1, end: -1 });
  const rows: RowToken[] = [special(ids.cls, 'cls'), ...Array.from(marker, (m) => special(m, 'marker'))];
  const n = Math.min(room, tokens.ids.length);
  for (let i = 0; i < n; i++) {
    const id = tokens.ids[i]!;
    if (kind === 'document' && ids.skiplist.has(id)) continue;
    rows.push({ id, role: 'content', start: tokens.offsets[2 * i]!, end: tokens.offsets[2 * i + 1]! });
  }
  rows.push(special(ids.sep, 'sep'));
  if (kind === 'query' && s.queryExpansion) while (rows.length < s.queryMaxlen) rows.push(special(ids.mask, 'mask'));
  return rows;
}
