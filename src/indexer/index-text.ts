/**
 * The text a document is indexed (and split) as: its title, a newline, then its text, as ColBERT
 * indexes BEIR corpora with the title in front. Passage offsets in the document store refer to
 * this string, so everything that derives a passage's text goes through this one function.
 */
export function indexText(title: string, text: string): string {
  const t = title.trim();
  return t.length > 0 ? `${t}\n${text}` : text;
}
