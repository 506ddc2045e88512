// Probed-token ranking's estimate walk (issue 22 part E; src/search/probed-token-interaction.ts
// `centroidEstimates` explains the estimates, src/kernels/probed-walk.ts is the TypeScript twin).
// For each query token of non-zero weight, its best cells are walked best first: the first cell whose
// IVF list holds candidate d gives est[i, d] (d's best centroid score for token i); candidates no
// walked cell holds get the last walked cell's score. Then ci[d] = sum_i w_i * est[i, d] in float32,
// token order, each step rounded from the exact double sum as JavaScript's Float32Array store does:
// the twin's bits. Scalar: the gain is leaving JavaScript (~10 ns an IVF entry there), not SIMD.
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels.h"

namespace plait {

int64_t centroidEstimateWalk(const float* centroidScores, size_t qLen, const int32_t* top, size_t cells,
                             const double* ivfOffsets, const int32_t* ivf, size_t nPassages, const int32_t* pids,
                             size_t n, const float* qWeights, float* est, float* ci) {
  // Per-thread pid -> candidate index and byte mark (the mark is all 0 between calls).
  thread_local std::vector<int32_t> slot;
  thread_local std::vector<uint8_t> mark;
  if (slot.size() < nPassages) {
    slot.resize(nPassages);
    mark.resize(nPassages, 0);
  }
  for (size_t d = 0; d < n; ++d) {
    slot[static_cast<size_t>(pids[d])] = static_cast<int32_t>(d);
    mark[static_cast<size_t>(pids[d])] = 1;
  }
  const float negInf = -std::numeric_limits<float>::infinity();
  for (size_t x = 0; x < qLen * n; ++x) est[x] = negInf;
  for (size_t d = 0; d < n; ++d) ci[d] = 0.f;
  int64_t bad = -1;
  const uint32_t limit = static_cast<uint32_t>(nPassages);
  for (size_t i = 0; i < qLen && bad < 0; ++i) {
    if (qWeights != nullptr && qWeights[i] == 0.f) continue;
    float* row = est + i * n;
    size_t left = n;
    float last = negInf;
    for (size_t j = 0; j < cells && left > 0 && bad < 0; ++j) {
      const int32_t c = top[i * cells + j];
      if (c < 0) break;
      last = centroidScores[static_cast<size_t>(c) * qLen + i];
      // Offsets are doubles (exact past 2^31), checked by the binding to lie within ivf.
      for (int64_t e = static_cast<int64_t>(ivfOffsets[c]), end = static_cast<int64_t>(ivfOffsets[c + 1]); e < end; ++e) {
        const uint32_t pid = static_cast<uint32_t>(ivf[e]);
        if (pid >= limit) {
          bad = e;
          break;
        }
        if (mark[pid] == 0) continue;
        float& v = row[slot[pid]];
        if (v == negInf) {
          v = last;
          --left;
        }
      }
    }
    if (left > 0)
      for (size_t d = 0; d < n; ++d)
        if (row[d] == negInf) row[d] = last;
    const double wi = qWeights != nullptr ? static_cast<double>(qWeights[i]) : 1.0;
    for (size_t d = 0; d < n; ++d) ci[d] = static_cast<float>(static_cast<double>(ci[d]) + wi * static_cast<double>(row[d]));
  }
  for (size_t d = 0; d < n; ++d) mark[static_cast<size_t>(pids[d])] = 0;
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
