// Exact MaxSim on the stored residual codes, without decompressing them (issue 22).
//
//   score(q_i, token j) = (S[c_j, i] + scale_i * sum_b lut_i[b][byte_jb]) * inv_j
//
// S is the K x qLen centroid-score matrix that candidate generation already computed (q_i . c), the
// LUT holds q_i . (residual part of byte value v at byte position b), quantised to int16 per query
// token, and inv_j is the token's inverse norm (ColBERT decompresses to normalize(c + r); see
// src/codec/code-scorer.ts for the choices and their measured cost), or 1.
//
// Bit-identical on every path (scalar, AVX2, AVX-512, NEON) and with the TypeScript twin
// (src/kernels/code-kernels.ts): the LUT is built by one portable function; the per-token sums are
// int16 additions, exact in any order (the LUT bound keeps every sum inside int16); the float
// epilogue is lane-wise mul, add, mul, max in one fixed order, with no fused multiply-add (the
// pragma below turns contraction off for this file).
//
// LUT layout: lut[(v * nBytes + b) * lanes + i] (value-major: a token's rows are spread by value, so its
// byte positions do not all fall into one L1 set as with a 256-row stride per position), lanes = qLen rounded up to 16 (one ymm of int16; a zmm
// takes two groups at once), so a document token costs nBytes row loads and int16 adds per 16 or 32
// query tokens.
// No fused multiply-add anywhere in this file: binding.gyp compiles it alone with
// -ffp-contract=off (GCC contracts a*b+c by default in C++, through the generic-vector intrinsics
// too, and on arm64 in plain scalar code; clang within one expression), since a fused path would
// round differently from the others. The pragma repeats it for clang builds that miss the flag.
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels.h"


#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports its own _mm512_undefined_* (inside the AVX-512 intrinsics) as maybe-uninitialised.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#define PLAIT_CODE_AVX2 __attribute__((target("avx2")))
#define PLAIT_CODE_AVX512 __attribute__((target("avx512f,avx512bw,avx2")))
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace plait {
namespace {

constexpr float kNegInfinity = -std::numeric_limits<float>::infinity();

// Per-call tables of the exact ||r||^2: a residual's squared norm is sum_k count_k * w_k^2 over its
// buckets k, so only the bucket counts depend on the token. For 1 and 2 bits a byte's counts are
// packed in a uint64 (16 bits a bucket: exact up to 65,535 dimensions) and summed with one load a
// byte; 4 bits count nibbles directly.
struct NormTables {
  int nbits;
  float wsq[16];
  uint64_t packed[256];
};

void buildNormTables(const float* weights, int nbits, NormTables& t) {
  t.nbits = nbits;
  const int nb = 1 << nbits;
  for (int k = 0; k < nb; ++k) t.wsq[k] = weights[k] * weights[k];
  if (nbits > 2) return;
  const int perByte = 8 / nbits;
  const int mask = nb - 1;
  for (int v = 0; v < 256; ++v) {
    uint64_t p = 0;
    for (int s = 0; s < perByte; ++s) p += uint64_t{1} << (16 * ((v >> (8 - nbits * (s + 1))) & mask));
    t.packed[v] = p;
  }
}

struct CodeScratch {
  std::vector<float> best, inv, nib;
  std::vector<int16_t> acc;
  NormTables norms;
};
CodeScratch& codeScratch() {
  thread_local CodeScratch s;
  return s;
}

// Squared norm of a token: cn2 + sum_k count_k * w_k^2 (k ascending); its inverse square root is
// taken by invSqrtAll over a whole document (a loop the compiler vectorises: sqrt and division
// are correctly rounded in every width, so the result is the same).
inline float tokenNormSq(float cn2, const NormTables& t, const uint8_t* bytes, size_t nBytes) {
  uint32_t counts[16] = {0};
  const int nb = 1 << t.nbits;
  if (t.nbits <= 2) {
    // Four independent sums (integer: the order changes nothing) instead of one dependent chain.
    const uint64_t* packed = t.packed;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t b = 0;
    for (; b + 4 <= nBytes; b += 4) {
      s0 += packed[bytes[b]];
      s1 += packed[bytes[b + 1]];
      s2 += packed[bytes[b + 2]];
      s3 += packed[bytes[b + 3]];
    }
    for (; b < nBytes; ++b) s0 += packed[bytes[b]];
    const uint64_t sum = (s0 + s1) + (s2 + s3);
    for (int k = 0; k < nb; ++k) counts[k] = static_cast<uint32_t>((sum >> (16 * k)) & 0xFFFF);
  } else {
    for (size_t b = 0; b < nBytes; ++b) {
      ++counts[bytes[b] >> 4];
      ++counts[bytes[b] & 15];
    }
  }
  float r2 = 0.f;
  for (int k = 0; k < nb; ++k) {
    const float term = static_cast<float>(counts[k]) * t.wsq[k];
    r2 += term;
  }
  return cn2 + r2;
}

// x[j] = 1 / sqrt(max(x[j], 1e-24)) for j < n.
void invSqrtAll(float* x, size_t n) {
  for (size_t j = 0; j < n; ++j) {
    const float n2 = x[j] < 1e-24f ? 1e-24f : x[j];
    x[j] = 1.f / std::sqrt(n2);
  }
}

// Scalar epilogue of lanes [0, n): best = max(best, (s + scale * acc) * inv).
inline void epilogueScalar(const float* s, const float* scales, const int16_t* acc, float inv, size_t n, float* best) {
  for (size_t i = 0; i < n; ++i) {
    const float a = scales[i] * static_cast<float>(acc[i]);
    const float x = s[i] + a;
    const float y = x * inv;
    best[i] = y > best[i] ? y : best[i];
  }
}

// ---------------------------------------------------------------- scalar path (always compiled)
void tokensScalar(const float* S, size_t qLen, const int16_t* lut, const float* scales, size_t lanes,
                  const int32_t* codes, const uint8_t* residuals, size_t nBytes, size_t start, size_t len,
                  const float* invs, int16_t* acc, float* best) {
  for (size_t j = 0; j < len; ++j) {
    const uint8_t* bytes = residuals + (start + j) * nBytes;
    std::memset(acc, 0, sizeof(int16_t) * lanes);
    for (size_t b = 0; b < nBytes; ++b) {
      const int16_t* row = lut + (bytes[b] * nBytes + b) * lanes;
      for (size_t i = 0; i < lanes; ++i) acc[i] = static_cast<int16_t>(acc[i] + row[i]);
    }
    epilogueScalar(S + static_cast<size_t>(codes[start + j]) * qLen, scales, acc, invs[j], qLen, best);
  }
}

#if defined(__x86_64__)
// ---------------------------------------------------------------- AVX2 path: 16 int16 lanes a ymm
// Epilogue of 16 lanes [g, g + 16) from their int16 sums (all 16 valid).
PLAIT_CODE_AVX2 inline void epilogue16Avx2(const float* s, const float* scales, __m256i acc, __m256 inv, float* best) {
  const __m128i parts[2] = {_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1)};
  for (int p = 0; p < 2; ++p) {
    const __m256 af = _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(parts[p]));
    const __m256 a = _mm256_mul_ps(_mm256_loadu_ps(scales + 8 * p), af);
    const __m256 x = _mm256_add_ps(_mm256_loadu_ps(s + 8 * p), a);
    const __m256 y = _mm256_mul_ps(x, inv);
    _mm256_storeu_ps(best + 8 * p, _mm256_max_ps(y, _mm256_loadu_ps(best + 8 * p)));
  }
}

PLAIT_CODE_AVX2 void tokensAvx2(const float* S, size_t qLen, const int16_t* lut, const float* scales, size_t lanes,
                                const int32_t* codes, const uint8_t* residuals, size_t nBytes, size_t start,
                                size_t len, const float* invs, int16_t* acc, float* best) {
  for (size_t j = 0; j < len; ++j) {
    const uint8_t* bytes = residuals + (start + j) * nBytes;
    const float* s = S + static_cast<size_t>(codes[start + j]) * qLen;
    const __m256 inv = _mm256_set1_ps(invs[j]);
    for (size_t g = 0; g < lanes; g += 16) {
      // Two accumulators over alternate bytes: int16 addition is exact, so the split changes nothing.
      __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
      size_t b = 0;
      for (; b + 2 <= nBytes; b += 2) {
        a0 = _mm256_add_epi16(a0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lut + (bytes[b] * nBytes + b) * lanes + g)));
        a1 = _mm256_add_epi16(a1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lut + (bytes[b + 1] * nBytes + b + 1) * lanes + g)));
      }
      if (b < nBytes) a0 = _mm256_add_epi16(a0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lut + (bytes[b] * nBytes + b) * lanes + g)));
      a0 = _mm256_add_epi16(a0, a1);
      const size_t valid = std::min<size_t>(16, qLen - std::min(qLen, g));
      if (valid == 16) {
        epilogue16Avx2(s + g, scales + g, a0, inv, best + g);
      } else if (valid > 0) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + g), a0);
        epilogueScalar(s + g, scales + g, acc + g, invs[j], valid, best + g);
      }
    }
  }
}

// ---------------------------------------------------------------- AVX-512 path: 32 int16 lanes a zmm
// Epilogue of n <= 16 lanes from 16 int16 sums (masked: S rows are qLen floats, not padded).
PLAIT_CODE_AVX512 inline void epilogue16Avx512(const float* s, const float* scales, __m256i acc, __m512 inv,
                                               size_t n, float* best) {
  const __mmask16 m = static_cast<__mmask16>(n >= 16 ? 0xFFFFu : (1u << n) - 1);
  const __m512 af = _mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(acc));
  const __m512 a = _mm512_mul_ps(_mm512_loadu_ps(scales), af);
  const __m512 x = _mm512_add_ps(_mm512_maskz_loadu_ps(m, s), a);
  const __m512 y = _mm512_mul_ps(x, inv);
  const __m512 old = _mm512_loadu_ps(best);
  _mm512_storeu_ps(best, _mm512_mask_max_ps(old, m, y, old));
}

PLAIT_CODE_AVX512 void tokensAvx512(const float* S, size_t qLen, const int16_t* lut, const float* scales,
                                    size_t lanes, const int32_t* codes, const uint8_t* residuals, size_t nBytes,
                                    size_t start, size_t len, const float* invs, int16_t* acc, float* best) {
  (void)acc;
  for (size_t j = 0; j < len; ++j) {
    const uint8_t* bytes = residuals + (start + j) * nBytes;
    const float* s = S + static_cast<size_t>(codes[start + j]) * qLen;
    const __m512 inv = _mm512_set1_ps(invs[j]);
    size_t g = 0;
    for (; g + 32 <= lanes; g += 32) {
      __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
      size_t b = 0;
      for (; b + 2 <= nBytes; b += 2) {
        a0 = _mm512_add_epi16(a0, _mm512_loadu_si512(lut + (bytes[b] * nBytes + b) * lanes + g));
        a1 = _mm512_add_epi16(a1, _mm512_loadu_si512(lut + (bytes[b + 1] * nBytes + b + 1) * lanes + g));
      }
      if (b < nBytes) a0 = _mm512_add_epi16(a0, _mm512_loadu_si512(lut + (bytes[b] * nBytes + b) * lanes + g));
      a0 = _mm512_add_epi16(a0, a1);
      const size_t valid = std::min<size_t>(32, qLen - std::min(qLen, g));
      if (valid > 0) epilogue16Avx512(s + g, scales + g, _mm512_castsi512_si256(a0), inv, valid, best + g);
      if (valid > 16) epilogue16Avx512(s + g + 16, scales + g + 16, _mm512_extracti64x4_epi64(a0, 1), inv, valid - 16, best + g + 16);
    }
    if (g < lanes) {
      // The last 16 lanes (lanes is a multiple of 16): one ymm.
      __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
      size_t b = 0;
      for (; b + 2 <= nBytes; b += 2) {
        a0 = _mm256_add_epi16(a0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lut + (bytes[b] * nBytes + b) * lanes + g)));
        a1 = _mm256_add_epi16(a1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lut + (bytes[b + 1] * nBytes + b + 1) * lanes + g)));
      }
      if (b < nBytes) a0 = _mm256_add_epi16(a0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lut + (bytes[b] * nBytes + b) * lanes + g)));
      a0 = _mm256_add_epi16(a0, a1);
      const size_t valid = qLen - std::min(qLen, g);
      if (valid > 0) epilogue16Avx512(s + g, scales + g, a0, inv, valid, best + g);
    }
  }
}
#endif

#if defined(__aarch64__)
// ---------------------------------------------------------------- NEON path: 8 int16 lanes a register
void tokensNeon(const float* S, size_t qLen, const int16_t* lut, const float* scales, size_t lanes,
                const int32_t* codes, const uint8_t* residuals, size_t nBytes, size_t start, size_t len,
                const float* invs, int16_t* acc, float* best) {
  for (size_t j = 0; j < len; ++j) {
    const uint8_t* bytes = residuals + (start + j) * nBytes;
    const float* s = S + static_cast<size_t>(codes[start + j]) * qLen;
    const float32x4_t inv = vdupq_n_f32(invs[j]);
    for (size_t g = 0; g < lanes; g += 16) {
      int16x8_t a0 = vdupq_n_s16(0), a1 = vdupq_n_s16(0);
      for (size_t b = 0; b < nBytes; ++b) {
        const int16_t* row = lut + (bytes[b] * nBytes + b) * lanes + g;
        a0 = vaddq_s16(a0, vld1q_s16(row));
        a1 = vaddq_s16(a1, vld1q_s16(row + 8));
      }
      const size_t valid = std::min<size_t>(16, qLen - std::min(qLen, g));
      if (valid < 16) {
        vst1q_s16(acc + g, a0);
        vst1q_s16(acc + g + 8, a1);
        epilogueScalar(s + g, scales + g, acc + g, invs[j], valid, best + g);
        continue;
      }
      const int16x4_t quarters[4] = {vget_low_s16(a0), vget_high_s16(a0), vget_low_s16(a1), vget_high_s16(a1)};
      for (int p = 0; p < 4; ++p) {
        const float32x4_t af = vcvtq_f32_s32(vmovl_s16(quarters[p]));
        const float32x4_t m = vmulq_f32(vld1q_f32(scales + g + 4 * p), af);
        const float32x4_t x = vaddq_f32(vld1q_f32(s + g + 4 * p), m);
        const float32x4_t y = vmulq_f32(x, inv);
        float* bp = best + g + 4 * p;
        const float32x4_t old = vld1q_f32(bp);
        // y > best ? y : best, exactly the scalar rule (vmaxq_f32 would differ on NaN).
        vst1q_f32(bp, vbslq_f32(vcgtq_f32(y, old), y, old));
      }
    }
  }
}
#endif

using TokensFn = void (*)(const float*, size_t, const int16_t*, const float*, size_t, const int32_t*, const uint8_t*,
                          size_t, size_t, size_t, const float*, int16_t*, float*);

TokensFn tokensFor(CodeSimd simd) {
  switch (simd) {
#if defined(__x86_64__)
    case CodeSimd::Avx512:
      return tokensAvx512;
    case CodeSimd::Avx2:
      return tokensAvx2;
#endif
#if defined(__aarch64__)
    case CodeSimd::Neon:
      return tokensNeon;
#endif
    default:
      return tokensScalar;
  }
}

}  // namespace

void maxsimCodeRows(CodeSimd simd, const float* S, size_t qLen, const int16_t* lut, const float* scales, size_t lanes,
                    const int32_t* codes, const uint8_t* residuals, size_t nBytes, size_t start, size_t len,
                    const float* invs, int16_t* acc, float* best) {
  tokensFor(simd)(S, qLen, lut, scales, lanes, codes, residuals, nBytes, start, len, invs, acc, best);
}

size_t codeLutLanes(size_t qLen) { return std::max<size_t>(16, (qLen + 15) / 16 * 16); }

int codeLutBound(size_t nBytes) { return static_cast<int>(32767 / std::max<size_t>(1, nBytes)); }

namespace {

// floor(x) for |x| < 2^31 by truncation and a correction: the same value as std::floor, but it
// vectorises with the baseline ISA (SSE2 has no rounding instruction; std::floor became a call).
inline float floorFast(float x) {
  const float t = static_cast<float>(static_cast<int32_t>(x));
  return t > x ? t - 1.f : t;
}

inline void quantiseLutBody(const float* nib, const float* inv, size_t nBytes, size_t lanes, float bound,
                            int16_t* lut) {
  for (int v = 0; v < 256; ++v) {
    for (size_t b = 0; b < nBytes; ++b) {
      const float* hi = nib + ((b * 2) * 16 + (v >> 4)) * lanes;
      const float* lo = nib + ((b * 2 + 1) * 16 + (v & 15)) * lanes;
      int16_t* out = lut + (static_cast<size_t>(v) * nBytes + b) * lanes;
      for (size_t i = 0; i < lanes; ++i) {
        const float e = hi[i] + lo[i];
        const float t = e * inv[i];
        const float r = floorFast(t + 0.5f);
        const float low = r < -bound ? -bound : r;
        out[i] = static_cast<int16_t>(low > bound ? bound : low);
      }
    }
  }
}

void quantiseLutScalar(const float* nib, const float* inv, size_t nBytes, size_t lanes, float bound, int16_t* lut) {
  quantiseLutBody(nib, inv, nBytes, lanes, bound, lut);
}

#if defined(__x86_64__)
// The same loop in AVX2 intrinsics, 8 lanes a step (lanes is a multiple of 16): the same operations
// in the same order (truncate, correct, clamp), so the same int16 values.
PLAIT_CODE_AVX2 void quantiseLutAvx2(const float* nib, const float* inv, size_t nBytes, size_t lanes, float bound,
                                     int16_t* lut) {
  const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.f);
  const __m256 hiBound = _mm256_set1_ps(bound), loBound = _mm256_set1_ps(-bound);
  for (int v = 0; v < 256; ++v) {
    for (size_t b = 0; b < nBytes; ++b) {
      const float* hi = nib + ((b * 2) * 16 + (v >> 4)) * lanes;
      const float* lo = nib + ((b * 2 + 1) * 16 + (v & 15)) * lanes;
      int16_t* out = lut + (static_cast<size_t>(v) * nBytes + b) * lanes;
      for (size_t i = 0; i < lanes; i += 16) {
        __m256i q[2];
        for (int h = 0; h < 2; ++h) {
          const size_t o = i + 8 * h;
          const __m256 e = _mm256_add_ps(_mm256_loadu_ps(hi + o), _mm256_loadu_ps(lo + o));
          const __m256 t = _mm256_mul_ps(e, _mm256_loadu_ps(inv + o));
          const __m256 x = _mm256_add_ps(t, half);
          const __m256 tr = _mm256_cvtepi32_ps(_mm256_cvttps_epi32(x));
          const __m256 r = _mm256_blendv_ps(tr, _mm256_sub_ps(tr, one), _mm256_cmp_ps(tr, x, _CMP_GT_OQ));
          // std::max(-bound, r) is (-bound < r ? r : -bound): maxps(r, -bound) returns r when r > -bound.
          const __m256 c = _mm256_min_ps(hiBound, _mm256_max_ps(r, loBound));
          q[h] = _mm256_cvttps_epi32(c);
        }
        // packs_epi32 works within 128-bit halves: permute back to lane order.
        const __m256i packed = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[0], q[1]), 0xD8);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), packed);
      }
    }
  }
}
#endif

#if defined(__aarch64__)
// The same loop in NEON, 4 lanes a step: truncate (vcvtq_s32_f32 rounds toward zero, as the cast),
// correct, clamp with the scalar comparisons, so the same int16 values.
void quantiseLutNeon(const float* nib, const float* inv, size_t nBytes, size_t lanes, float bound, int16_t* lut) {
  const float32x4_t half = vdupq_n_f32(0.5f), one = vdupq_n_f32(1.f);
  const float32x4_t hiBound = vdupq_n_f32(bound), loBound = vdupq_n_f32(-bound);
  for (int v = 0; v < 256; ++v) {
    for (size_t b = 0; b < nBytes; ++b) {
      const float* hi = nib + ((b * 2) * 16 + (v >> 4)) * lanes;
      const float* lo = nib + ((b * 2 + 1) * 16 + (v & 15)) * lanes;
      int16_t* out = lut + (static_cast<size_t>(v) * nBytes + b) * lanes;
      for (size_t i = 0; i < lanes; i += 8) {
        int32x4_t q[2];
        for (int h = 0; h < 2; ++h) {
          const size_t o = i + 4 * h;
          const float32x4_t e = vaddq_f32(vld1q_f32(hi + o), vld1q_f32(lo + o));
          const float32x4_t t = vmulq_f32(e, vld1q_f32(inv + o));
          const float32x4_t x = vaddq_f32(t, half);
          const float32x4_t tr = vcvtq_f32_s32(vcvtq_s32_f32(x));
          const float32x4_t r = vbslq_f32(vcgtq_f32(tr, x), vsubq_f32(tr, one), tr);
          const float32x4_t low = vbslq_f32(vcltq_f32(r, loBound), loBound, r);
          const float32x4_t c = vbslq_f32(vcgtq_f32(low, hiBound), hiBound, low);
          q[h] = vcvtq_s32_f32(c);
        }
        vst1q_s16(out + i, vcombine_s16(vmovn_s32(q[0]), vmovn_s32(q[1])));
      }
    }
  }
}
#endif

void quantiseLut(CodeSimd simd, const float* nib, const float* inv, size_t nBytes, size_t lanes, float bound,
                 int16_t* lut) {
#if defined(__aarch64__)
  if (simd == CodeSimd::Neon) {
    quantiseLutNeon(nib, inv, nBytes, lanes, bound, lut);
    return;
  }
#endif
#if defined(__x86_64__)
  if (simd != CodeSimd::Scalar) {
    quantiseLutAvx2(nib, inv, nBytes, lanes, bound, lut);
    return;
  }
#endif
  quantiseLutScalar(nib, inv, nBytes, lanes, bound, lut);
}

}  // namespace

void buildCodeLut(const float* q, size_t qLen, size_t dim, const float* weights, int nbits, int16_t* lut,
                  float* scales) {
  buildCodeLutWith(activeCodeSimd(), q, qLen, dim, weights, nbits, lut, scales);
}

void buildCodeLutWith(CodeSimd simd, const float* q, size_t qLen, size_t dim, const float* weights, int nbits,
                      int16_t* lut, float* scales) {
  const size_t nBytes = dim * static_cast<size_t>(nbits) / 8;
  const size_t lanes = codeLutLanes(qLen);
  const int perNibble = 4 / nbits;
  const int mask = (1 << nbits) - 1;
  const float bound = static_cast<float>(codeLutBound(nBytes));
  // Pass 1: nibble tables nib[((b*2 + h)*16 + v)*lanes + i] (h = 0: the high nibble, the byte's
  // first dimensions), each a sum over its dimensions in order; and each token's largest |entry|.
  // Rounding is monotonic, so max_v fl(hi + lo) = fl(max hi + max lo): no pass over the entries.
  std::vector<float>& nib = codeScratch().nib;
  nib.assign(nBytes * 32 * lanes, 0.f);
  std::vector<float> maxAbs(lanes, 0.f), inv(lanes, 0.f);
  for (size_t b = 0; b < nBytes; ++b) {
    for (int h = 0; h < 2; ++h) {
      const size_t t0 = b * 2 * perNibble + h * perNibble;
      for (int v = 0; v < 16; ++v) {
        float* row = nib.data() + ((b * 2 + h) * 16 + v) * lanes;
        for (int s = 0; s < perNibble; ++s) {
          const float w = weights[(v >> (4 - nbits * (s + 1))) & mask];
          for (size_t i = 0; i < qLen; ++i) {
            const float p = q[i * dim + t0 + s] * w;
            row[i] += p;
          }
        }
      }
    }
    for (size_t i = 0; i < qLen; ++i) {
      float hiMax = kNegInfinity, hiMin = -kNegInfinity, loMax = kNegInfinity, loMin = -kNegInfinity;
      for (int v = 0; v < 16; ++v) {
        const float hv = nib[((b * 2) * 16 + v) * lanes + i], lv = nib[((b * 2 + 1) * 16 + v) * lanes + i];
        hiMax = std::max(hiMax, hv);
        hiMin = std::min(hiMin, hv);
        loMax = std::max(loMax, lv);
        loMin = std::min(loMin, lv);
      }
      const float top = hiMax + loMax, bottom = hiMin + loMin;
      maxAbs[i] = std::max(maxAbs[i], std::max(std::fabs(top), std::fabs(bottom)));
    }
  }
  for (size_t i = 0; i < lanes; ++i) {
    scales[i] = maxAbs[i] == 0.f ? 0.f : maxAbs[i] / bound;
    inv[i] = maxAbs[i] == 0.f ? 0.f : bound / maxAbs[i];
  }
  // Pass 2: entries in LUT order, lut[(v*nBytes + b)*lanes + i] = clamp(floor(fl(e*inv) + 0.5), +-bound).
  quantiseLut(simd, nib.data(), inv.data(), nBytes, lanes, bound, lut);
}

CodeSimd activeCodeSimd() {
#if defined(__aarch64__)
  static const CodeSimd active = [] {
    const char* want = std::getenv("PLAIT_SIMD");
    return want != nullptr && std::strcmp(want, "scalar") == 0 ? CodeSimd::Scalar : CodeSimd::Neon;
  }();
  return active;
#else
  switch (activeSimd()) {
    case Simd::Avx512:
      return CodeSimd::Avx512;
    case Simd::Avx2:
      return CodeSimd::Avx2;
    default:
      return CodeSimd::Scalar;
  }
#endif
}

void maxsimCodesWith(CodeSimd simd, const float* S, size_t qLen, const int16_t* lut, const float* scales,
                     const int32_t* codes, const uint8_t* residuals, size_t dim, int nbits, const int32_t* tokenStarts,
                     const int32_t* doclens, size_t nDocs, const float* centroidNormsSq, const float* weights,
                     float* out, const float* qWeights) {
  const size_t nBytes = dim * static_cast<size_t>(nbits) / 8;
  CodeScratch& sc = codeScratch();
  const size_t lanes = codeLutLanes(qLen);
  sc.best.resize(lanes);
  sc.acc.resize(lanes);
  const TokensFn tokens = tokensFor(simd);
  if (centroidNormsSq != nullptr) buildNormTables(weights, nbits, sc.norms);
  const NormTables& norms = sc.norms;
  for (size_t d = 0; d < nDocs; ++d) {
    const size_t start = static_cast<size_t>(tokenStarts[d]);
    const size_t len = static_cast<size_t>(doclens[d]);
    float total = 0.f;
    if (len == 0) {
      for (size_t i = 0; i < qLen; ++i) {
        const float p = (qWeights != nullptr ? qWeights[i] : 1.f) * kEmptyTokenScore;
        total += p;
      }
      out[d] = total;
      continue;
    }
    if (sc.inv.size() < len) sc.inv.resize(len);
    float* inv = sc.inv.data();
    if (centroidNormsSq == nullptr) {
      std::fill(inv, inv + len, 1.f);
    } else {
      for (size_t j = 0; j < len; ++j)
        inv[j] = tokenNormSq(centroidNormsSq[codes[start + j]], norms, residuals + (start + j) * nBytes, nBytes);
      invSqrtAll(inv, len);
    }
    std::fill(sc.best.begin(), sc.best.end(), kNegInfinity);
    tokens(S, qLen, lut, scales, lanes, codes, residuals, nBytes, start, len, sc.inv.data(), sc.acc.data(),
           sc.best.data());
    for (size_t i = 0; i < qLen; ++i) {
      const float p = qWeights != nullptr ? qWeights[i] * sc.best[i] : sc.best[i];
      total += p;
    }
    out[d] = total;
  }
}

void maxsimCodes(const float* S, size_t qLen, const int16_t* lut, const float* scales, const int32_t* codes,
                 const uint8_t* residuals, size_t dim, int nbits, const int32_t* tokenStarts, const int32_t* doclens,
                 size_t nDocs, const float* centroidNormsSq, const float* weights, float* out,
                 const float* qWeights) {
  maxsimCodesWith(activeCodeSimd(), S, qLen, lut, scales, codes, residuals, dim, nbits, tokenStarts, doclens, nDocs,
                  centroidNormsSq, weights, out, qWeights);
}

}  // namespace plait
