import type { TokenEmbeddings } from './types.js';

/** Many texts' embeddings in three flat arrays, so a worker returns them in one transfer. */
export interface PackedEmbeddings {
  vectors: Float32Array;
  tokenIds: Int32Array;
  lengths: Int32Array;
  dim: number;
}

export function packEmbeddings(items: TokenEmbeddings[]): PackedEmbeddings {
  let total = 0;
  for (const e of items) total += e.length;
  const dim = items.length > 0 && items[0]!.length > 0 ? items[0]!.vectors.length / items[0]!.length : 0;
  const vectors = new Float32Array(total * dim);
  const tokenIds = new Int32Array(total);
  const lengths = new Int32Array(items.length);
  let row = 0;
  items.forEach((e, i) => {
    vectors.set(e.vectors.subarray(0, e.length * dim), row * dim);
    tokenIds.set(e.tokenIds.subarray(0, e.length), row);
    lengths[i] = e.length;
    row += e.length;
  });
  return { vectors, tokenIds, lengths, dim };
}

export function unpackEmbeddings(p: PackedEmbeddings, dim: number): TokenEmbeddings[] {
  const out: TokenEmbeddings[] = [];
  let row = 0;
  for (let i = 0; i < p.lengths.length; i++) {
    const len = p.lengths[i]!;
    out.push({
      vectors: p.vectors.subarray(row * dim, (row + len) * dim),
      tokenIds: p.tokenIds.subarray(row, row + len),
      length: len,
    });
    row += len;
  }
  return out;
}
