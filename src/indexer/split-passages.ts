/**
 * Splitting long documents into overlapping passages of at most `window` tokens, ColBERT style.
 * A document of ≤ window tokens is one passage (the whole text). A longer one gets windows starting
 * every `stride` tokens; the last window is anchored to the final token, so there is never a short
 * trailing window (it overlaps its predecessor more instead). Windows are cut at token boundaries
 * using the tokens' UTF-16 offsets: a window runs from its first token's start to its last token's
 * end, except that the first window starts at 0 and the last one ends at the end of the text (so
 * text before the first token or after the last one is not lost).
 */

import { invalidArgument, checkFunction, checkString } from '../errors/index.js';
import type { TokenizedText } from '../encoder/types.js';

export interface Passage {
  text: string;
  /** [start, end) UTF-16 offsets into the split text. */
  start: number;
  end: number;
}

/** Token windows [from, to) for n tokens; exported for callers that need the windows themselves. */
export function passageWindows(nTokens: number, window: number, stride: number): Array<[number, number]> {
  if (nTokens <= window) return [[0, nTokens]];
  const out: Array<[number, number]> = [];
  for (let from = 0; ; from += stride) {
    if (from + window >= nTokens) {
      out.push([nTokens - window, nTokens]);
      return out;
    }
    out.push([from, from + window]);
  }
}

export function splitIntoPassages(text: string, tokens: TokenizedText, window: number, stride: number): Passage[] {
  if (!Number.isInteger(window) || window < 1) throw invalidArgument('window', 'a positive integer', window);
  if (!Number.isInteger(stride) || stride < 1 || stride > window) throw invalidArgument('stride', `an integer in [1, ${window}]`, stride);
  const n = tokens.ids.length;
  if (tokens.offsets.length !== 2 * n) throw invalidArgument('tokens.offsets', `${2 * n} offsets (2 per token)`, tokens.offsets.length);
  if (n <= window) return [{ text, start: 0, end: text.length }];
  const { offsets } = tokens;
  return passageWindows(n, window, stride).map(([from, to]) => {
    const start = from === 0 ? 0 : (offsets[2 * from] as number);
    const end = to === n ? text.length : (offsets[2 * to - 1] as number);
    return { text: text.slice(start, end), start, end };
  });
}

/**
 * `splitIntoPassages` for documents of any length: a text longer than `blockChars` is tokenized
 * block by block (each block cut at whitespace), so the tokenizer never sees more than a block and
 * a 5 MB document streams its passages. Windows are the same as `splitIntoPassages` gives (for a
 * tokenizer that splits at whitespace, as every model's pre-tokenizer does) except the very last
 * one, which runs from the first window not yet emitted to the end and may be shorter than
 * `window` instead of being anchored to the final token. Each block after the first starts at the
 * first token of the next window, so consecutive passages overlap by window − stride tokens across
 * block seams as within blocks.
 */
export function splitLongText(text: string, tokenize: (text: string) => TokenizedText, window: number, stride: number, blockChars: number): Passage[] {
  checkString('text', text);
  checkFunction('tokenize', tokenize, 'a function (text) => TokenizedText');
  if (text.length <= blockChars) return splitIntoPassages(text, tokenize(text), window, stride);
  if (!Number.isInteger(window) || window < 1) throw invalidArgument('window', 'a positive integer', window);
  if (!Number.isInteger(stride) || stride < 1 || stride > window) throw invalidArgument('stride', `an integer in [1, ${window}]`, stride);
  const out: Passage[] = [];
  let pos = 0;
  let size = blockChars;
  for (;;) {
    let end = pos + size;
    const last = end >= text.length || /^\s*$/.test(text.slice(end));
    if (last) end = text.length;
    else {
      // Cut at the last whitespace of the block, so no word is split between two tokenizer calls.
      const ws = text.slice(pos, end).search(/\s\S*$/);
      if (ws > 0) end = pos + ws;
    }
    const block = text.slice(pos, end);
    const tokens = tokenize(block);
    const n = tokens.ids.length;
    const at = (i: number): number => pos + (tokens.offsets[i] as number);
    if (last) {
      if (n === 0) {
        // Nothing the tokenizer keeps: the tail joins the previous passage's text.
        const prev = out.pop();
        const start = prev === undefined ? 0 : prev.start;
        out.push({ text: text.slice(start), start, end: text.length });
        return out;
      }
      const windows = out.length === 0 ? passageWindows(n, window, stride) : tailWindows(n, window, stride);
      for (const [from, to] of windows) {
        const start = out.length === 0 && from === 0 ? 0 : at(2 * from);
        const e = to === n ? text.length : at(2 * to - 1);
        out.push({ text: text.slice(start, e), start, end: e });
      }
      return out;
    }
    // Emit the windows that end inside this block; the next block starts at the next window.
    let from = 0;
    for (; from + window <= n; from += stride) {
      const start = out.length === 0 && from === 0 ? 0 : at(2 * from);
      const e = at(2 * (from + window) - 1);
      out.push({ text: text.slice(start, e), start, end: e });
    }
    if (from === 0) {
      // Fewer tokens than one window in a whole block (very long tokens): take a bigger block.
      size *= 2;
      continue;
    }
    pos = at(2 * from);
    size = blockChars;
  }
}

/** Windows of the final block: every stride tokens while a full window fits, then the rest as one. */
function tailWindows(n: number, window: number, stride: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let from = 0;
  for (; from + window < n; from += stride) out.push([from, from + window]);
  if (from < n || out.length === 0) out.push([from, n]);
  return out;
}
