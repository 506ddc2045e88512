/**
 * USE-lite's SentencePiece tokenizer: hand-checked pieces and offsets, then a differential test
 * against a brute-force Viterbi written independently here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SentencePieceTokenizer } from '../src/encoder/use-lite/index.js';
import { readVocabulary, resolveModelDir } from '../src/encoder/use-lite/model-files.js';
import type { Vocabulary } from '../src/encoder/use-lite/sentencepiece-tokenizer.js';
import { OracleSentencePieceTokenizer } from './helpers/sentencepiece-oracle.js';

const vocab = await readVocabulary(resolveModelDir());
const tokenizer = new SentencePieceTokenizer(vocab);
const idOf = new Map(vocab.map(([piece], id) => [piece, id]));

/** The original-text slice behind each token. */
function slices(text: string): string[] {
  const { ids, offsets } = tokenizer.tokenize(text);
  return Array.from(ids, (_, i) => text.slice(offsets[2 * i]!, offsets[2 * i + 1]!));
}

function offsetPairs(text: string): Array<[number, number]> {
  const { ids, offsets } = tokenizer.tokenize(text);
  return Array.from(ids, (_, i) => [offsets[2 * i]!, offsets[2 * i + 1]!] as [number, number]);
}

test('vocabulary: 8000 pieces, null scores read as 0', () => {
  assert.equal(vocab.length, 8000);
  assert.equal(tokenizer.vocabSize, 8000);
  assert.deepEqual(vocab[57], [':', 0]);
  assert.equal(vocab[9]![0], '▁the');
});

test('pieces and ids of a plain sentence', () => {
  // '▁Hello' and 'Hello' are not pieces: the best path is ▁H + ello.
  assert.equal(idOf.get('▁Hello'), undefined);
  assert.equal(idOf.get('Hello'), undefined);
  assert.deepEqual(tokenizer.pieces('Hello world.'), ['▁H', 'ello', '▁world', '.']);
  const { ids } = tokenizer.tokenize('Hello world.');
  assert.deepEqual(Array.from(ids), [idOf.get('▁H'), idOf.get('ello'), idOf.get('▁world'), idOf.get('.')]);
  assert.deepEqual(offsetPairs('Hello world.'), [
    [0, 1],
    [1, 5],
    [6, 11],
    [11, 12],
  ]);
  assert.deepEqual(tokenizer.pieces('The cat sat on the mat.'), ['▁The', '▁cat', '▁sat', '▁on', '▁the', '▁ma', 't', '.']);
});

test('Viterbi picks the higher-scoring split, not the longest match', () => {
  // '▁the' (-3.57) beats '▁t' + 'he' and any other split; check against the scores themselves.
  const score = (p: string): number => vocab[idOf.get(p)!]![1];
  assert.ok(score('▁the') > score('▁t') + score('he'));
  assert.deepEqual(tokenizer.pieces('the'), ['▁the']);
});

test('a small vocabulary by hand: shared prefixes, a piece listed twice ends at its later id, pieces out of order', () => {
  // Ids 0..5 are reserved (never segmented). Listed out of UTF-16 order on purpose: the trie is
  // built from the sorted pieces, and a piece's id must stay the one it was listed with.
  const small: Vocabulary = [
    ['<unk>', 0], ['<s>', 0], ['</s>', 0], ['u1', 0], ['u2', 0], ['u3', 0],
    ['▁ab', -1], ['b', -3], ['▁a', -2], ['▁abc', -1.5], ['a', -9], ['▁a', -2.5], ['c', -3],
  ];
  const t = new SentencePieceTokenizer(small);
  // "abc": '▁abc' (-1.5) beats '▁ab' + 'c' (-4) and '▁a' + 'b' + 'c'.
  assert.deepEqual(Array.from(t.tokenize('abc').ids), [9]);
  // "ab c": '▁ab' (id 6), then '▁' + 'c': no '▁' piece and no '▁c', so '▁' is unknown (id 0) and 'c' is 12.
  assert.deepEqual(Array.from(t.tokenize('ab c').ids), [6, 0, 12]);
  // '▁a' is listed at 8 and again at 11: the later id ends there, as the trie of objects kept it
  // (its score array still holds each id's own score: -2.5 for 11).
  assert.deepEqual(Array.from(t.tokenize('a').ids), [11]);
  assert.deepEqual(t.pieces('a b'), ['▁a', '▁', 'b']);
});

test('whitespace runs, newlines and tabs collapse to one boundary; offsets point into the original', () => {
  const text = '  a  b\n\nc\t ';
  assert.deepEqual(tokenizer.pieces(text), ['▁a', '▁b', '▁c']);
  assert.deepEqual(offsetPairs(text), [
    [2, 3],
    [5, 6],
    [8, 9],
  ]);
  assert.deepEqual(tokenizer.pieces('a b'), tokenizer.pieces(' a \n\t b  '));
});

test('non-ASCII: combining marks, NFKC expansions, fullwidth, NBSP, astral characters', () => {
  // e + U+0301 composes to é (one piece) which covers both original code units.
  const decomposed = 'cafe\u0301';
  assert.deepEqual(tokenizer.pieces(decomposed), ['▁ca', 'f', 'é']);
  assert.deepEqual(offsetPairs(decomposed), [
    [0, 2],
    [2, 3],
    [3, 5],
  ]);
  assert.deepEqual(Array.from(tokenizer.tokenize(decomposed).ids), Array.from(tokenizer.tokenize('café').ids));
  // '½' expands to "1⁄2": every piece points back at the one original character.
  assert.deepEqual(tokenizer.pieces('½').join(''), '▁1⁄2');
  assert.ok(offsetPairs('½').every(([s, e]) => s === 0 && e === 1));
  // Fullwidth letters normalise to ASCII, each keeping its own position.
  assert.deepEqual(tokenizer.tokenize('ＡＢＣ').ids, tokenizer.tokenize('ABC').ids);
  assert.deepEqual(slices('x ＡＢＣ').join('|').replace(/\|/g, ''), 'xＡＢＣ');
  // NBSP is whitespace after NFKC.
  assert.deepEqual(tokenizer.pieces('a\u00a0b'), ['▁a', '▁b']);
  assert.deepEqual(offsetPairs('a\u00a0b'), [
    [0, 1],
    [2, 3],
  ]);
});

test('unknown characters become one unk token per run, spanning whole code points', () => {
  // 😀 is a surrogate pair with no piece; '▁' alone is a piece (the space before it).
  assert.deepEqual(Array.from(tokenizer.tokenize('x 😀 z').ids), [idOf.get('▁x'), idOf.get('▁'), 0, idOf.get('▁z')]);
  assert.deepEqual(offsetPairs('x 😀 z'), [
    [0, 1],
    [1, 2],
    [2, 4],
    [5, 6],
  ]);
  // Two unknown characters in a row: one unk token covering both.
  assert.deepEqual(Array.from(tokenizer.tokenize('x ☃😀 z').ids), [idOf.get('▁x'), idOf.get('▁'), 0, idOf.get('▁z')]);
  assert.deepEqual(offsetPairs('x ☃😀 z')[2], [2, 5]);
});

test('empty and whitespace-only text give no tokens', () => {
  for (const t of ['', ' ', '\n\t  \u00a0']) {
    const r = tokenizer.tokenize(t);
    assert.equal(r.ids.length, 0);
    assert.equal(r.offsets.length, 0);
  }
});

/** An independent brute-force Viterbi over whole-string NFKC (equal to ours for the alphabet below). */
function oracle(v: Vocabulary, text: string): number[] {
  const words = text.normalize('NFKC').trim().split(/\s+/u).filter((w) => w.length > 0);
  if (words.length === 0) return [];
  const s = '▁' + words.join('▁');
  const pieces = new Map<string, number>();
  let maxLen = 0;
  let minScore = 0;
  v.forEach(([p, score], id) => {
    if (id < 6) return;
    pieces.set(p, id);
    maxLen = Math.max(maxLen, p.length);
    minScore = Math.min(minScore, score);
  });
  const n = s.length;
  const best: number[] = new Array<number>(n + 1).fill(-Infinity);
  const from: Array<[number, number]> = new Array<[number, number]>(n + 1);
  best[0] = 0;
  for (let i = 0; i < n; i++) {
    if (best[i] === -Infinity) continue;
    for (let j = i + 1; j <= Math.min(n, i + maxLen); j++) {
      const id = pieces.get(s.slice(i, j));
      if (id === undefined) continue;
      const sc = best[i]! + v[id]![1];
      if (sc > best[j]!) {
        best[j] = sc;
        from[j] = [i, id];
      }
    }
    const cp = String.fromCodePoint(s.codePointAt(i)!);
    if (!pieces.has(cp)) {
      const j = i + cp.length;
      const sc = best[i]! + minScore - 10;
      if (sc > best[j]!) {
        best[j] = sc;
        from[j] = [i, 0];
      }
    }
  }
  const ids: number[] = [];
  for (let j = n; j > 0; j = from[j]![0]) ids.push(from[j]![1]);
  ids.reverse();
  return ids.filter((id, k) => !(id === 0 && k > 0 && ids[k - 1] === 0));
}

test('differential: random texts match a brute-force Viterbi, offsets are ordered and in range', () => {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz      ABCXYZ0123456789.,;:()-\'"\n\té☃ü';
  let seed = 12345;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
  const texts = [
    'Vitamin D deficiency is associated with increased risk of cardiovascular disease.',
    'The effect of interleukin-6 (IL-6) on T-cell proliferation: a meta-analysis',
    'http://example.com :) :-) ): done',
  ];
  for (let k = 0; k < 300; k++) {
    let t = '';
    const len = 1 + Math.floor(rand() * 60);
    for (let c = 0; c < len; c++) t += alphabet[Math.floor(rand() * alphabet.length)];
    texts.push(t);
  }
  for (const text of texts) {
    const { ids, offsets } = tokenizer.tokenize(text);
    assert.deepEqual(Array.from(ids), oracle(vocab, text), JSON.stringify(text));
    for (let i = 0; i < ids.length; i++) {
      const s = offsets[2 * i]!;
      const e = offsets[2 * i + 1]!;
      assert.ok(0 <= s && s <= e && e <= text.length, `offsets in range for ${JSON.stringify(text)}`);
      if (i > 0) assert.ok(s >= offsets[2 * i - 2]!, 'starts are non-decreasing');
      // For text without NFKC changes, a piece without its '▁' is exactly the original slice.
      const piece = vocab[ids[i]!]![0];
      if (ids[i] !== 0 && piece !== '▁') assert.equal(text.slice(s, e), piece.replace(/^▁/, ''));
    }
  }
});

test('differential: the flattened trie gives the previous implementation\'s ids and offsets (sample corpus, random texts over ASCII, marks, astral, NFKC-changing and unknown characters)', () => {
  const old = new OracleSentencePieceTokenizer(vocab);
  const texts = readFileSync(new URL('../../examples/sample-corpus.jsonl', import.meta.url), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const d = JSON.parse(l) as { title?: string; text: string };
      return `${d.title ?? ''}\n${d.text}`;
    });
  // Two-unit entries are astral characters (one code point, a surrogate pair).
  const alphabet = [...'abcdefghijklmnopqrstuvwxyz      ABCXYZ0123456789.,;:()-\'"\n\t', 'é', 'e\u0301', '\u00a0', '\u3000', 'Ａ', 'ﬁ', '①', '☃', 'ü', '中', '文', 'ก', '\u200b', '\ud83d\ude00', '\ud835\udc00', '\u1100\u1161', '\u0000', '\ufffd'];
  let seed = 777;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
  for (let k = 0; k < 400; k++) {
    let t = '';
    const len = 1 + Math.floor(rand() * 120);
    for (let c = 0; c < len; c++) t += alphabet[Math.floor(rand() * alphabet.length)];
    texts.push(t);
  }
  let tokens = 0;
  for (const text of texts) {
    const got = tokenizer.tokenize(text);
    const want = old.tokenize(text);
    assert.deepEqual(Array.from(got.ids), Array.from(want.ids), JSON.stringify(text));
    assert.deepEqual(Array.from(got.offsets), Array.from(want.offsets), JSON.stringify(text));
    tokens += got.ids.length;
  }
  assert.ok(tokens > 5000, `${tokens} tokens compared`);
});
