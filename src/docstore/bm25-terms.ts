/**
 * BM25 terms of a text, the way the FTS5 index sees them (`unicode61 remove_diacritics 2
 * categories 'L* N* Co M*'`): case folded, Latin diacritics removed, split on every character that
 * is not a letter, a number, a mark or private use. Queries are turned into terms here and looked
 * up in the FTS5 vocabulary, so FTS5 query syntax (AND, quotes, parentheses, `-`, `*`, `col:`)
 * never reaches SQLite.
 *
 * Scripts written without spaces between words (Han, Hiragana, Katakana, Hangul, Thai, Lao, Khmer,
 * Myanmar) are indexed as overlapping character bigrams, as Lucene's CJKAnalyzer does (its
 * CJKBigramFilter; a lone character stays a unigram): to unicode61 a run like 北京大学 is one
 * token, so the query 北京 found nothing although the document held it (issue 8, item 25). The same
 * segmentation runs on the text given to FTS5 (`ftsText`, at index time) and on queries, so both
 * sides see 北京 京大 大学. Why bigrams and not FTS5's trigram tokenizer: trigrams cannot match a
 * query of two characters (most Chinese words are two), and they would turn English into substring
 * matching. A "character" here is a grapheme-like cluster (base + combining marks), so Thai vowel
 * and tone marks stay with their consonant; marks are token characters (`M*`) for the same reason,
 * which also keeps Devanagari and other abugida words whole instead of split at every vowel sign.
 * English is untouched: on scifact and cranfield BM25 nDCG@10 is the same to 4 decimals
 * (test/docstore-quality.test.ts; re-measure with that test).
 */

const SEPARATORS = /[^\p{L}\p{N}\p{Co}\p{M}]+/u;
/** Schema version 1's tokenizer (`unicode61 remove_diacritics 2`): marks were separators. */
const SEPARATORS_V1 = /[^\p{L}\p{N}\p{Co}]+/u;

/** Letters and numbers of the scripts written without spaces, followed by their combining marks. */
const UNSPACED_RUN =
  /(?:(?=[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Hangul}\p{scx=Thai}\p{scx=Lao}\p{scx=Khmer}\p{scx=Myanmar}])[\p{L}\p{N}]\p{M}*)+/gu;
const CLUSTER = /\P{M}\p{M}*/gu;

/**
 * `text` with every run of an unspaced script replaced by its overlapping character bigrams,
 * space-separated (a run of one character stays as it is). Other text is returned unchanged.
 */
export function segmentUnspaced(text: string): string {
  UNSPACED_RUN.lastIndex = 0;
  if (!UNSPACED_RUN.test(text)) return text;
  return text.replace(UNSPACED_RUN, (run) => {
    const chars = run.match(CLUSTER) ?? [run];
    if (chars.length === 1) return ` ${run} `;
    const grams: string[] = [];
    for (let i = 0; i + 1 < chars.length; i++) grams.push(chars[i]! + chars[i + 1]!);
    return ` ${grams.join(' ')} `;
  });
}

/** The text handed to FTS5 for a document field: segmented as queries are (see the header). */
export function ftsText(text: string): string {
  return segmentUnspaced(text);
}
/** unicode61 strips diacritics from Latin letters only (Greek accents, for one, stay). */
const LATIN_MARKS = /(\p{Script=Latin})\p{M}+/gu;
const ASCII_ONLY = /^[\x00-\x7f]*$/;

function fold(text: string): string {
  const lower = text.toLowerCase();
  return ASCII_ONLY.test(lower) ? lower : lower.normalize('NFD').replace(LATIN_MARKS, '$1').normalize('NFC');
}

/**
 * The terms of `text`, in order, duplicates kept. `schemaVersion` 1 gives the terms of stores built
 * before bigrams (an unspaced run is one term, marks split words), so their BM25 keeps working.
 */
export function bm25Terms(text: string, schemaVersion = 2): string[] {
  const terms = schemaVersion === 1 ? fold(text).split(SEPARATORS_V1) : fold(segmentUnspaced(text)).split(SEPARATORS);
  if (terms.length > 0 && terms[0] === '') terms.shift();
  if (terms.length > 0 && terms[terms.length - 1] === '') terms.pop();
  return terms;
}

/** Number of terms in `text` (its BM25 length). */
export function bm25Length(text: string): number {
  return bm25Terms(text).length;
}

/**
 * English stop words dropped from BM25 queries (not from documents, whose lengths stay honest):
 * NLTK's list. Query-side removal lifts nDCG@10 on cranfield from 0.328 to 0.349 and on scifact
 * from 0.662 to 0.665, since BM25's idf alone leaves "what", "are", "of" with real weight.
 */
export const ENGLISH_STOPWORDS: ReadonlySet<string> = new Set(
  (
    'i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers herself ' +
    'it its itself they them their theirs themselves what which who whom this that these those am is are was were be ' +
    'been being have has had having do does did doing a an the and but if or because as until while of at by for with ' +
    'about against between into through during before after above below to from up down in out on off over under again ' +
    'further then once here there when where why how all any both each few more most other some such no nor not only ' +
    'own same so than too very s t can will just don should now'
  ).split(' '),
);

/** A query's terms less stop words; all its terms when nothing else would be left. */
export function bm25QueryTerms(text: string, stopwords: ReadonlySet<string> | null, schemaVersion = 2): string[] {
  const terms = bm25Terms(text, schemaVersion);
  if (stopwords === null) return terms;
  const kept = terms.filter((t) => !stopwords.has(t));
  return kept.length > 0 ? kept : terms;
}
