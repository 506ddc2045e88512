// Fast-scan's lookups alone (the accumulation of src/fast-scan.cc: 62% of its time at 128 d x 32
// query tokens, 2 bits, in part E; 40-45% after part G on Zen 5), in the variants measured for
// issue 22 part E (bench/RESULTS.md, "Fast-scan part E"): ns per document token for a 32-token query over 32-byte tokens, tables and
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
// Part H (bench/RESULTS.md, "Fast-scan part H: the accumulation on Zen 5"), first the vector pipes
// (pipes(): each instruction's throughput alone and mixed), then the quads variants, each checked
// against quads' sums:
//   u16 5 (4+1)   5 query tokens a pass, the 5th summed as uint16 pairs (vpaddw, vpsrlw, vpaddw) on
//                 the pipe vpermb and vpdpbusd leave idle, the others by vpdpbusd (24 accumulators)
//   u16 5 slots   the same with the uint16 token's lookups spread between the other four's
//   u16 4 (3+1)   4 query tokens, the 4th as uint16 pairs
//   piped         4 query tokens, each token's vpermb issued between the previous token's vpdpbusd
//   piped across  the same across quads (the last token's sums with the next quad's first lookups)
//   piped mem (across)  the same with the table as vpermb's memory operand (4 loads of it)
// Part I (bench/RESULTS.md, "Fast-scan part I"), on tables of entries <= 127, checked against quads':
//   pairs, all fit     two quads' lookups added bytewise (vpaddb) before one vpdpbusd with ones
//   pairs B weighted   the same with a dword of pair weights as vpdpbusd's signed operand (the kernel's since part I)
//   pairs A ...        per query token and pair, the pair path where its entries fit, else two quads (a branch)
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

// A quad's index zmm of the 64-token block: idx[q][64 tokens][4].
AVX512 inline void loadQuad(const uint8_t* idx, size_t q, __m512i* x) {
  for (int k = 0; k < 4; ++k) x[k] = _mm512_loadu_si512(idx + q * 256 + 64 * k);
}

// A uint16-pair token's sums (a0 += r, a1 += r >> 8 as words; k: its 16 tokens of 64): the even
// bytes' sums are a0 - (a1 << 8) modulo 2^16, exact as every sum is < 2^16, so a token's sum is
// its two words of (a0 - (a1 << 8) + a1) added as dwords; narrowed to uint16 in out[64].
AVX512 inline void storeU16Sums(const __m512i* a0, const __m512i* a1, uint16_t* out) {
  const __m512i low = _mm512_set1_epi32(0xFFFF);
  for (int k = 0; k < 4; ++k) {
    const __m512i w = _mm512_add_epi16(_mm512_sub_epi16(a0[k], _mm512_slli_epi16(a1[k], 8)), a1[k]);
    const __m512i s = _mm512_add_epi32(_mm512_and_si512(w, low), _mm512_srli_epi32(w, 16));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 16 * k), _mm512_cvtepi32_epi16(s));
  }
}

// One query token's 4 vpermb + 4 vpdpbusd for one quad in one asm statement, as the kernel's
// quadLookups (src/fast-scan.cc); without it GCC 12 copies each accumulator around its vpdpbusd.
AVX512 inline void quadAsm(__m512i* acc, const __m512i* x, __m512i t, __m512i ones) {
  __m512i r0, r1;
  __asm__(
      "vpermb %[t], %[x0], %[r0]\n\tvpermb %[t], %[x1], %[r1]\n\t"
      "vpdpbusd %[ones], %[r0], %[a0]\n\tvpdpbusd %[ones], %[r1], %[a1]\n\t"
      "vpermb %[t], %[x2], %[r0]\n\tvpermb %[t], %[x3], %[r1]\n\t"
      "vpdpbusd %[ones], %[r0], %[a2]\n\tvpdpbusd %[ones], %[r1], %[a3]"
      : [a0] "+v"(acc[0]), [a1] "+v"(acc[1]), [a2] "+v"(acc[2]), [a3] "+v"(acc[3]), [r0] "=&v"(r0), [r1] "=&v"(r1)
      : [t] "v"(t), [x0] "v"(x[0]), [x1] "v"(x[1]), [x2] "v"(x[2]), [x3] "v"(x[3]), [ones] "v"(ones));
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
    loadQuad(idx, q, x);
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      const __m512i t = _mm512_loadu_si512(tables + (q * kQLen + i0 + g) * 64);
      if (Asm) {
        quadAsm(acc[g], x, t, ones);
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

// Part I (bench/RESULTS.md, "Fast-scan part I"): two quads' lookups of one query token summed
// bytewise (vpaddb, on the pipe vpermb and vpdpbusd leave idle) before one vpdpbusd: 3 shared ops a
// quad pair and 16 tokens instead of 4, exact while each pair of entries sums <= 255. W: the
// vpdpbusd's signed operand is a dword of per-pair weights broadcast from memory ({1to16}; scheme B's
// weighted pairs) instead of ones. Fit: bit g of a pass's mask, the pairs where query token g's
// entries fit (the others take two quads' lookups as quadAsm does); kernel-shaped, 4 tokens a pass.
AVX512 inline void pairAsm(__m512i* acc, const __m512i* x0, const __m512i* x1, __m512i t0, __m512i t1, __m512i ones) {
  __m512i r0, r1;
  __asm__(
      "vpermb %[t0], %[x0], %[r0]\n\tvpermb %[t1], %[y0], %[r1]\n\tvpaddb %[r1], %[r0], %[r0]\n\t"
      "vpdpbusd %[ones], %[r0], %[a0]\n\t"
      "vpermb %[t0], %[x1], %[r0]\n\tvpermb %[t1], %[y1], %[r1]\n\tvpaddb %[r1], %[r0], %[r0]\n\t"
      "vpdpbusd %[ones], %[r0], %[a1]\n\t"
      "vpermb %[t0], %[x2], %[r0]\n\tvpermb %[t1], %[y2], %[r1]\n\tvpaddb %[r1], %[r0], %[r0]\n\t"
      "vpdpbusd %[ones], %[r0], %[a2]\n\t"
      "vpermb %[t0], %[x3], %[r0]\n\tvpermb %[t1], %[y3], %[r1]\n\tvpaddb %[r1], %[r0], %[r0]\n\t"
      "vpdpbusd %[ones], %[r0], %[a3]"
      : [a0] "+v"(acc[0]), [a1] "+v"(acc[1]), [a2] "+v"(acc[2]), [a3] "+v"(acc[3]), [r0] "=&v"(r0), [r1] "=&v"(r1)
      : [t0] "v"(t0), [t1] "v"(t1), [x0] "v"(x0[0]), [x1] "v"(x0[1]), [x2] "v"(x0[2]), [x3] "v"(x0[3]),
        [y0] "v"(x1[0]), [y1] "v"(x1[1]), [y2] "v"(x1[2]), [y3] "v"(x1[3]), [ones] "v"(ones));
}

AVX512 inline void pairAsmWeighted(__m512i* acc, const __m512i* x0, const __m512i* x1, __m512i t0, __m512i t1,
                                   __m512i w) {
  __m512i r0, r1;
  __asm__(
      "vpermb %[t0], %[x0], %[r0]\n\tvpermb %[t1], %[y0], %[r1]\n\tvpaddb %[r1], %[r0], %[r0]\n\t"
      "vpdpbusd %[w], %[r0], %[a0]\n\t"
      "vpermb %[t0], %[x1], %[r0]\n\tvpermb %[t1], %[y1], %[r1]\n\tvpaddb %[r1], %[r0], %[r0]\n\t"
      "vpdpbusd %[w], %[r0], %[a1]\n\t"
      "vpermb %[t0], %[x2], %[r0]\n\tvpermb %[t1], %[y2], %[r1]\n\tvpaddb %[r1], %[r0], %[r0]\n\t"
      "vpdpbusd %[w], %[r0], %[a2]\n\t"
      "vpermb %[t0], %[x3], %[r0]\n\tvpermb %[t1], %[y3], %[r1]\n\tvpaddb %[r1], %[r0], %[r0]\n\t"
      "vpdpbusd %[w], %[r0], %[a3]"
      : [a0] "+v"(acc[0]), [a1] "+v"(acc[1]), [a2] "+v"(acc[2]), [a3] "+v"(acc[3]), [r0] "=&v"(r0), [r1] "=&v"(r1)
      : [t0] "v"(t0), [t1] "v"(t1), [x0] "v"(x0[0]), [x1] "v"(x0[1]), [x2] "v"(x0[2]), [x3] "v"(x0[3]),
        [y0] "v"(x1[0]), [y1] "v"(x1[1]), [y2] "v"(x1[2]), [y3] "v"(x1[3]), [w] "v"(w));
}

// Mode 0: every pair fits (the bound of scheme A, ones); 1: scheme B (weights from memory, all
// pairs); 2: scheme A with bit g of fit[pair] saying query token g's pair fits.
template <int Mode>
LOOKUPS void quadPairLookups(const uint8_t* idx, const uint8_t* tables, size_t i0, uint16_t* sums, const uint8_t* fit,
                             const uint32_t* w) {
  __m512i acc[kG][4];
#pragma GCC unroll 4
  for (size_t g = 0; g < kG; ++g)
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) acc[g][k] = _mm512_setzero_si512();
  const __m512i ones = _mm512_set1_epi8(1);
  for (size_t c = 0; c < kBytes / 4; ++c) {
    __m512i x0[4], x1[4];
    loadQuad(idx, 2 * c, x0);
    loadQuad(idx, 2 * c + 1, x1);
#pragma GCC unroll 4
    for (size_t g = 0; g < kG; ++g) {
      const __m512i t0 = _mm512_loadu_si512(tables + (2 * c * kQLen + i0 + g) * 64);
      const __m512i t1 = _mm512_loadu_si512(tables + ((2 * c + 1) * kQLen + i0 + g) * 64);
      if (Mode == 1) {
        pairAsmWeighted(acc[g], x0, x1, t0, t1, _mm512_set1_epi32(static_cast<int>(w[c * kQLen + i0 + g])));
      } else if (Mode == 0 || ((fit[c] >> g) & 1) != 0) {
        pairAsm(acc[g], x0, x1, t0, t1, ones);
      } else {
        quadAsm(acc[g], x0, t0, ones);
        quadAsm(acc[g], x1, t1, ones);
      }
    }
  }
#pragma GCC unroll 4
  for (size_t g = 0; g < kG; ++g)
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(sums + (i0 + g) * 64 + 16 * k), _mm512_cvtepi32_epi16(acc[g][k]));
}

// Part H (Zen 5): vpdpbusd (2 pipes) and vpermb (2 pipes) share one of the four vector pipes, so
// 32 + 32 of them a token need >= 21.3 cycles on three pipes while the fourth idles. The last U of
// the G query tokens a pass sum their lookups as uint16 pairs instead (FAISS's trick on the quad
// layout): a0 += r and a1 += r >> 8 as words (vpaddw, vpsrlw, vpaddw: the adds run on any pipe,
// the shift beside the shuffles), a token's sum = (a0 - (a1 << 8) + a1) summed over its two words.
template <int G, int U>
LOOKUPS void quadLookupsMixed(const uint8_t* idx, const uint8_t* tables, size_t i0, uint16_t* sums) {
  constexpr int D = G - U;  // query tokens on vpdpbusd
  __m512i acc[D > 0 ? D : 1][4], a0[U][4], a1[U][4];
#pragma GCC unroll 8
  for (int g = 0; g < D; ++g)
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) acc[g][k] = _mm512_setzero_si512();
#pragma GCC unroll 8
  for (int u = 0; u < U; ++u)
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) a0[u][k] = a1[u][k] = _mm512_setzero_si512();
  const __m512i ones = _mm512_set1_epi8(1);
  for (size_t q = 0; q < kBytes / 2; ++q) {
    __m512i x[4];
    loadQuad(idx, q, x);
    const uint8_t* tq = tables + (q * kQLen + i0) * 64;
#pragma GCC unroll 8
    for (int g = 0; g < D; ++g) quadAsm(acc[g], x, _mm512_loadu_si512(tq + 64 * g), ones);
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) {
      const __m512i t = _mm512_loadu_si512(tq + 64 * (D + u));
      __m512i r0, r1;
      __asm__(
          "vpermb %[t], %[x0], %[r0]\n\tvpermb %[t], %[x1], %[r1]\n\t"
          "vpaddw %[r0], %[e0], %[e0]\n\tvpsrlw $8, %[r0], %[r0]\n\tvpaddw %[r1], %[e1], %[e1]\n\t"
          "vpsrlw $8, %[r1], %[r1]\n\tvpaddw %[r0], %[o0], %[o0]\n\tvpaddw %[r1], %[o1], %[o1]\n\t"
          "vpermb %[t], %[x2], %[r0]\n\tvpermb %[t], %[x3], %[r1]\n\t"
          "vpaddw %[r0], %[e2], %[e2]\n\tvpsrlw $8, %[r0], %[r0]\n\tvpaddw %[r1], %[e3], %[e3]\n\t"
          "vpsrlw $8, %[r1], %[r1]\n\tvpaddw %[r0], %[o2], %[o2]\n\tvpaddw %[r1], %[o3], %[o3]"
          : [e0] "+v"(a0[u][0]), [e1] "+v"(a0[u][1]), [e2] "+v"(a0[u][2]), [e3] "+v"(a0[u][3]), [o0] "+v"(a1[u][0]),
            [o1] "+v"(a1[u][1]), [o2] "+v"(a1[u][2]), [o3] "+v"(a1[u][3]), [r0] "=&v"(r0), [r1] "=&v"(r1)
          : [t] "v"(t), [x0] "v"(x[0]), [x1] "v"(x[1]), [x2] "v"(x[2]), [x3] "v"(x[3]));
    }
  }
#pragma GCC unroll 8
  for (int g = 0; g < D; ++g)
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(sums + (i0 + g) * 64 + 16 * k), _mm512_cvtepi32_epi16(acc[g][k]));
#pragma GCC unroll 8
  for (int u = 0; u < U; ++u) storeU16Sums(a0[u], a1[u], sums + (i0 + D + u) * 64);
}

// The same 4 + 1 split with the uint16 token's lookups spread over the four vpdpbusd tokens: each
// slot is one vpdpbusd token's 4 vpermb + 4 vpdpbusd and one of the uint16 token's four index zmm
// (vpermb, vpaddw, vpsrlw, vpaddw), so every stretch of the loop holds the mix that fills the pipes.
// Two temporaries: a slot's table register is the destination of its last lookup.
LOOKUPS void quadLookupsSlots(const uint8_t* idx, const uint8_t* tables, size_t i0, uint16_t* sums) {
  __m512i acc[4][4], a0[4], a1[4];
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g)
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) acc[g][k] = _mm512_setzero_si512();
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) a0[k] = a1[k] = _mm512_setzero_si512();
  const __m512i ones = _mm512_set1_epi8(1);
  for (size_t q = 0; q < kBytes / 2; ++q) {
    __m512i x[4];
    loadQuad(idx, q, x);
    const uint8_t* tq = tables + (q * kQLen + i0) * 64;
    const __m512i u = _mm512_loadu_si512(tq + 64 * 4);
#pragma GCC unroll 4
    for (int g = 0; g < 4; ++g) {
      __m512i t = _mm512_loadu_si512(tq + 64 * g), r;
      __asm__(
          "vpermb %[t], %[x0], %[r]\n\tvpdpbusd %[ones], %[r], %[a0]\n\t"
          "vpermb %[t], %[x1], %[r]\n\tvpdpbusd %[ones], %[r], %[a1]\n\t"
          "vpermb %[u], %[xg], %[r]\n\tvpaddw %[r], %[e], %[e]\n\tvpsrlw $8, %[r], %[r]\n\tvpaddw %[r], %[o], %[o]\n\t"
          "vpermb %[t], %[x2], %[r]\n\tvpdpbusd %[ones], %[r], %[a2]\n\t"
          "vpermb %[t], %[x3], %[t]\n\tvpdpbusd %[ones], %[t], %[a3]"
          : [a0] "+v"(acc[g][0]), [a1] "+v"(acc[g][1]), [a2] "+v"(acc[g][2]), [a3] "+v"(acc[g][3]), [e] "+v"(a0[g]),
            [o] "+v"(a1[g]), [t] "+v"(t), [r] "=&v"(r)
          : [u] "v"(u), [xg] "v"(x[g]), [x0] "v"(x[0]), [x1] "v"(x[1]), [x2] "v"(x[2]), [x3] "v"(x[3]), [ones] "v"(ones));
    }
  }
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g)
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(sums + (i0 + g) * 64 + 16 * k), _mm512_cvtepi32_epi16(acc[g][k]));
  storeU16Sums(a0, a1, sums + (i0 + 4) * 64);
}

#define PIPED_STEP_BODY                                                              \
  "vpermb %[t], %[x0], %[n0]\n\tvpdpbusd %[ones], %[p0], %[a0]\n\t"                  \
  "vpermb %[t], %[x1], %[n1]\n\tvpdpbusd %[ones], %[p1], %[a1]\n\t"                  \
  "vpermb %[t], %[x2], %[n2]\n\tvpdpbusd %[ones], %[p2], %[a2]\n\t"                  \
  "vpermb %[t], %[x3], %[n3]\n\tvpdpbusd %[ones], %[p3], %[a3]"
#define PIPED_STEP_OUT                                                                                       \
  [a0] "+v"(acc[0]), [a1] "+v"(acc[1]), [a2] "+v"(acc[2]), [a3] "+v"(acc[3]), [n0] "=&v"(next[0]),       \
      [n1] "=&v"(next[1]), [n2] "=&v"(next[2]), [n3] "=&v"(next[3])
#define PIPED_STEP_IN                                                                                        \
  [x0] "v"(x[0]), [x1] "v"(x[1]), [x2] "v"(x[2]), [x3] "v"(x[3]), [p0] "v"(prev[0]), [p1] "v"(prev[1]),   \
      [p2] "v"(prev[2]), [p3] "v"(prev[3]), [ones] "v"(ones)

// Software-pipelined lookups (part H): token g + 1's four vpermb are issued between token g's four
// vpdpbusd, so each vpdpbusd's input was computed a token earlier. One asm statement a step
// (GCC allows 30 operands); the table is vpermb's memory operand (Mem: "m", four loads of it) or
// loaded once to a register ("v").
template <bool Mem>
AVX512 inline void pipedStep(__m512i* acc, const __m512i* prev, __m512i* next, const uint8_t* t, const __m512i* x,
                             __m512i ones) {
  if (Mem)
    __asm__(PIPED_STEP_BODY : PIPED_STEP_OUT : [t] "m"(*reinterpret_cast<const __m512i*>(t)), PIPED_STEP_IN);
  else
    __asm__(PIPED_STEP_BODY : PIPED_STEP_OUT : [t] "v"(_mm512_loadu_si512(t)), PIPED_STEP_IN);
}

template <int G, bool Mem, bool AcrossQuads>
LOOKUPS void quadLookupsPiped(const uint8_t* idx, const uint8_t* tables, size_t i0, uint16_t* sums) {
  __m512i acc[G][4];
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g)
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) acc[g][k] = _mm512_setzero_si512();
  const __m512i ones = _mm512_set1_epi8(1), zero = _mm512_setzero_si512();
  __m512i r[2][4];
  if (AcrossQuads) {
    // The last token's lookups run into the next quad's first step; a dummy accumulator takes the
    // first step's (zero) sums.
    __m512i x[4], sink[4];
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) r[1][k] = zero, sink[k] = zero;
    loadQuad(idx, 0, x);
    pipedStep<Mem>(sink, r[1], r[0], tables + i0 * 64, x, ones);
    for (size_t q = 0; q < kBytes / 2; ++q) {
      const uint8_t* tq = tables + (q * kQLen + i0) * 64;
#pragma GCC unroll 8
      for (int g = 1; g < G; ++g) pipedStep<Mem>(acc[g - 1], r[(g - 1) & 1], r[g & 1], tq + 64 * g, x, ones);
      if (q + 1 < kBytes / 2) {
        loadQuad(idx, q + 1, x);
        pipedStep<Mem>(acc[G - 1], r[(G - 1) & 1], r[G & 1], tables + ((q + 1) * kQLen + i0) * 64, x, ones);
        if (G % 2 == 1) std::swap(r[0], r[1]);
      } else {
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) acc[G - 1][k] = _mm512_dpbusd_epi32(acc[G - 1][k], r[(G - 1) & 1][k], ones);
      }
    }
  } else {
    for (size_t q = 0; q < kBytes / 2; ++q) {
      __m512i x[4];
      loadQuad(idx, q, x);
      const uint8_t* tq = tables + (q * kQLen + i0) * 64;
      __m512i first[4];
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) first[k] = _mm512_permutexvar_epi8(x[k], _mm512_loadu_si512(tq));
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) r[0][k] = first[k];
#pragma GCC unroll 8
      for (int g = 1; g < G; ++g) pipedStep<Mem>(acc[g - 1], r[(g - 1) & 1], r[g & 1], tq + 64 * g, x, ones);
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) acc[G - 1][k] = _mm512_dpbusd_epi32(acc[G - 1][k], r[(G - 1) & 1][k], ones);
    }
  }
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g)
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(sums + (i0 + g) * 64 + 16 * k), _mm512_cvtepi32_epi16(acc[g][k]));
}

// ---------------------------------------------------------------- the vector pipes (part H)
// Throughput of the accumulation's instructions alone and mixed, 16 or 32 independent instructions
// a loop iteration (no chain longer than two, sources constant), in asm so that no compiler adds
// or removes any. Reported per instruction and as instructions a cycle, the cycle taken from
// vpaddd, which every one of the four vector pipes runs (4 a cycle). Two instruction kinds that
// sum to 4 a cycle run on disjoint pipes; to 3, they share one.
#define PIPE_R(n) "vpermb %%zmm31, %%zmm30, %%zmm" #n "\n\t"
#define PIPE_RM(n) "vpermb (%0), %%zmm30, %%zmm" #n "\n\t"
#define PIPE_D(n) "vpdpbusd %%zmm29, %%zmm28, %%zmm" #n "\n\t"
#define PIPE_A(n) "vpaddd %%zmm29, %%zmm28, %%zmm" #n "\n\t"
#define PIPE_S(n) "vpsrlw $8, %%zmm28, %%zmm" #n "\n\t"
#define PIPE_X4(M, a, b, c, d) M(a) M(b) M(c) M(d)
#define PIPE_16(M) PIPE_X4(M, 0, 1, 2, 3) PIPE_X4(M, 4, 5, 6, 7) PIPE_X4(M, 8, 9, 10, 11) PIPE_X4(M, 12, 13, 14, 15)
#define PIPE_MIX(M1, M2) \
  PIPE_X4(M1, 0, 1, 2, 3) PIPE_X4(M2, 16, 17, 18, 19) PIPE_X4(M1, 4, 5, 6, 7) PIPE_X4(M2, 20, 21, 22, 23) \
  PIPE_X4(M1, 8, 9, 10, 11) PIPE_X4(M2, 16, 17, 18, 19) PIPE_X4(M1, 12, 13, 14, 15) PIPE_X4(M2, 20, 21, 22, 23)
#define PIPE_CLOBBER                                                                                            \
  "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",   \
      "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23"

alignas(64) uint8_t pipeTable[64];

template <int K>
__attribute__((noinline, target("avx512f,avx512bw,avx512vbmi,avx512vnni"))) void pipeLoop(long n) {
  for (long i = 0; i < n; ++i) {
    if (K == 0) __asm__ volatile(PIPE_16(PIPE_A)::"r"(pipeTable) : PIPE_CLOBBER);
    if (K == 1) __asm__ volatile(PIPE_16(PIPE_R)::"r"(pipeTable) : PIPE_CLOBBER);
    if (K == 2) __asm__ volatile(PIPE_16(PIPE_RM)::"r"(pipeTable) : PIPE_CLOBBER);
    if (K == 3) __asm__ volatile(PIPE_16(PIPE_D)::"r"(pipeTable) : PIPE_CLOBBER);
    if (K == 4) __asm__ volatile(PIPE_16(PIPE_S)::"r"(pipeTable) : PIPE_CLOBBER);
    if (K == 5) __asm__ volatile(PIPE_MIX(PIPE_R, PIPE_D)::"r"(pipeTable) : PIPE_CLOBBER);
    if (K == 6) __asm__ volatile(PIPE_MIX(PIPE_R, PIPE_A)::"r"(pipeTable) : PIPE_CLOBBER);
    if (K == 7) __asm__ volatile(PIPE_MIX(PIPE_R, PIPE_S)::"r"(pipeTable) : PIPE_CLOBBER);
    if (K == 8) __asm__ volatile(PIPE_MIX(PIPE_D, PIPE_S)::"r"(pipeTable) : PIPE_CLOBBER);
    if (K == 9) __asm__ volatile(PIPE_MIX(PIPE_D, PIPE_A)::"r"(pipeTable) : PIPE_CLOBBER);
  }
}

template <int K>
double pipeNs(int perIteration) {
  double best = 1e30;
  for (int w = 0; w < 5; ++w) {
    const long n = 1000000;
    const double t0 = cpuSeconds();
    pipeLoop<K>(n);
    best = std::min(best, (cpuSeconds() - t0) / static_cast<double>(n) / perIteration);
  }
  return best * 1e9;
}

void pipes() {
  const double cycle = pipeNs<0>(16) * 4;  // vpaddd: 4 a cycle
  const auto row = [&](const char* name, double ns) {
    std::printf("  %-26s %6.3f ns/instr  %4.2f a cycle\n", name, ns, cycle / ns);
  };
  std::printf("pipes (cycle from vpaddd: %.3f ns)\n", cycle);
  row("vpaddd", cycle / 4);
  row("vpermb", pipeNs<1>(16));
  row("vpermb, table in memory", pipeNs<2>(16));
  row("vpdpbusd", pipeNs<3>(16));
  row("vpsrlw", pipeNs<4>(16));
  row("vpermb + vpdpbusd", pipeNs<5>(32));
  row("vpermb + vpaddd", pipeNs<6>(32));
  row("vpermb + vpsrlw", pipeNs<7>(32));
  row("vpdpbusd + vpsrlw", pipeNs<8>(32));
  row("vpdpbusd + vpaddd", pipeNs<9>(32));
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
  pipes();
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
  // Part H's variants, each checked against the sums of quads (sums cleared first, so a variant
  // that writes nothing or the wrong integers is reported).
  const std::vector<uint16_t> want(sums);
  const auto checked = [&](const char* name, auto&& fn) {
    std::fill(sums.begin(), sums.end(), 0xFFFF);
    report(name, 64, fn);
    if (!std::equal(want.begin(), want.begin() + kQLen * 64, sums.begin()))  // [i][64 tokens]
      std::printf("  %s: sums differ from quads'\n", name);
  };
  const auto fives = [&](auto&& fn) {  // 6 passes of 5 query tokens, the last 2 by quads (G = 2)
    for (size_t i = 0; i + 5 <= kQLen; i += 5) fn(i);
    quadLookups<2, true>(quadIdx.data(), quadTables.data(), 30, sums.data());
  };
  checked("u16 5 (4+1)", [&] { fives([&](size_t i) { quadLookupsMixed<5, 1>(quadIdx.data(), quadTables.data(), i, sums.data()); }); });
  checked("u16 5 slots", [&] { fives([&](size_t i) { quadLookupsSlots(quadIdx.data(), quadTables.data(), i, sums.data()); }); });
  checked("u16 4 (3+1)", [&] { all([&](size_t i) { quadLookupsMixed<4, 1>(quadIdx.data(), quadTables.data(), i, sums.data()); }); });
  checked("piped", [&] { all([&](size_t i) { quadLookupsPiped<4, false, false>(quadIdx.data(), quadTables.data(), i, sums.data()); }); });
  checked("piped across", [&] { all([&](size_t i) { quadLookupsPiped<4, false, true>(quadIdx.data(), quadTables.data(), i, sums.data()); }); });
  checked("piped mem", [&] { all([&](size_t i) { quadLookupsPiped<4, true, false>(quadIdx.data(), quadTables.data(), i, sums.data()); }); });
  checked("piped mem across", [&] { all([&](size_t i) { quadLookupsPiped<4, true, true>(quadIdx.data(), quadTables.data(), i, sums.data()); }); });
  // Part I: tables of entries <= 127 (every pair fits), checked against quads' sums on them.
  std::vector<uint8_t> halfTables(quadTables.size());
  for (size_t k = 0; k < halfTables.size(); ++k) halfTables[k] = quadTables[k] & 127;
  std::vector<uint8_t> fitAll(kBytes / 4, 15), fitNone(kBytes / 4, 0), fitHalf(kBytes / 4);
  for (size_t c = 0; c < fitHalf.size(); ++c) fitHalf[c] = static_cast<uint8_t>(gen() & 15);
  std::vector<uint32_t> onesW(kBytes / 4 * kQLen, 0x01010101u);
  all([&](size_t i) { quadLookups<4, true>(quadIdx.data(), halfTables.data(), i, sums.data()); });
  const std::vector<uint16_t> wantHalf(sums);
  const auto checkedHalf = [&](const char* name, auto&& fn) {
    std::fill(sums.begin(), sums.end(), 0xFFFF);
    report(name, 64, fn);
    if (!std::equal(wantHalf.begin(), wantHalf.begin() + kQLen * 64, sums.begin())) std::printf("  %s: sums differ from quads'\n", name);
  };
  report("quads (I)", 64, [&] { all([&](size_t i) { quadLookups<4, true>(quadIdx.data(), halfTables.data(), i, sums.data()); }); });
  checkedHalf("pairs, all fit", [&] { all([&](size_t i) { quadPairLookups<0>(quadIdx.data(), halfTables.data(), i, sums.data(), fitAll.data(), onesW.data()); }); });
  checkedHalf("pairs B weighted", [&] { all([&](size_t i) { quadPairLookups<1>(quadIdx.data(), halfTables.data(), i, sums.data(), fitAll.data(), onesW.data()); }); });
  checkedHalf("pairs A none fit", [&] { all([&](size_t i) { quadPairLookups<2>(quadIdx.data(), halfTables.data(), i, sums.data(), fitNone.data(), onesW.data()); }); });
  checkedHalf("pairs A all fit", [&] { all([&](size_t i) { quadPairLookups<2>(quadIdx.data(), halfTables.data(), i, sums.data(), fitAll.data(), onesW.data()); }); });
  checkedHalf("pairs A random", [&] { all([&](size_t i) { quadPairLookups<2>(quadIdx.data(), halfTables.data(), i, sums.data(), fitHalf.data(), onesW.data()); }); });
  report("quads (I)", 64, [&] { all([&](size_t i) { quadLookups<4, true>(quadIdx.data(), halfTables.data(), i, sums.data()); }); });
  report("quads", 64, [&] { all([&](size_t i) { quadLookups<4, true>(quadIdx.data(), quadTables.data(), i, sums.data()); }); });
  report("current", 64, [&] { all([&](size_t i) { nibbleLookups<1, false, true>(nibs.data(), tables.data(), i, sums.data()); }); });
  std::printf("checksum %u\n", static_cast<unsigned>(sums[5] + sums[100]));
  return 0;
}
