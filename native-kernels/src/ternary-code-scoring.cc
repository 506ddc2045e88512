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
  std::vector<float> qT, heads, tails, best, ones, maxAbs, inv;
  std::vector<int16_t> acc;
};
TernaryCodeScratch& scratch() {
  thread_local TernaryCodeScratch s;
  return s;
}

// DIGITS[u][s]: digit s (most significant first) of u in base 3, for the heads (2 digits, u < 10: u = 9 reads 0, 0
// as the decoder reads bytes >= 243) and the tails (3 digits, u < 27).
struct Digits {
  uint8_t head[kHeads][2];
  uint8_t tail[kTails][3];
  constexpr Digits() : head(), tail() {
    for (int u = 0; u < kHeads; ++u) {
      head[u][0] = static_cast<uint8_t>((u / 3) % 3);
      head[u][1] = static_cast<uint8_t>(u % 3);
    }
    for (int u = 0; u < kTails; ++u) {
      tail[u][0] = static_cast<uint8_t>(u / 9);
      tail[u][1] = static_cast<uint8_t>((u / 3) % 3);
      tail[u][2] = static_cast<uint8_t>(u % 3);
    }
  }
};
constexpr Digits kDigits;

// rows[u * lanes + i] = sum over the n digits s of u of qT[(t0 + s) * lanes + i] * weights[digit], for dimensions
// t0 + s < dim, added in s order from 0 (lanes contiguous, so the loop vectorises; every lane the same operations).
template <int N, int Count>
inline void digitSums(const float* qT, size_t t0, size_t dim, const float* weights, const uint8_t (*digits)[N],
                      size_t lanes, float* rows) {
  for (int u = 0; u < Count; ++u) {
    float* row = rows + static_cast<size_t>(u) * lanes;
    std::fill(row, row + lanes, 0.f);
    for (int s = 0; s < N && t0 + static_cast<size_t>(s) < dim; ++s) {
      const float w = weights[digits[u][s]];
      const float* qt = qT + (t0 + static_cast<size_t>(s)) * lanes;
      for (size_t i = 0; i < lanes; ++i) {
        const float prod = qt[i] * w;
        row[i] += prod;
      }
    }
  }
}

}  // namespace

void buildTernaryCodeLut(const float* q, size_t qLen, size_t dim, const float* weights, int16_t* lut, float* scales) {
  const size_t nBytes = ternaryBytes(dim);
  const size_t lanes = codeLutLanes(qLen);
  const int32_t ibound = codeLutBound(nBytes);
  const float bound = static_cast<float>(ibound);
  TernaryCodeScratch& sc = scratch();
  // The query transposed to qT[t * lanes + i] (lanes >= qLen are 0, so their sums, maxima and entries are 0).
  sc.qT.assign(dim * lanes, 0.f);
  for (size_t i = 0; i < qLen; ++i)
    for (size_t t = 0; t < dim; ++t) sc.qT[t * lanes + i] = q[i * dim + t];
  // heads[(b*10 + h)*lanes + i], tails[(b*27 + l)*lanes + i].
  sc.heads.resize(nBytes * kHeads * lanes);
  sc.tails.resize(nBytes * kTails * lanes);
  sc.maxAbs.assign(lanes, 0.f);
  sc.inv.assign(lanes, 0.f);
  std::vector<float> hMax(lanes), hMin(lanes), tMax(lanes), tMin(lanes);
  float* maxAbs = sc.maxAbs.data();
  for (size_t b = 0; b < nBytes; ++b) {
    float* heads = sc.heads.data() + b * kHeads * lanes;
    float* tails = sc.tails.data() + b * kTails * lanes;
    digitSums<2, kHeads>(sc.qT.data(), 5 * b, dim, weights, kDigits.head, lanes, heads);
    digitSums<3, kTails>(sc.qT.data(), 5 * b + 2, dim, weights, kDigits.tail, lanes, tails);
    // Extremes over the heads 0..8 (head 9 repeats head 0) and the 27 tails; rounding is monotonic, so
    // max_v |e| = max(|fl(max A + max B)|, |fl(min A + min B)|).
    std::copy(heads, heads + lanes, hMax.begin());
    std::copy(heads, heads + lanes, hMin.begin());
    std::copy(tails, tails + lanes, tMax.begin());
    std::copy(tails, tails + lanes, tMin.begin());
    for (int h = 1; h < 9; ++h)
      for (size_t i = 0; i < lanes; ++i) {
        const float x = heads[h * lanes + i];
        hMax[i] = x > hMax[i] ? x : hMax[i];
        hMin[i] = x < hMin[i] ? x : hMin[i];
      }
    for (int l = 1; l < kTails; ++l)
      for (size_t i = 0; i < lanes; ++i) {
        const float x = tails[l * lanes + i];
        tMax[i] = x > tMax[i] ? x : tMax[i];
        tMin[i] = x < tMin[i] ? x : tMin[i];
      }
    for (size_t i = 0; i < lanes; ++i) {
      const float top = std::fabs(hMax[i] + tMax[i]), bottom = std::fabs(hMin[i] + tMin[i]);
      const float m = top > bottom ? top : bottom;
      maxAbs[i] = m > maxAbs[i] ? m : maxAbs[i];
    }
  }
  float* inv = sc.inv.data();
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
      // floor(fl(e * inv) + 0.5) by truncation and a correction, clamped to +-bound, in integer selects so that
      // the loop vectorises (a float select with branches ran 8 ns an entry).
      for (size_t i = 0; i < lanes; ++i) {
        const float e = hr[i] + tr[i];
        const float x = e * inv[i] + 0.5f;
        int32_t r = static_cast<int32_t>(x);
        r -= static_cast<float>(r) > x ? 1 : 0;
        r = r < -ibound ? -ibound : r;
        out[i] = static_cast<int16_t>(r > ibound ? ibound : r);
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
