// Standalone C++ benchmark of the kernels (no Node): for machines without Node, and to see the
// kernels' own speed without the N-API call. Same workload as bench/kernels.ts: a 32×128 query
// against documents of 40–180 tokens (uniform), one thread and N threads (each scoring a share).
//
//   g++ -O3 -std=c++17 -pthread -Isrc bench/kernels-bench.cc src/dense-kernels.cc \
//       src/codec-kernels.cc src/cpu-features.cc src/peak-flops.cc -o kernels-bench
// Share of peak: one-thread GFLOP/s over the FMA peak measured in the same run on the same SIMD
// path (src/peak-flops.cc, before and after the MaxSim runs, the larger kept); never above 1.
//   PLAIT_SIMD=avx2 ./kernels-bench [nDocs] [threads]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include "kernels.h"

namespace {

constexpr size_t kDim = 128;
constexpr size_t kQLen = 32;

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void fillNormalised(std::mt19937& gen, float* out, size_t rows) {
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (size_t r = 0; r < rows; ++r) {
    float n = 0;
    for (size_t t = 0; t < kDim; ++t) {
      out[r * kDim + t] = u(gen);
      n += out[r * kDim + t] * out[r * kDim + t];
    }
    for (size_t t = 0; t < kDim; ++t) out[r * kDim + t] /= std::sqrt(n);
  }
}

// Runs `pass` (scoring `perPass` items) for at least `seconds`; returns items per second.
template <typename F>
double rate(size_t perPass, F pass, double seconds = 1.0) {
  pass();
  size_t done = 0;
  const double t0 = now();
  double el = 0;
  do {
    pass();
    done += perPass;
    el = now() - t0;
  } while (el < seconds);
  return done / el;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t nDocs = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 4000;
  const size_t threads = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : std::thread::hardware_concurrency();
  std::mt19937 gen(42);
  std::uniform_int_distribution<int> len(40, 180);
  std::vector<int32_t> starts(nDocs), lens(nDocs);
  size_t tokens = 0;
  for (size_t d = 0; d < nDocs; ++d) {
    lens[d] = len(gen);
    starts[d] = static_cast<int32_t>(tokens);
    tokens += lens[d];
  }
  std::vector<float> docs(tokens * kDim), q(kQLen * kDim), out(nDocs);
  fillNormalised(gen, docs.data(), tokens);
  fillNormalised(gen, q.data(), kQLen);

  const double peakBefore = plait::measurePeakFlops(1.0).flopsPerSecond;
  const double one = rate(nDocs, [&] {
    plait::maxsim(q.data(), kQLen, kDim, docs.data(), starts.data(), lens.data(), nDocs, out.data(), nullptr);
  });

  // N threads, each scoring its share of the documents, all passes in parallel.
  const size_t share = (nDocs + threads - 1) / threads;
  const double all = rate(nDocs, [&] {
    std::vector<std::thread> pool;
    for (size_t t = 0; t < threads; ++t) {
      const size_t from = std::min(nDocs, t * share), to = std::min(nDocs, from + share);
      pool.emplace_back([&, from, to] {
        for (int rep = 0; rep < 4; ++rep)
          plait::maxsim(q.data(), kQLen, kDim, docs.data(), starts.data() + from, lens.data() + from, to - from,
                        out.data() + from, nullptr);
      });
    }
    for (auto& th : pool) th.join();
  }) * 4;

  // Compressed (nbits 2, K = 1024) and assignment.
  const size_t k = 1024;
  std::vector<float> centroids(k * kDim);
  fillNormalised(gen, centroids.data(), k);
  std::vector<int32_t> codes(tokens);
  const double t0 = now();
  plait::assignNearest(docs.data(), tokens, centroids.data(), k, kDim, codes.data(), nullptr);
  const double assignRate = tokens / (now() - t0);
  std::vector<uint8_t> residuals(tokens * kDim * 2 / 8);
  const float cutoffs[3] = {-0.05f, 0.f, 0.05f};
  const float weights[4] = {-0.08f, -0.02f, 0.02f, 0.08f};
  plait::compress(docs.data(), tokens, kDim, centroids.data(), codes.data(), cutoffs, 2, residuals.data());
  const double comp = rate(nDocs, [&] {
    plait::maxsimCompressed(q.data(), kQLen, kDim, codes.data(), residuals.data(), starts.data(), lens.data(), nDocs,
                            centroids.data(), weights, 2, out.data(), nullptr);
  });

  const double flopsPerDoc = 2.0 * kQLen * kDim * tokens / nDocs;
  const double peak = std::max(peakBefore, plait::measurePeakFlops(1.0).flopsPerSecond);
  const double gflops = one * flopsPerDoc / 1e9;
  std::printf(
      "{\"simd\":\"%s\",\"nDocs\":%zu,\"meanDoclen\":%.1f,\"maxsimOneThreadDocsPerSecond\":%.0f,"
      "\"gflopsOneThread\":%.1f,\"measuredPeakGflopsOneThread\":%.1f,\"shareOfPeak\":%.2f,\"peakDisturbed\":%s,"
      "\"threads\":%zu,\"maxsimAllThreadsDocsPerSecond\":%.0f,"
      "\"maxsimCompressedNbits2DocsPerSecond\":%.0f,\"assignNearestK1024VectorsPerSecond\":%.0f}\n",
      plait::simdName(plait::activeSimd()), nDocs, double(tokens) / nDocs, one, gflops, peak / 1e9,
      std::min(1.0, gflops / (peak / 1e9)), gflops > peak / 1e9 ? "true" : "false", threads, all, comp, assignRate);
  return 0;
}
