/**
 * Search over text written without spaces, end to end with the bundled model: BM25 finds the word
 * inside a run (character bigrams, src/docstore/bm25-terms.ts) and hybrid search therefore ranks by
 * it. The bundled model's SentencePiece vocabulary (8,000 English pieces) maps any CJK or Thai run
 * to one unknown piece, so its late-interaction scores cannot tell such documents apart: for these
 * scripts BM25 carries hybrid search, and before the bigrams hybrid silently fell back to late.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIndex, openIndex, type PlaitIndex } from '../src/index.js';

let dir: string;
let index: PlaitIndex;

const DOCS = [
  { _id: 'beijing', title: '北京', text: '北京是中华人民共和国的首都，也是全国的政治、文化和国际交往中心。' },
  { _id: 'shanghai', title: '上海', text: '上海是中国的经济中心和最大的城市，位于长江入海口。' },
  { _id: 'tokyo', title: '東京', text: '東京タワーは東京都港区芝公園にある総合電波塔です。' },
  { _id: 'seoul', title: '서울', text: '서울특별시는 대한민국의 수도이자 최대 도시이다.' },
  { _id: 'bangkok', title: 'กรุงเทพ', text: 'กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย' },
  { _id: 'bread', title: 'Bread', text: 'Yeast ferments sugar and the dough rises before baking.' },
];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-cjk-'));
  const corpus = join(dir, 'corpus.jsonl');
  writeFileSync(corpus, DOCS.map((d) => JSON.stringify(d)).join('\n') + '\n');
  await buildIndex(corpus, { index: join(dir, 'idx'), encoderOptions: { threads: 1 } });
  index = await openIndex(join(dir, 'idx'), { encoderOptions: { threads: 1 } });
});

after(async () => {
  await index?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('BM25 and hybrid find a word inside unspaced text (Chinese, Japanese, Korean, Thai)', async () => {
  for (const [query, want] of [
    ['北京', 'beijing'],
    ['首都', 'beijing'],
    ['长江', 'shanghai'],
    ['電波塔', 'tokyo'],
    ['대한민국', 'seoul'],
    ['ประเทศไทย', 'bangkok'],
  ] as const) {
    const bm25 = (await index.search(query, { mode: 'bm25', topK: 3 })).hits;
    assert.equal(bm25[0]?.docId, want, `bm25 ${query}: ${bm25.map((h) => h.docId).join(', ')}`);
    assert.equal(bm25.length, 1, `bm25 ${query}: only the document holding it`);
    const hybrid = (await index.search(query, { mode: 'hybrid', topK: 3 })).hits;
    assert.equal(hybrid[0]!.docId, want, `hybrid ${query}: ${hybrid.map((h) => h.docId).join(', ')}`);
  }
  // English beside them is unaffected.
  assert.equal((await index.search('yeast dough', { mode: 'hybrid', topK: 1 })).hits[0]!.docId, 'bread');
});
