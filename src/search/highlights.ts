/**
 * Search highlights (SearchOptions.highlights): for each returned hit, the words of its text that
 * answered the query, and a snippet around the best of them with those words marked.
 *
 * Late interaction knows, for every query token, which document token gave its MaxSim: that token
 * is the highlight (it can mark "stream of air" for "airflow", which no term matcher can). The
 * matches are explain's (explain.ts `lateMaxSim`: the exact stage's own similarities, summed in the
 * kernels' float32 order), on the hit's best passage, so the spans' scores plus `otherScore` sum to
 * the hit's late-interaction score (the hit's `score` in late mode, `fusion.late` in hybrid mode).
 *
 * Which matches become spans (the rule):
 * - the query row is one of the query's own content tokens: [CLS], the [Q] marker, [SEP] and the
 *   [MASK] rows of query augmentation (and ColBERT-PRF's appended rows) answer no word the user
 *   typed, so what they matched is not shown; their contributions are summed in `otherScore`;
 * - the document row it matched is a content token whose text holds a letter or a digit: [CLS],
 *   [D], [SEP] and punctuation are never marked (their contributions also go to `otherScore`);
 * - a span covers whole words: a subword token ("rise" of "rises", "##ast" of "yeast") is widened
 *   to the run of letters and digits around it;
 * - document tokens matched by several query tokens are one span (scores added, query tokens
 *   listed); spans that overlap or are separated only by white space (adjacent words) are merged.
 *
 * Offsets are [start, end) UTF-16 code units into the hit's `title` or `text` field as stored
 * (`field` says which; the passage's indexed text is the title, a newline, then the text).
 * The snippet is the window of `snippetChars` around the highest-scoring cluster of spans (the
 * spans that fit in one window with the largest summed score), cut back to word boundaries, with
 * the spans inside it marked by `preTag`/`postTag`. With `escape` (the default, the tags being HTML)
 * the text between the tags is HTML-escaped (& < > " '), so the snippet can be put in a page as is;
 * `escape: false` returns the text raw (for terminal markers). The spans' offsets always refer to
 * the raw text, for clients that mark it themselves.
 *
 * Cost: computed after ranking, for the returned hits only (topK): per hit one passage's exact
 * similarities (the native `fastScanTokenSimilarities`, on the centroid-score rows the passage reads)
 * and one tokenisation of the passage. Measured on scifact: bench/RESULTS.md, "Search highlights"
 * (`node dist/bench/highlights-cost.js <index> <queries.jsonl> 50`): at k = 10 the late side went
 * from ~30 ms a query (the TypeScript twin's byte loop, the whole K × qLen centroid matrix, a
 * Map-per-node tokenizer trie) to the figures there.
 */
import { HIGHLIGHT_DEFAULTS } from '../config/defaults.js';
import { invalidArgument } from '../errors/index.js';
import type { Encoder, RowToken } from '../encoder/types.js';
import type { Kernels } from '../kernels/types.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';
import { checkRowLayout, lateMaxSim, type ExactQueryCache } from './explain.js';
import type { EncodedQuery, ScoringArrays } from './plaid.js';

/** How highlights are written (SearchOptions.highlights as an object; `true` takes every default). */
export interface HighlightOptions {
  /** Snippet window in characters, an integer in [20, 10000]; default HIGHLIGHT_DEFAULTS.snippetChars (200). */
  snippetChars?: number;
  /** Written before each marked span in the snippet (default `<em>`, at most 64 characters). */
  preTag?: string;
  /** Written after each marked span in the snippet (default `</em>`, at most 64 characters). */
  postTag?: string;
  /** HTML-escape the snippet's text (not the tags); default true. */
  escape?: boolean;
}

export interface ResolvedHighlights {
  snippetChars: number;
  preTag: string;
  postTag: string;
  escape: boolean;
}

const HIGHLIGHT_OPTION_KEYS = { snippetChars: true, preTag: true, postTag: true, escape: true } as const satisfies OptionKeys<HighlightOptions>;

/** The field of a hit a span lies in. */
export type HighlightField = 'title' | 'text';

/** Marked words of a hit: [start, end) UTF-16 offsets into `field`, and the text they cover. */
export interface TextSpan {
  field: HighlightField;
  start: number;
  end: number;
  text: string;
}

/** A late-interaction span: the document tokens that were some query tokens' MaxSim argmax. */
export interface LateSpan extends TextSpan {
  /** What these tokens added to the late score: Σ of the contributions (weight × similarity) of the query tokens they answered. */
  score: number;
  /** The query tokens they answered (their text in the query, in query order, repeats kept). */
  queryTokens: string[];
}

/** A window of one field with the spans in it marked. */
export interface Snippet {
  field: HighlightField;
  /** [start, end) of the window in the field (UTF-16). */
  start: number;
  end: number;
  /** The window's text with the spans marked (escaped when `escape`). */
  text: string;
}

export interface LateHighlights {
  /** The passage matched (the hit's best passage). */
  pid: number;
  /** The passage's late-interaction score: Σ span scores + otherScore (float error aside). */
  lateScore: number;
  /** Spans in field order (title first), by start. */
  spans: LateSpan[];
  /** The contributions of the matches the rule leaves out (special and [MASK] query rows, punctuation). */
  otherScore: number;
  snippet: Snippet;
}

export interface Bm25Highlights {
  /** The query's BM25 terms in the document, as SQLite FTS5's highlight() marks them. */
  spans: TextSpan[];
  /** FTS5's snippet() of the field with the most matches (null when no term is found in the stored text). */
  snippet: Snippet | null;
}

/** A hit's highlights: `late` in late and hybrid modes (null for a hybrid hit only BM25 found), `bm25` in bm25 and hybrid modes. */
export interface HitHighlights {
  late?: LateHighlights | null;
  bm25?: Bm25Highlights | null;
}

/**
 * `true` / an options object → the resolved options; `false` / undefined → null (no highlights).
 * @throws PlaitError INVALID_ARGUMENT naming the bad field (unknown keys included).
 */
export function resolveHighlights(v: boolean | HighlightOptions | undefined): ResolvedHighlights | null {
  if (v === undefined || v === false) return null;
  const o: HighlightOptions = v === true ? {} : v;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw invalidArgument('highlights', 'true, false or an options object', v);
  checkOptionKeys(o, HIGHLIGHT_OPTION_KEYS, 'highlights option');
  const snippetChars = o.snippetChars ?? HIGHLIGHT_DEFAULTS.snippetChars;
  if (!Number.isInteger(snippetChars) || snippetChars < HIGHLIGHT_DEFAULTS.minSnippetChars || snippetChars > HIGHLIGHT_DEFAULTS.maxSnippetChars) {
    throw invalidArgument('highlights.snippetChars', `an integer in [${HIGHLIGHT_DEFAULTS.minSnippetChars}, ${HIGHLIGHT_DEFAULTS.maxSnippetChars}]`, snippetChars);
  }
  const tag = (name: 'preTag' | 'postTag'): string => {
    const t = o[name] ?? HIGHLIGHT_DEFAULTS[name];
    if (typeof t !== 'string' || t.length > HIGHLIGHT_DEFAULTS.maxTagChars) throw invalidArgument(`highlights.${name}`, `a string of at most ${HIGHLIGHT_DEFAULTS.maxTagChars} characters`, t);
    return t;
  };
  const escape = o.escape ?? true;
  if (typeof escape !== 'boolean') throw invalidArgument('highlights.escape', 'a boolean', escape);
  return { snippetChars, preTag: tag('preTag'), postTag: tag('postTag'), escape };
}

/** A hit's stored fields and where its passage lies in their indexed text (indexText: title, newline, text). */
export interface HitText {
  title: string;
  text: string;
  /** The passage's [start, end) in the indexed text. */
  passageStart: number;
  passageEnd: number;
}

/** Maps offsets of the indexed text (indexText) to a field and an offset in it. */
function fieldMapper(title: string): (p: number) => { field: HighlightField; at: number } {
  const t = title.trim();
  const lead = t.length > 0 ? title.indexOf(t) : 0;
  return (p) => (t.length === 0 ? { field: 'text', at: p } : p <= t.length ? { field: 'title', at: p + lead } : { field: 'text', at: p - t.length - 1 });
}

const CONTENT = /[\p{L}\p{N}]/u;
const BLANK = /^\s*$/;

/**
 * The late-interaction highlights of one hit's passage `pid` for the query `q` (see the header).
 * @param query the encoded query text, the tokenizer's rows of it, and how many rows ColBERT-PRF
 *   appended after them (`q` holds rows.length + appendedRows rows; the appended ones are special).
 * @param cache the query's exact-stage setup, shared by the hits of one query (explain.ts ExactQueryCache).
 * @throws PlaitError INTERNAL when the tokenizer's rows disagree with the encoded or stored rows.
 */
export function lateHighlights(
  a: ScoringArrays,
  kernels: Kernels,
  encoder: Encoder,
  q: EncodedQuery,
  query: { text: string; rows: readonly RowToken[]; appendedRows: number },
  pid: number,
  hit: HitText,
  options: ResolvedHighlights,
  cache: ExactQueryCache = {},
): LateHighlights {
  const passageText = indexedText(hit).slice(hit.passageStart, hit.passageEnd);
  const passageRows = encoder.rows(passageText, 'document');
  // PRF rows (appended centroids) have no query text: the layout is checked on the query's own rows.
  const textRows = q.length - query.appendedRows;
  checkRowLayout(a, { ...q, length: textRows }, query.rows, pid, passageRows);
  const { rows, lateScore } = lateMaxSim(a, kernels, q, pid, cache);
  const byRow = new Map<number, { start: number; end: number; score: number; queryTokens: string[] }>();
  let otherScore = 0;
  rows.forEach((m, i) => {
    const qr = i < textRows ? query.rows[i]! : null;
    const dr = m.arg >= 0 ? passageRows[m.arg]! : null;
    const keep = qr !== null && qr.role === 'content' && dr !== null && dr.role === 'content' && dr.start >= 0 && CONTENT.test(passageText.slice(dr.start, dr.end));
    if (!keep) {
      otherScore += m.contribution;
      return;
    }
    const word = wordAround(passageText, dr.start, dr.end);
    const s = byRow.get(m.arg) ?? { start: word.start, end: word.end, score: 0, queryTokens: [] };
    s.score += m.contribution;
    s.queryTokens.push(query.text.slice(qr.start, qr.end));
    byRow.set(m.arg, s);
  });
  const toField = fieldMapper(hit.title);
  const merged: LateSpan[] = [];
  for (const s of [...byRow.values()].sort((x, y) => x.start - y.start || x.end - y.end)) {
    const from = toField(hit.passageStart + s.start);
    const to = toField(hit.passageStart + s.end);
    const last = merged[merged.length - 1];
    const prevEnd = last === undefined ? -1 : last.end;
    if (last !== undefined && last.field === from.field && (from.at <= prevEnd || BLANK.test(fieldText(hit, from.field).slice(prevEnd, from.at)))) {
      last.end = Math.max(last.end, to.at);
      last.text = fieldText(hit, last.field).slice(last.start, last.end);
      last.score += s.score;
      last.queryTokens.push(...s.queryTokens);
      continue;
    }
    merged.push({ field: from.field, start: from.at, end: to.at, text: fieldText(hit, from.field).slice(from.at, to.at), score: s.score, queryTokens: s.queryTokens });
  }
  const fallback = toField(hit.passageStart);
  return { pid, lateScore, spans: merged, otherScore, snippet: makeSnippet(hit, merged, options, fallback.field === 'text' ? fallback.at : 0) };
}

const WORD_CHAR = /[\p{L}\p{N}\p{M}]/u;

/** Whether the UTF-16 unit at `i` is a letter, digit or mark: ASCII by its code (the regular expression a character was ~2 ms a scifact query), the rest by WORD_CHAR. */
function isWordChar(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c < 0x80) return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  return WORD_CHAR.test(text[i]!);
}

/** [start, end) widened to the run of letters, digits and marks around it (a whole word). */
function wordAround(text: string, start: number, end: number): { start: number; end: number } {
  while (start > 0 && isWordChar(text, start - 1)) start--;
  while (end < text.length && isWordChar(text, end)) end++;
  return { start, end };
}

/** The text the index split into passages (indexer/index-text.ts's rule). */
function indexedText(hit: Pick<HitText, 'title' | 'text'>): string {
  const t = hit.title.trim();
  return t.length > 0 ? `${t}\n${hit.text}` : hit.text;
}

function fieldText(hit: Pick<HitText, 'title' | 'text'>, field: HighlightField): string {
  return field === 'title' ? hit.title : hit.text;
}

/**
 * The snippet: the window of options.snippetChars around the spans of one field with the largest
 * summed score that fit in it, widened evenly to the window's length, cut back to word boundaries
 * (never into the cluster), with the spans inside marked. Without spans: the text from `fallbackAt`.
 */
export function makeSnippet(hit: Pick<HitText, 'title' | 'text'>, spans: readonly LateSpan[], options: ResolvedHighlights, fallbackAt = 0): Snippet {
  const L = options.snippetChars;
  let best: { field: HighlightField; start: number; end: number; score: number } | null = null;
  for (const field of ['title', 'text'] as const) {
    const fs = spans.filter((s) => s.field === field);
    let sum = 0;
    let i = 0;
    for (let j = 0; j < fs.length; j++) {
      sum += fs[j]!.score;
      while (fs[j]!.end - fs[i]!.start > L && i < j) sum -= fs[i++]!.score;
      if (best === null || sum > best.score) best = { field, start: fs[i]!.start, end: Math.min(fs[j]!.end, fs[i]!.start + L), score: sum };
    }
  }
  const field = best?.field ?? 'text';
  const text = fieldText(hit, field);
  const cs = best?.start ?? Math.min(fallbackAt, text.length);
  const ce = best?.end ?? cs;
  const extra = Math.max(0, L - (ce - cs));
  let ws = Math.max(0, cs - Math.floor(extra / 2));
  let we = Math.min(text.length, ws + Math.max(L, ce - cs));
  ws = Math.max(0, Math.min(ws, we - L));
  // Cut back to word boundaries: never start or end inside a word, never inside the cluster.
  if (ws > 0 && !/\s/.test(text[ws - 1]!)) {
    const sp = text.slice(ws, cs).search(/\s/);
    ws = sp < 0 ? cs : ws + sp + 1;
  }
  if (we < text.length && !/\s/.test(text[we]!)) {
    const cut = text.slice(ce, we).search(/\s\S*$/);
    we = cut < 0 ? ce : ce + cut;
  }
  while (ws < cs && /\s/.test(text[ws]!)) ws++;
  while (we > ce && /\s/.test(text[we - 1]!)) we--;
  return { field, start: ws, end: we, text: markText(text, ws, we, spans.filter((s) => s.field === field), options) };
}

/** `text[from, to)` with the spans inside it (clipped to it) marked, escaped when options.escape. */
export function markText(text: string, from: number, to: number, spans: readonly Pick<TextSpan, 'start' | 'end'>[], options: Pick<ResolvedHighlights, 'preTag' | 'postTag' | 'escape'>): string {
  const esc = options.escape ? escapeHtml : (s: string): string => s;
  let out = '';
  let at = from;
  for (const s of [...spans].sort((x, y) => x.start - y.start)) {
    const start = Math.max(s.start, at);
    const end = Math.min(s.end, to);
    if (end <= start) continue;
    out += esc(text.slice(at, start)) + options.preTag + esc(text.slice(start, end)) + options.postTag;
    at = end;
  }
  return out + esc(text.slice(at, to));
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** HTML-escapes & < > " ' (the five characters that matter in text and attribute values). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}
