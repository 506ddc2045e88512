// Fast-scan's lookups alone (the accumulation of src/fast-scan.cc, 62% of its time at 128 d x 32
// query tokens, 2 bits), in the variants measured for issue 22 part E (bench/RESULTS.md,
// "Fast-scan part E"): ns per document token for a 32-token query over 32-byte tokens, tables and
// nibble rows in L1, one thread, best of 5 windows of CPU time.
//   current    16-entry uint8 tables, vpshufb, each lookup widened to uint16 apart (the AVX-512BW path)
//   noOddSum   the same without the odd-token sums (wrong results; measures what the widening costs)
//   shared     two 64-token blocks share each table broadcast
//   vpermb6    AVX-512 VBMI: 64-entry tables over 3 dimensions (6-bit indexes), 43 lookups a token
//              instead of 64 (one zmm table a query token and group, loaded per use: 88 KB a query)
//   bytePair   a byte's two lookups summed in uint8 lanes first (needs entries whose pair sums to
//              <= 255: a coarser table, see RESULTS for its fidelity), one widening a byte
//   bytePairShared  both
//   quads      part F, the kernel's VBMI + VNNI path: vpermb over four nibble positions (a 64-byte
//              table a query token and quad), vpdpbusd int32 sums; 4 query tokens a pass (G = 4)
//   quads intrinsics  the same written with intrinsics only (GCC copies the accumulators)
//   quads G=2  2 query tokens a pass
// Needs AVX-512BW, VBMI and VNNI (the vpermb variants). Build and run from native-kernels/:
//   g++ -O3 -std=c++17 bench/fast-scan-lookups.cc -o fast-scan-lookups && ./fast-scan-lookups
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 warns about the intrinsics' undefined upper lanes (as in src/fast-scan.cc).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <random>
#include <vector>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,avx512vnni")))
#define LOOKUPS AVX512 __attribute__((noinline))

namespace {

constexpr size_t kQLen = 32, kBytes = 32, kGroups6 = 43, kG = 4;

double cpuSeconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

AVX512 inline __m512i table16(const uint8_t* t) { return _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t))); }

// nibs: [2 nBytes rows][blocks * 64 tokens]; tables: [b][i][32]; sums: [i][blocks * 64].
template <int Blocks, bool BytePair, bool OddSums>
LOOKUPS void nibbleLookups(const uint8_t* nibs, const uint8_t* tables, size_t i0, uint16_t* sums) {
  constexpr size_t row = 64 * Blocks;
  __m512i a0[Blocks][kG], a1[Blocks][kG];
  for (int k = 0; k < Blocks; ++k)
    for (size_t g = 0; g < kG; ++g) a0[k][g] = a1[k][g] = _mm512_setzero_si512();
  const __m512i odd = _mm512_set1_epi16(0x0100);
  for (size_t b = 0; b < kBytes; ++b) {
    __m512i hi[Blocks], lo[Blocks];
    for (int k = 0; k < Blocks; ++k) {
      hi[k] = _mm512_loadu_si512(nibs + 2 * b * row + 64 * k);
      lo[k] = _mm512_loadu_si512(nibs + (2 * b + 1) * row + 64 * k);
    }
    const uint8_t* tb = tables + (b * kQLen + i0) * 32;
    for (size_t g = 0; g < kG; ++g) {
      const __m512i th = table16(tb + 32 * g), tl = table16(tb + 32 * g + 16);
      for (int k = 0; k < Blocks; ++k) {
        const __m512i rh = _mm512_shuffle_epi8(th, hi[k]), rl = _mm512_shuffle_epi8(tl, lo[k]);
        if (BytePair) {
          const __m512i s = _mm512_add_epi8(rh, rl);
          a0[k][g] = _mm512_add_epi16(a0[k][g], s);
          a1[k][g] = _mm512_add_epi16(a1[k][g], _mm512_maddubs_epi16(s, odd));
        } else {
          a0[k][g] = _mm512_add_epi16(a0[k][g], _mm512_add_epi16(rh, rl));
          if (OddSums)
            a1[k][g] = _mm512_add_epi16(a1[k][g], _mm512_add_epi16(_mm512_maddubs_epi16(rh, odd), _mm512_maddubs_epi16(rl, odd)));
        }
      }
    }
  }
  for (int k = 0; k < Blocks; ++k)
    for (size_t g = 0; g < kG; ++g) {
      uint16_t* o = sums + (i0 + g) * row + 64 * k;
      _mm512_storeu_si512(o, _mm512_sub_epi16(a0[k][g], _mm512_slli_epi16(a1[k][g], 8)));
      _mm512_storeu_si512(o + 32, a1[k][g]);
    }
}

// idx: [43 groups][64 tokens] (6-bit indexes); tables: [group][i][64].
LOOKUPS void groupLookups(const uint8_t* idx, const uint8_t* tables, size_t i0, uint16_t* sums) {
  __m512i a0[kG], a1[kG];
  for (size_t g = 0; g < kG; ++g) a0[g] = a1[g] = _mm512_setzero_si512();
  const __m512i odd = _mm512_set1_epi16(0x0100);
  for (size_t p = 0; p < kGroups6; p += 2) {
    const bool pair = p + 1 < kGroups6;
    const __m512i x = _mm512_loadu_si512(idx + p * 64), y = pair ? _mm512_loadu_si512(idx + (p + 1) * 64) : x;
    for (size_t g = 0; g < kG; ++g) {
      const __m512i rx = _mm512_permutexvar_epi8(x, _mm512_loadu_si512(tables + (p * kQLen + i0 + g) * 64));
      const __m512i ry = pair ? _mm512_permutexvar_epi8(y, _mm512_loadu_si512(tables + ((p + 1) * kQLen + i0 + g) * 64))
                              : _mm512_setzero_si512();
      a0[g] = _mm512_add_epi16(a0[g], _mm512_add_epi16(rx, ry));
      a1[g] = _mm512_add_epi16(a1[g], _mm512_add_epi16(_mm512_maddubs_epi16(rx, odd), _mm512_maddubs_epi16(ry, odd)));
    }
  }
  for (size_t g = 0; g < kG; ++g) {
    uint16_t* o = sums + (i0 + g) * 64;
    _mm512_storeu_si512(o, _mm512_sub_epi16(a0[g], _mm512_slli_epi16(a1[g], 8)));
    _mm512_storeu_si512(o + 32, a1[g]);
  }
}

// AVX-512 VBMI + VNNI (part F): one vpermb looks up four nibble positions (a quad: residual bytes
// 2q and 2q + 1) of 16 tokens in a 64-byte table (byte 16j + v = E[4q + j][v]); the document side
// holds one token's four nibbles of the quad a dword, nibble j OR'd with j << 4; one vpdpbusd with
// int8 ones sums each dword's four uint8 entries into an int32. idx: [16 quads][64 tokens][4];
// tables: [quad][i][64]; sums: [i][64], the int32 sums narrowed to uint16 in token order.
// Asm: one query token's 4 vpermb + 4 vpdpbusd in one asm statement, as the kernel does
// (src/fast-scan.cc, quadLookups); without it GCC 12 copies each accumulator around its vpdpbusd.
template <int G, bool Asm>
LOOKUPS void quadLookups(const uint8_t* idx, const uint8_t* tables, size_t i0, uint16_t* sums) {
  __m512i acc[G][4];
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g)
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) acc[g][k] = _mm512_setzero_si512();
  const __m512i ones = _mm512_set1_epi8(1);
  for (size_t q = 0; q < kBytes / 2; ++q) {
    __m512i x[4];
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) x[k] = _mm512_loadu_si512(idx + q * 256 + 64 * k);
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      const __m512i t = _mm512_loadu_si512(tables + (q * kQLen + i0 + g) * 64);
      if (Asm) {
        __m512i r0, r1;
        __asm__(
            "vpermb %[t], %[x0], %[r0]\n\tvpermb %[t], %[x1], %[r1]\n\t"
            "vpdpbusd %[ones], %[r0], %[a0]\n\tvpdpbusd %[ones], %[r1], %[a1]\n\t"
            "vpermb %[t], %[x2], %[r0]\n\tvpermb %[t], %[x3], %[r1]\n\t"
            "vpdpbusd %[ones], %[r0], %[a2]\n\tvpdpbusd %[ones], %[r1], %[a3]"
            : [a0] "+v"(acc[g][0]), [a1] "+v"(acc[g][1]), [a2] "+v"(acc[g][2]), [a3] "+v"(acc[g][3]), [r0] "=&v"(r0),
              [r1] "=&v"(r1)
            : [t] "v"(t), [x0] "v"(x[0]), [x1] "v"(x[1]), [x2] "v"(x[2]), [x3] "v"(x[3]), [ones] "v"(ones));
      } else {
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) acc[g][k] = _mm512_dpbusd_epi32(acc[g][k], _mm512_permutexvar_epi8(x[k], t), ones);
      }
    }
  }
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g)
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(sums + (i0 + g) * 64 + 16 * k), _mm512_cvtepi32_epi16(acc[g][k]));
}

template <class F>
void report(const char* name, size_t tokensPerCall, F&& call) {
  double best = 1e30;
  for (int w = 0; w < 5; ++w) {
    const double t0 = cpuSeconds();
    size_t calls = 0;
    do {
      for (int r = 0; r < 100; ++r, ++calls) call();
    } while (cpuSeconds() - t0 < 0.2);
    best = std::min(best, (cpuSeconds() - t0) / static_cast<double>(calls));
  }
  std::printf("%-16s %6.2f ns/token\n", name, best * 1e9 / static_cast<double>(tokensPerCall));
}

}  // namespace

int main() {
  if (!__builtin_cpu_supports("avx512bw") || !__builtin_cpu_supports("avx512vbmi") || !__builtin_cpu_supports("avx512vnni")) {
    std::printf("needs AVX-512BW, VBMI and VNNI\n");
    return 1;
  }
  std::mt19937 gen(7);
  std::vector<uint8_t> nibs(2 * kBytes * 128), tables(kBytes * kQLen * 32), idx(kGroups6 * 64),
      tables6(kGroups6 * kQLen * 64);
  for (auto& x : nibs) x = gen() & 15;
  for (auto& x : tables) x = gen() & 127;  // <= 127: the byte-pair variants' sums stay exact
  for (auto& x : idx) x = gen() & 63;
  for (auto& x : tables6) x = gen() & 127;
  std::vector<uint16_t> sums(kQLen * 128);
  const auto all = [&](auto&& fn) {
    for (size_t i = 0; i < kQLen; i += kG) fn(i);
  };
  report("current", 64, [&] { all([&](size_t i) { nibbleLookups<1, false, true>(nibs.data(), tables.data(), i, sums.data()); }); });
  report("noOddSum", 64, [&] { all([&](size_t i) { nibbleLookups<1, false, false>(nibs.data(), tables.data(), i, sums.data()); }); });
  report("shared", 128, [&] { all([&](size_t i) { nibbleLookups<2, false, true>(nibs.data(), tables.data(), i, sums.data()); }); });
  report("vpermb6", 64, [&] { all([&](size_t i) { groupLookups(idx.data(), tables6.data(), i, sums.data()); }); });
  report("bytePair", 64, [&] { all([&](size_t i) { nibbleLookups<1, true, true>(nibs.data(), tables.data(), i, sums.data()); }); });
  report("bytePairShared", 128, [&] { all([&](size_t i) { nibbleLookups<2, true, true>(nibs.data(), tables.data(), i, sums.data()); }); });
  std::vector<uint8_t> quadIdx(kBytes / 2 * 256), quadTables(kBytes / 2 * kQLen * 64);
  for (size_t k = 0; k < quadIdx.size(); ++k) quadIdx[k] = static_cast<uint8_t>((gen() & 15) | (k & 3) << 4);
  for (auto& x : quadTables) x = gen() & 255;
  report("quads", 64, [&] { all([&](size_t i) { quadLookups<4, true>(quadIdx.data(), quadTables.data(), i, sums.data()); }); });
  report("quads intrinsics", 64, [&] { all([&](size_t i) { quadLookups<4, false>(quadIdx.data(), quadTables.data(), i, sums.data()); }); });
  report("quads G=2", 64, [&] { for (size_t i = 0; i < kQLen; i += 2) quadLookups<2, true>(quadIdx.data(), quadTables.data(), i, sums.data()); });
  report("current", 64, [&] { all([&](size_t i) { nibbleLookups<1, false, true>(nibs.data(), tables.data(), i, sums.data()); }); });
  std::printf("checksum %u\n", static_cast<unsigned>(sums[5] + sums[100]));
  return 0;
}
