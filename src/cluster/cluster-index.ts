/**
 * The coordinator's view of a cluster as one index: it satisfies the server's `ServedIndex`
 * (engine.ts), so `plait serve --coordinate <name>` answers the single server's search routes with
 * the same engine, encoder and caches; only `searchEncodedBatch` differs. A batch is:
 *
 *   1. `stats` scattered to every shard: each query's BM25 term dfs and token dfs, documents,
 *      total length and passages, summed here (exact: the shards partition the corpus);
 *   2. `search` scattered with those sums: each shard scores as a single index over the whole
 *      corpus would (search-options.ts, GlobalStats), with the request's deadline less
 *      CLUSTER_DEFAULTS.answerMarginMs;
 *   3. merge: late and bm25 — the top k of the shards' top k by score; hybrid — the late and BM25
 *      lists cut to the fusion depth, the BM25-only documents' exact late scores from their shard,
 *      then fusion.ts's min-max or RRF, exactly as hybrid.ts fuses on one index;
 *   4. with `highlights`: each shard holding hits on a page highlights those (`highlights`, addHighlights).
 *
 * With `rewrite.prf` (ColBERT-PRF), step 2 is the second pass: before it, a first late pass on the
 * shards gives the feedback passages, their shards count their codes, the shards' IVF cell sizes
 * are summed (cached per shard commit), and the centroids and weights are chosen here once with
 * colbert-prf.ts's own code; each shard appends them from its copy of the shared codebook.
 *
 * Shards missing at the deadline (no replica, or too slow) leave the answer `degraded` with their
 * numbers in `missingShards`; the request is answered on time either way. So does a shard missing
 * from any round the answer depends on: the statistics, RM3's feedback, PRF's first pass, codes and
 * cells (left out of the search round too), and the query rewrite's spelling statistics (that
 * query's answer only; its hits still come from every shard that answered the search). Equal scores tie-break
 * by docId here (by insertion order on one index).
 *
 * Staged pipelines run at the coordinator over `pipelineIndex()` (src/pipeline/pipeline-index.ts):
 * retrieval is this search; a re-scoring stage names its documents, so each call goes only to the
 * shards holding them (shardOf) with the corpus statistics its score needs (token IDF for late,
 * BM25's for bm25), and the answers are put back in the list's order. A shard missing from such a
 * call (or from its statistics) fails the call with CLUSTER_UNAVAILABLE naming it: the pipeline
 * skips that stage (its previous order stands) and reports the shard.
 */
import { totalHits } from '../search/paging.js';
import { lookupDocId } from '../indexer/corpus/document-id.js';
import { clusterMixedWarnings, commonWarnings } from '../docstore/metadata-catalogue.js';
import { PlaitError, invalidArgument, isPlaitError, checkArray, checkObject, checkNumber, checkNonEmptyString, checkString, checkStringArray } from '../errors/index.js';
import { CLUSTER_DEFAULTS, SEARCH_DEFAULTS } from '../config/defaults.js';
import type { Encoder, TokenEmbeddings } from '../encoder/types.js';
import type { IndexManifest } from '../format/manifest.js';
import { QueryEncoder, type QueryEncoderOptions } from '../search/query-encoder.js';
import { hybridDepth, resolveSearch, type ResolvedSearch } from '../search/search-options.js';
import { EXPLAIN_OPTION_SCOPES, type OptionScopes } from '../search/option-scope.js';
import type { ResolvedHighlights } from '../search/highlights.js';
import { ENCODED_SEARCH_OPTION_KEYS, type EncodedSearchOptions, type Explanation, type ExplainOptions, type SearchHit, type SearchOptions, type SearchResult } from '../search/plait-index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { rewriteActive, withRm3, type RewrittenQuery } from '../rewrite/query-rewriter.js';
import type { ResolvedPrf } from '../rewrite/prf-options.js';
import { choosePrfCentroids, prfRewrite, type PrfRows } from '../search/colbert-prf.js';
import { rm3Combine, type FeedbackTerms, type ResolvedRm3 } from '../rewrite/rm3.js';
import { ClusterRewriter } from './cluster-rewrite.js';
import { shardOf } from './shard-of.js';
import { emptyResult, emptyTimings } from '../search/search-result.js';
import { unsearchable } from '../search/query-text.js';
import { compareDocIds, fuseMinMax, fuseRrf, type ScoredDoc } from '../search/fusion.js';
import { abortError, throwIfAborted } from '../search/deadline.js';
import { ShardClient, type ShardOutcome } from './shard-client.js';
import type { PassageRef, PipelineDocument, PipelineDocuments, PipelineIndex } from '../pipeline/pipeline-index.js';
import {
  bytesOf,
  int32Of,
  toWireEmbedding,
  toWirePrfRows,
  type Bm25Reply,
  type CellsReply,
  type CodesReply,
  type DocumentsReply,
  type ExplainRequest,
  type HighlightsReply,
  type HighlightsRequest,
  type WireHighlightQuery,
  type FeedbackReply,
  type PassagesReply,
  type PositionsReply,
  type RerankReply,
  type SearchReply,
  type SearchRequest,
  type ShardInfo,
  type ShardQueryResult,
  type ShardVerb,
  type StatsReply,
  type WireSearchOptions,
  type WireStats,
} from './shard-protocol.js';

/** Search options as the coordinator's engine passes them: the request's deadline as an epoch instant. */
export interface ClusterSearchOptions extends EncodedSearchOptions {
  /** Date.now()-based ms by which the answer is due (engine.ts passes the request's). */
  deadlineAt?: number;
  /**
   * Read-your-writes: write-log sequences (a write's acknowledgement) each shard must have applied
   * before it answers; a shard that cannot by the deadline is reported missing.
   */
  minSequences?: readonly { shard: number; sequence: number }[];
}

/** ClusterSearchOptions' keys (util/option-keys.ts): a typo is refused as on one index, not sent to every shard. */
const CLUSTER_SEARCH_OPTION_KEYS = { ...ENCODED_SEARCH_OPTION_KEYS, minSequences: true } as const satisfies OptionKeys<ClusterSearchOptions>;

/** The deadline and read-your-writes of one request's calls (a pipeline's stages share them). */
export type ClusterCallOptions = Pick<ClusterSearchOptions, 'deadlineAt' | 'minSequences'>;
/** ClusterCallOptions' keys, checked by each call on listed documents (a misspelt `minSequence` had read a replica's stale state). */
const CLUSTER_CALL_OPTION_KEYS = { deadlineAt: true, minSequences: true } as const satisfies OptionKeys<ClusterCallOptions>;

export class ClusterIndex {
  readonly path: string;
  /**
   * Shard 0's manifest (the model, codec and settings every shard shares) with the counts and
   * segments of every shard, as last seen (at start, then by `refreshRemote`).
   */
  manifest: IndexManifest;
  private readonly queryEncoder: QueryEncoder;
  private readonly rewriter: ClusterRewriter;
  /** ColBERT-PRF: each shard's IVF cell sizes and passages, and the commit they are of (null: not fetched yet). */
  private readonly cells: (ShardCells | null)[];

  constructor(
    /** The cluster's name (its NATS names, subjects.ts). */
    readonly name: string,
    readonly shards: ShardClient,
    /** Every shard's `info` answer at start, by shard. */
    readonly info: ShardInfo[],
    options: QueryEncoderOptions = {},
  ) {
    checkNonEmptyString('name', name, 'a cluster name');
    checkObject('shards', shards, 'a ShardClient');
    checkArray('info', info, 'an array of shard info answers');
    this.path = `nats:${name}`;
    this.manifest = clusterManifestOf(info);
    this.queryEncoder = new QueryEncoder(this.manifest, options);
    this.rewriter = new ClusterRewriter(shards);
    this.cells = Array.from({ length: shards.shards }, () => null);
  }

  encoder(): Promise<Encoder> {
    return this.queryEncoder.get();
  }

  /**
   * Asks every shard's `info` again, so the cluster's counts and generation follow the writes its
   * replicas apply (the coordinator's index listing and its answers' `generation`). A shard's answer
   * replaces the one held only when its generation is newer — replicas of a shard may lag one
   * another, and a lagging one must not move the listing back; a shard that does not answer by
   * `deadlineAt` keeps its last answer.
   * @returns whether any shard's generation moved.
   */
  async refreshRemote(deadlineAt: number = Date.now() + CLUSTER_DEFAULTS.pingWaitMs): Promise<boolean> {
    checkNumber('deadlineAt', deadlineAt, 'a time (ms since the epoch)');
    const outcomes = await this.shards.scatter<ShardInfo>('info', () => ({}), deadlineAt);
    let moved = false;
    for (const o of outcomes) {
      if (!o.ok) continue;
      const held = this.info.findIndex((x) => x.shard === o.shard);
      if (held < 0) {
        this.info.push(o.value);
        moved = true;
      } else if ((o.value.manifest.generation ?? 0) > (this.info[held]!.manifest.generation ?? 0)) {
        this.info[held] = o.value;
        moved = true;
      }
    }
    if (moved) this.manifest = clusterManifestOf(this.info);
    return moved;
  }

  /** False while this coordinator cannot reach the NATS server: no shard can answer then (its /ready answers 503). */
  reachable(): boolean {
    return this.shards.natsConnected;
  }

  /**
   * The shards whose `info` this coordinator never had (it started without them, after
   * CLUSTER_DEFAULTS.startGraceMs, and none answered a refresh since), ascending: the manifest's
   * counts, segments and generation lack them, so the index listing names them (routes/indexes.ts).
   */
  missingShards(): number[] {
    const held = new Set(this.info.map((x) => x.shard));
    return Array.from({ length: this.shards.shards }, (_, s) => s).filter((s) => !held.has(s));
  }

  /** Applies the defaults (the cluster's model profile) and validates the options. @throws PlaitError INVALID_ARGUMENT (an unknown key, a bad value). */
  resolveSearch(options: ClusterSearchOptions | (ExplainOptions & ClusterCallOptions) = {}, scopes: OptionScopes = {}): ResolvedSearch {
    checkOptionKeys(options, CLUSTER_SEARCH_OPTION_KEYS, 'search option');
    return resolveSearch(options, this.manifest.model, this.manifest.calibration, scopes);
  }

  /**
   * The query as `options.rewrite` rewrites it before search — spelling and synonyms, against the
   * whole corpus's vocabulary (cluster-rewrite.ts) — as PlaitIndex.rewrite does on one index; null
   * when no rewrite is asked (or the query has no letter or digit). A caller that encodes queries
   * itself (the server's engine) encodes `lateText` and passes the rewrites as `options.rewritten`.
   * RM3 and ColBERT-PRF come later, during the search (expandRm3, expandPrf), as on one index.
   * @throws PlaitError INVALID_ARGUMENT (bad options), CLUSTER_UNAVAILABLE (no shard answered to tokenise the query).
   */
  async rewrite(query: string, options: ClusterSearchOptions = {}): Promise<RewrittenQuery | null> {
    checkString('query', query, 'a query (a string)');
    const r = this.resolveSearch(options);
    if (!rewriteActive(r.rewrite) || unsearchable(query, 0) !== null) return null;
    const minSequence = minSequencesByShard(options.minSequences, this.shards.shards);
    // The rewrite takes the share of the time the statistics round of a search would, and its own statistics round a share of that.
    const due = statsDue(shardDueOf(options));
    return this.rewriter.rewrite(query, r.rewrite, { due, statsDue: statsDue(due), minSequence, ...(options.signal === undefined ? {} : { signal: options.signal }) });
  }

  /**
   * Searches every shard and merges (see the file header). Queries with no letter or digit, or an
   * embedding with no rows, get an empty page with their reason, as on one index. Rewrites
   * (`options.rewritten`, else computed here from `options.rewrite`) give BM25 its terms;
   * `rewrite.prf` adds a first late pass and the expansion (expandPrf) before the search.
   * @throws PlaitError INVALID_ARGUMENT (bad options), a shard's own
   * error (e.g. INVALID_FILTER), QUERY_TOO_LARGE.
   */
  async searchEncodedBatch(queries: string[], embeddings: TokenEmbeddings[], options: ClusterSearchOptions = {}): Promise<SearchResult[]> {
    checkStringArray('queries', queries, 'an array of query texts');
    checkArray('embeddings', embeddings, 'an array of token embeddings (one per query)');
    const r = this.resolveSearch(options);
    if (queries.length > SEARCH_DEFAULTS.maxBatchQueries) throw new PlaitError('QUERY_TOO_LARGE', { message: `${queries.length} queries in one batch; the limit is ${SEARCH_DEFAULTS.maxBatchQueries}` });
    if (r.mode !== 'bm25' && embeddings.length !== queries.length) throw invalidArgument('embeddings', `one per query (${queries.length})`, embeddings);
    const t0 = performance.now();
    const minSequence = minSequencesByShard(options.minSequences, this.shards.shards);
    const due = options.deadlineAt ?? Date.now() + (options.timeoutMs ?? CLUSTER_DEFAULTS.attemptTimeoutMs * 2);
    const shardDue = due - CLUSTER_DEFAULTS.answerMarginMs;
    const reasons = queries.map((q, i) => (r.mode === 'bm25' ? unsearchable(q, i) : embeddings[i]!.length === 0 ? 'no-content' : unsearchable(q, i)));
    const live = queries.flatMap((_, i) => (reasons[i] === null ? [i] : []));
    const results: SearchResult[] = queries.map((_, i) => emptyResult(reasons[i] ?? 'no-content'));
    if (live.length === 0) return results;
    const given = options.rewritten;
    if (given !== undefined && (!Array.isArray(given) || given.length !== queries.length)) throw invalidArgument('rewritten', `one rewrite (or null) per query (${queries.length})`, given);
    let rewritten = given ?? (rewriteActive(r.rewrite) ? await Promise.all(queries.map((q) => this.rewrite(q, options))) : null);
    const missing = new Set<number>();
    // RM3 expands the BM25 side during search, as on one index (its feedback: this cluster's BM25).
    const rm3 = r.rewrite.rm3;
    if (rm3 !== null && r.mode !== 'late' && rewritten !== null) {
      const rw = rewritten;
      rewritten = await Promise.all(queries.map((q, i) => (reasons[i] !== null || rw[i] == null ? rw[i] ?? null : this.expandRm3(q, rw[i]!, rm3, options, missing))));
    }
    const bm25Terms = (i: number): [string, number][] | null => (rewritten?.[i] == null ? null : [...rewritten[i]!.bm25.terms]);

    // 1. Corpus statistics of each live query, summed over the shards that answered (and not missing from RM3's rounds).
    const needBm25 = r.mode !== 'late';
    const needIdf = r.mode !== 'bm25' && r.idf;
    const stats = await this.gatherStats(
      live.map((i) => ({ text: needBm25 ? queries[i]! : null, terms: needBm25 ? (bm25Terms(i)?.map(([t]) => t) ?? null) : null, tokenIds: needIdf ? embeddings[i]!.tokenIds : null })),
      minSequence,
      statsDue(shardDue),
      missing,
      options.signal,
    );
    // 2. Search with them, on the shards that gave their statistics (a shard missing from the sums
    //    would score on another scale: it is missing from the answer too).
    const wireOptions = this.wireOptions(r, options);
    const wire: SearchRequest['queries'] = live.map((i, j) => {
      const terms = bm25Terms(i);
      return { text: queries[i]!, embedding: r.mode === 'bm25' ? null : toWireEmbedding(embeddings[i]!), stats: stats[j]!, ...(terms === null ? {} : { bm25Terms: terms }) };
    });
    // ColBERT-PRF: a first late pass, the expansion chosen here, the search below its second pass.
    const prf = r.rewrite.prf !== null && r.mode !== 'bm25' ? await this.expandPrf(wire, r, r.rewrite.prf, wireOptions, minSequence, shardDue, missing, options.signal) : null;
    prf?.forEach((x, j) => {
      if (x !== null) wire[j] = { ...wire[j]!, prf: toWirePrfRows(x.rows) };
    });
    const outcomes = await Promise.all(
      Array.from({ length: this.shards.shards }, (_, s) =>
        missing.has(s)
          ? ({ shard: s, ok: false, reason: 'timeout' } as const)
          : this.shards.request<SearchReply>(s, 'search', { queries: wire, options: wireOptions, deadlineAt: shardDue, minSequence: minSequence[s]! }, shardDue, options.signal),
      ),
    );
    for (const o of outcomes) if (!o.ok) missing.add(o.shard);
    // A replica predating PRF answers without the expansion: it is missing, not wrong.
    for (const o of outcomes) if (o.ok && wire.some((w, j) => w.prf !== undefined && o.value.results[j]?.prf !== true)) missing.add(o.shard);
    // 3. Merge.
    const answered = outcomes.filter((o): o is Extract<ShardOutcome<SearchReply>, { ok: true }> => o.ok && !missing.has(o.shard));
    const missingShards = [...missing].sort((a, b) => a - b);
    for (const s of missingShards) this.shards.metricsMissing(s, live.length);
    // No shard answered: an empty page would read as "nothing matches"; the answer is an error to
    // retry, as Elasticsearch's "all shards failed" (a part of the shards missing stays a degraded answer).
    if (answered.length === 0) {
      const named = `shard${missingShards.length === 1 ? '' : 's'} ${missingShards.join(', ')}`;
      const nats = this.shards.natsConnected;
      throw missingShardsError(missingShards, {
        reason: nats ? 'no-shard-answered' : 'nats-disconnected',
        message: nats
          ? `no shard of cluster "${this.name}" answered the search (${named}: no live replica, or too slow for the deadline); start a replica with plait serve <cluster>/shard-<i> --nats <url>`
          : `no shard of cluster "${this.name}" answered the search: this coordinator cannot reach the NATS server (it reconnects by itself; ${named} missing)`,
      });
    }
    live.forEach((qi, j) => {
      // A shard its rewrite's spelling statistics lacked (cluster-rewrite.ts) leaves this answer degraded too.
      const unheard = (rewritten?.[qi]?.missingShards ?? []).filter((s: number) => !missing.has(s));
      for (const s of unheard) this.shards.metricsMissing(s, 1);
      const missingHere = unheard.length === 0 ? missingShards : [...missingShards, ...unheard].sort((a, b) => a - b);
      const parts = answered.map((o) => o.value.results[j]!);
      const mergeStart = performance.now();
      const merged = r.mode === 'hybrid' ? mergeHybrid(parts, r) : mergeLists(parts.map((p) => p.hits), r.topK);
      const empty = parts.length > 0 && parts.every((p) => p.emptyReason !== undefined) ? parts[0]!.emptyReason : undefined;
      // Stage times: the slowest shard's (the scatter waits for it), and the merge (with hybrid's fusion) here.
      const timings = emptyTimings();
      timings.lateMs = Math.max(0, ...parts.map((p) => p.timings?.lateMs ?? 0));
      timings.bm25Ms = Math.max(0, ...parts.map((p) => p.timings?.bm25Ms ?? 0));
      timings.fusionMs = performance.now() - mergeStart;
      timings.totalMs = performance.now() - t0;
      // A page (search/paging.ts): the shards ranked offset + page size deep (wireOptions' topK); the page is its tail.
      const offset = r.offset ?? 0;
      results[qi] = {
        hits: empty === undefined ? merged.slice(offset) : [],
        ...(r.offset === null ? {} : { offset: r.offset, totalHits: empty === undefined ? totalHits(merged.length, r.topK, summedTotals(parts, missingHere)) : 0 }),
        // A filter that matched nothing on every shard: the reasons every shard gives (docstore/metadata-catalogue.ts);
        // a comparison on a field of several JSON types over the corpus, hits or not: FILTER_TYPE_MIXED.
        ...(() => {
          const why = empty === undefined && merged.length === 0 && missingHere.length === 0 ? commonWarnings(parts.map((p) => p.filterWarnings)) : null;
          const all = [...(why ?? []), ...(empty === undefined ? clusterMixedWarnings(options.filter, parts) : [])];
          return all.length === 0 ? {} : { filterWarnings: all };
        })(),
        timings,
        truncated: false,
        ...(empty === undefined ? {} : { emptyReason: empty }),
        ...(missingHere.length > 0 ? { degraded: true, missingShards: missingHere } : {}),
        ...rewritesOf(rewritten?.[qi] ?? null, prf?.[j] ?? null),
      };
    });
    if (r.highlights !== null) {
      const call: ClusterCallOptions = { deadlineAt: due, ...(options.minSequences === undefined ? {} : { minSequences: options.minSequences }) };
      await this.addHighlights(
        live.map((qi, j) => ({ result: results[qi]!, query: wire[j]!, lateText: rewritten?.[qi]?.lateText ?? queries[qi]!, rewritten: rewritten?.[qi] ?? null })),
        r,
        r.highlights,
        call,
        options.signal,
      );
    }
    return results;
  }

  /**
   * Highlights (search/highlights.ts) of each result's page, in a round after the merge: every
   * shard holding hits on a page is asked (`highlights`) for those hits only, with the query as its
   * search round weighted it (the embedding, the corpus's token IDF, ColBERT-PRF's rows) and BM25's
   * reading of it (the rewrite's, with RM3's expansion, else the text), so each hit's highlights
   * are one index's. A shard that does not answer by the deadline, or a replica predating the verb
   * (no responders, or an answer without them), leaves its hits without highlights and is added to
   * the result's `missingShards` (`degraded`), as a `documents` round does for includeText: never an
   * error for the whole answer. `timings.highlightsMs` is the round's wall time.
   *
   * Why a second round, not highlights in every shard's `search` answer: there a shard would
   * highlight every hit it returns, not the page the merge keeps. At k = 10 over S shards that is
   * S × 10 late highlights for 10 kept in late mode (~3 ms a hit on scifact, bench/RESULTS.md
   * "Search highlights": +30 ms × S of CPU a query), and in hybrid mode both of each shard's lists
   * at the fusion depth (2 × max(100, 4k) hits a shard, ~0.6 s of CPU) — a fused hit wants BM25's
   * spans even where it is not in its shard's BM25 list, and late's where it came from BM25 alone.
   * The second round highlights exactly the k hits, ~k/S a shard in parallel, for one more
   * request-reply. Measured (bench/RESULTS.md, "Cluster highlights"; `node
   * dist/bench/cluster-highlights-cost.js <sharded index> <queries.jsonl>`), 4 shards, k = 10,
   * bundled model: late 40 hits highlighted a query in the search round against 10 after the merge
   * (CPU 17.2 against 5.3 ms mean, latency 6.7 against 2.5), hybrid 390 against 10 (116 against
   * 9.0 ms, 35 against 3.8); the extra request-reply 0.35 ms p50 on loopback.
   */
  private async addHighlights(
    pages: readonly { result: SearchResult; query: SearchRequest['queries'][number]; lateText: string; rewritten: RewrittenQuery | null }[],
    r: ResolvedSearch,
    options: ResolvedHighlights,
    call: ClusterCallOptions,
    signal?: AbortSignal,
  ): Promise<void> {
    const items = pages.flatMap((p, j) => p.result.hits.map((hit) => ({ j, hit })));
    if (items.length === 0) return;
    const t0 = performance.now();
    const late = r.mode !== 'bm25';
    const bm25 = r.mode !== 'late';
    const wireQuery = (j: number, refs: PassageRef[]): WireHighlightQuery => {
      const p = pages[j]!;
      const rw = p.rewritten;
      return {
        lateText: p.lateText,
        embedding: late ? p.query.embedding : null,
        stats: p.query.stats.tokenIdf === undefined ? {} : { tokenIdf: p.query.stats.tokenIdf },
        ...(late && p.query.prf !== undefined ? { prf: p.query.prf } : {}),
        ...(!bm25 ? {} : rw === null ? { bm25Text: p.query.text } : { bm25Terms: [...rw.bm25.terms], bm25Tokens: rw.bm25.tokens }),
        refs,
      };
    };
    const { answers, missing } = await this.perShardOutcomes<HighlightsReply>(
      items.map((x) => x.hit.docId),
      'highlights',
      (at) => {
        // This shard's hits, grouped by query in the order of `at` (the reply is read back in that order).
        const byQuery = new Map<number, PassageRef[]>();
        for (const i of at) {
          const { j, hit } = items[i]!;
          const refs = byQuery.get(j) ?? [];
          refs.push({ docId: hit.docId, pid: hit.pid });
          byQuery.set(j, refs);
        }
        return { queries: [...byQuery].map(([j, refs]) => wireQuery(j, refs)), options, idfWeighting: r.idf } satisfies Omit<HighlightsRequest, 'deadlineAt' | 'minSequence'>;
      },
      call,
      signal,
      true,
    );
    const unheard = new Set(missing);
    for (const a of answers) {
      // Read back as asked: per query (in first-seen order of `at`), its refs in order.
      const order: number[][] = [];
      const seen = new Map<number, number>();
      for (const i of a.at) {
        const j = items[i]!.j;
        let g = seen.get(j);
        if (g === undefined) {
          g = order.length;
          seen.set(j, g);
          order.push([]);
        }
        order[g]!.push(i);
      }
      const got = a.value.highlights;
      // A replica that answered without them (an earlier version's, or a malformed answer): missing, as if silent.
      if (!Array.isArray(got) || got.length !== order.length || order.some((g, k) => !Array.isArray(got[k]) || got[k]!.length !== g.length)) {
        unheard.add(a.shard);
        if (!missing.includes(a.shard)) this.shards.metricsMissing(a.shard, 1);
        continue;
      }
      order.forEach((g, k) =>
        g.forEach((i, n) => {
          const h = got[k]![n];
          if (h != null) items[i]!.hit.highlights = h;
        }),
      );
    }
    const ms = performance.now() - t0;
    pages.forEach((p, j) => {
      if (p.result.hits.length === 0) return;
      p.result.timings.highlightsMs = ms;
      p.result.timings.totalMs += ms;
      const lacking = [...new Set(items.filter((x) => x.j === j && unheard.has(shardOf(x.hit.docId, this.shards.shards))).map((x) => shardOf(x.hit.docId, this.shards.shards)))];
      if (lacking.length === 0) return;
      const all = [...new Set([...(p.result.missingShards ?? []), ...lacking])].sort((a, b) => a - b);
      p.result.degraded = true;
      p.result.missingShards = all;
    });
  }

  /**
   * RM3 (rewrite/rm3.ts) over the cluster: the feedback documents are this cluster's BM25 top
   * `fbDocs` for the query's BM25 terms (unfiltered, as on one index), their term counts come from
   * their shards, and the expansion is combined here. Shards missing from either round join
   * `missing` (the answer is then degraded) and the feedback is what the others gave.
   */
  private async expandRm3(query: string, rw: RewrittenQuery, rm3: ResolvedRm3, options: ClusterSearchOptions, missing: Set<number>): Promise<RewrittenQuery> {
    const call: ClusterCallOptions = { ...(options.deadlineAt === undefined ? {} : { deadlineAt: options.deadlineAt }), ...(options.minSequences === undefined ? {} : { minSequences: options.minSequences }) };
    // The rewrite's own unheard shards (missingShards) stay with it; the feedback search reports only the shards it missed.
    const { missingShards: _unheard, ...heard } = rw;
    const [fb] = await this.searchEncodedBatch([query], [], { ...call, mode: 'bm25', topK: rm3.fbDocs, rewritten: [heard], ...(options.signal === undefined ? {} : { signal: options.signal }) });
    for (const s of fb!.missingShards ?? []) missing.add(s);
    const terms = new Map<string, FeedbackTerms | null>();
    try {
      for (const p of await this.perShard<FeedbackReply>(fb!.hits.map((h) => h.docId), 'feedback', () => ({}), call, options.signal)) {
        p.at.forEach((i, j) => {
          const d = p.value.docs[j];
          terms.set(fb!.hits[i]!.docId, d == null ? null : { tf: new Map(d.tf), total: d.total });
        });
      }
    } catch (e) {
      if (!isPlaitError(e, 'CLUSTER_UNAVAILABLE')) throw e;
      for (const s of (e.details?.['shards'] as number[] | undefined) ?? []) missing.add(s);
    }
    const feedback = fb!.hits.flatMap((h) => (terms.has(h.docId) ? [{ score: h.score, terms: terms.get(h.docId)! }] : []));
    return withRm3(rw, rm3Combine(rw.bm25, feedback, rm3));
  }

  /**
   * ColBERT-PRF (search/colbert-prf.ts) over the cluster, for each query of `wire`: the first pass
   * is the shards' late search (at the depth one index's first pass has: topK, or the fusion depth
   * in hybrid mode), merged; the top `fbDocs` documents' best passages are counted by centroid cell
   * on their shards (`codes`); the cells' sizes and the passages (N) are summed over the shards
   * (`cells`, kept per shard commit); the centroids and weights are chosen here once, by the code
   * one index runs. The first pass (with the cell sizes) and the codes round each take a share
   * (CLUSTER_DEFAULTS.statsBudgetShare) of the time left before `shardDue`, so a shard without
   * replica leaves the second pass time. Shards missing from a round join `missing` (the
   * answer is then degraded) and the expansion is what the others gave; null where no centroid
   * is chosen (no feedback), as on one index.
   */
  private async expandPrf(wire: SearchRequest['queries'], r: ResolvedSearch, prf: ResolvedPrf, wireOptions: WireSearchOptions, minSequence: number[], shardDue: number, missing: Set<number>, signal?: AbortSignal): Promise<({ rows: PrfRows; feedback: number } | null)[]> {
    const firstOptions: WireSearchOptions = { ...wireOptions, mode: 'late', topK: r.mode === 'hybrid' ? Math.min(SEARCH_DEFAULTS.maxTopK, hybridDepth(r.topK)) : r.topK, includeText: false };
    // The first pass takes a share of the time left; a shard's cell sizes are asked as soon as its
    // first pass answers (while a shard without replica is still awaited), by the same instant.
    const firstDue = statsDue(shardDue);
    const first = await Promise.all(
      Array.from({ length: this.shards.shards }, async (_, s): Promise<{ shard: number; reply: SearchReply; cells: ShardCells } | null> => {
        if (missing.has(s)) return null;
        const o = await this.shards.request<SearchReply>(s, 'search', { queries: wire, options: firstOptions, deadlineAt: firstDue, minSequence: minSequence[s]! }, firstDue, signal);
        const cells = o.ok ? await this.cellSizes(s, o.value.commit ?? null, minSequence[s]!, firstDue, signal) : null;
        if (!o.ok || cells === null) {
          missing.add(s);
          return null;
        }
        return { shard: s, reply: o.value, cells };
      }),
    );
    const answered = first.filter((x) => x !== null);
    // The codes round: a share of what is left, the second pass the rest.
    const call: ClusterCallOptions = { deadlineAt: statsDue(shardDue) + CLUSTER_DEFAULTS.answerMarginMs, minSequences: minSequence.map((sequence, shard) => ({ shard, sequence })) };
    return Promise.all(
      wire.map(async (_, j) => {
        const feedback = mergeLists(answered.map((x) => x.reply.results[j]?.hits ?? []), prf.fbDocs);
        if (feedback.length === 0) return null;
        const counts = new Map<number, number>();
        try {
          for (const p of await this.perShard<CodesReply>(feedback.map((h) => h.docId), 'codes', (at) => refsAt(feedback, at), call, signal)) {
            const ids = int32Of(p.value.centroids);
            const n = int32Of(p.value.counts);
            ids.forEach((c, k) => counts.set(c, (counts.get(c) ?? 0) + n[k]!));
          }
        } catch (e) {
          if (!isPlaitError(e, 'CLUSTER_UNAVAILABLE')) throw e;
          for (const s of (e.details?.['shards'] as number[] | undefined) ?? []) missing.add(s);
        }
        const present = answered.filter((x) => !missing.has(x.shard)).map((x) => x.cells);
        const n = present.reduce((a, c) => a + c.passages, 0);
        const rows = choosePrfCentroids(counts, (c) => present.reduce((a, x) => a + (x.sizes[c] ?? 0), 0), n, prf);
        return rows === null ? null : { rows, feedback: feedback.length };
      }),
    );
  }

  /**
   * Shard `shard`'s IVF cell sizes and passages: from the cache when its commit is the one cached,
   * else asked again (`cells`); null when it does not answer by `due`.
   */
  private async cellSizes(shard: number, commit: string | null, minSequence: number, due: number, signal?: AbortSignal): Promise<ShardCells | null> {
    const cached = this.cells[shard];
    if (cached != null && commit !== null && cached.commit === commit) return cached;
    const o = await this.shards.request<CellsReply>(shard, 'cells', { deadlineAt: due, minSequence }, due, signal);
    if (!o.ok) return null;
    return (this.cells[shard] = { shard, commit: o.value.commit, passages: o.value.passages, sizes: int32Of(o.value.sizes) });
  }

  /** Each query's corpus statistics, summed over the shards that answered (the others join `missing`). */
  private async gatherStats(qs: { text: string | null; terms?: string[] | null; tokenIds: Int32Array | null }[], minSequence: number[], due: number, missing: Set<number>, signal?: AbortSignal): Promise<WireStats[]> {
    const bm25 = qs.some((q) => q.text !== null);
    const idf = qs.some((q) => q.tokenIds !== null);
    if (!bm25 && !idf) return qs.map(() => ({}));
    const stated = qs.map((q) => ({ text: q.text, ...(q.terms == null ? {} : { terms: q.terms }), tokenIds: q.tokenIds === null ? null : bytesOf(q.tokenIds) }));
    const outcomes = await this.shards.scatter<StatsReply>('stats', (s) => ({ queries: stated, minSequence: minSequence[s]!, deadlineAt: due }), due, signal);
    return sumStats(outcomes, qs.length, bm25, idf, missing);
  }

  /**
   * Why document `docId` scores as it does: its shard (shardOf) explains the late and BM25 parts
   * with the corpus statistics; in hybrid mode the fused parts come from this cluster's own hybrid
   * search (null when the document is not among its topK). `pid` in the answer is the shard's.
   * `options.rewrite` (spelling, synonyms, RM3) is applied here, against the whole corpus, as one
   * index's explain applies it: the shard explains the rewritten text's late side and the rewritten
   * BM25 terms it is sent. `options.signal` (the caller's abort) ends every shard round at once.
   * @throws PlaitError INVALID_ARGUMENT (a pid target: pids are per shard; ColBERT-PRF, refused
   * by one index's explain too), CLUSTER_UNAVAILABLE (`details.shards`: the document's shard, or a
   * shard the statistics, the rewrite's spelling statistics, RM3's feedback or — hybrid — the fused
   * search need, did not answer by the deadline; `details.shard`: the document's), the shard's own
   * errors (DOCUMENT_NOT_FOUND for an unknown docId), the signal's reason once it fires (ABORTED, TIMEOUT).
   */
  async explain(query: string, given: string | number | { pid: number }, options: ExplainOptions & Pick<ClusterSearchOptions, 'deadlineAt' | 'minSequences' | 'signal'> = {}): Promise<Explanation> {
    checkString('query', query, 'a query (a string)');
    // An integer docId is its decimal text, as on one index (document-id.ts lookupDocId).
    const target = typeof given === 'number' ? lookupDocId(given, 'doc_id') : given;
    if (typeof target !== 'string') throw invalidArgument('doc_id', 'a doc_id on a cluster (pids are per shard)', target);
    const r = this.resolveSearch(options, EXPLAIN_OPTION_SCOPES);
    if (r.rewrite.prf !== null) throw invalidArgument('rewrite.prf', 'spelling, synonyms or rm3 in explain (as on one index: ColBERT-PRF appends centroid embeddings, which have no query text to explain)', 'prf');
    const due = shardDueOf(options);
    const minSequence = minSequencesByShard(options.minSequences, this.shards.shards);
    const { deadlineAt: _d, minSequences: _m, rewrite, rewritten: _w, signal, ...explainOptions } = options;
    const call: ClusterCallOptions = { ...(options.deadlineAt === undefined ? {} : { deadlineAt: options.deadlineAt }), ...(options.minSequences === undefined ? {} : { minSequences: options.minSequences }) };
    // Every round gets the caller's signal, as a search's do: a client that hung up does not leave them running to the deadline.
    const withSignal = signal === undefined ? {} : { signal };
    throwIfAborted(signal); // before the rounds and the model's load, as PlaitIndex.explain
    const missing = new Set<number>();
    // Rewritten once, as a search would be; RM3 on the BM25 side (with the cluster's BM25 feedback).
    const rewritten = rewrite === undefined ? null : await this.rewrite(query, { ...call, ...withSignal, mode: r.mode, rewrite });
    for (const s of rewritten?.missingShards ?? []) missing.add(s);
    const rw = rewritten !== null && r.rewrite.rm3 !== null && r.mode !== 'late' ? await this.expandRm3(query, rewritten, r.rewrite.rm3, { ...call, ...withSignal }, missing) : rewritten;
    const [e] = await (await this.encoder()).encodeQueries([rw?.lateText ?? query]);
    const bm25Terms = rw === null ? null : [...rw.bm25.terms.keys()];
    const [stats] = await this.gatherStats([{ text: r.mode === 'late' ? null : query, terms: r.mode === 'late' ? null : bm25Terms, tokenIds: r.mode !== 'bm25' && r.idf ? e!.tokenIds : null }], minSequence, statsDue(due), missing, signal);
    const shard = shardOf(target, this.shards.shards);
    const request: ExplainRequest = { query, docId: target, options: explainOptions, stats: stats!, deadlineAt: due, minSequence: minSequence[shard]!, ...(rw === null ? {} : { rewritten: { lateText: rw.lateText, bm25Terms: [...rw.bm25.terms], rewrites: rw.rewrites } }) };
    const o = await this.shards.request<{ explanation: Explanation }>(shard, 'explain', request, due, signal);
    if (signal?.aborted === true) throw abortError(signal);
    if (!o.ok || missing.size > 0) throw missingShardsError([...missing, ...(o.ok ? [] : [shard])], { shard });
    const ex = o.value.explanation;
    if (r.mode === 'hybrid') {
      const [res] = await this.searchEncodedBatch([query], [e!], { ...explainOptions, ...call, ...withSignal, mode: 'hybrid', ...(rewrite === undefined ? {} : { rewrite, rewritten: [rewritten] }) });
      // Fused parts from a search that missed shards are not one index's (the document's rank and the
      // min-max bounds come from part of the corpus): an error naming them, as for the other rounds.
      if (res!.degraded === true) throw missingShardsError(res!.missingShards ?? [], { shard });
      const hit = res!.hits.find((h) => h.docId === target);
      ex.fusion = hit?.fusion === undefined ? null : { ...hit.fusion, score: hit.score, rank: hit.rank };
    }
    return ex;
  }

  /**
   * This cluster as a staged pipeline's index (see the file header), for one request: every call
   * answers by `o.deadlineAt` and sees the writes `o.minSequences` name.
   */
  pipelineIndex(o: ClusterCallOptions = {}): PipelineIndex {
    return {
      info: this.manifest,
      search: async (query, options) => {
        const resolved = this.resolveSearch(options);
        // Rewritten once: the late side encodes the rewritten text, BM25 searches its terms.
        const rw = await this.rewrite(query, { ...options, ...o });
        const embeddings = resolved.mode === 'bm25' ? [] : await (await this.encoder()).encodeQueries([rw?.lateText ?? query]);
        const [r] = await this.searchEncodedBatch([query], embeddings, { ...options, ...o, rewritten: [rw] });
        return r!;
      },
      rerank: (query, docIds, options) => this.rerankDocs(query, docIds, options, o),
      bm25Scores: (query, docIds, signal) => this.bm25Docs(query, docIds, signal, o),
      passageTexts: (list, signal) => this.passagesOf(list, signal, o),
      documents: (docIds, signal) => this.documentsOf(docIds, signal, o),
      passagePositions: (list, signal) => this.passagePositionsOf(list, signal, o),
      encoder: () => this.encoder(),
    };
  }

  /**
   * Exact late-interaction scores of listed documents (best passage; `pid` is the shard's), highest
   * first, with the corpus's query-token IDF: PlaitIndex.rerank over the whole corpus.
   * @throws PlaitError EMPTY_TEXT (no letter or digit), DOCUMENT_NOT_FOUND (an unknown id, from its
   * shard), CLUSTER_UNAVAILABLE (a shard missing by the deadline).
   */
  async rerankDocs(query: string, docIds: readonly string[], options: Pick<SearchOptions, 'idfWeighting' | 'signal'>, o: ClusterCallOptions = {}): Promise<SearchHit[]> {
    checkOptionKeys(options, { idfWeighting: true, signal: true } as const satisfies OptionKeys<Pick<SearchOptions, 'idfWeighting' | 'signal'>>, 'rerank option');
    checkString('query', query, 'a query (a string)');
    checkArray('docIds', docIds, 'an array of document ids');
    checkOptionKeys(o, CLUSTER_CALL_OPTION_KEYS, 'cluster call option');
    if (docIds.length === 0) return [];
    if (unsearchable(query, 0) !== null) throw new PlaitError('EMPTY_TEXT', { message: 'the query has no letter or digit to rank by' });
    throwIfAborted(options.signal); // before the model's load, as PlaitIndex.rerank
    const idf = options.idfWeighting ?? this.manifest.model.idfWeighting;
    const [e] = await (await this.encoder()).encodeQueries([query]);
    const [stats] = idf ? await this.corpusStats([{ text: null, tokenIds: e!.tokenIds }], o, options.signal) : [{}];
    const embedding = toWireEmbedding(e!);
    const parts = await this.perShard<RerankReply>(docIds, 'rerank', () => ({ embedding, idfWeighting: idf, stats }), o, options.signal);
    return mergeLists(parts.map((p) => p.value.hits), docIds.length);
  }

  /**
   * BM25 score of each listed document with the corpus's statistics (0 without a query term), aligned with `docIds`.
   * @throws PlaitError CLUSTER_UNAVAILABLE (a shard missing by the deadline).
   */
  async bm25Docs(query: string, docIds: readonly string[], signal?: AbortSignal, o: ClusterCallOptions = {}): Promise<Float64Array> {
    checkOptionKeys(o, CLUSTER_CALL_OPTION_KEYS, 'cluster call option');
    checkString('query', query, 'a query (a string)');
    checkArray('docIds', docIds, 'an array of document ids');
    const out = new Float64Array(docIds.length);
    if (docIds.length === 0) return out;
    const [stats] = await this.corpusStats([{ text: query, tokenIds: null }], o, signal);
    if (stats!.bm25 === undefined) return out; // an empty corpus
    for (const p of await this.perShard<Bm25Reply>(docIds, 'bm25', () => ({ text: query, stats }), o, signal)) p.at.forEach((i, j) => (out[i] = p.value.scores[j]!));
    return out;
  }

  /**
   * The passage text of each candidate from its shard (its scored passage, pids being the shard's, else its first).
   * @throws PlaitError DOCUMENT_NOT_FOUND (an unknown id), CLUSTER_UNAVAILABLE.
   */
  async passagesOf(list: readonly PassageRef[], signal?: AbortSignal, o: ClusterCallOptions = {}): Promise<{ texts: string[]; pids: Int32Array }> {
    checkOptionKeys(o, CLUSTER_CALL_OPTION_KEYS, 'cluster call option');
    checkArray('list', list, 'an array of passage references');
    const texts = new Array<string>(list.length);
    const pids = new Int32Array(list.length);
    const parts = await this.perShard<PassagesReply>(list.map((c) => c.docId), 'passages', (at) => refsAt(list, at), o, signal);
    for (const p of parts) {
      p.at.forEach((i, j) => {
        texts[i] = p.value.texts[j]!;
        pids[i] = p.value.pids[j]!;
      });
    }
    return { texts, pids };
  }

  /** Each candidate's passage position in its document, from its shard (-1: unknown). @throws PlaitError CLUSTER_UNAVAILABLE. */
  async passagePositionsOf(list: readonly PassageRef[], signal?: AbortSignal, o: ClusterCallOptions = {}): Promise<Int32Array> {
    checkOptionKeys(o, CLUSTER_CALL_OPTION_KEYS, 'cluster call option');
    checkArray('list', list, 'an array of passage references');
    const out = new Int32Array(list.length).fill(-1);
    for (const p of await this.perShard<PositionsReply>(list.map((c) => c.docId), 'positions', (at) => refsAt(list, at), o, signal)) p.at.forEach((i, j) => (out[i] = p.value.positions[j]!));
    return out;
  }

  /**
   * Stored documents from their shards (null for an unknown id), aligned with `docIds`. A shard
   * missing by the deadline leaves its documents null and is named in `missingShards` (ascending):
   * the hits of a staged search with includeText are answered, its own without text, degraded
   * (search-pipeline.ts), as a search answers without a shard.
   */
  async documentsOf(docIds: readonly string[], signal?: AbortSignal, o: ClusterCallOptions = {}): Promise<PipelineDocuments> {
    checkOptionKeys(o, CLUSTER_CALL_OPTION_KEYS, 'cluster call option');
    checkArray('docIds', docIds, 'an array of document ids');
    const out = new Array<PipelineDocument | null>(docIds.length).fill(null);
    // A shard that answers with its own error (a replica closing) leaves its documents null, as one that times out: never the whole answer.
    const { answers, missing } = await this.perShardOutcomes<DocumentsReply>(docIds, 'documents', () => ({}), o, signal, true);
    for (const p of answers) p.at.forEach((i, j) => (out[i] = p.value.documents[j] ?? null));
    return { documents: out, missingShards: missing.sort((a, b) => a - b) };
  }

  /** The corpus statistics of `qs` from every shard. @throws PlaitError CLUSTER_UNAVAILABLE naming the shards that did not answer. */
  private async corpusStats(qs: { text: string | null; tokenIds: Int32Array | null }[], o: ClusterCallOptions, signal?: AbortSignal): Promise<WireStats[]> {
    const missing = new Set<number>();
    const stats = await this.gatherStats(qs, minSequencesByShard(o.minSequences, this.shards.shards), statsDue(shardDueOf(o)), missing, signal);
    if (missing.size > 0) throw missingShardsError([...missing]);
    return stats;
  }

  /**
   * One request about listed documents to each shard holding some of them (shardOf), `payload(at)`
   * given the positions in `docIds` of that shard's documents; the answers with those positions.
   * @throws PlaitError CLUSTER_UNAVAILABLE naming every shard that did not answer by the deadline.
   */
  private async perShard<T>(docIds: readonly string[], verb: ShardVerb, payload: (at: number[]) => object, o: ClusterCallOptions, signal?: AbortSignal): Promise<{ shard: number; at: number[]; value: T }[]> {
    const { answers, missing } = await this.perShardOutcomes<T>(docIds, verb, payload, o, signal);
    if (missing.length > 0) throw missingShardsError(missing);
    return answers;
  }

  /**
   * perShard's round, the shards missing by the deadline listed instead of thrown (counted in the
   * missing-shard metric either way). With `errorsMissing`, a shard that answers with an error (a
   * replica closing, its own fault) is listed missing too rather than failing the round: for
   * optional additions to an answer (highlights, include_text's documents), which must never fail
   * the answer; the caller's abort still throws.
   */
  private async perShardOutcomes<T>(docIds: readonly string[], verb: ShardVerb, payload: (at: number[]) => object, o: ClusterCallOptions, signal?: AbortSignal, errorsMissing = false): Promise<{ answers: { shard: number; at: number[]; value: T }[]; missing: number[] }> {
    const groups = new Map<number, number[]>();
    docIds.forEach((id, i) => {
      const s = shardOf(id, this.shards.shards);
      const at = groups.get(s);
      if (at === undefined) groups.set(s, [i]);
      else at.push(i);
    });
    const due = shardDueOf(o);
    const minSequence = minSequencesByShard(o.minSequences, this.shards.shards);
    const outcomes = await Promise.all(
      [...groups].map(async ([s, at]) => {
        const asked = this.shards.request<T>(s, verb, { ...payload(at), docIds: at.map((i) => docIds[i]!), deadlineAt: due, minSequence: minSequence[s]! }, due, signal);
        // The caller's own abort still ends the round with its error: only the shard's faults are missing.
        const out: ShardOutcome<T> = errorsMissing
          ? await asked.catch((e: unknown) => {
              if (signal?.aborted === true) throw e;
              return { shard: s, ok: false, reason: 'timeout' } as const;
            })
          : await asked;
        return { at, out };
      }),
    );
    const missing = outcomes.flatMap((a) => (a.out.ok ? [] : [a.out.shard]));
    for (const s of missing) this.shards.metricsMissing(s, 1);
    const answers = outcomes.flatMap((a) => (a.out.ok ? [{ shard: a.out.shard, at: a.at, value: a.out.value }] : []));
    return { answers, missing };
  }


  /** The resolved options a shard needs, PLAID's parameters explicit (the single index's for this topK). */
  private wireOptions(r: ResolvedSearch, o: SearchOptions): WireSearchOptions {
    return {
      topK: r.topK,
      mode: r.mode,
      exhaustive: r.exhaustive,
      nIvfProbe: r.plaid.nIvfProbe,
      centroidScoreThreshold: r.plaid.centroidScoreThreshold,
      ndocs: r.plaid.ndocs,
      ...(r.plaid.centroidScoreMargin === undefined ? {} : { centroidScoreMargin: r.plaid.centroidScoreMargin }),
      ...(r.plaid.nIvfProbeTotal === undefined ? {} : { nIvfProbeTotal: r.plaid.nIvfProbeTotal }),
      ...(r.plaid.ndocsQueryTokens === undefined ? {} : { ndocsQueryTokens: r.plaid.ndocsQueryTokens }),
      idfWeighting: r.idf,
      fusion: r.fusion,
      alpha: r.alpha,
      rrfK: r.rrfK,
      includeText: r.includeText,
      ...(o.filter === undefined ? {} : { filter: o.filter }),
      // Paging: each shard counts its part of the whole ranking (ShardQueryResult.totalHits) and ranks topK deep, from the top.
      ...(r.offset === null ? {} : { offset: 0 }),
    };
  }

  async close(): Promise<void> {
    await this.queryEncoder.close();
  }
}

/** A shard's IVF cell sizes (passages per centroid) and passages, as of its commit `commit` (ColBERT-PRF's df(c) and N are their sums). */
interface ShardCells {
  shard: number;
  commit: string;
  passages: number;
  sizes: Int32Array;
}

/** A result's rewrites: the query's (spelling, synonyms, RM3) and ColBERT-PRF's expansion, as one index reports them; none: no field. */
function rewritesOf(rw: RewrittenQuery | null, prf: { rows: PrfRows; feedback: number } | null): Pick<SearchResult, 'rewrites'> {
  const list = [...(rw?.rewrites ?? []), ...(prf === null ? [] : [prfRewrite(prf.rows, prf.feedback)])];
  return list.length === 0 ? {} : { rewrites: list };
}

/** When a shard's answer is due: the request's deadline (or two attempts from now) less the coordinator's margin. */
function shardDueOf(o: ClusterCallOptions): number {
  return (o.deadlineAt ?? Date.now() + CLUSTER_DEFAULTS.attemptTimeoutMs * 2) - CLUSTER_DEFAULTS.answerMarginMs;
}

/** The candidates at positions `at`, as a `passages` or `positions` request carries them. */
function refsAt(list: readonly PassageRef[], at: readonly number[]): { refs: PassageRef[] } {
  return { refs: at.map((i) => ({ docId: list[i]!.docId, pid: list[i]!.pid })) };
}

/** CLUSTER_UNAVAILABLE naming `shards` (`details.shards`, ascending, no repeats; `extra` joins the details). */
function missingShardsError(shards: number[], extra: Record<string, unknown> = {}): PlaitError {
  const sorted = [...new Set(shards)].sort((a, b) => a - b);
  return new PlaitError('CLUSTER_UNAVAILABLE', { message: `shard${sorted.length === 1 ? '' : 's'} ${sorted.join(', ')} did not answer in time`, ...extra, shards: sorted });
}

/**
 * When the statistics round must end: a share of the time left (CLUSTER_DEFAULTS.statsBudgetShare),
 * so that a shard without a replica cannot take the whole deadline before the search round.
 */
function statsDue(due: number): number {
  const now = Date.now();
  return now + Math.max(0, due - now) * CLUSTER_DEFAULTS.statsBudgetShare;
}

/**
 * The highest sequence asked of each shard (0: none).
 * @throws PlaitError INVALID_ARGUMENT for a shard or sequence out of range.
 */
function minSequencesByShard(asked: ClusterSearchOptions['minSequences'], shards: number): number[] {
  const out = new Array<number>(shards).fill(0);
  for (const a of asked ?? []) {
    if (!Number.isInteger(a?.shard) || a.shard < 0 || a.shard >= shards) throw invalidArgument('min_sequences.shard', `an integer in [0, ${shards - 1}]`, a?.shard);
    if (!Number.isInteger(a.sequence) || a.sequence < 0) throw invalidArgument('min_sequences.sequence', 'a non-negative integer', a.sequence);
    out[a.shard] = Math.max(out[a.shard]!, a.sequence);
  }
  return out;
}

/** The shards' statistics summed per query; shards that did not answer are added to `missing`. */
function sumStats(outcomes: ShardOutcome<StatsReply>[], n: number, bm25: boolean, idf: boolean, missing: Set<number>): WireStats[] {
  let documents = 0;
  let totalLength = 0;
  let passages = 0;
  const termDf: Record<string, number>[] = Array.from({ length: n }, () => ({}));
  const tokenDf: (Int32Array | null)[] = Array.from({ length: n }, () => null);
  for (const o of outcomes) {
    if (!o.ok) {
      missing.add(o.shard);
      continue;
    }
    const v = o.value;
    documents += v.documents;
    totalLength += v.totalLength;
    passages += v.passages;
    for (let j = 0; j < n; j++) {
      for (const [t, df] of Object.entries(v.termDf[j] ?? {})) termDf[j]![t] = (termDf[j]![t] ?? 0) + df;
      const td = v.tokenDf[j];
      if (td === null || td === undefined) continue;
      const add = int32Of(td);
      const acc = (tokenDf[j] ??= new Int32Array(add.length));
      for (let k = 0; k < add.length; k++) acc[k]! += add[k]!;
    }
  }
  return termDf.map((df, j) => ({
    ...(bm25 && documents > 0 ? { bm25: { documents, avgLength: Math.max(totalLength / documents, 1e-9), df } } : {}),
    ...(idf && tokenDf[j] !== null ? { tokenIdf: { passages, df: bytesOf(tokenDf[j]!) } } : {}),
  }));
}

/** Best first; equal scores by docId. */
function byScore(a: SearchHit, b: SearchHit): number {
  return b.score - a.score || (a.docId < b.docId ? -1 : a.docId > b.docId ? 1 : 0);
}

/** The top `k` of the shards' lists, ranked from 1. */
export function mergeLists(lists: readonly SearchHit[][], k: number): SearchHit[] {
  checkArray('lists', lists, 'an array of hit lists');
  checkNumber('k', k, 'a hit count');
  return lists
    .flat()
    .sort(byScore)
    .slice(0, k)
    .map((h, i) => ({ ...h, rank: i + 1 }));
}

/**
 * Hybrid fusion over the shards' lists, as hybrid.ts fuses on one index: the corpus's late list and
 * BM25 list are the top fusion-depth of the shards' lists; a document in the BM25 list but not in
 * the late list joins the late list with its exact late score (its shard sent it); then min-max or RRF.
 */
export function mergeHybrid(parts: readonly ShardQueryResult[], r: ResolvedSearch): SearchHit[] {
  checkArray('parts', parts, 'an array of shard answers');
  checkObject('r', r, 'a ResolvedSearch');
  const depth = Math.min(SEARCH_DEFAULTS.maxTopK, hybridDepth(r.topK));
  const late = parts.flatMap((p) => p.hits).sort(byScore).slice(0, depth);
  const bm25 = parts.flatMap((p) => p.bm25 ?? []).sort(byScore).slice(0, depth);
  const lateScore = new Map<string, SearchHit>();
  for (const p of parts) for (const h of [...(p.extraLate ?? []), ...p.hits]) lateScore.set(h.docId, h);
  const keys = new Map<string, number>();
  const hitOf: SearchHit[] = [];
  const key = (h: SearchHit): number => {
    let k = keys.get(h.docId);
    if (k === undefined) {
      k = hitOf.length;
      keys.set(h.docId, k);
      hitOf.push(h);
    }
    return k;
  };
  const lateDocs: ScoredDoc[] = late.map((h) => ({ key: key(h), score: h.score }));
  const inLate = new Set(late.map((h) => h.docId));
  for (const h of bm25) {
    if (inLate.has(h.docId)) continue;
    const l = lateScore.get(h.docId);
    if (l !== undefined) lateDocs.push({ key: key(l), score: l.score });
  }
  const bmDocs: ScoredDoc[] = bm25.map((h) => ({ key: key(h), score: h.score }));
  const tie = (a: number, b: number): number => compareDocIds(hitOf[a]!.docId, hitOf[b]!.docId);
  const fused = r.fusion === 'rrf' ? fuseRrf(lateDocs.sort((a, b) => b.score - a.score || a.key - b.key), bmDocs, r.rrfK, tie) : fuseMinMax(lateDocs, bmDocs, r.alpha, tie);
  return fused.slice(0, r.topK).map((f, i) => {
    const h = lateScore.get(hitOf[f.key]!.docId) ?? hitOf[f.key]!;
    return { ...h, score: f.score, rank: i + 1, fusion: { late: f.late, bm25: f.bm25, lateShare: f.lateShare, bm25Share: f.bm25Share } };
  });
}

/** The cluster's manifest from its shards' `info` answers: shard 0's settings, every shard's counts and segments. */
function clusterManifestOf(info: readonly ShardInfo[]): IndexManifest {
  const first = [...info].sort((a, b) => a.shard - b.shard)[0]!.manifest;
  const sum = (k: 'documents' | 'passages' | 'tokens'): number => info.reduce((a, s) => a + s.manifest.counts[k], 0);
  // Every shard's segments (so bytes per token is the cluster's); other files are the first shard's.
  // The generation is the sum of the shards' (it moves with every shard's commit).
  const generation = info.reduce((a, s) => a + (s.manifest.generation ?? 0), 0);
  return { ...first, generation, counts: { ...first.counts, documents: sum('documents'), passages: sum('passages'), tokens: sum('tokens') }, segments: info.flatMap((s) => s.manifest.segments) };
}

/**
 * The cluster's whole ranking's length: the sum of its shards' (each counts its own documents, the
 * filter's with a filter), or null when a shard is missing or predates the count.
 */
function summedTotals(parts: readonly ShardQueryResult[], missingShards: readonly number[]): number | null {
  if (missingShards.length > 0) return null;
  let sum = 0;
  for (const p of parts) {
    if (typeof p.totalHits !== 'number') return null;
    sum += p.totalHits;
  }
  return sum;
}
