/**
 * A replica of shard i: an open PlaitIndex behind a NATS front door. It answers `info`, `stats` and
 * `search` on `<shardService(i)>.<verb>` in the shard's queue group (NATS gives each request to one
 * replica of the group: load shared, and a dead replica's share goes to the live ones), and `ping`
 * outside the group (every replica answers: the coordinator counts them). `plait serve
 * <name>/shard-<i> --nats <url>` starts one; the process may also serve HTTP.
 *
 * Nothing here merges or routes: the replica answers for its own shard, with the corpus-wide
 * statistics the coordinator sends (search-options.ts, GlobalStats), so its scores are those a
 * single index over the whole corpus would give.
 */
import { plural } from '../util/plural.js';
import { comparedFieldTypes } from '../docstore/metadata-catalogue.js';
import { fieldTypeChanges } from '../docstore/metadata-types.js';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { NatsConnection, Msg, Subscription } from '@nats-io/transport-node';
import { PlaitError, checkObject, checkShape } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { CLUSTER_DEFAULTS, SEARCH_DEFAULTS } from '../config/defaults.js';
import { commitIdOf } from '../format/index-transaction.js';
import { hybridDepth } from '../search/search-options.js';
import type { EncodedSearchOptions, Explanation, PlaitIndex } from '../search/plait-index.js';
import { prfCellSizes, prfCodeCounts } from '../search/colbert-prf.js';
import type { GlobalStats } from '../search/search-options.js';
import { ENGLISH_STOPWORDS } from '../docstore/bm25-terms.js';
import { compileFilter } from '../docstore/metadata-filter.js';
import { noMatchWarnings } from '../docstore/metadata-catalogue.js';
import { feedbackTerms } from '../rewrite/rm3.js';
import { bm25ScoresOf, passagePositions, passageTexts } from '../pipeline/pipeline-index.js';
import { CLUSTER_MANIFEST_FILE, readClusterManifest, codebookChecksum } from './cluster-manifest.js';
import { shardDifferences, shardMismatch } from './shard-mismatch.js';
import { clusterSubjects, type ClusterSubjects } from './subjects.js';
import type { TransactionApplied } from './write-transaction.js';
import { applicableSearchOptions, searchShape } from '../search/option-scope.js';
import {
  bytesOf,
  decodeMessage,
  encodeMessage,
  errorReply,
  fromWireEmbedding,
  fromWirePrfRows,
  int32Of,
  type CellsReply,
  type CodesReply,
  type SearchReply,
  type SearchRequest,
  type ExplainRequest,
  type PingReply,
  type PingRequest,
  type FilterReply,
  type FilterRequest,
  type TypesReply,
  type TypesRequest,
  type HighlightsReply,
  type HighlightsRequest,
  type ShardInfo,
  type ShardQueryResult,
  type StatsReply,
  type StatsRequest,
  type WireStats,
  type Bm25Reply,
  type Bm25Request,
  type DocumentsReply,
  type DocumentsRequest,
  type FeedbackReply,
  type PassagesReply,
  type PassagesRequest,
  type PositionsReply,
  type TokenizeReply,
  type TokenizeRequest,
  type VocabularyReply,
  type VocabularyRequest,
  type RerankReply,
  type RerankRequest,
} from './shard-protocol.js';
import { natsCore } from './nats-modules.js';

export interface ShardReplicaOptions {
  /** NATS server URL(s), e.g. "nats://127.0.0.1:4222". */
  servers: string | string[];
  /** Connection name shown by the NATS server (default "plait-<cluster>-shard-<i>"). */
  name?: string;
}
const SHARD_REPLICA_OPTION_KEYS = { servers: true, name: true } as const satisfies OptionKeys<ShardReplicaOptions>;

/** Where a shard folder sits in its cluster: `<root>/shard-<i>` with `<root>/cluster.json`. */
export function shardOfFolder(path: string): { root: string; cluster: string; shard: number; shards: number } {
  const m = /^shard-(\d+)$/.exec(basename(path.replace(/\/+$/, '')));
  if (m === null) {
    const hint = existsSync(join(path, CLUSTER_MANIFEST_FILE)) ? `it is a cluster's folder: serve one of its shards (${join(path, 'shard-0')}), or coordinate it with --coordinate` : 'build one with plait index <corpus> --index <name> --shards <n>';
    throw new PlaitError('INVALID_ARGUMENT', { message: `${path} is not a shard folder (<index>/shard-<i>): ${hint}`, path });
  }
  const root = dirname(path.replace(/\/+$/, ''));
  const cluster = readClusterManifest(root);
  const shard = Number(m[1]);
  if (shard >= cluster.shards) throw new PlaitError('INDEX_CORRUPT', { message: `${path}: shard ${shard} but ${root}/cluster.json lists ${plural(cluster.shards, 'shard')}`, path });
  return { root, cluster: cluster.name, shard, shards: cluster.shards };
}

/**
 * The replica's write-log position (the write side's LogApplier satisfies it): how far it applied
 * its shard's stream, and a bounded wait for a sequence (read-your-writes).
 */
export interface AppliedLog {
  readonly applied: { readonly value: number };
  waitFor(sequence: number, options: { timeoutMs: number }): Promise<{ reached: boolean; applied: number }>;
  /** What it did with a transaction it applied since it started (a writer's `--wait` asks through ping). */
  transaction?(txn: string): TransactionApplied | undefined;
}

export class ShardReplica {
  private readonly subs: Subscription[] = [];
  private closed = false;
  /** The write log this replica applies, once attached (attachLog). */
  private log: AppliedLog | null = null;

  private constructor(
    readonly nc: NatsConnection,
    readonly index: PlaitIndex,
    readonly subjects: ClusterSubjects,
    readonly shard: number,
    readonly shards: number,
    private readonly codebook: string,
  ) {}

  /**
   * Joins the cluster as a replica of the shard `index` is (its folder must be `<root>/shard-<i>`).
   * @throws PlaitError INVALID_ARGUMENT / INDEX_CORRUPT (not a shard of a cluster), MODEL_MISMATCH
   * (built with another codebook or model than cluster.json records: shard-mismatch.ts), CLUSTER_UNAVAILABLE (NATS unreachable).
   */
  static async start(index: PlaitIndex, options: ShardReplicaOptions): Promise<ShardReplica> {
    checkOptionKeys(options, SHARD_REPLICA_OPTION_KEYS, 'ShardReplica option');
    checkShape('index', index, 'an open PlaitIndex (from openIndex)', ['path']);
    checkObject('options', options, 'ShardReplica options');
    const where = shardOfFolder(index.path);
    const manifest = readClusterManifest(where.root);
    const codebook = codebookChecksum(index.scoringArrays.centroids, index.manifest.codec);
    const mismatch = shardMismatch(`${index.path} (shard ${where.shard})`, `${where.root}/cluster.json`, shardDifferences(manifest, { codebook, model: index.manifest.model }), where.shard);
    if (mismatch !== null) throw mismatch;
    const subjects = clusterSubjects(where.cluster);
    const nc = await natsConnect(options.servers, options.name ?? `plait-${where.cluster}-shard-${where.shard}`);
    const r = new ShardReplica(nc, index, subjects, where.shard, where.shards, codebook);
    r.listen();
    await nc.flush();
    return r;
  }

  private listen(): void {
    const prefix = this.subjects.shardService(this.shard);
    const queue = this.subjects.shardQueue(this.shard);
    const serve = (verb: string, grouped: boolean, handle: (data: Uint8Array) => Promise<unknown> | unknown): void => {
      this.subs.push(
        this.nc.subscribe(`${prefix}.${verb}`, {
          ...(grouped ? { queue } : {}),
          callback: (err, msg) => {
            if (err !== null) return;
            void this.answer(msg, handle);
          },
        }),
      );
    };
    serve('info', true, () => this.info());
    serve('stats', true, (d) => this.stats(decodeMessage<StatsRequest>(d)));
    serve('search', true, (d) => this.search(decodeMessage<SearchRequest>(d)));
    serve('explain', true, (d) => this.explain(decodeMessage<ExplainRequest>(d)));
    serve('rerank', true, (d) => this.rerank(decodeMessage<RerankRequest>(d)));
    serve('bm25', true, (d) => this.bm25(decodeMessage<Bm25Request>(d)));
    serve('passages', true, (d) => this.passages(decodeMessage<PassagesRequest>(d)));
    serve('documents', true, (d) => this.documents(decodeMessage<DocumentsRequest>(d)));
    serve('positions', true, (d) => this.positions(decodeMessage<PassagesRequest>(d)));
    serve('tokenize', true, (d) => this.tokenize(decodeMessage<TokenizeRequest>(d)));
    serve('vocabulary', true, (d) => this.vocabulary(decodeMessage<VocabularyRequest>(d)));
    serve('feedback', true, (d) => this.feedback(decodeMessage<DocumentsRequest>(d)));
    serve('codes', true, (d) => this.codes(decodeMessage<PassagesRequest>(d)));
    serve('cells', true, (d) => this.cells(decodeMessage<VocabularyRequest>(d)));
    serve('filter', true, (d) => this.filterMatches(decodeMessage<FilterRequest>(d)));
    serve('types', true, (d) => this.fieldTypes(decodeMessage<TypesRequest>(d)));
    serve('highlights', true, (d) => this.highlights(decodeMessage<HighlightsRequest>(d)));
    serve('ping', false, (d): PingReply => {
      const txn = d.length === 0 ? undefined : decodeMessage<PingRequest>(d).txn;
      return { shard: this.shard, pid: process.pid, applied: this.log?.applied.value ?? null, ...(typeof txn === 'string' ? { transaction: this.log?.transaction?.(txn) ?? null } : {}) };
    });
  }

  /** From now on, requests naming a write-log sequence wait for this log to apply it. */
  attachLog(log: AppliedLog): void {
    this.log = log;
  }

  /**
   * Read-your-writes: waits until the attached log applied `sequence`, at most until `deadlineAt`.
   * @throws PlaitError TIMEOUT when it did not (the coordinator then reports this shard missing),
   * INVALID_ARGUMENT when a sequence is asked of a replica that applies no log.
   */
  private async awaitSequence(sequence: number | undefined, deadlineAt: number): Promise<void> {
    if (sequence === undefined || sequence <= 0) return;
    if (this.log === null) throw new PlaitError('INVALID_ARGUMENT', { message: `shard ${this.shard}'s replica applies no write log, so it cannot wait for sequence ${sequence}`, name: 'min_sequences' });
    const r = await this.log.waitFor(sequence, { timeoutMs: Math.max(0, Math.floor(deadlineAt - Date.now())) });
    if (!r.reached) throw new PlaitError('TIMEOUT', { message: `shard ${this.shard}'s replica applied its write log up to ${r.applied}, not ${sequence}, by the deadline`, required: sequence, applied: r.applied });
  }

  private async answer(msg: Msg, handle: (data: Uint8Array) => Promise<unknown> | unknown): Promise<void> {
    let reply: unknown;
    try {
      reply = { ok: true, ...((await handle(msg.data)) as object) };
    } catch (err) {
      reply = errorReply(err);
    }
    if (!this.closed) msg.respond(encodeMessage(reply));
  }

  /**
   * How many live documents of this shard `req.filter` matches, why none when none, and the type
   * counts of the fields it compares (for FILTER_TYPE_MIXED over the corpus): a filter delete's
   * preview, filter-preview.ts.
   * @throws PlaitError INVALID_FILTER.
   */
  filterMatches(req: FilterRequest): FilterReply {
    const store = this.index.docstore;
    const c = compileFilter(req.filter);
    const matches = store.filterRowids(c.where, c.params).length;
    return { matches, ...(matches === 0 ? { filterWarnings: noMatchWarnings(c.source, store.fieldCatalogue()) } : {}), filterTypes: comparedFieldTypes(c.source, store.metadataTypes()) };
  }

  /**
   * This shard's live documents per scalar JSON type of `req.fields` now (with `req.examples`, an
   * example docId each): a waited cluster add sums them over the shards (replica-wait.ts
   * clusterAddTypes). Costs a read of the store's type counts (cached per generation); examples, a
   * search of the documents per type held (until one is found), are asked only when the sum warns.
   * @throws PlaitError INVALID_ARGUMENT (fields not an array of strings), DOCSTORE_FAILED.
   */
  fieldTypes(req: TypesRequest): TypesReply {
    if (!Array.isArray(req.fields) || !req.fields.every((f) => typeof f === 'string')) throw new PlaitError('INVALID_ARGUMENT', { message: 'Expected an array of field names for fields', name: 'fields' });
    const store = this.index.docstore;
    const now = store.metadataTypes();
    return {
      fieldTypes: fieldTypeChanges(req.fields, now, now, (field, type) => {
        if (req.examples !== true) return undefined;
        const id = store.typeExample(field, type);
        return id === undefined ? undefined : { id, added: false };
      }),
    };
  }

  info(): ShardInfo {
    const m = this.index.manifest;
    return { shard: this.shard, shards: this.shards, cluster: this.subjects.cluster, manifest: m, codebook: this.codebook, commit: commitIdOf(m), pid: process.pid };
  }

  /** This shard's share of the corpus statistics of a batch of queries (shard-protocol.ts). */
  async stats(req: StatsRequest): Promise<StatsReply> {
    await this.awaitSequence(req.minSequence, req.deadlineAt ?? Date.now());
    const store = this.index.docstore;
    const totals = store.bm25Totals();
    const tokens = store.tokenDf();
    return {
      documents: totals.documents,
      totalLength: totals.totalLength,
      passages: tokens.n,
      commit: commitIdOf(this.index.manifest),
      termDf: req.queries.map((q) => {
        if (q.text === null && (q.terms === undefined || q.terms === null)) return {};
        const terms = q.terms ?? [...store.bm25Query(q.text!).terms.keys()];
        const df = store.termDf(terms);
        return Object.fromEntries(terms.map((t, i) => [t, df[i]!]));
      }),
      tokenDf: req.queries.map((q) => (q.tokenIds === null ? null : bytesOf(Int32Array.from(int32Of(q.tokenIds), (t) => (t >= 0 && t < tokens.df.length ? tokens.df[t]! : 0))))),
    };
  }

  /** Each query searched on this shard with the corpus statistics it came with. */
  async search(req: SearchRequest): Promise<SearchReply> {
    const timeoutMs = req.deadlineAt - Date.now();
    if (!(timeoutMs > 0)) throw new PlaitError('TIMEOUT', { message: 'the request reached the shard after its deadline' });
    await this.awaitSequence(req.minSequence, req.deadlineAt);
    const results: ShardQueryResult[] = [];
    for (const q of req.queries) {
      const embedding = q.embedding === null ? null : fromWireEmbedding(q.embedding);
      const globalStats = globalStatsOf(q.stats);
      // ColBERT-PRF's second pass: the coordinator's chosen centroids appended to the query.
      const prf = q.prf === undefined ? {} : { prfRows: fromWirePrfRows(q.prf) };
      const applied = q.prf === undefined ? {} : { prf: true as const };
      // A query the coordinator rewrote (spelling, synonyms): BM25 searches its terms; the embedding is of its rewritten text.
      const rewritten = q.bm25Terms === undefined ? {} : { rewritten: [{ lateText: q.text, bm25: { terms: new Map(q.bm25Terms), tokens: [] }, rewrites: [] }] };
      const base: EncodedSearchOptions = { ...req.options, ...rewritten, ...prf, globalStats, timeoutMs: Math.max(1, req.deadlineAt - Date.now()) };
      const mode = req.options.mode;
      // The counts of the fields the filter compares, for the coordinator's FILTER_TYPE_MIXED over the corpus.
      const filterTypes = req.options.filter === undefined ? {} : { filterTypes: comparedFieldTypes(req.options.filter, this.index.docstore.metadataTypes()) };
      // The coordinator sends its resolved settings whole (PLAID's, fusion's): each search here takes
      // only what applies to its mode (option-scope.ts), as a hybrid search splits into late and BM25.
      const late = (o: EncodedSearchOptions) =>
        this.index.searchEncodedBatch([q.text], embedding === null ? [] : [embedding], applicableSearchOptions(o, searchShape(o, this.index.manifest.model.defaultMode))).then((r) => r[0]!);
      if (mode !== 'hybrid') {
        const r = await late(base);
        results.push({ hits: r.hits, ...(r.emptyReason === undefined ? {} : { emptyReason: r.emptyReason }), ...(r.generation === undefined ? {} : { generation: r.generation }), ...applied, timings: { lateMs: r.timings.lateMs, bm25Ms: r.timings.bm25Ms }, ...(r.filterWarnings === undefined ? {} : { filterWarnings: r.filterWarnings }), ...filterTypes, ...(r.totalHits === undefined ? {} : { totalHits: r.totalHits }) });
        continue;
      }
      // Hybrid: the two lists fusion takes at the single index's depth, and the exact late scores
      // of the BM25-only documents (hybrid.ts); the coordinator fuses over the merged lists.
      const depth = Math.min(SEARCH_DEFAULTS.maxTopK, hybridDepth(req.options.topK ?? SEARCH_DEFAULTS.topK));
      // The late list scores on the index's workers while BM25 runs here.
      const [lateList, bm] = await Promise.all([late({ ...base, mode: 'late', topK: depth }), late({ ...base, mode: 'bm25', topK: depth })]);
      const have = new Set(lateList.hits.map((h) => h.docId));
      const missing = bm.hits.filter((h) => !have.has(h.docId)).map((h) => h.docId);
      const extraStart = performance.now();
      const extraLate = embedding === null || missing.length === 0 ? [] : await this.index.rerankEncoded(embedding, missing, { ...(req.options.idfWeighting === undefined ? {} : { idfWeighting: req.options.idfWeighting }), includeText: req.options.includeText ?? false, globalStats, ...prf });
      results.push({
        hits: lateList.hits,
        bm25: bm.hits,
        extraLate,
        ...(lateList.emptyReason === undefined ? {} : { emptyReason: lateList.emptyReason }),
        ...(lateList.filterWarnings === undefined ? {} : { filterWarnings: lateList.filterWarnings }),
        ...filterTypes,
        ...(lateList.generation === undefined ? {} : { generation: lateList.generation }),
        // Hybrid ranks what late interaction ranks: every document (the filter's), as on one index.
        ...(lateList.totalHits === undefined ? {} : { totalHits: lateList.totalHits }),
        ...applied,
        timings: { lateMs: lateList.timings.lateMs + (performance.now() - extraStart), bm25Ms: bm.timings.bm25Ms },
      });
    }
    return { results, commit: commitIdOf(this.index.manifest) };
  }

  /** A document's explanation with the corpus statistics (no fused parts: the coordinator adds them). */
  async explain(req: ExplainRequest): Promise<{ explanation: Explanation }> {
    await this.awaitSequence(req.minSequence, req.deadlineAt);
    const rewritten = req.rewritten === undefined ? {} : { rewritten: { lateText: req.rewritten.lateText, bm25: { terms: new Map(req.rewritten.bm25Terms), tokens: [] }, rewrites: req.rewritten.rewrites } };
    return { explanation: await this.index.explain(req.query, req.docId, { ...req.options, ...rewritten, globalStats: globalStatsOf(req.stats) }) };
  }

  /** Exact late scores of this shard's listed documents, with the corpus's token IDF (a pipeline's late stage). */
  async rerank(req: RerankRequest): Promise<RerankReply> {
    await this.awaitSequence(req.minSequence, req.deadlineAt);
    const options = { globalStats: globalStatsOf(req.stats), ...(req.idfWeighting === undefined ? {} : { idfWeighting: req.idfWeighting }) };
    return { hits: await this.index.rerankEncoded(fromWireEmbedding(req.embedding), req.docIds, options) };
  }

  /** BM25 scores of this shard's listed documents with the corpus's statistics (a pipeline's bm25 stage). */
  async bm25(req: Bm25Request): Promise<Bm25Reply> {
    await this.awaitSequence(req.minSequence, req.deadlineAt);
    return { scores: Array.from(bm25ScoresOf(this.index, req.text, req.docIds, req.stats.bm25)) };
  }

  /** The passage texts a pipeline's cross stage reads. */
  async passages(req: PassagesRequest): Promise<PassagesReply> {
    await this.awaitSequence(req.minSequence, req.deadlineAt);
    const { texts, pids } = passageTexts(this.index, req.refs);
    return { texts, pids: Array.from(pids) };
  }

  /** Passage positions in their documents (a pipeline's ltr stage: best_passage). */
  async positions(req: PassagesRequest): Promise<PositionsReply> {
    await this.awaitSequence(req.minSequence, req.deadlineAt);
    return { positions: Array.from(passagePositions(this.index, req.refs)) };
  }

  /** A query as this store's BM25 reads it, and other texts' BM25 terms (the coordinator's query rewriting). */
  tokenize(req: TokenizeRequest): TokenizeReply {
    const store = this.index.docstore;
    const q = req.query === null ? null : store.bm25Query(req.query, { stopwords: ENGLISH_STOPWORDS });
    return { schemaVersion: store.schemaVersion, query: q === null ? null : { terms: [...q.terms], tokens: q.tokens }, terms: req.texts.map((t) => store.bm25TermsOf(t)) };
  }

  /** This shard's word vocabulary with document frequencies, and the commit it is of. */
  async vocabulary(req: VocabularyRequest): Promise<VocabularyReply> {
    await this.awaitSequence(req.minSequence, req.deadlineAt);
    const v = this.index.docstore.wordVocabulary();
    return { commit: commitIdOf(this.index.manifest), words: v.words, df: bytesOf(v.df) };
  }

  /** RM3's term counts of listed feedback documents (the coordinator combines them, rewrite/rm3.ts). */
  async feedback(req: DocumentsRequest): Promise<FeedbackReply> {
    await this.awaitSequence(req.minSequence, req.deadlineAt);
    return { docs: feedbackTerms(this.index.docstore, req.docIds, ENGLISH_STOPWORDS).map((t) => (t === null ? null : { tf: [...t.tf], total: t.total })) };
  }

  /** ColBERT-PRF: token counts per centroid cell of listed feedback passages of this shard (a ref whose pid is not its document's passage any more counts nothing). */
  async codes(req: PassagesRequest): Promise<CodesReply> {
    await this.awaitSequence(req.minSequence, req.deadlineAt);
    const positions = passagePositions(this.index, req.refs);
    const counts = prfCodeCounts(this.index.scoringArrays, req.refs.flatMap((r, i) => (positions[i]! < 0 ? [] : [r.pid])));
    return { centroids: bytesOf(Int32Array.from(counts.keys())), counts: bytesOf(Int32Array.from(counts.values())) };
  }

  /** ColBERT-PRF: this shard's IVF cell sizes and passages (the coordinator sums them into df(c) and N), with the commit they are of. */
  async cells(req: VocabularyRequest): Promise<CellsReply> {
    await this.awaitSequence(req.minSequence, req.deadlineAt);
    const a = this.index.scoringArrays;
    return { commit: commitIdOf(this.index.manifest), passages: a.doclens.length, sizes: bytesOf(prfCellSizes(a)) };
  }

  /**
   * The highlights of this shard's hits on a merged page (the coordinator's round after the merge):
   * per query, as this index's own search would give them (PlaitIndex.highlightHits), the query
   * weighted with the corpus's token IDF and ColBERT-PRF's rows as the search round weighted it.
   * @throws PlaitError INVALID_ARGUMENT (bad options), TIMEOUT (the deadline passed, or read-your-writes not reached by it).
   */
  async highlights(req: HighlightsRequest): Promise<HighlightsReply> {
    if (!(req.deadlineAt - Date.now() > 0)) throw new PlaitError('TIMEOUT', { message: 'the request reached the shard after its deadline' });
    await this.awaitSequence(req.minSequence, req.deadlineAt);
    const out: HighlightsReply['highlights'] = [];
    for (const q of req.queries) {
      const bm25 = q.bm25Terms !== undefined ? { terms: new Map(q.bm25Terms), tokens: q.bm25Tokens ?? [] } : (q.bm25Text ?? null);
      out.push(
        await this.index.highlightHits(
          q.refs,
          {
            lateText: q.lateText,
            embedding: q.embedding === null ? null : fromWireEmbedding(q.embedding),
            idfWeighting: req.idfWeighting,
            globalStats: globalStatsOf(q.stats),
            ...(q.prf === undefined ? {} : { prfRows: fromWirePrfRows(q.prf) }),
            bm25,
          },
          req.options,
        ),
      );
      if (Date.now() > req.deadlineAt) throw new PlaitError('TIMEOUT', { message: `shard ${this.shard}'s highlights ran past the deadline` });
    }
    return { highlights: out };
  }

  /** Stored documents (title, text, metadata), for a pipeline's includeText. */
  async documents(req: DocumentsRequest): Promise<DocumentsReply> {
    await this.awaitSequence(req.minSequence, req.deadlineAt);
    return { documents: this.index.docstore.getDocuments(req.docIds).map((d) => (d === null ? null : { title: d.title, text: d.text, metadata: d.metadata })) };
  }

  /** Leaves the queue group (in-flight answers are still sent) and closes the connection; the index stays open. */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const s of this.subs) s.unsubscribe();
    await closeNats(this.nc);
    this.closed = true;
  }
}

function globalStatsOf(w: WireStats): GlobalStats {
  return {
    ...(w.bm25 === undefined ? {} : { bm25: w.bm25 }),
    ...(w.tokenIdf === undefined ? {} : { tokenIdf: { passages: w.tokenIdf.passages, df: int32Of(w.tokenIdf.df) } }),
  };
}

/**
 * Leaves NATS: drains (in-flight answers and acks are sent), then closes the connection whatever the
 * drain did. While the server is unreachable the drain fails or waits for a reconnect; a connection
 * left open then keeps reconnecting, and its timers kept a stopped replica's process alive for good
 * (SIGTERM during a NATS outage logged "closed" and never exited). The drain waits at most
 * CLUSTER_DEFAULTS.natsDrainWaitMs.
 */
export async function closeNats(nc: NatsConnection): Promise<void> {
  if (nc.isClosed()) return;
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, CLUSTER_DEFAULTS.natsDrainWaitMs);
  });
  await Promise.race([nc.drain().catch(() => {}), waited]);
  clearTimeout(timer);
  if (!nc.isClosed()) await nc.close().catch(() => {});
}

/**
 * A NATS connection that keeps reconnecting (a restarted server is found again).
 * @throws PlaitError CLUSTER_UNAVAILABLE when the first connection fails (`details.reason` `natsUnreachable`, `details.url`).
 */
export async function natsConnect(servers: string | string[], name: string): Promise<NatsConnection> {
  try {
    return await natsCore().connect({ servers, name, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  } catch (err) {
    throw new PlaitError('CLUSTER_UNAVAILABLE', { message: `cannot reach the NATS server at ${([] as string[]).concat(servers).join(', ')}: ${(err as Error).message}`, url: ([] as string[]).concat(servers).join(','), reason: 'natsUnreachable' }, { cause: err });
  }
}
