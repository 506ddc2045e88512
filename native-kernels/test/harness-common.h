// Shared by the ternary harnesses (ternary-harness.cc, ternary-code-harness.cc), one of them per binary:
// fixed inputs exact in any language, an FNV-1a hash to print, and the dense MaxSim entry points that
// ternary-kernels.cc's maxsimCompressedTernary links to (dense-kernels.cc has x86 SIMD paths; the
// harnesses never call them).
#pragma once
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "kernels.h"

namespace plait {
PreparedQuery prepareQuery(const float*, size_t, size_t, const float*) { std::abort(); }
float maxsimOne(const PreparedQuery&, const float*, size_t) { std::abort(); }
}  // namespace plait

// x_i = ((i * 7919 + seed) mod 2001 - 1000) / 1000, exact in float32 in any language.
static std::vector<float> inputs(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(static_cast<int>((i * 7919 + seed) % 2001) - 1000) / 1000.f;
  return v;
}

static uint32_t fnv(const void* data, size_t bytes) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 16777619u;
  return h;
}
