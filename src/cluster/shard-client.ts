/**
 * The coordinator's side of the shard protocol: one request to a shard, retried on another replica
 * while the deadline allows, and a scatter to every shard that never waits past the deadline.
 *
 * NATS does the replica choice: a request on `<shardService>.<verb>` goes to one member of the
 * shard's queue group. When no replica is subscribed NATS answers "no responders" at once, and the
 * request is asked again after a short pause (a replica may be restarting) — unless the last ping
 * round saw no replica of the shard either: then it is left out at once; when the chosen replica
 * does not answer within CLUSTER_DEFAULTS.attemptTimeoutMs (killed mid-request) it is asked again,
 * and the group gives it to a live one. A shard that has not answered by the deadline is reported
 * missing, never waited for.
 */
import { errors as natsErrors, type NatsConnection } from '@nats-io/transport-node';
import { CLUSTER_DEFAULTS } from '../config/defaults.js';
import { PlaitError } from '../errors/index.js';
import type { ClusterMetrics } from './cluster-metrics.js';
import type { ClusterSubjects } from './subjects.js';
import { decodeMessage, encodeMessage, replyValue, type PingReply, type Reply, type ShardVerb } from './shard-protocol.js';

export interface ShardClientOptions {
  attemptTimeoutMs?: number;
  noRespondersBackoffMs?: number;
}

/** One shard's answer, or why it is missing. */
export type ShardOutcome<T> = { shard: number; ok: true; value: T } | { shard: number; ok: false; reason: 'timeout' | 'no-replica' | 'closed' };

export class ShardClient {
  private readonly attemptTimeoutMs: number;
  private readonly backoffMs: number;
  /** Replicas of each shard that answered the last ping round; null before the first. */
  private readonly seen: (number | null)[];

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: ClusterSubjects,
    readonly shards: number,
    /** Where attempts, latencies and replica counts are recorded (null: nowhere). */
    public metrics: ClusterMetrics | null,
    options: ShardClientOptions = {},
  ) {
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? CLUSTER_DEFAULTS.attemptTimeoutMs;
    this.backoffMs = options.noRespondersBackoffMs ?? CLUSTER_DEFAULTS.noRespondersBackoffMs;
    this.seen = new Array<number | null>(shards).fill(null);
  }

  /**
   * Asks shard `shard` until it answers or `deadlineAt` (epoch ms) passes.
   * @throws PlaitError the replica's own error (e.g. INVALID_FILTER), re-thrown with its code.
   */
  async request<T>(shard: number, verb: ShardVerb, payload: unknown, deadlineAt: number, signal?: AbortSignal): Promise<ShardOutcome<T>> {
    const subject = `${this.subjects.shardService(shard)}.${verb}`;
    const data = encodeMessage(payload);
    const labels = { shard: String(shard), verb };
    const t0 = performance.now();
    let reason: 'timeout' | 'no-replica' | 'closed' = 'timeout';
    for (;;) {
      const left = deadlineAt - Date.now();
      if (left <= 0) break;
      if (signal?.aborted === true) {
        reason = 'closed';
        break;
      }
      if (this.nc.isClosed()) {
        reason = 'closed';
        break;
      }
      try {
        const msg = await this.nc.request(subject, data, { timeout: Math.max(1, Math.min(left, this.attemptTimeoutMs)) });
        const value = replyValue(decodeMessage<Reply<T>>(msg.data));
        this.metrics?.latency.observe(labels, (performance.now() - t0) / 1000);
        return { shard, ok: true, value };
      } catch (err) {
        // A replica that could not apply a read-your-writes sequence by the deadline: missing.
        if (err instanceof PlaitError && err.code === 'TIMEOUT') {
          this.metrics?.timeouts.inc(labels);
          break;
        }
        if (err instanceof PlaitError) throw err;
        if (isNoResponders(err)) {
          reason = 'no-replica';
          this.metrics?.noResponders.inc(labels);
          // No replica subscribed, and none answered the last ping (every CLUSTER_DEFAULTS.pingIntervalMs):
          // the shard is down, not restarting. Left out at once: waiting for it until the deadline made
          // every search of an outage take half of timeout_ms (15 s by default, trial 7).
          if (this.seen[shard] === 0) break;
          await sleep(Math.min(this.backoffMs, Math.max(0, deadlineAt - Date.now())));
        } else if (isTimeout(err)) {
          reason = 'timeout';
          this.metrics?.timeouts.inc(labels);
        } else if (this.nc.isClosed()) {
          reason = 'closed';
          break;
        } else {
          // A connection hiccup (reconnecting): the client buffers; try again while time remains.
          await sleep(Math.min(this.backoffMs, Math.max(0, deadlineAt - Date.now())));
        }
      }
    }
    return { shard, ok: false, reason };
  }

  /** Every shard asked at once (payload per shard); resolves by `deadlineAt` at the latest, or at the next retry once `signal` fires (the request was given up). */
  async scatter<T>(verb: ShardVerb, payloadOf: (shard: number) => unknown, deadlineAt: number, signal?: AbortSignal): Promise<ShardOutcome<T>[]> {
    return Promise.all(Array.from({ length: this.shards }, (_, s) => this.request<T>(s, verb, payloadOf(s), deadlineAt, signal)));
  }

  /** Counts `queries` answered without shard `shard`. */
  metricsMissing(shard: number, queries: number): void {
    this.metrics?.missing.inc({ shard: String(shard) }, queries);
  }

  /**
   * The replicas of each shard that answer a ping within `waitMs`, with how far each applied its
   * shard's write log; sets the replicas-seen gauge.
   */
  async pingReplicas(waitMs: number = CLUSTER_DEFAULTS.pingWaitMs): Promise<PingReply[][]> {
    return Promise.all(
      Array.from({ length: this.shards }, async (_, s) => {
        const replies: PingReply[] = [];
        try {
          const it = await this.nc.requestMany(`${this.subjects.shardService(s)}.ping`, encodeMessage({}), { strategy: 'timer', maxWait: waitMs });
          for await (const m of it) {
            if (m.data.length === 0) continue;
            const r = decodeMessage<Reply<PingReply>>(m.data);
            if (r.ok) replies.push(r);
          }
        } catch {
          // No responders: none alive.
        }
        this.metrics?.replicas.set({ shard: String(s) }, replies.length);
        this.seen[s] = replies.length;
        return replies;
      }),
    );
  }
}

function isNoResponders(err: unknown): boolean {
  return (err instanceof natsErrors.RequestError && err.isNoResponders()) || err instanceof natsErrors.NoRespondersError;
}

function isTimeout(err: unknown): boolean {
  return err instanceof natsErrors.TimeoutError || (err instanceof natsErrors.RequestError && err.cause instanceof natsErrors.TimeoutError);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
