/**
 * `plait cluster delete --wait <s>`: a delete on a cluster had been a plain log append whose
 * result was only "acknowledged at sequence N" — a typo in a filter (`{"yeer": 1960}`) or ids that
 * exist nowhere deleted nothing, silently (the replicas apply the delete after the answer). With
 * --wait the delete is tracked (its id in the entry's `Plait-Track` header), every answering
 * replica applies it in a commit of its own and answers through ping what it did: deleted N, not
 * found M, and why a filter matched nothing (FILTER_FIELD_UNKNOWN with its suggestion). No replica
 * answering is TIMEOUT (exit 1) with the delete stored all the same. A replica of a version before
 * this (its ping knows no tracked write) answers its position only: the writer says it applied the
 * delete, counts unknown.
 *
 * A real nats-server on a random loopback port, a 2-shard index built by the CLI, in this process
 * one LogApplier and one ShardReplica per shard (so they answer the CLI's pings), the CLI a child.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { makeTinyColbert } from '../fixtures/tiny-colbert.js';
import { shardOf } from '../src/cluster/shard-of.js';
import { LogApplier } from '../src/cluster/log-applier.js';
import { ShardReplica } from '../src/cluster/shard-replica.js';
import { TRACK_HEADER } from '../src/cluster/write-log.js';
import { clusterSubjects } from '../src/cluster/subjects.js';
import { decodeWrite } from '../src/cluster/write-entry.js';
import { openIndex, type PlaitIndex } from '../src/search/plait-index.js';
import { startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { needsNatsServer } from './helpers/requirements.js';
import { PLAIT_BIN, runPlait, type CliResult } from './helpers/cli.js';
import { documentsOf } from './helpers/cluster-writes.js';

const skip = needsNatsServer();
const SHARDS = 2;
const NAME = 'deltc';
const N = 40;
let dir: string;
let root: string;
let nats: NatsServer;
let nc: NatsConnection;
const appliers: LogApplier[] = [];
const indexes: PlaitIndex[] = [];
const replicas: ShardReplica[] = [];

/** Documents with an `era`: a number on shard 0, its text on shard 1 (mixed over the corpus, on neither shard alone); no other test deletes them. */
const ERA = (i: number): boolean => i >= 12 && i % 4 === 0;
/** Document i: `year` 1960 + i % 4 in its metadata, and `era` i for ERA(i). */
const line = (i: number): string =>
  JSON.stringify({ _id: `d-${i}`, text: `wing heat flow number ${i}`, metadata: { year: 1960 + (i % 4), ...(ERA(i) ? { era: shardOf(`d-${i}`, SHARDS) === 0 ? i : String(i) } : {}) } });

function errorOf(r: CliResult): { code: string; message: string; details?: Record<string, unknown> } {
  return (JSON.parse(r.stderr.trim().split('\n').pop()!) as { error: { code: string; message: string; details?: Record<string, unknown> } }).error;
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

/** Ids of documents the shards hold now. */
function held(): Set<string> {
  const out = new Set<string>();
  for (let s = 0; s < SHARDS; s++) for (const id of documentsOf(join(root, `shard-${s}`)).keys()) out.add(id);
  return out;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plait-cldel-'));
  if (skip !== false) return;
  const model = join(dir, 'model');
  await makeTinyColbert(model, { dim: 16 });
  writeFileSync(join(dir, 'base.jsonl'), Array.from({ length: N }, (_, i) => line(i)).join('\n') + '\n');
  root = join(dir, NAME);
  const built = runPlait(dir, ['index', join(dir, 'base.jsonl'), '--index', root, '--shards', String(SHARDS), '--model', model, '--threads', '0', '-q']);
  assert.equal(built.code, 0, built.stderr);
  // `era` mixes numbers (shard 0) and strings (shard 1) over the corpus: the sharded build says so once, as plait index does (it had said nothing).
  const era = Array.from({ length: N }, (_, i) => i).filter(ERA);
  const [nums, strs] = [era.filter((i) => shardOf(`d-${i}`, SHARDS) === 0), era.filter((i) => shardOf(`d-${i}`, SHARDS) !== 0)];
  const docs = (n: number): string => `${n} document${n === 1 ? '' : 's'}`;
  assert.equal(
    built.stderr.split('\n').filter((l) => l.includes('[METADATA_TYPE_MIXED]')).join('\n'),
    `plait: warning: metadata field "era" now holds strings in ${docs(strs.length)} (e.g. "d-${strs[0]}") and numbers in ${docs(nums.length)} (e.g. "d-${nums[0]}"): types compare as JSON types, so a filter on it matches the values of its own type only ` +
      '({"era": {"$gte": …}} with a number skips the strings); name the CSV column "era:number" in the header row (a plain "era" column stores text) or write numbers in JSON, or convert the values to one type and add the documents again [METADATA_TYPE_MIXED]',
    built.stderr,
  );
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  for (let s = 0; s < SHARDS; s++) {
    const applier = await LogApplier.start(join(root, `shard-${s}`), { nc, cluster: NAME, shard: s, afterCommit: async () => { await indexes[s]?.refresh(); } });
    appliers.push(applier);
    indexes.push(await openIndex(join(root, `shard-${s}`), { workers: 0 }));
    const replica = await ShardReplica.start(indexes[s]!, { servers: nats.url });
    replica.attachLog(applier);
    replicas.push(replica);
  }
});
after(async () => {
  for (const r of replicas) await r.close();
  for (const i of indexes) await i.close();
  for (const a of appliers) await a.stop();
  await nc?.close();
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Applied = { txn: string; sequence: number; deleted: number; notFound?: number; filterWarnings?: { code: string; field?: string; suggestion?: string }[] };
type Out = { write: string; sequences: { shard: number; sequence: number }[]; replicas: { complete: boolean; shards: { shard: number; sequence: number; replicas: { pid: number; applied: number; transaction: Applied | null }[] }[] } };

test('cluster delete --ids --wait: each replica answers deleted and not found (ids that exist nowhere counted); the text names them per replica and in all', { skip, timeout: 120_000 }, async () => {
  const present = ['d-0', 'd-1', 'd-2', 'd-3', 'd-4', 'd-5'];
  assert.equal(new Set(present.map((id) => shardOf(id, SHARDS))).size, SHARDS, 'the ids span both shards');
  const absent = ['nowhere-1', 'nowhere-2', 'nowhere-3'];
  const ids = join(dir, 'ids.txt');
  writeFileSync(ids, [...present, ...absent].join('\n') + '\n');
  const r = await runPlaitAsync(['cluster', 'delete', root, '--ids', ids, '--nats', nats.url, '--wait', '60', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Out;
  assert.match(out.write, /^[0-9a-f-]{36}$/);
  assert.equal(out.replicas.complete, true);
  let deleted = 0;
  let notFound = 0;
  for (const s of out.replicas.shards) {
    assert.equal(s.replicas.length, 1, `shard ${s.shard}: its one replica answered`);
    const t = s.replicas[0]!.transaction!;
    assert.ok(t !== null, `shard ${s.shard}: the replica answered what it did`);
    assert.equal(t.txn, out.write);
    assert.equal(t.sequence, s.sequence);
    const mine = [...present, ...absent].filter((id) => shardOf(id, SHARDS) === s.shard);
    assert.equal(t.deleted, mine.filter((id) => present.includes(id)).length, `shard ${s.shard}`);
    assert.equal(t.notFound, mine.filter((id) => absent.includes(id)).length, `shard ${s.shard}`);
    deleted += t.deleted;
    notFound += t.notFound!;
  }
  assert.equal(deleted, present.length);
  assert.equal(notFound, absent.length);
  for (const id of present) assert.ok(!held().has(id), `${id} deleted`);
  // In text: per replica, and the ids found nowhere in all.
  writeFileSync(ids, ['d-6', 'nowhere-4'].join('\n') + '\n');
  const text = await runPlaitAsync(['cluster', 'delete', root, '--ids', ids, '--nats', nats.url, '--wait', '60']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^sent 2 ids for deletion: 1 write acknowledged by the write logs of cluster deltc \(write [0-9a-f-]{36}; last sequence shard \d: \d+/m);
  const each = [...text.stdout.matchAll(/replica \d+: (\d+) deleted, (\d+) not found/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
  assert.equal(each.length, shardOf('d-6', SHARDS) === shardOf('nowhere-4', SHARDS) ? 1 : 2, text.stdout);
  assert.deepEqual([each.reduce((a, [d]) => a + d, 0), each.reduce((a, [, m]) => a + m, 0)], [1, 1]);
  assert.match(text.stdout, /^deleted 1 document; 1 of the 2 ids found on no shard$/m);
});

test('cluster delete --filter on a field no document has: with --wait every replica says FILTER_FIELD_UNKNOWN (suggesting the field) and stderr says why nothing was deleted; without --wait stderr says only --wait tells; a good filter counts its deletes', { skip, timeout: 120_000 }, async () => {
  const before = held();
  const typo = await runPlaitAsync(['cluster', 'delete', root, '--filter', '{"yeer": 1960}', '--nats', nats.url, '--wait', '60', '--json']);
  assert.equal(typo.code, 0, typo.stderr);
  const out = JSON.parse(typo.stdout) as Out;
  assert.equal(out.replicas.shards.length, SHARDS, 'a filter goes to every shard');
  for (const s of out.replicas.shards) {
    const t = s.replicas[0]!.transaction!;
    assert.equal(t.deleted, 0);
    assert.deepEqual(t.filterWarnings?.map((w) => [w.code, w.field, w.suggestion]), [['FILTER_FIELD_UNKNOWN', 'yeer', 'year']], JSON.stringify(t));
  }
  assert.match(typo.stderr, /^plait: no document passes --filter on any shard: .*yeer.* \[FILTER_FIELD_UNKNOWN\]$/m);
  // In text, the replicas' lines carry it too.
  const text = await runPlaitAsync(['cluster', 'delete', root, '--filter', '{"yeer": 1960}', '--nats', nats.url, '--wait', '60']);
  assert.equal(text.code, 0, text.stderr);
  assert.equal([...text.stdout.matchAll(/replica \d+: 0 deleted \(filter: .*?\[FILTER_FIELD_UNKNOWN\]\)/g)].length, SHARDS, text.stdout);
  assert.match(text.stderr, /\[FILTER_FIELD_UNKNOWN\]/);
  // Without --wait, a replica of each shard counts the filter's matches before the delete is published: the same reason, one line.
  const blind = await runPlaitAsync(['cluster', 'delete', root, '--filter', '{"yeer": 1960}', '--nats', nats.url, '--json']);
  assert.equal(blind.code, 0, blind.stderr);
  assert.match(blind.stderr, /^plait: no document passes --filter on any shard \(counted before the delete\): .*yeer.* \[FILTER_FIELD_UNKNOWN\]$/m);
  assert.equal(blind.stderr.trim().split('\n').length, 1, blind.stderr);
  const preview = (JSON.parse(blind.stdout) as { filterPreview: { matches: number; shards: { matches: number }[] } }).filterPreview;
  assert.deepEqual([preview.matches, preview.shards.map((x) => x.matches)], [0, [0, 0]]);
  assert.deepEqual(held(), before, 'the typo deleted nothing');
  // A filter that matches, without --wait: the count before the delete, per shard.
  const counted = await runPlaitAsync(['cluster', 'delete', root, '--filter', '{"year": 1962}', '--nats', nats.url]);
  assert.equal(counted.code, 0, counted.stderr);
  const n1962 = [...before].filter((id) => Number(id.slice(2)) % 4 === 2).length;
  assert.match(counted.stdout, new RegExp(`^the filter matched ${n1962} documents before the delete \\(shard 0: \\d+, shard 1: \\d+\\); each replica deletes them as it applies the write`, 'm'));
  assert.equal(counted.stderr, '');
  // A filter that matches: its deletes counted per replica.
  const good = await runPlaitAsync(['cluster', 'delete', root, '--filter', '{"year": 1961}', '--nats', nats.url, '--wait', '60', '--json']);
  assert.equal(good.code, 0, good.stderr);
  const g = JSON.parse(good.stdout) as Out;
  const expected = [...before].filter((id) => Number(id.slice(2)) % 4 === 1).length;
  assert.ok(expected > 0);
  assert.equal(g.replicas.shards.reduce((a, s) => a + s.replicas[0]!.transaction!.deleted, 0), expected);
  assert.equal(good.stderr, '');
});

test('cluster delete --filter on a field of numbers on one shard and strings on the other: FILTER_TYPE_MIXED over the corpus (the shards\' counts summed), from the preview without --wait and from the replicas\' counts with it, as plait delete warns', { skip, timeout: 120_000 }, async () => {
  const era = Array.from({ length: N }, (_, i) => i).filter(ERA);
  const numbers = era.filter((i) => shardOf(`d-${i}`, SHARDS) === 0);
  const strings = era.length - numbers.length;
  assert.ok(numbers.length >= 2 && strings >= 1, 'both shards hold some');
  const docs = (n: number): string => `${n} document${n === 1 ? '' : 's'}`;
  const mixed = (stderr: string, n: number): void =>
    assert.match(stderr, new RegExp(`^plait: warning: filter field "era" holds (numbers in ${docs(n)} and strings in ${docs(strings)}|strings in ${docs(strings)} and numbers in ${docs(n)}): this filter compares numbers only.* \\[FILTER_TYPE_MIXED\\]$`, 'm'));
  // Without --wait: the preview's counts, summed (before, nothing: neither shard's own counts are mixed).
  const blind = await runPlaitAsync(['cluster', 'delete', root, '--filter', `{"era": ${numbers[0]}}`, '--nats', nats.url]);
  assert.equal(blind.code, 0, blind.stderr);
  assert.match(blind.stdout, /^the filter matched 1 document before the delete/m);
  mixed(blind.stderr, numbers.length);
  assert.equal(blind.stderr.trim().split('\n').length, 1, blind.stderr);
  // With --wait: the counts each replica took as it applied the delete (after the one above), summed.
  const waited = await runPlaitAsync(['cluster', 'delete', root, '--filter', '{"era": {"$gte": 0}}', '--nats', nats.url, '--wait', '60', '--json']);
  assert.equal(waited.code, 0, waited.stderr);
  mixed(waited.stderr, numbers.length - 1);
  const out = JSON.parse(waited.stdout) as Out & { filterWarnings?: { code: string; field: string; storedCounts: { type: string; documents: number }[] }[] };
  assert.deepEqual(out.filterWarnings?.map((w) => [w.code, w.field, [...w.storedCounts].sort((a, b) => a.type.localeCompare(b.type))]), [['FILTER_TYPE_MIXED', 'era', [{ type: 'number', documents: numbers.length - 1 }, { type: 'string', documents: strings }]]]);
  assert.equal(out.replicas.shards.reduce((a, s) => a + s.replicas[0]!.transaction!.deleted, 0), numbers.length - 1);
  const left = held();
  assert.deepEqual(era.filter((i) => left.has(`d-${i}`)).length, strings, 'the numbers deleted, the strings left');
});

test('cluster add --wait: a field of numbers on one shard and strings on another is METADATA_TYPE_MIXED over the cluster, said once as plait add says it (example ids, though the add touched one shard); a replica without type counts makes the cluster\'s types "unknown"', { skip, timeout: 120_000 }, async () => {
  const idOn = (shard: number, tag: string): string => Array.from({ length: 64 }, (_, k) => `${tag}-${k}`).find((id) => shardOf(id, SHARDS) === shard)!;
  const [num, str, late] = [idOn(0, 'lvn'), idOn(1, 'lvs'), idOn(1, 'lvl')];
  const add = (file: string, id: string, lvl: unknown, extra: string[] = []): Promise<CliResult> => {
    writeFileSync(join(dir, file), JSON.stringify({ _id: id, text: `gauge level reading ${id}`, metadata: { lvl } }) + '\n');
    return runPlaitAsync(['cluster', 'add', root, join(dir, file), '--nats', nats.url, '--wait', '60', ...extra]);
  };
  // Numbers on shard 0: one type over the corpus, nothing to say.
  const first = await add('lvl-0.jsonl', num, 7);
  assert.equal(first.code, 0, first.stderr);
  assert.doesNotMatch(first.stderr, /METADATA_TYPE_MIXED/);
  // Strings on shard 1 (this add touches shard 1 only): mixed over the corpus, on neither shard alone.
  const second = await add('lvl-1.jsonl', str, '7');
  assert.equal(second.code, 0, second.stderr);
  assert.equal(
    second.stderr,
    `plait: warning: metadata field "lvl" now holds strings in 1 document (e.g. "${str}") and numbers in 1 document (e.g. "${num}"): types compare as JSON types, so a filter on it matches the values of its own type only ` +
      '({"lvl": {"$gte": …}} with a number skips the strings); name the CSV column "lvl:number" in the header row (a plain "lvl" column stores text) or write numbers in JSON, or convert the values to one type and add the documents again [METADATA_TYPE_MIXED]\n',
  );
  // A replica that sends no type counts (a version before them): the cluster's types are unknown, said so.
  const real = appliers[1]!;
  replicas[1]!.attachLog({ applied: real.applied, waitFor: (s, o) => real.waitFor(s, o), transaction: (txn) => {
    const t = real.transaction(txn);
    return t === undefined ? undefined : (({ metadataTypes: _, ...rest }) => rest)(t);
  } });
  try {
    const third = await add('lvl-2.jsonl', late, true, ['--json']);
    assert.equal(third.code, 0, third.stderr);
    const out = JSON.parse(third.stdout) as { metadataWarnings?: unknown[]; metadataTypesUnknown?: number[] };
    assert.deepEqual([out.metadataWarnings, out.metadataTypesUnknown], [undefined, [1]], third.stdout);
  } finally {
    replicas[1]!.attachLog(real);
  }
});

test('a tracked delete is a version-1 entry with one more header (an older applier applies it as any write); an older replica\'s ping (no counts) is "applied, counts unknown"; no replica answering is TIMEOUT with the delete stored', { skip, timeout: 120_000 }, async () => {
  const ids = join(dir, 'ids-old.txt');
  writeFileSync(ids, 'd-8\n');
  const shard = shardOf('d-8', SHARDS);
  // An older replica: its ping answers its position and knows no tracked write.
  replicas[shard]!.attachLog({ applied: appliers[shard]!.applied, waitFor: (s, o) => appliers[shard]!.waitFor(s, o) });
  try {
    const r = await runPlaitAsync(['cluster', 'delete', root, '--ids', ids, '--nats', nats.url, '--wait', '60']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`shard ${shard}: replica \\d+ applied it \\(counts unknown: restarted since, or a version before this\\)`));
    const out = /\(write ([0-9a-f-]{36}); last sequence shard \d: (\d+)\)/.exec(r.stdout)!;
    assert.ok(out !== null, r.stdout);
    const sm = await (await jetstream(nc).streams.get(clusterSubjects(NAME).writeStream(shard))).getMessage({ seq: Number(out[2]) });
    assert.equal(sm?.header?.get(TRACK_HEADER), out[1], 'the entry carries the track header: its write id');
    assert.deepEqual(decodeWrite(sm!.data).delete, ['d-8'], 'its body is a version-1 write, as an older applier reads it');
  } finally {
    replicas[shard]!.attachLog(appliers[shard]!);
  }
  assert.ok(!held().has('d-8'));
  // No replica answers now: TIMEOUT after the result, and the delete is stored (the appliers apply it).
  for (const rep of replicas.splice(0)) await rep.close();
  // Nor can a filter's matches be counted before a delete without --wait: one line says only --wait tells.
  const blind = runPlait(dir, ['cluster', 'delete', root, '--filter', '{"year": 1963}', '--nats', nats.url]);
  assert.equal(blind.code, 0, blind.stderr);
  assert.match(blind.stderr, /^plait: what a filter matches is known to the replicas only, after this answer \(a shard did not answer its count before the delete\): --wait <s> prints what each deleted \(and why a filter matched nothing\)\n$/);
  writeFileSync(ids, 'd-9\n');
  const r = runPlait(dir, ['cluster', 'delete', root, '--ids', ids, '--nats', nats.url, '--wait', '1', '--json']);
  assert.equal(r.code, 1, r.stderr);
  const e = errorOf(r);
  assert.equal(e.code, 'TIMEOUT');
  assert.match(e.message, /the delete is stored in the write logs \(write [0-9a-f-]{36}\), but not every replica had applied it within 1 s: .*no replica answered/);
  const out = JSON.parse(r.stdout) as Out;
  assert.equal(out.replicas.complete, false);
  const s = out.sequences[0]!;
  assert.ok((await appliers[s.shard]!.waitFor(s.sequence, { timeoutMs: 60_000 })).reached);
  assert.ok(!held().has('d-9'));
});
