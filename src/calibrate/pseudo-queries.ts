/**
 * Pseudo-queries drawn from an index's own documents, in the shapes real queries take:
 *  - keyword: 2–4 consecutive content words of one sentence (stop words dropped), as a user types
 *    "centroid pruning latency" — the short queries PLAID loses documents on;
 *  - title: the document's title (2–24 words), a short natural phrase;
 *  - span: 6–20 words of running text starting at a sentence, the length of a question or claim.
 * A user's query log replaces them when given (kind "log"). Documents are sampled with a seeded
 * generator, so a calibration is reproducible for a seed.
 */
import { CALIBRATION_DEFAULTS } from '../config/defaults.js';
import { ENGLISH_STOPWORDS } from '../docstore/index.js';
import type { DocStoreReader } from '../docstore/index.js';
import { Random } from '../util/random.js';

export type PseudoQueryKind = 'keyword' | 'title' | 'span' | 'log';

export interface PseudoQuery {
  text: string;
  kind: PseudoQueryKind;
}

export interface PseudoQueryOptions {
  /** Queries drawn (default CALIBRATION_DEFAULTS.queries), about a third of each kind. */
  count?: number;
  seed?: number;
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

/** Candidate generators, by name (bench/pseudo-query-kinds.ts compares them with real queries). */
export const pseudoQueryGenerators: Record<string, (doc: DocText, rng: Random) => string | null> = {
  consecutive: (doc, rng) => {
    const s = randomSentence(doc.text, rng);
    return s === null ? null : keywordQuery(s, kwLen(rng), rng);
  },
  scattered: (doc, rng) => scatteredQuery(doc.text, kwLen(rng), rng),
  'sentence head': (doc, rng) => {
    const s = randomSentence(doc.text, rng);
    return s === null ? null : headQuery(s, kwLen(rng));
  },
  'title head': (doc, rng) => headQuery(doc.title, kwLen(rng)) ?? headQuery(doc.text, kwLen(rng)),
  title: (doc) => {
    const n = words(doc.title).length;
    return n >= 2 && n <= 24 ? doc.title.trim() : null;
  },
  span: (doc, rng) => span(doc.text, rng),
};

/**
 * Pseudo-queries from sampled documents of the store, kinds interleaved (keyword, title, span, …)
 * so that any prefix of the list is balanced: a budget that stops early still has every kind.
 * A document without a usable title or long enough text gives the next kind a try.
 */
export function drawPseudoQueries(docstore: DocStoreReader, options: PseudoQueryOptions = {}): PseudoQuery[] {
  const count = options.count ?? CALIBRATION_DEFAULTS.queries;
  const rng = new Random(options.seed ?? CALIBRATION_DEFAULTS.seed);
  const nDocs = docstore.nDocuments;
  if (nDocs === 0 || count <= 0) return [];
  const [kwLo, kwHi] = CALIBRATION_DEFAULTS.keywordWords;
  const kinds: PseudoQueryKind[] = ['keyword', 'title', 'span'];
  const out: PseudoQuery[] = [];
  const seen = new Set<string>();
  // Sampling with replacement over rowids, bounded so that a corpus of empty documents ends.
  for (let attempt = 0; out.length < count && attempt < 20 * count; attempt++) {
    const kind = kinds[out.length % kinds.length]!;
    const doc = docstore.getDocument(rng.int(nDocs));
    if (doc === null) continue;
    let text: string | null = null;
    if (kind === 'keyword') {
      const ss = sentences(doc.text);
      if (ss.length > 0) text = keywordQuery(ss[rng.int(ss.length)]!, kwLo + rng.int(kwHi - kwLo + 1), rng);
    } else if (kind === 'title') {
      const n = words(doc.title).length;
      if (n >= 2 && n <= 24) text = doc.title.trim();
    } else text = span(doc.text, rng);
    if (text === null || seen.has(text)) continue;
    seen.add(text);
    out.push({ text, kind });
  }
  return out;
}

/** A query log as pseudo-queries: a seeded sample of at most `count` distinct non-empty lines. */
export function queryLogSample(queries: readonly string[], options: PseudoQueryOptions = {}): PseudoQuery[] {
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
