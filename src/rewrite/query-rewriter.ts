/**
 * Query rewriting before ranking: spelling correction against the index's vocabulary, synonyms,
 * and RM3 feedback for BM25 (ColBERT-PRF, the late side's feedback, is in search/colbert-prf.ts:
 * it needs the index's codes). A rewrite yields:
 * - the BM25 query (terms as the store indexes them, with weights);
 * - the text the late-interaction side encodes (the corrected words in place, synonyms' words
 *   appended as extra query tokens);
 * - the list of rewrites, reported in search results, `plait explain` and the server's responses,
 *   so a user sees what was searched.
 * Everything is tokenised by the document store's own SQLite tokenizer (schema 3 stores); on an
 * older store spelling and RM3 are refused (INVALID_ARGUMENT: rebuild the index to gain them) and
 * synonyms skipped, the query searched as typed.
 */

import type { Bm25Query, DocStoreReader } from '../docstore/docstore-reader.js';
import { PlaitError, invalidArgument } from '../errors/index.js';
import { SpellingCorrector } from './spelling.js';
import type { SynonymMap } from './synonyms.js';
import { resolveRm3, rm3Expand, type ResolvedRm3, type Rm3Options } from './rm3.js';
import { resolvePrf, type PrfOptions, type ResolvedPrf } from './prf-options.js';

/**
 * What was rewritten. `from` and `to` are words or phrases (spelling, synonym) or term lists with
 * weights (rm3, prf); a spelling correction's `from` is the word as the query has it ("Braed",
 * "Über"), not as the store folds it.
 */
export interface QueryRewrite {
  kind: 'spelling' | 'synonym' | 'rm3' | 'prf';
  from: string;
  to: string;
}

/** Rewrite options of a search (all optional; SearchOptions.rewrite). */
export interface RewriteOptions {
  /** Correct unknown or very rare words against the index's vocabulary (default false; see bench/RESULTS.md "Query rewriting"). */
  spelling?: boolean;
  /** Synonyms (parseSynonyms / readSynonyms), applied to BM25 and as extra late-interaction query tokens (default none). */
  synonyms?: SynonymMap | null;
  /** RM3 feedback for BM25: true for Anserini's defaults, or its parameters (default off). */
  rm3?: boolean | Rm3Options;
  /** ColBERT-PRF feedback for late interaction (search/colbert-prf.ts): true for its defaults, or its parameters (default off). */
  prf?: boolean | PrfOptions;
}

export interface ResolvedRewrite {
  spelling: boolean;
  synonyms: SynonymMap | null;
  rm3: ResolvedRm3 | null;
  prf: ResolvedPrf | null;
}

export const NO_REWRITE: ResolvedRewrite = { spelling: false, synonyms: null, rm3: null, prf: null };

const REWRITE_KEYS = ['spelling', 'synonyms', 'rm3', 'prf'] as const;

/**
 * Validates and fills in rewrite options.
 * @throws PlaitError INVALID_ARGUMENT for an unknown key (a typo such as `speling` would otherwise
 * silently do nothing), a non-boolean `spelling`, or `synonyms` that are not a parsed SynonymMap.
 */
export function resolveRewrite(options: RewriteOptions | undefined): ResolvedRewrite {
  if (options === undefined) return NO_REWRITE;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalidArgument('rewrite', 'an object of rewrite options', options);
  const unknown = Object.keys(options).find((k) => !(REWRITE_KEYS as readonly string[]).includes(k));
  if (unknown !== undefined) throw invalidArgument(`rewrite.${unknown}`, `one of the rewrite options (${REWRITE_KEYS.join(', ')})`, unknown);
  if (options.spelling !== undefined && typeof options.spelling !== 'boolean') throw invalidArgument('rewrite.spelling', 'a boolean', options.spelling);
  const syn = options.synonyms as unknown;
  if (syn !== undefined && syn !== null && !(typeof syn === 'object' && Array.isArray((syn as { rules?: unknown }).rules))) {
    throw invalidArgument('rewrite.synonyms', 'a SynonymMap from parseSynonyms or readSynonyms', syn);
  }
  for (const k of ['rm3', 'prf'] as const) {
    const v = options[k] as unknown;
    if (v !== undefined && typeof v !== 'boolean' && (v === null || typeof v !== 'object')) throw invalidArgument(`rewrite.${k}`, 'a boolean or an options object', v);
  }
  return {
    spelling: options.spelling ?? false,
    synonyms: options.synonyms ?? null,
    rm3: options.rm3 === undefined || options.rm3 === false ? null : resolveRm3(options.rm3),
    prf: options.prf === undefined || options.prf === false ? null : resolvePrf(options.prf),
  };
}

export function rewriteActive(r: ResolvedRewrite): boolean {
  return r.spelling || (r.synonyms !== null && r.synonyms.rules.length > 0) || r.rm3 !== null || r.prf !== null;
}

/** A query after spelling and synonyms (RM3 comes later, on the BM25 side only). */
export interface RewrittenQuery {
  /** The text the late-interaction side encodes. */
  lateText: string;
  bm25: Bm25Query;
  rewrites: QueryRewrite[];
  /**
   * A cluster coordinator's rewrite only (src/cluster/cluster-rewrite.ts): the shards, ascending,
   * whose spelling statistics it lacks — their term dfs did not come by the statistics round's end,
   * or their word vocabulary of the commit they reported could not be fetched — so its spelling
   * correction may differ from one index's over the same corpus. A search given this rewrite
   * reports them in `missingShards` (`degraded`), an explain fails with CLUSTER_UNAVAILABLE naming
   * them. Absent when every shard was heard, and always on one index.
   */
  missingShards?: number[];
}

const WORD_EDGE = '[\\p{L}\\p{N}\\p{M}]';

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `s` folded as the store's tokenizer folds a word: lower case, diacritics removed ("Über" → "uber"). */
function foldWord(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/**
 * The first whole-word occurrence of `word` in `text` (as the store folds it: case and diacritics
 * aside), as typed, with its offset; null when absent. A word typed with diacritics ("über", folded
 * "uber") had not been found, so the late side kept it and appended the correction while BM25 replaced it.
 */
function findWord(text: string, word: string): { typed: string; at: number } | null {
  const re = new RegExp(`(?<!${WORD_EDGE})${escapeRegExp(word)}(?!${WORD_EDGE})`, 'iu');
  const exact = re.exec(text);
  if (exact !== null) return { typed: exact[0], at: exact.index };
  const folded = foldWord(word);
  const words = new RegExp(`${WORD_EDGE}+`, 'gu');
  for (let m = words.exec(text); m !== null; m = words.exec(text)) {
    if (foldWord(m[0]) === folded) return { typed: m[0], at: m.index };
  }
  return null;
}

/** `text` with the first whole-word occurrence of `word` (findWord) replaced; null when absent. */
function replaceWord(text: string, word: string, replacement: string): string | null {
  const w = findWord(text, word);
  return w === null ? null : text.slice(0, w.at) + replacement + text.slice(w.at + w.typed.length);
}

function addWeight(terms: Map<string, number>, term: string, w: number): void {
  const v = (terms.get(term) ?? 0) + w;
  if (v > 1e-12) terms.set(term, v);
  else terms.delete(term);
}

/**
 * What spelling and synonyms read of a document store: its tokenizer, term and word document
 * frequencies. A DocStoreReader is one; a cluster's coordinator gives one whose tokens come from a
 * shard and whose frequencies are summed over the shards (src/cluster/cluster-rewrite.ts).
 */
export type RewriteSource = Pick<DocStoreReader, 'schemaVersion' | 'bm25Query' | 'bm25TermsOf' | 'termDf' | 'wordVocabulary'>;

/**
 * Rewrites queries against one document store (or another RewriteSource: spelling and synonyms
 * only; RM3 reads a store's postings); holds the spelling index and tokenised synonym phrases.
 */
export class QueryRewriter<S extends RewriteSource = DocStoreReader> {
  private corrector: SpellingCorrector | null = null;
  private readonly phraseTerms = new Map<string, string[]>();

  constructor(private readonly reader: S) {}

  /** Whether this store can be rewritten (schema 3: SQLite-side tokenisation). */
  get supported(): boolean {
    return this.reader.schemaVersion >= 3;
  }

  /**
   * Spelling and synonyms. Stop words (`stopwords`) are never corrected and stay out of the BM25
   * query as `DocStoreReader.bm25Query` leaves them out.
   */
  rewrite(text: string, r: ResolvedRewrite, stopwords: ReadonlySet<string> | null): RewrittenQuery {
    const base = this.reader.bm25Query(text, { stopwords: stopwords ?? false });
    const out: RewrittenQuery = { lateText: text, bm25: { terms: new Map(base.terms), tokens: base.tokens }, rewrites: [] };
    if (!this.supported) {
      // Asked for by the caller, spelling and RM3 are refused rather than skipped (they used to
      // return the query as typed without a word: `plait search --rm3` on such an index gave plain
      // BM25's hits). Synonyms stay skipped: `plait serve --synonyms` applies them to every index
      // it serves, old ones too. PRF reads codes, not the store: it runs (search/colbert-prf.ts).
      const asked = r.spelling ? 'spelling' : r.rm3 !== null ? 'rm3' : null;
      if (asked !== null) {
        throw new PlaitError('INVALID_ARGUMENT', {
          message: `rewrite.${asked} needs a document store that SQLite tokenises (schema 3 or later); this index's is schema ${this.reader.schemaVersion}, from an older plait: rebuild the index (plait index) to ${asked === 'spelling' ? 'correct spelling' : 'expand queries with RM3'}`,
          name: `rewrite.${asked}`,
          schemaVersion: this.reader.schemaVersion,
        });
      }
      return out;
    }
    let terms = base.tokens.map((t) => t.term);
    if (r.spelling) terms = this.correctSpelling(out, stopwords);
    if (r.synonyms !== null) this.applySynonyms(out, terms, r.synonyms);
    return out;
  }

  /** RM3 on a rewritten query's BM25 side. */
  expandRm3(this: QueryRewriter<DocStoreReader>, q: RewrittenQuery, rm3: ResolvedRm3, stopwords: ReadonlySet<string> | null): RewrittenQuery {
    if (!this.supported) return q;
    return withRm3(q, rm3Expand(this.reader, q.bm25, rm3, stopwords));
  }

  private correctSpelling(out: RewrittenQuery, stopwords: ReadonlySet<string> | null): string[] {
    const tokens = out.bm25.tokens;
    const terms = tokens.map((t) => t.term);
    const done = new Map<string, string | null>();
    tokens.forEach((t, i) => {
      if (!done.has(t.word)) {
        this.corrector ??= new SpellingCorrector(this.reader.wordVocabulary());
        // A word whose stem the index knows is another form of a known word ("rivers" where only
        // "river" occurs), not a misspelling.
        const stemKnown = this.corrector.documentFrequency(t.word) === 0 && (this.reader.termDf([t.term])[0] ?? 0) > 0;
        const c = stemKnown ? null : this.corrector.correct(t.word, stopwords);
        done.set(t.word, c === null ? null : c.to);
        if (c !== null) {
          // Reported as typed ("Über" → "user"), not in the store's folding ("uber"), which the user never wrote.
          const typed = findWord(out.lateText, c.from);
          out.rewrites.push({ kind: 'spelling', from: typed?.typed ?? c.from, to: c.to });
          out.lateText = typed === null ? `${out.lateText} ${c.to}` : out.lateText.slice(0, typed.at) + c.to + out.lateText.slice(typed.at + typed.typed.length);
        }
      }
      const to = done.get(t.word);
      if (to === null || to === undefined) return;
      const fixed = this.reader.bm25TermsOf(to)[0] ?? to;
      terms[i] = fixed;
      if (stopwords?.has(t.word) !== true && out.bm25.terms.has(t.term)) {
        addWeight(out.bm25.terms, t.term, -1);
        addWeight(out.bm25.terms, fixed, 1);
      }
    });
    return terms;
  }

  private termsOf(phrase: string): string[] {
    let t = this.phraseTerms.get(phrase);
    if (t === undefined) {
      t = this.reader.bm25TermsOf(phrase);
      this.phraseTerms.set(phrase, t);
    }
    return t;
  }

  /** Each rule whose phrase occurs in the query's terms adds its targets (BM25 terms, late words); `=>` rules drop the phrase. */
  private applySynonyms(out: RewrittenQuery, queryTerms: readonly string[], synonyms: SynonymMap): void {
    for (const rule of synonyms.rules) {
      const from = this.termsOf(rule.from);
      if (from.length === 0 || !containsRun(queryTerms, from)) continue;
      out.rewrites.push({ kind: 'synonym', from: rule.from, to: rule.to.join(', ') });
      for (const target of rule.to) for (const term of this.termsOf(target)) addWeight(out.bm25.terms, term, 1);
      if (rule.replace) {
        for (const term of from) if (out.bm25.terms.has(term)) addWeight(out.bm25.terms, term, -1);
        out.lateText = replaceWord(out.lateText, rule.from, rule.to.join(' ')) ?? `${out.lateText} ${rule.to.join(' ')}`;
      } else {
        out.lateText = `${out.lateText} ${rule.to.join(' ')}`;
      }
    }
  }
}

/** `q` with its BM25 side replaced by RM3's expansion, and the rm3 rewrite reported (`q` itself when nothing was added). */
export function withRm3(q: RewrittenQuery, expanded: Bm25Query): RewrittenQuery {
  if (expanded === q.bm25) return q;
  const added = [...expanded.terms].filter(([t]) => !q.bm25.terms.has(t)).sort((a, b) => b[1] - a[1]);
  const to = added.map(([t, w]) => `${t}^${w.toFixed(3)}`).join(' ');
  return { ...q, bm25: expanded, rewrites: [...q.rewrites, { kind: 'rm3', from: [...q.bm25.terms.keys()].join(' '), to }] };
}

function containsRun(haystack: readonly string[], needle: readonly string[]): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

export { resolveRm3 };
export type { Rm3Options };
