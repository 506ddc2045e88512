// Bit-for-bit check of the code-scoring kernels' SIMD paths (code-maxsim.cc, fast-scan.cc) against
// their scalar paths, without Node:
// built for arm64 with g++-aarch64-linux-gnu and run under qemu-aarch64-static by
// test/arm64-neon.test.ts (also builds and runs natively on x86-64, with src/cpu-features.cc,
// comparing the AVX2 and AVX-512 paths the CPU has).
//
//   aarch64-linux-gnu-g++ -O3 -std=c++17 -ffp-contract=off -static -Isrc test/arm64-harness.cc src/code-maxsim.cc \
//     src/fast-scan.cc -o arm64-harness
//   qemu-aarch64-static ./arm64-harness
//
// For every shape (query lengths around the 8/16/32-lane widths, 1/2/4 bits, dims at each width's
// packing, weighted or not, with or without the norm) it compares the LUT and the scores of each
// SIMD path with the scalar path's, as bits, and prints one line per path: "<path> ok <cases>" or
// the first mismatch. Exit status 0 when every path agrees.
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "kernels.h"

namespace {

using plait::CodeSimd;

struct Shape {
  size_t dim;
  int nbits;
  size_t qLen;
};

const Shape kShapes[] = {{8, 1, 1},   {8, 2, 16},  {16, 4, 17}, {64, 2, 15}, {128, 2, 32},
                         {128, 1, 31}, {128, 4, 33}, {96, 2, 47}, {512, 2, 9}};

std::vector<float> unitRows(std::mt19937& gen, size_t rows, size_t dim) {
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> out(rows * dim);
  for (size_t r = 0; r < rows; ++r) {
    double n = 0;
    for (size_t t = 0; t < dim; ++t) n += double(out[r * dim + t] = u(gen)) * out[r * dim + t];
    for (size_t t = 0; t < dim; ++t) out[r * dim + t] = float(out[r * dim + t] / std::sqrt(n));
  }
  return out;
}

const char* name(CodeSimd s) {
  switch (s) {
    case CodeSimd::Neon:
      return "neon";
    case CodeSimd::Avx512:
      return "avx512";
    case CodeSimd::Avx2:
      return "avx2";
    default:
      return "scalar";
  }
}

// Compares one SIMD path with the scalar path over every shape; returns the cases checked, or -1.
int checkPath(CodeSimd simd) {
  int cases = 0;
  std::mt19937 gen(12345);
  std::uniform_int_distribution<int> byte(0, 255);
  for (const Shape& sh : kShapes) {
    const size_t k = 24, nDocs = 11;
    const size_t nBytes = sh.dim * sh.nbits / 8;
    const size_t lanes = plait::codeLutLanes(sh.qLen);
    std::vector<float> q = unitRows(gen, sh.qLen, sh.dim);
    std::vector<float> weights(size_t{1} << sh.nbits);
    for (size_t b = 0; b < weights.size(); ++b) weights[b] = -0.2f + 0.4f * float(b) / float(weights.size() - 1);
    std::vector<int16_t> lutScalar(nBytes * 256 * lanes), lutSimd(lutScalar.size());
    std::vector<float> scalesScalar(lanes), scalesSimd(lanes);
    plait::buildCodeLutWith(CodeSimd::Scalar, q.data(), sh.qLen, sh.dim, weights.data(), sh.nbits, lutScalar.data(),
                            scalesScalar.data());
    plait::buildCodeLutWith(simd, q.data(), sh.qLen, sh.dim, weights.data(), sh.nbits, lutSimd.data(), scalesSimd.data());
    if (lutScalar != lutSimd || std::memcmp(scalesScalar.data(), scalesSimd.data(), lanes * sizeof(float)) != 0) {
      std::printf("%s LUT mismatch at dim %zu nbits %d qLen %zu\n", name(simd), sh.dim, sh.nbits, sh.qLen);
      return -1;
    }
    std::vector<int32_t> starts(nDocs), lens(nDocs);
    size_t rows = 0;
    for (size_t d = 0; d < nDocs; ++d) {
      starts[d] = int32_t(rows);
      lens[d] = d == 2 ? 0 : int32_t(1 + gen() % 60);  // ~300 tokens: several full 64-token fast-scan blocks and a partial one
      rows += size_t(lens[d]);
    }
    std::vector<int32_t> codes(rows);
    for (auto& c : codes) c = int32_t(gen() % k);
    std::vector<uint8_t> residuals(rows * nBytes);
    for (auto& r : residuals) r = uint8_t(byte(gen));
    std::vector<float> centroids = unitRows(gen, k, sh.dim), s(k * sh.qLen), cn2(k);
    for (size_t c = 0; c < k; ++c) {
      for (size_t i = 0; i < sh.qLen; ++i) {
        float dot = 0.f;
        for (size_t t = 0; t < sh.dim; ++t) dot += q[i * sh.dim + t] * centroids[c * sh.dim + t];
        s[c * sh.qLen + i] = dot;
      }
      cn2[c] = 0.5f + 0.5f * float(gen() % 1000) / 1000.f;
    }
    std::vector<float> qw(sh.qLen);
    for (auto& w : qw) w = 0.5f + float(gen() % 1000) / 1000.f;
    for (int weighted = 0; weighted < 2; ++weighted) {
      for (int norm = 0; norm < 2; ++norm) {
        std::vector<float> a(nDocs), b(nDocs);
        const float* w = weighted ? qw.data() : nullptr;
        const float* n2 = norm ? cn2.data() : nullptr;
        plait::maxsimCodesWith(CodeSimd::Scalar, s.data(), sh.qLen, lutScalar.data(), scalesScalar.data(), codes.data(),
                               residuals.data(), sh.dim, sh.nbits, starts.data(), lens.data(), nDocs, n2,
                               weights.data(), a.data(), w);
        plait::maxsimCodesWith(simd, s.data(), sh.qLen, lutScalar.data(), scalesScalar.data(), codes.data(),
                               residuals.data(), sh.dim, sh.nbits, starts.data(), lens.data(), nDocs, n2,
                               weights.data(), b.data(), w);
        if (std::memcmp(a.data(), b.data(), nDocs * sizeof(float)) != 0) {
          for (size_t d = 0; d < nDocs; ++d)
            if (std::memcmp(&a[d], &b[d], sizeof(float)) != 0)
              std::printf("%s score mismatch at dim %zu nbits %d qLen %zu weighted %d norm %d doc %zu: %.9g vs %.9g\n",
                          name(simd), sh.dim, sh.nbits, sh.qLen, weighted, norm, d, double(a[d]), double(b[d]));
          return -1;
        }
        ++cases;
      }
      // Fast-scan (fast-scan.cc): one portable table build, then each path's lookups over 64-token
      // blocks (documents here span blocks) against the scalar path's sums.
      std::vector<uint8_t> tables(nBytes * 32 * sh.qLen);
      std::vector<float> fsScales(sh.qLen), fsOffsets(sh.qLen), a(nDocs), b(nDocs);
      plait::buildFastScanTables(q.data(), sh.qLen, sh.dim, weights.data(), sh.nbits, tables.data(), fsScales.data(),
                                 fsOffsets.data());
      const float* w = weighted ? qw.data() : nullptr;
      for (int norm = 0; norm < 2; ++norm) {
        // With the norm, each path fills its own cache (NaN until a token is scored).
        std::vector<float> invA(rows, std::nanf("")), invB(rows, std::nanf(""));
        plait::maxsimFastScanWith(CodeSimd::Scalar, s.data(), sh.qLen, tables.data(), fsScales.data(), fsOffsets.data(),
                                  codes.data(), residuals.data(), sh.dim, sh.nbits, starts.data(), lens.data(), nDocs,
                                  a.data(), w, norm ? invA.data() : nullptr, centroids.data(), weights.data());
        plait::maxsimFastScanWith(simd, s.data(), sh.qLen, tables.data(), fsScales.data(), fsOffsets.data(),
                                  codes.data(), residuals.data(), sh.dim, sh.nbits, starts.data(), lens.data(), nDocs,
                                  b.data(), w, norm ? invB.data() : nullptr, centroids.data(), weights.data());
        if (std::memcmp(a.data(), b.data(), nDocs * sizeof(float)) != 0 ||
            std::memcmp(invA.data(), invB.data(), rows * sizeof(float)) != 0) {
          std::printf("%s fast-scan mismatch at dim %zu nbits %d qLen %zu weighted %d norm %d\n", name(simd), sh.dim,
                      sh.nbits, sh.qLen, weighted, norm);
          return -1;
        }
        ++cases;
      }
      // Per-token similarities (highlights, explain): one passage at a time, each starting anywhere in a
      // 64-token block, against the scalar path's.
      if (weighted == 0) {
        for (int norm = 0; norm < 2; ++norm) {
          std::vector<float> invA(rows, std::nanf("")), invB(rows, std::nanf(""));
          for (size_t d = 0; d < nDocs; ++d) {
            const size_t start = size_t(starts[d]), len = size_t(lens[d]);
            std::vector<float> ta(len * sh.qLen), tb(len * sh.qLen);
            plait::fastScanTokenSimilaritiesWith(CodeSimd::Scalar, s.data(), sh.qLen, tables.data(), fsScales.data(),
                                                 fsOffsets.data(), codes.data(), residuals.data(), sh.dim, sh.nbits,
                                                 start, len, ta.data(), norm ? invA.data() : nullptr, centroids.data(),
                                                 weights.data());
            plait::fastScanTokenSimilaritiesWith(simd, s.data(), sh.qLen, tables.data(), fsScales.data(),
                                                 fsOffsets.data(), codes.data(), residuals.data(), sh.dim, sh.nbits,
                                                 start, len, tb.data(), norm ? invB.data() : nullptr, centroids.data(),
                                                 weights.data());
            if (std::memcmp(ta.data(), tb.data(), ta.size() * sizeof(float)) != 0) {
              std::printf("%s token similarities mismatch at dim %zu nbits %d qLen %zu norm %d doc %zu\n", name(simd),
                          sh.dim, sh.nbits, sh.qLen, norm, d);
              return -1;
            }
          }
          if (std::memcmp(invA.data(), invB.data(), rows * sizeof(float)) != 0) {
            std::printf("%s token similarities' norms differ at dim %zu nbits %d qLen %zu\n", name(simd), sh.dim, sh.nbits, sh.qLen);
            return -1;
          }
          ++cases;
        }
      }
    }
  }
  return cases;
}

}  // namespace

int main() {
#if defined(__aarch64__)
  const CodeSimd paths[] = {CodeSimd::Neon};
#elif defined(__x86_64__)
  // The paths this CPU runs (link src/cpu-features.cc).
  std::vector<CodeSimd> paths;
  if (plait::detectSimd() != plait::Simd::Scalar) paths.push_back(CodeSimd::Avx2);
  if (plait::detectSimd() == plait::Simd::Avx512) paths.push_back(CodeSimd::Avx512);
#else
  const CodeSimd paths[] = {CodeSimd::Scalar};
#endif
  int status = 0;
  for (CodeSimd p : paths) {
    const int cases = checkPath(p);
    if (cases < 0) {
      status = 1;
    } else {
      std::printf("%s ok %d\n", name(p), cases);
    }
  }
  return status;
}
