/**
 * Synonyms in Solr's `synonyms.txt` format (SolrSynonymParser, the format users of Solr,
 * Elasticsearch and OpenSearch already keep):
 *
 *   # a comment line
 *   couch, sofa, settee          equivalent: with expand (the default) each maps to all of them
 *   tv, television => television explicit: a left-hand term is replaced by the right-hand ones
 *   united states, usa           a term may be several words
 *   a\,b, c                      `\` escapes the next character (`\,` a comma inside a term)
 *
 * Blank lines and lines starting with `#` are skipped; more than one `=>` on a line, or an empty
 * term (`a,,b`, `=> b`) is SYNONYMS_INVALID naming file and line. Rules for the same term merge, as
 * Solr merges them. With `expand: false` an equivalent line maps every term to its first one.
 *
 * Terms are kept as written; they are matched against a query after the index's own BM25
 * tokeniser (SQLite's, stemmed) has seen both, so "Couch" and "couches" match the rule for couch
 * (query-rewriter.ts).
 *
 * WordNet's prolog synonyms (`wn_s.pl`, one word sense a line: `s(102084071,1,'dog',n,1,42).`) are
 * read as Solr's WordnetSynonymParser and Elasticsearch's `format: wordnet` read them: the words
 * of one synset are an equivalent group (`''` inside a word is a quote). The format is told by the
 * file's first rule line (`format: 'auto'`, the default) or named (`format: 'solr' | 'wordnet'`);
 * a line of the other format is SYNONYMS_INVALID naming file and line. Read as Solr lines, as they
 * had been, every field became a term: "1" and "n" were synonyms of every word of the file, and
 * `--synonyms wn_s.pl` appended the file's synset numbers to every query holding "n".
 */

import { readFileSync } from 'node:fs';
import { PlaitError, invalidArgument, checkString } from '../errors/index.js';
import { checkOptionKeys, type OptionKeys } from '../util/option-keys.js';

/** One rule: the `from` phrase (one or more words) is expanded by the `to` phrases; `replace` drops the matched phrase. */
export interface SynonymRule {
  from: string;
  to: string[];
  replace: boolean;
}

/** Parsed synonyms: the rules in file order. */
export interface SynonymMap {
  rules: SynonymRule[];
}

/** A synonyms file's format: Solr's synonyms.txt, WordNet's prolog `wn_s.pl`, or told by the first rule line. */
export type SynonymsFormat = 'solr' | 'wordnet' | 'auto';
const SYNONYMS_FORMATS: readonly SynonymsFormat[] = ['solr', 'wordnet', 'auto'];

export interface ParseSynonymsOptions {
  /** Solr's `expand` (default true): an equivalent line maps each term to all; false maps each to the first. */
  expand?: boolean;
  /** Named in errors. */
  file?: string;
  /** The file's format (default 'auto': WordNet when the first rule line is an `s(…).` fact, else Solr). */
  format?: SynonymsFormat;
}
const PARSE_SYNONYMS_OPTION_KEYS = { expand: true, file: true, format: true } as const satisfies OptionKeys<ParseSynonymsOptions>;

/** One `wn_s.pl` fact: s(synset_id, w_num, 'word', ss_type, sense_number, tag_count). — the word may hold `''` (a quote). */
const WORDNET_LINE = /^s\((\d+),\d+,'((?:[^']|'')*)',[nvasr],\d+,\d+\)\.$/;

function invalid(file: string, line: number, message: string): PlaitError {
  return new PlaitError('SYNONYMS_INVALID', { message: `${file}:${line}: ${message}`, file, line });
}

/** Splits on an unescaped separator, unescaping `\x` to `x`; terms trimmed, inner spaces collapsed. */
function splitEscaped(text: string, separator: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
    } else if (text.startsWith(separator, i)) {
      out.push(cur);
      cur = '';
      i += separator.length - 1;
    } else cur += c;
  }
  out.push(cur);
  return out.map((t) => t.trim().replace(/\s+/g, ' '));
}

/** Splits a line at its unescaped `=>` (at most one). */
function splitArrow(text: string, file: string, lineNo: number): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && i + 1 < text.length) {
      cur += text.slice(i, i + 2);
      i++;
    } else if (text.startsWith('=>', i)) {
      parts.push(cur);
      cur = '';
      i++;
    } else cur += text[i];
  }
  parts.push(cur);
  if (parts.length > 2) throw invalid(file, lineNo, 'more than one "=>" on a line');
  return parts;
}

/**
 * Parses synonyms.txt text.
 * @throws PlaitError SYNONYMS_INVALID (file and line named)
 */
export function parseSynonyms(text: string, options: ParseSynonymsOptions = {}): SynonymMap {
  checkOptionKeys(options, PARSE_SYNONYMS_OPTION_KEYS, 'synonyms option');
  checkString('text', text, 'the text of a synonyms file (a string)');
  const file = options.file ?? '<synonyms>';
  const expand = options.expand ?? true;
  const format = options.format ?? 'auto';
  if (!SYNONYMS_FORMATS.includes(format)) throw invalidArgument('synonyms format', `one of ${SYNONYMS_FORMATS.join(', ')}`, format);
  const rules: SynonymRule[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const firstRule = lines.find((l) => l.trim() !== '' && !l.trim().startsWith('#'))?.trim();
  const wordnet = format === 'wordnet' || (format === 'auto' && firstRule !== undefined && firstRule.startsWith('s('));
  const synsets = new Map<string, string[]>();
  const equivalent = (group: readonly string[]): void => {
    if (group.length < 2) return; // a lone term maps to itself: nothing to do
    for (const f of group) {
      const to = expand ? group.filter((g) => g !== f) : f === group[0] ? [] : [group[0]!];
      if (to.length > 0) rules.push({ from: f, to, replace: !expand });
    }
  };
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fact = WORDNET_LINE.exec(line);
    if (wordnet) {
      if (fact === null) throw invalid(file, lineNo, `not a WordNet prolog line s(synset,w_num,'word',type,sense,tag). in a WordNet synonyms file: "${line}"`);
      const word = fact[2]!.replace(/''/g, "'").trim().replace(/\s+/g, ' ');
      const members = synsets.get(fact[1]!) ?? [];
      if (word !== '' && !members.includes(word)) members.push(word);
      synsets.set(fact[1]!, members);
      return;
    }
    if (fact !== null) throw invalid(file, lineNo, `a WordNet prolog line in a file whose first rule is in Solr's format: "${line}" (a WordNet file holds only s(…). lines)`);
    const sides = splitArrow(line, file, lineNo);
    const terms = (side: string): string[] => {
      const list = splitEscaped(side, ',');
      if (list.some((t) => t === '')) throw invalid(file, lineNo, `an empty term in "${line}"`);
      return list;
    };
    if (sides.length === 2) {
      const from = terms(sides[0]!);
      const to = terms(sides[1]!);
      for (const f of from) {
        const targets = to.filter((t) => t !== f);
        if (targets.length > 0) rules.push({ from: f, to: targets, replace: !to.includes(f) });
      }
      return;
    }
    equivalent(terms(sides[0]!));
  });
  for (const group of synsets.values()) equivalent(group);
  // Rules for the same term merge (Solr's SynonymMap.Builder): one rule per `from`, targets in order.
  const merged = new Map<string, SynonymRule>();
  for (const r of rules) {
    const key = r.from.toLowerCase();
    const have = merged.get(key);
    if (have === undefined) merged.set(key, { from: r.from, to: [...r.to], replace: r.replace });
    else {
      for (const t of r.to) if (!have.to.includes(t)) have.to.push(t);
      have.replace = have.replace && r.replace;
    }
  }
  return { rules: [...merged.values()].map((r) => ({ from: r.from, to: r.to, replace: r.replace })) };
}

/**
 * Reads and parses a synonyms file.
 * @throws PlaitError FILE_NOT_FOUND, SYNONYMS_INVALID
 */
export function readSynonyms(path: string, options: Omit<ParseSynonymsOptions, 'file'> = {}): SynonymMap {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new PlaitError('FILE_NOT_FOUND', { message: `cannot read the synonyms file ${path}`, path }, { cause: e });
  }
  return parseSynonyms(decodeUtf8(bytes, path), { ...options, file: path });
}

/**
 * The file's text, strictly UTF-8 (a UTF-8 byte-order mark is dropped). A file saved as UTF-16
 * (Windows Notepad's "Unicode") used to be read as UTF-8 without an error, every rule then holding
 * NULs or U+FFFD and never matching a query: `plait search --synonyms` ran as if without them.
 * @throws PlaitError SYNONYMS_INVALID naming the encoding, or the first line that is not UTF-8
 */
function decodeUtf8(bytes: Buffer, file: string): string {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw invalid(file, 1, 'the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8');
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    const text = decoder.decode(bytes);
    const nul = text.indexOf('\0');
    if (nul >= 0) throw invalid(file, lineAt(text, nul), 'a NUL character (is the file UTF-16 without a byte-order mark? save it as UTF-8)');
    return text;
  } catch (e) {
    if (e instanceof PlaitError) throw e;
    // The first line that does not decode, for the message.
    let line = 1;
    for (let start = 0; start <= bytes.length; line++) {
      const end = bytes.indexOf(0x0a, start);
      const stop = end < 0 ? bytes.length : end;
      try {
        decoder.decode(bytes.subarray(start, stop));
      } catch {
        break;
      }
      start = stop + 1;
    }
    throw invalid(file, line, 'not UTF-8; save the file as UTF-8');
  }
}

function lineAt(text: string, at: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) line++;
  return line;
}
