/**
 * BM25 highlights (bm25 and hybrid modes): what SQLite FTS5's own highlight() and snippet() mark
 * for the query's BM25 terms (DocStoreReader.bm25Highlight), rather than a second tokenizer and
 * stemmer of plait's that could disagree with the one that scored the document. FTS5 marks with
 * two control characters (U+0001, U+0002, which stored text does not hold in practice); they are
 * turned into offsets into the stored fields and into the caller's tags, with the text between them
 * escaped as highlights.ts escapes it.
 *
 * Left out: documents whose title or text holds an unspaced script (CJK, Thai…): the index holds
 * their character bigrams (bm25-terms.ts `ftsText`), not the stored text FTS5 would mark, so the
 * positions would point at other words; such hits get `bm25: null`.
 */
import { HIGHLIGHT_DEFAULTS } from '../config/defaults.js';
import type { Bm25Query, DocStoreReader } from '../docstore/docstore-reader.js';
import { ftsText } from '../docstore/bm25-terms.js';
import { markText, type Bm25Highlights, type HighlightField, type ResolvedHighlights, type TextSpan } from './highlights.js';

const OPEN = '\u0001';
const CLOSE = '\u0002';

/**
 * The BM25 highlights of stored document `docRowid` (title and text as stored) for `query`.
 * Null when FTS5 finds none of the query's terms in the document or the document is left out (header).
 */
export function bm25Highlights(docstore: DocStoreReader, query: Bm25Query, doc: { docRowid: number; title: string; text: string }, options: ResolvedHighlights): Bm25Highlights | null {
  if (ftsText(doc.title) !== doc.title || ftsText(doc.text) !== doc.text) return null;
  if (doc.title.includes(OPEN) || doc.title.includes(CLOSE) || doc.text.includes(OPEN) || doc.text.includes(CLOSE)) return null;
  const tokens = Math.max(1, Math.min(HIGHLIGHT_DEFAULTS.maxBm25SnippetTokens, Math.round(options.snippetChars / HIGHLIGHT_DEFAULTS.charsPerBm25Token)));
  const marked = docstore.bm25Highlight(query, doc.docRowid, OPEN, CLOSE, tokens);
  if (marked === null) return null;
  const spans = [...markedSpans(marked.title, 'title', doc.title), ...markedSpans(marked.text, 'text', doc.text)];
  if (spans.length === 0) return null;
  // snippet() marks a window of the column it chose: found again in that field by its plain text.
  const plain = stripMarks(marked.snippet);
  const inText = plain.length > 0 ? doc.text.indexOf(plain) : -1;
  const inTitle = inText < 0 && plain.length > 0 ? doc.title.indexOf(plain) : -1;
  if (inText < 0 && inTitle < 0) return { spans, snippet: null };
  const field: HighlightField = inText >= 0 ? 'text' : 'title';
  const start = inText >= 0 ? inText : inTitle;
  const end = start + plain.length;
  const source = field === 'text' ? doc.text : doc.title;
  const text = markText(source, start, end, spans.filter((s) => s.field === field), options);
  return { spans, snippet: { field, start, end, text } };
}

/** The spans FTS5 marked in `marked` (the stored `source` with marks inserted), as offsets into `source`. */
function markedSpans(marked: string, field: HighlightField, source: string): TextSpan[] {
  const spans: TextSpan[] = [];
  let at = 0; // offset in source
  let open = -1;
  for (const ch of marked) {
    if (ch === OPEN) open = at;
    else if (ch === CLOSE) {
      if (open >= 0 && at > open) spans.push({ field, start: open, end: at, text: source.slice(open, at) });
      open = -1;
    } else at += ch.length;
  }
  return spans;
}

function stripMarks(s: string): string {
  return s.replaceAll(OPEN, '').replaceAll(CLOSE, '');
}
