/**
 * A SentencePiece unigram tokenizer over USE-lite's `vocab.json` (`[piece, score]` pairs), with
 * UTF-16 offsets into the original text.
 *
 * Normalisation follows SentencePiece's `nmt_nfkc` as the model was trained with it: NFKC, runs of
 * whitespace collapsed to one '▁' (U+2581), leading and trailing whitespace dropped, and one '▁'
 * prepended. For single-spaced text this is exactly what `@tensorflow-models/universal-sentence-encoder`
 * does. Segmentation is Viterbi over piece scores; a character no piece covers becomes the unknown
 * piece (id 0), and a run of unknown characters becomes a single unknown token.
 *
 * Offsets: text is normalised one cluster at a time (a code point and the combining marks that follow
 * it), so every normalised UTF-16 unit knows the [start, end) range of original text it came from. A
 * token's range runs from its first non-'▁' unit to its last unit, so "▁the" points at "the".
 *
 * Speed: the trie is flattened into typed arrays (a dense table for the root's children, a hash of
 * the edges below it) and ASCII characters skip the cluster-by-cluster NFKC path (ASCII is NFKC already):
 * on scifact's 128-token passages 0.43 → ~0.1 ms a passage, what search highlights pay a hit
 * (bench/RESULTS.md, "Search highlights"). test/use-lite-tokenizer.test.ts holds the ids and
 * offsets to the previous implementation's (test/helpers/sentencepiece-oracle.ts).
 */
import type { TokenizedText } from '../types.js';

/** '▁' (U+2581), SentencePiece's word-boundary marker. */
const SEPARATOR_CODE = 0x2581;
/** Id of the unknown piece in USE-lite's vocabulary. */
export const UNK_ID = 0;
/** Ids 0..5 are unk, <s>, </s> and three user symbols: never produced by segmentation. */
const RESERVED_PIECES = 6;
/** SentencePiece's penalty for an unknown character, below the lowest piece score. */
const UNK_PENALTY = 10;

export type Vocabulary = ReadonlyArray<readonly [string, number]>;

/** The original-text range behind each unit of the normalised string. */
interface Normalised {
  text: string;
  origStart: Int32Array;
  origEnd: Int32Array;
}

/**
 * The trie as typed arrays: node 0 is the root; rootChild[c] is the root's child for UTF-16 unit c
 * (-1: none); node n > 0 has children childCode/childNode[childStart[n], childStart[n + 1]) sorted
 * by code; pieceId[n] is the piece ending at n, or -1.
 */
interface FlatTrie {
  rootChild: Int32Array;
  childStart: Int32Array;
  childCode: Uint16Array;
  childNode: Int32Array;
  pieceId: Int32Array;
  /**
   * Every edge below the root in an open-addressing table: key node·65,536 + code (EMPTY_EDGE: a
   * free slot), one probe a step where the sorted runs took a binary search (the '▁' node has
   * thousands of children). Null past 65,535 nodes or 32,768 edges (then the sorted runs are searched).
   */
  edgeKey: Uint32Array | null;
  edgeChild: Int32Array;
  edgeMask: number;
}

const EMPTY_EDGE = 0xffffffff;

/** Fibonacci hashing: the product's high bits (its low bits barely depend on the key's high ones). */
function edgeSlot(key: number, mask: number): number {
  return (Math.imul(key, 0x9e3779b1) >>> 16) & mask;
}

/**
 * The flat trie of `pieces` (piece id → text; an id absent from `ids` is not in the trie), built
 * from the pieces in UTF-16 order: consecutive pieces share their common prefix's path, so each node
 * is made once, in depth-first order, and a node's children come in code order — their edges are
 * laid out by counting, without a node object or a sort per node. Two pieces with the same text: the
 * larger id ends there (as a map of pieces would keep the last).
 * Building the trie of objects and flattening it had cost 57–74 ms of CPU a tokenizer (8,000 pieces),
 * paid by every process and every encoder worker that loads the bundled model.
 */
function flatTrie(pieces: readonly string[], ids: number[]): FlatTrie {
  ids.sort((a, b) => (pieces[a]! < pieces[b]! ? -1 : pieces[a]! > pieces[b]! ? 1 : a - b));
  let chars = 0;
  for (const id of ids) chars += pieces[id]!.length;
  // Nodes: 0 is the root; at most one a character.
  const parent = new Int32Array(chars + 1);
  const code = new Uint16Array(chars + 1);
  const pieceId = new Int32Array(chars + 1).fill(-1);
  const path = new Int32Array(1 + Math.max(0, ...ids.map((id) => pieces[id]!.length)));
  let nodes = 1;
  let prev = '';
  for (const id of ids) {
    const piece = pieces[id]!;
    let shared = 0;
    const most = Math.min(piece.length, prev.length);
    while (shared < most && piece.charCodeAt(shared) === prev.charCodeAt(shared)) shared++;
    for (let k = shared; k < piece.length; k++) {
      parent[nodes] = path[k]!;
      code[nodes] = piece.charCodeAt(k);
      path[k + 1] = nodes++;
    }
    pieceId[path[piece.length]!] = id;
    prev = piece;
  }
  const rootChild = new Int32Array(65536).fill(-1);
  const childStart = new Int32Array(nodes + 1);
  for (let n = 1; n < nodes; n++) {
    if (parent[n] === 0) rootChild[code[n]!] = n;
    else childStart[parent[n]! + 1]!++;
  }
  for (let n = 0; n < nodes; n++) childStart[n + 1]! += childStart[n]!;
  const edges = childStart[nodes]!;
  const childCode = new Uint16Array(edges);
  const childNode = new Int32Array(edges);
  const fill = childStart.slice(0, nodes);
  for (let n = 1; n < nodes; n++) {
    const p = parent[n]!;
    if (p === 0) continue;
    const e = fill[p]!++;
    childCode[e] = code[n]!;
    childNode[e] = n;
  }
  let size = 1;
  while (size < 2 * edges) size *= 2;
  // edgeSlot keeps 16 bits of the hash: a table of at most 65,536 slots, at most half full.
  const edgeKey = nodes < 0xffff && size <= 65536 ? new Uint32Array(size).fill(EMPTY_EDGE) : null;
  const edgeChild = new Int32Array(edgeKey === null ? 0 : size);
  for (let k = 1; edgeKey !== null && k < nodes; k++) {
    for (let e = childStart[k]!; e < childStart[k + 1]!; e++) {
      const key = k * 65536 + childCode[e]!;
      let slot = edgeSlot(key, size - 1);
      while (edgeKey[slot] !== EMPTY_EDGE) slot = (slot + 1) & (size - 1);
      edgeKey[slot] = key;
      edgeChild[slot] = childNode[e]!;
    }
  }
  return { rootChild, childStart, childCode, childNode, pieceId: pieceId.slice(0, nodes), edgeKey, edgeChild, edgeMask: size - 1 };
}

export class SentencePieceTokenizer {
  private readonly trie: FlatTrie;
  private readonly scores: Float64Array;
  private readonly unkScore: number;

  constructor(vocabulary: Vocabulary) {
    this.scores = new Float64Array(vocabulary.length);
    let minScore = 0;
    const pieces: string[] = new Array<string>(vocabulary.length);
    const inTrie: number[] = [];
    for (let id = 0; id < vocabulary.length; id++) {
      const [piece, score] = vocabulary[id]!;
      this.scores[id] = score;
      pieces[id] = piece;
      if (id < RESERVED_PIECES || piece.length === 0) continue;
      minScore = Math.min(minScore, score);
      inTrie.push(id);
    }
    this.unkScore = minScore - UNK_PENALTY;
    this.trie = flatTrie(pieces, inTrie);
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
      const { rootChild, childStart, childCode, childNode, pieceId, edgeKey, edgeChild, edgeMask } = this.trie;
      let node = rootChild[s.charCodeAt(i)]!;
      for (let j = i; j < n; j++) {
        if (j > i && edgeKey !== null) {
          const key = node * 65536 + s.charCodeAt(j);
          let slot = edgeSlot(key, edgeMask);
          let k = edgeKey[slot]!;
          while (k !== key && k !== EMPTY_EDGE) {
            slot = (slot + 1) & edgeMask;
            k = edgeKey[slot]!;
          }
          node = k === key ? edgeChild[slot]! : -1;
        } else if (j > i) {
          // The child for s[j] among node's sorted children (binary search: '▁' has thousands).
          const c = s.charCodeAt(j);
          let lo = childStart[node]!;
          let hi = childStart[node + 1]!;
          while (lo < hi) {
            const mid = (lo + hi) >>> 1;
            if (childCode[mid]! < c) lo = mid + 1;
            else hi = mid;
          }
          node = lo < childStart[node + 1]! && childCode[lo] === c ? childNode[lo]! : -1;
        }
        if (node < 0) break;
        const id = pieceId[node]!;
        if (id < 0) continue;
        const len = j + 1 - i;
        if (len === charLen) coversChar = true;
        const score = base + this.scores[id]!;
        // Strictly greater: on a tie the path found first wins, so results never depend on trie order.
        if (score > best[j + 1]!) {
          best[j + 1] = score;
          backId[j + 1] = id;
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

/** Whether an ASCII code is white space to /\s/u: tab, line feed, vertical tab, form feed, carriage return, space. */
function isAsciiSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * NFKC cluster by cluster, whitespace runs → one '▁', a leading '▁'; records each unit's origin.
 * A cluster of one ASCII character is its own NFKC form and is handled by its code (no string, no
 * regular expression); the units go into growing typed arrays.
 */
export function normalise(text: string): Normalised {
  let cap = text.length + 16;
  let units = new Uint16Array(cap);
  let starts = new Int32Array(cap);
  let ends = new Int32Array(cap);
  let n = 0;
  const pushUnit = (u: number, start: number, end: number): void => {
    if (n === cap) {
      cap *= 2;
      const grow = <T extends Uint16Array | Int32Array>(a: T, make: (k: number) => T): T => {
        const b = make(cap);
        b.set(a);
        return b;
      };
      units = grow(units, (k) => new Uint16Array(k));
      starts = grow(starts, (k) => new Int32Array(k));
      ends = grow(ends, (k) => new Int32Array(k));
    }
    units[n] = u;
    starts[n] = start;
    ends[n] = end;
    n++;
  };
  const push = (s: string, start: number, end: number): void => {
    for (let k = 0; k < s.length; k++) pushUnit(s.charCodeAt(k), start, end);
  };
  // The pending whitespace run [pendingStart, pendingEnd), -1 when none.
  let pendingStart = -1;
  let pendingEnd = -1;
  const separatorBefore = (start: number): void => {
    if (n === 0) pushUnit(SEPARATOR_CODE, start, start);
    else if (pendingStart >= 0) pushUnit(SEPARATOR_CODE, pendingStart, pendingEnd);
    pendingStart = -1;
  };
  let i = 0;
  while (i < text.length) {
    const start = i;
    const c0 = text.charCodeAt(i);
    i += codePointLength(text, i);
    while (i < text.length && isContinuation(text, i)) i += codePointLength(text, i);
    if (i - start === 1 && c0 < 0x80) {
      // ASCII is already NFKC.
      if (isAsciiSpace(c0)) {
        if (pendingStart < 0) pendingStart = start;
        pendingEnd = i;
        continue;
      }
      separatorBefore(start);
      pushUnit(c0, start, i);
      continue;
    }
    const cluster = text.slice(start, i).normalize('NFKC');
    // NFKC may itself produce whitespace (U+00A0 → ' ', U+3000 → ' '), so split after normalising.
    for (const piece of splitOnWhitespace(cluster)) {
      if (piece === null) {
        if (pendingStart < 0) pendingStart = start;
        pendingEnd = i;
        continue;
      }
      separatorBefore(start);
      push(piece, start, i);
    }
  }
  let out = '';
  for (let k = 0; k < n; k += 4096) out += String.fromCharCode(...units.subarray(k, Math.min(n, k + 4096)));
  return { text: out, origStart: starts.subarray(0, n), origEnd: ends.subarray(0, n) };
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
