/** Builds small synthetic indexes (clustered vectors, one passage per document) for tests. */
import { buildIndexFromEmbeddings } from '../../src/indexer/build-from-embeddings.js';
import type { EmbeddingSource } from '../../src/indexer/compress-passages.js';
import type { ModelInfo, TokenEmbeddings } from '../../src/encoder/types.js';
import { SyntheticVectors } from './synthetic.js';

export function syntheticModel(dim: number): ModelInfo {
  return {
    name: 'synthetic',
    family: 'colbert-onnx',
    dim,
    queryMaxlen: 32,
    docMaxlen: 180,
    queryMarker: null,
    documentMarker: null,
    attendToMaskTokens: false,
    vocabSize: 1000,
    idfWeighting: false,
    defaultMode: 'late',
    documentWindow: 177,
  };
}

/** Passages of 5–40 tokens, generated once and kept so tests can score them exactly too. */
export function syntheticPassages(n: number, dim: number, seed: number, clusters = 64, spread = 0.35): { passages: TokenEmbeddings[]; gen: SyntheticVectors } {
  const gen = new SyntheticVectors({ dim, clusters, spread, seed });
  const passages: TokenEmbeddings[] = [];
  for (let i = 0; i < n; i++) passages.push(gen.passage(gen.length(5, 40)));
  return { passages, gen };
}

export function sourceOf(passages: TokenEmbeddings[], dim: number): EmbeddingSource {
  return {
    nPassages: passages.length,
    dim,
    vocabSize: 1000,
    embed: async (pids) => Array.from(pids, (p) => passages[p]!),
  };
}

export async function buildSynthetic(index: string, passages: TokenEmbeddings[], dim: number, nbits = 2): Promise<void> {
  await buildIndexFromEmbeddings(sourceOf(passages, dim), {
    index,
    model: syntheticModel(dim),
    modelSpec: { family: 'colbert-onnx', dir: '/nonexistent' },
    nbits,
    docId: (pid) => `d${pid}`,
  });
}
