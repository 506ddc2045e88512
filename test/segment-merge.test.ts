/**
 * Segments of an index that only grows (mutate/index-updater.ts, trailingSegmentsToMerge): every
 * add made a segment of its own and only compaction — automatic past 25% deleted passages — merged
 * them, so one-document adds piled up segments (two files and two maps each). The log merge policy
 * keeps at most F − 1 a level, and merged segments keep every passage's codes and residuals at its pid.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openIndex } from '../src/search/plait-index.js';
import { readManifest } from '../src/format/index-reader.js';
import { compactIndex, updateIndex } from '../src/mutate/index-updater.js';
import { SEGMENT_MERGE_DEFAULTS } from '../src/config/defaults.js';
import { SyntheticVectors } from '../fixtures/synthetic.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';
import { encodedDoc } from './helpers/living.js';
import type { TokenEmbeddings } from '../src/encoder/types.js';

const DIM = 32;
const F = SEGMENT_MERGE_DEFAULTS.mergeFactor;
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-segmerge-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('one-document adds keep at most F − 1 segments a level, and every passage scores as itself', async () => {
  const path = join(dir, 'idx');
  const base = syntheticPassages(40, DIM, 5, 64, 0.35).passages;
  await buildSynthetic(path, base, DIM);
  const gen = new SyntheticVectors({ dim: DIM, clusters: 64, spread: 0.35, seed: 21 });
  const added: TokenEmbeddings[] = [];
  let most = 0;
  for (let k = 0; k < 120; k++) {
    const v = gen.passage(20);
    added.push(v);
    updateIndex(path, { add: [encodedDoc(`n${k}`, v)] });
    const living = readManifest(path).segments.filter((s) => s.stem !== undefined);
    most = Math.max(most, living.length);
    // 20-token adds: levels 1 to 3 of F = 10 over 2,400 tokens.
    assert.ok(living.length <= 3 * (F - 1), `after add ${k}: ${living.length} segments`);
  }
  const m = readManifest(path);
  assert.ok(most < 30, `at most ${most} segments (one a write: 120)`);
  assert.equal(m.counts.passages, 160);
  assert.equal(m.segments.reduce((n, s) => n + s.passages, 0), 160, 'segments cover every pid once');
  m.segments.forEach((s, i) => i > 0 && assert.equal(s.firstPid, m.segments[i - 1]!.firstPid + m.segments[i - 1]!.passages));
  const files = readdirSync(path).filter((n) => n.startsWith('codes.') || n.startsWith('residuals.'));
  assert.equal(files.length, 2 * m.segments.length, 'merged segments\' files are cleaned up');
  const check = async (): Promise<void> => {
    const index = await openIndex(path);
    try {
      for (const [k, v] of added.entries()) {
        assert.equal(index.searchEncoded('', v, { topK: 1, exhaustive: true }).hits[0]!.docId, `n${k}`);
        assert.equal(index.searchEncoded('', v, { topK: 1 }).hits[0]!.docId, `n${k}`);
      }
      assert.equal(index.searchEncoded('', base[7]!, { topK: 1, exhaustive: true }).hits[0]!.docId, 'd7');
    } finally {
      await index.close();
    }
  };
  await check();
  // Deletes and a compaction over merged segments.
  updateIndex(path, { delete: ['n3', 'n50', 'd2'] });
  compactIndex(path);
  const gone = new Set([3, 50]);
  const index = await openIndex(path);
  try {
    assert.equal(index.manifest.counts.documents, 40 + 120 - 3);
    for (const [k, v] of added.entries()) if (!gone.has(k)) assert.equal(index.searchEncoded('', v, { topK: 1, exhaustive: true }).hits[0]!.docId, `n${k}`);
  } finally {
    await index.close();
  }
});
