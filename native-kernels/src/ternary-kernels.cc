// Ternary residual kernels (issue 22): compress, decompress and MaxSim fused with decompression for
// the codec that stores each residual dimension as one of three levels, five dimensions a byte
// (3^5 = 243 <= 256): ceil(dim/5) bytes a token, 26 at 128 d against 2-bit's 32.
//
// Layout (pinned by test/codec-ternary.test.ts; the TypeScript twin is src/kernels/ternary-kernels.ts):
// byte b holds dimensions [5b, 5b+5) as sum_s trit_s * 3^(4-s), the first dimension the most
// significant digit; trit = number of the 2 ascending cutoffs <= x; the last byte's missing
// dimensions are 0 digits; a byte v >= 243 (never written) reads as the digits floor(v/3^(4-s)) mod 3.
//
// One portable path, no CPU-specific code: decoding is a table lookup and an add, and this file is
// compiled with -ffp-contract=off (binding.gyp), so every CPU and the TypeScript twin give the same
// bits. normaliseRow repeats the bucket codec's normalisation (codec-kernels.cc decodeRow) on purpose:
// shared out of line it cost the 2-bit decoder 4% (49.1 -> 51.6 ns a 128-d token, 20k tokens, best
// of 40), and an inline copy in a header would be compiled under two sets of flags (one definition,
// two meanings).
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels.h"

namespace plait {
namespace {

constexpr int kTrits = 5;

// table[v * 5 + s] = weights[trit s of byte v]
void buildTernaryLut(const float* weights, std::vector<float>& table) {
  table.resize(static_cast<size_t>(256) * kTrits);
  for (int v = 0; v < 256; ++v) {
    int p = 81;
    for (int s = 0; s < kTrits; ++s, p /= 3) table[v * kTrits + s] = weights[(v / p) % 3];
  }
}

// The inverse L2 norm of a row, the bucket codec's order: eight partial sums, then a fixed tree.
inline float inverseRowNorm(const float* out, size_t dim) {
  // Eight partial sums: a single running sum would chain every add on the previous one (a float
  // reduction is not reordered without -ffast-math), which made decoding the bottleneck.
  float part[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  size_t t = 0;
  for (; t + 8 <= dim; t += 8)
    for (size_t l = 0; l < 8; ++l) part[l] += out[t + l] * out[t + l];
  for (; t < dim; ++t) part[0] += out[t] * out[t];
  const float norm = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
  return 1.f / std::max(std::sqrt(norm), 1e-12f);
}

// In-place L2 normalisation.
inline void normaliseRow(float* out, size_t dim) {
  const float inv = inverseRowNorm(out, dim);
  for (size_t t = 0; t < dim; ++t) out[t] *= inv;
}

// out = centroid + weights[trit] per dimension, not normalised.
inline void decodeTernarySum(const float* centroid, const uint8_t* bytes, size_t dim, const float* lut, float* out) {
  const size_t full = dim / kTrits;
  for (size_t b = 0; b < full; ++b) {
    const float* w = lut + static_cast<size_t>(bytes[b]) * kTrits;
    for (int s = 0; s < kTrits; ++s) out[b * kTrits + s] = centroid[b * kTrits + s] + w[s];
  }
  if (full * kTrits < dim) {
    const float* w = lut + static_cast<size_t>(bytes[full]) * kTrits;
    for (size_t t = full * kTrits; t < dim; ++t) out[t] = centroid[t] + w[t - full * kTrits];
  }
}

inline void decodeTernaryRow(const float* centroid, const uint8_t* bytes, size_t dim, const float* lut, float* out) {
  decodeTernarySum(centroid, bytes, dim, lut, out);
  normaliseRow(out, dim);
}

struct TernaryScratch {
  std::vector<float> lut, rows;
};
TernaryScratch& ternaryScratch() {
  thread_local TernaryScratch s;
  return s;
}

}  // namespace

size_t ternaryBytes(size_t dim) { return (dim + kTrits - 1) / kTrits; }


void compressTernary(const float* vectors, size_t n, size_t dim, const float* centroids, const int32_t* codes,
                     const float* cutoffs, uint8_t* out) {
  const size_t nBytes = ternaryBytes(dim);
  const float lo = cutoffs[0];
  const float hi = cutoffs[1];
  for (size_t i = 0; i < n; ++i) {
    const float* v = vectors + i * dim;
    const float* c = centroids + static_cast<size_t>(codes[i]) * dim;
    uint8_t* o = out + i * nBytes;
    for (size_t b = 0; b < nBytes; ++b) {
      unsigned byte = 0;
      for (int s = 0; s < kTrits; ++s) {
        const size_t t = b * kTrits + s;
        unsigned trit = 0;
        if (t < dim) {
          // The bucket codecs' rule (searchsorted right, stopping at the first miss): NaN is trit 0.
          const float x = v[t] - c[t];
          if (lo <= x) trit = hi <= x ? 2 : 1;
        }
        byte = byte * 3 + trit;
      }
      o[b] = static_cast<uint8_t>(byte);
    }
  }
}

void decompressTernary(const int32_t* codes, const uint8_t* residuals, size_t n, size_t dim, const float* centroids,
                       const float* weights, float* out) {
  TernaryScratch& s = ternaryScratch();
  buildTernaryLut(weights, s.lut);
  const size_t nBytes = ternaryBytes(dim);
  for (size_t i = 0; i < n; ++i)
    decodeTernaryRow(centroids + static_cast<size_t>(codes[i]) * dim, residuals + i * nBytes, dim, s.lut.data(),
                     out + i * dim);
}

void maxsimCompressedTernary(const float* q, size_t qLen, size_t dim, const int32_t* codes, const uint8_t* residuals,
                             const int32_t* tokenStarts, const int32_t* doclens, size_t nDocs, const float* centroids,
                             const float* weights, float* out, const float* qWeights) {
  TernaryScratch& s = ternaryScratch();
  buildTernaryLut(weights, s.lut);
  const size_t nBytes = ternaryBytes(dim);
  const PreparedQuery pq = prepareQuery(q, qLen, dim, qWeights);
  for (size_t d = 0; d < nDocs; ++d) {
    const size_t start = static_cast<size_t>(tokenStarts[d]);
    const size_t len = static_cast<size_t>(doclens[d]);
    if (s.rows.size() < len * dim) s.rows.resize(len * dim);
    for (size_t j = 0; j < len; ++j)
      decodeTernaryRow(centroids + static_cast<size_t>(codes[start + j]) * dim, residuals + (start + j) * nBytes, dim,
                       s.lut.data(), s.rows.data() + j * dim);
    out[d] = maxsimOne(pq, s.rows.data(), len);
  }
}

void ternaryInverseNorms(const int32_t* codes, const uint8_t* residuals, size_t n, size_t dim, const float* centroids,
                         const float* weights, float* out) {
  TernaryScratch& s = ternaryScratch();
  buildTernaryLut(weights, s.lut);
  if (s.rows.size() < dim) s.rows.resize(dim);
  const size_t nBytes = ternaryBytes(dim);
  for (size_t i = 0; i < n; ++i) {
    decodeTernarySum(centroids + static_cast<size_t>(codes[i]) * dim, residuals + i * nBytes, dim, s.lut.data(),
                     s.rows.data());
    out[i] = inverseRowNorm(s.rows.data(), dim);
  }
}

}  // namespace plait
