// plait native kernels: plain C++ over raw pointers, no N-API types. addon.cc validates every
// size before calling in, so these functions trust their arguments.
//
// Conventions match src/kernels/types.ts: row-major float32 matrices, `dim` floats per row.
#pragma once

#include <cstddef>
#include <cstdint>

namespace plait {

enum class Simd { Scalar, Avx2, Avx512 };

// The widest path this CPU supports (decided once, from __builtin_cpu_supports).
Simd detectSimd();
// The path in use: detectSimd() unless PLAIT_SIMD=scalar|avx2 asks for a narrower one.
Simd activeSimd();
const char* simdName(Simd s);

// What picks the native paths: avx2 + fma (the AVX2 kernels), avx512f + avx512bw (the AVX-512 ones),
// avx512vl + avx512vnni (int8 centroid scores), + avx512vbmi (fast-scan's vpermb lookups).
struct CpuFeatures {
  bool avx2, fma, avx512f, avx512bw, avx512vl, avx512vbmi, avx512vnni;
  bool avxvnni;  // VEX-encoded int8 dot products (the avx2 path's int8 centroid scores)
};
CpuFeatures cpuFeatures();

// out[i*n + j] = a_i . b_j
void matmulTransB(const float* a, size_t m, const float* b, size_t n, size_t dim, float* out);

// codes[i] = argmax_c v_i . c_c (lowest c on ties); bestScores (nullable) gets the max.
void assignNearest(const float* vectors, size_t n, const float* centroids, size_t k, size_t dim, int32_t* codes,
                   float* bestScores);

// Same for the selected vectors rows[0..nRows): codes[i] (and bestScores[i]) belong to vector rows[i].
void assignNearestRows(const float* vectors, const int32_t* rows, size_t nRows, const float* centroids, size_t k,
                       size_t dim, int32_t* codes, float* bestScores);

// The query, transposed and zero-padded for the blocked kernels: qt[t*qPad + i] = q[i*dim + t].
struct PreparedQuery {
  const float* qt;
  size_t qLen, qPad, dim;
  const float* weights;  // nullable
};

// Prepares `q` into a thread-local buffer (valid until the next call on this thread).
PreparedQuery prepareQuery(const float* q, size_t qLen, size_t dim, const float* weights);

// ColBERT's padding score: a query token's max over a document without tokens.
constexpr float kEmptyTokenScore = -9999.f;

// Σ_i w_i max_j q_i . rows_j over `len` rows; Σ_i w_i · kEmptyTokenScore when len == 0.
float maxsimOne(const PreparedQuery& pq, const float* rows, size_t len);

void maxsim(const float* q, size_t qLen, size_t dim, const float* docs, const int32_t* docStarts,
            const int32_t* doclens, size_t nDocs, float* out, const float* qWeights);

void compress(const float* vectors, size_t n, size_t dim, const float* centroids, const int32_t* codes,
              const float* cutoffs, int nbits, uint8_t* out);

void decompress(const int32_t* codes, const uint8_t* residuals, size_t n, size_t dim, const float* centroids,
                const float* weights, int nbits, float* out);

void maxsimCompressed(const float* q, size_t qLen, size_t dim, const int32_t* codes, const uint8_t* residuals,
                      const int32_t* tokenStarts, const int32_t* doclens, size_t nDocs, const float* centroids,
                      const float* weights, int nbits, float* out, const float* qWeights);

// Ternary codec (ternary-kernels.cc; layout in src/kernels/ternary-kernels.ts): ceil(dim/5) bytes a
// token, 2 cutoffs, 3 weights.
size_t ternaryBytes(size_t dim);
void compressTernary(const float* vectors, size_t n, size_t dim, const float* centroids, const int32_t* codes,
                     const float* cutoffs, uint8_t* out);
void decompressTernary(const int32_t* codes, const uint8_t* residuals, size_t n, size_t dim, const float* centroids,
                       const float* weights, float* out);
void maxsimCompressedTernary(const float* q, size_t qLen, size_t dim, const int32_t* codes, const uint8_t* residuals,
                             const int32_t* tokenStarts, const int32_t* doclens, size_t nDocs, const float* centroids,
                             const float* weights, float* out, const float* qWeights);
// out[i] = 1 / max(||c_i + r_i||, 1e-12) for n ternary rows: the factor decompressTernary multiplies a row by (the
// same float operations, so the same bits).
void ternaryInverseNorms(const int32_t* codes, const uint8_t* residuals, size_t n, size_t dim, const float* centroids,
                         const float* weights, float* out);

void centroidInteraction(const float* centroidScores, size_t qLen, const int32_t* codes, const int32_t* tokenStarts,
                         const int32_t* doclens, size_t nDocs, const uint8_t* keep, float* out,
                         const float* qWeights);

// Measured fp32 FMA throughput of one core with the active SIMD path, best of short windows over
// about `seconds` in all (peak-flops.cc).
struct PeakFlops {
  double flopsPerSecond;
  const char* simd;
};
PeakFlops measurePeakFlops(double seconds);

// PLAID's candidate-generation pass over K × qLen centroid scores: each query token's best p
// centroids (probed, qLen × p, best first, -1 where fewer than p) and keep[c] = max_i S[c, i] >= threshold.
// With rowMax (K row maxima, as centroidScoresInt8 writes them) a row whose maximum cannot enter any
// token's list (rowMax[c] <= every token's p-th best so far) is not read: the same results, fewer reads.
void probeCentroids(const float* scores, size_t nCentroids, size_t qLen, size_t p, double threshold, int32_t* probed,
                    uint8_t* keep, const float* rowMax = nullptr);

// Stage-1 centroid scores on int8 codes (centroid-scores.cc, which documents the operand layouts):
// out[c * qLen + i] = float(sum_d c8 * q8) * (centroidScales[c] * queryScales[i]), identical bits on every path.
enum class IntDotPath { Scalar, AvxVnni, Vnni512 };
IntDotPath intDotPath();
const char* intDotPathName(IntDotPath p);
// With rowMax (K floats): rowMax[c] = max_i out[c * qLen + i] (NaN never taken; -inf for an all-NaN or empty row).
void centroidScoresInt8(const uint8_t* centroids, const float* centroidScales, size_t nCentroids, size_t dim,
                        const uint8_t* queryPanel, const float* queryScales, const int32_t* corrections, size_t qLen,
                        float* out, float* rowMax = nullptr);

// PLAID's relative pruning (centroid-scores.cc): keep[c] = 1 where some scores[c * qLen + i] >= floor[i]
// (keep[c] already 1 stays 1; NaN never passes).
// With rowMax, rows whose maximum is below every floor are not read (the same results).
void keepWithinMargin(const float* scores, size_t nCentroids, size_t qLen, const float* floor, uint8_t* keep,
                      const float* rowMax = nullptr);

// PLAID's stage-2 pruned centroid interaction from the kept centroids' IVF lists (ivf-interaction.cc):
// kept[k] a kept centroid, its list entries[bounds[k] .. bounds[k + 1]); pids the ascending candidates;
// out[j] = sum_i w_i * max over kept c listing pids[j] of S[c, i] (0 when none), as centroidInteraction.
void ivfInteraction(const float* centroidScores, size_t qLen, const int32_t* kept, const int32_t* bounds, size_t nKept,
                    const int32_t* entries, const int32_t* pids, size_t nDocs, float* out, const float* qWeights);

// Probed-token ranking's estimate walk (probed-walk.cc; issue 22 part E): est[i * n + d] = candidate
// pids[d]'s best centroid score for token i from the IVF of its `cells` best cells top[i * cells ..]
// walked best first (the last walked cell's score where none lists it; -inf rows for weight-0 tokens),
// ci[d] = sum_i w_i * est[i * n + d] in float32, token order. pids must lie below nPassages (checked
// by the caller); returns -1, or the ivf position of an entry outside [0, nPassages).
int64_t centroidEstimateWalk(const float* centroidScores, size_t qLen, const int32_t* top, size_t cells,
                             const double* ivfOffsets, const int32_t* ivf, size_t nPassages, const int32_t* pids,
                             size_t n, const float* qWeights, float* est, float* ci);

// Probed-token ranking's pair scan (probed-walk.cc): (query token, candidate, row) pairs grouped by
// token into first/rows/docOf; returns the total (rows/docOf written only when it fits capacity) or
// -1 for a code at or above nCells or a probe slot outside next. Spans checked by the caller.
int64_t probedPairs(const int32_t* codes, const int32_t* tokenStarts, const int32_t* doclens, const int32_t* pids,
                    const int32_t* docs, size_t nDocs, const int32_t* head, size_t nCells, const int32_t* next,
                    size_t nSlots, size_t perToken, size_t qLen, int32_t* first, int32_t* rows, int32_t* docOf,
                    size_t capacity);

// Writes min(k, n) indices, best first (ties: lower index; NaN ranks below every number).
size_t topK(const float* scores, size_t n, size_t k, int32_t* out);

// ---- Exact MaxSim on the stored codes (code-maxsim.cc, issue 22) ----
// The code-scoring kernel has its own path enum: on arm64 it has a NEON path (the dense kernels'
// "scalar" path is already NEON there through vector extensions).
enum class CodeSimd { Scalar, Avx2, Avx512, Neon };
// The code-scoring path in use: the dense kernels' choice on x86-64 (PLAIT_SIMD applies), NEON on
// arm64 unless PLAIT_SIMD=scalar.
CodeSimd activeCodeSimd();
// Query lanes of a LUT row: qLen rounded up to 16, at least 16.
size_t codeLutLanes(size_t qLen);
// Largest |LUT entry| for nBytes byte positions: nBytes * bound <= 32767.
int codeLutBound(size_t nBytes);
// lut[(v*nBytes + b)*lanes + i] = q_i . (residual of byte value v at position b), quantised per token;
// scales[i] its unit. nbits in {1, 2, 4}; lut has nBytes*256*lanes entries, scales lanes.
void buildCodeLut(const float* q, size_t qLen, size_t dim, const float* weights, int nbits, int16_t* lut,
                  float* scales);
void buildCodeLutWith(CodeSimd simd, const float* q, size_t qLen, size_t dim, const float* weights, int nbits,
                      int16_t* lut, float* scales);
// out[d] = sum_i w_i max_j ((S[c_j*qLen + i] + scales[i]*acc_ij) * inv_j); inv_j = 1 when centroidNormsSq is
// null, else 1/sqrt(centroidNormsSq[c_j] + ||r_j||^2) with ||r_j||^2 exact from the bucket weights.
void maxsimCodes(const float* S, size_t qLen, const int16_t* lut, const float* scales, const int32_t* codes,
                 const uint8_t* residuals, size_t dim, int nbits, const int32_t* tokenStarts, const int32_t* doclens,
                 size_t nDocs, const float* centroidNormsSq, const float* weights, float* out,
                 const float* qWeights);
// The per-token loop of maxsimCodes for rows [start, start + len) of codes / residuals (nBytes a row), on a named
// path: best[i] = max(best[i], (S[c_j*qLen + i] + scales[i]*acc_ij) * invs[j - start]) for i < qLen, acc_ij the
// int16 sum of the rows lut[(byte_jb*nBytes + b)*lanes + i]; acc is lanes int16 of scratch. Any byte code with a
// 256-row LUT shares it (the ternary code scorer, ternary-code-scoring.cc).
void maxsimCodeRows(CodeSimd simd, const float* S, size_t qLen, const int16_t* lut, const float* scales, size_t lanes,
                    const int32_t* codes, const uint8_t* residuals, size_t nBytes, size_t start, size_t len,
                    const float* invs, int16_t* acc, float* best);
// The same on a named path (the qemu harness compares paths bit for bit).
void maxsimCodesWith(CodeSimd simd, const float* S, size_t qLen, const int16_t* lut, const float* scales,
                     const int32_t* codes, const uint8_t* residuals, size_t dim, int nbits, const int32_t* tokenStarts,
                     const int32_t* doclens, size_t nDocs, const float* centroidNormsSq, const float* weights,
                     float* out, const float* qWeights);


// ---- Exact MaxSim on the stored codes, fast-scan layout (fast-scan.cc, issue 22) ----
// Largest nBytes (= dim * nbits / 8) fast-scan accepts: a token's sum, <= 254 * nBytes, fits uint16.
size_t fastScanMaxBytes();
// Largest table entry for nBytes: min(255, 65535 / (2 nBytes)), so a token's 2 nBytes entries sum below 2^16.
int fastScanEntryMax(size_t nBytes);
// tables[((b * qLen + i) * 2 + h) * 16 + v] (uint8, <= fastScanEntryMax(nBytes)): query token i's quantised table for
// nibble h (0 high, 1 low) of residual byte b; scales and offsets have qLen floats.
void buildFastScanTables(const float* q, size_t qLen, size_t dim, const float* weights, int nbits, uint8_t* tables,
                         float* scales, float* offsets);
// out[d] = sum_i w_i * max_j ((S[c_j*qLen + i] + ((scales[i]*acc_ij) + offsets[i])) * inv_j), acc_ij the sum of
// token j's 2*nBytes table entries; nBytes <= fastScanMaxBytes(). invNorms (nullable, one float per row of
// codes): inv_j, where NaN entries are first filled by tokenInverseNorms (centroids and weights then needed);
// null: inv_j = 1.
void maxsimFastScan(const float* S, size_t qLen, const uint8_t* tables, const float* scales, const float* offsets,
                    const int32_t* codes, const uint8_t* residuals, size_t dim, int nbits, const int32_t* tokenStarts,
                    const int32_t* doclens, size_t nDocs, float* out, const float* qWeights, float* invNorms,
                    const float* centroids, const float* weights);
// The fast-scan path that runs on a CodeSimd (fastScanPath: on activeCodeSimd()): on AVX-512 the VBMI +
// VNNI quad lookups when the CPU has avx512vbmi and avx512vnni (unless PLAIT_SIMD=avx512bw), else the
// AVX-512BW pshufb nibble lookups; every path computes the same integer sums and the same scores.
enum class FastScanPath { Scalar, Avx2, Avx512Bw, Avx512Vbmi, Neon };
FastScanPath fastScanPath();
// "avx512-vbmi-vnni", "avx512bw", "avx2", "neon" or "scalar".
const char* fastScanPathName(FastScanPath p);
void maxsimFastScanWith(CodeSimd simd, const float* S, size_t qLen, const uint8_t* tables, const float* scales,
                        const float* offsets, const int32_t* codes, const uint8_t* residuals, size_t dim, int nbits,
                        const int32_t* tokenStarts, const int32_t* doclens, size_t nDocs, float* out,
                        const float* qWeights, float* invNorms, const float* centroids, const float* weights);
// out[i * len + t] = (S[c*qLen + i] + ((scales[i]*acc_it) + offsets[i])) * inv, c = codes[start + t], acc_it the sum of
// row start + t's 2*nBytes table entries: maxsimFastScan's per-token scores of one passage (rows [start, start + len))
// before the maximum, for highlights and explain. invNorms as in maxsimFastScan (NaN entries of the rows filled first).
void fastScanTokenSimilarities(const float* S, size_t qLen, const uint8_t* tables, const float* scales,
                               const float* offsets, const int32_t* codes, const uint8_t* residuals, size_t dim,
                               int nbits, size_t start, size_t len, float* out, float* invNorms,
                               const float* centroids, const float* weights);
void fastScanTokenSimilaritiesWith(CodeSimd simd, const float* S, size_t qLen, const uint8_t* tables,
                                   const float* scales, const float* offsets, const int32_t* codes,
                                   const uint8_t* residuals, size_t dim, int nbits, size_t start, size_t len,
                                   float* out, float* invNorms, const float* centroids, const float* weights);
// out[j] = 1 / sqrt(max(||c_j + r_j||^2, 1e-24)) for n tokens (r_j decoded from its residual bytes), the squared
// norm summed in eight partial sums (dimension t into t % 8) and the tree ((0+1)+(2+3))+((4+5)+(6+7)).
void tokenInverseNorms(const int32_t* codes, const uint8_t* residuals, size_t n, size_t dim, const float* centroids,
                       const float* weights, int nbits, float* out);

// Probed-token ranking's pairs on the codes (probed-scores.cc; issue 22 part F): for each candidate pids[docs[x]]
// and token row r of it whose cell c = codes[r] a query token i probed (head[c] / next[slot], slot = i * perToken
// + j), e[docs[x] * qLen + i] = max(itself, 0 + (S[c*qLen + i] + ((scales[i]*acc_ir) + offsets[i])) * inv_r), acc_ir
// the sum of row r's 2*nBytes entries in lane i of the query's fast-scan tables, inv_r = invNorms[r] (NaN entries
// first filled by tokenInverseNorms). Spans checked by the caller; false for a code at or above nCells or a probe
// slot outside next.
bool probedPairScores(const float* S, size_t qLen, const uint8_t* tables, const float* scales, const float* offsets,
                      const int32_t* codes, const uint8_t* residuals, size_t dim, int nbits, const int32_t* tokenStarts,
                      const int32_t* doclens, const int32_t* pids, const int32_t* docs, size_t nDocs,
                      const int32_t* head, size_t nCells, const int32_t* next, size_t nSlots, size_t perToken,
                      float* invNorms, const float* centroids, const float* weights, float* e);

// ---- Exact MaxSim on the stored ternary codes (ternary-code-scoring.cc, issue 22) ----
// lut[(v*nBytes + b)*lanes + i] (int16, nBytes = ternaryBytes(dim), lanes = codeLutLanes(qLen)): query token i's dot
// product with the five residual levels of byte value v at byte position b, quantised per token (scales[i] its
// unit; lanes floats). The formula, rounding included, is src/kernels/ternary-code-kernels.ts's.
void buildTernaryCodeLut(const float* q, size_t qLen, size_t dim, const float* weights, int16_t* lut, float* scales);
// out[d] = sum_i w_i max_j ((S[c_j*qLen + i] + scales[i]*acc_ij) * inv_j), acc_ij the int16 sum of token j's
// nBytes LUT rows; inv_j = invNorms[row of j] (NaN entries first filled by ternaryInverseNorms from centroids and
// weights), or 1 when invNorms is null.
void maxsimTernaryCodes(const float* S, size_t qLen, const int16_t* lut, const float* scales, const int32_t* codes,
                        const uint8_t* residuals, size_t dim, const int32_t* tokenStarts, const int32_t* doclens,
                        size_t nDocs, float* out, const float* qWeights, float* invNorms, const float* centroids,
                        const float* weights);
void maxsimTernaryCodesWith(CodeSimd simd, const float* S, size_t qLen, const int16_t* lut, const float* scales,
                            const int32_t* codes, const uint8_t* residuals, size_t dim, const int32_t* tokenStarts,
                            const int32_t* doclens, size_t nDocs, float* out, const float* qWeights, float* invNorms,
                            const float* centroids, const float* weights);

}  // namespace plait
