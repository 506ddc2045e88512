/**
 * A Markdown file's YAML front matter (Jekyll, Hugo, Obsidian, gray-matter): a first line `---`,
 * YAML, then a line `---` (or `...`). It is the note's metadata, not its text: before this reader,
 * a folder of notes stored it as body text — every hit's snippet began with `title: … tags: …`,
 * BM25 counted the title twice more (cisi note 1: tf 5 for "dewey" where the body has it twice)
 * and `--filter '{"year": …}'` matched nothing, since no document had metadata (trial 10).
 *
 * YAML 1.2 core schema (the `yaml` package, already a dependency of @fastify/swagger): a date stays
 * the string written (`2024-01-05`), values are normalised to JSON as the document store keeps them.
 * A file whose first line is `---` but that has no closing line is read as plain text (a thematic
 * break, not front matter).
 */

import { parseDocument } from 'yaml';

/** What the front matter of one file gave. */
export type FrontMatter =
  | { kind: 'none' }
  | {
      kind: 'ok';
      /** The mapping as JSON (empty front matter: `{}`). */
      metadata: Record<string, unknown>;
      /** The text after the closing line. */
      body: string;
      /** 1-based line of the body's first line in the file. */
      bodyLine: number;
    }
  | { kind: 'malformed'; message: string; /** 1-based line in the file. */ line: number };

const OPEN = /^---[ \t]*$/;
const CLOSE = /^(?:---|\.\.\.)[ \t]*$/;

/**
 * Splits `text` (LF line ends, no BOM) into its front matter and body.
 * Never throws: a YAML error or a front matter that is not a mapping is `malformed`, with the line.
 */
export function readFrontMatter(text: string): FrontMatter {
  const lines = text.split('\n');
  if (!OPEN.test(lines[0] ?? '')) return { kind: 'none' };
  let close = -1;
  for (let i = 1; i < lines.length; i++) {
    if (CLOSE.test(lines[i] as string)) {
      close = i;
      break;
    }
  }
  if (close < 0) return { kind: 'none' };
  const yamlText = lines.slice(1, close).join('\n');
  const body = lines.slice(close + 1).join('\n');
  const bodyLine = close + 2;
  const doc = parseDocument(yamlText, { prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    // The error's offset into the YAML, as a line of the file (the YAML starts on line 2).
    const before = yamlText.slice(0, Math.min(first.pos[0], yamlText.length));
    const line = 2 + (before.match(/\n/g)?.length ?? 0);
    return { kind: 'malformed', message: first.message, line };
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (value === null || value === undefined) return { kind: 'ok', metadata: {}, body, bodyLine };
  if (typeof value !== 'object' || Array.isArray(value)) {
    return {
      kind: 'malformed',
      message: `expected a mapping of keys (\`year: 2024\`, one a line) but the front matter is ${Array.isArray(value) ? 'a list' : `a ${typeof value}`}`,
      line: 2,
    };
  }
  // JSON as the document store keeps it: NaN and ±Infinity (`.nan`, `.inf`) become null.
  const metadata = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  return { kind: 'ok', metadata, body, bodyLine };
}
