/**
 * A user's second hour with the CLI, on a corpus and judgments of their own (cli-15): what each door
 * promised and what the command line did. One small index is built once and shared.
 *
 * - Fusion flags at every door: the library (`fusion`, `alpha`, `rrfK`) and HTTP (`fusion`, `alpha`,
 *   `rrf_k`) take an RRF constant and explain a reciprocal-rank-fused hit; `plait search` had no
 *   `--rrf-k` and `plait explain` neither `--fusion` nor `--rrf-k` (both `USAGE`, exit 2).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlait, succeeded } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'plait-second-hour-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const DOCS = [
  { _id: 'r1', title: 'Sourdough basics', text: 'A sourdough starter is a culture of wild yeast and lactic acid bacteria that makes bread rise.', metadata: { year: 2019, tags: ['baking', 'bread'] } },
  { _id: 'r2', title: 'Pizza dough', text: 'Neapolitan pizza dough uses flour, water, salt and a little yeast, proofed for a day.', metadata: { year: 2021, tags: ['baking', 'pizza'] } },
  { _id: 'r3', title: 'Tomato sauce', text: 'Simmer crushed tomatoes with garlic and olive oil for a simple sauce.', metadata: { year: 2020, tags: ['sauce'] } },
  { _id: 'r4', title: 'Stock markets', text: 'Stocks fell sharply as interest rates rose and investors sold technology shares.', metadata: { year: 2022, tags: ['finance'] } },
  { _id: 'r5', title: 'Bond yields', text: 'Government bond yields climbed after the central bank raised rates again.', metadata: { year: 2023, tags: ['finance'] } },
  { _id: 'r6', title: 'Bread flour', text: 'High protein flour gives bread a strong gluten network and an open crumb.', metadata: { year: 2018, tags: ['baking', 'bread'] } },
];
writeFileSync(join(dir, 'docs.jsonl'), `${DOCS.map((d) => JSON.stringify(d)).join('\n')}\n`);
succeeded(runPlait(dir, ['index', 'docs.jsonl', '--index', './idx', '-q', '--threads', '0']));

interface FusedHit {
  docId: string;
  score: number;
  fusion: { lateShare: number; bm25Share: number };
}

test('plait search --fusion rrf --rrf-k and plait explain --fusion rrf --rrf-k: the constant is used, and explain gives the hit its search score', () => {
  const search = runPlait(dir, ['search', './idx', 'bread yeast', '--fusion', 'rrf', '--rrf-k', '10', '-k', '6', '--json']);
  assert.equal(search.code, 0, search.stderr);
  const hits = (JSON.parse(search.stdout) as { hits: FusedHit[] }).hits;
  assert.equal(hits.length, 6);
  // Every share is 1/(10 + rank) of a rank in 1..6 (or 0: the document is absent from that list).
  const shares = new Set([0, ...[1, 2, 3, 4, 5, 6].map((r) => 1 / (10 + r))]);
  for (const h of hits) {
    for (const s of [h.fusion.lateShare, h.fusion.bm25Share]) assert.ok([...shares].some((x) => Math.abs(x - s) < 1e-12), `${h.docId}: share ${s} is no 1/(10 + rank)`);
  }
  const target = hits[1]!;
  const explain = runPlait(dir, ['explain', './idx', 'bread yeast', target.docId, '--fusion', 'rrf', '--rrf-k', '10', '-k', '6', '--json']);
  assert.equal(explain.code, 0, explain.stderr);
  const fusion = (JSON.parse(explain.stdout) as { fusion: { score: number; rank: number; lateShare: number; bm25Share: number } }).fusion;
  assert.ok(Math.abs(fusion.score - target.score) < 1e-12, `explain ${fusion.score} vs search ${target.score}`);
  assert.ok(Math.abs(fusion.lateShare - target.fusion.lateShare) < 1e-12 && Math.abs(fusion.bm25Share - target.fusion.bm25Share) < 1e-12);
  // The rule of which option applies holds for the new flags as for --alpha: --rrf-k without rrf is refused by name.
  const idle = runPlait(dir, ['explain', './idx', 'bread yeast', 'r1', '--rrf-k', '10']);
  assert.equal(idle.code, 2, idle.stderr);
  assert.match(idle.stderr, /--rrf-k does not apply .*--fusion rrf.*\[INVALID_ARGUMENT\]/);
});
