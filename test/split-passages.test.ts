import { test } from 'node:test';
import assert from 'node:assert/strict';
import { passageWindows, splitIntoPassages } from '../src/indexer/split-passages.js';
import type { TokenizedText } from '../src/encoder/types.js';
import { isPlaitError } from '../src/errors/index.js';

/** Whitespace-delimited tokens of `text` with their UTF-16 offsets (a hand-made tokenizer for tests). */
function wordTokens(text: string): TokenizedText {
  const offsets: number[] = [];
  for (const m of text.matchAll(/\S+/g)) offsets.push(m.index, m.index + m[0].length);
  return { ids: Int32Array.from({ length: offsets.length / 2 }, (_, i) => i + 100), offsets: Int32Array.from(offsets) };
}

test('a document within the window is one passage: the whole text', () => {
  const text = '  alpha beta gamma!  ';
  assert.deepEqual(splitIntoPassages(text, wordTokens(text), 3, 2), [{ text, start: 0, end: text.length }]);
  assert.deepEqual(splitIntoPassages('', { ids: new Int32Array(0), offsets: new Int32Array(0) }, 3, 2), [{ text: '', start: 0, end: 0 }]);
});

test('windows every stride tokens, the last one anchored to the end (hand-built offsets)', () => {
  //            0    5    10   15   20
  const text = 'aa bb cc dd ee';
  // Tokens: aa[0,2) bb[3,5) cc[6,8) dd[9,11) ee[12,14).
  const tokens: TokenizedText = { ids: Int32Array.of(1, 2, 3, 4, 5), offsets: Int32Array.of(0, 2, 3, 5, 6, 8, 9, 11, 12, 14) };
  assert.deepEqual(splitIntoPassages(text, tokens, 2, 2), [
    { text: 'aa bb', start: 0, end: 5 },
    { text: 'cc dd', start: 6, end: 11 },
    { text: 'dd ee', start: 9, end: 14 },
  ]);
  assert.deepEqual(splitIntoPassages(text, tokens, 3, 1), [
    { text: 'aa bb cc', start: 0, end: 8 },
    { text: 'bb cc dd', start: 3, end: 11 },
    { text: 'cc dd ee', start: 6, end: 14 },
  ]);
  // stride = window: disjoint windows, then an anchored one overlapping the previous.
  assert.deepEqual(
    splitIntoPassages(text, tokens, 4, 4).map((p) => p.text),
    ['aa bb cc dd', 'bb cc dd ee'],
  );
});

test('text before the first token and after the last one stays in the first and last passages', () => {
  const text = '« one two three four »';
  // Tokens skip the guillemets: one[2,5) two[6,9) three[10,15) four[16,20).
  const tokens: TokenizedText = { ids: Int32Array.of(1, 2, 3, 4), offsets: Int32Array.of(2, 5, 6, 9, 10, 15, 16, 20) };
  assert.deepEqual(splitIntoPassages(text, tokens, 2, 2), [
    { text: '« one two', start: 0, end: 9 },
    { text: 'three four »', start: 10, end: 22 },
  ]);
});

test('offsets are UTF-16: surrogate pairs and combining marks cut where the tokens say', () => {
  const text = '😀a bé 中文 x';
  const tokens = wordTokens(text); // 😀a[0,3) bé[4,6) 中文[7,9) x[10,11)
  assert.deepEqual(Array.from(tokens.offsets), [0, 3, 4, 6, 7, 9, 10, 11]);
  assert.deepEqual(splitIntoPassages(text, tokens, 2, 1).map((p) => p.text), ['😀a bé', 'bé 中文', '中文 x']);
});

test('passageWindows: counts and anchoring', () => {
  assert.deepEqual(passageWindows(4, 4, 3), [[0, 4]]);
  assert.deepEqual(passageWindows(10, 4, 3), [[0, 4], [3, 7], [6, 10]]);
  assert.deepEqual(passageWindows(11, 4, 3), [[0, 4], [3, 7], [6, 10], [7, 11]]);
  assert.deepEqual(passageWindows(5, 4, 3), [[0, 4], [1, 5]]);
});

test('every window is full, starts increase, every token is covered (random layouts)', () => {
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let trial = 0; trial < 300; trial++) {
    const window = 1 + rand(20);
    const stride = 1 + rand(window);
    const words = Array.from({ length: 1 + rand(80) }, () => 'w'.repeat(1 + rand(5)));
    const text = words.join(' ');
    const tokens = wordTokens(text);
    const n = words.length;
    const windows = passageWindows(n, window, stride);
    const covered = new Uint8Array(n);
    for (let i = 0; i < windows.length; i++) {
      const [from, to] = windows[i]!;
      assert.equal(to - from, Math.min(window, n));
      if (i > 0) assert.ok(from > windows[i - 1]![0]);
      covered.fill(1, from, to);
    }
    assert.equal(windows.at(-1)![1], n);
    assert.ok(covered.every((c) => c === 1));
    const passages = splitIntoPassages(text, tokens, window, stride);
    assert.equal(passages.length, windows.length);
    for (const p of passages) {
      assert.equal(p.text, text.slice(p.start, p.end));
      assert.equal(p.text.split(' ').length, Math.min(window, n));
    }
  }
});

test('bad window, stride or offsets are refused', () => {
  const text = 'a b c';
  const tokens = wordTokens(text);
  for (const [w, s] of [[0, 1], [2, 3], [2, 0], [1.5, 1]] as const) {
    assert.throws(() => splitIntoPassages(text, tokens, w, s), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT'));
  }
  assert.throws(
    () => splitIntoPassages(text, { ids: tokens.ids, offsets: tokens.offsets.subarray(1) }, 2, 1),
    (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT'),
  );
});
