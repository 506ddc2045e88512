/**
 * The SentencePiece tokenizer as it was before its trie and normalisation were made faster
 * (src/encoder/use-lite/sentencepiece-tokenizer.ts, commit 7c50b93), kept unchanged as the oracle
 * of test/use-lite-tokenizer.test.ts's differential test: the faster one must give the same ids and offsets.
 */
import type { TokenizedText } from '../../src/encoder/types.js';

/** '▁', SentencePiece's word-boundary marker. */
const SEPARATOR = '\u2581';
const SEPARATOR_CODE = 0x2581;
/** Id of the unknown piece in USE-lite's vocabulary. */
const UNK_ID = 0;
/** Ids 0..5 are unk, <s>, </s> and three user symbols: never produced by segmentation. */
const RESERVED_PIECES = 6;
/** SentencePiece's penalty for an unknown character, below the lowest piece score. */
const UNK_PENALTY = 10;

export type Vocabulary = ReadonlyArray<readonly [string, number]>;

interface TrieNode {
  children: Map<number, TrieNode>;
  /** Piece id ending here, or -1. */
  id: number;
}

/** The original-text range behind each unit of the normalised string. */
interface Normalised {
  text: string;
  origStart: Int32Array;
  origEnd: Int32Array;
}

export class OracleSentencePieceTokenizer {
  private readonly root: TrieNode = { children: new Map(), id: -1 };
  private readonly scores: Float64Array;
  private readonly unkScore: number;

  constructor(vocabulary: Vocabulary) {
    this.scores = new Float64Array(vocabulary.length);
    let minScore = 0;
    for (let id = 0; id < vocabulary.length; id++) {
      const [piece, score] = vocabulary[id]!;
      this.scores[id] = score;
      if (id < RESERVED_PIECES || piece.length === 0) continue;
      minScore = Math.min(minScore, score);
      let node = this.root;
      for (let k = 0; k < piece.length; k++) {
        const c = piece.charCodeAt(k);
        let next = node.children.get(c);
        if (next === undefined) {
          next = { children: new Map(), id: -1 };
          node.children.set(c, next);
        }
        node = next;
      }
      node.id = id;
    }
    this.unkScore = minScore - UNK_PENALTY;
  }

  get vocabSize(): number {
    return this.scores.length;
  }

  tokenize(text: string): TokenizedText {
    const norm = normalise(text);
    const { ids, lengths } = this.segment(norm.text);
    const offsets = new Int32Array(ids.length * 2);
    let pos = 0;
    for (let t = 0; t < ids.length; t++) {
      const end = pos + lengths[t]!;
      // Skip the word-boundary marker so that "▁the" points at "the" (unless the token is only '▁').
      let first = pos;
      while (first < end - 1 && norm.text.charCodeAt(first) === SEPARATOR_CODE) first++;
      offsets[2 * t] = norm.origStart[first]!;
      offsets[2 * t + 1] = norm.origEnd[end - 1]!;
      pos = end;
    }
    return { ids: Int32Array.from(ids), offsets };
  }

  /** Like `tokenize`, but the normalised pieces themselves (for tests and debugging). */
  pieces(text: string): string[] {
    const norm = normalise(text);
    const { lengths } = this.segment(norm.text);
    const out: string[] = [];
    let pos = 0;
    for (const len of lengths) {
      out.push(norm.text.slice(pos, pos + len));
      pos += len;
    }
    return out;
  }

  /**
   * Viterbi over the lattice of pieces. Returns piece ids and their lengths in normalised UTF-16
   * units; a run of unknown characters is one UNK_ID token.
   */
  private segment(s: string): { ids: number[]; lengths: number[] } {
    const n = s.length;
    const ids: number[] = [];
    const lengths: number[] = [];
    if (n === 0) return { ids, lengths };
    const best = new Float64Array(n + 1).fill(-Infinity);
    const backId = new Int32Array(n + 1).fill(-1);
    const backLen = new Int32Array(n + 1);
    best[0] = 0;
    for (let i = 0; i < n; i++) {
      if (best[i] === -Infinity) continue;
      const base = best[i]!;
      const charLen = codePointLength(s, i);
      let coversChar = false;
      let node: TrieNode | undefined = this.root;
      for (let j = i; j < n; j++) {
        node = node.children.get(s.charCodeAt(j));
        if (node === undefined) break;
        if (node.id < 0) continue;
        const len = j + 1 - i;
        if (len === charLen) coversChar = true;
        const score = base + this.scores[node.id]!;
        // Strictly greater: on a tie the path found first wins, so results never depend on trie order.
        if (score > best[j + 1]!) {
          best[j + 1] = score;
          backId[j + 1] = node.id;
          backLen[j + 1] = len;
        }
      }
      if (!coversChar) {
        const score = base + this.unkScore;
        if (score > best[i + charLen]!) {
          best[i + charLen] = score;
          backId[i + charLen] = UNK_ID;
          backLen[i + charLen] = charLen;
        }
      }
    }
    const revIds: number[] = [];
    const revLengths: number[] = [];
    for (let end = n; end > 0; end -= backLen[end]!) {
      revIds.push(backId[end]!);
      revLengths.push(backLen[end]!);
    }
    for (let k = revIds.length - 1; k >= 0; k--) {
      const id = revIds[k]!;
      if (id === UNK_ID && ids.length > 0 && ids[ids.length - 1] === UNK_ID) {
        lengths[lengths.length - 1]! += revLengths[k]!;
        continue;
      }
      ids.push(id);
      lengths.push(revLengths[k]!);
    }
    return { ids, lengths };
  }
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

const WHITESPACE = /\s/u;
/** Code points that attach to the preceding one under normalisation: marks and Hangul medial/final jamo. */
const CONTINUATION = /^[\p{M}\u1160-\u11ff\ud7b0-\ud7ff]$/u;

/** NFKC cluster by cluster, whitespace runs → one '▁', a leading '▁'; records each unit's origin. */
function normalise(text: string): Normalised {
  const units: string[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  const push = (s: string, start: number, end: number): void => {
    for (let k = 0; k < s.length; k++) {
      units.push(s[k]!);
      starts.push(start);
      ends.push(end);
    }
  };
  let pendingSpace: [number, number] | null = null;
  let i = 0;
  while (i < text.length) {
    const start = i;
    i += codePointLength(text, i);
    while (i < text.length && isContinuation(text, i)) i += codePointLength(text, i);
    // ASCII is already NFKC: skip the call on the common path.
    const cluster = i - start === 1 && text.charCodeAt(start) < 0x80 ? text[start]! : text.slice(start, i).normalize('NFKC');
    // NFKC may itself produce whitespace (U+00A0 → ' ', U+3000 → ' '), so split after normalising.
    for (const piece of splitOnWhitespace(cluster)) {
      if (piece === null) {
        pendingSpace = pendingSpace === null ? [start, i] : [pendingSpace[0], i];
        continue;
      }
      if (units.length === 0) push(SEPARATOR, start, start);
      else if (pendingSpace !== null) push(SEPARATOR, pendingSpace[0], pendingSpace[1]);
      pendingSpace = null;
      push(piece, start, i);
    }
  }
  return { text: units.join(''), origStart: Int32Array.from(starts), origEnd: Int32Array.from(ends) };
}

/** Splits a normalised cluster into non-whitespace strings and `null` for each whitespace run. */
function splitOnWhitespace(s: string): Array<string | null> {
  const out: Array<string | null> = [];
  let word = '';
  for (const ch of s) {
    if (WHITESPACE.test(ch)) {
      if (word.length > 0) out.push(word);
      word = '';
      if (out[out.length - 1] !== null) out.push(null);
    } else word += ch;
  }
  if (word.length > 0) out.push(word);
  return out;
}

function isContinuation(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (c < 0x300) return false;
  return CONTINUATION.test(String.fromCodePoint(s.codePointAt(i)!));
}

function codePointLength(s: string, i: number): number {
  return isHighSurrogate(s.charCodeAt(i)) && i + 1 < s.length ? 2 : 1;
}
