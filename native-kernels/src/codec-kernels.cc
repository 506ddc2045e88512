// Residual codec kernels (compress, decompress, MaxSim fused with decompression), PLAID centroid
// interaction and top-k selection.
//
// Bit layout (pinned by test/codec-layout.test.ts): a token's residual takes dim*nbits/8 bytes;
// byte b holds dimensions [b*8/nbits, (b+1)*8/nbits), the first of them in the most significant
// bits. Decoding goes through a per-call lookup table from a byte to its 8/nbits bucket weights.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels.h"

namespace plait {
namespace {

// table[byte * perByte + s] = weights[bucket of slot s of byte]
void buildLut(const float* weights, int nbits, std::vector<float>& table) {
  const int perByte = 8 / nbits;
  const int mask = (1 << nbits) - 1;
  table.resize(static_cast<size_t>(256) * perByte);
  for (int byte = 0; byte < 256; ++byte)
    for (int s = 0; s < perByte; ++s) table[byte * perByte + s] = weights[(byte >> (8 - nbits * (s + 1))) & mask];
}

template <int PER_BYTE>
inline void decodeRowT(const float* centroid, const uint8_t* bytes, size_t nBytes, const float* lut, float* out) {
  for (size_t b = 0; b < nBytes; ++b) {
    const float* w = lut + static_cast<size_t>(bytes[b]) * PER_BYTE;
    for (int s = 0; s < PER_BYTE; ++s) out[b * PER_BYTE + s] = centroid[b * PER_BYTE + s] + w[s];
  }
}

// Decodes one token: centroid + weights[bucket] per dimension, then L2-normalised.
inline void decodeRow(const float* centroid, const uint8_t* bytes, size_t dim, int nbits, const float* lut,
                      float* out) {
  const size_t nBytes = dim * nbits / 8;
  switch (nbits) {
    case 1:
      decodeRowT<8>(centroid, bytes, nBytes, lut, out);
      break;
    case 2:
      decodeRowT<4>(centroid, bytes, nBytes, lut, out);
      break;
    case 4:
      decodeRowT<2>(centroid, bytes, nBytes, lut, out);
      break;
    default:
      decodeRowT<1>(centroid, bytes, nBytes, lut, out);
      break;
  }
  // Eight partial sums: a single running sum would chain every add on the previous one (a float
  // reduction is not reordered without -ffast-math), which made decoding the bottleneck.
  float part[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  size_t t = 0;
  for (; t + 8 <= dim; t += 8)
    for (size_t l = 0; l < 8; ++l) part[l] += out[t + l] * out[t + l];
  for (; t < dim; ++t) part[0] += out[t] * out[t];
  const float norm = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
  const float inv = 1.f / std::max(std::sqrt(norm), 1e-12f);
  for (t = 0; t < dim; ++t) out[t] *= inv;
}

struct CodecScratch {
  std::vector<float> lut, rows, best;
};
CodecScratch& codecScratch() {
  thread_local CodecScratch s;
  return s;
}

// NaN ranks below every number; then higher score first; then lower index first.
inline float rankKey(float x) { return std::isnan(x) ? -std::numeric_limits<float>::infinity() : x; }

}  // namespace

void compress(const float* vectors, size_t n, size_t dim, const float* centroids, const int32_t* codes,
              const float* cutoffs, int nbits, uint8_t* out) {
  const int nCutoffs = (1 << nbits) - 1;
  const size_t perByte = 8 / nbits;
  const size_t nBytes = dim * nbits / 8;
  for (size_t i = 0; i < n; ++i) {
    const float* v = vectors + i * dim;
    const float* c = centroids + static_cast<size_t>(codes[i]) * dim;
    uint8_t* o = out + i * nBytes;
    for (size_t b = 0; b < nBytes; ++b) {
      unsigned byte = 0;
      for (size_t s = 0; s < perByte; ++s) {
        const size_t t = b * perByte + s;
        const float x = v[t] - c[t];
        // searchsorted right over ascending cutoffs: count of cutoffs <= x (stops at the first miss,
        // like the TypeScript twin, so a NaN residual lands in bucket 0 in both).
        unsigned bucket = 0;
        while (static_cast<int>(bucket) < nCutoffs && cutoffs[bucket] <= x) ++bucket;
        byte = (byte << nbits) | bucket;
      }
      o[b] = static_cast<uint8_t>(byte);
    }
  }
}

void decompress(const int32_t* codes, const uint8_t* residuals, size_t n, size_t dim, const float* centroids,
                const float* weights, int nbits, float* out) {
  CodecScratch& s = codecScratch();
  buildLut(weights, nbits, s.lut);
  const size_t nBytes = dim * nbits / 8;
  for (size_t i = 0; i < n; ++i)
    decodeRow(centroids + static_cast<size_t>(codes[i]) * dim, residuals + i * nBytes, dim, nbits, s.lut.data(),
              out + i * dim);
}

void maxsimCompressed(const float* q, size_t qLen, size_t dim, const int32_t* codes, const uint8_t* residuals,
                      const int32_t* tokenStarts, const int32_t* doclens, size_t nDocs, const float* centroids,
                      const float* weights, int nbits, float* out, const float* qWeights) {
  CodecScratch& s = codecScratch();
  buildLut(weights, nbits, s.lut);
  const size_t nBytes = dim * nbits / 8;
  const PreparedQuery pq = prepareQuery(q, qLen, dim, qWeights);
  for (size_t d = 0; d < nDocs; ++d) {
    const size_t start = static_cast<size_t>(tokenStarts[d]);
    const size_t len = static_cast<size_t>(doclens[d]);
    if (s.rows.size() < len * dim) s.rows.resize(len * dim);
    for (size_t j = 0; j < len; ++j)
      decodeRow(centroids + static_cast<size_t>(codes[start + j]) * dim, residuals + (start + j) * nBytes, dim, nbits,
                s.lut.data(), s.rows.data() + j * dim);
    out[d] = maxsimOne(pq, s.rows.data(), len);
  }
}

void centroidInteraction(const float* centroidScores, size_t qLen, const int32_t* codes, const int32_t* tokenStarts,
                         const int32_t* doclens, size_t nDocs, const uint8_t* keep, float* out,
                         const float* qWeights) {
  CodecScratch& s = codecScratch();
  s.best.resize(std::max<size_t>(qLen, 1));
  float* best = s.best.data();
  const float negInf = -std::numeric_limits<float>::infinity();
  for (size_t d = 0; d < nDocs; ++d) {
    const size_t start = static_cast<size_t>(tokenStarts[d]);
    const size_t end = start + static_cast<size_t>(doclens[d]);
    std::fill(best, best + qLen, negInf);
    bool any = false;
    for (size_t j = start; j < end; ++j) {
      const size_t c = static_cast<size_t>(codes[j]);
      if (keep != nullptr && keep[c] == 0) continue;
      any = true;
      const float* row = centroidScores + c * qLen;
      for (size_t i = 0; i < qLen; ++i) best[i] = row[i] > best[i] ? row[i] : best[i];
    }
    float total = 0.f;
    if (any) {
      for (size_t i = 0; i < qLen; ++i) total += (qWeights != nullptr ? qWeights[i] : 1.f) * best[i];
    }
    out[d] = total;
  }
}

size_t topK(const float* scores, size_t n, size_t k, int32_t* out) {
  const size_t size = std::min(k, n);
  if (size == 0) return 0;
  // a ranks below b
  auto worse = [scores](int32_t a, int32_t b) {
    const float sa = rankKey(scores[a]);
    const float sb = rankKey(scores[b]);
    return sa < sb || (sa == sb && a > b);
  };
  // std heap with comparator `better` keeps the worst element on top (a min-heap by rank).
  auto better = [&worse](int32_t a, int32_t b) { return worse(b, a); };
  int32_t* heap = out;
  for (size_t i = 0; i < size; ++i) heap[i] = static_cast<int32_t>(i);
  std::make_heap(heap, heap + size, better);
  for (size_t i = size; i < n; ++i) {
    const int32_t cand = static_cast<int32_t>(i);
    if (worse(heap[0], cand)) {
      std::pop_heap(heap, heap + size, better);
      heap[size - 1] = cand;
      std::push_heap(heap, heap + size, better);
    }
  }
  std::sort_heap(heap, heap + size, better);  // ascending by `better`: best first
  return size;
}

void probeCentroids(const float* scores, size_t nCentroids, size_t qLen, size_t p, double threshold, int32_t* probed,
                    uint8_t* keep, const float* rowMax) {
  // The same rules as the TypeScript twin: each token's best p centroids, strictly greater wins
  // (the lower centroid on ties), NaN never inserted; keep[c] = max_i S[c, i] >= threshold.
  std::vector<float> best(qLen * p, -std::numeric_limits<float>::infinity());
  std::vector<float> worst(qLen, p == 0 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity());
  // The lowest p-th best over the tokens: a row whose maximum is not above it inserts nothing.
  float minWorst = qLen == 0 ? std::numeric_limits<float>::infinity() : worst[0];
  for (size_t i = 0; i < qLen * p; ++i) probed[i] = -1;
  for (size_t c = 0; c < nCentroids; ++c) {
    if (rowMax != nullptr && rowMax[c] <= minWorst) {
      keep[c] = static_cast<double>(rowMax[c]) >= threshold ? 1 : 0;
      continue;
    }
    const float* row = scores + c * qLen;
    bool inserted = false;
    float max = -std::numeric_limits<float>::infinity();
    for (size_t i = 0; i < qLen; ++i) {
      const float v = row[i];
      if (v > max) max = v;
      if (v > worst[i]) {
        const size_t base = i * p;
        size_t j = p - 1;
        while (j > 0 && v > best[base + j - 1]) {
          best[base + j] = best[base + j - 1];
          probed[base + j] = probed[base + j - 1];
          --j;
        }
        best[base + j] = v;
        probed[base + j] = static_cast<int32_t>(c);
        worst[i] = best[base + p - 1];
        inserted = true;
      }
    }
    if (inserted) {
      minWorst = worst[0];
      for (size_t i = 1; i < qLen; ++i) minWorst = worst[i] < minWorst ? worst[i] : minWorst;
    }
    keep[c] = static_cast<double>(max) >= threshold ? 1 : 0;
  }
}

}  // namespace plait
