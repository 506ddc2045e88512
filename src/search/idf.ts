/**
 * Query-token IDF weights: score = Σ_i idf(q_i) · max_j q_i·d_j, with BM25's idf over passages,
 * idf(t) = ln(1 + (N − df + 0.5) / (df + 0.5)), from the token document frequencies the indexer
 * stores. Weights are rescaled to mean 1 so that scores stay on MaxSim's scale.
 */
export function idfWeights(tokenIds: Int32Array, df: Int32Array, nPassages: number): Float32Array {
  return idfWeightsOf(Int32Array.from(tokenIds, (t) => (t >= 0 && t < df.length ? df[t]! : 0)), nPassages);
}

/** The same weights from each query token's df, in query order (a cluster shard gets these from the coordinator). */
export function idfWeightsOf(tokenDf: Int32Array, nPassages: number): Float32Array {
  const w = new Float32Array(tokenDf.length);
  let sum = 0;
  for (let i = 0; i < tokenDf.length; i++) {
    const f = tokenDf[i]!;
    w[i] = Math.log(1 + (nPassages - f + 0.5) / (f + 0.5));
    sum += w[i]!;
  }
  if (sum > 0) for (let i = 0; i < w.length; i++) w[i] = (w[i]! * w.length) / sum;
  return w;
}
