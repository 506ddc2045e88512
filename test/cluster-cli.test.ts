/**
 * The cluster's command lines (issue 24): `plait index --shards` builds `<index>/shard-<i>` and
 * cluster.json with documents where shardOf puts them; `plait serve`'s cluster modes refuse
 * conflicting or missing arguments with USAGE (exit 2) and an unreachable NATS server with
 * CLUSTER_UNAVAILABLE (exit 1), at once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyColbert } from '../fixtures/tiny-colbert.js';
import { shardOf } from '../src/cluster/shard-of.js';
import { openIndex } from '../src/search/plait-index.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { PLAIT_BIN, runPlait } from './helpers/cli.js';
import { freePort, startNatsServer } from './helpers/nats-server.js';
import { needsNatsServer } from './helpers/requirements.js';

let dir: string;
let model: string;
const IDS = Array.from({ length: 40 }, (_, i) => `doc-${i}`);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-cluster-cli-'));
  model = join(dir, 'model');
  await makeTinyColbert(model, { dim: 16 });
  const words = ['wing', 'heat', 'flow', 'pressure', 'boundary', 'layer', 'cone', 'plate'];
  writeFileSync(join(dir, 'corpus.jsonl'), IDS.map((id, i) => JSON.stringify({ _id: id, text: `${words[i % 8]} ${words[(i * 3) % 8]} study number ${i}` })).join('\n'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('plait index --shards 3: shard folders, cluster.json, documents by shardOf, one codebook', async () => {
  const r = runPlait(dir, ['index', join(dir, 'corpus.jsonl'), '--index', join(dir, 'c3'), '--shards', '3', '--model', model, '--threads', '0', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { cluster: { shards: number; shardInfo: { documents: number; commit: string }[]; codebook: string } };
  const onDisk = JSON.parse(readFileSync(join(dir, 'c3', 'cluster.json'), 'utf8')) as typeof out.cluster;
  assert.deepEqual(onDisk, out.cluster);
  assert.equal(onDisk.shards, 3);
  assert.deepEqual(onDisk.shardInfo.map((s) => s.documents), [0, 1, 2].map((s) => IDS.filter((id) => shardOf(id, 3) === s).length));
  assert.match(onDisk.codebook, /^[0-9a-f]{64}$/);
  await Promise.all(
    [0, 1, 2].map(async (s) => {
      const index = await openIndex(join(dir, 'c3', `shard-${s}`));
      try {
        assert.equal(index.manifest.commit, onDisk.shardInfo[s]!.commit);
        const hits = await index.search('wing heat', { mode: 'bm25', topK: 40 });
        for (const h of hits.hits) assert.equal(shardOf(h.docId, 3), s);
      } finally {
        await index.close();
      }
    }),
  );
});

test('plait info on a sharded folder describes the cluster and each shard (it was INDEX_NOT_FOUND, "not one index"); a shard not fetched says so', () => {
  const counts = [0, 1, 2].map((s) => IDS.filter((id) => shardOf(id, 3) === s).length);
  const r = runPlait(dir, ['info', join(dir, 'c3')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^cluster {6}.*c3 \(sharded index "c3": 3 shards, routing jump-consistent-hash\/sha256-be64\)$/m);
  assert.match(r.stdout, /^documents {4}40$/m);
  for (const s of [0, 1, 2]) assert.match(r.stdout, new RegExp(`^  shard ${s} +${counts[s]} documents?, \\d+ passages?, generation 0 +.*shard-${s}$`, 'm'));
  const j = JSON.parse(runPlait(dir, ['info', join(dir, 'c3'), '--json']).stdout) as { shards: { documents: number | null }[]; cluster: { shards: number } };
  assert.equal(j.cluster.shards, 3);
  assert.deepEqual(j.shards.map((s) => s.documents), counts);
  cpSync(join(dir, 'c3'), join(dir, 'c3-partial'), { recursive: true });
  rmSync(join(dir, 'c3-partial', 'shard-2'), { recursive: true });
  const partial = runPlait(dir, ['info', join(dir, 'c3-partial')]);
  assert.equal(partial.code, 0, partial.stderr);
  assert.match(partial.stdout, /^  shard 2 +not here \(plait cluster fetch\)/m);
  assert.match(partial.stdout, new RegExp(`^documents {4}${counts[0]! + counts[1]!} in the 2 shards here$`, 'm'));
});

test('plait index --shards with --calibrate, and a cluster name that cannot be a NATS token, are refused (exit 2)', () => {
  const a = runPlait(dir, ['index', join(dir, 'corpus.jsonl'), '--index', join(dir, 'c4'), '--shards', '2', '--calibrate', '--model', model, '--json']);
  assert.equal(a.code, 2);
  assert.equal((JSON.parse(a.stderr) as { error: { code: string } }).error.code, 'USAGE');
  const b = runPlait(dir, ['index', join(dir, 'corpus.jsonl'), '--index', join(dir, 'bad.name'), '--shards', '2', '--model', model, '--json']);
  assert.equal(b.code, 2);
  assert.equal((JSON.parse(b.stderr) as { error: { code: string } }).error.code, 'INVALID_ARGUMENT');
});

test('plait serve: --coordinate without --nats is USAGE; an unreachable NATS server is CLUSTER_UNAVAILABLE', async () => {
  const a = runPlait(dir, ['serve', '--coordinate', join(dir, 'c3')]);
  assert.equal(a.code, 2, a.stderr);
  assert.match(a.stderr, /--coordinate needs --nats/);
  const port = await freePort(); // nothing listens there
  const t = Date.now();
  const b = runPlait(dir, ['serve', join(dir, 'c3', 'shard-0'), '--nats', `nats://127.0.0.1:${port}`]);
  assert.equal(b.code, 1, b.stderr);
  assert.match(b.stderr, /CLUSTER_UNAVAILABLE/);
  // The way out, as a hint line: no NATS server runs there (it had said only "connection refused").
  const startNats = /\nplait: start a NATS server with JetStream first \(nats-server -js; README "Cluster: shards and replicas on NATS"\), or point --nats at the one you run\n/;
  assert.match(b.stderr, startNats);
  assert.ok(Date.now() - t < 30_000);
  // A coordinator on an address other machines reach, without PLAIT_API_KEY, warns as plait serve <index> does (it had not).
  const open = runPlait(dir, ['serve', '--coordinate', join(dir, 'c3'), '--nats', `nats://127.0.0.1:${port}`, '--host', '0.0.0.0', '--port', '0']);
  assert.equal(open.code, 1, open.stderr);
  assert.match(open.stderr, /^plait: warning: 0\.0\.0\.0 is reachable from other machines and PLAIT_API_KEY is not set/m);
  assert.match(open.stderr, /CLUSTER_UNAVAILABLE/);
  assert.match(open.stderr, startNats);
  const closed = runPlait(dir, ['serve', '--coordinate', join(dir, 'c3'), '--nats', `nats://127.0.0.1:${port}`, '--port', '0']);
  assert.equal(closed.code, 1, closed.stderr);
  assert.doesNotMatch(closed.stderr, /warning: .* is reachable from other machines/);
  const c = runPlait(dir, ['serve', join(dir, 'c3'), '--nats', `nats://127.0.0.1:${port}`]);
  assert.equal(c.code, 2, c.stderr);
  assert.match(c.stderr, /not a shard folder/);
  // The cluster write and file commands say it the same way (they said OFFLINE, the code of PLAIT_OFFLINE; trial 7).
  for (const args of [['cluster', 'add', join(dir, 'c3'), join(dir, 'corpus.jsonl')], ['cluster', 'publish', join(dir, 'c3')], ['cluster', 'fetch', join(dir, 'fetched'), '--shard', '0']]) {
    const r = runPlait(dir, [...args, '--nats', `nats://127.0.0.1:${port}`]);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /Cluster unavailable: cannot reach the NATS server at nats:\/\/127\.0\.0\.1:\d+.*\[CLUSTER_UNAVAILABLE\]/, args.join(' '));
    assert.match(r.stderr, startNats, args.join(' '));
  }
});

test('plait index --shards past the document count clamps to it with a warning (40 documents, --shards 100: 40 shards, not 60+ empty ones)', () => {
  const r = runPlait(dir, ['index', join(dir, 'corpus.jsonl'), '--index', join(dir, 'c100'), '--shards', '100', '--model', model, '--threads', '0']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /plait: warning: --shards 100 but the corpus has 40 documents: built 40 shards instead/);
  assert.match(r.stdout, /into 40 shards under /);
  const onDisk = JSON.parse(readFileSync(join(dir, 'c100', 'cluster.json'), 'utf8')) as { shards: number };
  assert.equal(onDisk.shards, 40);
  assert.equal(readdirSync(join(dir, 'c100')).filter((f) => f.startsWith('shard-')).length, 40);
  // At or under the document count: built as asked, without a word.
  const ok = runPlait(dir, ['index', join(dir, 'corpus.jsonl'), '--index', join(dir, 'c40'), '--shards', '40', '--model', model, '--threads', '0']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.doesNotMatch(ok.stderr, /warning/);
  assert.equal((JSON.parse(readFileSync(join(dir, 'c40', 'cluster.json'), 'utf8')) as { shards: number }).shards, 40);
});

test('plait index onto a sharded index (with or without --shards) is refused with what to do instead: build beside it, publish, serve, switch (it had said only "choose another --index")', () => {
  const root = join(dir, 'c3');
  for (const shards of [['--shards', '2'], []]) {
    const r = runPlait(dir, ['index', join(dir, 'corpus.jsonl'), '--index', root, ...shards, '--model', model, '--threads', '0', '--json']);
    assert.equal(r.code, 2, r.stderr);
    const e = (JSON.parse(r.stderr.trim().split('\n').pop()!) as { error: { code: string; message: string; details: { reason: string; path: string } } }).error;
    assert.equal(e.code, 'DESTINATION_EXISTS');
    assert.equal(e.details.reason, 'cluster');
    assert.equal(e.details.path, root);
    for (const step of ['plait index <corpus> --index c3-2 --shards <n>', 'plait cluster publish c3-2 --nats <url>', 'plait serve c3-2/shard-<i> --nats <url>', 'plait serve --nats <url> --coordinate c3-2', 'plait cluster add', 'remove it first']) {
      assert.ok(e.message.includes(step), `${shards.join(' ') || 'no --shards'}: "${step}" in ${e.message}`);
    }
  }
  // The cluster is untouched.
  assert.equal((JSON.parse(readFileSync(join(root, 'cluster.json'), 'utf8')) as { shards: number }).shards, 3);
});

/** `plait serve <shard> --nats <url>` as a child process, resolved once it printed its ready line. */
function startReplicaCli(shard: string, url: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [PLAIT_BIN, 'serve', shard, '--nats', url], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"msg":"ready"')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`replica exited ${code} before it was ready: ${err}`)));
  });
}

async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exit;
}

test('a second replica of one shard folder is refused naming the first (both applied every write, contending for its lock); once the first is killed with -9, one starts', { skip: needsNatsServer(), timeout: 120_000 }, async () => {
  const nats = await startNatsServer();
  const shard = join(dir, 'c3', 'shard-0');
  const children: ChildProcess[] = [];
  try {
    const first = await startReplicaCli(shard, nats.url);
    children.push(first);
    // Bounded: before, the second replica started and served for ever.
    const second = spawnSync(process.execPath, [PLAIT_BIN, 'serve', shard, '--nats', nats.url], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(second.status, 1, `a second replica of the folder was not refused: ${second.stderr}`);
    assert.match(second.stderr, new RegExp(`already served by replica pid ${first.pid} on .*give each replica its own copy.*\\[INDEX_LOCKED\\]`, 'is'));
    // A copy of the cluster's folder is another replica of the same cluster.
    cpSync(join(dir, 'c3'), join(dir, 'c3-b'), { recursive: true });
    children.push(await startReplicaCli(join(dir, 'c3-b', 'shard-0'), nats.url));
    await kill9(first);
    children.push(await startReplicaCli(shard, nats.url));
  } finally {
    for (const c of children) await kill9(c);
    await nats.stop();
  }
});

/** A plait child process and a wait for a line of its stderr or stdout (resolving to all it printed so far). */
function watched(args: string[]): { child: ChildProcess; waitFor: (re: RegExp) => Promise<string> } {
  const child = spawn(process.execPath, [PLAIT_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const waiters: { re: RegExp; resolve: (text: string) => void }[] = [];
  const onData = (d: Buffer): void => {
    text += d.toString();
    for (const w of [...waiters]) if (w.re.test(text)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(text));
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const waitFor = (re: RegExp): Promise<string> =>
    new Promise((resolve, reject) => {
      if (re.test(text)) return resolve(text);
      waiters.push({ re, resolve });
      child.once('exit', (code) => reject(new Error(`exited ${code} before printing ${re}: ${text}`)));
    });
  return { child, waitFor };
}

test('a replica and a coordinator say when they lose the NATS server and when it is back (they had said nothing while answering without shards)', { skip: needsNatsServer(), timeout: 120_000 }, async () => {
  const port = await freePort();
  const store = join(dir, 'nats-store');
  const startNats = (): ChildProcess => spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', store], { stdio: 'ignore' });
  // Copied before the NATS server starts: a copy that throws must not leave a server keeping the run alive.
  cpSync(join(dir, 'c3'), join(dir, 'c3-n'), { recursive: true });
  let server = startNats();
  const url = `nats://127.0.0.1:${port}`;
  const replica = watched(['serve', join(dir, 'c3-n', 'shard-0'), '--nats', url]);
  let coordinator: ReturnType<typeof watched> | null = null;
  try {
    await replica.waitFor(/"msg":"ready"/);
    coordinator = watched(['serve', '--coordinate', join(dir, 'c3-n'), '--nats', url, '--port', '0', '--model', model]);
    await coordinator.waitFor(/coordinating cluster c3/);
    await kill9(server);
    const [, said] = await Promise.all([replica, coordinator].map((p) => p.waitFor(/plait: lost the NATS server at nats:\/\/127\.0\.0\.1:\d+, reconnecting: .*\n/)));
    // The coordinator's line says what its clients get meanwhile: 503s, not searches "without the shards"
    // (it had said so, though a search no shard answers is 503 CLUSTER_UNAVAILABLE and /ready 503).
    assert.match(said!, /reconnecting: searches answer 503 CLUSTER_UNAVAILABLE, \/ready 503, and writes fail \(TIMEOUT\) until it is back\n/);
    server = startNats();
    await Promise.all([replica, coordinator].map((p) => p.waitFor(/plait: reconnected to the NATS server at nats:\/\/127\.0\.0\.1:\d+/)));
  } finally {
    await kill9(replica.child);
    if (coordinator !== null) await kill9(coordinator.child);
    await kill9(server);
  }
});
