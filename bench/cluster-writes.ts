/**
 * Cluster writes (issue 24): the write log's acknowledgement latency and a replica's apply rate,
 * against a real nats-server with JetStream (file storage) on loopback.
 *  - ack: WriteLog.append of one 1-document write (a 128-d passage of 10–40 tokens, ~13 KB), of a
 *    20-document write, and of a 3 MiB write (4 parts), one after another;
 *  - apply: a replica catching up on N pre-published 1-document writes, folding them into commits
 *    of up to CLUSTER_WRITE_DEFAULTS.applyBatchWrites (the default) against one commit per write
 *    (batchWrites 1, the baseline), each on a fresh copy of the same 10,000-passage index, in the
 *    same run.
 * Synthetic 128-d clustered vectors (no model: a coordinator encodes once; these are the log's and
 * the replica's own costs).
 *
 *   node dist/bench/cluster-writes.js [writes=2000] [acks=300]
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { buildIndexFromEmbeddings } from '../src/indexer/build-from-embeddings.js';
import { sourceOf, syntheticModel } from '../fixtures/synthetic-index.js';
import { SyntheticVectors } from '../fixtures/synthetic.js';
import { encodedDoc } from '../test/helpers/living.js';
import { WriteLog } from '../src/cluster/write-log.js';
import { LogApplier } from '../src/cluster/log-applier.js';
import type { ClusterWrite } from '../src/cluster/write-entry.js';
import { CLUSTER_WRITE_DEFAULTS } from '../src/config/defaults.js';
import { freePort, isMain, machine, percentiles } from './common.js';

const DIM = 128;
const id = (i: number): string => `d${String(i).padStart(8, '0')}`;


async function main(): Promise<void> {
  const [writesArg, acksArg] = process.argv.slice(2);
  const nWrites = Number(writesArg ?? 2000);
  const nAcks = Number(acksArg ?? 300);
  const dir = mkdtempSync(join(tmpdir(), 'plait-bench-clwrite-'));
  const port = await freePort();
  const server = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(dir, 'js')], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let log = '';
    server.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('Server is ready')) resolve();
    });
    server.once('exit', (code) => reject(new Error(`nats-server exited ${code}: ${log}`)));
  });
  const nc = await connect({ servers: `nats://127.0.0.1:${port}` });
  try {
    process.stdout.write(`${JSON.stringify({ machine: machine(), loadavg: loadavg().map((x) => x.toFixed(2)) })}\n`);
    const gen = new SyntheticVectors({ dim: DIM, clusters: 256, spread: 0.35, seed: 3 });
    const base = join(dir, 'base');
    const passages = Array.from({ length: 10_000 }, () => gen.passage(gen.length(10, 40)));
    await buildIndexFromEmbeddings(sourceOf(passages, DIM), { index: base, model: syntheticModel(DIM), modelSpec: { family: 'colbert-onnx', dir: '/none' }, docId: id });
    const one = (k: number): ClusterWrite => ({ add: [encodedDoc(`new${k}`, gen.passage(gen.length(10, 40)))] });

    // Acknowledgement latency.
    const ackLog = await WriteLog.open(nc, 'ack', { shards: 1 });
    const timed = async (label: string, n: number, make: (k: number) => ClusterWrite): Promise<void> => {
      const ms: number[] = [];
      let parts = 0;
      for (let k = 0; k < n; k++) {
        const w = make(k);
        const t = performance.now();
        parts = (await ackLog.append(w)).shards[0]!.parts;
        ms.push(performance.now() - t);
      }
      const p = percentiles(ms);
      process.stdout.write(`${JSON.stringify({ ack: label, writes: n, parts, p50Ms: +p.p50.toFixed(2), p95Ms: +p.p95.toFixed(2), p99Ms: +p.p99.toFixed(2) })}\n`);
    };
    await timed('1 document', nAcks, one);
    await timed('20 documents', Math.ceil(nAcks / 5), (k) => ({ add: Array.from({ length: 20 }, (_, j) => encodedDoc(`b${k}-${j}`, gen.passage(gen.length(10, 40)))) }));
    await timed('3 MiB', 10, (k) => ({ add: Array.from({ length: 12 }, (_, j) => ({ ...encodedDoc(`big${k}-${j}`, gen.passage(40)), doc: { docId: `big${k}-${j}`, title: '', text: 'x'.repeat(250_000) } })) }));

    // Apply rate: the same pre-published writes, folded (default) and one commit per write (baseline).
    const log = await WriteLog.open(nc, 'apply', { shards: 1 });
    let last = 0;
    let docs = 0;
    for (let k = 0; k < nWrites; k++) {
      const w = one(k);
      docs += w.add!.length;
      last = (await log.append(w)).shards[0]!.sequence;
    }
    const rates: Record<string, number> = {};
    for (const batchWrites of [CLUSTER_WRITE_DEFAULTS.applyBatchWrites, 1]) {
      const path = join(dir, `replica-${batchWrites}`);
      cpSync(base, path, { recursive: true });
      let commits = 0;
      const t = performance.now();
      const a = await LogApplier.start(path, { nc, cluster: 'apply', shard: 0, batchWrites, afterCommit: () => void commits++ });
      const r = await a.waitFor(last, { timeoutMs: 1_800_000 });
      const s = (performance.now() - t) / 1000;
      await a.stop();
      if (!r.reached) throw new Error(`batch ${batchWrites}: applied ${r.applied} of ${last}`);
      rates[batchWrites] = nWrites / s;
      process.stdout.write(`${JSON.stringify({ apply: `batchWrites ${batchWrites}`, writes: nWrites, documents: docs, commits, seconds: +s.toFixed(2), entriesPerS: +(nWrites / s).toFixed(1), documentsPerS: +(docs / s).toFixed(1) })}\n`);
    }
    process.stdout.write(`${JSON.stringify({ foldedOverOneCommitPerWrite: +(rates[CLUSTER_WRITE_DEFAULTS.applyBatchWrites]! / rates[1]!).toFixed(1), loadavg: loadavg().map((x) => x.toFixed(2)) })}\n`);
  } finally {
    await nc.close();
    server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) await main();
