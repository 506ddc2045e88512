// Probed-token ranking's estimate walk (issue 22 part E; src/search/probed-token-interaction.ts
// `centroidEstimates` explains the estimates, src/kernels/probed-walk.ts is the TypeScript twin).
// For each query token of non-zero weight, the best of its walked cells whose IVF list holds candidate d
// gives est[i, d] (d's best centroid score for token i; the twin walks best first and keeps the first,
// this kernel walks worst first and keeps the last store, branch-free: part F); candidates no walked
// cell holds get the last walked cell's score. Then ci[d] = sum_i w_i * est[i, d] in float32,
// token order, each step rounded from the exact double sum as JavaScript's Float32Array store does:
// the twin's bits. Scalar: the gain is leaving JavaScript (~10 ns an IVF entry there), not SIMD.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels.h"

namespace plait {

int64_t centroidEstimateWalk(const float* centroidScores, size_t qLen, const int32_t* top, size_t cells,
                             const double* ivfOffsets, const int32_t* ivf, size_t nPassages, const int32_t* pids,
                             size_t n, const float* qWeights, float* est, float* ci) {
  // Per-thread pid -> candidate index, -1 for the others (all -1 between calls), and a row of n + 1
  // floats whose last entry takes the writes of the IVF entries that are not candidates.
  thread_local std::vector<int32_t> slot;
  thread_local std::vector<float> tmp;
  if (slot.size() < nPassages) slot.resize(nPassages, -1);
  tmp.resize(n + 1);
  for (size_t d = 0; d < n; ++d) slot[static_cast<size_t>(pids[d])] = static_cast<int32_t>(d);
  const float negInf = -std::numeric_limits<float>::infinity();
  for (size_t x = 0; x < qLen * n; ++x) est[x] = negInf;
  for (size_t d = 0; d < n; ++d) ci[d] = 0.f;
  int64_t bad = -1;
  const uint32_t limit = static_cast<uint32_t>(nPassages);
  float* row = tmp.data();
  const uint32_t sentinel = static_cast<uint32_t>(n);
  for (size_t i = 0; i < qLen && bad < 0; ++i) {
    if (qWeights != nullptr && qWeights[i] == 0.f) continue;
    size_t walked = 0;  // the token's cells before its first -1
    while (walked < cells && top[i * cells + walked] >= 0) ++walked;
    std::fill(row, row + n + 1, negInf);
    // Worst cell first, every entry stored without a test: the last store a candidate gets is its
    // best listing cell's score, the one the twin's best-first walk keeps (cells are best first, so
    // the first listing cell is the best). Branch-free: about half the entries of a keyword query's
    // cells are candidates, at random, and a test an entry mispredicted often (part F, RESULTS).
    // The twin's early stop (every candidate found) changes no value: cells past it list none first.
    for (size_t j = walked; j-- > 0 && bad < 0;) {
      const int32_t c = top[i * cells + j];
      const float score = centroidScores[static_cast<size_t>(c) * qLen + i];
      // Offsets are doubles (exact past 2^31), checked by the binding to lie within ivf.
      for (int64_t e = static_cast<int64_t>(ivfOffsets[c]), end = static_cast<int64_t>(ivfOffsets[c + 1]); e < end; ++e) {
        const uint32_t pid = static_cast<uint32_t>(ivf[e]);
        if (pid >= limit) {
          bad = e;
          break;
        }
        // slot or, for -1, n: by masks, as compilers turn the select into a branch.
        const uint32_t s = static_cast<uint32_t>(slot[pid]);
        const uint32_t none = 0u - (s >> 31);
        row[(s & ~none) | (sentinel & none)] = score;
      }
    }
    // Candidates no walked cell lists: the last walked cell's score (-inf when none was walked).
    const float last = walked == 0 ? negInf : centroidScores[static_cast<size_t>(top[i * cells + walked - 1]) * qLen + i];
    float* out = est + i * n;
    const double wi = qWeights != nullptr ? static_cast<double>(qWeights[i]) : 1.0;
    for (size_t d = 0; d < n; ++d) {
      const float v = row[d] == negInf ? last : row[d];
      out[d] = v;
      ci[d] = static_cast<float>(static_cast<double>(ci[d]) + wi * static_cast<double>(v));
    }
  }
  for (size_t d = 0; d < n; ++d) slot[static_cast<size_t>(pids[d])] = -1;
  return bad;
}

// Probed-token ranking's pair scan (issue 22 part E): every (query token, candidate, token row) whose
// row's cell the token probed, grouped by query token (a stable counting sort: within a token, in
// the order of docs, rows, then the probe list), as src/kernels/probed-walk.ts `probedPairs`.
// first[0..qLen] receives the group offsets; rows/docOf are written only when total <= capacity.
// Returns the total, or -1 for a bad entry (a code at or above nCells, a probe slot outside next).
int64_t probedPairs(const int32_t* codes, const int32_t* tokenStarts, const int32_t* doclens, const int32_t* pids,
                    const int32_t* docs, size_t nDocs, const int32_t* head, size_t nCells, const int32_t* next,
                    size_t nSlots, size_t perToken, size_t qLen, int32_t* first, int32_t* rows, int32_t* docOf,
                    size_t capacity) {
  for (size_t i = 0; i <= qLen; ++i) first[i] = 0;
  for (size_t x = 0; x < nDocs; ++x) {
    const int32_t pid = pids[docs[x]];
    for (int32_t row = tokenStarts[pid], end = row + doclens[pid]; row < end; ++row) {
      const uint32_t c = static_cast<uint32_t>(codes[row]);
      if (c >= nCells) return -1;
      for (int32_t slot = head[c]; slot >= 0; slot = next[slot]) {
        if (static_cast<size_t>(slot) >= nSlots) return -1;
        ++first[static_cast<size_t>(slot) / perToken + 1];
      }
    }
  }
  for (size_t i = 0; i < qLen; ++i) first[i + 1] += first[i];
  const size_t total = static_cast<size_t>(first[qLen]);
  if (total > capacity) return static_cast<int64_t>(total);
  thread_local std::vector<int32_t> fill;
  fill.assign(first, first + qLen);
  for (size_t x = 0; x < nDocs; ++x) {
    const int32_t pid = pids[docs[x]];
    for (int32_t row = tokenStarts[pid], end = row + doclens[pid]; row < end; ++row) {
      for (int32_t slot = head[codes[row]]; slot >= 0; slot = next[slot]) {
        const int32_t at = fill[static_cast<size_t>(slot) / perToken]++;
        rows[at] = row;
        docOf[at] = docs[x];
      }
    }
  }
  return static_cast<int64_t>(total);
}

}  // namespace plait
