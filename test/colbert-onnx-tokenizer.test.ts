// The synchronous WordPiece tokenizer against the `tokenizers` binding (the oracle): same ids,
// same spans (the binding counts offsets in code points; ours are UTF-16).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tokenizer } from 'tokenizers';
import { BertTokenizer, BridgedTokenizer, syncTokenizerFor, wordPieceSettings } from '../src/encoder/colbert-onnx/index.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { tinyTokenizerJson, tinyVocab } from '../fixtures/tiny-colbert.js';

const TEXTS = [
  'Hello, world!',
  'The QUICK brown fox -- jumps over the lazy dog.',
  'Café naïve résumé Über',
  'İstanbul ΣΊΣΥΦΟΣ straße',
  'emoji 🙂 in 🙂🙂 text',
  'CJK 中文字符 mixed with english',
  'tabs\tand\nnewlines\r\nand\u00a0nbsp\u3000ideographic space',
  'control\u0000chars\u200b zero-width \ufeff bom \ufffd replacement',
  'unknownwordzzz runnings played quickly',
  'a'.repeat(120) + ' long word',
  '$100 + 50% = ~x^2 | {a} [b] <c> `d` @e #f',
  'hello [MASK] world [CLS] [SEP]',
  'ñandú «quoted» ‘curly’ “double” — dash … ellipsis',
  '   leading and trailing   ',
  'vertical\u000btab form\u000cfeed del\u007fete MiXeD CaSe 123abc',
];

function codePointToUtf16(text: string): number[] {
  const map: number[] = [];
  let u = 0;
  for (const ch of text) {
    map.push(u);
    u += ch.length;
  }
  map.push(u);
  return map;
}

test('BertTokenizer matches the tokenizers binding on ids and offsets', async () => {
  const json = tinyTokenizerJson(['[Q] ', '[D] ']);
  const settings = wordPieceSettings(JSON.parse(json));
  assert.ok(settings !== null);
  const ours = new BertTokenizer(settings);
  const oracle = Tokenizer.fromString(json);
  for (const text of TEXTS) {
    const enc = await oracle.encode(text, null, { addSpecialTokens: false });
    const map = codePointToUtf16(text);
    const got = ours.tokenize(text);
    assert.deepEqual([...got.ids], enc.getIds(), `ids of ${JSON.stringify(text)}`);
    const expected = enc.getOffsets().flatMap(([s, e]) => [map[s!]!, map[e!]!]);
    assert.deepEqual([...got.offsets], expected, `offsets of ${JSON.stringify(text)}`);
  }
});

test('hand-checked: subwords, unknown words and punctuation', () => {
  const vocab = tinyVocab();
  const ours = new BertTokenizer(wordPieceSettings(JSON.parse(tinyTokenizerJson()))!);
  const t = ours.tokenize('Cells, playing!');
  const pieces = [...t.ids].map((i) => vocab[i]);
  assert.deepEqual(pieces, ['cells', ',', 'play', '##ing', '!']);
  assert.deepEqual([...t.offsets], [0, 5, 5, 6, 7, 11, 11, 14, 14, 15]);
});

test('the worker bridge (for non-WordPiece tokenizers) gives the in-thread answers, synchronously', async () => {
  assert.equal(wordPieceSettings({ model: { type: 'BPE', vocab: {} }, pre_tokenizer: { type: 'ByteLevel' } }), null);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'plait-bridge-'));
  try {
    const json = tinyTokenizerJson();
    const file = path.join(dir, 'tokenizer.json');
    await writeFile(file, json);
    const ours = new BertTokenizer(wordPieceSettings(JSON.parse(json))!);
    const bridge = new BridgedTokenizer(file);
    try {
      for (const text of TEXTS) assert.deepEqual(bridge.tokenize(text), ours.tokenize(text), JSON.stringify(text));
    } finally {
      await bridge.close();
    }
    // A tokenizer.json whose normalizer is not BertNormalizer takes the bridge.
    const other = JSON.parse(json) as { normalizer: unknown };
    other.normalizer = { type: 'Lowercase' };
    const otherFile = path.join(dir, 'other.json');
    await writeFile(otherFile, JSON.stringify(other));
    const viaBridge = syncTokenizerFor(other, otherFile);
    assert.ok(!(viaBridge instanceof BertTokenizer));
    const t = viaBridge.tokenize('Hello 🙂 World');
    assert.deepEqual([...t.ids], [tinyVocab().indexOf('hello'), tinyVocab().indexOf('[UNK]'), tinyVocab().indexOf('world')]);
    assert.deepEqual([...t.offsets], [0, 5, 6, 8, 9, 14]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
