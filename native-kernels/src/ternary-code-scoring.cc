// Exact MaxSim on the stored ternary codes, without decompressing them (issue 22).
//
//   score(q_i, token j) = (S[c_j, i] + scale_i * sum_b lut_i[b][byte_jb]) * inv_j
//
// S is the K x qLen centroid-score matrix of candidate generation (q_i . c); the LUT holds, for
// every byte position b and byte value v, q_i . (the five residual levels v decodes to), quantised to
// int16 per query token; inv_j = 1 / max(||c_j + r_j||, 1e-12), the factor ColBERT's decompression
// multiplies the token by (ternaryInverseNorms, ternary-kernels.cc), kept per segment in a cache the
// caller owns (NaN until first use).
//
// A ternary byte is one of 243 values of five dimensions, so it has no nibble split for pshufb / tbl
// (2-bit fast-scan's layout): its table is the 256-row byte LUT of the 'codes' method, and the
// per-token loop is code-maxsim.cc's (maxsimCodeRows: int16 row adds on AVX-512, AVX2, NEON and
// scalar, exact in any order). What is ternary here: the LUT build and the norm.
//
// LUT build, factored like the nibble tables of code-maxsim.cc: byte v = 27 h + l, h = v / 27 (the
// first two digits; h = 9 for the never-written v >= 243, whose digits read 0, 0) and l = v mod 27
// (the last three), so entry e = fl(A[b][h] + B[b][l]) with
//   A = (0 + q[5b] w[d0]) + q[5b+1] w[d1],  B = ((0 + q[5b+2] w[d2]) + q[5b+3] w[d3]) + q[5b+4] w[d4]
// (each product rounded, dimensions past dim left out), then lut = clamp(floor(fl(e * B/m_i) + 0.5),
// +-bound) with m_i = max |e| over (b, v), bound = codeLutBound(nBytes), scales[i] = m_i / bound. Rounding is
// monotonic, so max_v e = fl(max A + max B): no pass over the entries for m_i.
// Quantisation error: each entry is within scale_i / 2 of e, so a token's sum is within
// nBytes * scale_i / 2 of q_i . r_j, and the score within (nBytes * scale_i / 2) * inv_j of the sum
// on the exact LUT (test/ternary-code-scoring.test.ts checks it against decompression).
//
// Bit-identical on every path and with the TypeScript twin (src/kernels/ternary-code-kernels.ts):
// this file is compiled with -ffp-contract=off (binding.gyp), the LUT build is one portable loop, the
// token loop is shared, and the norm is the decoder's.
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels.h"

namespace plait {
namespace {

constexpr int kHeads = 10;  // h = v / 27 for v < 256: 0..9
constexpr int kTails = 27;  // l = v mod 27

struct TernaryCodeScratch {
  std::vector<float> heads, tails, best, ones;
  std::vector<int16_t> acc;
};
TernaryCodeScratch& scratch() {
  thread_local TernaryCodeScratch s;
  return s;
}

// floor(x) for |x| < 2^31 (code-maxsim.cc's floorFast: it vectorises on the baseline ISA).
inline float floorFast(float x) {
  const float t = static_cast<float>(static_cast<int32_t>(x));
  return t > x ? t - 1.f : t;
}

// Fills one lane's digit sums for the dimensions [t0, t0 + n) of q_i: out[u * lanes] for u < count, the
// digits of u (base 3, n of them, first the most significant) read into weights.
inline void digitSums(const float* qi, size_t t0, int n, size_t dim, const float* weights, int count, float* out,
                      size_t lanes) {
  for (int u = 0; u < count; ++u) {
    float sum = 0.f;
    int p = n == 2 ? 3 : 9;
    for (int s = 0; s < n; ++s, p /= 3) {
      const size_t t = t0 + static_cast<size_t>(s);
      if (t >= dim) break;
      const float prod = qi[t] * weights[(u / p) % 3];
      sum += prod;
    }
    out[static_cast<size_t>(u) * lanes] = sum;
  }
}

}  // namespace

void buildTernaryCodeLut(const float* q, size_t qLen, size_t dim, const float* weights, int16_t* lut, float* scales) {
  const size_t nBytes = ternaryBytes(dim);
  const size_t lanes = codeLutLanes(qLen);
  const float bound = static_cast<float>(codeLutBound(nBytes));
  TernaryCodeScratch& sc = scratch();
  // heads[(b*10 + h)*lanes + i], tails[(b*27 + l)*lanes + i]; lanes >= qLen stay 0.
  sc.heads.assign(nBytes * kHeads * lanes, 0.f);
  sc.tails.assign(nBytes * kTails * lanes, 0.f);
  std::vector<float> maxAbs(lanes, 0.f), inv(lanes, 0.f);
  for (size_t b = 0; b < nBytes; ++b) {
    float* heads = sc.heads.data() + b * kHeads * lanes;
    float* tails = sc.tails.data() + b * kTails * lanes;
    for (size_t i = 0; i < qLen; ++i) {
      const float* qi = q + i * dim;
      digitSums(qi, 5 * b, 2, dim, weights, kHeads, heads + i, lanes);
      digitSums(qi, 5 * b + 2, 3, dim, weights, kTails, tails + i, lanes);
      float hMax = -std::numeric_limits<float>::infinity(), hMin = std::numeric_limits<float>::infinity();
      float tMax = hMax, tMin = hMin;
      for (int h = 0; h < 9; ++h) {
        hMax = std::max(hMax, heads[h * lanes + i]);
        hMin = std::min(hMin, heads[h * lanes + i]);
      }
      for (int l = 0; l < kTails; ++l) {
        tMax = std::max(tMax, tails[l * lanes + i]);
        tMin = std::min(tMin, tails[l * lanes + i]);
      }
      const float top = hMax + tMax, bottom = hMin + tMin;
      maxAbs[i] = std::max(maxAbs[i], std::max(std::fabs(top), std::fabs(bottom)));
    }
  }
  for (size_t i = 0; i < lanes; ++i) {
    scales[i] = maxAbs[i] == 0.f ? 0.f : maxAbs[i] / bound;
    inv[i] = maxAbs[i] == 0.f ? 0.f : bound / maxAbs[i];
  }
  for (int v = 0; v < 256; ++v) {
    const int h = v / kTails, l = v % kTails;
    for (size_t b = 0; b < nBytes; ++b) {
      const float* hr = sc.heads.data() + (b * kHeads + h) * lanes;
      const float* tr = sc.tails.data() + (b * kTails + l) * lanes;
      int16_t* out = lut + (static_cast<size_t>(v) * nBytes + b) * lanes;
      for (size_t i = 0; i < lanes; ++i) {
        const float e = hr[i] + tr[i];
        const float t = e * inv[i];
        const float r = floorFast(t + 0.5f);
        const float low = r < -bound ? -bound : r;
        out[i] = static_cast<int16_t>(low > bound ? bound : low);
      }
    }
  }
}

void maxsimTernaryCodesWith(CodeSimd simd, const float* S, size_t qLen, const int16_t* lut, const float* scales,
                            const int32_t* codes, const uint8_t* residuals, size_t dim, const int32_t* tokenStarts,
                            const int32_t* doclens, size_t nDocs, float* out, const float* qWeights, float* invNorms,
                            const float* centroids, const float* weights) {
  const size_t nBytes = ternaryBytes(dim);
  const size_t lanes = codeLutLanes(qLen);
  TernaryCodeScratch& sc = scratch();
  sc.best.resize(lanes);
  sc.acc.resize(lanes);
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
    const float* invs;
    if (invNorms != nullptr) {
      // Fill the tokens not yet known, a run of them per call.
      for (size_t j = start, end = start + len; j < end;) {
        if (!std::isnan(invNorms[j])) {
          ++j;
          continue;
        }
        size_t e = j + 1;
        while (e < end && std::isnan(invNorms[e])) ++e;
        ternaryInverseNorms(codes + j, residuals + j * nBytes, e - j, dim, centroids, weights, invNorms + j);
        j = e;
      }
      invs = invNorms + start;
    } else {
      if (sc.ones.size() < len) sc.ones.assign(len, 1.f);
      invs = sc.ones.data();
    }
    std::fill(sc.best.begin(), sc.best.end(), -std::numeric_limits<float>::infinity());
    maxsimCodeRows(simd, S, qLen, lut, scales, lanes, codes, residuals, nBytes, start, len, invs, sc.acc.data(),
                   sc.best.data());
    for (size_t i = 0; i < qLen; ++i) {
      const float p = qWeights != nullptr ? qWeights[i] * sc.best[i] : sc.best[i];
      total += p;
    }
    out[d] = total;
  }
}

void maxsimTernaryCodes(const float* S, size_t qLen, const int16_t* lut, const float* scales, const int32_t* codes,
                        const uint8_t* residuals, size_t dim, const int32_t* tokenStarts, const int32_t* doclens,
                        size_t nDocs, float* out, const float* qWeights, float* invNorms, const float* centroids,
                        const float* weights) {
  maxsimTernaryCodesWith(activeCodeSimd(), S, qLen, lut, scales, codes, residuals, dim, tokenStarts, doclens, nDocs,
                         out, qWeights, invNorms, centroids, weights);
}

}  // namespace plait
