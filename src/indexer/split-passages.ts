/**
 * Splitting long documents into overlapping passages of at most `window` tokens, ColBERT style.
 * A document of ≤ window tokens is one passage (the whole text). A longer one gets windows starting
 * every `stride` tokens; the last window is anchored to the final token, so there is never a short
 * trailing window (it overlaps its predecessor more instead). Windows are cut at token boundaries
 * using the tokens' UTF-16 offsets: a window runs from its first token's start to its last token's
 * end, except that the first window starts at 0 and the last one ends at the end of the text (so
 * text before the first token or after the last one is not lost).
 */

import { invalidArgument } from '../errors/index.js';
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
