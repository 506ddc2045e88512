// The ternary code scorer (src/ternary-code-scoring.cc) on fixed inputs, for test/ternary-code-scoring.test.ts:
// built for this machine (its scalar, AVX2 and AVX-512 paths, as far as the CPU has them) and cross-built for
// aarch64 (scalar and NEON, run under qemu-aarch64-static). Every path must print the same FNV-1a hashes of the
// LUT, the scales, the scores' bits and the inverse norms as the TypeScript twin gives for the same inputs.
// Inputs: x_i = ((i * 7919 + seed) mod 2001 - 1000) / 1000, exact in any language.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "harness-common.h"

int main() {
  std::vector<plait::CodeSimd> paths = {plait::CodeSimd::Scalar};
#if defined(__aarch64__)
  paths.push_back(plait::CodeSimd::Neon);
#else
  if (plait::activeCodeSimd() != plait::CodeSimd::Scalar) paths.push_back(plait::CodeSimd::Avx2);
  if (plait::activeCodeSimd() == plait::CodeSimd::Avx512) paths.push_back(plait::CodeSimd::Avx512);
#endif
  const char* names[] = {"scalar", "avx2", "avx512", "neon"};
  const size_t k = 5;
  const int32_t lens[] = {3, 0, 1, 7, 2, 4};
  const size_t nDocs = 6, rows = 17;
  for (plait::CodeSimd simd : paths) {
    std::printf("path %s\n", names[static_cast<int>(simd)]);
    for (size_t dim : {7, 128, 130, 512}) {
      for (size_t qLen : {1, 9, 17, 32}) {
        const std::vector<float> centroids = inputs(k * dim, 1);
        const std::vector<float> vectors = inputs(rows * dim, 2);
        const std::vector<float> q = inputs(qLen * dim, 3);
        const std::vector<float> qWeights = inputs(qLen, 4);
        const std::vector<float> S = inputs(k * qLen, 5);
        std::vector<int32_t> codes(rows), starts(nDocs);
        for (size_t i = 0; i < rows; ++i) codes[i] = static_cast<int32_t>(i % k);
        for (size_t d = 0, r = 0; d < nDocs; r += lens[d], ++d) starts[d] = static_cast<int32_t>(r);
        const float cutoffs[2] = {-0.3f, 0.3f};
        const float weights[3] = {-0.45f, 0.f, 0.45f};
        std::vector<uint8_t> bytes(rows * plait::ternaryBytes(dim));
        plait::compressTernary(vectors.data(), rows, dim, centroids.data(), codes.data(), cutoffs, bytes.data());
        const size_t lanes = plait::codeLutLanes(qLen);
        std::vector<int16_t> lut(plait::ternaryBytes(dim) * 256 * lanes);
        std::vector<float> scales(lanes), out(nDocs), norms(rows, std::numeric_limits<float>::quiet_NaN());
        plait::buildTernaryCodeLut(q.data(), qLen, dim, weights, lut.data(), scales.data());
        plait::maxsimTernaryCodesWith(simd, S.data(), qLen, lut.data(), scales.data(), codes.data(), bytes.data(), dim,
                                      starts.data(), lens, nDocs, out.data(), qWeights.data(), norms.data(),
                                      centroids.data(), weights);
        std::printf("dim %zu qlen %zu lut %08x scales %08x scores %08x norms %08x\n", dim, qLen,
                    fnv(lut.data(), lut.size() * 2), fnv(scales.data(), scales.size() * 4),
                    fnv(out.data(), out.size() * 4), fnv(norms.data(), norms.size() * 4));
      }
    }
  }
  return 0;
}
