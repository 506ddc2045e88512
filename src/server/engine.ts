/**
 * The engine the server is decorated with: the open indexes, the rerankers (one per model), the
 * encoders they share, the two caches, admission control and the metrics. Routes call its methods
 * and never open anything themselves; `openEngine` (lifecycle.ts) builds and warms it, `close()` releases
 * everything it owns. Nothing here knows HTTP.
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import {
  PlaitError,
  commitIdOf,
  readManifest,
  type Reranker,
  type Encoder,
  type IndexManifest,
  PlaitIndex,
  type RerankResult,
  type RerankUsage,
  type RerankOptions,
  type SearchOptions,
  type SearchResult,
  type TextKind,
  type TokenEmbeddings,
} from '../index.js';
import { SERVER_DEFAULTS } from '../config/defaults.js';
import { MANIFEST_FILE } from '../format/manifest.js';
import { Admission, abortReason, throwIfAborted } from './admission.js';
import { estimateTokens } from './request-cost.js';
import type { CrossScorer } from '../rerank/cross-encoder/cross-encoder.js';
import { CircuitBreaker } from '../pipeline/circuit-breaker.js';
import type { LtrModel } from '../ltr/ltr-model.js';
import type { SynonymMap } from '../rewrite/synonyms.js';
import { ByteLruCache } from './byte-lru-cache.js';
import { countUnknownTokens, unknownTokenWarning } from '../encoder/unknown-tokens.js';
import { ServerMetrics } from './metrics.js';
import { queryFit, unsearchable } from '../search/query-text.js';
import { emptyResult } from '../search/search-result.js';
import { sharedAbortController } from '../search/deadline.js';
import { checkResolvedServerOptions, type ResolvedServerOptions } from './options.js';
import { checkArray, checkInstance, checkObject, checkShape, checkString, checkStringArray, invalidArgument } from '../errors/index.js';
import { localPipelineIndex, type PipelineIndex } from '../pipeline/pipeline-index.js';
import type { ClusterCallOptions } from '../cluster/cluster-index.js';
import type { RewrittenQuery } from '../rewrite/query-rewriter.js';

/**
 * What the server needs of an index: PlaitIndex satisfies it (tests wrap one to gate or slow it).
 * `pipelineIndex` (a cluster's ClusterIndex) gives staged pipelines an index bound to one request's
 * deadline; `rewrite` may answer asynchronously (a cluster's asks its shards). `refreshRemote`
 * (a cluster's) asks its shards for their current manifests, so the refresh tick follows writes
 * applied elsewhere; it resolves whether the manifest moved.
 */
export type ServedIndex = Pick<PlaitIndex, 'path' | 'manifest' | 'encoder' | 'resolveSearch' | 'searchEncodedBatch' | 'close'> & {
  /** PlaitIndex.warmUp: every scoring thread's one-time setup (a cluster's coordinator has none to pay). */
  warmUp?: PlaitIndex['warmUp'];
  /** PlaitIndex.scoringWorkers: its scoring threads (a cluster's coordinator scores nothing itself: absent). */
  readonly scoringWorkers?: number;
  rewrite?(query: string, options: SearchOptions): RewrittenQuery | null | Promise<RewrittenQuery | null>;
  pipelineIndex?(o: ClusterCallOptions): PipelineIndex;
  refreshRemote?(): Promise<boolean>;
  /** A cluster's shards that its manifest (counts, segments) lacks: never heard since start (ClusterIndex.missingShards). */
  missingShards?(): number[];
  /** A cluster's coordinator: false while it cannot reach NATS, so no shard can answer (ClusterIndex.reachable); /ready then answers 503. */
  reachable?(): boolean;
};

export interface IndexEntry {
  name: string;
  index: ServedIndex;
  /** Changes whenever the index's content does (a hash of its manifest, which holds every file's CRC). */
  generation: string;
  borrowed: boolean;
}

/** Engine.readiness(): what /ready answers (200 when ready, else 503 with `code`). */
export type Readiness =
  | { ready: true }
  | { ready: false; code: 'STARTING' | 'DRAINING' }
  | { ready: false; code: 'NATS_UNREACHABLE'; unreachable: string[] }
  | { ready: false; code: 'INDEX_UNAVAILABLE'; unavailable: { index: string; code: string }[] };

/** What Engine.onRefreshProblem is told: a served index's folder could not be read for a newer generation (`recovered` false), or can again. */
export interface RefreshProblem {
  index: string;
  /** The generation still served. */
  generation: string;
  recovered: boolean;
  /** The fault's code (a PlaitError's, or a Node errno such as ENOENT) and message; absent when recovered. */
  code?: string;
  message?: string;
}

export interface RerankerEntry {
  /** The model's name (e.g. "bundled:use-lite") and the spec it was asked by (a path or hub id). */
  names: string[];
  reranker: Reranker;
  /** The caller keeps ownership: the engine does not close it. */
  borrowed?: boolean;
}

/** A served cross-encoder (`plait serve --cross-encoder`): pipelines' `cross` stage and rerank by `model`. */
export interface CrossEncoderEntry {
  /** Its name and the spec it was asked by; the rerank routes' `model` and search's `cross_encoder` pick it by either. */
  names: string[];
  scorer: CrossScorer & { close?(): Promise<void> };
  /** One breaker per model, shared by every request's pipeline, so failures anywhere open it. */
  breaker: CircuitBreaker;
  borrowed?: boolean;
}

export interface EngineParts {
  /** Cross-encoders, the first the default for pipelines with a cross stage. */
  crossEncoders?: { names: string[]; scorer: CrossScorer & { close?(): Promise<void> }; borrowed?: boolean }[];
  /** The ranking model of pipelines' ltr stage (`plait serve --ltr-model`). */
  ltrModel?: LtrModel;
  /** `borrowed`: the caller keeps ownership and closes it (an application embedding the server). */
  indexes: { name: string; index: ServedIndex; borrowed?: boolean }[];
  rerankers: RerankerEntry[];
  /** Encoders the engine created and must close (shared by indexes and rerankers). */
  ownedEncoders?: Encoder[];
}

/** Digests of synonym maps by identity: the server's own map is hashed once, not on every request. */
const synonymDigests = new WeakMap<SynonymMap, string>();

/**
 * The result-cache key of resolved search options: their JSON, with a synonym map (which may hold
 * thousands of rules, `plait serve --synonyms`) as a digest of its rules, so that keys stay short.
 */
export function searchOptionsKey(resolved: object): string {
  return JSON.stringify(resolved, (key, value: unknown) => {
    if (key !== 'synonyms' || value === null || typeof value !== 'object') return value;
    const map = value as SynonymMap;
    let digest = synonymDigests.get(map);
    if (digest === undefined) {
      digest = createHash('sha256').update(JSON.stringify(map.rules)).digest('hex');
      synonymDigests.set(map, digest);
    }
    return `synonyms:${digest}`;
  });
}

/** One query's answer: the library's result plus whether it came from the result cache. */
export interface QueryAnswer {
  result: SearchResult;
  cached: boolean;
}

/**
 * The served generation's tag: 16 hex characters of a digest of the manifest (any change to it is a new tag).
 * @throws PlaitError INVALID_ARGUMENT when `manifest` is not an IndexManifest.
 */
export function indexGeneration(manifest: IndexManifest): string {
  checkShape('manifest', manifest, 'an IndexManifest (from readManifest)', ['settings', 'codec']);
  return createHash('sha1').update(JSON.stringify(manifest)).digest('hex').slice(0, 16);
}

/** Whitespace-trimmed and -collapsed: the form the cache keys on and the search runs on. @throws PlaitError INVALID_ARGUMENT when `q` is not a string. */
export function normaliseQuery(q: string): string {
  checkString('query', q);
  return q.trim().replace(/\s+/g, ' ');
}

function embeddingBytes(e: TokenEmbeddings): number {
  return e.vectors.byteLength + e.tokenIds.byteLength + 64;
}

/** A model name or undefined (the default model): the first argument of Engine's reranker, crossEncoder, rerank and encode. */
function checkModelName(name: string, value: unknown): void {
  if (value !== undefined) checkString(name, value, 'a model name or undefined');
}

/** An entry of Engine#indexes (from engine.index(name)). */
function checkIndexEntry(entry: unknown): void {
  checkShape('entry', entry, 'an IndexEntry (from engine.index)', ['name', 'index']);
}

export class Engine {
  readonly indexes = new Map<string, IndexEntry>();
  readonly rerankers: RerankerEntry[];
  readonly crossEncoders: CrossEncoderEntry[];
  readonly ltrModel: LtrModel | null;
  /**
   * For each served index the ranking model was not trained on (LtrModel.indexWarning): said once
   * at start (serveEngine logs them; `plait serve` prints them as warnings), not per request.
   */
  readonly ltrWarnings: { index: string; message: string }[] = [];
  /** The server's synonyms (`plait serve --synonyms`), applied to searches unless a request says otherwise; null when none. */
  readonly synonyms: SynonymMap | null;
  readonly admission: Admission;
  readonly resultCache: ByteLruCache<SearchResult>;
  readonly queryCache: ByteLruCache<TokenEmbeddings>;
  readonly metrics: ServerMetrics;
  private readonly ownedEncoders: Encoder[];
  private warm = false;
  /** Polls the served indexes for newer generations (started by warmUp, cleared by close). */
  private refreshTimer: NodeJS.Timeout | null = null;
  /** One watcher a served folder (startRefreshing). */
  private readonly watchers: FSWatcher[] = [];
  /** A commit was seen while a refresh ran: refresh once more after it. */
  private refreshAgain = false;
  private refreshing = false;
  /** Per served index, the fault that last kept refreshIndexes from reading it (code: message); absent when it reads. */
  private readonly refreshFaults = new Map<string, string>();
  /**
   * Told when picking up a served index's newer generations starts failing (once per distinct
   * fault) and when it works again; serveEngine logs both. Those failures had been swallowed on
   * every tick: an index folder removed or unmounted under the server (`rm -rf`, a lost volume) left
   * it serving the generation it had open, /ready 200, with no line in the log.
   */
  onRefreshProblem: ((event: RefreshProblem) => void) | undefined;
  private draining = false;
  private closed = false;

  constructor(
    parts: EngineParts,
    readonly options: ResolvedServerOptions,
  ) {
    checkShape('parts', parts, 'EngineParts (an object with indexes and rerankers)', ['indexes', 'rerankers']);
    checkArray('parts.indexes', parts.indexes);
    checkArray('parts.rerankers', parts.rerankers);
    checkResolvedServerOptions('options', options);
    for (const { name, index, borrowed } of parts.indexes) {
      if (this.indexes.has(name)) throw new PlaitError('INVALID_ARGUMENT', { message: `two indexes are named "${name}"`, name });
      this.indexes.set(name, { name, index, generation: indexGeneration(index.manifest), borrowed: borrowed === true });
    }
    if (parts.rerankers.length === 0) throw new PlaitError('INVALID_ARGUMENT', { message: 'the server needs at least one reranker model' });
    this.rerankers = parts.rerankers;
    this.crossEncoders = (parts.crossEncoders ?? []).map((c) => ({ ...c, breaker: new CircuitBreaker() }));
    this.ltrModel = parts.ltrModel ?? null;
    for (const { name, index } of parts.indexes) {
      const message = this.ltrModel?.indexWarning(index.manifest, name) ?? null;
      if (message !== null) this.ltrWarnings.push({ index: name, message });
    }
    this.synonyms = options.synonyms;
    this.ownedEncoders = parts.ownedEncoders ?? [];
    this.admission = new Admission({ maxConcurrent: options.maxConcurrent, maxQueue: options.maxQueue, maxQueueWaitMs: options.maxQueueWaitMs, maxInFlightTokens: options.maxInFlightTokens, tokenWaitDeadlineShare: SERVER_DEFAULTS.tokenWaitDeadlineShare });
    this.resultCache = new ByteLruCache(options.resultCacheBytes);
    this.queryCache = new ByteLruCache(options.queryCacheBytes);
    this.metrics = new ServerMetrics(
      {
        inFlight: () => this.admission.inFlight,
        queued: () => this.admission.queued,
        tokensInFlight: () => this.admission.tokensInFlight,
        tokenDrainMs: () => this.admission.tokenMs,
        tokenBusyMs: () => this.admission.tokenBusyMs,
        tokenBudgetMs: () => this.admission.tokenBudgetMs,
        caches: () => [
          { name: 'result', bytes: this.resultCache.bytes, entries: this.resultCache.size },
          { name: 'query', bytes: this.queryCache.bytes, entries: this.queryCache.size },
        ],
        rerankCachedDocuments: () => this.rerankers.map((r) => ({ model: r.names[0]!, documents: r.reranker.cachedDocuments })),
        breakers: () => this.crossEncoders.map((c) => ({ model: c.names[0]!, state: c.breaker.snapshot().state })),
        indexes: () => [...this.indexes.values()].map((e) => ({ index: e.name, generation: e.index.manifest.generation ?? 0, documents: e.index.manifest.counts.documents })),
        scoringWorkers: () => this.scoringWorkers(),
      },
      options.defaultMetrics,
    );
  }

  get ready(): boolean {
    return this.warm && !this.draining && !this.closed && this.unreachable.length === 0;
  }

  /**
   * What /ready answers: ready, or why not with a stable code — `STARTING` (indexes not warm yet),
   * `DRAINING` (a stop signal), `NATS_UNREACHABLE` (a coordinator that cannot reach NATS: `unreachable`
   * names its cluster), `INDEX_UNAVAILABLE` (a served folder that cannot be read now, or whose newer
   * generation could not be opened: removed, unmounted, replaced by something that is not an index;
   * `unavailable` names each index with its fault's code). The last had answered 200 while the server
   * went on serving a removed folder's open files, so a load balancer kept sending it traffic it could
   * not keep up to date; the folder is read here (its manifest, a few KB) at each probe, and once it
   * reads again the server reopens it (refreshIndexes) and answers 200 from the next probe on.
   */
  readiness(): Readiness {
    if (this.closed || this.draining) return { ready: false, code: 'DRAINING' };
    if (!this.warm) return { ready: false, code: 'STARTING' };
    const unreachable = this.unreachable;
    if (unreachable.length > 0) return { ready: false, code: 'NATS_UNREACHABLE', unreachable };
    const unavailable = this.unavailableIndexes();
    if (unavailable.length > 0) return { ready: false, code: 'INDEX_UNAVAILABLE', unavailable };
    return { ready: true };
  }

  /** The served folders that cannot be read now, or could not be reopened at the last refresh (refreshFaults), by name. */
  private unavailableIndexes(): { index: string; code: string }[] {
    const out: { index: string; code: string }[] = [];
    let reopen = false;
    for (const e of this.indexes.values()) {
      if (!(e.index instanceof PlaitIndex)) continue; // a coordinator's cluster or a test's wrapper: no folder of its own
      try {
        readManifest(e.index.path);
      } catch (err) {
        out.push({ index: e.name, code: typeof (err as { code?: unknown } | null)?.code === 'string' ? (err as { code: string }).code : 'ERROR' });
        continue;
      }
      const fault = this.refreshFaults.get(e.name);
      if (fault !== undefined) {
        // It reads again: reopen it now rather than at the next tick; ready once that worked.
        out.push({ index: e.name, code: fault.slice(0, fault.indexOf(':')) });
        reopen = true;
      }
    }
    if (reopen) void this.refreshIndexes();
    return out;
  }

  /** The indexes that cannot answer now (a coordinator without NATS: ServedIndex.reachable), by name. */
  get unreachable(): string[] {
    return [...this.indexes.values()].flatMap((e) => (e.index.reachable?.() === false ? [e.name] : []));
  }

  /** From now on /ready answers 503 (load balancers stop sending) while in-flight work finishes. */
  markDraining(): void {
    this.draining = true;
  }

  /** True from markDraining on: answers then carry `Connection: close` (app.ts), so that the drain does not wait for keep-alive connections. */
  get isDraining(): boolean {
    return this.draining;
  }

  /** Shared by every request's work signal (one listener each): no listener limit (sharedAbortController). */
  private readonly shutdown = sharedAbortController();

  /** Aborted when a drain runs out of time: every request's work signal (runWork) includes it. */
  get shutdownSignal(): AbortSignal {
    return this.shutdown.signal;
  }

  /**
   * Ends the work of every request still in flight with `reason` (its answer: 503 INDEX_CLOSED), so
   * that a drain that ran out of time answers its clients before it closes their connections.
   */
  abortInFlight(reason: PlaitError): void {
    checkInstance('reason', reason, PlaitError);
    this.shutdown.abort(reason);
  }

  /** Unknown index → 404 INDEX_NOT_FOUND. @throws PlaitError INDEX_NOT_FOUND; INVALID_ARGUMENT when `name` is not a string. */
  index(name: string): IndexEntry {
    checkString('name', name);
    const e = this.indexes.get(name);
    if (e === undefined) throw new PlaitError('INDEX_NOT_FOUND', { message: `no index named "${name}" is served`, name, served: [...this.indexes.keys()] });
    return e;
  }

  /**
   * The reranker for a request's `model`: an exact name match, otherwise the default (the first),
   * so that clients written for Cohere (which send their own model names) work unchanged.
   */
  /**
   * The served cross-encoder named `name` (or the first one).
   * @throws PlaitError INVALID_ARGUMENT when none is served or none has that name.
   */
  crossEncoder(name: string | undefined): CrossEncoderEntry {
    checkModelName('name', name);
    const found = name === undefined ? this.crossEncoders[0] : this.crossEncoders.find((c) => c.names.includes(name));
    if (found !== undefined) return found;
    const served = this.crossEncoders.map((c) => c.names[0]).join(', ');
    throw new PlaitError('INVALID_ARGUMENT', {
      message:
        served === ''
          ? 'this server serves no cross-encoder (its operator starts plait serve with --cross-encoder <model>); leave the cross stage out'
          : `no cross-encoder "${name}" is served (serving: ${served}: cross_encoder takes one of these names)`,
      name: 'cross_encoder',
    });
  }

  /** Rerank with a cross-encoder: scores every (query, text) pair, highest first; empty texts rank last. */
  private async crossRerank(c: CrossEncoderEntry, query: string, texts: string[], topN: number | undefined, signal: AbortSignal): Promise<RerankResult[]> {
    const scores = await this.metrics.track(this.metrics.encoderBusy, this.metrics.encoderInFlight, { model: c.names[0]! }, () =>
      c.scorer.score(query, texts.map((t) => (t.trim().length === 0 ? ' ' : t)), { signal }),
    );
    const order = texts.map((_, i) => i).sort((a, b) => Number(texts[a]!.trim() === '') - Number(texts[b]!.trim() === '') || scores[b]! - scores[a]! || a - b);
    return order.slice(0, topN ?? order.length).map((i) => ({ index: i, score: scores[i]! }));
  }

  /**
   * Each served index's scoring threads (ServedIndex.scoringWorkers: openIndex's `workers` as
   * `--workers` resolved it; 0: scored on the serving thread); a cluster's coordinator, which scores
   * nothing itself, is left out. The one source of /metrics' plait_scoring_workers, `plait serve`'s
   * ready line and GET /v1/indexes(/:name)'s `scoring_workers`.
   */
  scoringWorkers(): { index: string; workers: number }[] {
    return [...this.indexes.values()].flatMap((e) => (e.index.scoringWorkers === undefined ? [] : [{ index: e.name, workers: e.index.scoringWorkers }]));
  }

  /** The reranker `model` names, else the default (the first). @throws PlaitError INVALID_ARGUMENT when `model` is neither a string nor undefined. */
  reranker(model: string | undefined): RerankerEntry {
    checkModelName('model', model);
    if (model !== undefined) for (const r of this.rerankers) if (r.names.includes(model)) return r;
    return this.rerankers[0]!;
  }

  /**
   * The served index as the full `PlaitIndex` (explanations and staged pipelines need more than the
   * search surface `ServedIndex` names).
   * @throws PlaitError INVALID_ARGUMENT when the index was served through a wrapper.
   */
  plaitIndex(entry: IndexEntry): PlaitIndex {
    checkIndexEntry(entry);
    if (entry.index instanceof PlaitIndex) return entry.index;
    throw new PlaitError('INVALID_ARGUMENT', { message: `index "${entry.name}" is served through a wrapper that supports search only`, index: entry.name });
  }

  /**
   * The served index as a staged pipeline's index: a PlaitIndex's own, or a cluster's bound to this
   * request's deadline and read-your-writes sequences.
   * @throws PlaitError INVALID_ARGUMENT when the index was served through a search-only wrapper.
   */
  pipelineIndex(entry: IndexEntry, o: ClusterCallOptions): PipelineIndex {
    checkIndexEntry(entry);
    if (entry.index instanceof PlaitIndex) return localPipelineIndex(entry.index);
    if (entry.index.pipelineIndex !== undefined) return entry.index.pipelineIndex(o);
    return localPipelineIndex(this.plaitIndex(entry));
  }

  /**
   * Encodes and scores every engine object once (an index on every scoring thread: PlaitIndex.warmUp),
   * so the first request pays no model load, one-time setup or JIT;
   * then times one warm call of each and seeds admission's mean work time with the slowest (so
   * shedding works from the first burst, not after the first requests have finished).
   */
  async warmUp(): Promise<void> {
    // The timed pass uses other texts, so that caches do not make it look cheaper than a request.
    const calls: ((pass: number) => Promise<unknown>)[] = [];
    for (const r of this.rerankers) calls.push((p) => r.reranker.rerank(`warm up the reranker ${p}`, [`a first document ${p}`, `a second document ${p}`]));
    for (const c of this.crossEncoders) calls.push((p) => c.scorer.score(`warm up the cross-encoder ${p}`, [`a first document ${p}`, `a second document ${p}`]));
    // The rerank and cross-encoder calls come first; their tokens, as admission counts a request's.
    const rerankCalls = calls.length;
    const rerankTokens = estimateTokens(['warm up the reranker 1', 'a first document 1', 'a second document 1']);
    // Every scoring thread's one-time setup (PlaitIndex.warmUp): the query below reaches one worker
    // of a pool, and the others' first requests paid 180–290 ms each on scifact (bench/RESULTS.md,
    // "First query after open (polish5)").
    for (const e of this.indexes.values()) await e.index.warmUp?.();
    for (const e of this.indexes.values()) {
      calls.push(async (p) => {
        const enc = await e.index.encoder();
        const [q] = await enc.encodeQueries([`warm up the index ${p}`]);
        const mode = e.index.manifest.model.defaultMode;
        await e.index.searchEncodedBatch([`warm up the index ${p}`], [q!], { topK: 10, mode });
      });
    }
    for (const call of calls) await call(0);
    let slowest = 0;
    let slowestPerToken = 0;
    for (const [i, call] of calls.entries()) {
      const t = performance.now();
      await call(1);
      const ms = performance.now() - t;
      slowest = Math.max(slowest, ms);
      if (i < rerankCalls) slowestPerToken = Math.max(slowestPerToken, ms / rerankTokens);
    }
    this.admission.seedWorkMs(slowest);
    // A short call's fixed costs make its time per token high: the prior errs towards shedding.
    if (rerankCalls > 0) this.admission.seedTokenMs(slowestPerToken);
    this.warm = true;
    this.startRefreshing();
  }

  /**
   * Starts picking up new generations (warmUp calls it): each served folder is watched for the
   * rename of `manifest.json` (a commit), so a write is served as soon as the new generation opens,
   * and polled every `refreshIntervalMs` as well (a folder that cannot be watched — inotify limits,
   * a network file system — or a commit rolled forward from the store's record). With the poll
   * alone, a write was served up to the interval plus the opening late (1.14 s of the 1 s interval,
   * cisi under load 13: trial of issue 20's writes). No-op when `refreshIntervalMs` is 0.
   */
  startRefreshing(): void {
    if (this.options.refreshIntervalMs <= 0 || this.refreshTimer !== null || this.closed) return;
    this.refreshTimer = setInterval(() => void this.refreshIndexes(), this.options.refreshIntervalMs);
    this.refreshTimer.unref();
    for (const e of this.indexes.values()) {
      if (!(e.index instanceof PlaitIndex)) continue;
      try {
        const watcher = watch(e.index.path, { persistent: false }, (_event, name) => {
          if (name === null || name === MANIFEST_FILE) void this.refreshIndexes();
        });
        watcher.on('error', () => watcher.close()); // the poll goes on
        this.watchers.push(watcher);
      } catch {
        // Not watchable here: the poll alone picks up commits.
      }
    }
  }

  /**
   * Picks up newer generations of the served indexes (writes by `plait add`/`delete`/`compact` or
   * the library, possibly in another process, a rebuild or a calibration record): a cheap read of each manifest's commit id,
   * then `PlaitIndex.refresh()`, which swaps between requests. The result cache is keyed by the
   * generation, so answers from the old one are never served again. Failures are left for the next
   * tick (a write may be mid-commit).
   */
  async refreshIndexes(): Promise<void> {
    if (this.closed) return;
    if (this.refreshing) {
      this.refreshAgain = true; // a commit seen during a refresh is picked up right after it
      return;
    }
    this.refreshing = true;
    this.refreshAgain = false;
    try {
      for (const e of this.indexes.values()) {
        if (e.index.refreshRemote !== undefined) {
          try {
            if (await e.index.refreshRemote()) e.generation = indexGeneration(e.index.manifest);
          } catch {
            // Retried on the next tick.
          }
          continue;
        }
        if (!(e.index instanceof PlaitIndex)) continue;
        const index = e.index;
        try {
          // The commit id changes with every commit: a rebuild (which may land on any generation
          // number) and a new calibration record included. A served generation not yet named (the
          // index was refreshed by another caller of the same PlaitIndex: a library write through
          // it) is named here too, so answers and the result cache's keys follow what is served.
          if (commitIdOf(readManifest(index.path)) !== commitIdOf(index.manifest) || e.generation !== indexGeneration(index.manifest)) {
            // Named after any refresh, found or not (a write's own refresh may have swapped it in first).
            await index.refresh();
            e.generation = indexGeneration(index.manifest);
          }
          if (this.refreshFaults.delete(e.name)) this.onRefreshProblem?.({ index: e.name, generation: e.generation, recovered: true });
        } catch (err) {
          // Retried on the next tick; said once per distinct fault.
          const code = typeof (err as { code?: unknown } | null)?.code === 'string' ? (err as { code: string }).code : 'ERROR';
          const message = err instanceof Error ? err.message : String(err);
          if (this.refreshFaults.get(e.name) !== `${code}: ${message}`) {
            this.refreshFaults.set(e.name, `${code}: ${message}`);
            this.onRefreshProblem?.({ index: e.name, generation: e.generation, recovered: false, code, message });
          }
        }
      }
    } finally {
      this.refreshing = false;
    }
    if (this.refreshAgain) await this.refreshIndexes();
  }

  /**
   * Searches `queries` (normalised) on one index: cached results are reused, cached query
   * embeddings skip encoding, and the rest is scored in chunks with the deadline checked between
   * them (and inside the library, down to the scoring workers, through `signal`).
   */
  async search(entry: IndexEntry, queries: string[], options: SearchOptions, signal: AbortSignal, deadlineAt?: number): Promise<QueryAnswer[]> {
    checkIndexEntry(entry);
    checkStringArray('queries', queries);
    checkObject('options', options, 'an object of search options');
    checkInstance('signal', signal, AbortSignal);
    const resolved = entry.index.resolveSearch(options);
    const optionsKey = searchOptionsKey(resolved);
    const keys = queries.map((q) => `${entry.name}\u0000${entry.generation}\u0000${optionsKey}\u0000${q}`);
    // The library's rule for every entry point (query-text.ts): a query with no letter or digit gets
    // no hits and its reason, in every mode. The encoded path below checks only bm25 texts (callers
    // of searchEncodedBatch may pass any label as text), so the rule is applied here, before encoding.
    const answers: (QueryAnswer | undefined)[] = keys.map((k, i) => {
      const reason = unsearchable(queries[i], i);
      if (reason !== null) return { result: emptyResult(reason), cached: false };
      const hit = this.resultCache.get(k);
      this.countCache('result', hit !== undefined);
      return hit === undefined ? undefined : { result: hit, cached: true };
    });
    const todo = answers.flatMap((a, i) => (a === undefined ? [i] : []));
    if (todo.length === 0) return answers as QueryAnswer[];
    throwIfAborted(signal);

    const labels = { index: entry.name };
    let embeddings: TokenEmbeddings[] = [];
    let encodeMs = 0;
    // Spelling and synonyms change what the late side encodes: each query is rewritten once, here,
    // and the rewrites go to the library with the embeddings (for BM25 and the report). An index
    // without `rewrite` (a test's wrapper) rewrites inside searchEncodedBatch.
    const index = entry.index;
    const rewriteOptions = deadlineAt === undefined ? options : { ...options, deadlineAt };
    const rewritten = index.rewrite === undefined || options.rewrite === undefined ? undefined : await Promise.all(todo.map((i) => index.rewrite!(queries[i]!, rewriteOptions)));
    const lateTexts = todo.map((i, j) => rewritten?.[j]?.lateText ?? queries[i]!);
    if (resolved.mode !== 'bm25') {
      const t = performance.now();
      embeddings = await this.queryEmbeddings(entry, lateTexts);
      encodeMs = (performance.now() - t) / todo.length;
      throwIfAborted(signal);
    }
    const chunk = this.options.abortCheckQueries;
    for (let from = 0; from < todo.length; from += chunk) {
      throwIfAborted(signal);
      const ids = todo.slice(from, from + chunk);
      // deadlineAt (Date.now() ms, the request's deadline) lets a cluster coordinator answer degraded before it.
      const searchOptions: SearchOptions & { deadlineAt?: number } = { ...options, signal, ...(deadlineAt === undefined ? {} : { deadlineAt }) };
      const results = await this.metrics.track(this.metrics.scoringBusy, this.metrics.scoringInFlight, labels, () =>
        entry.index.searchEncodedBatch(
          ids.map((i) => queries[i]!),
          resolved.mode === 'bm25' ? [] : embeddings.slice(from, from + chunk),
          rewritten === undefined ? searchOptions : { ...searchOptions, rewritten: rewritten.slice(from, from + chunk) },
        ),
      );
      const encoder = resolved.mode === 'bm25' ? null : await entry.index.encoder();
      results.forEach((r, j) => {
        const e = embeddings[from + j];
        const warning = encoder === null || e === undefined ? null : unknownTokenWarning(countUnknownTokens(encoder, [e]), 'query');
        if (warning !== null) r.warnings = [warning];
        // The encoded path cannot tell a query cut at the model's window (searchBatch does): said here, as the CLI and library say it.
        if (encoder !== null && queryFit(encoder, lateTexts[from + j]!).truncated) r.truncated = true;
        r.timings.encodeMs = encodeMs;
        r.timings.totalMs += encodeMs;
        this.observeStages(entry.name, r);
        if (r.degraded !== true) this.resultCache.set(keys[ids[j]!]!, r, resultBytes(r));
        answers[ids[j]!] = { result: r, cached: false };
      });
    }
    return answers as QueryAnswer[];
  }

  /** Query embeddings through the query cache; misses are encoded in one call. */
  private async queryEmbeddings(entry: IndexEntry, queries: string[]): Promise<TokenEmbeddings[]> {
    const model = entry.index.manifest.model.name;
    const keys = queries.map((q) => `${model}\u0000${JSON.stringify(entry.index.manifest.modelSpec)}\u0000${q}`);
    const out = keys.map((k) => {
      const e = this.queryCache.get(k);
      this.countCache('query', e !== undefined);
      return e;
    });
    const missing = [...new Set(out.flatMap((e, i) => (e === undefined ? [keys[i]!] : [])))];
    if (missing.length > 0) {
      const texts = missing.map((k) => queries[keys.indexOf(k)]!);
      const encoder = await entry.index.encoder();
      const encoded = await this.metrics.track(this.metrics.encoderBusy, this.metrics.encoderInFlight, { model }, () => encoder.encodeQueries(texts));
      const byKey = new Map(missing.map((k, j) => [k, encoded[j]!] as const));
      for (const [k, e] of byKey) this.queryCache.set(k, e, embeddingBytes(e));
      out.forEach((e, i) => {
        if (e === undefined) out[i] = byKey.get(keys[i]!);
      });
    }
    return out as TokenEmbeddings[];
  }

  /** The served cross-encoder that a rerank's `model` names exactly, if any (else a reranker answers it). */
  rerankCrossEncoder(model: string | undefined): CrossEncoderEntry | undefined {
    checkModelName('model', model);
    return model === undefined ? undefined : this.crossEncoders.find((c) => c.names.includes(model));
  }

  /**
   * Reranks with the library's Reranker (its document-embedding cache included), or with the
   * served cross-encoder that `model` names (it scores each text's first window: the split bounds
   * of `options` apply to late interaction only). Results with the unknown-token warnings are
   * counted in /metrics. `usage`: the tokens the late-interaction reranker read (RerankUsage);
   * absent for a cross-encoder (its tokenization of each pair happens in its worker, uncounted).
   */
  async rerank(model: string | undefined, query: string, texts: string[], options: RerankOptions, signal: AbortSignal): Promise<{ results: RerankResult[]; model: string; usage?: RerankUsage }> {
    checkModelName('model', model);
    checkString('query', query);
    checkStringArray('texts', texts);
    checkObject('options', options, 'an object of rerank options');
    checkInstance('signal', signal, AbortSignal);
    const cross = this.rerankCrossEncoder(model);
    if (cross !== undefined) return { results: await this.crossRerank(cross, query, texts, options.topK, signal), model: cross.names[0]! };
    const r = this.reranker(model);
    const name = r.names[0]!;
    const { results, usage } = await this.metrics
      .track(this.metrics.encoderBusy, this.metrics.encoderInFlight, { model: name }, () => r.reranker.rerankWithUsage(query, texts, { ...options, signal }))
      .catch((err: unknown) => {
        throw signal.aborted ? abortReason(signal) : err;
      });
    return { results, model: name, usage };
  }

  /** Token embeddings of `texts` as queries or documents, by the model `model` selects. */
  async encode(model: string | undefined, texts: string[], kind: TextKind, signal: AbortSignal): Promise<{ embeddings: TokenEmbeddings[]; encoder: Encoder }> {
    checkModelName('model', model);
    checkStringArray('texts', texts);
    if (kind !== 'query' && kind !== 'document') throw invalidArgument('kind', '"query" or "document"', kind);
    checkInstance('signal', signal, AbortSignal);
    const r = this.reranker(model);
    const encoder = r.reranker.encoder;
    const embeddings = await this.metrics.track(this.metrics.encoderBusy, this.metrics.encoderInFlight, { model: r.names[0]! }, () =>
      // The request's signal stops the encoding within a batch a worker (a 504'd encode left its batches running).
      kind === 'query' ? encoder.encodeQueries(texts, { signal }) : encoder.encodeDocuments(texts, { signal }),
    );
    throwIfAborted(signal);
    return { embeddings, encoder };
  }

  private countCache(cache: 'result' | 'query', hit: boolean): void {
    (hit ? this.metrics.cacheHits : this.metrics.cacheMisses).inc({ cache });
  }

  private observeStages(index: string, r: SearchResult): void {
    const t = r.timings;
    const stages: [string, number | undefined][] = [
      ['encode', t.encodeMs],
      ['late', t.lateMs],
      ['bm25', t.bm25Ms],
      ['fusion', t.fusionMs],
      ['candidates', t.candidatesMs],
      ['prune', t.pruneMs],
      ['interaction', t.interactionMs],
      ['exact', t.exactMs],
    ];
    for (const [stage, ms] of stages) if (ms !== undefined && ms > 0) this.metrics.stage.observe({ index, stage }, ms / 1000);
  }

  /** Closes indexes (their scoring workers), then rerankers, then the encoders the engine owns. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.refreshTimer !== null) clearInterval(this.refreshTimer);
    for (const w of this.watchers) w.close();
    for (const e of this.indexes.values()) if (!e.borrowed) await e.index.close();
    for (const r of this.rerankers) if (r.borrowed !== true) await r.reranker.close();
    for (const c of this.crossEncoders) if (c.borrowed !== true) await c.scorer.close?.();
    for (const enc of this.ownedEncoders) await enc.close();
    this.resultCache.clear();
    this.queryCache.clear();
  }
}

function resultBytes(r: SearchResult): number {
  let bytes = 256;
  for (const h of r.hits) bytes += 96 + 2 * (h.docId.length + (h.title?.length ?? 0) + (h.text?.length ?? 0)) + (h.metadata == null ? 0 : 2 * JSON.stringify(h.metadata).length) + (h.highlights === undefined ? 0 : 2 * JSON.stringify(h.highlights).length);
  return bytes;
}
