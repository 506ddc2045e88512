// Run-time CPU feature detection. The answer never changes during a process, so it is computed
// once (a thread-safe function-local static: no mutable global state shared with JavaScript).
#include <cstdlib>
#include <cstring>

#include "kernels.h"

namespace plait {

CpuFeatures cpuFeatures() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  return CpuFeatures{__builtin_cpu_supports("avx2") != 0,       __builtin_cpu_supports("fma") != 0,
                     __builtin_cpu_supports("avx512f") != 0,    __builtin_cpu_supports("avx512bw") != 0,
                     __builtin_cpu_supports("avx512vl") != 0,   __builtin_cpu_supports("avx512vbmi") != 0,
                     __builtin_cpu_supports("avx512vnni") != 0, __builtin_cpu_supports("avxvnni") != 0};
#else
  return CpuFeatures{false, false, false, false, false, false, false, false};
#endif
}

Simd detectSimd() {
  static const Simd detected = [] {
    CpuFeatures f = cpuFeatures();
    if (f.avx512f && f.avx512bw) return Simd::Avx512;
    if (f.avx2 && f.fma) return Simd::Avx2;
    return Simd::Scalar;
  }();
  return detected;
}

Simd activeSimd() {
  static const Simd active = [] {
    Simd best = detectSimd();
    const char* want = std::getenv("PLAIT_SIMD");
    if (want == nullptr) return best;
    if (std::strcmp(want, "scalar") == 0) return Simd::Scalar;
    if (std::strcmp(want, "avx2") == 0 && best != Simd::Scalar) return Simd::Avx2;
    return best;
  }();
  return active;
}

const char* simdName(Simd s) {
  switch (s) {
    case Simd::Avx512:
      return "avx512";
    case Simd::Avx2:
      return "avx2";
    default:
      return "scalar";
  }
}

}  // namespace plait
