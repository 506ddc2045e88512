/**
 * BM25 terms of a text, the way the FTS5 index sees them (`unicode61 remove_diacritics 2`): case
 * folded, diacritics removed, split on every character that is not a letter, a number or private
 * use. Queries are turned into terms here and looked up in the FTS5 vocabulary, so FTS5 query
 * syntax (AND, quotes, parentheses, `-`, `*`, `col:`) never reaches SQLite.
 */

const SEPARATORS = /[^\p{L}\p{N}\p{Co}]+/u;
/** unicode61 strips diacritics from Latin letters only (Greek accents, for one, stay). */
const LATIN_MARKS = /(\p{Script=Latin})\p{M}+/gu;
const ASCII_ONLY = /^[\x00-\x7f]*$/;

function fold(text: string): string {
  const lower = text.toLowerCase();
  return ASCII_ONLY.test(lower) ? lower : lower.normalize('NFD').replace(LATIN_MARKS, '$1').normalize('NFC');
}

/** The terms of `text`, in order, duplicates kept. */
export function bm25Terms(text: string): string[] {
  const terms = fold(text).split(SEPARATORS);
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
export function bm25QueryTerms(text: string, stopwords: ReadonlySet<string> | null): string[] {
  const terms = bm25Terms(text);
  if (stopwords === null) return terms;
  const kept = terms.filter((t) => !stopwords.has(t));
  return kept.length > 0 ? kept : terms;
}
