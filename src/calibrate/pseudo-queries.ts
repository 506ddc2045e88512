/**
 * Pseudo-queries drawn from an index's own documents, in the shapes real queries take:
 *  - keyword: 2–4 consecutive content words of one sentence (stop words dropped), as a user types
 *    "centroid pruning latency" — the short queries PLAID loses documents on;
 *  - scattered: 2–4 content words drawn across the whole document, not adjacent: a query whose
 *    exhaustive top-k spreads over documents that share only some of its terms;
 *  - head: the first 2–4 content words of a sentence — the topic's head terms, the way typed
 *    queries cut down from questions look ("similarity laws", "problems heat conduction");
 *  - title: the document's title (2–24 words), a short natural phrase;
 *  - span: 6–20 words of running text starting at a sentence, the length of a question or claim.
 * Calibration requires its target on every kind (choose-settings.ts). Consecutive keywords alone
 * were easier than real keyword queries (cranfield: settings chosen on them found 97.9% of the real
 * keyword queries' top-10; bench/pseudo-query-kinds.ts compares every kind with real queries).
 * A user's query log replaces them when given (kind "log"). Documents are sampled with a seeded
 * generator, so a calibration is reproducible for a seed.
 */
import { CALIBRATION_DEFAULTS } from '../config/defaults.js';
import { invalidArgument } from '../errors/index.js';
import { ENGLISH_STOPWORDS } from '../docstore/index.js';
import type { DocStoreReader } from '../docstore/index.js';
import { Random } from '../util/random.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { checkShape, checkStringArray } from '../errors/index.js';

export type PseudoQueryKind = 'keyword' | 'scattered' | 'head' | 'title' | 'span' | 'log';

export interface PseudoQuery {
  text: string;
  kind: PseudoQueryKind;
}

export interface PseudoQueryOptions {
  /** Queries drawn (default CALIBRATION_DEFAULTS.queries), about a third of each kind. */
  count?: number;
  seed?: number;
}

/** PseudoQueryOptions' keys (util/option-keys.ts): `{ queries: 50 }` had drawn the default count. */
const PSEUDO_QUERY_OPTION_KEYS = { count: true, seed: true } as const satisfies OptionKeys<PseudoQueryOptions>;

/**
 * Checks a sample's count and seed (drawPseudoQueries, queryLogSample, calibrateIndex before any work).
 * @throws PlaitError INVALID_ARGUMENT: `count` not a positive integer; `seed` not an integer in
 *   [0, CALIBRATION_DEFAULTS.maxSeed] (the generator keeps 32 bits: NaN, 'x', 1.5 and 2^32 + s had
 *   each drawn another seed's sample, silently)
 */
export function checkSampleOptions(options: PseudoQueryOptions): void {
  const { count, seed } = options;
  if (count !== undefined && !(Number.isInteger(count) && count >= 1)) throw invalidArgument('count', 'a positive integer', count);
  if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0 && seed <= CALIBRATION_DEFAULTS.maxSeed)) throw invalidArgument('seed', `an integer in [0, ${CALIBRATION_DEFAULTS.maxSeed}]`, seed);
}

const WORD = /[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu;

/** Sentences of a text (split after . ! ? followed by white space). */
function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+/u)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function words(text: string): string[] {
  return text.match(WORD) ?? [];
}

/** A content word: not a stop word, at least 3 characters, not a bare number. */
export function isContentWord(w: string): boolean {
  const lower = w.toLowerCase();
  return lower.length >= 3 && !ENGLISH_STOPWORDS.has(lower) && !/^[\d.,'’-]+$/u.test(lower);
}

/**
 * `n` consecutive content words of `text` starting at a random one (fewer when the text has fewer),
 * in their original order: a keyword query.
 */
export function keywordQuery(text: string, n: number, rng: Random): string | null {
  const content = words(text).filter(isContentWord);
  if (content.length < 2) return null;
  const take = Math.min(n, content.length);
  const start = rng.int(content.length - take + 1);
  return content.slice(start, start + take).join(' ');
}

/** `n` content words drawn across the whole text (not adjacent), in text order. */
export function scatteredQuery(text: string, n: number, rng: Random): string | null {
  const content = words(text).filter(isContentWord);
  if (content.length < 2) return null;
  const picked = Array.from(rng.sampleDistinct(content.length, Math.min(n, content.length))).sort((a, b) => a - b);
  return picked.map((i) => content[i]!).join(' ');
}

/** The first `n` content words of `text`: a typed query's head terms ("similarity laws"). */
export function headQuery(text: string, n: number): string | null {
  const content = words(text).filter(isContentWord);
  if (content.length < 2) return null;
  return content.slice(0, n).join(' ');
}

function span(text: string, rng: Random): string | null {
  const ss = sentences(text);
  if (ss.length === 0) return null;
  const [lo, hi] = CALIBRATION_DEFAULTS.spanWords;
  const first = rng.int(ss.length);
  const w = words(ss.slice(first).join(' '));
  if (w.length < lo) return null;
  const n = Math.min(w.length, lo + rng.int(hi - lo + 1));
  return w.slice(0, n).join(' ');
}

type DocText = { title: string; text: string };
const kwLen = (rng: Random): number => CALIBRATION_DEFAULTS.keywordWords[0] + rng.int(CALIBRATION_DEFAULTS.keywordWords[1] - CALIBRATION_DEFAULTS.keywordWords[0] + 1);
const randomSentence = (text: string, rng: Random): string | null => {
  const ss = sentences(text);
  return ss.length === 0 ? null : ss[rng.int(ss.length)]!;
};

/** The generator of each kind drawn from documents (null: this document cannot give one). */
export const pseudoQueryGenerators: Record<Exclude<PseudoQueryKind, 'log'>, (doc: DocText, rng: Random) => string | null> = {
  keyword: (doc, rng) => {
    const s = randomSentence(doc.text, rng);
    return s === null ? null : keywordQuery(s, kwLen(rng), rng);
  },
  scattered: (doc, rng) => scatteredQuery(doc.text, kwLen(rng), rng),
  head: (doc, rng) => {
    const s = randomSentence(doc.text, rng);
    return s === null ? null : headQuery(s, kwLen(rng));
  },
  title: (doc) => {
    const n = words(doc.title).length;
    return n >= 2 && n <= 24 ? doc.title.trim() : null;
  },
  span: (doc, rng) => span(doc.text, rng),
};

/**
 * Pseudo-queries from sampled documents of the store, kinds interleaved (keyword, scattered, head,
 * title, span, …) so that any prefix of the list is balanced: a budget that stops early still has
 * every kind. A document that cannot give the kind due (no title, too short) is replaced by another;
 * a kind that no document gives (a corpus without titles) leaves the rotation after
 * CALIBRATION_DEFAULTS.kindMisses misses in a row.
 */
export function drawPseudoQueries(docstore: DocStoreReader, options: PseudoQueryOptions = {}): PseudoQuery[] {
  checkOptionKeys(options, PSEUDO_QUERY_OPTION_KEYS, 'pseudo-query option');
  checkShape('docstore', docstore, 'a DocStoreReader (an index\'s docstore)', ['filterRowids']);
  checkSampleOptions(options);
  const count = options.count ?? CALIBRATION_DEFAULTS.queries;
  const rng = new Random(options.seed ?? CALIBRATION_DEFAULTS.seed);
  // Live documents only: on a living index rowids have gaps (deleted) and run past the live count.
  const live = docstore.filterRowids('1', []).sort((a, b) => a - b);
  if (live.length === 0 || count <= 0) return [];
  const kinds = Object.keys(pseudoQueryGenerators) as Array<Exclude<PseudoQueryKind, 'log'>>;
  const out: PseudoQuery[] = [];
  const seen = new Set<string>();
  let turn = 0;
  let misses = 0;
  // Sampling with replacement over rowids, bounded so that a corpus of empty documents ends.
  for (let attempt = 0; out.length < count && kinds.length > 0 && attempt < 20 * count; attempt++) {
    const kind = kinds[turn % kinds.length]!;
    const doc = docstore.getDocument(live[rng.int(live.length)]!);
    const text = doc === null ? null : pseudoQueryGenerators[kind](doc, rng);
    if (text === null || seen.has(text)) {
      if (++misses >= CALIBRATION_DEFAULTS.kindMisses) {
        kinds.splice(turn % kinds.length, 1);
        misses = 0;
      }
      continue;
    }
    misses = 0;
    seen.add(text);
    out.push({ text, kind });
    turn++;
  }
  return out;
}

/** A query log as pseudo-queries: a seeded sample of at most `count` distinct non-empty lines. */
export function queryLogSample(queries: readonly string[], options: PseudoQueryOptions = {}): PseudoQuery[] {
  checkOptionKeys(options, PSEUDO_QUERY_OPTION_KEYS, 'pseudo-query option');
  checkStringArray('queries', queries, 'an array of query texts');
  checkSampleOptions(options);
  const count = options.count ?? CALIBRATION_DEFAULTS.queries;
  const distinct = [...new Set(queries.map((q) => q.trim()).filter((q) => q.length > 0))];
  const rng = new Random(options.seed ?? CALIBRATION_DEFAULTS.seed);
  const picked = rng.sampleDistinct(distinct.length, count);
  // Shuffle the picked ones so that a budget cut keeps a random subset, not the log's first lines.
  const order = Array.from(picked);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order.map((i) => ({ text: distinct[i]!, kind: 'log' as const }));
}
