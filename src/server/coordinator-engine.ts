/**
 * `plait serve --nats <url> --coordinate <name>`: the single server's engine over one
 * `ClusterIndex` (src/cluster/cluster-index.ts) instead of open indexes, so the same routes,
 * admission control, encoder, deadlines and metrics answer for the whole cluster. Queries are
 * encoded here, once; shards score them. The result cache is off: a shard's replicas take writes
 * the coordinator does not see. Explain goes through `ClusterIndex.explain` (the document's shard);
 * staged pipelines run here over `ClusterIndex.pipelineIndex` (their cross stage on this process's
 * `--cross-encoder` models, the passages fetched from their shards; their ltr stage on its
 * `--ltr-model`, the features computed from the documents' shards).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { CLUSTER_DEFAULTS } from '../config/defaults.js';
import { PlaitError, checkFunction, checkNonEmptyString, checkNumber, checkShape, checkStringArray } from '../errors/index.js';
import { createEncoder } from '../encoder/create-encoder.js';
import { resolveModelSpec } from '../encoder/resolve-model.js';
import { DynamicBatchingEncoder } from '../encoder/dynamic-batching.js';
import { Reranker } from '../rerank/reranker.js';
import { CrossEncoder } from '../rerank/cross-encoder/cross-encoder.js';
import { LtrModel } from '../ltr/ltr-model.js';
import { CLUSTER_MANIFEST_FILE, readClusterManifest } from '../cluster/cluster-manifest.js';
import { MANIFEST_FILE } from '../format/manifest.js';
import { ClusterIndex } from '../cluster/cluster-index.js';
import { ClusterMetrics } from '../cluster/cluster-metrics.js';
import { ShardClient, type ShardOutcome } from '../cluster/shard-client.js';
import { closeNats, natsConnect } from '../cluster/shard-replica.js';
import { shardDifferences, shardMismatch } from '../cluster/shard-mismatch.js';
import { clusterSubjects } from '../cluster/subjects.js';
import type { ShardInfo } from '../cluster/shard-protocol.js';
import { Engine, type RerankerEntry } from './engine.js';
import type { ClusterWriteTarget } from './routes/documents.js';
import { WriteLog } from '../cluster/write-log.js';
import { checkResolvedServerOptions, type ResolvedServerOptions } from './options.js';
import { natsJetStream } from '../cluster/nats-modules.js';

export interface CoordinatorOptions {
  /** NATS server URL(s). */
  servers: string | string[];
  /** How long to wait at start for every shard's first answer (default CLUSTER_DEFAULTS.startWaitMs). */
  startWaitMs?: number;
  /**
   * Told when the connection to NATS is lost ('disconnected': it reconnects by itself; meanwhile
   * shards answer nothing and writes fail) and when it is back ('reconnected'): the CLI logs both,
   * where a coordinator had gone on answering 200s without every shard, saying nothing.
   */
  onNatsStatus?: (event: 'disconnected' | 'reconnected') => void;
}

/**
 * A cluster name, or the folder of a sharded build (its cluster.json names it).
 * @throws PlaitError INDEX_NOT_FOUND when `nameOrPath` is a path (it has a `/` or a backslash) with no
 *   cluster.json, or the folder of an ordinary (unsharded) index — both would otherwise be taken
 *   for a cluster's name: refused for its characters, or waited on for replicas that never come;
 *   INVALID_ARGUMENT for a name that is not 1–64 characters of [A-Za-z0-9_-], or no string at all.
 */
export function clusterNameOf(nameOrPath: string): string {
  checkNonEmptyString('nameOrPath', nameOrPath, 'a cluster name or the folder of a sharded index');
  if (existsSync(join(nameOrPath, CLUSTER_MANIFEST_FILE))) return readClusterManifest(nameOrPath).name;
  const build = 'build one with plait index <corpus> --index <name> --shards <n>, or give the cluster\'s name';
  if (existsSync(join(nameOrPath, MANIFEST_FILE))) {
    throw new PlaitError('INDEX_NOT_FOUND', { message: `${nameOrPath} is an index, not a sharded one (no ${CLUSTER_MANIFEST_FILE}): serve it with plait serve ${nameOrPath}, or ${build}`, path: nameOrPath });
  }
  if (/[\\/]/.test(nameOrPath)) {
    throw new PlaitError('INDEX_NOT_FOUND', { message: `no sharded index at ${nameOrPath} (no ${CLUSTER_MANIFEST_FILE} there): ${build}`, path: nameOrPath });
  }
  return clusterSubjects(nameOrPath).cluster;
}

/** A coordinator: its engine, and the write target of its document routes (serveEngine's `clusterWrites`). */
export interface Coordinator {
  engine: Engine;
  writes: ClusterWriteTarget;
}

/**
 * Connects, learns the shard count and manifests from the replicas (`info`), checks that the
 * shards that answered share one codebook (the cluster.json's, when `nameOrPath` is the cluster's
 * folder), and builds a warmed engine serving the cluster as index `<name>`. With the folder's
 * cluster.json the coordinator starts once any shard answered and the others had
 * CLUSTER_DEFAULTS.startGraceMs more: shards still without a replica are answered degraded until
 * one joins. Without it, shard 0 must answer first (its info gives the shard count) and every
 * shard within the start wait.
 * @throws PlaitError INVALID_ARGUMENT (an argument of the wrong kind, before connecting), CLUSTER_UNAVAILABLE (no NATS, no shard answering through the start wait, or
 * without cluster.json a shard missing), MODEL_MISMATCH (a shard of another build: its codebook,
 * model or shard count differs; cluster/shard-mismatch.ts).
 */
export async function openCoordinatorEngine(nameOrPath: string, options: ResolvedServerOptions, o: CoordinatorOptions): Promise<Coordinator> {
  checkNonEmptyString('nameOrPath', nameOrPath, 'a cluster name or the folder of a sharded index');
  checkResolvedServerOptions('options', options);
  checkShape('coordinatorOptions', o, 'CoordinatorOptions (an object with servers, the NATS URLs)', ['servers']);
  if (typeof o.servers !== 'string') checkStringArray('coordinatorOptions.servers', o.servers, 'a NATS URL or an array of them');
  if (o.startWaitMs !== undefined) checkNumber('coordinatorOptions.startWaitMs', o.startWaitMs, 'a number of milliseconds');
  if (o.onNatsStatus !== undefined) checkFunction('coordinatorOptions.onNatsStatus', o.onNatsStatus, 'a function or undefined');
  const name = clusterNameOf(nameOrPath);
  const subjects = clusterSubjects(name);
  const nc = await natsConnect(o.servers, `plait-${name}-coordinator`);
  if (o.onNatsStatus !== undefined) watchNats(nc, o.onNatsStatus);
  let engine: Engine | null = null;
  let pinger: NodeJS.Timeout | null = null;
  try {
    const waitUntil = Date.now() + (o.startWaitMs ?? CLUSTER_DEFAULTS.startWaitMs);
    const local = existsSync(join(nameOrPath, CLUSTER_MANIFEST_FILE)) ? readClusterManifest(nameOrPath) : null;
    let shards: number;
    if (local !== null) shards = local.shards;
    else {
      const first = await new ShardClient(nc, subjects, 1, null).request<ShardInfo>(0, 'info', {}, waitUntil);
      if (!first.ok) throw unavailable(name, [0], first.reason);
      shards = first.value.shards;
    }
    const client = new ShardClient(nc, subjects, shards, null);
    const infos = await firstInfos(client, shards, waitUntil);
    const absent = infos.filter((x) => !x.ok).map((x) => x.shard);
    if (absent.length === shards || (local === null && absent.length > 0)) throw unavailable(name, absent, 'no-replica');
    const info = infos.flatMap((x) => (x.ok ? [x.value] : []));
    // Every shard that answered against cluster.json (or, without one, shard 0): another build's shard is MODEL_MISMATCH naming what differs.
    const reference = local !== null ? { codebook: local.codebook, shards, ...(local.model === undefined ? {} : { model: local.model }) } : { codebook: info[0]!.codebook, shards, model: info[0]!.manifest.model };
    const against = local !== null ? `${nameOrPath}/cluster.json` : `shard ${info[0]!.shard}`;
    for (const x of info) {
      const mismatch = shardMismatch(`shard ${x.shard} of cluster "${name}"`, against, shardDifferences(reference, { codebook: x.codebook, shards: x.shards, model: x.manifest.model }), x.shard);
      if (mismatch !== null) throw mismatch;
    }

    const spec = info[0]!.manifest.modelSpec;
    const queryEncoder = new DynamicBatchingEncoder(await createEncoder(spec, { threads: options.encoderThreads }));
    const rerankers: RerankerEntry[] = [];
    const owned = [queryEncoder];
    for (const model of options.models) {
      const enc = new DynamicBatchingEncoder(await createEncoder(await resolveModelSpec(model, {}), { threads: options.encoderThreads }));
      owned.push(enc);
      rerankers.push({ names: [...new Set([enc.info.name, ...(model === undefined ? [] : [model])])], reranker: await Reranker.create({ encoder: enc }) });
    }
    const crossEncoders: { names: string[]; scorer: CrossEncoder }[] = [];
    let ltrModel: LtrModel | undefined;
    try {
      if (options.ltrModel !== undefined) ltrModel = await LtrModel.load(options.ltrModel);
      for (const model of options.crossEncoders) {
        const scorer = await CrossEncoder.create(model);
        crossEncoders.push({ names: [...new Set([scorer.name, model])], scorer });
      }
    } catch (err) {
      for (const c of crossEncoders) await c.scorer.close().catch(() => {});
      for (const enc of owned) await enc.close().catch(() => {});
      throw err;
    }
    const cluster = new ClusterIndex(name, client, info, { encoder: queryEncoder });
    engine = new Engine({ indexes: [{ name, index: cluster }], rerankers, crossEncoders, ...(ltrModel === undefined ? {} : { ltrModel }), ownedEncoders: owned }, { ...options, resultCacheBytes: 0 });
    // The per-shard metrics live on the server's registry, made with the engine.
    client.metrics = new ClusterMetrics(engine.metrics.registry);
    const writes: ClusterWriteTarget = { index: name, log: await WriteLog.open(nc, name, { shards }), encoder: queryEncoder, manifest: info[0]!.manifest };
    const jsm = await natsJetStream().jetstreamManager(nc);
    const watch = (): void => void watchShards(client, async (s) => (await jsm.streams.info(subjects.writeStream(s))).state.last_seq);
    watch();
    pinger = setInterval(watch, CLUSTER_DEFAULTS.pingIntervalMs);
    pinger.unref();
    await engine.warmUp();
    const e = engine;
    const timer = pinger;
    const close = e.close.bind(e);
    e.close = async () => {
      clearInterval(timer);
      await close();
      await closeNats(nc);
    };
    return { engine: e, writes };
  } catch (err) {
    if (pinger !== null) clearInterval(pinger);
    await engine?.close().catch(() => {});
    await closeNats(nc);
    throw err;
  }
}

/**
 * One ping round: the replicas-seen gauge, and with `lastSequence` (the last stream sequence of a
 * shard's write log) the stream-lag gauge: last sequence − the lowest sequence a live replica applied.
 */
async function watchShards(client: ShardClient, lastSequence: ((shard: number) => Promise<number>) | null): Promise<void> {
  const replies = await client.pingReplicas();
  if (lastSequence === null || client.metrics === null) return;
  await Promise.all(
    replies.map(async (rs, shard) => {
      const applied = rs.flatMap((r) => (r.applied === null ? [] : [r.applied]));
      if (applied.length === 0) return;
      try {
        client.metrics?.streamLag.set({ shard: String(shard) }, Math.max(0, (await lastSequence(shard)) - Math.min(...applied)));
      } catch {
        // The stream is not there yet (no write so far): no lag to report.
      }
    }),
  );
}

/**
 * Every shard's `info`, asked at once: all of them, or once one answered and the others had
 * CLUSTER_DEFAULTS.startGraceMs more (the rest are then given up), or nothing by `waitUntil`.
 */
async function firstInfos(client: ShardClient, shards: number, waitUntil: number): Promise<ShardOutcome<ShardInfo>[]> {
  const stop = new AbortController();
  const asked = Array.from({ length: shards }, (_, s) => client.request<ShardInfo>(s, 'info', {}, waitUntil, stop.signal));
  const any = Promise.any(asked.map((p) => p.then((x) => (x.ok ? x : Promise.reject(new Error('missing'))))));
  let grace: NodeJS.Timeout | undefined;
  const all = Promise.all(asked);
  await Promise.race([all, any.then(() => new Promise<void>((r) => (grace = setTimeout(r, CLUSTER_DEFAULTS.startGraceMs)))).catch(() => all)]);
  clearTimeout(grace);
  stop.abort();
  return all;
}

function unavailable(name: string, shards: number[], reason: string): PlaitError {
  return new PlaitError('CLUSTER_UNAVAILABLE', { message: `cluster "${name}": shard${shards.length === 1 ? '' : 's'} ${shards.join(', ')} did not answer (${reason}); start a replica with plait serve <index>/shard-<i> --nats <url>`, shards });
}

/** Calls `on` at each loss of the connection to NATS and at each reconnection, until it closes. */
export function watchNats(nc: NatsConnection, on: (event: 'disconnected' | 'reconnected') => void): void {
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') on('disconnected');
      else if (s.type === 'reconnect') on('reconnected');
    }
  })().catch(() => {});
}
