/**
 * Build pieces that keep memory flat (issue 9) and long documents (issue 8 item 5): float16 spill
 * conversion, the vector reservoir, the sample spill, block-by-block splitting of huge documents,
 * and a document over the tokenizer's text limit indexed end to end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromFloat16, toFloat16 } from '../src/codec/float16.js';
import { RowReservoir, SampleSpill } from '../src/indexer/sample-store.js';
import { splitIntoPassages, splitLongText } from '../src/indexer/split-passages.js';
import { buildIndex } from '../src/indexer/build-index.js';
import { openIndex } from '../src/search/plait-index.js';
import { ENCODER_DEFAULTS } from '../src/config/defaults.js';
import { Random } from '../src/util/random.js';
import { halfRows, trainKmeans } from '../src/indexer/kmeans.js';
import { typescriptKernels } from '../src/kernels/index.js';
import type { TokenizedText } from '../src/encoder/types.js';
import { makeTinyColbert } from '../fixtures/tiny-colbert.js';

test('float16: hand-checked encodings, round to nearest, and a round trip within 2^-11 relative', () => {
  const src = Float32Array.of(1, -2, 65504, 0.1, 0, -0, 1e-8, 1e6, 2 ** -24, 1 + 2 ** -11 + 2 ** -20);
  const h = new Uint16Array(src.length);
  toFloat16(src, h);
  // 1 → 0x3c00; -2 → 0xc000; max half 0x7bff; 0.1 → 0x2e66; ±0; underflow → 0; overflow → +inf;
  // smallest subnormal 0x0001; just above halfway between 1 and 1 + 2^-10 rounds up → 0x3c01.
  assert.deepEqual(Array.from(h), [0x3c00, 0xc000, 0x7bff, 0x2e66, 0x0000, 0x8000, 0x0000, 0x7c00, 0x0001, 0x3c01]);
  const back = new Float32Array(src.length);
  fromFloat16(h, back);
  assert.equal(back[3], 0.0999755859375);
  assert.equal(back[7], Infinity);
  const rng = new Random(3);
  const v = Float32Array.from({ length: 10_000 }, () => rng.normal() * 0.2);
  const hv = new Uint16Array(v.length);
  const bv = new Float32Array(v.length);
  toFloat16(v, hv);
  fromFloat16(hv, bv);
  for (let i = 0; i < v.length; i++) assert.ok(Math.abs(bv[i]! - v[i]!) <= Math.max(Math.abs(v[i]!) * 2 ** -11, 2 ** -25), `${v[i]} → ${bv[i]}`);
});

test('the reservoir keeps min(total, capacity) distinct offered row numbers, uniformly, deterministically for a seed', () => {
  const take = (seed: number, n: number, cap: number): number[] => {
    const r = new RowReservoir(cap, new Random(seed));
    for (let i = 0; i < n; i += 7) r.add(Math.min(7, n - i));
    assert.equal(r.total, n);
    const rows = r.shuffled();
    assert.equal(rows.length, Math.min(n, cap));
    return Array.from(rows);
  };
  const few = take(1, 50, 100);
  assert.deepEqual([...few].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  const many = take(1, 100_000, 64);
  assert.equal(new Set(many).size, 64);
  assert.ok(many.every((r) => Number.isInteger(r) && r >= 0 && r < 100_000));
  assert.deepEqual(take(1, 100_000, 64), many);
  // Uniform: the kept rows' mean is near the mean of all offered rows (49,999.5; sd of the mean ≈ 3,600).
  const mean = many.reduce((a, b) => a + b, 0) / many.length;
  assert.ok(Math.abs(mean - 49_999.5) < 15_000, `mean ${mean}`);
});

test('the sample spill gives back each passage (float16-rounded vectors, exact token ids), in runs, and scattered rows', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-spill-'));
  const dim = 8;
  const spill = new SampleSpill(join(dir, 'sample'), dim);
  try {
    const rng = new Random(9);
    const passages = Array.from({ length: 30 }, (_, i) => {
      const len = i % 5 === 0 ? 0 : 1 + rng.int(12);
      return { vectors: Float32Array.from({ length: len * dim }, () => rng.normal()), length: len, tokenIds: Int32Array.from({ length: len }, () => rng.int(1 << 30)) };
    });
    passages.forEach((p) => spill.append(p));
    assert.equal(spill.length, 30);
    const back = [...spill.read(0, 11), ...spill.read(11, 12), ...spill.read(12, 30)];
    back.forEach((b, i) => {
      const p = passages[i]!;
      assert.equal(b.length, p.length);
      assert.deepEqual(Array.from(b.tokenIds), Array.from(p.tokenIds));
      for (let j = 0; j < p.vectors.length; j++) assert.ok(Math.abs(b.vectors[j]! - p.vectors[j]!) <= Math.abs(p.vectors[j]!) * 2 ** -11 + 2 ** -24);
    });
    // Rows by number across passages (k-means reads its training rows this way).
    const all = back.flatMap((b) => Array.from({ length: b.length }, (_, r) => b.vectors.subarray(r * dim, (r + 1) * dim)));
    const pick = Float64Array.of(0, 3, 4, 17, all.length - 1);
    const got = new Float32Array(pick.length * dim);
    spill.readRows(pick, 1, pick.length, got);
    for (let m = 1; m < pick.length; m++) assert.deepEqual(Array.from(got.subarray((m - 1) * dim, m * dim)), Array.from(all[pick[m]!]!), `row ${pick[m]}`);
  } finally {
    spill.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Whitespace-delimited tokens with their UTF-16 offsets; records the longest text it was given. */
function wordTokenizer(): { tokenize: (t: string) => TokenizedText; longest: () => number } {
  let longest = 0;
  return {
    tokenize: (text) => {
      longest = Math.max(longest, text.length);
      const offsets: number[] = [];
      for (const m of text.matchAll(/\S+/g)) offsets.push(m.index, m.index + m[0].length);
      return { ids: Int32Array.from({ length: offsets.length / 2 }, (_, i) => i), offsets: Int32Array.from(offsets) };
    },
    longest: () => longest,
  };
}

test('a long text is split block by block into the same windows as a whole-text split (all but the last)', () => {
  const words = Array.from({ length: 5000 }, (_, i) => `w${i}`);
  const text = `  ${words.join(' ')}\n`;
  const whole = wordTokenizer();
  const want = splitIntoPassages(text, whole.tokenize(text), 100, 75);
  const blocks = wordTokenizer();
  const got = splitLongText(text, blocks.tokenize, 100, 75, 2000);
  assert.ok(blocks.longest() <= 2000, `the tokenizer saw ${blocks.longest()} characters`);
  assert.deepEqual(got.slice(0, -1), want.slice(0, got.length - 1));
  // Coverage: starts at 0, ends at the end, consecutive passages overlap.
  assert.equal(got[0]!.start, 0);
  assert.equal(got.at(-1)!.end, text.length);
  for (let i = 1; i < got.length; i++) assert.ok(got[i]!.start < got[i - 1]!.end, `passage ${i} overlaps its predecessor`);
  for (const p of got) {
    assert.equal(p.text, text.slice(p.start, p.end));
    assert.ok(blocks.tokenize(p.text).ids.length <= 100);
  }
  // Short texts take the ordinary path.
  assert.deepEqual(splitLongText('a b c', whole.tokenize, 2, 1, 2000), splitIntoPassages('a b c', whole.tokenize('a b c'), 2, 1));
});

test('a document longer than the encoder text limit is indexed by streaming its passages (no QUERY_TOO_LARGE)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-longdoc-'));
  try {
    const model = join(dir, 'model');
    await makeTinyColbert(model, { dim: 16 });
    const filler = 'the cat and the dog read books in the house with water. ';
    const long = filler.repeat(Math.ceil((ENCODER_DEFAULTS.maxTextLength + 1000) / filler.length)) + 'search engine index';
    assert.ok(long.length > ENCODER_DEFAULTS.maxTextLength);
    const corpus = join(dir, 'corpus.jsonl');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(corpus, [JSON.stringify({ _id: 'long', text: long }), JSON.stringify({ _id: 'short', text: 'a dog in a house' })].join('\n'));
    const { manifest, report } = await buildIndex(corpus, { index: join(dir, 'idx'), model, encoderOptions: { threads: 0 } });
    assert.equal(manifest.counts.documents, 2);
    assert.ok(manifest.counts.passages > 1000, `${manifest.counts.passages} passages`);
    assert.deepEqual(Object.values(report.skipped).reduce((a, b) => a + b, 0), 0);
    const idx = await openIndex(join(dir, 'idx'));
    try {
      const { hits } = await idx.search('search engine index', { mode: 'bm25', topK: 2 });
      assert.equal(hits[0]!.docId, 'long');
      const late = await idx.search('search engine index', { mode: 'late', topK: 2 });
      assert.deepEqual(late.hits.map((h) => h.docId).sort(), ['long', 'short']);
    } finally {
      await idx.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('k-means on half-float vectors (converted block by block) equals k-means on the same values in float32', async () => {
  const rng = new Random(12);
  const n = 40_000; // more than one conversion block (32,768 rows)
  const dim = 8;
  const v = Float32Array.from({ length: n * dim }, () => rng.normal());
  const half = new Uint16Array(v.length);
  toFloat16(v, half);
  const same = new Float32Array(v.length);
  fromFloat16(half, same);
  const a = await trainKmeans(same, n, dim, 16, { iters: 3, seed: 4, kernels: typescriptKernels });
  const b = await trainKmeans(halfRows(half, dim), n, dim, 16, { iters: 3, seed: 4, kernels: typescriptKernels });
  assert.deepEqual(Array.from(b), Array.from(a));
});
