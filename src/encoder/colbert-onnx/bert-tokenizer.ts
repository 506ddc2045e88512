/**
 * A synchronous BERT WordPiece tokenizer built from a `tokenizer.json`, for `TextTokenizer.tokenize`
 * (the `tokenizers` binding only encodes asynchronously). It follows the Rust implementation step by
 * step — added tokens, BertNormalizer (clean text, CJK spacing, accent stripping, lowercase),
 * BertPreTokenizer (whitespace and punctuation), greedy longest-match WordPiece — and keeps UTF-16
 * offsets into the original text. test/colbert-onnx-tokenizer.test.ts checks it against the binding.
 * Other tokenizer types go through the binding on a worker (tokenizer-bridge.ts).
 */
import type { TokenizedText } from '../types.js';
import { BridgedTokenizer } from './tokenizer-bridge.js';

interface NormalizerSettings {
  cleanText: boolean;
  handleChineseChars: boolean;
  stripAccents: boolean;
  lowercase: boolean;
}

interface AddedToken {
  content: string;
  id: number;
}

export interface WordPieceSettings {
  vocab: Map<string, number>;
  unkId: number;
  prefix: string;
  maxInputCharsPerWord: number;
  normalizer: NormalizerSettings | null;
  /** Added tokens matched on the raw text (those with normalized: false), longest first. */
  addedTokens: AddedToken[];
}

/** A character of the normalized text and the UTF-16 span of the original text it came from. */
interface NChar {
  ch: string;
  start: number;
  end: number;
}

const CONTROL = /^\p{C}$/u;
const WHITESPACE = /^\p{White_Space}$/u;
const UNICODE_PUNCT = /^\p{P}$/u;
const MARK_NONSPACING = /^\p{Mn}$/u;

function isAsciiPunct(c: number): boolean {
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

function isChinese(c: number): boolean {
  return (
    (c >= 0x4e00 && c <= 0x9fff) ||
    (c >= 0x3400 && c <= 0x4dbf) ||
    (c >= 0x20000 && c <= 0x2a6df) ||
    (c >= 0x2a700 && c <= 0x2b73f) ||
    (c >= 0x2b740 && c <= 0x2b81f) ||
    (c >= 0x2b920 && c <= 0x2ceaf) ||
    (c >= 0xf900 && c <= 0xfaff) ||
    (c >= 0x2f800 && c <= 0x2fa1f)
  );
}

function isWhitespace(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c < 0x80) return c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12;
  return WHITESPACE.test(ch);
}

function isPunct(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c < 0x80) return isAsciiPunct(c);
  return UNICODE_PUNCT.test(ch);
}

/** Parses the parts of tokenizer.json this tokenizer understands; null when it is not BERT WordPiece. */
export function wordPieceSettings(json: unknown): WordPieceSettings | null {
  const j = json as {
    model?: { type?: string; vocab?: Record<string, number>; unk_token?: string; continuing_subword_prefix?: string; max_input_chars_per_word?: number };
    normalizer?: { type?: string; clean_text?: boolean; handle_chinese_chars?: boolean; strip_accents?: boolean | null; lowercase?: boolean } | null;
    pre_tokenizer?: { type?: string } | null;
    added_tokens?: { id: number; content: string; normalized?: boolean }[];
  };
  const m = j.model;
  if (m?.type !== 'WordPiece' || m.vocab === undefined) return null;
  if (j.pre_tokenizer?.type !== 'BertPreTokenizer') return null;
  const n = j.normalizer;
  if (n !== null && n !== undefined && n.type !== 'BertNormalizer') return null;
  const vocab = new Map(Object.entries(m.vocab));
  const unk = vocab.get(m.unk_token ?? '[UNK]');
  if (unk === undefined) return null;
  const lowercase = n?.lowercase ?? true;
  return {
    vocab,
    unkId: unk,
    prefix: m.continuing_subword_prefix ?? '##',
    maxInputCharsPerWord: m.max_input_chars_per_word ?? 100,
    normalizer:
      n === null || n === undefined
        ? null
        : {
            cleanText: n.clean_text ?? true,
            handleChineseChars: n.handle_chinese_chars ?? true,
            stripAccents: n.strip_accents ?? lowercase,
            lowercase,
          },
    addedTokens: (j.added_tokens ?? [])
      .filter((t) => t.normalized !== true && t.content.length > 0)
      .map((t) => ({ content: t.content, id: t.id }))
      .sort((a, b) => b.content.length - a.content.length),
  };
}

export class BertTokenizer {
  constructor(private readonly s: WordPieceSettings) {}

  tokenize(text: string): TokenizedText {
    const ids: number[] = [];
    const offsets: number[] = [];
    let segmentStart = 0;
    let i = 0;
    // Added tokens split the raw text first and are never normalized or split further.
    while (i < text.length) {
      const hit = this.s.addedTokens.find((t) => text.startsWith(t.content, i));
      if (hit === undefined) {
        i++;
        continue;
      }
      this.tokenizeSegment(text, segmentStart, i, ids, offsets);
      ids.push(hit.id);
      offsets.push(i, i + hit.content.length);
      i += hit.content.length;
      segmentStart = i;
    }
    this.tokenizeSegment(text, segmentStart, text.length, ids, offsets);
    return { ids: Int32Array.from(ids), offsets: Int32Array.from(offsets) };
  }

  private normalize(text: string, from: number, to: number): NChar[] {
    const out: NChar[] = [];
    const n = this.s.normalizer;
    let i = from;
    while (i < to) {
      const cp = text.codePointAt(i)!;
      const width = cp > 0xffff ? 2 : 1;
      const start = i;
      const end = i + width;
      i = end;
      if (cp < 0x80 && n !== null) {
        // ASCII fast path: the same rules without regular expressions or NFD.
        if (cp === 9 || cp === 10 || cp === 13 || cp === 32) out.push({ ch: ' ', start, end });
        else if (cp < 32 || cp === 127) {
          if (!n.cleanText) out.push({ ch: String.fromCharCode(cp), start, end });
        } else out.push({ ch: String.fromCharCode(n.lowercase && cp >= 65 && cp <= 90 ? cp + 32 : cp), start, end });
        continue;
      }
      let ch = String.fromCodePoint(cp);
      if (n === null) {
        out.push({ ch, start, end });
        continue;
      }
      if (n.cleanText) {
        if (cp === 0 || cp === 0xfffd || (ch !== '\t' && ch !== '\n' && ch !== '\r' && CONTROL.test(ch))) continue;
        if (isWhitespace(ch)) ch = ' ';
      }
      const emit = (c: string): void => {
        let pieces = c;
        if (n.stripAccents) pieces = [...pieces.normalize('NFD')].filter((p) => !MARK_NONSPACING.test(p)).join('');
        for (const p of pieces) {
          const lowered = n.lowercase ? p.toLowerCase() : p;
          for (const q of lowered) out.push({ ch: q, start, end });
        }
      };
      if (n.handleChineseChars && isChinese(cp)) {
        out.push({ ch: ' ', start, end });
        emit(ch);
        out.push({ ch: ' ', start, end });
      } else emit(ch);
    }
    return out;
  }

  private tokenizeSegment(text: string, from: number, to: number, ids: number[], offsets: number[]): void {
    if (from >= to) return;
    const chars = this.normalize(text, from, to);
    let word: NChar[] = [];
    const flush = (): void => {
      if (word.length > 0) this.wordPiece(word, ids, offsets);
      word = [];
    };
    for (const c of chars) {
      if (isWhitespace(c.ch)) flush();
      else if (isPunct(c.ch)) {
        flush();
        word = [c];
        flush();
      } else word.push(c);
    }
    flush();
  }

  private wordPiece(word: NChar[], ids: number[], offsets: number[]): void {
    const whole = (): void => {
      ids.push(this.s.unkId);
      offsets.push(word[0]!.start, word[word.length - 1]!.end);
    };
    if (word.length > this.s.maxInputCharsPerWord) return whole();
    const pieceIds: number[] = [];
    const pieceOffsets: number[] = [];
    let start = 0;
    while (start < word.length) {
      let end = word.length;
      let found = -1;
      while (end > start) {
        let piece = '';
        for (let k = start; k < end; k++) piece += word[k]!.ch;
        if (start > 0) piece = this.s.prefix + piece;
        const id = this.s.vocab.get(piece);
        if (id !== undefined) {
          found = id;
          break;
        }
        end--;
      }
      if (found < 0) return whole();
      pieceIds.push(found);
      pieceOffsets.push(word[start]!.start, word[end - 1]!.end);
      start = end;
    }
    ids.push(...pieceIds);
    offsets.push(...pieceOffsets);
  }
}

/**
 * The sync tokenizer for a tokenizer.json: in-thread for BERT WordPiece; otherwise the `tokenizers`
 * binding behind a worker bridge, started on the first call (the encoder workers never need it).
 */
export function syncTokenizerFor(json: unknown, file: string): { tokenize(text: string): TokenizedText } {
  const settings = wordPieceSettings(json);
  if (settings !== null) return new BertTokenizer(settings);
  let bridge: BridgedTokenizer | null = null;
  return {
    tokenize: (text: string): TokenizedText => {
      bridge ??= new BridgedTokenizer(file);
      return bridge.tokenize(text);
    },
  };
}
