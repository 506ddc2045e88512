/**
 * Text the model cannot represent. A tokenizer maps what its vocabulary lacks to one unknown token
 * (the bundled USE-lite model: each run of CJK characters or emoji becomes `<unk>`; WordPiece: a
 * word becomes [UNK]), so two unrelated texts in a script the model lacks embed alike and tie: a
 * ranking that looks like an answer but is not. This module counts, from an encoder's own output
 * (the `tokenIds` of its TokenEmbeddings, so nothing is tokenized twice), the content rows and the
 * unknown ones, and turns "most content tokens unknown" (CONTRACT_DEFAULTS.unknownTokenShare) into
 * a warning that the reranker's and the search's results carry and the server reports (response
 * warnings, and the `plait_unknown_text_total` counter in /metrics).
 */
import { plural } from '../util/plural.js';
import { CONTRACT_DEFAULTS } from '../config/defaults.js';
import type { Encoder, TokenEmbeddings } from './types.js';
import { checkArray, checkObject } from '../errors/index.js';

export interface UnknownTokenCount {
  /** Content rows (the rows the model adds around a text are not counted). */
  content: number;
  /** Of them, rows of the unknown token. */
  unknown: number;
}

/** A warning about a text the model mostly cannot represent. */
export interface TextWarning {
  code: 'MOSTLY_UNKNOWN_TOKENS';
  /** Which text: the query, or a document (its position in the request). */
  text: 'query' | 'document';
  index?: number;
  unknownTokens: number;
  contentTokens: number;
  message: string;
}

type CountingEncoder = Pick<Encoder, 'unknownTokenId' | 'specialTokenIds' | 'tokenText'>;

/** Per encoder: whether a token id carries no content (SentencePiece's bare word-start piece "▁"). */
const blankIds = new WeakMap<CountingEncoder, Map<number, boolean>>();

function isBlank(encoder: CountingEncoder, id: number): boolean {
  let known = blankIds.get(encoder);
  if (known === undefined) blankIds.set(encoder, (known = new Map()));
  let blank = known.get(id);
  if (blank === undefined) known.set(id, (blank = encoder.tokenText(id).replace(/[\s\u2581]/g, '') === ''));
  return blank;
}

/**
 * Counts content and unknown rows of `embeddings` (zeros when the encoder names no unknown token).
 * Not content: the rows the model adds (specialTokenIds) and pieces with no text of their own
 * (USE-lite writes "東京" as the word-start piece "▁" followed by `<unk>`).
 */
export function countUnknownTokens(encoder: CountingEncoder, embeddings: readonly TokenEmbeddings[]): UnknownTokenCount {
  checkObject('encoder', encoder, 'an Encoder');
  checkArray('embeddings', embeddings, 'an array of token embeddings');
  const unk = encoder.unknownTokenId;
  const special = encoder.specialTokenIds;
  const count: UnknownTokenCount = { content: 0, unknown: 0 };
  if (unk === undefined) return count;
  for (const e of embeddings) {
    for (let r = 0; r < e.length; r++) {
      const id = e.tokenIds[r]!;
      if (special?.has(id) === true || (id !== unk && isBlank(encoder, id))) continue;
      count.content++;
      if (id === unk) count.unknown++;
    }
  }
  return count;
}

/**
 * The warning for a text whose unknown share passes `share` (default
 * CONTRACT_DEFAULTS.unknownTokenShare), else null. A text without content rows gets none (empty
 * texts have their own rules).
 */
export function unknownTokenWarning(count: UnknownTokenCount, text: 'query' | 'document', index?: number, share: number = CONTRACT_DEFAULTS.unknownTokenShare): TextWarning | null {
  checkObject('count', count, 'an UnknownTokenCount (from countUnknownTokens)');
  if (count.content === 0 || count.unknown / count.content <= share) return null;
  const which = text === 'query' ? 'the query' : `document ${index}`;
  return {
    code: 'MOSTLY_UNKNOWN_TOKENS',
    text,
    ...(index === undefined ? {} : { index }),
    unknownTokens: count.unknown,
    contentTokens: count.content,
    message: `${count.unknown} of ${plural(count.content, 'content token')} of ${which} ${count.unknown === 1 ? 'is' : 'are'} unknown to the model: its score says little (texts the model cannot represent tie)`,
  };
}
