/**
 * Shared pieces of the cluster write tests: synthetic shard indexes, seeded synthetic writes, an
 * oracle (the same writes applied one `updateIndex` each, no log), and a comparison of two indexes
 * by their documents and their exhaustive MaxSim answers.
 */
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { openIndex } from '../../src/search/plait-index.js';
import { updateIndex, type EncodedDocument } from '../../src/mutate/index-updater.js';
import { DocStoreReader } from '../../src/docstore/docstore-reader.js';
import { readManifest } from '../../src/format/index-reader.js';
import { roleFileName } from '../../src/format/manifest.js';
import type { TokenEmbeddings } from '../../src/encoder/types.js';
import { Random } from '../../src/util/random.js';
import { SyntheticVectors } from '../../fixtures/synthetic.js';
import { buildSynthetic, syntheticPassages } from '../../fixtures/synthetic-index.js';
import { splitWrite, type ClusterWrite } from '../../src/cluster/write-entry.js';

export const DIM = 32;

/** A one-passage synthetic document `id` whose embedding is seeded by `seed`. */
export function doc(id: string, seed: number, metadata?: Record<string, unknown>, text = `text of ${id} (vectors ${seed})`): EncodedDocument {
  const gen = new SyntheticVectors({ dim: DIM, clusters: 64, spread: 0.35, seed });
  const e = gen.passage(gen.length(4, 20));
  return { doc: { docId: id, title: '', text, metadata }, passages: [{ start: 0, end: text.length }], embeddings: [e] };
}

/** Builds a small synthetic index (`base-<k>` documents) at `path`. */
export async function buildBase(path: string, n = 30, seed = 5): Promise<void> {
  await buildSynthetic(path, syntheticPassages(n, DIM, seed, 64, 0.35).passages, DIM);
}

/** `count` seeded writes: upserts of ids w0..w(pool), deletes of earlier ids, now and then a filter delete. */
export function randomWrites(count: number, seed: number, pool = 40): ClusterWrite[] {
  const rng = new Random(seed);
  const out: ClusterWrite[] = [];
  for (let i = 0; i < count; i++) {
    const roll = rng.int(10);
    if (roll < 6) {
      const n = 1 + rng.int(4);
      const ids = new Set<string>();
      while (ids.size < n) ids.add(`w${rng.int(pool)}`);
      out.push({ add: [...ids].map((id) => doc(id, seed * 1000 + i * 10 + Number(id.slice(1)), { round: i % 3 })) });
    } else if (roll < 9) {
      out.push({ delete: [`w${rng.int(pool)}`, `w${rng.int(pool)}`].filter((v, j, a) => a.indexOf(v) === j) });
    } else {
      out.push({ deleteWhere: { round: i % 3 }, add: [doc(`w${rng.int(pool)}`, seed * 1000 + i * 10 + 7, { round: (i + 1) % 3 })] });
    }
  }
  return out;
}

/** Applies each write's part for `shard` (of `shards`) to `dir` directly, one commit per write. */
export function applyDirect(dir: string, writes: readonly ClusterWrite[], shard: number, shards: number): void {
  for (const w of writes) {
    const part = splitWrite(w, shards).get(shard);
    if (part !== undefined) updateIndex(dir, { add: part.add, delete: part.delete, deleteWhere: part.deleteWhere });
  }
}

/** Copies an index folder (the oracle starts from the same base). */
export function copyIndex(from: string, to: string): void {
  cpSync(from, to, { recursive: true });
}

/** Every document of the index: docId → its text and metadata, as JSON. */
export function documentsOf(path: string): Map<string, string> {
  const m = readManifest(path);
  const store = DocStoreReader.open(join(path, roleFileName(m, 'docstore')));
  try {
    const out = new Map<string, string>();
    for (let r = 0; r < store.rowidSpan; r++) {
      const id = store.rowidToDocId(r);
      const d = id === null ? null : store.getDocument(r);
      if (d !== null) out.set(d.docId, JSON.stringify({ title: d.title, text: d.text, metadata: d.metadata }));
    }
    return out;
  } finally {
    store.close();
  }
}

/** Asserts two indexes hold the same documents and answer the probe queries with the same exhaustive hits and scores. */
export async function assertSameIndex(actual: string, expected: string, probes: readonly TokenEmbeddings[], what: string): Promise<void> {
  assert.deepEqual(new Map([...documentsOf(actual)].sort()), new Map([...documentsOf(expected)].sort()), `${what}: documents`);
  const a = await openIndex(actual);
  const b = await openIndex(expected);
  try {
    for (const q of probes) {
      const ha = a.searchEncoded('', q, { topK: 20, exhaustive: true }).hits.map((h) => [h.docId, h.score]);
      const hb = b.searchEncoded('', q, { topK: 20, exhaustive: true }).hits.map((h) => [h.docId, h.score]);
      assert.deepEqual(ha, hb, `${what}: exhaustive hits`);
    }
  } finally {
    await a.close();
    await b.close();
  }
}

/** Probe queries for `assertSameIndex`. */
export function probes(n = 5, seed = 77): TokenEmbeddings[] {
  const gen = new SyntheticVectors({ dim: DIM, clusters: 64, spread: 0.35, seed });
  return Array.from({ length: n }, () => gen.passage(8));
}
