// Measured single-core fp32 FMA peak, for the kernel benchmark's "share of peak".
//
// A nominal peak (clock from /proc/cpuinfo × FMA units × lanes) is wrong in both directions: turbo
// and AVX-512 frequency licences move the clock, and the number of FMA ports differs by model
// (the benchmark printed a share of 1.4 on an AVX-512 machine with the nominal formula). So the
// peak is measured on the spot with the same ISA the MaxSim kernel uses: kChains independent
// accumulator chains of FMAs on registers (enough to cover FMA latency × ports: 4 cycles × 2
// ports = 8 in flight, 12 gives headroom), no memory traffic. Each FMA counts 2 flops per lane.
#include <chrono>

#include "kernels.h"

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports its own intrinsics' undefined vectors (inside _mm512_reduce_add_ps) as uninitialised.
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#define PLAIT_AVX2 __attribute__((target("avx2,fma")))
#define PLAIT_AVX512 __attribute__((target("avx512f,avx512bw,avx2,fma")))
#endif

namespace plait {
namespace {

constexpr int kChains = 12;
constexpr long kInner = 1 << 16;  // FMA rounds per timing check

using Clock = std::chrono::steady_clock;

// The loops' results land here so the compiler cannot drop them.
volatile double sink_ = 0;

#if defined(__x86_64__)
PLAIT_AVX512 double roundsAvx512(long rounds, float seed) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; c++) acc[c] = _mm512_set1_ps(seed * (c + 1));
  const __m512 a = _mm512_set1_ps(0.999999f);
  const __m512 b = _mm512_set1_ps(1e-7f);
  for (long r = 0; r < rounds; r++) {
    for (int c = 0; c < kChains; c++) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  }
  __m512 s = acc[0];
  for (int c = 1; c < kChains; c++) s = _mm512_add_ps(s, acc[c]);
  return _mm512_reduce_add_ps(s);
}

PLAIT_AVX2 double roundsAvx2(long rounds, float seed) {
  __m256 acc[kChains];
  for (int c = 0; c < kChains; c++) acc[c] = _mm256_set1_ps(seed * (c + 1));
  const __m256 a = _mm256_set1_ps(0.999999f);
  const __m256 b = _mm256_set1_ps(1e-7f);
  for (long r = 0; r < rounds; r++) {
    for (int c = 0; c < kChains; c++) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
  }
  __m256 s = acc[0];
  for (int c = 1; c < kChains; c++) s = _mm256_add_ps(s, acc[c]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, s);
  double t = 0;
  for (float v : lanes) t += v;
  return t;
}
#endif

// The compiler may vectorise this with the baseline ISA (SSE2 on x86-64, NEON on arm64); that is
// the scalar kernels' own ceiling too, so it is the right peak for them.
double roundsScalar(long rounds, float seed) {
  float acc[kChains * 4];
  for (int c = 0; c < kChains * 4; c++) acc[c] = seed * (c + 1);
  for (long r = 0; r < rounds; r++) {
    for (int c = 0; c < kChains * 4; c++) acc[c] = acc[c] * 0.999999f + 1e-7f;
  }
  double t = 0;
  for (float v : acc) t += v;
  return t;
}

}  // namespace

PeakFlops measurePeakFlops(double seconds) {
  const Simd simd = activeSimd();
  const int lanes = simd == Simd::Avx512 ? 16 : simd == Simd::Avx2 ? 8 : 4;
  double best = 0;
  double sink = 0;
  // Best of several short windows: the least-disturbed one is closest to the core's own peak.
  const int windows = 5;
  for (int w = 0; w < windows; w++) {
    long rounds = 0;
    const auto start = Clock::now();
    double elapsed = 0;
    do {
#if defined(__x86_64__)
      if (simd == Simd::Avx512) sink += roundsAvx512(kInner, 1e-3f);
      else if (simd == Simd::Avx2) sink += roundsAvx2(kInner, 1e-3f);
      else
#endif
        sink += roundsScalar(kInner, 1e-3f);
      rounds += kInner;
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    } while (elapsed < seconds / windows);
    const double flops = 2.0 * lanes * kChains * static_cast<double>(rounds) / elapsed;
    if (flops > best) best = flops;
  }
  sink_ = sink;
  return PeakFlops{best, simdName(simd)};
}

}  // namespace plait
