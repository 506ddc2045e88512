/**
 * A Markdown file's front matter (Jekyll, Hugo, Obsidian, gray-matter): YAML between a first line
 * `---` and a line `---` (or `...`), or TOML between two `+++` lines, as Hugo writes it. It is the
 * note's metadata, not its text: before this reader, a folder of notes stored it as body text —
 * every hit's snippet began with `title: … tags: …`, BM25 counted the title twice more (cisi note
 * 1: tf 5 for "dewey" where the body has it twice) and `--filter '{"year": …}'` matched nothing,
 * since no document had metadata (trial 10). Hugo's `+++` TOML had still been read as text (trial 2
 * of trial 10: `title = "…"` in every snippet, no metadata).
 *
 * YAML 1.2 core schema (the `yaml` package, already a dependency of @fastify/swagger): a date stays
 * the string written (`2024-01-05`), values are normalised to JSON as the document store keeps them.
 * TOML 1.0 (`smol-toml`): a date is a typed value, stored as its ISO text (`2024-02-01`, and an
 * offset date-time as `2024-02-01T10:00:00Z`), so a filter compares it as a string either way.
 * The `title` is the note's title as written, also when YAML reads it as a number, a boolean or a
 * date (`title: 2001` is "2001", as Hugo and Jekyll print it; it had been dropped for the file name);
 * a list or a map there is malformed (a JSONL line's non-string title is refused too).
 * A file whose first line is `---` or `+++` but that has no closing line is read as plain text (a
 * thematic break, not front matter).
 */

import { lazyModule } from '../../util/lazy-module.js';

/** Loaded at the first note with front matter (util/lazy-module.ts). */
const yaml = lazyModule<typeof import('yaml')>('yaml');
const toml = lazyModule<typeof import('smol-toml')>('smol-toml');

/** What the front matter of one file gave. */
export type FrontMatter =
  | { kind: 'none' }
  | {
      kind: 'ok';
      /** The mapping as JSON (empty front matter: `{}`). */
      metadata: Record<string, unknown>;
      /** The `title` as written (trimmed), when the front matter gives a non-empty one. */
      title?: string;
      /** The text after the closing line. */
      body: string;
      /** 1-based line of the body's first line in the file. */
      bodyLine: number;
    }
  | { kind: 'malformed'; message: string; /** 1-based line in the file. */ line: number };

const YAML_OPEN = /^---[ \t]*$/;
const YAML_CLOSE = /^(?:---|\.\.\.)[ \t]*$/;
const TOML_FENCE = /^\+\+\+[ \t]*$/;

/**
 * Splits `text` (LF line ends, no BOM) into its front matter and body.
 * Never throws: a YAML or TOML error, or a front matter that is not a mapping, is `malformed`, with the line.
 */
export function readFrontMatter(text: string): FrontMatter {
  const lines = text.split('\n');
  const first = lines[0] ?? '';
  const toml = TOML_FENCE.test(first);
  if (!toml && !YAML_OPEN.test(first)) return { kind: 'none' };
  const closing = toml ? TOML_FENCE : YAML_CLOSE;
  let close = -1;
  for (let i = 1; i < lines.length; i++) {
    if (closing.test(lines[i] as string)) {
      close = i;
      break;
    }
  }
  if (close < 0) return { kind: 'none' };
  const source = lines.slice(1, close).join('\n');
  const body = lines.slice(close + 1).join('\n');
  const bodyLine = close + 2;
  const read = toml ? readToml(source) : readYaml(source);
  if (read.kind === 'malformed') return read;
  // JSON as the document store keeps it: NaN and ±Infinity (`.nan`, `.inf`) become null, TOML dates ISO text.
  const metadata = JSON.parse(JSON.stringify(read.value, dateText)) as Record<string, unknown>;
  const out: FrontMatter = { kind: 'ok', metadata, body, bodyLine };
  if (read.title !== undefined && read.title.trim().length > 0) out.title = read.title.trim();
  return out;
}

/**
 * A TOML date as ISO text without the `.000` that smol-toml adds to a time written with no fraction:
 * `2024-02-01T10:00:00Z` as a YAML note writes it (kept as written), so that a range filter compares
 * the two alike (`.000Z` sorted before `Z`: `{"$gte": "2024-02-01T10:00:00Z"}` missed the TOML note).
 */
function dateText(this: unknown, key: string, value: unknown): unknown {
  const original = (this as Record<string, unknown>)[key];
  return original instanceof Date && typeof value === 'string' ? value.replace(/\.000(?=Z|[+-]\d\d:\d\d|$)/, '') : value;
}

type Read = { kind: 'ok'; value: Record<string, unknown>; title?: string } | { kind: 'malformed'; message: string; line: number };

/** `what` is not a mapping: the message names what it is. */
function notMapping(value: unknown): Read {
  return {
    kind: 'malformed',
    message: `expected a mapping of keys (\`year: 2024\`, one a line) but the front matter is ${Array.isArray(value) ? 'a list' : `a ${typeof value}`}`,
    line: 2,
  };
}

/** A `title` that is a list or a map: no text to show (the line is the front matter's first). */
function titleNotText(value: unknown, line: number): Read {
  return { kind: 'malformed', message: `"title" is ${Array.isArray(value) ? 'a list' : 'a map'}, not text (write it as one line: \`title: My note\`)`, line };
}

function readYaml(source: string): Read {
  const { parseDocument, isMap, isScalar } = yaml();
  const doc = parseDocument(source, { prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number): number => 2 + (source.slice(0, Math.min(offset, source.length)).match(/\n/g)?.length ?? 0);
  const error = doc.errors[0];
  // The error's offset into the YAML, as a line of the file (the YAML starts on line 2).
  if (error !== undefined) return { kind: 'malformed', message: error.message, line: lineOf(error.pos[0]) };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // An alias bomb (`l2: [*l1, *l1, …]`) throws past 100 expansions: it had failed the whole build as
    // BUILD_FAILED naming no file, where --skip-invalid could not skip it.
    return { kind: 'malformed', message: `${(e as Error).message} (aliases expand to more than 100 copies)`, line: 2 };
  }
  if (value === null || value === undefined) return { kind: 'ok', value: {} };
  if (typeof value !== 'object' || Array.isArray(value)) return notMapping(value);
  const out: Read = { kind: 'ok', value: value as Record<string, unknown> };
  const node: unknown = doc.get('title', true);
  if (isScalar(node)) {
    // The scalar's text as written: `title: 2001` is the number 2001 in the metadata, "2001" as the title.
    const written = node.value === null ? undefined : (node.source ?? String(node.value as string | number | boolean));
    if (written !== undefined) out.title = typeof node.value === 'string' ? node.value : written;
  } else if (node !== undefined && node !== null) {
    // The line of the `title:` key, where the list or map begins.
    const pair = isMap(doc.contents) ? doc.contents.items.find((p) => isScalar(p.key) && p.key.value === 'title') : undefined;
    const at = isScalar(pair?.key) ? (pair.key.range?.[0] ?? 0) : 0;
    return titleNotText((value as Record<string, unknown>)['title'], lineOf(at));
  }
  return out;
}

function readToml(source: string): Read {
  let value: Record<string, unknown>;
  try {
    value = toml().parse(source) as Record<string, unknown>;
  } catch (e) {
    if (!(e instanceof toml().TomlError)) throw e;
    // smol-toml's message repeats the line with a caret under the column: keep its first line's reason.
    const first = (e.message.split('\n')[0] ?? e.message).replace(/^Invalid TOML document: /, '');
    return { kind: 'malformed', message: `TOML: ${first}`, line: 1 + e.line };
  }
  const out: Read = { kind: 'ok', value };
  const title = value['title'];
  if (title === undefined) return out;
  if (typeof title === 'object' && !(title instanceof Date)) {
    const at = source.split('\n').findIndex((l) => /^\s*title\s*=/.test(l) || /^\s*\[+\s*title\s*\]/.test(l));
    return titleNotText(title, at < 0 ? 2 : at + 2);
  }
  out.title = title instanceof Date ? JSON.parse(JSON.stringify(title)) as string : String(title as string | number | boolean);
  return out;
}
