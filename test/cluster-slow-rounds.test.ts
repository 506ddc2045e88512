/**
 * A slow or lost shard in one of the coordinator's side rounds costs only what it must. A real
 * nats-server, the two shards of a sharded build served by real replicas (ShardReplica, in this
 * process), and between them and the coordinator a "door" (as in cluster-unheard-shards.test.ts):
 * the coordinator talks to cluster `door`, whose subscribers forward every request to the real
 * replicas — unless the test's fault rule holds one back (`silent`: alive, subscribed, but never
 * answering; `lagging`: at once, with the TIMEOUT a replica gives when it cannot reach a
 * read-your-writes sequence).
 *
 * Found (each case failed before its fix):
 *   - query rewriting's `tokenize` asked shard 0 until the whole deadline before shard 1: a slow
 *     shard 0 failed every rewriting search CLUSTER_UNAVAILABLE (HTTP 503), though shard 1 could
 *     answer in milliseconds;
 *   - a staged search with includeText failed CLUSTER_UNAVAILABLE when the `documents` fetch lost a
 *     shard, instead of answering its hits (the lost shard's without text) degraded, naming it;
 *   - explain did not give its request to the document's shard the caller's abort signal: a caller
 *     that gave up left it waiting until the deadline, and got CLUSTER_UNAVAILABLE there; and a
 *     shard request given a signal noticed its abort only at its next retry (2 s, 6 s, … or the
 *     deadline), not at once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/transport-node';
import { shardOf } from '../src/cluster/shard-of.js';
import { ClusterIndex } from '../src/cluster/cluster-index.js';
import { ShardClient } from '../src/cluster/shard-client.js';
import { clusterSubjects } from '../src/cluster/subjects.js';
import { PlaitError, isPlaitError } from '../src/errors/index.js';
import type { PlaitIndex } from '../src/search/plait-index.js';
import { runPipeline } from '../src/pipeline/search-pipeline.js';
import { needsData, needsNatsServer } from './helpers/requirements.js';
import type { NatsServer } from './helpers/nats-server.js';
import { startCoordinator } from './helpers/cluster.js';
import type { PlaitServe } from './helpers/plait-serve.js';
import { startDoorCluster, type DoorCluster } from './helpers/cluster-door.js';

const skip = needsData('cranfield') || needsNatsServer();
const DOCS = 200;
/**
 * A request's time. A silent shard costs a waiter the whole of it; the answers checked here come
 * from live shards in milliseconds, so "well before the deadline" is ≥ 10× margin.
 */
const TIMEOUT_MS = 30_000;

type Fault = 'silent' | 'lagging' | 'failing' | null;
/** Which shard does not answer which request (null: it answers). */
let fault: (shard: number, verb: string) => Fault = () => null;
/** Called with each request the door receives (before the fault rule). */
let seen: (shard: number, verb: string) => void = () => {};

let dir: string;
let nats: NatsServer;
let nc: NatsConnection;
let whole: PlaitIndex;
let shardIndexes: PlaitIndex[] = [];
let door: DoorCluster;
let coordinator: PlaitServe | undefined;
let query = '';
/** A document of shard 0 that `query` finds. */
let doc0 = '';

before(async () => {
  if (skip !== false) return;
  door = await startDoorCluster('plait-cluster-slow-rounds-', DOCS, (s, verb) => (seen(s, verb), fault(s, verb)));
  ({ dir, nats, nc, whole, shardIndexes, query } = door);
  doc0 = (await whole.search(query, { mode: 'bm25', topK: 100 })).hits.find((h) => shardOf(h.docId, 2) === 0)!.docId;
});

after(async () => {
  if (skip !== false) return;
  await coordinator?.stop();
  await door?.close();
});

/** A coordinator over the door. */
function clusterOverDoor(): Promise<ClusterIndex> {
  return door.cluster();
}

test('a slow shard 0 does not cost query rewriting its tokenize: shard 1 answers it, and the search is one index\'s', { skip, timeout: 120_000 }, async () => {
  const cluster = await clusterOverDoor();
  try {
    const asked: number[] = [];
    seen = (s, verb) => void (verb === 'tokenize' && asked.push(s));
    fault = (s, verb) => (s === 0 && verb === 'tokenize' ? 'silent' : null);
    const t0 = Date.now();
    const [r] = await cluster.searchEncodedBatch([query], [], { mode: 'bm25', topK: 10, rewrite: { spelling: true }, deadlineAt: Date.now() + TIMEOUT_MS });
    assert.ok(Date.now() - t0 < TIMEOUT_MS / 10, `answered well before the deadline (${Date.now() - t0} ms)`);
    assert.ok(asked.includes(1), 'shard 1 was asked to tokenise');
    const single = await whole.search(query, { mode: 'bm25', topK: 10, rewrite: { spelling: true } });
    assert.equal(r!.degraded, undefined);
    assert.deepEqual(r!.hits.map((h) => [h.docId, h.score]), single.hits.map((h) => [h.docId, h.score]));
    // Shard 0 answering again: it is asked first (the hedge is not a scatter).
    fault = () => null;
    asked.length = 0;
    await cluster.rewrite(`${query} again`, { mode: 'bm25', rewrite: { spelling: true }, deadlineAt: Date.now() + TIMEOUT_MS });
    assert.equal(asked[0], 0);
  } finally {
    fault = () => null;
    seen = () => {};
    await cluster.close();
  }
});

test('a staged search with includeText whose documents fetch loses a shard (timed out or failing) answers every hit, the lost shard\'s without text, degraded naming it', { skip, timeout: 120_000 }, async () => {
  const cluster = await clusterOverDoor();
  try {
    // A shard that times out, and one that answers with its own error (which failed the whole answer), alike.
    let res: Awaited<ReturnType<typeof runPipeline>> | undefined;
    for (const f of ['lagging', 'failing'] as const) {
      fault = (s, verb) => (s === 1 && verb === 'documents' ? f : null);
      res = await runPipeline(cluster.pipelineIndex({ deadlineAt: Date.now() + TIMEOUT_MS }), query, 'bm25:20 > late:10', { includeText: true });
      assert.ok(res.hits.some((h) => shardOf(h.docId, 2) === 0) && res.hits.some((h) => shardOf(h.docId, 2) === 1), 'hits of both shards');
      for (const h of res.hits) {
        if (shardOf(h.docId, 2) === 0) assert.equal(typeof h.text, 'string', `${f}: shard 0's ${h.docId} has its text`);
        else assert.equal(h.text, undefined, `${f}: shard 1's ${h.docId} has none`);
      }
      assert.deepEqual(res.missingShards, [1], f);
      assert.equal(res.degraded?.reason, 'shards-missing', f);
      assert.equal(res.degraded?.stage, 'include_text', f);
    }
    // The same order and scores as when shard 1 gives its text: only the text is missing.
    fault = () => null;
    const healed = await runPipeline(cluster.pipelineIndex({ deadlineAt: Date.now() + TIMEOUT_MS }), query, 'bm25:20 > late:10', { includeText: true });
    assert.equal(healed.degraded, null);
    assert.equal(healed.missingShards, undefined);
    assert.ok(healed.hits.every((h) => typeof h.text === 'string'));
    assert.deepEqual(res!.hits.map((h) => [h.docId, h.score]), healed.hits.map((h) => [h.docId, h.score]));
  } finally {
    fault = () => null;
    await cluster.close();
  }
});

test('explain gives up the document\'s shard as soon as the caller aborts, not at the deadline', { skip, timeout: 120_000 }, async () => {
  const cluster = await clusterOverDoor();
  try {
    const controller = new AbortController();
    // The document's shard receives the request and never answers; the caller gives up once it is there.
    fault = (s, verb) => (s === 0 && verb === 'explain' ? 'silent' : null);
    seen = (s, verb) => {
      if (s === 0 && verb === 'explain') controller.abort(new PlaitError('ABORTED', { message: 'the test hung up' }));
    };
    const t0 = Date.now();
    await assert.rejects(cluster.explain(query, doc0, { mode: 'bm25', deadlineAt: Date.now() + TIMEOUT_MS, signal: controller.signal }), (e: unknown) => isPlaitError(e, 'ABORTED'));
    assert.ok(Date.now() - t0 < TIMEOUT_MS / 10, `given up well before the deadline (${Date.now() - t0} ms)`);
    // An aborted signal before the call: nothing is asked.
    seen = () => {};
    await assert.rejects(cluster.explain(query, doc0, { mode: 'bm25', deadlineAt: Date.now() + TIMEOUT_MS, signal: AbortSignal.abort() }), (e: unknown) => isPlaitError(e, 'ABORTED'));
    fault = () => null;
    const ex = await cluster.explain(query, doc0, { mode: 'bm25', deadlineAt: Date.now() + TIMEOUT_MS, signal: new AbortController().signal });
    assert.equal(ex.docId, doc0);
  } finally {
    fault = () => null;
    seen = () => {};
    await cluster.close();
  }
});

test('a shard request ends as soon as its caller aborts, not at its next retry or the deadline', { skip, timeout: 120_000 }, async () => {
  // No retry within the test: only the abort can end the wait before the deadline.
  const client = new ShardClient(nc, clusterSubjects('door'), 2, null, { attemptTimeoutMs: 10 * TIMEOUT_MS });
  const controller = new AbortController();
  fault = (s, verb) => (s === 1 && verb === 'passages' ? 'silent' : null);
  seen = (s, verb) => {
    if (s === 1 && verb === 'passages') controller.abort();
  };
  try {
    const t0 = Date.now();
    const o = await client.request(1, 'passages', { refs: [], docIds: [], deadlineAt: Date.now() + TIMEOUT_MS, minSequence: 0 }, Date.now() + TIMEOUT_MS, controller.signal);
    assert.deepEqual(o, { shard: 1, ok: false, reason: 'closed' });
    assert.ok(Date.now() - t0 < TIMEOUT_MS / 10, `given up well before the deadline (${Date.now() - t0} ms)`);
  } finally {
    fault = () => null;
    seen = () => {};
  }
});

test('HTTP, a coordinator process: a rewriting search with a slow shard 0 is answered; a pipeline with include_text that loses a shard\'s documents is 200, degraded naming it', { skip, timeout: 180_000 }, async () => {
  coordinator = await startCoordinator('door', nats.url);
  const post = async (body: Record<string, unknown>): Promise<{ status: number; json: { results?: { hits: { doc_id: string; text?: string }[]; degraded?: { reason: string; stage: string } | null; missing_shards?: number[] }[] } }> => {
    const res = await fetch(`${coordinator!.url}/v1/indexes/door/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, timeout_ms: TIMEOUT_MS }) });
    return { status: res.status, json: (await res.json()) as never };
  };
  try {
    fault = (s, verb) => (s === 0 && verb === 'tokenize' ? 'silent' : null);
    const rewritten = await post({ query, mode: 'bm25', top_k: 10, rewrite: { spelling: true } });
    assert.equal(rewritten.status, 200, JSON.stringify(rewritten.json));
    assert.ok(rewritten.json.results![0]!.hits.length > 0);
    fault = (s, verb) => (s === 1 && verb === 'documents' ? 'lagging' : null);
    const piped = await post({ query, pipeline: 'bm25:20 > late:10', include_text: true });
    assert.equal(piped.status, 200, JSON.stringify(piped.json));
    const r = piped.json.results![0]!;
    assert.deepEqual(r.missing_shards, [1]);
    assert.equal(r.degraded?.reason, 'shards-missing');
    assert.ok(r.hits.every((h) => (shardOf(h.doc_id, 2) === 0) === (typeof h.text === 'string')), 'text on shard 0\'s hits only');
  } finally {
    fault = () => null;
  }
});
