/**
 * A cluster answer never hides that part of the cluster was not heard. A real nats-server, the two
 * shards of a sharded build served by real replicas (ShardReplica, in this process), and between
 * them and the coordinator a "door": the coordinator talks to cluster `door`, whose subscribers here
 * forward every request to the real replicas — unless the test's fault rule says that one shard
 * should not answer a kind of request (`silent`: never; `lagging`: at once with the TIMEOUT a
 * replica gives when it cannot reach a read-your-writes sequence). So one round can fail while the
 * others, the search included, hear every shard.
 *
 * Found (each case failed before its fix): the rewrite's spelling statistics (`stats` past its
 * statsDue, or the `vocabulary` fetch of a shard whose commit changed) were summed without the
 * shard, its old vocabulary (or none) kept, and the answer — library search and batch, the HTTP
 * engine's path, a pipeline's first stage, explain — said nothing, although the correction one
 * index gives was not made; a hybrid explain took its fused parts from a search that missed a shard.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { CLUSTER_MANIFEST_FILE } from '../src/cluster/cluster-manifest.js';
import { shardOf } from '../src/cluster/shard-of.js';
import { ClusterIndex } from '../src/cluster/cluster-index.js';
import { decodeMessage, type ShardInfo } from '../src/cluster/shard-protocol.js';
import { ShardClient } from '../src/cluster/shard-client.js';
import { clusterSubjects } from '../src/cluster/subjects.js';
import { readClusterManifest } from '../src/cluster/cluster-manifest.js';
import { isPlaitError } from '../src/errors/index.js';
import type { PlaitIndex } from '../src/search/plait-index.js';
import { needsData, needsNatsServer } from './helpers/requirements.js';
import type { NatsServer } from './helpers/nats-server.js';
import { startCoordinator } from './helpers/cluster.js';
import type { PlaitServe } from './helpers/plait-serve.js';
import { startDoorCluster, type DoorCluster } from './helpers/cluster-door.js';

const skip = needsData('cranfield') || needsNatsServer();
const DOCS = 200;
/** A request's time: a round that is given up at a share of it still leaves live shards ≥ 10× what they need. */
const TIMEOUT_MS = 8000;

type Fault = 'silent' | 'lagging' | 'bare' | 'failing' | null;
type Request = { queries?: { text: string | null; terms?: string[] | null; tokenIds: unknown }[] };
/** Which shard does not answer which request (null: it answers). */
let fault: (shard: number, verb: string, request: Request) => Fault = () => null;
/** The rewrite's spelling statistics: dfs of terms, no query text, no token ids (cluster-rewrite.ts). */
const rewriteStats = (verb: string, r: Request): boolean => verb === 'stats' && r.queries?.length === 1 && r.queries[0]!.text === null && r.queries[0]!.tokenIds === null;

let dir: string;
let nats: NatsServer;
let nc: NatsConnection;
let whole: PlaitIndex;
let shardIndexes: PlaitIndex[] = [];
let door: DoorCluster;
let coordinator: PlaitServe | undefined;
/** A typo that one index over the corpus corrects to a word only shard 1 holds. */
let typo = '';
let word = '';
/** A document of shard 0 that the typo's correction finds, and an ordinary query. */
let doc0 = '';
let query = '';

before(async () => {
  if (skip !== false) return;
  door = await startDoorCluster('plait-cluster-unheard-', DOCS, (s, verb, data) => fault(s, verb, decodeMessage<Request>(data)));
  ({ dir, nats, nc, whole, shardIndexes, query } = door);

  // A word only shard 1 holds whose typo one index corrects to it (spelling reads the whole corpus).
  const vocab = whole.docstore.wordVocabulary();
  const candidates = vocab.words.map((w, i) => ({ w, df: vocab.df[i]! })).filter((c) => /^[a-z]{7,10}$/.test(c.w) && c.df >= 2).sort((a, b) => b.df - a.df);
  for (const { w } of candidates) {
    const holders = (await whole.search(w, { mode: 'bm25', topK: 100 })).hits;
    if (holders.length === 0 || holders.some((h) => shardOf(h.docId, 2) !== 1)) continue;
    const t = w.slice(0, 2) + w.slice(3);
    const single = await whole.search(t, { mode: 'bm25', topK: 10, rewrite: { spelling: true } });
    if (!(single.rewrites ?? []).some((r) => r.kind === 'spelling' && r.to === w)) continue;
    typo = t;
    word = w;
    break;
  }
  assert.notEqual(typo, '', 'found a shard-1-only word that one index corrects a typo to');
  doc0 = (await whole.search(query, { mode: 'bm25', topK: 100 })).hits.find((h) => shardOf(h.docId, 2) === 0)!.docId;
});

after(async () => {
  if (skip !== false) return;
  await coordinator?.stop();
  await door?.close();
});

/** A coordinator over the door, as a fresh one holds no vocabulary yet. */
function clusterOverDoor(): Promise<ClusterIndex> {
  return door.cluster();
}

const corrected = (rewrites: { kind: string; to: string }[] | undefined): boolean => (rewrites ?? []).some((r) => r.kind === 'spelling' && r.to === word);

test('the rewrite\'s spelling statistics overrun statsDue on one shard: the answer is degraded naming it, though its search heard every shard (search, batch)', { skip, timeout: 120_000 }, async () => {
  const cluster = await clusterOverDoor();
  try {
    fault = (s, verb, r) => (s === 1 && rewriteStats(verb, r) ? 'silent' : null);
    const t0 = Date.now();
    const [one, other] = await cluster.searchEncodedBatch([typo, query], [], { mode: 'bm25', topK: 10, rewrite: { spelling: true }, deadlineAt: Date.now() + TIMEOUT_MS });
    assert.ok(Date.now() - t0 < TIMEOUT_MS, 'answered by the deadline');
    // The harm: one index corrects the typo to shard 1's word; without shard 1's vocabulary the rewrite cannot.
    assert.ok(!corrected(one!.rewrites), `no correction to ${word} without shard 1: ${JSON.stringify(one!.rewrites)}`);
    assert.equal(one!.degraded, true, `the answer says a shard was not heard: ${JSON.stringify(one!.rewrites)}`);
    assert.deepEqual(one!.missingShards, [1]);
    assert.equal(other!.degraded, true);
    assert.deepEqual(other!.missingShards, [1]);
    // The search round itself heard shard 1: the ordinary query's hits include its documents.
    assert.ok(other!.hits.some((h) => shardOf(h.docId, 2) === 1), 'shard 1 answered the search');
    // Heard again: whole, and one index's rewrite and hits.
    fault = () => null;
    const [healed] = await cluster.searchEncodedBatch([typo], [], { mode: 'bm25', topK: 10, rewrite: { spelling: true }, deadlineAt: Date.now() + TIMEOUT_MS });
    const single = await whole.search(typo, { mode: 'bm25', topK: 10, rewrite: { spelling: true } });
    assert.equal(healed!.degraded, undefined);
    assert.deepEqual(healed!.rewrites, single.rewrites);
    assert.deepEqual(healed!.hits.map((h) => [h.docId, h.score]), single.hits.map((h) => [h.docId, h.score]));
  } finally {
    fault = () => null;
    await cluster.close();
  }
});

test('a shard\'s vocabulary fetch fails: the rewrite keeps none of it and the answer is degraded naming it; in a pipeline\'s first stage too', { skip, timeout: 120_000 }, async () => {
  const cluster = await clusterOverDoor();
  try {
    fault = (s, verb) => (s === 1 && verb === 'vocabulary' ? 'lagging' : null);
    const deadlineAt = Date.now() + TIMEOUT_MS;
    const rw = await cluster.rewrite(typo, { mode: 'bm25', rewrite: { spelling: true }, deadlineAt });
    assert.deepEqual(rw?.missingShards, [1], 'the rewrite names the shard it lacks');
    const [r] = await cluster.searchEncodedBatch([typo], [], { mode: 'bm25', topK: 10, rewrite: { spelling: true }, deadlineAt: Date.now() + TIMEOUT_MS });
    assert.ok(!corrected(r!.rewrites));
    assert.equal(r!.degraded, true);
    assert.deepEqual(r!.missingShards, [1]);
    const piped = await cluster.pipelineIndex({ deadlineAt: Date.now() + TIMEOUT_MS }).search(typo, { mode: 'bm25', topK: 10, rewrite: { spelling: true } });
    assert.equal(piped.degraded, true);
    assert.deepEqual(piped.missingShards, [1]);
    // The fetch succeeds once the shard answers: whole, corrected.
    fault = () => null;
    const [healed] = await cluster.searchEncodedBatch([typo], [], { mode: 'bm25', topK: 10, rewrite: { spelling: true }, deadlineAt: Date.now() + TIMEOUT_MS });
    assert.equal(healed!.degraded, undefined);
    assert.ok(corrected(healed!.rewrites));
  } finally {
    fault = () => null;
    await cluster.close();
  }
});

test('explain: a shard missing from the rewrite\'s spelling statistics, or (hybrid) from the fused search, is CLUSTER_UNAVAILABLE naming it', { skip, timeout: 120_000 }, async () => {
  const cluster = await clusterOverDoor();
  try {
    fault = (s, verb, r) => (s === 1 && rewriteStats(verb, r) ? 'lagging' : null);
    await assert.rejects(
      cluster.explain(typo, doc0, { mode: 'bm25', rewrite: { spelling: true }, deadlineAt: Date.now() + TIMEOUT_MS }),
      (e: unknown) => isPlaitError(e, 'CLUSTER_UNAVAILABLE') && JSON.stringify(e.details?.['shards']) === '[1]',
    );
    // Hybrid: the document's shard (0) explains; its fused parts come from a search that shard 1 missed.
    fault = (s, verb) => (s === 1 && verb === 'search' ? 'lagging' : null);
    await assert.rejects(
      cluster.explain(query, doc0, { mode: 'hybrid', deadlineAt: Date.now() + TIMEOUT_MS }),
      (e: unknown) => isPlaitError(e, 'CLUSTER_UNAVAILABLE') && JSON.stringify(e.details?.['shards']) === '[1]',
    );
    fault = () => null;
    const ex = await cluster.explain(query, doc0, { mode: 'hybrid', deadlineAt: Date.now() + TIMEOUT_MS });
    assert.equal(ex.docId, doc0);
  } finally {
    fault = () => null;
    await cluster.close();
  }
});

test('highlights: a shard that does not answer their round (or answers without them, or with an error) leaves its hits without highlights, degraded naming it; the other shard\'s hits have one index\'s', { skip, timeout: 120_000 }, async () => {
  const cluster = await clusterOverDoor();
  try {
    const [e] = await (await whole.encoder()).encodeQueries([query]);
    const single = await whole.search(query, { mode: 'hybrid', exhaustive: true, topK: 10, highlights: true });
    assert.ok(single.hits.some((h) => shardOf(h.docId, 2) === 0) && single.hits.some((h) => shardOf(h.docId, 2) === 1), 'the page holds hits of both shards');
    for (const f of ['lagging', 'bare', 'failing'] as const) {
      fault = (s, verb) => (s === 1 && verb === 'highlights' ? f : null);
      const [r] = await cluster.searchEncodedBatch([query], [e!], { mode: 'hybrid', exhaustive: true, topK: 10, highlights: true, deadlineAt: Date.now() + TIMEOUT_MS });
      assert.deepEqual(r!.hits.map((h) => h.docId), single.hits.map((h) => h.docId), `${f}: the page is whole`);
      assert.equal(r!.degraded, true, f);
      assert.deepEqual(r!.missingShards, [1], f);
      r!.hits.forEach((h, k) => {
        if (shardOf(h.docId, 2) === 1) assert.equal(h.highlights, undefined, `${f}: ${h.docId} of shard 1`);
        else {
          // The late side's pid is the shard's, as the hit's is.
          const want = single.hits[k]!.highlights!;
          assert.deepEqual(h.highlights, want.late == null ? want : { ...want, late: { ...want.late, pid: h.pid } }, `${f}: ${h.docId} of shard 0`);
        }
      });
    }
    fault = () => null;
    const [healed] = await cluster.searchEncodedBatch([query], [e!], { mode: 'hybrid', exhaustive: true, topK: 10, highlights: true, deadlineAt: Date.now() + TIMEOUT_MS });
    assert.equal(healed!.degraded, undefined);
    assert.ok(healed!.hits.every((h) => h.highlights !== undefined));
  } finally {
    fault = () => null;
    await cluster.close();
  }
});

test('highlights: replicas that predate the verb (not subscribed to it, NATS says no responders) cost no wait — the answer comes at once, without highlights, degraded', { skip, timeout: 120_000 }, async () => {
  // An "old door": every shard's verbs but highlights go on to the real replicas, as replicas of an earlier version serve them.
  const old = clusterSubjects('olddoor');
  const real = clusterSubjects(readClusterManifest(door.root).name);
  const subs = [0, 1].flatMap((s) =>
    ['info', 'stats', 'search'].map((verb) =>
      door.nc.subscribe(`${old.shardService(s)}.${verb}`, {
        queue: old.shardQueue(s),
        callback: (err, m) => {
          if (err === null) void door.nc.request(`${real.shardService(s)}.${verb}`, m.data, { timeout: 60_000 }).then((a) => m.respond(a.data), () => {});
        },
      }),
    ),
  );
  await door.nc.flush();
  const client = new ShardClient(door.nc, old, 2, null);
  const infos = await Promise.all([0, 1].map((s) => client.request<ShardInfo>(s, 'info', {}, Date.now() + 20_000)));
  const cluster = new ClusterIndex('olddoor', client, infos.map((o) => (o.ok ? o.value : assert.fail(`shard ${o.shard} did not answer info`))), { encoder: await whole.encoder() });
  try {
    const [e] = await (await whole.encoder()).encodeQueries([query]);
    const t0 = Date.now();
    const [r] = await cluster.searchEncodedBatch([query], [e!], { mode: 'late', exhaustive: true, topK: 10, highlights: true, deadlineAt: Date.now() + TIMEOUT_MS });
    const ms = Date.now() - t0;
    // Before LATE_VERBS the highlights request was asked again after each "no responders" until the deadline (TIMEOUT_MS).
    assert.ok(ms < TIMEOUT_MS / 4, `answered in ${ms} ms, not at the deadline (${TIMEOUT_MS} ms)`);
    assert.ok(r!.hits.length > 0);
    assert.ok(r!.hits.every((h) => h.highlights === undefined));
    assert.equal(r!.degraded, true);
    assert.deepEqual(r!.missingShards, [0, 1]);
  } finally {
    for (const s of subs) s.unsubscribe();
    await cluster.close();
  }
});

interface HttpResult {
  degraded?: boolean | { reason: string } | null;
  missing_shards?: number[];
  rewrites?: { kind: string; to: string }[];
}

test('HTTP, a coordinator process: search, batch, pipeline and explain with a rewrite name the shard its spelling statistics missed', { skip, timeout: 180_000 }, async () => {
  fault = (s, verb, r) => (s === 1 && rewriteStats(verb, r) ? 'lagging' : null);
  coordinator = await startCoordinator('door', nats.url);
  const post = async (route: string, body: Record<string, unknown>): Promise<{ status: number; json: { results?: HttpResult[]; error?: { code: string; details?: { shards?: number[] } } } }> => {
    const res = await fetch(`${coordinator!.url}/v1/indexes/door/${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, timeout_ms: TIMEOUT_MS }) });
    return { status: res.status, json: (await res.json()) as never };
  };
  try {
    const one = await post('search', { query: typo, mode: 'bm25', top_k: 10, rewrite: { spelling: true } });
    assert.equal(one.status, 200);
    assert.equal(one.json.results![0]!.degraded, true, JSON.stringify(one.json));
    assert.deepEqual(one.json.results![0]!.missing_shards, [1]);
    const batch = await post('search', { queries: [typo, query], mode: 'hybrid', top_k: 10, rewrite: { spelling: true } });
    assert.equal(batch.status, 200);
    for (const r of batch.json.results!) assert.deepEqual([r.degraded, r.missing_shards], [true, [1]]);
    const piped = await post('search', { query: typo, pipeline: 'bm25:20 > late:10', rewrite: { spelling: true } });
    assert.equal(piped.status, 200);
    assert.deepEqual(piped.json.results![0]!.missing_shards, [1]);
    assert.equal((piped.json.results![0]!.degraded as { reason: string } | null)?.reason, 'shards-missing');
    const ex = await post('explain', { query: typo, doc_id: doc0, mode: 'bm25', rewrite: { spelling: true } });
    assert.equal(ex.status, 503);
    assert.equal(ex.json.error?.code, 'CLUSTER_UNAVAILABLE');
    assert.deepEqual(ex.json.error?.details?.shards, [1]);
    // Heard again: whole.
    fault = () => null;
    const healed = await post('search', { query: typo, mode: 'bm25', top_k: 10, rewrite: { spelling: true } });
    assert.equal(healed.json.results![0]!.degraded, undefined);
    assert.ok(corrected(healed.json.results![0]!.rewrites));
  } finally {
    fault = () => null;
  }
});

test('a coordinator started without a shard lists the counts of the others: the listing names the missing shard until it is heard', { skip, timeout: 180_000 }, async () => {
  // The cluster's folder under the door's name: the coordinator starts once shard 0 answered and shard 1 had its grace.
  const folder = join(dir, 'door');
  mkdirSync(folder);
  const manifest = JSON.parse(readFileSync(join(dir, 'cran', CLUSTER_MANIFEST_FILE), 'utf8')) as { name: string };
  writeFileSync(join(folder, CLUSTER_MANIFEST_FILE), JSON.stringify({ ...manifest, name: 'door' }));
  fault = (s) => (s === 1 ? 'silent' : null);
  const partial = await startCoordinator(folder, nats.url);
  try {
    const listing = async (): Promise<{ one: { documents: number; degraded?: boolean; missing_shards?: number[] }; all: { documents: number; missing_shards?: number[] }[] }> => ({
      one: (await (await fetch(`${partial.url}/v1/indexes/door`)).json()) as never,
      all: ((await (await fetch(`${partial.url}/v1/indexes`)).json()) as { indexes: never[] }).indexes,
    });
    const shard0 = shardIndexes[0]!.manifest.counts.documents;
    const before = await listing();
    assert.equal((before.one as unknown as { manifest: { counts: { documents: number } } }).manifest.counts.documents, shard0, 'the counts are shard 0\'s');
    assert.equal(before.one.degraded, true, JSON.stringify({ ...before.one, manifest: undefined }));
    assert.deepEqual(before.one.missing_shards, [1]);
    assert.deepEqual([before.all[0]!.documents, before.all[0]!.missing_shards], [shard0, [1]]);
    // Shard 1 answers again: the refresh tick hears it, and the listing is whole.
    fault = () => null;
    let after = await listing();
    for (const stop = Date.now() + 120_000; after.one.missing_shards !== undefined && Date.now() < stop; ) {
      await new Promise((r) => setTimeout(r, 200));
      after = await listing();
    }
    assert.equal(after.one.missing_shards, undefined);
    assert.equal(after.all[0]!.documents, DOCS);
  } finally {
    fault = () => null;
    await partial.stop();
  }
});
