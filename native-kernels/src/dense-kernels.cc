// Dense dot-product kernels: MaxSim, nearest-centroid assignment and A·Bᵀ share one blocked loop.
//
// The left operand (query tokens, or a block of vectors) is transposed into a "panel"
// qt[t*qPad + i], zero-padded to a multiple of 16 lanes. Rows of the right operand (document
// tokens, centroids) are streamed: for each dimension t, a row's value is broadcast and multiplied
// into whole vectors of panel lanes, so each (row, lane) score accumulates in a vector lane and no
// horizontal reduction is ever needed. Blocks of rows are register-blocked:
//   AVX-512: 2 lane groups (32 lanes) × 8 rows = 16 zmm accumulators;
//   AVX2:    1 lane group (16 lanes = 2 ymm) × 4 rows = 8 ymm accumulators;
//   scalar:  16 lanes × 4 rows of plain floats (auto-vectorised with the baseline ISA).
// What happens to a finished block depends on the mode: running max (MaxSim), running argmax
// (assignment) or a store (matmul).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels.h"

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports its own _mm512_undefined_ps() (used inside _mm512_max_ps) as maybe-uninitialised.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#define PLAIT_AVX2 __attribute__((target("avx2,fma")))
#define PLAIT_AVX512 __attribute__((target("avx512f,avx512bw,avx2,fma")))
#endif

namespace plait {
namespace {

constexpr size_t kLanes = 16;  // panel padding: one zmm, two ymm
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

enum Mode { kMax = 0, kArgmax = 1, kStore = 2 };

// Per-call output of a panel pass over lane groups [g0, g0 + QG).
struct PanelOut {
  float* best;          // kMax / kArgmax: qPad running maxima (already initialised)
  int32_t* bestIdx;     // kArgmax: qPad argmax ids
  float* store;         // kStore: out matrix, lane i row j -> store[i*storeStride + rowBase + j]
  size_t storeStride;
  size_t validLanes;    // kStore: lanes < validLanes are real rows of the left operand
  int32_t rowBase;
};

size_t roundUp(size_t x, size_t to) { return (x + to - 1) / to * to; }

// Rows are streamed from memory once per panel pass, JB at a time; each block prefetches the rows of
// the block after it, one 64-byte line per row every 16 dimensions, so they arrive while this block
// computes. Zen 4's hardware prefetchers do not follow the JB interleaved row streams: without this
// the AVX-512 MaxSim ran at 49% of the FMA peak at 128 d x 32 q (136 ns a document token, latency-bound
// on L3 and DRAM), with it 86% (bench/RESULTS.md, "The float kernel on Zen 4"). The rows after the last
// block belong to the next document or lie past the buffer: a prefetch does not fault, and the address
// is formed as an integer, so nothing past the buffer is ever read or formed as a pointer.
inline void prefetchRow(const float* rowsBegin, size_t floatOffset) {
  __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(rowsBegin) + floatOffset * sizeof(float)),
                     0, 3);
}

// Transposes rows [0, m) of a (m×dim) into qt (dim × qPad), zero-padding lanes m..qPad.
void transposeInto(const float* a, size_t m, size_t dim, size_t qPad, float* qt) {
  std::memset(qt, 0, sizeof(float) * dim * qPad);
  for (size_t i = 0; i < m; ++i) {
    const float* row = a + i * dim;
    for (size_t t = 0; t < dim; ++t) qt[t * qPad + i] = row[t];
  }
}

// ---------------------------------------------------------------- scalar path
// "Scalar" means no run-time-selected ISA extension: with GCC/Clang the lanes are written as
// 4-float vector-extension values, which compile to the baseline ISA (SSE2 on x86-64, NEON on
// arm64) and stay in registers; other compilers get plain loops.
#if defined(__GNUC__) || defined(__clang__)
typedef float Vec4 __attribute__((vector_size(16)));

inline Vec4 loadVec4(const float* p) {
  Vec4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
#endif

template <int JB, int MODE>
inline void blockScalar(const float* qt, size_t qPad, size_t dim, const float* rows, size_t j, size_t g,
                        const PanelOut& po) {
  float acc[JB][kLanes];
  const float* col = qt + g * kLanes;
#if defined(__GNUC__) || defined(__clang__)
  Vec4 v[JB][4];
  for (int r = 0; r < JB; ++r)
    for (int h = 0; h < 4; ++h) v[r][h] = Vec4{0.f, 0.f, 0.f, 0.f};
  for (size_t t = 0; t < dim; ++t) {
    const float* qv = col + t * qPad;
    const Vec4 q0 = loadVec4(qv), q1 = loadVec4(qv + 4), q2 = loadVec4(qv + 8), q3 = loadVec4(qv + 12);
    for (int r = 0; r < JB; ++r) {
      const float b = rows[(j + r) * dim + t];
      v[r][0] += q0 * b;
      v[r][1] += q1 * b;
      v[r][2] += q2 * b;
      v[r][3] += q3 * b;
    }
  }
  for (int r = 0; r < JB; ++r)
    for (int h = 0; h < 4; ++h) std::memcpy(&acc[r][h * 4], &v[r][h], sizeof(Vec4));
#else
  for (int r = 0; r < JB; ++r)
    for (size_t l = 0; l < kLanes; ++l) acc[r][l] = 0.f;
  for (size_t t = 0; t < dim; ++t) {
    const float* qv = col + t * qPad;
    for (int r = 0; r < JB; ++r) {
      const float b = rows[(j + r) * dim + t];
      for (size_t l = 0; l < kLanes; ++l) acc[r][l] += qv[l] * b;
    }
  }
#endif
  const size_t lane0 = g * kLanes;
  for (int r = 0; r < JB; ++r) {
    for (size_t l = 0; l < kLanes; ++l) {
      const float s = acc[r][l];
      if (MODE == kMax) {
        if (s > po.best[lane0 + l]) po.best[lane0 + l] = s;
      } else if (MODE == kArgmax) {
        if (s > po.best[lane0 + l]) {
          po.best[lane0 + l] = s;
          po.bestIdx[lane0 + l] = po.rowBase + static_cast<int32_t>(j) + r;
        }
      } else if (lane0 + l < po.validLanes) {
        po.store[(lane0 + l) * po.storeStride + po.rowBase + j + r] = s;
      }
    }
  }
}

template <int MODE>
void panelScalar(const float* qt, size_t qPad, size_t dim, const float* rows, size_t nRows, const PanelOut& po) {
  for (size_t g = 0; g < qPad / kLanes; ++g) {
    size_t j = 0;
    for (; j + 2 <= nRows; j += 2) blockScalar<2, MODE>(qt, qPad, dim, rows, j, g, po);
    for (; j < nRows; ++j) blockScalar<1, MODE>(qt, qPad, dim, rows, j, g, po);
  }
}

#if defined(__x86_64__)
// ---------------------------------------------------------------- AVX2 + FMA path
template <int JB, int MODE>
PLAIT_AVX2 inline void blockAvx2(const float* qt, size_t qPad, size_t dim, const float* rows, size_t j, size_t g,
                                 __m256 (&best)[2], __m256i (&idx)[2], const PanelOut& po) {
  __m256 acc[JB][2];
  for (int r = 0; r < JB; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  const float* col = qt + g * kLanes;
  const float* row[JB];
  for (int r = 0; r < JB; ++r) row[r] = rows + (j + r) * dim;
  const size_t next = (j + JB) * dim;
  for (size_t t = 0; t < dim; ++t) {
    if ((t & 15) == 0)
      for (int r = 0; r < JB; ++r) prefetchRow(rows, next + r * dim + t);
    const __m256 q0 = _mm256_loadu_ps(col + t * qPad);
    const __m256 q1 = _mm256_loadu_ps(col + t * qPad + 8);
    for (int r = 0; r < JB; ++r) {
      const __m256 b = _mm256_broadcast_ss(row[r] + t);
      acc[r][0] = _mm256_fmadd_ps(q0, b, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(q1, b, acc[r][1]);
    }
  }
  for (int r = 0; r < JB; ++r) {
    if (MODE == kMax) {
      best[0] = _mm256_max_ps(acc[r][0], best[0]);
      best[1] = _mm256_max_ps(acc[r][1], best[1]);
    } else if (MODE == kArgmax) {
      const __m256i id = _mm256_set1_epi32(po.rowBase + static_cast<int32_t>(j) + r);
      for (int h = 0; h < 2; ++h) {
        const __m256 gt = _mm256_cmp_ps(acc[r][h], best[h], _CMP_GT_OQ);
        best[h] = _mm256_blendv_ps(best[h], acc[r][h], gt);
        idx[h] = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(idx[h]), _mm256_castsi256_ps(id), gt));
      }
    } else {
      alignas(32) float tmp[kLanes];
      _mm256_store_ps(tmp, acc[r][0]);
      _mm256_store_ps(tmp + 8, acc[r][1]);
      const size_t lane0 = g * kLanes;
      for (size_t l = 0; l < kLanes && lane0 + l < po.validLanes; ++l)
        po.store[(lane0 + l) * po.storeStride + po.rowBase + j + r] = tmp[l];
    }
  }
}

template <int MODE>
PLAIT_AVX2 void panelAvx2(const float* qt, size_t qPad, size_t dim, const float* rows, size_t nRows,
                          const PanelOut& po) {
  for (size_t g = 0; g < qPad / kLanes; ++g) {
    __m256 best[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    __m256i idx[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    if (MODE != kStore) {
      best[0] = _mm256_loadu_ps(po.best + g * kLanes);
      best[1] = _mm256_loadu_ps(po.best + g * kLanes + 8);
    }
    if (MODE == kArgmax) {
      idx[0] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(po.bestIdx + g * kLanes));
      idx[1] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(po.bestIdx + g * kLanes + 8));
    }
    size_t j = 0;
    for (; j + 4 <= nRows; j += 4) blockAvx2<4, MODE>(qt, qPad, dim, rows, j, g, best, idx, po);
    for (; j < nRows; ++j) blockAvx2<1, MODE>(qt, qPad, dim, rows, j, g, best, idx, po);
    if (MODE != kStore) {
      _mm256_storeu_ps(po.best + g * kLanes, best[0]);
      _mm256_storeu_ps(po.best + g * kLanes + 8, best[1]);
    }
    if (MODE == kArgmax) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(po.bestIdx + g * kLanes), idx[0]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(po.bestIdx + g * kLanes + 8), idx[1]);
    }
  }
}

// ---------------------------------------------------------------- AVX-512 path
template <int QG, int JB, int MODE>
PLAIT_AVX512 inline void blockAvx512(const float* qt, size_t qPad, size_t dim, const float* rows, size_t j,
                                     size_t g0, __m512 (&best)[2], __m512i (&idx)[2], const PanelOut& po) {
  __m512 acc[JB][QG];
  for (int r = 0; r < JB; ++r)
    for (int h = 0; h < QG; ++h) acc[r][h] = _mm512_setzero_ps();
  const float* col = qt + g0 * kLanes;
  const float* row[JB];
  for (int r = 0; r < JB; ++r) row[r] = rows + (j + r) * dim;
  // Two dimensions an iteration: the one-dimension loop (27 instructions, 16 FMAs) ran 41-51 or
  // 52-65 ns a document token at 128 d x 32 q depending only on where the linker put it (its
  // offset within 64-byte fetch windows; -falign-loops=64 alone, 60-66); unrolled, 35-37 in every
  // placement tried (bench/RESULTS.md, "Fast-scan part G"). Each accumulator's FMAs keep their
  // order, so the bits are the same.
  const size_t next = (j + JB) * dim;
#pragma GCC unroll 2
  for (size_t t = 0; t < dim; ++t) {
    if ((t & 15) == 0)
      for (int r = 0; r < JB; ++r) prefetchRow(rows, next + r * dim + t);
    __m512 q[QG];
    for (int h = 0; h < QG; ++h) q[h] = _mm512_loadu_ps(col + t * qPad + h * kLanes);
    for (int r = 0; r < JB; ++r) {
      const __m512 b = _mm512_set1_ps(row[r][t]);
      for (int h = 0; h < QG; ++h) acc[r][h] = _mm512_fmadd_ps(q[h], b, acc[r][h]);
    }
  }
  for (int r = 0; r < JB; ++r) {
    for (int h = 0; h < QG; ++h) {
      if (MODE == kMax) {
        best[h] = _mm512_max_ps(acc[r][h], best[h]);
      } else if (MODE == kArgmax) {
        const __mmask16 gt = _mm512_cmp_ps_mask(acc[r][h], best[h], _CMP_GT_OQ);
        best[h] = _mm512_mask_mov_ps(best[h], gt, acc[r][h]);
        idx[h] = _mm512_mask_mov_epi32(idx[h], gt, _mm512_set1_epi32(po.rowBase + static_cast<int32_t>(j) + r));
      } else {
        alignas(64) float tmp[kLanes];
        _mm512_store_ps(tmp, acc[r][h]);
        const size_t lane0 = (g0 + h) * kLanes;
        for (size_t l = 0; l < kLanes && lane0 + l < po.validLanes; ++l)
          po.store[(lane0 + l) * po.storeStride + po.rowBase + j + r] = tmp[l];
      }
    }
  }
}

template <int QG, int MODE>
PLAIT_AVX512 void groupsAvx512(const float* qt, size_t qPad, size_t dim, const float* rows, size_t nRows, size_t g0,
                               const PanelOut& po) {
  __m512 best[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
  __m512i idx[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
  for (int h = 0; h < QG; ++h) {
    if (MODE != kStore) best[h] = _mm512_loadu_ps(po.best + (g0 + h) * kLanes);
    if (MODE == kArgmax) idx[h] = _mm512_loadu_si512(po.bestIdx + (g0 + h) * kLanes);
  }
  size_t j = 0;
  for (; j + 8 <= nRows; j += 8) blockAvx512<QG, 8, MODE>(qt, qPad, dim, rows, j, g0, best, idx, po);
  for (; j + 2 <= nRows; j += 2) blockAvx512<QG, 2, MODE>(qt, qPad, dim, rows, j, g0, best, idx, po);
  for (; j < nRows; ++j) blockAvx512<QG, 1, MODE>(qt, qPad, dim, rows, j, g0, best, idx, po);
  for (int h = 0; h < QG; ++h) {
    if (MODE != kStore) _mm512_storeu_ps(po.best + (g0 + h) * kLanes, best[h]);
    if (MODE == kArgmax) _mm512_storeu_si512(po.bestIdx + (g0 + h) * kLanes, idx[h]);
  }
}

template <int MODE>
PLAIT_AVX512 void panelAvx512(const float* qt, size_t qPad, size_t dim, const float* rows, size_t nRows,
                              const PanelOut& po) {
  const size_t groups = qPad / kLanes;
  size_t g = 0;
  for (; g + 2 <= groups; g += 2) groupsAvx512<2, MODE>(qt, qPad, dim, rows, nRows, g, po);
  if (g < groups) groupsAvx512<1, MODE>(qt, qPad, dim, rows, nRows, g, po);
}
#endif

// One pass of all rows over the whole panel, on the active SIMD path.
template <int MODE>
void panel(const float* qt, size_t qPad, size_t dim, const float* rows, size_t nRows, const PanelOut& po) {
#if defined(__x86_64__)
  switch (activeSimd()) {
    case Simd::Avx512:
      panelAvx512<MODE>(qt, qPad, dim, rows, nRows, po);
      return;
    case Simd::Avx2:
      panelAvx2<MODE>(qt, qPad, dim, rows, nRows, po);
      return;
    default:
      break;
  }
#endif
  panelScalar<MODE>(qt, qPad, dim, rows, nRows, po);
}

// Thread-local scratch (worker threads each get their own; nothing is shared between threads).
struct Scratch {
  std::vector<float> panel, best;
  std::vector<int32_t> idx;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// Rows of the left operand transposed per panel in matmul and assignment.
constexpr size_t kPanelRows = 32;
// Right-operand rows per pass, so a pass's rows stay in L2 while every panel visits them.
constexpr size_t kRowChunk = 256;

}  // namespace

PreparedQuery prepareQuery(const float* q, size_t qLen, size_t dim, const float* weights) {
  Scratch& s = scratch();
  const size_t qPad = roundUp(std::max<size_t>(qLen, 1), kLanes);
  s.panel.resize(dim * qPad);
  transposeInto(q, qLen, dim, qPad, s.panel.data());
  s.best.resize(qPad);
  return PreparedQuery{s.panel.data(), qLen, qPad, dim, weights};
}

float maxsimOne(const PreparedQuery& pq, const float* rows, size_t len) {
  if (pq.qLen == 0) return 0.f;
  if (len == 0) {
    // ColBERT masks padding with -9999 before the max, so a document without tokens scores -9999
    // per query token and ranks below every real document (never 0, which would beat negatives).
    float total = 0.f;
    for (size_t i = 0; i < pq.qLen; ++i) total += (pq.weights != nullptr ? pq.weights[i] : 1.f) * kEmptyTokenScore;
    return total;
  }
  float* best = scratch().best.data();
  std::fill(best, best + pq.qPad, kNegInf);
  PanelOut po{best, nullptr, nullptr, 0, 0, 0};
  panel<kMax>(pq.qt, pq.qPad, pq.dim, rows, len, po);
  float total = 0.f;
  if (pq.weights != nullptr) {
    for (size_t i = 0; i < pq.qLen; ++i) total += pq.weights[i] * best[i];
  } else {
    for (size_t i = 0; i < pq.qLen; ++i) total += best[i];
  }
  return total;
}

void maxsim(const float* q, size_t qLen, size_t dim, const float* docs, const int32_t* docStarts,
            const int32_t* doclens, size_t nDocs, float* out, const float* qWeights) {
  const PreparedQuery pq = prepareQuery(q, qLen, dim, qWeights);
  for (size_t d = 0; d < nDocs; ++d)
    out[d] = maxsimOne(pq, docs + static_cast<size_t>(docStarts[d]) * dim, static_cast<size_t>(doclens[d]));
}

namespace {

// Nearest centroid of n vectors whose i-th row is rowOf(i): panels of 32 transposed rows, each
// streamed over all k centroids in chunks that stay in L2.
template <typename RowOf>
void assignPanels(RowOf rowOf, size_t n, const float* centroids, size_t k, size_t dim, int32_t* codes, float* bestScores) {
  Scratch& s = scratch();
  const size_t qPad = kPanelRows;
  s.panel.resize(dim * qPad);
  s.best.resize(qPad);
  s.idx.resize(qPad);
  for (size_t i0 = 0; i0 < n; i0 += kPanelRows) {
    const size_t m = std::min(kPanelRows, n - i0);
    float* qt = s.panel.data();
    std::memset(qt, 0, sizeof(float) * dim * qPad);
    for (size_t i = 0; i < m; ++i) {
      const float* row = rowOf(i0 + i);
      for (size_t t = 0; t < dim; ++t) qt[t * qPad + i] = row[t];
    }
    std::fill(s.best.begin(), s.best.end(), kNegInf);
    std::fill(s.idx.begin(), s.idx.end(), 0);
    PanelOut po{s.best.data(), s.idx.data(), nullptr, 0, 0, 0};
    // Rows are visited in increasing id with a strict ">", so ties keep the lower centroid id.
    for (size_t c0 = 0; c0 < k; c0 += kRowChunk) {
      po.rowBase = static_cast<int32_t>(c0);
      panel<kArgmax>(qt, qPad, dim, centroids + c0 * dim, std::min(kRowChunk, k - c0), po);
    }
    for (size_t i = 0; i < m; ++i) {
      codes[i0 + i] = s.idx[i];
      if (bestScores != nullptr) bestScores[i0 + i] = s.best[i];
    }
  }
}

}  // namespace

void assignNearest(const float* vectors, size_t n, const float* centroids, size_t k, size_t dim, int32_t* codes,
                   float* bestScores) {
  assignPanels([=](size_t i) { return vectors + i * dim; }, n, centroids, k, dim, codes, bestScores);
}

void assignNearestRows(const float* vectors, const int32_t* rows, size_t nRows, const float* centroids, size_t k,
                       size_t dim, int32_t* codes, float* bestScores) {
  // The rows are gathered straight into the transposed panel: no copy of the selected vectors.
  assignPanels([=](size_t i) { return vectors + static_cast<size_t>(rows[i]) * dim; }, nRows, centroids, k, dim, codes,
               bestScores);
}

void matmulTransB(const float* a, size_t m, const float* b, size_t n, size_t dim, float* out) {
  Scratch& s = scratch();
  s.panel.resize(dim * kPanelRows);
  for (size_t i0 = 0; i0 < m; i0 += kPanelRows) {
    const size_t rowsHere = std::min(kPanelRows, m - i0);
    // Pad a short panel (a query of a few tokens against all centroids) to 16 lanes, not 32.
    const size_t qPad = roundUp(rowsHere, kLanes);
    transposeInto(a + i0 * dim, rowsHere, dim, qPad, s.panel.data());
    PanelOut po{nullptr, nullptr, out + i0 * n, n, rowsHere, 0};
    for (size_t j0 = 0; j0 < n; j0 += kRowChunk) {
      po.rowBase = static_cast<int32_t>(j0);
      panel<kStore>(s.panel.data(), qPad, dim, b + j0 * dim, std::min(kRowChunk, n - j0), po);
    }
  }
}

}  // namespace plait
