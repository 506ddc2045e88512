/**
 * Spelling correction against the index's own vocabulary (the document store's unstemmed word
 * vocabulary, `DocStoreReader.wordVocabulary`), SymSpell-style (Wolf Garbe's symmetric delete
 * algorithm): every vocabulary word's deletes within edit distance 2 are indexed once; a query
 * word's deletes are looked up there, and the candidates found are verified with the true
 * (restricted Damerau–Levenshtein, "optimal string alignment") distance. Lookups cost microseconds
 * and need no scan of the vocabulary.
 *
 * Memory: a delete is stored as a 32-bit hash (FNV-1a) beside the word's number, in two sorted
 * Int32Arrays — 8 bytes a delete, about 30 deletes a word with SymSpell's prefix length of 7 (only
 * the first 7 characters of a word generate deletes; its remaining characters are compared in the
 * verification), so ~240 bytes a word: 12 MB for scifact's ~50k eligible words. Built on the first
 * correction, not at open.
 *
 * When a word is corrected (SPELLING_DEFAULTS):
 * - the word has letters only and at least `minWordLength` characters; stop words never;
 * - it is unknown to the index (df 0), or rare (df ≤ `rareMaxDf`) while a candidate is
 *   `rareRatio` times more frequent;
 * - the distance allowed grows with length: 1 edit from 4 letters, 2 from 10 (Elasticsearch's
 *   `fuzziness: AUTO` allows 2 from 6 letters; on scifact's and cranfield's real queries that turned
 *   correctly spelled words the corpus lacks into others — "cytidine" → "cytokine", "raptor" →
 *   "factor" — while one-edit typos, most typos, were fixed either way); a candidate that is the
 *   word less two or more letters at one edge ("uncultured" → "cultured") is a derived word, not a fix;
 * - candidates are words in at least `minCandidateDf` documents (a typo in the corpus is not a
 *   correction) and never stop words (cranfield's "dome" had become "some"); the nearest wins, then the most frequent, then the alphabetically first.
 * A word every document set knows is therefore never rewritten.
 *
 * Words arrive folded as the store folds them ("Über" → "uber"; the rewriter reports the word as
 * typed). A word typed with diacritics is corrected like any other, as Elasticsearch's term
 * suggester and Solr's DirectSolrSpellChecker correct the analysed (folded) term: on cranfield's
 * queries with one typo each, the typo's word given an accent, correcting recovers +0.034 nDCG@10
 * (p 0.0001; cisi +0.006, n.s.), while a German, French or Spanish word appended to each query costs
 * −0.002 (cranfield) and −0.005 (cisi, p 0.07) against leaving it alone ("según" → "begun", "über" →
 * "user"; but "análisis" → "analysis"). Re-measure: `node dist/bench/spelling-diacritics.js`.
 */

import { SPELLING_DEFAULTS } from '../config/defaults.js';
import type { WordVocabulary } from '../docstore/docstore-reader.js';
import { editDistance } from '../util/edit-distance.js';
import { checkShape } from '../errors/index.js';

/** A word replaced by spelling correction. */
export interface SpellingCorrection {
  from: string;
  to: string;
  /** Edit distance between them (1 or 2). */
  distance: number;
  /** Documents holding `from` (0: unknown) and `to`. */
  fromDf: number;
  toDf: number;
}

const LETTERS_ONLY = /^\p{L}+$/u;

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/** The distinct strings made by deleting up to `maxDeletes` characters of `s` (itself included). */
function deletes(s: string, maxDeletes: number): Set<string> {
  const out = new Set<string>([s]);
  let frontier = [s];
  for (let d = 0; d < maxDeletes; d++) {
    const next: string[] = [];
    for (const w of frontier) {
      for (let i = 0; i < w.length; i++) {
        const v = w.slice(0, i) + w.slice(i + 1);
        if (!out.has(v)) {
          out.add(v);
          next.push(v);
        }
      }
    }
    frontier = next;
  }
  return out;
}

/** Edits allowed for a word of `length` characters: 0 below `minWordLength`, 2 from `twoEditsFrom`, else 1. */
export function allowedEdits(length: number): number {
  return length < SPELLING_DEFAULTS.minWordLength ? 0 : length >= SPELLING_DEFAULTS.twoEditsFrom ? 2 : 1;
}

/** Whether `candidate` is `word` less two or more letters at one edge ("uncultured" → "cultured"): a derived word, not a typo. */
function strippedAffix(word: string, candidate: string): boolean {
  return word.length - candidate.length >= 2 && (word.startsWith(candidate) || word.endsWith(candidate));
}

export class SpellingCorrector {
  private readonly words: string[];
  private readonly df: Int32Array;
  private readonly dfOf: Map<string, number>;
  /** Sorted delete hashes and, at the same positions, the word each came from. */
  private readonly hashes: Int32Array;
  private readonly wordOf: Int32Array;

  constructor(vocabulary: WordVocabulary) {
    checkShape('vocabulary', vocabulary, 'a WordVocabulary (from a docstore)', ['words', 'df']);
    this.words = vocabulary.words;
    this.df = vocabulary.df;
    this.dfOf = new Map();
    for (let i = 0; i < this.words.length; i++) this.dfOf.set(this.words[i]!, this.df[i]!);
    const pairs: Array<[number, number]> = [];
    const { prefixLength, minCandidateDf } = SPELLING_DEFAULTS;
    for (let w = 0; w < this.words.length; w++) {
      const word = this.words[w]!;
      if (this.df[w]! < minCandidateDf || !LETTERS_ONLY.test(word) || word.length < SPELLING_DEFAULTS.minWordLength - 1) continue;
      for (const d of deletes(word.slice(0, prefixLength), 2)) pairs.push([fnv1a(d), w]);
    }
    pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.hashes = Int32Array.from(pairs, (p) => p[0]);
    this.wordOf = Int32Array.from(pairs, (p) => p[1]);
  }

  /** Number of documents holding `word` (unstemmed, folded as the index folds it); 0 when unknown. */
  documentFrequency(word: string): number {
    return this.dfOf.get(word) ?? 0;
  }

  /**
   * The correction of one folded word, or null when it is left as it is (see the header for when).
   * @param stopwords words never corrected
   */
  correct(word: string, stopwords: ReadonlySet<string> | null = null): SpellingCorrection | null {
    const max = allowedEdits(word.length);
    if (max === 0 || !LETTERS_ONLY.test(word) || (stopwords?.has(word) ?? false)) return null;
    const fromDf = this.documentFrequency(word);
    if (fromDf > SPELLING_DEFAULTS.rareMaxDf) return null;
    const { prefixLength } = SPELLING_DEFAULTS;
    const seen = new Set<number>();
    let best: SpellingCorrection | null = null;
    for (const d of deletes(word.slice(0, prefixLength), max)) {
      const h = fnv1a(d);
      for (let i = lowerBound(this.hashes, h); i < this.hashes.length && this.hashes[i] === h; i++) {
        const w = this.wordOf[i]!;
        if (seen.has(w)) continue;
        seen.add(w);
        const candidate = this.words[w]!;
        // A stop word is never a correction: the query would lose its word to one that BM25 drops
        // and that means nothing to late interaction (cranfield's "what dome contours …" became
        // "what some contours …", its one subject gone).
        if (candidate === word || strippedAffix(word, candidate) || (stopwords?.has(candidate) ?? false)) continue;
        const distance = editDistance(word, candidate, max);
        if (distance > max) continue;
        const toDf = this.df[w]!;
        if (fromDf > 0 && toDf < SPELLING_DEFAULTS.rareRatio * fromDf) continue;
        if (best === null || distance < best.distance || (distance === best.distance && (toDf > best.toDf || (toDf === best.toDf && candidate < best.to)))) {
          best = { from: word, to: candidate, distance, fromDf, toDf };
        }
      }
    }
    return best;
  }
}

function lowerBound(a: Int32Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
