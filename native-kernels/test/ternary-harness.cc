// The ternary codec's kernels (src/ternary-kernels.cc) on fixed inputs, for test/codec-ternary.test.ts:
// built for this machine and cross-built for aarch64 (run under qemu-aarch64-static), both must print
// the same FNV-1a hashes of the packed bytes and of the decoded floats' bits as the addon gives for
// the same inputs. Inputs: x_i = ((i * 7919 + seed) mod 2001 - 1000) / 1000, exact in any language.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "harness-common.h"

int main() {
  const size_t n = 37, k = 5;
  for (size_t dim : {7, 128, 130}) {
    const std::vector<float> centroids = inputs(k * dim, 1);
    const std::vector<float> vectors = inputs(n * dim, 2);
    std::vector<int32_t> codes(n);
    for (size_t i = 0; i < n; ++i) codes[i] = static_cast<int32_t>(i % k);
    const float cutoffs[2] = {-0.3f, 0.3f};
    const float weights[3] = {-0.45f, 0.f, 0.45f};
    std::vector<uint8_t> bytes(n * plait::ternaryBytes(dim));
    plait::compressTernary(vectors.data(), n, dim, centroids.data(), codes.data(), cutoffs, bytes.data());
    std::vector<float> out(n * dim);
    plait::decompressTernary(codes.data(), bytes.data(), n, dim, centroids.data(), weights, out.data());
    std::printf("dim %zu bytes %08x floats %08x\n", dim, fnv(bytes.data(), bytes.size()), fnv(out.data(), out.size() * 4));
  }
  return 0;
}
