// The whole fast-scan kernel (maxsimFastScanWith: block walk, layout, accumulation, epilogue) on
// synthetic codes, without Node: ns per document token, the best of 60 calls each with and without
// the norm cache (warm), and a hash of the scores' bits, so that two versions of src/fast-scan.cc can
// be timed in alternation and checked bit for bit (bench/RESULTS.md, "Fast-scan part H"). The best of
// many ~2 ms calls is steadier on a shared machine than bench/code-scoring.ts's 1 s windows.
// Documents of 40-180 tokens laid end to end, random residual bytes and centroid ids, S random in
// [-1, 1), table entries random within the entry bound (the timing does not depend on their values).
//
// Build from native-kernels/ against a version of fast-scan.cc (its fast-scan-transpose.inc beside it):
//   g++ -O3 -std=c++17 -ffp-contract=off -falign-functions=64 -falign-loops=64 -Isrc \
//     bench/fast-scan-kernel.cc src/code-maxsim.cc src/cpu-features.cc src/fast-scan.cc -o fs-new
//   git show <rev>:native-kernels/src/fast-scan.cc > /tmp/old/fast-scan.cc   (and the .inc), the same
//     with /tmp/old/fast-scan.cc -> fs-old
//   for i in 1 2 3; do ./fs-old; ./fs-new; done      [dim qLen nbits nDocs], default 128 32 2 1500
// PLAIT_SIMD=avx512bw|avx2|scalar picks the path as in the addon; K=<centroids> (default 4,096).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "kernels.h"

int main(int argc, char** argv) {
  const size_t dim = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 128;
  const size_t qLen = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 32;
  const int nbits = argc > 3 ? std::atoi(argv[3]) : 2;
  const size_t nDocs = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 1500;
  const size_t K = std::getenv("K") != nullptr ? std::strtoul(std::getenv("K"), nullptr, 10) : 4096;
  const size_t nBytes = dim * static_cast<size_t>(nbits) / 8;
  std::mt19937 rng(7);
  std::vector<int32_t> lens(nDocs), starts(nDocs);
  size_t tokens = 0;
  for (size_t d = 0; d < nDocs; ++d) {
    lens[d] = static_cast<int32_t>(40 + rng() % 141);
    starts[d] = static_cast<int32_t>(tokens);
    tokens += static_cast<size_t>(lens[d]);
  }
  std::vector<uint8_t> residuals(tokens * nBytes);
  for (auto& x : residuals) x = static_cast<uint8_t>(rng());
  std::vector<int32_t> codes(tokens);
  for (auto& c : codes) c = static_cast<int32_t>(rng() % K);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> S(K * qLen), scales(qLen), offsets(qLen), inv(tokens), out(nDocs);
  for (auto& x : S) x = u(rng);
  for (auto& x : scales) x = 0.001f * (1 + u(rng));
  for (auto& x : offsets) x = u(rng);
  for (auto& x : inv) x = 1.f + 0.1f * u(rng);
  const int entryMax = plait::fastScanEntryMax(nBytes);
  std::vector<uint8_t> tables(nBytes * qLen * 32);
  for (auto& x : tables) x = static_cast<uint8_t>(rng() % static_cast<unsigned>(entryMax + 1));
  const plait::CodeSimd simd = plait::activeCodeSimd();
  double best[2] = {1e300, 1e300};
  uint64_t hash = 0;
  for (int rep = 0; rep < 60; ++rep) {
    for (int norm = 0; norm < 2; ++norm) {
      const auto t0 = std::chrono::steady_clock::now();
      plait::maxsimFastScanWith(simd, S.data(), qLen, tables.data(), scales.data(), offsets.data(), codes.data(),
                                residuals.data(), dim, nbits, starts.data(), lens.data(), nDocs, out.data(), nullptr,
                                norm != 0 ? inv.data() : nullptr, nullptr, nullptr);
      const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
      best[norm] = std::min(best[norm], ns);
      if (rep > 0) continue;
      for (const float x : out) {
        uint32_t b;
        std::memcpy(&b, &x, sizeof b);
        hash = hash * 1000003u + b;
      }
    }
  }
  std::printf("%s %zu d x %zu q, %d bits, %zu tokens: ns/token norm %.2f, no norm %.2f; scores %016llx\n",
              plait::fastScanPathName(plait::fastScanPath()), dim, qLen, nbits, tokens, best[1] / static_cast<double>(tokens),
              best[0] / static_cast<double>(tokens), static_cast<unsigned long long>(hash));
  return 0;
}
