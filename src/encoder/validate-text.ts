import { ENCODER_DEFAULTS } from '../config/defaults.js';
import { PlaitError, describe } from '../errors/index.js';

/**
 * Checks one input text before it reaches a tokenizer: a string, not empty after trimming, no
 * unpaired UTF-16 surrogates (what invalid UTF-8 becomes once decoded leniently shows up as U+FFFD,
 * which is allowed; lone surrogates cannot be encoded as UTF-8 at all), and not absurdly long.
 */
export function validateText(text: unknown, index: number): string {
  if (typeof text !== 'string') {
    throw new PlaitError('INVALID_INPUT', { message: `text ${index} must be a string but received ${describe(text)}`, index });
  }
  if (text.trim().length === 0) throw new PlaitError('EMPTY_TEXT', { message: `text ${index} is empty`, index });
  if (text.length > ENCODER_DEFAULTS.maxTextLength) {
    throw new PlaitError('QUERY_TOO_LARGE', {
      message: `text ${index} has ${text.length} characters; the limit is ${ENCODER_DEFAULTS.maxTextLength}`,
      index,
    });
  }
  if (!isWellFormed(text)) {
    throw new PlaitError('TEXT_NOT_UTF8', { message: `text ${index} contains an unpaired surrogate`, index });
  }
  return text;
}

/** False when `s` holds an unpaired UTF-16 surrogate (a string JSON can carry but UTF-8 cannot). */
export function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const n = s.charCodeAt(i + 1);
      if (!(n >= 0xdc00 && n <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

/** Decodes bytes as UTF-8 strictly, with a clear error naming where the bad input came from. */
export function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new PlaitError('TEXT_NOT_UTF8', { message: `${source} is not valid UTF-8`, source }, { cause });
  }
}
