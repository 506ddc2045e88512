/**
 * Query rewriting at a cluster's coordinator: spelling correction and synonyms, computed once per
 * query with the library's own `QueryRewriter` over a `RewriteSource` whose answers come from the
 * shards, so that a query is rewritten exactly as one index over the whole corpus rewrites it:
 *
 *   1. `tokenize` (any one shard: a build's shards share tokenizer and stemmer; shard 0 first, the
 *      next one too when it is slow, the first answer winning) reads the query as the store's BM25
 *      does, and gives the BM25 terms of synonym phrases not seen before;
 *   2. `stats` (every shard) sums the document frequency of each of the query's terms and reports
 *      each shard's commit id; a shard whose commit changed sends its word vocabulary again
 *      (`vocabulary`), and the summed vocabulary (and the spelling index built on it) is replaced;
 *   3. the rewriter runs; the BM25 terms of the words it corrected to, when not known yet, are asked
 *      of a shard (`tokenize`) and it runs again (pure: same answer, now with their terms).
 * The words and phrases tokenised are kept (a build's tokenizer does not change). A shard missing
 * from step 2 — no `stats` answer by `statsDue`, or no `vocabulary` of the commit it reported — is
 * left out of the sums (its old vocabulary, or none, stands), and the rewrite names it in
 * `missingShards`: the search that follows may well hear every shard, so without it the answer
 * would not say that its spelling correction may differ from one index's (it said nothing until the
 * test cluster-unheard-shards.test.ts). RM3 and ColBERT-PRF are expanded during the search (ClusterIndex).
 */
import { PlaitError } from '../errors/index.js';
import { ENGLISH_STOPWORDS } from '../docstore/bm25-terms.js';
import type { Bm25Query, WordVocabulary } from '../docstore/docstore-reader.js';
import type { Bm25Options } from '../docstore/bm25.js';
import { QueryRewriter, type ResolvedRewrite, type RewriteSource, type RewrittenQuery } from '../rewrite/query-rewriter.js';
import type { ShardClient, ShardOutcome } from './shard-client.js';
import { CLUSTER_DEFAULTS } from '../config/defaults.js';
import { abortError } from '../search/deadline.js';
import { int32Of, type StatsReply, type TokenizeReply, type VocabularyReply } from './shard-protocol.js';

/** The deadline and read-your-writes of one rewrite's shard calls. */
export interface RewriteCall {
  /** Epoch ms by which the rewrite must be done. */
  due: number;
  /**
   * Epoch ms by which the statistics round ends (before `due`): a shard without a live replica
   * must not take the time the vocabulary and tokenising rounds after it need.
   */
  statsDue: number;
  /** Per shard, the write-log sequence to have applied first (0: none). */
  minSequence: readonly number[];
  signal?: AbortSignal;
}

/** A RewriteSource answering from what the coordinator fetched; asked for anything else it throws (a bug, never a guess). */
class FetchedSource implements RewriteSource {
  schemaVersion = 3;
  /** Texts asked for during a run that were not fetched (the rewriter then runs again). */
  readonly missing = new Set<string>();
  recordMissing = false;
  private query: { text: string; bm25: Bm25Query } | null = null;
  private df = new Map<string, number>();

  constructor(
    private readonly vocabulary: WordVocabulary,
    /** BM25 terms of texts tokenised so far (synonym phrases, corrections), shared by every source of the coordinator. */
    private readonly terms: ReadonlyMap<string, string[]>,
  ) {}

  /** The current query's BM25 reading and its terms' corpus dfs (set right before a synchronous run). */
  setQuery(text: string, bm25: Bm25Query, df: Map<string, number>): void {
    this.query = { text, bm25 };
    this.df = df;
  }

  bm25Query(text: string, options: Bm25Options = {}): Bm25Query {
    if (this.query?.text !== text || options.stopwords !== ENGLISH_STOPWORDS) throw notFetched(`the BM25 reading of "${text}"`);
    return { terms: new Map(this.query.bm25.terms), tokens: this.query.bm25.tokens };
  }

  bm25TermsOf(text: string): string[] {
    const t = this.terms.get(text);
    if (t !== undefined) return t;
    if (!this.recordMissing) throw notFetched(`the BM25 terms of "${text}"`);
    this.missing.add(text);
    return [];
  }

  termDf(terms: readonly string[]): number[] {
    return terms.map((t) => {
      const df = this.df.get(t);
      if (df === undefined) throw notFetched(`the document frequency of "${t}"`);
      return df;
    });
  }

  wordVocabulary(): WordVocabulary {
    return this.vocabulary;
  }
}

function notFetched(what: string): PlaitError {
  return new PlaitError('INTERNAL', { message: `cluster query rewriting: ${what} was not fetched from the shards` });
}

export class ClusterRewriter {
  /** Each shard's vocabulary and the commit it is of (null: none fetched yet). */
  private readonly vocabularies: ({ commit: string; vocabulary: WordVocabulary } | null)[];
  /**
   * BM25 terms of every text tokenised so far (a build's tokenizer does not change). Shared by
   * concurrent rewrites: a text is stored before any rewrite that asked for it runs.
   */
  private readonly terms = new Map<string, string[]>();
  private current: { source: FetchedSource; rewriter: QueryRewriter<FetchedSource> };

  constructor(private readonly shards: ShardClient) {
    this.vocabularies = Array.from({ length: shards.shards }, () => null);
    this.current = this.rewriterOn({ words: [], df: new Int32Array(0) });
  }

  /**
   * `query` with spelling corrected and synonyms applied, as one index over the corpus rewrites it;
   * with `missingShards` (ascending shard numbers) when spelling could not hear every shard.
   * @throws PlaitError CLUSTER_UNAVAILABLE when no shard answers `tokenize` by the deadline.
   */
  async rewrite(query: string, r: ResolvedRewrite, call: RewriteCall): Promise<RewrittenQuery> {
    const phrases = (r.synonyms?.rules ?? []).flatMap((rule) => [rule.from, ...rule.to]).filter((p) => !this.terms.has(p));
    const tok = await this.tokenize(query, [...new Set(phrases)], call);
    const bm25: Bm25Query = { terms: new Map(tok.query!.terms), tokens: tok.query!.tokens };
    const terms = [...new Set(bm25.tokens.map((t) => t.term))];
    // The dfs and the vocabulary serve spelling only.
    const df = new Map<string, number>(terms.map((t) => [t, 0]));
    let unheard: number[] = [];
    if (r.spelling) {
      const outcomes = await this.shards.scatter<StatsReply>('stats', (s) => ({ queries: [{ text: null, terms, tokenIds: null }], minSequence: call.minSequence[s]!, deadlineAt: call.statsDue }), call.statsDue, call.signal);
      for (const o of outcomes) if (o.ok) for (const [t, n] of Object.entries(o.value.termDf[0] ?? {})) df.set(t, (df.get(t) ?? 0) + n);
      const commits = outcomes.map((o) => (o.ok ? (o.value.commit ?? null) : null));
      await this.refreshVocabulary(commits, call);
      // Heard: its dfs came and the vocabulary summed is of the commit it reported (a failed fetch keeps an older one, or none).
      unheard = commits.flatMap((c, s) => (c !== null && this.vocabularies[s]?.commit === c ? [] : [s]));
    }
    const { source, rewriter } = this.current;
    source.schemaVersion = tok.schemaVersion;
    const run = (): RewrittenQuery => {
      source.setQuery(query, bm25, df);
      return rewriter.rewrite(query, r, ENGLISH_STOPWORDS);
    };
    source.recordMissing = true;
    source.missing.clear();
    let out = run();
    source.recordMissing = false;
    if (source.missing.size > 0) {
      await this.tokenize(null, [...source.missing], call);
      out = run();
    }
    return unheard.length === 0 ? out : { ...out, missingShards: unheard };
  }

  /**
   * One shard's `tokenize` answer, its texts' terms kept. Shard 0 is asked first; when it has not
   * answered within CLUSTER_DEFAULTS.tokenizeHedgeMs, or failed, the next shard is asked too (the
   * earlier still waited for), and so on: the first answer wins and the others are given up. Asked
   * in turn, each until the deadline, a slow shard 0 left no time for shard 1, and every rewriting
   * search failed (test/cluster-slow-rounds.test.ts).
   * @throws PlaitError CLUSTER_UNAVAILABLE (no shard answered by `call.due`), the caller's abort reason.
   */
  private async tokenize(query: string | null, texts: string[], call: RewriteCall): Promise<TokenizeReply> {
    const n = this.shards.shards;
    // The attempts' own signal: the caller's abort, or the first answer, ends them all.
    const stop = new AbortController();
    const onCaller = (): void => stop.abort();
    call.signal?.addEventListener('abort', onCaller, { once: true });
    if (call.signal?.aborted === true) stop.abort();
    const pending = new Map<number, Promise<ShardOutcome<TokenizeReply>>>();
    let hedge: ReturnType<typeof setTimeout> | undefined;
    try {
      for (let next = 0; ; ) {
        if (next < n && !stop.signal.aborted) {
          pending.set(next, this.shards.request<TokenizeReply>(next, 'tokenize', { query, texts, deadlineAt: call.due }, call.due, stop.signal));
          next++;
        }
        if (pending.size === 0) break;
        const wait = next < n ? new Promise<null>((resolve) => (hedge = setTimeout(() => resolve(null), CLUSTER_DEFAULTS.tokenizeHedgeMs))) : null;
        const o = await Promise.race([...pending.values(), ...(wait === null ? [] : [wait])]);
        clearTimeout(hedge);
        // No answer within the hedge: the next shard is asked too.
        if (o === null) continue;
        pending.delete(o.shard);
        if (!o.ok) continue;
        texts.forEach((t, i) => this.terms.set(t, o.value.terms[i]!));
        return o.value;
      }
    } finally {
      clearTimeout(hedge);
      call.signal?.removeEventListener('abort', onCaller);
      stop.abort();
    }
    if (call.signal?.aborted === true) throw abortError(call.signal);
    throw new PlaitError('CLUSTER_UNAVAILABLE', { message: 'no shard answered to tokenise the query for rewriting', shards: Array.from({ length: n }, (_, s) => s) });
  }

  /** Fetches the vocabulary of each shard whose commit changed; a new sum (and spelling index) when any did. */
  private async refreshVocabulary(commits: (string | null)[], call: RewriteCall): Promise<void> {
    const stale = commits.flatMap((c, s) => (c !== null && this.vocabularies[s]?.commit !== c ? [s] : []));
    if (stale.length === 0) return;
    const got = await Promise.all(stale.map((s) => this.shards.request<VocabularyReply>(s, 'vocabulary', { deadlineAt: call.due, minSequence: call.minSequence[s]! }, call.due, call.signal)));
    let changed = false;
    for (const o of got) {
      if (!o.ok) continue;
      this.vocabularies[o.shard] = { commit: o.value.commit, vocabulary: { words: o.value.words, df: int32Of(o.value.df) } };
      changed = true;
    }
    if (!changed) return;
    const sum = new Map<string, number>();
    for (const v of this.vocabularies) v?.vocabulary.words.forEach((w, i) => sum.set(w, (sum.get(w) ?? 0) + v.vocabulary.df[i]!));
    const words = [...sum.keys()].sort();
    this.current = this.rewriterOn({ words, df: Int32Array.from(words, (w) => sum.get(w)!) });
  }

  private rewriterOn(vocabulary: WordVocabulary): { source: FetchedSource; rewriter: QueryRewriter<FetchedSource> } {
    const source = new FetchedSource(vocabulary, this.terms);
    return { source, rewriter: new QueryRewriter(source) };
  }
}
