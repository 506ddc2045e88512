/**
 * The numeric kernels behind indexing and search. Two implementations share this contract: the
 * native C++ addon (SIMD chosen at run time, scalar path always compiled) and the TypeScript twin
 * (fallback, forced with PLAIT_KERNELS=ts, and the oracle for differential tests).
 *
 * Conventions: matrices are row-major Float32Arrays; `dim` is the vector width; all lengths are in
 * rows unless named otherwise. Kernels never allocate their outputs: the caller passes `out`.
 *
 * Residual bit layout (pinned by test/codec-layout.test.ts): a vector's residual takes
 * dim·nbits/8 bytes; byte b holds dimensions [b·8/nbits, (b+1)·8/nbits), the first of them in the
 * most significant bits. Bucket index of a residual value x is the number of cutoffs c with c <= x
 * (searchsorted right over the 2^nbits − 1 ascending cutoffs).
 */

/**
 * MaxSim of one query token against a document without tokens: ColBERT's padding score (its
 * colbert_score_reduce sets padded positions to -9999 before the max). An empty document scores
 * Σ_i w_i · MAXSIM_EMPTY_TOKEN and ranks last; the value stays finite, so JSON can carry it.
 */
export const MAXSIM_EMPTY_TOKEN = -9999;

export type KernelsName = 'typescript' | 'native-scalar' | 'native-avx2' | 'native-avx512';

export interface Kernels {
  readonly name: KernelsName;

  /** out[i·n + j] = a_i · b_j for a (m×dim) and b (n×dim). */
  matmulTransB(a: Float32Array, m: number, b: Float32Array, n: number, dim: number, out: Float32Array): void;

  /**
   * Nearest centroid by inner product for each of n vectors (ColBERT assigns by dot product on
   * normalised vectors). Ties go to the lower centroid id. bestScores, when given, receives the score.
   */
  assignNearest(
    vectors: Float32Array,
    n: number,
    centroids: Float32Array,
    k: number,
    dim: number,
    codes: Int32Array,
    bestScores?: Float32Array,
  ): void;

  /**
   * assignNearest over the selected vectors rows[0..nRows) of `vectors` (n × dim, any n covering
   * the rows): codes[i] and bestScores[i] belong to vector rows[i]. The native kernel gathers the
   * rows straight into its transposed panel, so a caller assigning scattered vectors (two-level
   * assignment, per coarse cell) copies nothing. Throws INVALID_ARGUMENT for a row outside the array.
   */
  assignNearestRows(
    vectors: Float32Array,
    rows: Int32Array,
    nRows: number,
    centroids: Float32Array,
    k: number,
    dim: number,
    codes: Int32Array,
    bestScores?: Float32Array,
  ): void;

  /**
   * Exact MaxSim of one query (qLen×dim) against nDocs documents whose token rows lie in `docs`:
   * document d occupies rows [docStarts[d], docStarts[d] + doclens[d]).
   * out[d] = Σ_i w_i · max_j q_i·doc_j (w_i = 1 without weights). An empty document scores Σ_i w_i · MAXSIM_EMPTY_TOKEN (ranks last).
   */
  maxsim(
    q: Float32Array,
    qLen: number,
    dim: number,
    docs: Float32Array,
    docStarts: Int32Array,
    doclens: Int32Array,
    nDocs: number,
    out: Float32Array,
    qWeights?: Float32Array | null,
  ): void;

  /**
   * Residual compression: for vector i, r = v_i − centroids[codes[i]], each dimension bucketed
   * against `cutoffs` (2^nbits − 1 ascending values) and packed (see layout above) into `out`
   * (n·dim·nbits/8 bytes).
   */
  compress(
    vectors: Float32Array,
    n: number,
    dim: number,
    centroids: Float32Array,
    codes: Int32Array,
    cutoffs: Float32Array,
    nbits: number,
    out: Uint8Array,
  ): void;

  /** Decompression: v_i = centroids[codes[i]] + weights[bucket] per dimension, then L2-normalised. */
  decompress(
    codes: Int32Array,
    residuals: Uint8Array,
    n: number,
    dim: number,
    centroids: Float32Array,
    weights: Float32Array,
    nbits: number,
    out: Float32Array,
  ): void;

  /**
   * Exact MaxSim against compressed documents, decompressing on the fly: document d's tokens are
   * rows [tokenStarts[d], tokenStarts[d] + doclens[d]) of `codes` / `residuals`. Same result as
   * decompress followed by maxsim.
   */
  maxsimCompressed(
    q: Float32Array,
    qLen: number,
    dim: number,
    codes: Int32Array,
    residuals: Uint8Array,
    tokenStarts: Int32Array,
    doclens: Int32Array,
    nDocs: number,
    centroids: Float32Array,
    weights: Float32Array,
    nbits: number,
    out: Float32Array,
    qWeights?: Float32Array | null,
  ): void;

  /**
   * PLAID centroid interaction. `centroidScores` is K×qLen (row c holds centroid c's score against
   * each query token). For each document: out[d] = Σ_i w_i · max over its tokens' codes c of
   * centroidScores[c, i], skipping codes with keep[c] = 0 when `keep` is given (pruning: keep[c] = 1
   * iff max_i centroidScores[c, i] >= threshold). A document with no kept code scores 0.
   */
  centroidInteraction(
    centroidScores: Float32Array,
    qLen: number,
    codes: Int32Array,
    tokenStarts: Int32Array,
    doclens: Int32Array,
    nDocs: number,
    keep: Uint8Array | null,
    out: Float32Array,
    qWeights?: Float32Array | null,
  ): void;

  /**
   * Indices of the k largest scores, highest first; ties broken by the lower index; k is clipped
   * to n. Partial selection (a heap or nth_element), not a full sort.
   */
  topK(scores: Float32Array, n: number, k: number): Int32Array;

  /**
   * PLAID's candidate-generation pass over `centroidScores` (K × qLen, row c = centroid c): writes
   * each query token's best `nProbe` centroids into `probed` (qLen × nProbe, best first; strictly
   * greater wins, so the lower centroid on ties; -1 where K < nProbe; NaN never chosen) and
   * keep[c] = 1 when max_i S[c, i] >= threshold (ColBERT's centroid pruning), else 0. With
   * `rowMax` (K row maxima from `centroidScoresInt8`) a row whose maximum is not above every token's
   * nProbe-th best so far is not read (keep from rowMax): the same results, fewer reads.
   */
  probeCentroids(
    centroidScores: Float32Array,
    nCentroids: number,
    qLen: number,
    nProbe: number,
    threshold: number,
    probed: Int32Array,
    keep: Uint8Array,
    rowMax?: Float32Array | null,
  ): void;

  /**
   * PLAID's stage-1 centroid scores on int8 codes (native: AVX-512 VNNI, AVX-VNNI or scalar, chosen
   * at run time; every path gives the same bits). Operands come from src/search/centroid-quantisation.ts:
   * `centroids` K × dim bytes holding c8 + 128 (c8 = round(c / centroidScales[c]) in [-127, 127]);
   * `queryPanel` ceil(qLen/16) chunks × dim/4 groups × 16 lanes × 4 bytes of signed q8 (token
   * 16h + l in lane l of chunk h, zeros past qLen); corrections[i] = 128 · Σ_d q8[i, d].
   * out[c · qLen + i] = f32(f32(Σ_d (c8 + 128) · q8 − corrections[i]) · f32(centroidScales[c] · queryScales[i])).
   * dim must be a multiple of 4 and at most 512 (integer sums stay below 2^24, exact in float32).
   * With `rowMax` (K floats): rowMax[c] = max_i out[c · qLen + i] (NaN never taken; −∞ for an empty
   * row), for `probeCentroids` and `keepWithinMargin` to skip rows (issue 22, 1M passages).
   */
  centroidScoresInt8(
    centroids: Uint8Array,
    centroidScales: Float32Array,
    nCentroids: number,
    dim: number,
    queryPanel: Uint8Array,
    queryScales: Float32Array,
    corrections: Int32Array,
    qLen: number,
    out: Float32Array,
    rowMax?: Float32Array | null,
  ): void;

  /**
   * PLAID's stage-2 pruned centroid interaction from the kept centroids' IVF lists
   * (src/search/centroid-pruned-interaction.ts): kept[k] is a kept centroid whose IVF list is
   * entries[bounds[k] … bounds[k + 1]) (bounds: kept.length + 1 ascending offsets); `pids` the
   * candidates, strictly ascending. out[j] = Σ_i w_i · max{S[c, i] : kept c whose list holds pids[j]}
   * in float32, token order (0 when none holds it; NaN never taken) — the bits `centroidInteraction`
   * gives over the codes with the pruning mask. `centroidScores` K × qLen.
   */
  ivfInteraction(
    centroidScores: Float32Array,
    qLen: number,
    kept: Int32Array,
    bounds: Int32Array,
    entries: Int32Array,
    pids: Int32Array,
    out: Float32Array,
    qWeights?: Float32Array | null,
  ): void;

  /**
   * Probed-token ranking's estimate walk (src/search/probed-token-interaction.ts `centroidEstimates`;
   * issue 22 part E): for each query token i of non-zero weight, its cells top[i·cells …] (best first,
   * -1 ends a token's list early) are walked and the first whose IVF list ivf[ivfOffsets[c] …
   * ivfOffsets[c + 1]) holds candidate pids[d] sets est[i·n + d] = centroidScores[c·qLen + i]
   * (d's best centroid score for i when it has a token in those cells); a candidate no walked cell
   * lists gets the last walked cell's score; a token of weight 0 keeps a row of -∞ and no term.
   * ci[d] = Σ_i w_i · est[i·n + d] in float32, token order. n = pids.length (any order, distinct);
   * K = ivfOffsets.length − 1 (offsets as doubles, as ScoringArrays holds them); `centroidScores` K × qLen. Native and twin give the same bits.
   * @throws PlaitError INVALID_ARGUMENT for short arrays, a cell at or above K, a walked cell's
   *   offsets outside `ivf`, or a pid or IVF entry outside [0, nPassages)
   */
  centroidEstimateWalk(
    centroidScores: Float32Array,
    qLen: number,
    top: Int32Array,
    cells: number,
    ivfOffsets: Float64Array,
    ivf: Int32Array,
    nPassages: number,
    pids: Int32Array,
    qWeights: Float32Array | null | undefined,
    est: Float32Array,
    ci: Float32Array,
  ): void;

  /**
   * Probed-token ranking's pair scan (src/search/probed-token-interaction.ts; issue 22 part E): every
   * (query token i, candidate pids[d] for d in `docs`, token row r of it) with codes[r]'s cell probed
   * by i — the probe lists: head[c] the first slot (i·perToken + j) or -1, next[slot] the next — grouped
   * by query token: first[i] … first[i + 1] (qLen + 1 offsets) index rows[] (the token rows) and
   * docOf[] (d), within a token in the order of docs, rows, then the probe list. Rows run
   * [tokenStarts[pid], + doclens[pid]) of `codes` (one segment's). Returns the number of pairs;
   * rows and docOf are written only when it is at most rows.length (call again with room otherwise).
   * @throws PlaitError INVALID_ARGUMENT for short arrays, a doc, pid or span out of range, a code at
   *   or above head.length, or a probe slot outside next (next.length ≤ qLen · perToken)
   */
  probedPairs(
    codes: Int32Array,
    tokenStarts: Int32Array,
    doclens: Int32Array,
    pids: Int32Array,
    docs: Int32Array,
    head: Int32Array,
    next: Int32Array,
    perToken: number,
    qLen: number,
    first: Int32Array,
    rows: Int32Array,
    docOf: Int32Array,
  ): number;

  /**
   * Probed-token ranking's pairs on the codes, in one call (src/search/probed-token-interaction.ts;
   * issue 22 part F): for each candidate pids[d] (d in `docs`) and token row r of it
   * ([tokenStarts[pid], + doclens[pid]) of one segment's codes and residuals) whose cell c = codes[r]
   * query token i probed (the probe lists of probedPairs: head[c], next[slot], slot = i·perToken + j),
   * e[d·qLen + i] = max(e[d·qLen + i], (S[c·qLen + i] + ((scales[i]·acc) + offsets[i])) · invNorms[r]),
   * acc the sum of r's 2·nBytes entries in lane i of the query's fast-scan tables (buildFastScanTables'
   * layout): bit for bit what a one-token fast-scan query with token i's tables gives the pair (the pairs
   * part E scored with one maxsimFastScan call a token). NaN entries of invNorms (one float a row of
   * codes, the per-segment cache) are filled first, as maxsimFastScan does. e is pids.length × qLen;
   * K = head.length. Native and twin give the same bits.
   * @throws PlaitError INVALID_ARGUMENT for short arrays, a shape fast-scan does not take (or dim not a
   *   multiple of 8), a doc, pid or span out of range, a code at or above K, or a probe slot outside next
   */
  probedPairScores(
    centroidScores: Float32Array,
    qLen: number,
    tables: Uint8Array,
    scales: Float32Array,
    offsets: Float32Array,
    codes: Int32Array,
    residuals: Uint8Array,
    dim: number,
    nbits: number,
    tokenStarts: Int32Array,
    doclens: Int32Array,
    pids: Int32Array,
    docs: Int32Array,
    head: Int32Array,
    next: Int32Array,
    perToken: number,
    invNorms: Float32Array,
    centroids: Float32Array,
    weights: Float32Array,
    e: Float32Array,
  ): void;

  /**
   * PLAID's relative pruning pass over `centroidScores` (K × qLen): keep[c] = 1 where some token i
   * has centroidScores[c, i] >= floor[i] (a kept centroid stays kept; NaN never passes). plaid.ts
   * sets floor[i] = token i's best centroid score − PlaidParams.centroidScoreMargin. With `rowMax`
   * (as `centroidScoresInt8` writes it) rows whose maximum is below every floor are not read.
   */
  keepWithinMargin(centroidScores: Float32Array, nCentroids: number, qLen: number, floor: Float32Array, keep: Uint8Array, rowMax?: Float32Array | null): void;

  /**
   * Exact scoring on the stored codes, step 1 (src/codec/code-scorer.ts; issue 22): the per-query
   * lookup table of q_i · residual for every byte value v and byte position b, int16 quantised per
   * query token: lut[(v·nBytes + b)·lanes + i], lanes = codeLutLanes(qLen) (qLen rounded up to 16),
   * scales[i] the float value of one unit. Nibble-factored (each byte = high + low nibble sums).
   * nbits ∈ {1, 2, 4}. The formula, rounding included, is code-kernels.ts's buildCodeLut.
   */
  buildCodeLut(q: Float32Array, qLen: number, dim: number, weights: Float32Array, nbits: number, lut: Int16Array, scales: Float32Array): void;

  /**
   * Exact scoring on the stored codes, step 2: MaxSim without decompression,
   * out[d] = Σ_i w_i · max_j ((S[c_j·qLen + i] + scales[i] · Σ_b lut[(byte_jb·nBytes + b)·lanes + i]) · inv_j)
   * with S = centroidScores (K × qLen, candidate generation's), nBytes = dim·nbits/8, and
   * inv_j = 1 / sqrt(centroidNormsSq[c_j] + ‖r_j‖²) (‖r_j‖² exact from the token's bucket counts and
   * `weights`; floored at 1e-24), or 1 when centroidNormsSq is null. Bit-identical on every path and
   * with the TypeScript twin.
   */
  maxsimCodes(
    centroidScores: Float32Array,
    qLen: number,
    lut: Int16Array,
    scales: Float32Array,
    codes: Int32Array,
    residuals: Uint8Array,
    dim: number,
    nbits: number,
    tokenStarts: Int32Array,
    doclens: Int32Array,
    nDocs: number,
    centroidNormsSq: Float32Array | null,
    weights: Float32Array,
    out: Float32Array,
    qWeights?: Float32Array | null,
  ): void;

  /**
   * Exact scoring on the stored codes, fast-scan layout (issue 22; native-kernels/src/fast-scan.cc,
   * twin src/kernels/fast-scan.ts): the query's 16-entry uint8 tables per query token and residual
   * nibble, tables[((b·qLen + i)·2 + h)·16 + v] (entries ≤ fastScanEntryMax(nBytes)), with scales[i] (one entry's float
   * value) and offsets[i] (the tables' summed minima), qLen floats each. nbits ∈ {1, 2, 4},
   * dim·nbits/8 ≤ FAST_SCAN_MAX_BYTES. The formula, rounding included, is fast-scan.ts's.
   */
  buildFastScanTables(q: Float32Array, qLen: number, dim: number, weights: Float32Array, nbits: number, tables: Uint8Array, scales: Float32Array, offsets: Float32Array): void;

  /**
   * Fast-scan MaxSim without decompression:
   * out[d] = Σ_i w_i · max_j ((S[c_j·qLen + i] + ((scales[i] · acc_ij) + offsets[i])) · inv_j), acc_ij the
   * sum of token j's 2·nBytes table entries (exact integers), inv_j = invNorms[row of j] (1/‖c_j + r_j‖;
   * NaN entries are computed and stored first, from `centroids` and `weights`), or 1 without invNorms.
   * Bit-identical on every path and with the twin.
   */
  maxsimFastScan(
    centroidScores: Float32Array,
    qLen: number,
    tables: Uint8Array,
    scales: Float32Array,
    offsets: Float32Array,
    codes: Int32Array,
    residuals: Uint8Array,
    dim: number,
    nbits: number,
    tokenStarts: Int32Array,
    doclens: Int32Array,
    nDocs: number,
    out: Float32Array,
    qWeights?: Float32Array | null,
    invNorms?: Float32Array | null,
    centroids?: Float32Array | null,
    weights?: Float32Array | null,
  ): void;

  /**
   * The per-token scores behind maxsimFastScan for one passage, rows [start, start + len) of `codes`
   * and `residuals`, before the maximum (explain and search highlights, src/search/explain.ts):
   * out[i·len + t] = (S[c·qLen + i] + ((scales[i] · acc_it) + offsets[i])) · inv, c = codes[start + t],
   * acc_it the sum of that row's 2·nBytes table entries (exact integers), inv = invNorms[start + t]
   * (NaN entries of the rows computed and stored first, from `centroids` and `weights`) or 1 without
   * invNorms. out is qLen × len floats, query-row-major; each is bit for bit the value maxsimFastScan
   * takes the maximum of, on every path and in the twin (src/kernels/fast-scan.ts).
   * @throws PlaitError INVALID_ARGUMENT for a bad shape, short arrays, rows past the codes or codes ≥ K
   */
  fastScanTokenSimilarities(
    centroidScores: Float32Array,
    qLen: number,
    tables: Uint8Array,
    scales: Float32Array,
    offsets: Float32Array,
    codes: Int32Array,
    residuals: Uint8Array,
    dim: number,
    nbits: number,
    start: number,
    len: number,
    out: Float32Array,
    invNorms?: Float32Array | null,
    centroids?: Float32Array | null,
    weights?: Float32Array | null,
  ): void;

  /**
   * Exact scoring on the stored ternary codes (issue 22; native-kernels/src/ternary-code-scoring.cc,
   * twin src/kernels/ternary-code-kernels.ts): the query's int16 LUT over ternary byte values,
   * lut[(v·nBytes + b)·lanes + i] with nBytes = ceil(dim/5), lanes = codeLutLanes(qLen), and
   * scales (lanes floats). The formula, rounding included, is the twin's.
   */
  buildTernaryCodeLut(q: Float32Array, qLen: number, dim: number, weights: Float32Array, lut: Int16Array, scales: Float32Array): void;

  /**
   * Ternary MaxSim without decompression: out[d] = Σ_i w_i · max_j ((S[c_j·qLen + i] + scales[i] · acc_ij) · inv_j),
   * acc_ij the sum of token j's nBytes LUT rows (exact integers), inv_j = invNorms[row of j]
   * (1/max(‖c_j + r_j‖, 1e-12), decompression's factor; NaN entries are computed and stored first,
   * from `centroids` and the 3 `weights`), or 1 without invNorms. Bit-identical on every path and with the twin.
   */
  maxsimTernaryCodes(
    centroidScores: Float32Array,
    qLen: number,
    lut: Int16Array,
    scales: Float32Array,
    codes: Int32Array,
    residuals: Uint8Array,
    dim: number,
    tokenStarts: Int32Array,
    doclens: Int32Array,
    nDocs: number,
    out: Float32Array,
    qWeights?: Float32Array | null,
    invNorms?: Float32Array | null,
    centroids?: Float32Array | null,
    weights?: Float32Array | null,
  ): void;

  /**
   * Maps a file read-only into memory as an external ArrayBuffer (native addon only; the
   * TypeScript twin has none, and index files are then read into memory instead). Pages load on
   * first touch and are shared through the page cache by every thread and process mapping the
   * file; the mapping is released when the buffer is collected. Throws on a missing file.
   */
  mapFile?(path: string): ArrayBuffer;
}
