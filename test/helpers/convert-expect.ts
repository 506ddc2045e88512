/**
 * What a converted tiny checkpoint must output, computed without plait's tokenizer or converter:
 * the tiny vocabulary maps each lower-cased word / punctuation mark to one id, ColBERT's input
 * layout is spelled out here ([CLS] marker content [SEP], queries padded with [MASK] to
 * query_maxlen, documents truncated to doc_maxlen with punctuation rows dropped), and the rows come
 * from the float64 reference forward pass.
 */
import assert from 'node:assert/strict';
import type { TokenEmbeddings } from '../../src/encoder/types.js';
import { referenceColbert } from './reference-bert.js';
import { PUNCTUATION, tinyVocab } from '../../fixtures/tiny-colbert.js';
import type { WrittenCheckpoint } from './tiny-bert.js';
import { referenceModernColbert } from './reference-modernbert.js';
import { bpeContentIds, bpeVocab, type WrittenModernBert } from './tiny-modernbert.js';

export interface ExpectedText {
  ids: number[];
  rows: Float64Array[];
}

export function vocabOf(ck: WrittenCheckpoint): string[] {
  return [...tinyVocab(), ...(ck.markers[0] === '[Q] ' ? ['[Q] ', '[D] '] : [])];
}

/** Content ids of a text made of tiny-vocabulary words and punctuation. */
export function contentIds(vocab: string[], text: string): number[] {
  return (text.toLowerCase().match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? []).map((w) => {
    const i = vocab.indexOf(w);
    assert.ok(i >= 0, `"${w}" is in the tiny vocabulary`);
    return i;
  });
}

export function expectedEncoding(ck: WrittenCheckpoint, text: string, kind: 'query' | 'document'): ExpectedText {
  const vocab = vocabOf(ck);
  const id = (t: string): number => vocab.indexOf(t);
  const maxlen = kind === 'query' ? ck.queryMaxlen : ck.docMaxlen;
  const marker = id(kind === 'query' ? ck.markers[0] : ck.markers[1]);
  const seq = [id('[CLS]'), marker, ...contentIds(vocab, text).slice(0, maxlen - 3), id('[SEP]')];
  const mask = seq.map(() => 1);
  if (kind === 'query') {
    while (seq.length < maxlen) {
      seq.push(id('[MASK]'));
      mask.push(ck.attendToMaskTokens ? 1 : 0);
    }
  }
  const rows = referenceColbert(ck.tensors, ck.shape, seq, mask, { bias: ck.projectionBias, tanh: ck.projectionTanh });
  const punctuation = new Set([...PUNCTUATION].map(id));
  const keep = seq.map((t) => kind === 'query' || !punctuation.has(t));
  return { ids: seq.filter((_, i) => keep[i]), rows: rows.filter((_, i) => keep[i]) };
}

/** Largest |actual − expected| over all rows; asserts the kept token ids agree first. */
export function maxDeviation(actual: TokenEmbeddings, expected: ExpectedText, dim: number): number {
  assert.deepEqual(Array.from(actual.tokenIds), expected.ids, 'kept token ids');
  assert.equal(actual.length, expected.rows.length);
  let m = 0;
  expected.rows.forEach((row, r) => {
    for (let k = 0; k < dim; k++) m = Math.max(m, Math.abs(actual.vectors[r * dim + k]! - row[k]!));
  });
  return m;
}

/**
 * The rows a converted tiny ModernBERT must output, by PyLate's layout spelled out here:
 * [CLS] "[Q] "/"[D] " content [SEP], queries padded with [MASK] to query_length (attended only when
 * attend_to_expansion_tokens), documents truncated to document_length with the rows of exact
 * skiplist tokens (the punctuation characters, PyLate's convert_tokens_to_ids) dropped.
 */
export function expectedModernEncoding(ck: WrittenModernBert, text: string, kind: 'query' | 'document'): ExpectedText {
  const vocab = bpeVocab();
  const id = (t: string): number => vocab.indexOf(t);
  const maxlen = kind === 'query' ? ck.queryMaxlen : ck.docMaxlen;
  const seq = [id('[CLS]'), id(kind === 'query' ? '[Q] ' : '[D] '), ...bpeContentIds(text).slice(0, maxlen - 3), id('[SEP]')];
  const mask = seq.map(() => 1);
  if (kind === 'query') {
    while (seq.length < maxlen) {
      seq.push(id('[MASK]'));
      mask.push(ck.attendToExpansion ? 1 : 0);
    }
  }
  const rows = referenceModernColbert(ck.tensors, ck.shape, seq, mask);
  const skip = new Set([...PUNCTUATION].map(id));
  const keep = seq.map((t) => kind === 'query' || !skip.has(t));
  return { ids: seq.filter((_, i) => keep[i]), rows: rows.filter((_, i) => keep[i]) };
}
