// PLAID's stage-1 centroid scores on 8-bit integers (issue 22): K centroids × qLen query tokens
// as int8 dot products, then one float scale per (centroid, token).
//
// Why: at 1M passages the float32 centroid scores (131,072 × 32 × 128 multiply-adds, 64 MiB of
// centroids streamed per query) were most of candidate generation. Int8 codes read a quarter of
// the bytes and VNNI's vpdpbusd does 64 multiply-adds an instruction where an fp32 FMA does 16.
//
// Operands (prepared by src/search/centroid-scores-int8.ts, which also holds the TypeScript twin):
//   centroids: K × dim bytes, cu = c8 + 128 (unsigned; c8 = round(c / scaleC) in [-127, 127]);
//   query panel: 16-token chunks; chunk h, dimension group g (4 dims): 64 bytes, token lane l at
//     bytes [4l, 4l + 4) holding q8 (signed int8 as bytes) of token 16h + l, dims 4g … 4g + 3;
//     zero for padding lanes;
//   corrections[i] = 128 · Σ_d q8[i, d] (so Σ_d cu · q8 − corrections[i] = Σ_d c8 · q8 exactly).
// Result: out[c · qLen + i] = float(Σ_d c8 · q8) · (scaleC[c] · scaleQ[i]), both products in
// float32 with no fused multiply-add, so every path gives the same bits (integer sums are exact:
// |Σ| ≤ 127 · 255 · dim < 2^24 for dim ≤ 512).
//
// Layout of the loops (the dense kernels' idea, turned around): lanes are query tokens, so a
// centroid's four bytes are broadcast against a whole chunk and a finished accumulator is the
// contiguous run out[c · qLen + 16h …] — no transpose, no horizontal sums.
//   AVX-512 VNNI: 8 centroids × up to 2 chunks = 16 zmm accumulators;
//   AVX-VNNI (256-bit): 4 centroids × 1 chunk (2 ymm halves) = 8 ymm accumulators;
//   scalar: plain loops (every other CPU, and the reference the others must equal).
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels.h"

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports its own _mm512_undefined_* (inside the masked loads' intrinsics) as uninitialised.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#define PLAIT_VNNI512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")))
#define PLAIT_AVXVNNI __attribute__((target("avxvnni,avx2,fma")))
#endif

namespace plait {
namespace {

constexpr size_t kChunk = 16;

struct Args {
  const uint8_t* centroids;
  const float* centroidScales;
  size_t nCentroids, dim;
  const uint8_t* queryPanel;
  const float* queryScales;
  const int32_t* corrections;
  size_t qLen;
  float* out;
  float* rowMax;  // nullptr: not wanted
};

// Writes one finished (centroid, chunk) run from exact integer sums.
inline void finish(const Args& a, size_t c, size_t h, const int32_t* sums) {
  const size_t i0 = h * kChunk;
  const size_t n = a.qLen - i0 < kChunk ? a.qLen - i0 : kChunk;
  const float sc = a.centroidScales[c];
  float* o = a.out + c * a.qLen + i0;
  for (size_t l = 0; l < n; l++) {
    const float scale = sc * a.queryScales[i0 + l];
    o[l] = static_cast<float>(sums[l] - a.corrections[i0 + l]) * scale;
  }
  if (a.rowMax != nullptr) {
    float m = a.rowMax[c];
    for (size_t l = 0; l < n; l++) m = o[l] > m ? o[l] : m;
    a.rowMax[c] = m;
  }
}

void scalarPath(const Args& a, size_t c0) {
  const size_t groups = a.dim / 4;
  const size_t chunks = (a.qLen + kChunk - 1) / kChunk;
  int32_t sums[kChunk];
  for (size_t c = c0; c < a.nCentroids; c++) {
    const uint8_t* row = a.centroids + c * a.dim;
    for (size_t h = 0; h < chunks; h++) {
      std::memset(sums, 0, sizeof(sums));
      const uint8_t* panel = a.queryPanel + h * groups * 64;
      for (size_t g = 0; g < groups; g++) {
        const uint8_t* cb = row + 4 * g;
        const uint8_t* qb = panel + g * 64;
        for (size_t l = 0; l < kChunk; l++)
          for (size_t j = 0; j < 4; j++) sums[l] += int32_t(cb[j]) * int32_t(static_cast<int8_t>(qb[4 * l + j]));
      }
      finish(a, c, h, sums);
    }
  }
}

#if defined(__x86_64__)
inline int32_t load4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Chunks [h, h + NH) against centroids [c, c + 8).
template <int NH>
PLAIT_VNNI512 void blockVnni512(const Args& a, size_t c, size_t h) {
  const size_t groups = a.dim / 4;
  __m512i acc[8][NH];
  for (int r = 0; r < 8; r++)
    for (int k = 0; k < NH; k++) acc[r][k] = _mm512_setzero_si512();
  const uint8_t* rows = a.centroids + c * a.dim;
  for (size_t g = 0; g < groups; g++) {
    __m512i q[NH];
    for (int k = 0; k < NH; k++) q[k] = _mm512_loadu_si512(a.queryPanel + ((h + k) * groups + g) * 64);
    for (int r = 0; r < 8; r++) {
      const __m512i b = _mm512_set1_epi32(load4(rows + r * a.dim + 4 * g));
      for (int k = 0; k < NH; k++) acc[r][k] = _mm512_dpbusd_epi32(acc[r][k], b, q[k]);
    }
  }
  // finish() in vectors: the same two float32 products per lane, so the same bits. Row maxima:
  // lane-wise `v > m` (NaN never taken), then the 16 lanes reduced (no NaN left: max is exact).
  __m512 mx[8];
  for (int r = 0; r < 8; r++) mx[r] = _mm512_set1_ps(-__builtin_inff());
  for (int k = 0; k < NH; k++) {
    const size_t i0 = (h + k) * kChunk;
    const size_t n = a.qLen - i0 < kChunk ? a.qLen - i0 : kChunk;
    const __mmask16 m = static_cast<__mmask16>((1u << n) - 1u);
    const __m512i corr = _mm512_maskz_loadu_epi32(m, a.corrections + i0);
    const __m512 sq = _mm512_maskz_loadu_ps(m, a.queryScales + i0);
    for (int r = 0; r < 8; r++) {
      const __m512 scale = _mm512_mul_ps(_mm512_set1_ps(a.centroidScales[c + r]), sq);
      const __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][k], corr)), scale);
      _mm512_mask_storeu_ps(a.out + (c + r) * a.qLen + i0, m, v);
      mx[r] = _mm512_mask_mov_ps(mx[r], _mm512_mask_cmp_ps_mask(m, v, mx[r], _CMP_GT_OQ), v);
    }
  }
  if (a.rowMax != nullptr) {
    for (int r = 0; r < 8; r++) {
      const float m = _mm512_reduce_max_ps(mx[r]);
      if (m > a.rowMax[c + r]) a.rowMax[c + r] = m;
    }
  }
}

PLAIT_VNNI512 void vnni512Path(const Args& a, size_t& c) {
  const size_t chunks = (a.qLen + kChunk - 1) / kChunk;
  for (; c + 8 <= a.nCentroids; c += 8) {
    size_t h = 0;
    for (; h + 2 <= chunks; h += 2) blockVnni512<2>(a, c, h);
    if (h < chunks) blockVnni512<1>(a, c, h);
  }
}

PLAIT_AVXVNNI void avxVnniPath(const Args& a, size_t& c) {
  const size_t groups = a.dim / 4;
  const size_t chunks = (a.qLen + kChunk - 1) / kChunk;
  alignas(32) int32_t sums[kChunk];
  for (; c + 4 <= a.nCentroids; c += 4) {
    const uint8_t* rows = a.centroids + c * a.dim;
    for (size_t h = 0; h < chunks; h++) {
      __m256i acc[4][2];
      for (int r = 0; r < 4; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
      const uint8_t* panel = a.queryPanel + h * groups * 64;
      for (size_t g = 0; g < groups; g++) {
        const __m256i q0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + g * 64));
        const __m256i q1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + g * 64 + 32));
        for (int r = 0; r < 4; r++) {
          const __m256i b = _mm256_set1_epi32(load4(rows + r * a.dim + 4 * g));
          acc[r][0] = _mm256_dpbusd_avx_epi32(acc[r][0], b, q0);
          acc[r][1] = _mm256_dpbusd_avx_epi32(acc[r][1], b, q1);
        }
      }
      for (int r = 0; r < 4; r++) {
        _mm256_store_si256(reinterpret_cast<__m256i*>(sums), acc[r][0]);
        _mm256_store_si256(reinterpret_cast<__m256i*>(sums + 8), acc[r][1]);
        finish(a, c + r, h, sums);
      }
    }
  }
}
#endif

#if defined(__x86_64__)
PLAIT_VNNI512 void marginAvx512(const float* scores, size_t nCentroids, size_t qLen, const float* floor, uint8_t* keep) {
  for (size_t c = 0; c < nCentroids; c++) {
    if (keep[c] != 0) continue;
    const float* row = scores + c * qLen;
    for (size_t i = 0; i < qLen; i += 16) {
      const size_t n = qLen - i < 16 ? qLen - i : 16;
      const __mmask16 m = static_cast<__mmask16>((1u << n) - 1u);
      const __m512 v = _mm512_maskz_loadu_ps(m, row + i);
      const __m512 f = _mm512_maskz_loadu_ps(m, floor + i);
      if (_mm512_mask_cmp_ps_mask(m, v, f, _CMP_GE_OQ) != 0) {
        keep[c] = 1;
        break;
      }
    }
  }
}
#endif

}  // namespace

static void marginPass(const float* scores, size_t nCentroids, size_t qLen, const float* floor, uint8_t* keep);

void keepWithinMargin(const float* scores, size_t nCentroids, size_t qLen, const float* floor, uint8_t* keep,
                      const float* rowMax) {
  // A row whose maximum is below every floor keeps nothing: mark it as if kept for the passes below
  // (which skip kept rows), then clear those marks again.
  std::vector<uint8_t> skipped;
  if (rowMax != nullptr) {
    float minFloor = __builtin_inff();
    for (size_t i = 0; i < qLen; i++) minFloor = floor[i] < minFloor ? floor[i] : minFloor;
    skipped.assign(nCentroids, 0);
    for (size_t c = 0; c < nCentroids; c++)
      if (keep[c] == 0 && rowMax[c] < minFloor) skipped[c] = keep[c] = 1;
  }
  marginPass(scores, nCentroids, qLen, floor, keep);
  for (size_t c = 0; c < skipped.size(); c++)
    if (skipped[c] != 0) keep[c] = 0;
}

static void marginPass(const float* scores, size_t nCentroids, size_t qLen, const float* floor, uint8_t* keep) {
#if defined(__x86_64__)
  if (intDotPath() == IntDotPath::Vnni512) {
    marginAvx512(scores, nCentroids, qLen, floor, keep);
    return;
  }
#endif
  for (size_t c = 0; c < nCentroids; c++) {
    if (keep[c] != 0) continue;
    const float* row = scores + c * qLen;
    for (size_t i = 0; i < qLen; i++) {
      if (row[i] >= floor[i]) {
        keep[c] = 1;
        break;
      }
    }
  }
}

IntDotPath intDotPath() {
  static const IntDotPath path = [] {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    const Simd simd = activeSimd();
    __builtin_cpu_init();
    if (simd == Simd::Avx512 && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl")) return IntDotPath::Vnni512;
    if (simd != Simd::Scalar && __builtin_cpu_supports("avxvnni")) return IntDotPath::AvxVnni;
#endif
    return IntDotPath::Scalar;
  }();
  return path;
}

const char* intDotPathName(IntDotPath p) {
  switch (p) {
    case IntDotPath::Vnni512:
      return "avx512-vnni";
    case IntDotPath::AvxVnni:
      return "avx-vnni";
    default:
      return "scalar";
  }
}

void centroidScoresInt8(const uint8_t* centroids, const float* centroidScales, size_t nCentroids, size_t dim,
                        const uint8_t* queryPanel, const float* queryScales, const int32_t* corrections, size_t qLen,
                        float* out, float* rowMax) {
  const Args a{centroids, centroidScales, nCentroids, dim, queryPanel, queryScales, corrections, qLen, out, rowMax};
  if (rowMax != nullptr)
    for (size_t c = 0; c < nCentroids; c++) rowMax[c] = -__builtin_inff();
  size_t c = 0;
#if defined(__x86_64__)
  switch (intDotPath()) {
    case IntDotPath::Vnni512:
      vnni512Path(a, c);
      break;
    case IntDotPath::AvxVnni:
      avxVnniPath(a, c);
      break;
    default:
      break;
  }
#endif
  scalarPath(a, c);  // the remaining centroids (all of them without VNNI)
}

}  // namespace plait
