/**
 * The coordinator's side of the shard protocol: one request to a shard, retried on another replica
 * while the deadline allows, and a scatter to every shard that never waits past the deadline.
 *
 * NATS does the replica choice: a request on `<shardService>.<verb>` goes to one member of the
 * shard's queue group. When no replica is subscribed NATS answers "no responders" at once, and the
 * request is asked again after a short pause (a replica may be restarting) — unless the last ping
 * round saw no replica of the shard either: then it is left out at once; when the chosen replica
 * does not answer within CLUSTER_DEFAULTS.attemptTimeoutMs (killed mid-request, or slow) it is asked
 * again, and the group gives it to a live one, while the first attempt still waits for its answer:
 * the first answer wins. A shard that has not answered by the deadline is reported missing, never
 * waited for. While the connection to NATS is down nobody answers "no responders": the client
 * buffers the request until it reconnects, so a shard the last ping saw no replica of is left out
 * at once then too (trial 12c: with nats-server stopped, every search took 15 s, half of
 * timeout_ms, to answer with every shard missing).
 *
 * A verb newer than some replicas (LATE_VERBS: `highlights`) is different: "no responders" there
 * means that the shard's live replicas predate it, not that one is restarting, so the request ends
 * at once (the shard missing from that round) rather than asking again until the deadline — a
 * rolling upgrade would otherwise hold every highlighted search for its whole timeout.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { CLUSTER_DEFAULTS } from '../config/defaults.js';
import { PlaitError, checkNumber, checkObject, checkShape } from '../errors/index.js';
import type { ClusterMetrics } from './cluster-metrics.js';
import type { ClusterSubjects } from './subjects.js';
import { decodeMessage, encodeMessage, replyValue, type PingReply, type Reply, type ShardVerb } from './shard-protocol.js';
import { natsCore } from './nats-modules.js';

/** Verbs that replicas of an earlier version do not serve: "no responders" to one ends its request at once (see the header). */
export const LATE_VERBS: ReadonlySet<ShardVerb> = new Set<ShardVerb>(['highlights']);

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
  /** False from the connection's `disconnect` to its `reconnect` (nc.status()). */
  private connected = true;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: ClusterSubjects,
    readonly shards: number,
    /** Where attempts, latencies and replica counts are recorded (null: nowhere). */
    public metrics: ClusterMetrics | null,
    options: ShardClientOptions = {},
  ) {
    checkShape('nc', nc, 'a NATS connection (from natsConnect)', ['publish', 'request']);
    checkObject('subjects', subjects, 'ClusterSubjects (from clusterSubjects)');
    checkNumber('shards', shards, 'a shard count');
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? CLUSTER_DEFAULTS.attemptTimeoutMs;
    this.backoffMs = options.noRespondersBackoffMs ?? CLUSTER_DEFAULTS.noRespondersBackoffMs;
    this.seen = new Array<number | null>(shards).fill(null);
    void this.watchConnection();
  }

  /** Whether the connection to NATS is up (false between a `disconnect` and the `reconnect`). */
  get natsConnected(): boolean {
    return this.connected && !this.nc.isClosed();
  }

  private async watchConnection(): Promise<void> {
    try {
      for await (const s of this.nc.status()) {
        if (s.type === 'disconnect') this.connected = false;
        else if (s.type === 'reconnect') this.connected = true;
        this.metrics?.natsConnected.set(this.natsConnected ? 1 : 0);
      }
    } catch {
      // The status iterator ends with the connection.
    }
  }

  /**
   * Asks shard `shard` until it answers or `deadlineAt` (epoch ms) passes. An attempt that has had
   * no answer for `attemptTimeoutMs` is not dropped: the request is asked again (NATS gives it to a
   * replica of the group, a live one if the first was killed; each further retry waits twice as
   * long) while every earlier attempt still waits for its answer until the deadline, and the first
   * answer wins. When each attempt was
   * dropped at 2 s, a shard whose answers took longer (a batch of 30 hybrid queries with the machine
   * at load 15–18) never answered: each retry's work was thrown away, and the shard was reported
   * missing at the deadline although its replicas were alive and answering.
   * `signal` (the caller's abort: a client that hung up, the request's deadline) ends the wait at
   * once, the outcome `closed`.
   * @throws PlaitError the replica's own error (e.g. INVALID_FILTER), re-thrown with its code.
   */
  async request<T>(shard: number, verb: ShardVerb, payload: unknown, deadlineAt: number, signal?: AbortSignal): Promise<ShardOutcome<T>> {
    const subject = `${this.subjects.shardService(shard)}.${verb}`;
    const data = encodeMessage(payload);
    const labels = { shard: String(shard), verb };
    const t0 = performance.now();
    let reason: 'timeout' | 'no-replica' | 'closed' = 'timeout';
    /** Attempts still waiting for an answer; each settles (never rejects) with its own entry. */
    const pending = new Set<Promise<Attempt>>();
    /** When the next attempt is made (now, once the last one went unanswered for `gap`, or after a pause). */
    let nextAt = Date.now();
    /** attemptTimeoutMs, doubled after each retry: a slow shard is not sent a copy of its work every 2 s. */
    let gap = this.attemptTimeoutMs;
    let pause: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    try {
      for (;;) {
        const now = Date.now();
        if (deadlineAt - now <= 0) break;
        if (signal?.aborted === true) {
          reason = 'closed';
          break;
        }
        if (this.nc.isClosed()) {
          reason = 'closed';
          break;
        }
        if (!this.connected && this.seen[shard] === 0) {
          // NATS is unreachable and the last ping saw no replica: nobody can answer before it is back.
          reason = 'no-replica';
          break;
        }
        if (now >= nextAt) {
          // Each attempt waits for its answer until the deadline; the next one is made if none came in attemptTimeoutMs.
          const attempt: Promise<Attempt> = this.nc.request(subject, data, { timeout: Math.max(1, deadlineAt - now) }).then(
            (msg) => ({ attempt, msg }),
            (err: unknown) => ({ attempt, err }),
          );
          pending.add(attempt);
          nextAt = now + gap;
          gap *= 2;
        }
        // Woken by the next attempt's time, the deadline, or the caller's abort (a client that hung up
        // left each request waiting until its next retry, up to the deadline).
        const wake = new Promise<null>((resolve) => {
          pause = setTimeout(() => resolve(null), Math.max(0, Math.min(nextAt, deadlineAt) - Date.now()));
          onAbort = () => resolve(null);
          signal?.addEventListener('abort', onAbort, { once: true });
        });
        const settled = await Promise.race([...pending, wake]);
        clearTimeout(pause);
        if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
        if (settled === null) {
          // No answer yet: the last attempt outlived attemptTimeoutMs (asked again above), or the deadline came.
          if (Date.now() < deadlineAt) {
            reason = 'timeout';
            this.metrics?.timeouts.inc(labels);
          }
          continue;
        }
        pending.delete(settled.attempt);
        try {
          if (settled.err !== undefined) throw settled.err;
          const value = replyValue(decodeMessage<Reply<T>>(settled.msg!.data));
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
            if (this.seen[shard] === 0 || LATE_VERBS.has(verb)) break;
            nextAt = Math.min(nextAt, Date.now() + this.backoffMs);
          } else if (isTimeout(err)) {
            // This attempt waited until the deadline: the loop ends there.
            reason = 'timeout';
          } else if (this.nc.isClosed()) {
            reason = 'closed';
            break;
          } else {
            // A connection hiccup (reconnecting): the client buffers; try again while time remains.
            nextAt = Math.min(nextAt, Date.now() + this.backoffMs);
          }
        }
      }
    } finally {
      clearTimeout(pause);
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    }
    return { shard, ok: false, reason };
  }

  /** Every shard asked at once (payload per shard); resolves by `deadlineAt` at the latest, or as soon as `signal` fires (the request was given up: those not answered yet are `closed`). */
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
    this.metrics?.natsConnected.set(this.natsConnected ? 1 : 0);
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

/** One attempt's outcome: its answer or its error, with the attempt itself (to drop it from those pending). */
interface Attempt {
  attempt: Promise<Attempt>;
  msg?: { data: Uint8Array };
  err?: unknown;
}

function isNoResponders(err: unknown): boolean {
  const natsErrors = natsCore().errors;
  return (err instanceof natsErrors.RequestError && err.isNoResponders()) || err instanceof natsErrors.NoRespondersError;
}

function isTimeout(err: unknown): boolean {
  const natsErrors = natsCore().errors;
  return err instanceof natsErrors.TimeoutError || (err instanceof natsErrors.RequestError && err.cause instanceof natsErrors.TimeoutError);
}
