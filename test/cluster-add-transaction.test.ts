/**
 * `plait cluster add` is one write, as `plait add` is one generation: a refused input (a corrupt
 * .gz, a JSONL whose late line is malformed) publishes nothing, and a writer killed mid-publish
 * leaves nothing any replica applies — each shard holds all of its part of the file or none of it.
 * Before, each batch of 256 documents was an ordinary log entry: the batches before the fault were
 * applied by every replica while the command reported the error.
 *
 * A real nats-server on a random loopback port, a 2-shard index built by the CLI, one LogApplier
 * per shard applying to the shard folder, the CLI as a child process (SIGKILLed at a seeded count
 * of its log messages, seen by a subscriber on the write subjects). After each case a small good add
 * is the barrier: once both replicas applied it, they applied everything before it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { makeTinyColbert } from '../fixtures/tiny-colbert.js';
import { shardOf } from '../src/cluster/shard-of.js';
import { LogApplier, type AppliedBatch } from '../src/cluster/log-applier.js';
import { WriteLog } from '../src/cluster/write-log.js';
import { WriteTransaction } from '../src/cluster/write-transaction.js';
import { readManifest } from '../src/format/index-reader.js';
import { ShardReplica } from '../src/cluster/shard-replica.js';
import { openIndex } from '../src/search/plait-index.js';
import { clusterSubjects } from '../src/cluster/subjects.js';
import { Random } from '../src/util/random.js';
import { startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { needsNatsServer } from './helpers/requirements.js';
import { PLAIT_BIN, runPlait, type CliResult } from './helpers/cli.js';
import { buildBase, doc, documentsOf } from './helpers/cluster-writes.js';

const skip = needsNatsServer();
const SHARDS = 2;
const NAME = 'txc';
const WORDS = ['wing', 'heat', 'flow', 'pressure', 'boundary', 'layer', 'cone', 'plate', 'study', 'cell'];
let dir: string;
let root: string;
let nats: NatsServer;
let nc: NatsConnection;
const appliers: LogApplier[] = [];
let barriers = 0;

const line = (id: string, i: number): string => JSON.stringify({ _id: id, text: `${WORDS[i % 10]} ${WORDS[(i * 7) % 10]} ${WORDS[(i * 3) % 10]} number ${i}` });
const corpus = (prefix: string, n: number): string => Array.from({ length: n }, (_, i) => line(`${prefix}-${i}`, i)).join('\n') + '\n';

function errorOf(r: CliResult): { code: string; details?: Record<string, unknown> } {
  return (JSON.parse(r.stderr.trim().split('\n').pop()!) as { error: { code: string; details?: Record<string, unknown> } }).error;
}

/** The CLI without blocking this process (whose replicas must answer the CLI's pings meanwhile). */
function runPlaitAsync(args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [PLAIT_BIN, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PLAIT_INDEX_DIR: join(dir, 'indexes') } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function streamMessages(): Promise<number> {
  const jsm = await jetstreamManager(nc);
  let n = 0;
  for (let s = 0; s < SHARDS; s++) n += (await jsm.streams.info(clusterSubjects(NAME).writeStream(s))).state.messages;
  return n;
}

/** A good add touching both shards; resolves once both replicas applied it (so everything before it). */
async function barrier(): Promise<void> {
  const ids: string[] = [];
  for (let j = 0; new Set(ids.map((id) => shardOf(id, SHARDS))).size < SHARDS; j++) ids.push(`barrier-${barriers}-${j}`);
  barriers++;
  const file = join(dir, `barrier-${barriers}.jsonl`);
  writeFileSync(file, ids.map((id, i) => line(id, i)).join('\n') + '\n');
  const r = runPlait(dir, ['cluster', 'add', root, file, '--nats', nats.url, '--threads', '0', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { sequences: { shard: number; sequence: number }[] };
  assert.equal(out.sequences.length, SHARDS);
  for (const s of out.sequences) assert.ok((await appliers[s.shard]!.waitFor(s.sequence, { timeoutMs: 60_000 })).reached, `shard ${s.shard} applied the barrier`);
  for (const id of ids) assert.ok(documentsOf(join(root, `shard-${shardOf(id, SHARDS)}`)).has(id), `barrier ${id} applied`);
}

/** Per shard, how many of `ids` (those routed there) its replica holds. */
function held(ids: readonly string[]): { shard: number; expected: number; held: number }[] {
  return Array.from({ length: SHARDS }, (_, shard) => {
    const mine = ids.filter((id) => shardOf(id, SHARDS) === shard);
    const docs = documentsOf(join(root, `shard-${shard}`));
    return { shard, expected: mine.length, held: mine.filter((id) => docs.has(id)).length };
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-cltx-'));
  if (skip !== false) return;
  const model = join(dir, 'model');
  await makeTinyColbert(model, { dim: 16 });
  writeFileSync(join(dir, 'base.jsonl'), corpus('base', 40));
  root = join(dir, NAME);
  const built = runPlait(dir, ['index', join(dir, 'base.jsonl'), '--index', root, '--shards', String(SHARDS), '--model', model, '--threads', '0', '-q']);
  assert.equal(built.code, 0, built.stderr);
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  for (let s = 0; s < SHARDS; s++) appliers.push(await LogApplier.start(join(root, `shard-${s}`), { nc, cluster: NAME, shard: s }));
});
after(async () => {
  for (const a of appliers) await a.stop();
  await nc?.close();
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a corrupt .gz and a JSONL malformed at line 600 are refused with their code and publish nothing (600 documents: 2 batches of 256 before the fault)', { skip, timeout: 300_000 }, async () => {
  const good = corpus('gz', 700);
  const whole = gzipSync(good);
  const truncated = join(dir, 'truncated.jsonl.gz');
  writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length * 0.9)));
  const lines = corpus('late', 700).split('\n');
  lines[599] = '{"_id": "late-599", "text": '; // line 600
  const late = join(dir, 'late.jsonl');
  writeFileSync(late, lines.join('\n'));
  for (const [file, code, prefix] of [[truncated, 'CORRUPT_INPUT', 'gz'], [late, 'MALFORMED_JSONL', 'late']] as const) {
    const before = await streamMessages();
    const r = runPlait(dir, ['cluster', 'add', root, file, '--nats', nats.url, '--threads', '0', '--json']);
    assert.equal(r.code, 2, r.stderr);
    const e = errorOf(r);
    assert.equal(e.code, code, r.stderr);
    assert.equal(e.details?.['file'], file);
    if (code === 'MALFORMED_JSONL') assert.equal(e.details?.['line'], 600);
    assert.equal(await streamMessages(), before, `${file}: nothing published to the write logs`);
    await barrier();
    const ids = Array.from({ length: 700 }, (_, i) => `${prefix}-${i}`);
    for (const h of held(ids)) assert.equal(h.held, 0, `${file}: shard ${h.shard} holds ${h.held} of the refused file's ${h.expected} documents`);
  }
});

test('plait cluster add <name> - reads the corpus from standard input whole, as plait add does: added to every shard, or refused (a malformed late line) with nothing published (it was "no corpus at -")', { skip, timeout: 300_000 }, async () => {
  const piped = (input: string, extra: string[] = []): CliResult => {
    const r = spawnSync(process.execPath, [PLAIT_BIN, 'cluster', 'add', root, '-', '--nats', nats.url, '--threads', '0', '--json', ...extra], { cwd: dir, input, encoding: 'utf8', env: { ...process.env, PLAIT_INDEX_DIR: join(dir, 'indexes') } });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const ok = piped(corpus('stdin', 20));
  assert.equal(ok.code, 0, ok.stderr);
  const out = JSON.parse(ok.stdout) as { documents: number; sequences: { shard: number; sequence: number }[] };
  assert.equal(out.documents, 20);
  for (const q of out.sequences) assert.ok((await appliers[q.shard]!.waitFor(q.sequence, { timeoutMs: 60_000 })).reached);
  for (const h of held(Array.from({ length: 20 }, (_, i) => `stdin-${i}`))) assert.equal(h.held, h.expected, `shard ${h.shard}`);
  // --format names the format, as for plait add's standard input.
  const tsv = piped('id\ttext\nstdin-tsv\twing heat flow\n', ['--format', 'tsv']);
  assert.equal(tsv.code, 0, tsv.stderr);
  assert.equal((JSON.parse(tsv.stdout) as { documents: number }).documents, 1);
  const lines = corpus('stdinbad', 300).split('\n');
  lines[289] = '{"_id": "stdinbad-289", "text": '; // line 290, past the first batch of 256
  const before = await streamMessages();
  const bad = piped(lines.join('\n'));
  assert.equal(bad.code, 2, bad.stderr);
  assert.equal(errorOf(bad).code, 'MALFORMED_JSONL');
  assert.equal(errorOf(bad).details?.['line'], 290);
  assert.equal(errorOf(bad).details?.['file'], 'standard input');
  assert.equal(await streamMessages(), before, 'nothing published to the write logs');
});

test('a cluster add SIGKILLed mid-publish (seeded points) leaves each shard with all of its part of the file or none of it', { skip, timeout: 600_000 }, async (t) => {
  const rng = new Random(2411);
  const n = 1500; // 6 batches of 256: 12 staged entries across the 2 shards, then 2 commit entries
  const sub = nc.subscribe(`plait.${NAME}.shard.*.writes`);
  const trigger: { seen: number; k: number; kill: (() => void) | null } = { seen: 0, k: 0, kill: null };
  void (async () => {
    for await (const _ of sub) {
      trigger.seen++;
      if (trigger.kill !== null && trigger.seen >= trigger.k) trigger.kill();
    }
  })();
  try {
    const outcomes: string[] = [];
    for (let round = 0; round < 3; round++) {
      const prefix = `kill${round}`;
      const file = join(dir, `${prefix}.jsonl`);
      writeFileSync(file, corpus(prefix, n));
      const k = 1 + rng.int(10); // a staged entry among the first 10 of 12
      trigger.seen = 0;
      trigger.k = k;
      const child = spawn(process.execPath, [PLAIT_BIN, 'cluster', 'add', root, file, '--nats', nats.url, '--threads', '0', '--json'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PLAIT_INDEX_DIR: join(dir, 'indexes') } });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
      trigger.kill = () => child.kill('SIGKILL');
      const { code, signal } = await exited;
      trigger.kill = null;
      await barrier();
      const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
      const h = held(ids);
      for (const s of h) assert.ok(s.held === 0 || s.held === s.expected, `round ${round} (killed at message ${k}, exit ${code ?? signal}): shard ${s.shard} holds ${s.held} of its ${s.expected} documents of the file — a partial transaction ${stderr}`);
      outcomes.push(`k=${k}: ${signal ?? code}, held ${h.map((s) => `${s.held}/${s.expected}`).join(' ')}`);
    }
    t.diagnostic(outcomes.join('; '));
    // The seeded points fell inside the staging (a kill is sent at the k-th of 12 staged entries): nothing was applied.
    assert.ok(outcomes.some((o) => / SIGKILL, held 0\/\d+ 0\/\d+$/.test(o)), `at least one kill before the commit: ${outcomes.join('; ')}`);
  } finally {
    sub.unsubscribe();
  }
});

test('a replica restarted inside a transaction (its position recorded between staged entries) applies the whole transaction at its commit, in one commit of its own', { skip, timeout: 120_000 }, async () => {
  const path = join(dir, 'lib-shard');
  await buildBase(path, 20, 9);
  // A small payload: every staged write is published in several parts.
  const log = await WriteLog.open(nc, 'txlib', { shards: 1, maxPayload: 4096 });
  const batches: AppliedBatch[] = [];
  const start = (): Promise<LogApplier> => LogApplier.start(path, { nc, cluster: 'txlib', shard: 0, afterCommit: (b) => void batches.push(b) });
  let applier = await start();
  const tx = new WriteTransaction(log);
  await tx.stage({ add: [doc('t1', 1), doc('t2', 2)] });
  const other = (await log.append({ add: [doc('o1', 3)] })).shards[0]!;
  await tx.stage({ add: [doc('t3', 4), doc('t1', 5)] }); // t1 again: the later batch wins, as in one file read in order
  const other2 = (await log.append({ add: [doc('o2', 6)] })).shards[0]!;
  assert.ok((await applier.waitFor(other2.sequence, { timeoutMs: 30_000 })).reached);
  let docs = documentsOf(path);
  assert.ok(docs.has('o1') && docs.has('o2'), 'the writes between the staged entries are applied');
  assert.ok(!docs.has('t1') && !docs.has('t2') && !docs.has('t3'), 'no staged entry is applied before the commit');
  assert.ok(readManifest(path).appliedLog!.sequence > other.sequence, 'the recorded position lies between staged entries');
  await applier.stop();
  applier = await start(); // resumes after o2: the staged entries before it are read back at the commit
  const ack = await tx.commit();
  assert.equal(ack.shards.length, 1);
  assert.ok(ack.shards[0]!.firstSequence < other.sequence && ack.shards[0]!.sequence > other2.sequence, JSON.stringify(ack));
  assert.equal(ack.shards[0]!.documents, 4);
  assert.equal(ack.shards[0]!.writes, 2);
  assert.ok((await applier.waitFor(ack.shards[0]!.sequence, { timeoutMs: 30_000 })).reached);
  await applier.stop();
  docs = documentsOf(path);
  for (const id of ['t1', 't2', 't3']) assert.ok(docs.has(id), id);
  assert.match(docs.get('t1')!, /vectors 5/, 'the later staged version of t1');
  const committed = batches.filter((b) => b.txn === tx.txn);
  assert.equal(committed.length, 1, 'one commit applied the transaction');
  assert.equal(committed[0]!.writes, 1);
  assert.equal(committed[0]!.result.added, 3);
  assert.equal(readManifest(path).appliedLog!.sequence, ack.shards[0]!.sequence);
});

test('plait cluster add answers what it published (documents and sequences per shard) and, with --wait, each replica\'s added/replaced/unchanged counts; no replica answering is TIMEOUT with the write stored', { skip, timeout: 300_000 }, async () => {
  const indexes = await Promise.all(Array.from({ length: SHARDS }, (_, s) => openIndex(join(root, `shard-${s}`), { workers: 1 })));
  const replicas = await Promise.all(indexes.map((index) => ShardReplica.start(index, { servers: nats.url })));
  replicas.forEach((r, s) => r.attachLog(appliers[s]!));
  const ids = Array.from({ length: 30 }, (_, i) => `wait-${i}`);
  const perShard = Array.from({ length: SHARDS }, (_, s) => ids.filter((id) => shardOf(id, SHARDS) === s).length);
  const file = join(dir, 'wait.jsonl');
  writeFileSync(file, ids.map((id, i) => line(id, i)).join('\n') + '\n');
  type Out = { documents: number; transaction: string; published: { shard: number; firstSequence: number; sequence: number; documents: number; writes: number }[]; replicas: { complete: boolean; shards: { shard: number; sequence: number; replicas: { applied: number; transaction: { txn: string; added: number; replaced: number; unchanged: number; deleted: number } | null }[] }[] } };
  const add = async (): Promise<Out> => {
    const r = await runPlaitAsync(['cluster', 'add', root, file, '--nats', nats.url, '--threads', '0', '--wait', '120', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Out;
  };
  try {
    const first = await add();
    assert.equal(first.documents, 30);
    assert.deepEqual(first.published.map((p) => p.documents), perShard);
    for (const p of first.published) assert.ok(p.firstSequence < p.sequence && p.writes === 1, JSON.stringify(p));
    assert.equal(first.replicas.complete, true);
    first.replicas.shards.forEach((s, i) => {
      assert.equal(s.replicas.length, 1, `shard ${s.shard}: its one replica answered`);
      assert.deepEqual(s.replicas[0]!.transaction, { txn: first.transaction, sequence: s.sequence, added: perShard[i], replaced: 0, unchanged: 0, deleted: 0 });
    });
    // The same file again: every replica finds every document unchanged.
    const again = await add();
    again.replicas.shards.forEach((s, i) => assert.deepEqual({ ...s.replicas[0]!.transaction, txn: '', sequence: 0 }, { txn: '', sequence: 0, added: 0, replaced: 0, unchanged: perShard[i], deleted: 0 }));
    // Five texts changed, in text form: the replaced count per replica; a line --skip-invalid skips is
    // named on the result line, as plait add names it (it had said so only with --json: trial 12c).
    writeFileSync(file, ids.map((id, i) => (i < 5 ? JSON.stringify({ _id: id, text: `changed ${i}` }) : line(id, i))).join('\n') + '\n' + JSON.stringify({ _id: 'empty-one', text: '' }) + '\n');
    const text = await runPlaitAsync(['cluster', 'add', root, file, '--nats', nats.url, '--threads', '0', '--wait', '120', '--skip-invalid']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^published 30 documents to cluster txc as one write \(1 batch, transaction \S+\), stored by its write logs: shard 0: \d+ documents, sequences \d+–\d+; shard 1: [^\n]*; skipped 1 invalid \(1 EMPTY_TEXT\)$/m);
    const replaced = [...text.stdout.matchAll(/replica \d+: 0 added, (\d+) replaced, (\d+) unchanged, 0 deleted/g)].map((m) => [Number(m[1]), Number(m[2])]);
    assert.equal(replaced.length, SHARDS, text.stdout);
    assert.equal(replaced.reduce((a, [r]) => a + r!, 0), 5);
    assert.equal(replaced.reduce((a, [, u]) => a + u!, 0), 25);
    // A field of strings, then numbers (an untyped CSV year, then a typed one): the waited add says
    // METADATA_TYPE_MIXED once over the cluster, as plait add does (only the replicas' stderr had said it;
    // then each shard by its own counts).
    const years = Array.from({ length: 12 }, (_, i) => `year-${i}`);
    const mixedCsv = (header: string, prefix: string): string => `id,text,${header}\n` + years.map((id, i) => `${prefix}${id},harvest of year ${i},${1990 + i}`).join('\n') + '\n';
    writeFileSync(join(dir, 'years.csv'), mixedCsv('year', 's-'));
    const untyped = await runPlaitAsync(['cluster', 'add', root, join(dir, 'years.csv'), '--nats', nats.url, '--threads', '0', '--wait', '120', '-q']);
    assert.equal(untyped.code, 0, untyped.stderr);
    // The corpus reader's warnings reach stderr as plait add prints them (cluster add had printed none: cli-15).
    assert.match(untyped.stderr, /^plait: warning: \S*years\.csv line 2: column "year" is stored as text/m, untyped.stderr);
    // Served as a replica serves its commits (plait serve --nats refreshes after each): the strings' example is searched there.
    for (const i of indexes) await i.refresh();
    writeFileSync(join(dir, 'years.csv'), mixedCsv('year:number', 'n-'));
    const mixed = await runPlaitAsync(['cluster', 'add', root, join(dir, 'years.csv'), '--nats', nats.url, '--threads', '0', '--wait', '120', '-q']);
    assert.equal(mixed.code, 0, mixed.stderr);
    // Every shard's counts summed; examples: the add's own document for the numbers, a stored one for the strings (the first shard's).
    const firstOn0 = (prefix: string): string => years.map((id) => `${prefix}${id}`).find((id) => shardOf(id, SHARDS) === 0)!;
    const warned = mixed.stderr.split('\n').filter((l) => l.includes('METADATA_TYPE_MIXED'));
    assert.deepEqual(warned.map((l) => l.replace(/: types compare as JSON types.*$/, '')), [`plait: warning: metadata field "year" now holds strings in 12 documents (e.g. "${firstOn0('s-')}") and numbers in 12 documents (e.g. "${firstOn0('n-')}")`], mixed.stderr);
  } finally {
    for (const r of replicas) await r.close();
    for (const i of indexes) await i.close();
  }
  // No replica answers now: the wait runs out, TIMEOUT (exit 1), and the write is stored (the appliers apply it).
  writeFileSync(file, line('wait-late', 1) + '\n');
  const r = runPlait(dir, ['cluster', 'add', root, file, '--nats', nats.url, '--threads', '0', '--wait', '1', '--json']);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(errorOf(r).code, 'TIMEOUT');
  assert.match(r.stderr, /stored in the write logs .* no replica answered/);
  const out = JSON.parse(r.stdout) as Out;
  assert.equal(out.replicas.complete, false);
  const shard = shardOf('wait-late', SHARDS);
  assert.ok((await appliers[shard]!.waitFor(out.published[0]!.sequence, { timeoutMs: 60_000 })).reached);
  assert.ok(documentsOf(join(root, `shard-${shard}`)).has('wait-late'));
});
