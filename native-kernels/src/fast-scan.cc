// Exact MaxSim on the stored residual codes, fast-scan layout (issue 22): the nibble-factored
// tables of FAISS's fast-scan (pq4_fast_scan) and next-plaid's residual LUT, held in registers and
// looked up with vpermb four nibble positions at a time (AVX-512 VBMI + VNNI), pshufb (AVX-512BW,
// AVX2) or tbl (NEON) for 64 document tokens at once.
//
//   score(q_i, token j) = (S[c_j, i] + ((scale_i * acc_ij) + offset_i)) * inv_j,
//   acc_ij = sum_p E_i[p][nibble_jp] (p < 2 nBytes),   doc score = sum_i w_i * max_j score(q_i, j)
// with inv_j = 1 / ||c_j + r_j|| (ColBERT's decompression normalises; computed once per token on
// first use into a per-index cache, tokenInverseNorms) or 1 without the norm.
//
// Tables (buildFastScanTables): for query token i and nibble position p (p = 2b: the high nibble of
// residual byte b, the byte's first dimensions; p = 2b + 1: the low nibble), T[v] = q_i . (the
// residual part that nibble value v decodes to), a sum over its 4/nbits dimensions. Each table is
// shifted by its minimum m_p and quantised to uint8 with one step per query token:
//   E_i[p][v] = clamp(floor((T[v] - m_p) * (M / R_i) + 0.5), 0, M),  R_i = max_p (max T - min T),
//   scale_i = R_i / M, offset_i = sum_p m_p (p ascending),  M = fastScanEntryMax(nBytes).
//
// Integer bounds (the saturation analysis): a token's sum is at most 2 nBytes M, and M =
// min(255, floor(65535 / (2 nBytes))) keeps it below 2^16: 255 up to nBytes = 128 (dim 512 at
// 2 bits, 128 at 4 bits), 127 at nBytes = 256 (dim 1,024 at 2 bits), the largest accepted
// (fastScanMaxBytes). The uint16 lanes hold pairs of tokens (FAISS's trick): lane m accumulates
// r_2m + 256 r_2m+1 modulo 2^16 in a0 (both nibbles' lookups added as uint16) and r_2m+1 in a1 (the
// odd bytes: a shift, or on AVX-512 a multiply-add with (0, 1), which runs beside the shuffles
// instead of on their ports), so the even token's sum is a0 - (a1 << 8) modulo 2^16,
// exact because that sum is < 2^16. The VBMI path needs no pairing: vpdpbusd sums a token's four
// lookups of a quad into an int32 lane (below). Every path computes the same integers; the float epilogue
// (convert, mul, add, max; no fused multiply-add: this file is built with -ffp-contract=off) is
// lane-wise in one order, so AVX-512, AVX2, NEON, the scalar path and the TypeScript twin
// (src/kernels/fast-scan.ts) agree bit for bit.
//
// Coarser tables were measured and dropped (bench/RESULTS.md, "Fast-scan part E"): one step per
// query token set by a byte's two tables together (R_i = max_b of the byte's two ranges, 254
// steps) lets a byte's two lookups sum within a uint8 lane, one widening add a byte instead of
// two (1.1-1.2x the kernel's speed at 128 d x 32 q, 2 bits, with 128-token blocks sharing the
// table broadcasts), but its step is 1-2x coarser and cranfield's PLAID nDCG@10 moved by -0.0024
// against decompression (the bar: 0.002; these tables: -0.0015); 7-bit entries, -0.0022.
//
// Part I (bench/RESULTS.md, "Fast-scan part I") measured pairing two quads' lookups bytewise (vpaddb)
// before one vpdpbusd, 3 of the ops that share a Zen 5 pipe a quad pair instead of 4, and kept none
// of it: (A) with these tables, only where a pair's largest entries happen to sum <= 255 (79-81% of
// (pair, query token) at 512 d, 33% at 128 d; the pairs sorted by fit mask: 0.86x at 128 d x 32 q);
// (B) weighted pairs (per lane an int8 weight and a step near the lane's own range, so every pair
// sums within a byte; built on every path, commits 173a22a..2838f19 of branch pairw7): the lookups
// alone 1.27-1.3x faster, the fidelity proxy 0.63x the RMS error at 512 d, cranfield's PLAID nDCG@10
// -0.0020 against decompression (the bar), but the whole kernel no faster in the native harness
// (9.95 against 9.93 ns a token, min of ten alternating fast-scan-kernel.cc processes each) and the
// pshufb paths 0.82-0.95x.
//
// Document layout: the candidate batch's tokens are packed in document order and taken 64 at a
// time; each block's residual bytes are transposed into nibble rows (hi[p][64 tokens],
// lo[p][64 tokens]) in L1 before scoring (the VBMI path: quad indexes, below), so no layout is
// stored (built once per block; its cost is measured in bench/code-scoring.ts as part of the
// per-token figure).
//
// AVX-512 VBMI + VNNI (bench/RESULTS.md, "Fast-scan part F"; the path on CPUs with both, e.g. Zen 4 and 5,
// Ice Lake and later; PLAIT_SIMD=avx512bw keeps the pshufb path): a quad is residual bytes 2q and
// 2q + 1, nibble positions 4q..4q + 3; one vpermb looks up 16 tokens x 4 positions in a 64-byte
// table (byte 16j + v = E_i[4q + j][v], the four tables of one query token in one zmm), indexed by
// a block layout with one token's four nibbles a dword (byte j = nibble | j << 4), and one vpdpbusd
// with int8 ones adds each dword's four uint8 entries to an int32: 2 instructions per 4 positions x
// 16 tokens where pshufb needs 8 per 2 positions x 64 tokens (the lookups and their widening adds;
// part E found the adds were the bound). The sums are the same integers (< 2^16, so narrowed to
// uint16; since part H stored in chunks, below), so the scores are the same bits.
// Measured on the loaded 2-core Zen 5 (then called Zen 4): the accumulation alone (native-kernels/bench/
// fast-scan-lookups.cc, 128 d x 32 query tokens, 2 bits) 1.83-1.89x the pshufb path's (with the asm
// statement in quadLookups: GCC 12 copied each loop-carried vpdpbusd accumulator through the
// intrinsic, 1.36-1.39x only); the kernel, same binary against PLAIT_SIMD=avx512bw, 1.42x at 2 bits,
// 1.38-1.44x at 1 bit, 1.46-1.59x at 4 bits, 1.27-1.37x at 512 d x 9 q; the whole MaxSim benchmark
// 3.49-3.51x onnxruntime's graph on one thread (2.77-2.78x before).
// Part G (bench/RESULTS.md, "Fast-scan part G"): the layout loads whole rows with plain loads (the
// byte-masked vmovdqu8 was most of its time on this Zen 5: 19-21% of the samples -> 9%; the kernel
// 1.0-1.2x faster at 2 bits, 1.2-1.4x at 4 bits and 512 d). Against the float kernel at its best
// (no longer placement-dependent, 34-39 ns a token), fast-scan is 2.8-3.2x at 128 d x 32 q, 2 bits:
// the 4x goal is not met. Its split after part G: accumulation 52%, epilogue 16%, layout 14%, block
// walk 10%, uint16 transpose 8%.
//
// Part H (bench/RESULTS.md, "Fast-scan part H: the epilogue, layout and walk on Zen 5"): the VBMI
// path's sums leave the accumulation as chunks (token octet x query quad: vpackusdw + vpermt2w, 2
// shuffles a token, where vpmovdw stores and the 16 x 16 word transpose took about 10); up to 32
// query tokens the epilogue transposes an octet of chunks in registers (vpermt2q) and widens by a
// zero-masked vpermw (runChunksVbmi), so no token rows are stored and reloaded; the epilogue's
// maxima stay in registers (GCC had spilled them every token) and its norm branch is a template
// argument; a block's runs read codes and inverse norms in place (no per-token copies) and the norm
// cache's NaN check is an integer loop that vectorises. The kernel 1.05-1.2x faster at 128 d x 32 q,
// 2 bits (1.1-1.16x at 1 bit and at 9 query tokens; native-kernels/bench/fast-scan-kernel.cc and
// bench/code-scoring.ts alternating); fast-scan 2.9-3.2x the float kernel there: the 4x goal is still
// not met, the accumulation (the quad lookups, not changed here) being ~6 of the ~10-12 ns a token.
// Tried and dropped: the layout's word transpose in zmm (in-lane unpacks of row pairs, or a vpermt2w
// network: no faster at 32-byte rows), unchecked whole octets in the epilogue, and other prefetch
// distances for the rows and for S (no difference measurable).
//
// Measured (bench/RESULTS.md, "Fast-scan"; loaded 2-core AMD EPYC, AVX-512): 1.9-2.5x the float
// MaxSim kernel per document token at 128 d x 32 query tokens and 2 bits (the goal was 4x:
// the 32 vpshufb a token are about half the time), 3.3-4.3x at 512 d x 9, 3.7x at 1 bit; within
// 0.0015 nDCG@10 of ColBERT's decompression on cranfield, cisi and scifact with the norm, up to
// 0.0040 off without it. Re-measure: `node dist/bench/code-scoring.js`, and `plait eval` run files
// through `node dist/bench/exact-fidelity.js`.
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels.h"

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#define PLAIT_FS_AVX2 __attribute__((target("avx2")))
#define PLAIT_FS_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2")))
#define PLAIT_FS_VBMI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,avx512vnni,avx2")))
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace plait {
namespace {

constexpr size_t kBlock = 64;  // document tokens per block: one zmm of uint8 lanes
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

struct FastScanScratch {
  std::vector<float> nib, mins, ranges, qt, inv, best, scales;
  std::vector<uint8_t> entries;   // per query: table entries [p][v][i] before their move to [b][i][h][v]
  std::vector<uint8_t> nibs;      // per block: [p][64] nibble rows (p = 2b hi, 2b + 1 lo), or the VBMI path's
                                  // [q][64][4] quad indexes
  std::vector<uint8_t> quadTables;  // per call, VBMI path: [q][i][64], byte 16j + v = E_i[4q + j][v] (0 past 2 nBytes)
  std::vector<uint16_t> accI;     // per block: [i][64] sums, permuted: k < 32 token 2k, else token 2(k - 32) + 1;
                                  // the VBMI path: chunks [octet][query quad][8 tokens][4] (storeGroupSumsVbmi)
  std::vector<uint16_t> accT;     // per block: [64 tokens][lanes] sums in token order (not used by the VBMI
                                  // path up to 32 query tokens: runChunksVbmi reads the chunks)
  std::vector<float> offsets, decoded;
  std::vector<const uint8_t*> rows;
};
FastScanScratch& scratch() {
  thread_local FastScanScratch s;
  return s;
}

// ---------------------------------------------------------------- block layout
// nibs[(2b + h) * 64 + t] = nibble h of byte b of the block's token t (0 for t >= n), scalar.
void layoutScalar(const uint8_t* const* rows, size_t n, size_t nBytes, uint8_t* nibs) {
  std::memset(nibs, 0, nBytes * 2 * kBlock);
  for (size_t t = 0; t < n; ++t) {
    for (size_t b = 0; b < nBytes; ++b) {
      nibs[(2 * b) * kBlock + t] = rows[t][b] >> 4;
      nibs[(2 * b + 1) * kBlock + t] = rows[t][b] & 15;
    }
  }
}

// quadTables from the tables' [b][i][32] order: row (q, i) is byte 2q's 32 entries then byte 2q + 1's.
void buildQuadTables(const uint8_t* tables, size_t qLen, size_t nBytes, uint8_t* quadTables) {
  const size_t nQuads = (nBytes + 1) / 2;
  for (size_t q = 0; q < nQuads; ++q) {
    for (size_t i = 0; i < qLen; ++i) {
      uint8_t* o = quadTables + (q * qLen + i) * 64;
      std::memcpy(o, tables + (2 * q * qLen + i) * 32, 32);
      if (2 * q + 1 < nBytes) std::memcpy(o + 32, tables + ((2 * q + 1) * qLen + i) * 32, 32);
      else std::memset(o + 32, 0, 32);
    }
  }
}

// ---------------------------------------------------------------- accumulation: accI[i][64]
// Scalar: token sums in int32 (exact), written in the permuted order of the SIMD paths.
void accumulateScalar(const uint8_t* nibs, const uint8_t* tables, size_t qLen, size_t nBytes, uint16_t* accI) {
  for (size_t i = 0; i < qLen; ++i) {
    for (size_t t = 0; t < kBlock; ++t) {
      uint32_t s = 0;
      for (size_t b = 0; b < nBytes; ++b) {
        const uint8_t* tb = tables + (b * qLen + i) * 32;
        s += tb[nibs[(2 * b) * kBlock + t]];
        s += tb[16 + nibs[(2 * b + 1) * kBlock + t]];
      }
      const size_t k = (t & 1) == 0 ? t / 2 : 32 + t / 2;
      accI[i * kBlock + k] = static_cast<uint16_t>(s);
    }
  }
}

#if defined(__x86_64__)
// AVX-512: G query tokens at a time, 64 tokens a zmm; the 16-entry tables broadcast to the four
// 128-bit lanes (vpshufb looks up within each lane).
template <int G>
PLAIT_FS_AVX512 void accumulateGroupAvx512(const uint8_t* nibs, const uint8_t* tables, size_t qLen, size_t i0,
                                           size_t nBytes, uint16_t* accI) {
  __m512i a0[G], a1[G];
  for (int g = 0; g < G; ++g) a0[g] = a1[g] = _mm512_setzero_si512();
  // The odd byte of each uint16 lane as a uint16 (r >> 8) by a multiply-add, which runs beside the
  // shuffles instead of on their ports: 0 * even + 1 * odd.
  const __m512i odd = _mm512_set1_epi16(0x0100);
#pragma GCC unroll 2
  for (size_t b = 0; b < nBytes; ++b) {
    const __m512i hi = _mm512_loadu_si512(nibs + (2 * b) * kBlock);
    const __m512i lo = _mm512_loadu_si512(nibs + (2 * b + 1) * kBlock);
    const uint8_t* tb = tables + (b * qLen + i0) * 32;
    for (int g = 0; g < G; ++g) {
      const __m512i th = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tb + 32 * g)));
      const __m512i tl = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tb + 32 * g + 16)));
      const __m512i rh = _mm512_shuffle_epi8(th, hi), rl = _mm512_shuffle_epi8(tl, lo);
      a0[g] = _mm512_add_epi16(a0[g], _mm512_add_epi16(rh, rl));
      a1[g] = _mm512_add_epi16(a1[g], _mm512_add_epi16(_mm512_maddubs_epi16(rh, odd), _mm512_maddubs_epi16(rl, odd)));
    }
  }
  for (int g = 0; g < G; ++g) {
    const __m512i even = _mm512_sub_epi16(a0[g], _mm512_slli_epi16(a1[g], 8));
    uint16_t* o = accI + (i0 + g) * kBlock;
    _mm512_storeu_si512(o, even);
    _mm512_storeu_si512(o + 32, a1[g]);
  }
}

PLAIT_FS_AVX512 void accumulateAvx512(const uint8_t* nibs, const uint8_t* tables, size_t qLen, size_t nBytes,
                                      uint16_t* accI) {
  size_t i = 0;
  for (; i + 4 <= qLen; i += 4) accumulateGroupAvx512<4>(nibs, tables, qLen, i, nBytes, accI);
  switch (qLen - i) {
    case 3: accumulateGroupAvx512<3>(nibs, tables, qLen, i, nBytes, accI); break;
    case 2: accumulateGroupAvx512<2>(nibs, tables, qLen, i, nBytes, accI); break;
    case 1: accumulateGroupAvx512<1>(nibs, tables, qLen, i, nBytes, accI); break;
    default: break;
  }
}

// AVX2: the same with two ymm of 32 tokens per query token.
template <int G>
PLAIT_FS_AVX2 void accumulateGroupAvx2(const uint8_t* nibs, const uint8_t* tables, size_t qLen, size_t i0,
                                       size_t nBytes, uint16_t* accI) {
  __m256i a0[G][2], a1[G][2];
  for (int g = 0; g < G; ++g)
    for (int h = 0; h < 2; ++h) a0[g][h] = a1[g][h] = _mm256_setzero_si256();
  for (size_t b = 0; b < nBytes; ++b) {
    __m256i hi[2], lo[2];
    for (int h = 0; h < 2; ++h) {
      hi[h] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(nibs + (2 * b) * kBlock + 32 * h));
      lo[h] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(nibs + (2 * b + 1) * kBlock + 32 * h));
    }
    const uint8_t* tb = tables + (b * qLen + i0) * 32;
    for (int g = 0; g < G; ++g) {
      const __m256i th = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tb + 32 * g)));
      const __m256i tl = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tb + 32 * g + 16)));
      for (int h = 0; h < 2; ++h) {
        const __m256i rh = _mm256_shuffle_epi8(th, hi[h]), rl = _mm256_shuffle_epi8(tl, lo[h]);
        a0[g][h] = _mm256_add_epi16(a0[g][h], _mm256_add_epi16(rh, rl));
        a1[g][h] = _mm256_add_epi16(a1[g][h], _mm256_add_epi16(_mm256_srli_epi16(rh, 8), _mm256_srli_epi16(rl, 8)));
      }
    }
  }
  for (int g = 0; g < G; ++g) {
    uint16_t* o = accI + (i0 + g) * kBlock;
    for (int h = 0; h < 2; ++h) {
      const __m256i even = _mm256_sub_epi16(a0[g][h], _mm256_slli_epi16(a1[g][h], 8));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 16 * h), even);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 32 + 16 * h), a1[g][h]);
    }
  }
}

PLAIT_FS_AVX2 void accumulateAvx2(const uint8_t* nibs, const uint8_t* tables, size_t qLen, size_t nBytes,
                                  uint16_t* accI) {
  size_t i = 0;
  for (; i + 2 <= qLen; i += 2) accumulateGroupAvx2<2>(nibs, tables, qLen, i, nBytes, accI);
  if (i < qLen) accumulateGroupAvx2<1>(nibs, tables, qLen, i, nBytes, accI);
}

#define PLAIT_FS_TARGET PLAIT_FS_AVX2
#define PLAIT_FS_NAME(x) x##Avx2
#include "fast-scan-transpose.inc"
#undef PLAIT_FS_TARGET
#undef PLAIT_FS_NAME
#define PLAIT_FS_TARGET PLAIT_FS_AVX512
#define PLAIT_FS_NAME(x) x##Avx512
#include "fast-scan-transpose.inc"
#undef PLAIT_FS_TARGET
#undef PLAIT_FS_NAME

// ---------------------------------------------------------------- AVX-512 VBMI + VNNI (part F)
// Four nibble positions a lookup: quad q is residual bytes 2q and 2q + 1 (positions 4q..4q + 3).
// One vpermb looks up 16 tokens x 4 positions in a 64-byte table (byte 16j + v = E_i[4q + j][v]),
// indexed by quads[(q * 64 + t) * 4 + j] = nibble(token t, position 4q + j) | j << 4; one
// vpdpbusd with int8 ones sums each dword's four uint8 entries into an int32: the widening and
// the add in one instruction, exact, so the tokens need no odd/even pairing. The sums (< 2^16, see
// the bounds above) are the same integers as every other path's.

// The quad indexes of a 64-token block: per 16 tokens and 16 quads, the rows' 16-bit words (one
// quad each) transposed, widened to dwords and split into nibbles by vpmultishiftqb, then masked
// and tagged with j << 4 in one vpternlogd. A row's bytes past nBytes are masked off in the load
// (an odd nBytes leaves its last quad's positions 2 and 3 at nibble 0, whose table bytes are 0).
PLAIT_FS_VBMI void layoutVbmi(const uint8_t* const* rows, size_t n, size_t nBytes, uint8_t* quads) {
  (void)n;  // padding rows (t >= n) point at readable bytes and are laid out, never scored
  const size_t nQuads = (nBytes + 1) / 2;
  // Output byte j of a dword takes 8 bits from bit 4 (hi nibble of byte 2q), 0 (lo), 12 (hi of byte
  // 2q + 1), 8 (lo); +32 for the qword's upper dword.
  const __m512i split = _mm512_set1_epi64(0x282C2024080C0004LL);
  const __m512i nibble = _mm512_set1_epi8(15), tags = _mm512_set1_epi32(0x30201000);
  for (size_t w0 = 0; w0 < nQuads; w0 += 16) {
    const size_t left = nBytes - 2 * w0;
    const __mmask32 bytes = left >= 32 ? ~__mmask32{0} : static_cast<__mmask32>((1u << left) - 1);
    const size_t cols = std::min<size_t>(16, nQuads - w0);
    for (size_t g = 0; g < kBlock; g += 16) {
      __m256i a[16], col[16];
      // Whole 32-byte rows with a plain load: the byte-masked load (vmovdqu8 {k}{z}) was the layout's
      // cost on this Zen 5 even with every bit of the mask set (perf: 21% of the kernel's samples on the
      // instructions after those loads, 9% with plain loads; the kernel 1.1-1.2x faster, RESULTS
      // "Fast-scan part G"). Only a last part-row of neither 32 nor 16 bytes keeps the mask.
      if (left >= 32) {
        for (int r = 0; r < 16; ++r) a[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[g + static_cast<size_t>(r)] + 2 * w0));
      } else if (left == 16) {  // 16-byte rows (1 bit at 128 d, 2 bits at 64 d): an xmm load, zero-extended
        for (int r = 0; r < 16; ++r)
          a[r] = _mm256_zextsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[g + static_cast<size_t>(r)] + 2 * w0)));
      } else {
        for (int r = 0; r < 16; ++r) a[r] = _mm256_maskz_loadu_epi8(bytes, rows[g + static_cast<size_t>(r)] + 2 * w0);
      }
      transposeWordsAvx512(a, col);
      for (size_t c = 0; c < cols; ++c) {
        const __m512i z = _mm512_multishift_epi64_epi8(split, _mm512_cvtepu16_epi32(col[c]));
        // (z & 15) | tags: vpternlogd's truth table A & B | C = 0xEA.
        _mm512_storeu_si512(quads + ((w0 + c) * kBlock + g) * 4, _mm512_ternarylogic_epi32(z, nibble, tags, 0xEA));
      }
    }
  }
}

// One query token's lookups for one quad of a block: acc[k] += the four-entry sums of
// vpermb(x[k], t), k < 4 (64 tokens). In one asm statement on GCC and clang: GCC 12 compiled the
// intrinsics' loop-carried vpdpbusd with a zmm copy of the accumulator around each (1.35x the
// accumulation's time in fast-scan-lookups.cc: 7.7 against clang's 5.7 ns a token).
// Part H (bench/RESULTS.md, "Fast-scan part H: the accumulation on Zen 5"): on Zen 5 vpermb and
// vpdpbusd each run on two of the four vector pipes and share one of them (2.9 a cycle together,
// fast-scan-lookups.cc's pipes()), so a token's 32 + 32 need >= 21.3 cycles and this loop runs at
// about 24 (~5.5-6 ns a token at 128 d x 32 q, 2 bits). uint16 sums on the idle pipe, software
// pipelining and other group shapes gained 0-9% in fast-scan-lookups.cc and nothing in the kernel
// (software-pipelined: within the noise at 128 d, up to 8% slower at 512 d x 9 q).
PLAIT_FS_VBMI inline void quadLookups(__m512i* acc, const __m512i* x, __m512i t, __m512i ones) {
#if defined(__GNUC__)
  __m512i r0, r1;
  __asm__(
      "vpermb %[t], %[x0], %[r0]\n\tvpermb %[t], %[x1], %[r1]\n\t"
      "vpdpbusd %[ones], %[r0], %[a0]\n\tvpdpbusd %[ones], %[r1], %[a1]\n\t"
      "vpermb %[t], %[x2], %[r0]\n\tvpermb %[t], %[x3], %[r1]\n\t"
      "vpdpbusd %[ones], %[r0], %[a2]\n\tvpdpbusd %[ones], %[r1], %[a3]"
      : [a0] "+v"(acc[0]), [a1] "+v"(acc[1]), [a2] "+v"(acc[2]), [a3] "+v"(acc[3]), [r0] "=&v"(r0), [r1] "=&v"(r1)
      : [t] "v"(t), [x0] "v"(x[0]), [x1] "v"(x[1]), [x2] "v"(x[2]), [x3] "v"(x[3]), [ones] "v"(ones));
#else
  for (int k = 0; k < 4; ++k) acc[k] = _mm512_dpbusd_epi32(acc[k], _mm512_permutexvar_epi8(x[k], t), ones);
#endif
}

// The VBMI path's sums in chunks (part H): chunk (o, c) holds token octet o (tokens 8o..8o + 7) x
// query quad c (query tokens 4c..4c + 3), 32 uint16 at accI + (o * lanes / 4 + c) * 32, word 4u + m =
// token 8o + u, query token 4c + m. A group's int32 sums become chunks with 2 vpackusdw (two query
// tokens' 16-token vectors -> one zmm, per 128-bit lane 4 tokens of each; the sums are < 2^16, so
// the unsigned saturation is the identity) and 2 vpermt2w a 16 tokens: 16 zmm stores a block and
// group instead of 16 vpmovdw ymm stores, and transposeChunksVbmi's qword transpose is cheaper than
// the 16 x 16 word transpose of token-order rows. Query tokens a group lacks in its last quad are
// stored as 0 (groups run in ascending order, so a later group overwrites them); a group whose
// first query token is not a multiple of 4 (not produced by accumulateVbmi today; checked with
// kVbmiGroup 2 and 6 against main's bits in native-kernels/bench/fast-scan-kernel.cc) takes a
// scalar store.
// vpermt2w indexes of storeGroupSumsVbmi: output word 4u + m (token tau = 8h + u of the 16, h the
// octet) from p01 (m < 2) or p23 (+32): 128-bit lane tau / 4, its first (m even) or second (m odd)
// query token, position tau % 4.
struct ChunkIndex {
  alignas(64) int16_t w[2][32];
  constexpr ChunkIndex() : w{} {
    for (int h = 0; h < 2; ++h)
      for (int u = 0; u < 8; ++u)
        for (int m = 0; m < 4; ++m) {
          const int tau = 8 * h + u;
          w[h][4 * u + m] = static_cast<int16_t>((m >= 2 ? 32 : 0) + 8 * (tau / 4) + (m & 1) * 4 + tau % 4);
        }
  }
};
constexpr ChunkIndex kChunkIndexTable{};
constexpr const int16_t (&kChunkIndex)[2][32] = kChunkIndexTable.w;

template <int G>
PLAIT_FS_VBMI inline void storeGroupSumsVbmi(const __m512i (*acc)[4], size_t qLen, size_t i0, uint16_t* accI) {
  const size_t quadsPerOctet = codeLutLanes(qLen) / 4;
  if (i0 % 4 != 0) {
    alignas(64) uint16_t w[G][kBlock];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k)
        _mm256_store_si256(reinterpret_cast<__m256i*>(w[g] + 16 * k), _mm512_cvtepi32_epi16(acc[g][k]));
    for (int g = 0; g < G; ++g) {
      const size_t i = i0 + static_cast<size_t>(g);
      for (size_t t = 0; t < kBlock; ++t) accI[((t / 8) * quadsPerOctet + i / 4) * 32 + (t % 8) * 4 + i % 4] = w[g][t];
    }
    return;
  }
  const __m512i idx0 = _mm512_load_si512(kChunkIndex[0]), idx1 = _mm512_load_si512(kChunkIndex[1]);
  const __m512i zero = _mm512_setzero_si512();
#define PLAIT_FS_AT(g, k) ((g) < G ? acc[(g) < G ? (g) : 0][k] : zero)
#pragma GCC unroll 2
  for (int c = 0; c < (G + 3) / 4; ++c) {
    uint16_t* base = accI + (i0 / 4 + static_cast<size_t>(c)) * 32;
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      const __m512i p01 = _mm512_packus_epi32(PLAIT_FS_AT(4 * c, k), PLAIT_FS_AT(4 * c + 1, k));
      const __m512i p23 = _mm512_packus_epi32(PLAIT_FS_AT(4 * c + 2, k), PLAIT_FS_AT(4 * c + 3, k));
      _mm512_storeu_si512(base + (2 * static_cast<size_t>(k)) * quadsPerOctet * 32, _mm512_permutex2var_epi16(p01, idx0, p23));
      _mm512_storeu_si512(base + (2 * static_cast<size_t>(k) + 1) * quadsPerOctet * 32, _mm512_permutex2var_epi16(p01, idx1, p23));
    }
  }
#undef PLAIT_FS_AT
}

// G query tokens at a time: 4 index zmm (64 tokens) x G tables -> 4 G int32 accumulators, which
// stay in registers only when the loops over them are unrolled before GCC's scalar replacement.
template <int G>
PLAIT_FS_VBMI void accumulateGroupVbmi(const uint8_t* quads, const uint8_t* quadTables, size_t qLen, size_t i0,
                                       size_t nQuads, uint16_t* accI) {
  __m512i acc[G][4];
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g)
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) acc[g][k] = _mm512_setzero_si512();
  const __m512i ones = _mm512_set1_epi8(1);
  for (size_t q = 0; q < nQuads; ++q) {
    __m512i x[4];
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) x[k] = _mm512_loadu_si512(quads + q * 4 * kBlock + 64 * k);
    const uint8_t* tq = quadTables + (q * qLen + i0) * 64;
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) quadLookups(acc[g], x, _mm512_loadu_si512(tq + 64 * g), ones);
  }
  storeGroupSumsVbmi<G>(acc, qLen, i0, accI);
}

// Query tokens a pass over the quads: 16 accumulators, 4 index zmm, a table, the ones and two
// lookups in flight fill 24 of the 32 zmm registers. Two a pass measured slower in the kernel
// (13.4-14.9 against 12.0-13.7 ns a token, 128 d x 32 q, 2 bits, alternating, load 1.4-2.0).
constexpr size_t kVbmiGroup = 4;

// accI in chunks (storeGroupSumsVbmi); `tables` is quadTables here.
PLAIT_FS_VBMI void accumulateVbmi(const uint8_t* quads, const uint8_t* quadTables, size_t qLen, size_t nBytes,
                                  uint16_t* accI) {
  const size_t nQuads = (nBytes + 1) / 2;
  size_t i = 0;
  for (; i + kVbmiGroup <= qLen; i += kVbmiGroup) accumulateGroupVbmi<kVbmiGroup>(quads, quadTables, qLen, i, nQuads, accI);
  switch (qLen - i) {
    case 3: accumulateGroupVbmi<3>(quads, quadTables, qLen, i, nQuads, accI); break;
    case 2: accumulateGroupVbmi<2>(quads, quadTables, qLen, i, nQuads, accI); break;
    case 1: accumulateGroupVbmi<1>(quads, quadTables, qLen, i, nQuads, accI); break;
    default: break;
  }
}

// One token octet x 4 query quads (16 lanes) of the chunks -> x[v] = tokens 2v, 2v + 1, each with its
// 16 lanes in order (a 4 x 8 qword transpose in two rounds of vpermt2q: chunks c, c + 1 -> [c u,
// c + 1 u] for u = 0..3 or 4..7, then two of those -> a token pair). m[c]: 0 for a quad no group
// wrote (4c >= qLen), read as zero.
PLAIT_FS_VBMI inline void transposeOctetVbmi(const uint16_t* ch, const __mmask8* m, __m512i* x) {
  const __m512i r1a = _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11), r1b = _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15);
  const __m512i r2a = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11), r2b = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
  const __m512i a0 = _mm512_maskz_loadu_epi64(m[0], ch), a1 = _mm512_maskz_loadu_epi64(m[1], ch + 32);
  const __m512i a2 = _mm512_maskz_loadu_epi64(m[2], ch + 64), a3 = _mm512_maskz_loadu_epi64(m[3], ch + 96);
  const __m512i p = _mm512_permutex2var_epi64(a0, r1a, a1), pb = _mm512_permutex2var_epi64(a0, r1b, a1);
  const __m512i q = _mm512_permutex2var_epi64(a2, r1a, a3), qb = _mm512_permutex2var_epi64(a2, r1b, a3);
  x[0] = _mm512_permutex2var_epi64(p, r2a, q);
  x[1] = _mm512_permutex2var_epi64(p, r2b, q);
  x[2] = _mm512_permutex2var_epi64(pb, r2a, qb);
  x[3] = _mm512_permutex2var_epi64(pb, r2b, qb);
}

// The chunk loads' masks of 16-lane set s (chunks 4s..4s + 3).
inline void chunkMasks(size_t s, size_t qLen, __mmask8* m) {
  const size_t written = (qLen + 3) / 4;
  for (size_t c = 0; c < 4; ++c) m[c] = 4 * s + c < written ? 0xFF : 0;
}

// accT[t * lanes + i] from the chunks (storeGroupSumsVbmi), for queries past 32 tokens (up to 32,
// runChunksVbmi reads the chunks itself): 1 vpermt2q a token and 16 lanes, where transposeWords
// takes 4, two tokens' 16 lanes a zmm.
PLAIT_FS_VBMI void transposeChunksVbmi(const uint16_t* accI, size_t qLen, size_t lanes, uint16_t* accT) {
  const size_t quadsPerOctet = lanes / 4;
  for (size_t s = 0; s < lanes / 16; ++s) {
    __mmask8 m[4];
    chunkMasks(s, qLen, m);
    for (size_t o = 0; o < kBlock / 8; ++o) {
      __m512i x[4];
      transposeOctetVbmi(accI + (o * quadsPerOctet + 4 * s) * 32, m, x);
      uint16_t* out = accT + (8 * o) * lanes + 16 * s;
      for (size_t v = 0; v < 4; ++v) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 2 * v * lanes), _mm512_castsi512_si256(x[v]));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + (2 * v + 1) * lanes), _mm512_extracti64x4_epi64(x[v], 1));
      }
    }
  }
}
#endif

#if defined(__aarch64__)
// NEON: 16 tokens a register (tbl looks up 16 entries), four quarters of the block.
void accumulateNeon(const uint8_t* nibs, const uint8_t* tables, size_t qLen, size_t nBytes, uint16_t* accI) {
  for (size_t i = 0; i < qLen; ++i) {
    uint16x8_t a0[4], a1[4];
    for (int h = 0; h < 4; ++h) a0[h] = a1[h] = vdupq_n_u16(0);
    for (size_t b = 0; b < nBytes; ++b) {
      const uint8_t* tb = tables + (b * qLen + i) * 32;
      const uint8x16_t th = vld1q_u8(tb), tl = vld1q_u8(tb + 16);
      for (int h = 0; h < 4; ++h) {
        const uint8x16_t hi = vld1q_u8(nibs + (2 * b) * kBlock + 16 * h);
        const uint8x16_t lo = vld1q_u8(nibs + (2 * b + 1) * kBlock + 16 * h);
        const uint16x8_t rh = vreinterpretq_u16_u8(vqtbl1q_u8(th, hi)), rl = vreinterpretq_u16_u8(vqtbl1q_u8(tl, lo));
        a0[h] = vaddq_u16(a0[h], vaddq_u16(rh, rl));
        a1[h] = vaddq_u16(a1[h], vaddq_u16(vshrq_n_u16(rh, 8), vshrq_n_u16(rl, 8)));
      }
    }
    uint16_t* o = accI + i * kBlock;
    for (int h = 0; h < 4; ++h) {
      vst1q_u16(o + 8 * h, vsubq_u16(a0[h], vshlq_n_u16(a1[h], 8)));
      vst1q_u16(o + 32 + 8 * h, a1[h]);
    }
  }
}
#endif

void transposeScalar(const uint16_t* accI, size_t qLen, size_t lanes, uint16_t* accT) {
  for (size_t t = 0; t < kBlock; ++t) {
    const size_t k = (t & 1) == 0 ? t / 2 : 32 + t / 2;
    for (size_t i = 0; i < lanes; ++i) accT[t * lanes + i] = i < qLen ? accI[i * kBlock + k] : 0;
  }
}

// ---------------------------------------------------------------- epilogue
// best_i = max(best_i, ((S[c, i] + ((scale_i * acc_i) + offset_i)) * inv)) over a run of n tokens of
// one document: acc rows accT[t * lanes ..], centroid ids codes[t], inverse norms invs[t] (or none:
// then the product by 1 is skipped, which changes no bit).
struct Epilogue {
  const float* S;
  size_t qLen, lanes;
  const float* scales;   // lanes floats (0 past qLen)
  const float* offsets;  // lanes floats (0 past qLen)
};

inline float tokenScore(float s, float scale, uint16_t acc, float offset, const float* inv) {
  const float a = scale * static_cast<float>(acc);
  const float b = a + offset;
  const float x = s + b;
  return inv != nullptr ? x * *inv : x;
}

void runScalar(const Epilogue& e, const uint16_t* accT, const int32_t* codes, const float* invs, size_t n,
               float* best) {
  for (size_t t = 0; t < n; ++t) {
    const float* s = e.S + static_cast<size_t>(codes[t]) * e.qLen;
    const uint16_t* acc = accT + t * e.lanes;
    for (size_t i = 0; i < e.qLen; ++i) {
      const float y = tokenScore(s[i], e.scales[i], acc[i], e.offsets[i], invs != nullptr ? invs + t : nullptr);
      best[i] = y > best[i] ? y : best[i];
    }
  }
}

// Rows of S are read at random (a token's centroid): fetch the row of the token this far ahead.
constexpr size_t kPrefetch = 6;

#if defined(__x86_64__)
inline void prefetchRow(const Epilogue& e, int32_t code) {
  const char* row = reinterpret_cast<const char*>(e.S + static_cast<size_t>(code) * e.qLen);
  for (size_t o = 0; o < e.qLen * sizeof(float); o += 64) _mm_prefetch(row + o, _MM_HINT_T0);
}

// The running maxima of G groups of 16 query tokens (qLen <= 16 G) in registers, with each group's
// scales, offsets and lane mask: runAvx512G's and runChunksVbmiG's state. Their loops over g are
// unrolled so that it stays in registers (without the unrolling GCC spilled b[] and read the
// offsets from the stack every token, part H).
template <int G>
struct LaneMaxima {
  __m512 b[G], sc[G], off[G];
  __mmask16 m[G];
};

template <int G>
PLAIT_FS_AVX512 inline void loadMaxima(const Epilogue& e, const float* best, LaneMaxima<G>& x) {
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) {
    const size_t left = e.qLen - std::min<size_t>(e.qLen, 16 * g);
    x.m[g] = static_cast<__mmask16>(left >= 16 ? 0xFFFFu : (1u << left) - 1);
    x.b[g] = _mm512_loadu_ps(best + 16 * g);
    x.sc[g] = _mm512_loadu_ps(e.scales + 16 * g);
    x.off[g] = _mm512_loadu_ps(e.offsets + 16 * g);
  }
}

template <int G>
PLAIT_FS_AVX512 inline void storeMaxima(const LaneMaxima<G>& x, float* best) {
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) _mm512_storeu_ps(best + 16 * g, x.b[g]);
}

// prefetchRow's lines, unrolled: row bytes 0, 64, .. below qLen * 4.
template <int G>
PLAIT_FS_AVX512 inline void prefetchRowG(const float* S, int32_t code, size_t qLen) {
  const char* row = reinterpret_cast<const char*>(S + static_cast<size_t>(code) * qLen);
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g)
    if (static_cast<size_t>(16 * g) < qLen) _mm_prefetch(row + 64 * g, _MM_HINT_T0);
}

// One token: af[g] its sums as floats, srow its row of S, inv its inverse norm (Norm).
template <int G, bool Norm>
PLAIT_FS_AVX512 inline void scoreToken(LaneMaxima<G>& x, const __m512* af, const float* srow, float inv) {
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) {
    __m512 y = _mm512_add_ps(_mm512_maskz_loadu_ps(x.m[g], srow + 16 * g), _mm512_add_ps(_mm512_mul_ps(x.sc[g], af[g]), x.off[g]));
    if (Norm) y = _mm512_mul_ps(y, _mm512_set1_ps(inv));
    // maxps(y, old) is (y > old ? y : old), the scalar rule; lanes past qLen keep their value.
    x.b[g] = _mm512_mask_max_ps(x.b[g], x.m[g], y, x.b[g]);
  }
}

// AVX-512 over token rows: G groups of 16 query tokens; Norm: invs is not null (a template
// argument, so the loop has no branch on it). The struct's fields are read once into locals and
// the rows walked by pointer: GCC reloaded qLen and lanes from the struct and multiplied them every
// token (part H).
template <int G, bool Norm>
PLAIT_FS_AVX512 void runAvx512G(const Epilogue& e, const uint16_t* accT, const int32_t* codes, const float* invs,
                                size_t n, float* best) {
  LaneMaxima<G> x;
  loadMaxima<G>(e, best, x);
  const size_t qLen = e.qLen, lanes = e.lanes;
  const float* S = e.S;
  const uint16_t* acc = accT;
  for (size_t t = 0; t < n; ++t, acc += lanes) {
    if (t + kPrefetch < n) prefetchRowG<G>(S, codes[t + kPrefetch], qLen);
    __m512 af[G];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g)
      af[g] = _mm512_cvtepi32_ps(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + 16 * g))));
    scoreToken<G, Norm>(x, af, S + static_cast<size_t>(codes[t]) * qLen, Norm ? invs[t] : 1.f);
  }
  storeMaxima<G>(x, best);
}

template <int G>
PLAIT_FS_AVX512 void runAvx512G(const Epilogue& e, const uint16_t* accT, const int32_t* codes, const float* invs,
                                size_t n, float* best) {
  if (invs != nullptr) runAvx512G<G, true>(e, accT, codes, invs, n, best);
  else runAvx512G<G, false>(e, accT, codes, invs, n, best);
}

PLAIT_FS_AVX512 void runAvx512(const Epilogue& e, const uint16_t* accT, const int32_t* codes, const float* invs,
                               size_t n, float* best) {
  switch (e.lanes / 16) {
    case 1: runAvx512G<1>(e, accT, codes, invs, n, best); return;
    case 2: runAvx512G<2>(e, accT, codes, invs, n, best); return;
    case 3: runAvx512G<3>(e, accT, codes, invs, n, best); return;
    case 4: runAvx512G<4>(e, accT, codes, invs, n, best); return;
    default: runScalar(e, accT, codes, invs, n, best); return;  // queries past 64 tokens
  }
}

// The VBMI path's epilogue for queries up to 32 tokens (lanes 16 or 32), fused with the transpose:
// the run's tokens [t0, t1) of the block are read from the chunks (storeGroupSumsVbmi) an octet at
// a time, transposed in registers (transposeOctetVbmi: a token pair's 16 lanes a zmm) and widened
// by a zero-masked vpermw (each word into the low half of its dword, the same one shuffle as
// vpmovzxwd), so the sums never go through accT: no transpose pass, no stores and loads of token
// rows (part H). The float operations per (i, j) are runAvx512G's, in its order. An octet split
// between two runs is transposed for each.
template <int G, bool Norm>
PLAIT_FS_VBMI void runChunksVbmiG(const Epilogue& e, const uint16_t* chunks, size_t t0, size_t t1,
                                  const int32_t* codes, const float* invs, float* best) {
  LaneMaxima<G> lm;
  loadMaxima<G>(e, best, lm);
  __mmask8 cm[G][4];
  const size_t qLen = e.qLen, quadsPerOctet = 4 * G, n = t1 - t0;
  const float* S = e.S;
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) chunkMasks(static_cast<size_t>(g), qLen, cm[g]);
  // Word 2k <- word k (the pair's first token) or 16 + k (its second); odd words zeroed by the mask.
  const __m512i widen0 = _mm512_set_epi16(0, 15, 0, 14, 0, 13, 0, 12, 0, 11, 0, 10, 0, 9, 0, 8, 0, 7, 0, 6, 0, 5, 0, 4, 0, 3, 0, 2, 0, 1, 0, 0);
  const __m512i widen1 = _mm512_add_epi16(widen0, _mm512_set1_epi16(16));
  for (size_t o = t0 / 8; 8 * o < t1; ++o) {
    __m512i x[G][4];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) transposeOctetVbmi(chunks + (o * quadsPerOctet + 4 * static_cast<size_t>(g)) * 32, cm[g], x[g]);
#pragma GCC unroll 8
    for (int u = 0; u < 8; ++u) {
      const size_t t = 8 * o + static_cast<size_t>(u);
      if (t < t0 || t >= t1) continue;
      const size_t r = t - t0;  // the token's place in the run
      if (r + kPrefetch < n) prefetchRowG<G>(S, codes[r + kPrefetch], qLen);
      __m512 af[G];
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g)
        af[g] = _mm512_cvtepi32_ps(_mm512_maskz_permutexvar_epi16(0x55555555u, u % 2 == 0 ? widen0 : widen1, x[g][u / 2]));
      scoreToken<G, Norm>(lm, af, S + static_cast<size_t>(codes[r]) * qLen, Norm ? invs[r] : 1.f);
    }
  }
  storeMaxima<G>(lm, best);
}

// runChunksVbmiG for the query's lanes (16 or 32) and norm.
PLAIT_FS_VBMI void runChunksVbmi(const Epilogue& e, const uint16_t* chunks, size_t t0, size_t t1, const int32_t* codes,
                                 const float* invs, float* best) {
  if (e.lanes == 16) {
    if (invs != nullptr) runChunksVbmiG<1, true>(e, chunks, t0, t1, codes, invs, best);
    else runChunksVbmiG<1, false>(e, chunks, t0, t1, codes, invs, best);
  } else {
    if (invs != nullptr) runChunksVbmiG<2, true>(e, chunks, t0, t1, codes, invs, best);
    else runChunksVbmiG<2, false>(e, chunks, t0, t1, codes, invs, best);
  }
}

PLAIT_FS_AVX2 void runAvx2(const Epilogue& e, const uint16_t* accT, const int32_t* codes, const float* invs, size_t n,
                           float* best) {
  for (size_t t = 0; t < n; ++t) {
    if (t + kPrefetch < n) prefetchRow(e, codes[t + kPrefetch]);
    const float* s = e.S + static_cast<size_t>(codes[t]) * e.qLen;
    const uint16_t* acc = accT + t * e.lanes;
    size_t g = 0;
    for (; g + 8 <= e.qLen; g += 8) {
      const __m256 af = _mm256_cvtepi32_ps(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(acc + g))));
      const __m256 ab = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(e.scales + g), af), _mm256_loadu_ps(e.offsets + g));
      __m256 y = _mm256_add_ps(_mm256_loadu_ps(s + g), ab);
      if (invs != nullptr) y = _mm256_mul_ps(y, _mm256_set1_ps(invs[t]));
      _mm256_storeu_ps(best + g, _mm256_max_ps(y, _mm256_loadu_ps(best + g)));
    }
    for (; g < e.qLen; ++g) {
      const float y = tokenScore(s[g], e.scales[g], acc[g], e.offsets[g], invs != nullptr ? invs + t : nullptr);
      best[g] = y > best[g] ? y : best[g];
    }
  }
}
#endif

#if defined(__aarch64__)
void runNeon(const Epilogue& e, const uint16_t* accT, const int32_t* codes, const float* invs, size_t n, float* best) {
  for (size_t t = 0; t < n; ++t) {
    const float* s = e.S + static_cast<size_t>(codes[t]) * e.qLen;
    const uint16_t* acc = accT + t * e.lanes;
    size_t g = 0;
    for (; g + 4 <= e.qLen; g += 4) {
      const float32x4_t af = vcvtq_f32_u32(vmovl_u16(vld1_u16(acc + g)));
      const float32x4_t ab = vaddq_f32(vmulq_f32(vld1q_f32(e.scales + g), af), vld1q_f32(e.offsets + g));
      float32x4_t y = vaddq_f32(vld1q_f32(s + g), ab);
      if (invs != nullptr) y = vmulq_f32(y, vdupq_n_f32(invs[t]));
      const float32x4_t old = vld1q_f32(best + g);
      vst1q_f32(best + g, vbslq_f32(vcgtq_f32(y, old), y, old));
    }
    for (; g < e.qLen; ++g) {
      const float y = tokenScore(s[g], e.scales[g], acc[g], e.offsets[g], invs != nullptr ? invs + t : nullptr);
      best[g] = y > best[g] ? y : best[g];
    }
  }
}
#endif

struct Path {
  FastScanPath name;
  void (*layout)(const uint8_t* const*, size_t, size_t, uint8_t*);
  void (*accumulate)(const uint8_t*, const uint8_t*, size_t, size_t, uint16_t*);
  void (*transpose)(const uint16_t*, size_t, size_t, uint16_t*);
  void (*run)(const Epilogue&, const uint16_t*, const int32_t*, const float*, size_t, float*);
  bool quads;  // the VBMI layout: accumulate reads quadTables and the quad indexes
  // The VBMI path up to 32 query tokens: the epilogue reads the chunks of the block's sums for tokens
  // [t0, t1) itself, instead of transpose + run (nullptr on the other paths).
  void (*runChunks)(const Epilogue&, const uint16_t*, size_t, size_t, const int32_t*, const float*, float*);
};

// Whether the CPU runs the VBMI + VNNI path (AVX-512VL for its ymm loads and transposes), unless
// PLAIT_SIMD=avx512bw asks for the AVX-512BW pshufb path (tests, comparisons). Read once.
bool vbmiAllowed() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  static const bool allowed = [] {
    __builtin_cpu_init();
    const char* want = std::getenv("PLAIT_SIMD");
    if (want != nullptr && std::strcmp(want, "avx512bw") == 0) return false;
    return __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vnni") &&
           __builtin_cpu_supports("avx512vl");
  }();
  return allowed;
#else
  return false;
#endif
}

Path pathFor(CodeSimd simd) {
  switch (simd) {
#if defined(__x86_64__)
    case CodeSimd::Avx512:
      if (vbmiAllowed())
        return {FastScanPath::Avx512Vbmi, layoutVbmi, accumulateVbmi, transposeChunksVbmi, runAvx512, true, runChunksVbmi};
      // AVX-512VL (EVEX ymm, 32 registers) comes with AVX-512BW on every CPU that has both; checked anyway.
      if (__builtin_cpu_supports("avx512vl"))
        return {FastScanPath::Avx512Bw, layoutAvx512, accumulateAvx512, transposeAvx512, runAvx512, false, nullptr};
      return {FastScanPath::Avx2, layoutAvx2, accumulateAvx2, transposeAvx2, runAvx2, false, nullptr};
    case CodeSimd::Avx2:
      return {FastScanPath::Avx2, layoutAvx2, accumulateAvx2, transposeAvx2, runAvx2, false, nullptr};
#endif
#if defined(__aarch64__)
    case CodeSimd::Neon:
      return {FastScanPath::Neon, layoutScalar, accumulateNeon, transposeScalar, runNeon, false, nullptr};
#endif
    default:
      return {FastScanPath::Scalar, layoutScalar, accumulateScalar, transposeScalar, runScalar, false, nullptr};
  }
}

// The residual bytes of a later block (up to 64 tokens from `skip` tokens past document d's j-th
// on): candidate documents are scattered over the index, so their rows come from L3 or memory;
// fetched while the current block is scored (measured: the block layout's row loads were 17% of
// the time without it). One block ahead was enough for the pshufb path; the VBMI path scores a
// block in 0.7x the time and its layout waited on the rows (perf: the layout 25% of the samples one
// block ahead, 12% two blocks ahead; the pshufb path the same either way), so each block fetches
// the block after next (skip 64), and the first block the next one too (skip 0).
void prefetchNextBlock(const uint8_t* residuals, size_t nBytes, const int32_t* tokenStarts, const int32_t* doclens,
                       size_t nDocs, size_t d, size_t j, size_t skip) {
#if defined(__GNUC__)
  size_t left = kBlock;
  for (; d < nDocs && left > 0; ++d, j = 0) {
    const size_t len = static_cast<size_t>(doclens[d]);
    if (j + skip >= len) {
      skip -= std::min(skip, len - std::min(j, len));
      continue;
    }
    j += skip;
    skip = 0;
    const size_t take = std::min(left, len - j);
    const char* from = reinterpret_cast<const char*>(residuals + (static_cast<size_t>(tokenStarts[d]) + j) * nBytes);
    for (size_t o = 0; o < take * nBytes; o += 64) __builtin_prefetch(from + o, 0, 3);
    left -= take;
  }
#else
  (void)residuals, (void)nBytes, (void)tokenStarts, (void)doclens, (void)nDocs, (void)d, (void)j, (void)skip;
#endif
}

}  // namespace

size_t fastScanMaxBytes() { return 256; }

FastScanPath fastScanPath() { return pathFor(activeCodeSimd()).name; }

const char* fastScanPathName(FastScanPath p) {
  switch (p) {
    case FastScanPath::Avx512Vbmi:
      return "avx512-vbmi-vnni";
    case FastScanPath::Avx512Bw:
      return "avx512bw";
    case FastScanPath::Avx2:
      return "avx2";
    case FastScanPath::Neon:
      return "neon";
    default:
      return "scalar";
  }
}

int fastScanEntryMax(size_t nBytes) { return static_cast<int>(std::min<size_t>(255, 65535 / (2 * std::max<size_t>(1, nBytes)))); }

void buildFastScanTables(const float* q, size_t qLen, size_t dim, const float* weights, int nbits, uint8_t* tables,
                         float* scales, float* offsets) {
  const size_t nBytes = dim * static_cast<size_t>(nbits) / 8;
  const int perNibble = 4 / nbits;
  const int mask = (1 << nbits) - 1;
  const float entryMax = static_cast<float>(fastScanEntryMax(nBytes));
  FastScanScratch& sc = scratch();
  // nib[((p * 16) + v) * qLen + i], p = 2b + h: the table before quantisation (the same sums, in the
  // same order, as code-maxsim.cc's nibble tables).
  std::vector<float>& nib = sc.nib;
  nib.assign(nBytes * 32 * qLen, 0.f);
  std::vector<float>& mins = sc.mins;
  mins.assign(nBytes * 2 * qLen, 0.f);
  std::vector<float>& ranges = sc.ranges;  // [p][i]: max - min of nibble p's table
  ranges.assign(nBytes * 2 * qLen, 0.f);
  // The query transposed (qt[t * qLen + i]), so that every loop below runs over i on contiguous
  // floats and vectorises lane-wise: the same operations in the same order per i (bit-identical);
  // with the two changes below, 71.5 -> 40 us a 32 x 128 query through N-API (RESULTS, part E).
  std::vector<float>& qt = sc.qt;
  qt.resize(dim * qLen);
  for (size_t i = 0; i < qLen; ++i)
    for (size_t t = 0; t < dim; ++t) qt[t * qLen + i] = q[i * dim + t];
  for (size_t p = 0; p < 2 * nBytes; ++p) {
    const size_t t0 = p * static_cast<size_t>(perNibble);
    for (int v = 0; v < 16; ++v) {
      float* row = nib.data() + (p * 16 + v) * qLen;
      for (int s = 0; s < perNibble; ++s) {
        const float w = weights[(v >> (4 - nbits * (s + 1))) & mask];
        const float* qs = qt.data() + (t0 + static_cast<size_t>(s)) * qLen;
        for (size_t i = 0; i < qLen; ++i) {
          const float x = qs[i] * w;
          row[i] += x;
        }
      }
    }
    float* mn = mins.data() + p * qLen;
    float* rg = ranges.data() + p * qLen;
    const float* first = nib.data() + (p * 16) * qLen;
    std::copy(first, first + qLen, mn);
    std::copy(first, first + qLen, rg);  // the running maximum until the subtraction below
    for (int v = 1; v < 16; ++v) {
      const float* row = nib.data() + (p * 16 + v) * qLen;
      for (size_t i = 0; i < qLen; ++i) {
        const float x = row[i];
        mn[i] = x < mn[i] ? x : mn[i];
        rg[i] = x > rg[i] ? x : rg[i];
      }
    }
    for (size_t i = 0; i < qLen; ++i) rg[i] = rg[i] - mn[i];
  }
  // R_i = max_p range_p: one step R_i / M per query token.
  std::vector<float> range(qLen, 0.f);
  for (size_t p = 0; p < 2 * nBytes; ++p) {
    for (size_t i = 0; i < qLen; ++i) {
      const float r = ranges[p * qLen + i];
      range[i] = r > range[i] ? r : range[i];
    }
  }
  std::vector<float>& inv = sc.inv;
  inv.resize(qLen);
  for (size_t i = 0; i < qLen; ++i) {
    scales[i] = range[i] == 0.f ? 0.f : range[i] / entryMax;
    inv[i] = range[i] == 0.f ? 0.f : entryMax / range[i];
    float off = 0.f;
    for (size_t p = 0; p < 2 * nBytes; ++p) off += mins[p * qLen + i];
    offsets[i] = off;
  }
  // Entries computed over i (vectorised), then moved to the tables' [b][i][h][v] order.
  std::vector<uint8_t>& ent = sc.entries;
  ent.resize(nBytes * 32 * qLen);
  for (size_t p = 0; p < 2 * nBytes; ++p) {
    const float* __restrict mn = mins.data() + p * qLen;
    const float* __restrict iv = inv.data();
    for (int v = 0; v < 16; ++v) {
      const float* __restrict row = nib.data() + (p * 16 + v) * qLen;
      uint8_t* __restrict e = ent.data() + (p * 16 + v) * qLen;
      // floor(y) clamped to [0, M] is trunc(y clamped to [0, M]): the same integer, in a loop that
      // vectorises (the branchy floor did not).
      for (size_t i = 0; i < qLen; ++i) {
        const float d = row[i] - mn[i];
        float y = d * iv[i] + 0.5f;
        y = y > 0.f ? y : 0.f;
        y = y < entryMax ? y : entryMax;
        e[i] = static_cast<uint8_t>(static_cast<int32_t>(y));
      }
    }
  }
  // Through a plain pointer: the byte stores may alias the vector, whose data pointer would then be
  // reloaded from thread-local storage (a __tls_get_addr call a byte in the addon: 2x the build).
  const uint8_t* __restrict entries = ent.data();
  for (size_t b = 0; b < nBytes; ++b) {
    for (size_t i = 0; i < qLen; ++i) {
      uint8_t* out = tables + (b * qLen + i) * 32;
      for (size_t v = 0; v < 32; ++v) out[v] = entries[((2 * b) * 16 + v) * qLen + i];  // v < 16: p = 2b, else 2b + 1
    }
  }
}

namespace {

// Each byte value's decoded weights (8 / nbits floats).
using DecodeTable = float[256][8];

void buildDecodeTable(const float* weights, int nbits, DecodeTable& decode) {
  const size_t perByte = 8 / static_cast<size_t>(nbits);
  const int mask = (1 << nbits) - 1;
  for (int v = 0; v < 256; ++v)
    for (size_t k = 0; k < perByte; ++k) decode[v][k] = weights[(v >> (8 - nbits * static_cast<int>(k + 1))) & mask];
}

void inverseNorms(const DecodeTable& decode, const int32_t* codes, const uint8_t* residuals, size_t n, size_t dim,
                  const float* centroids, int nbits, float* out) {
  const size_t nBytes = dim * static_cast<size_t>(nbits) / 8;
  const size_t perByte = 8 / static_cast<size_t>(nbits);
  std::vector<float>& decoded = scratch().decoded;
  decoded.resize(dim);
  // A plain pointer: through the vector, each memcpy (may alias anything) reloaded it from
  // thread-local storage, a __tls_get_addr call a byte in the addon (10% of a cold pass).
  float* __restrict r = decoded.data();
  for (size_t j = 0; j < n; ++j) {
    const float* c = centroids + static_cast<size_t>(codes[j]) * dim;
    const uint8_t* bytes = residuals + j * nBytes;
    switch (perByte) {  // constant-size copies (a variable size calls memcpy per byte)
      case 8:
        for (size_t b = 0; b < nBytes; ++b) std::memcpy(r + b * 8, decode[bytes[b]], 8 * sizeof(float));
        break;
      case 4:
        for (size_t b = 0; b < nBytes; ++b) std::memcpy(r + b * 4, decode[bytes[b]], 4 * sizeof(float));
        break;
      default:
        for (size_t b = 0; b < nBytes; ++b) std::memcpy(r + b * 2, decode[bytes[b]], 2 * sizeof(float));
        break;
    }
    // Eight partial sums, dimension t into sum t % 8, then a fixed tree: the same bits on every
    // path and in the TypeScript twin (dim is a multiple of 8; the loop vectorises lane-wise).
    float p[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
    for (size_t t = 0; t < dim; t += 8) {
      for (size_t k = 0; k < 8; ++k) {
        const float x = c[t + k] + r[t + k];
        const float x2 = x * x;
        p[k] += x2;
      }
    }
    const float n2 = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
    out[j] = 1.f / std::sqrt(n2 < 1e-24f ? 1e-24f : n2);
  }
}

#if defined(__x86_64__)
// The same at 1 and 2 bits with AVX2: eight dimensions a ymm, their codes shifted out of the
// token's bytes lane by lane and decoded by a lane permute of the weights; lane k is partial sum
// k, so the sums and the tree are inverseNorms', bit for bit. 4 bits (16 weights) keep the loop
// above. Measured: a cold fast-scan pass 43 -> 33 ns a token (bench/RESULTS.md, "part E").
PLAIT_FS_AVX2 void inverseNormsAvx2(const float* weights, const int32_t* codes, const uint8_t* residuals, size_t n,
                                    size_t dim, const float* centroids, int nbits, float* out) {
  const size_t nBytes = dim * static_cast<size_t>(nbits) / 8;
  float w8[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  for (int b = 0; b < (1 << nbits); ++b) w8[b] = weights[b];
  const __m256 w = _mm256_loadu_ps(w8);
  // Dimension t + k of an 8-dimension group sits nbits * (7 - k) bits up in its nbits bytes read
  // big-endian (a byte's first dimension in its high bits).
  const __m256i shifts = nbits == 2 ? _mm256_setr_epi32(14, 12, 10, 8, 6, 4, 2, 0) : _mm256_setr_epi32(7, 6, 5, 4, 3, 2, 1, 0);
  const __m256i mask = _mm256_set1_epi32((1 << nbits) - 1);
  for (size_t j = 0; j < n; ++j) {
    const float* c = centroids + static_cast<size_t>(codes[j]) * dim;
    const uint8_t* bytes = residuals + j * nBytes;
    __m256 p = _mm256_setzero_ps();
    for (size_t t = 0, b = 0; t < dim; t += 8, b += static_cast<size_t>(nbits)) {
      const int v = nbits == 2 ? (bytes[b] << 8) | bytes[b + 1] : bytes[b];
      const __m256i code = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(v), shifts), mask);
      const __m256 x = _mm256_add_ps(_mm256_loadu_ps(c + t), _mm256_permutevar8x32_ps(w, code));
      p = _mm256_add_ps(p, _mm256_mul_ps(x, x));
    }
    float q[8];
    _mm256_storeu_ps(q, p);
    const float n2 = ((q[0] + q[1]) + (q[2] + q[3])) + ((q[4] + q[5]) + (q[6] + q[7]));
    out[j] = 1.f / std::sqrt(n2 < 1e-24f ? 1e-24f : n2);
  }
}
#endif

// The norm cache's fill on the chosen path: AVX2 (also under AVX-512) at 1 and 2 bits, else scalar.
void inverseNormsWith(CodeSimd simd, const DecodeTable& decode, const float* weights, const int32_t* codes,
                      const uint8_t* residuals, size_t n, size_t dim, const float* centroids, int nbits, float* out) {
#if defined(__x86_64__)
  if ((simd == CodeSimd::Avx2 || simd == CodeSimd::Avx512) && nbits <= 2) {
    inverseNormsAvx2(weights, codes, residuals, n, dim, centroids, nbits, out);
    return;
  }
#else
  (void)simd, (void)weights;
#endif
  inverseNorms(decode, codes, residuals, n, dim, centroids, nbits, out);
}

}  // namespace

void tokenInverseNorms(const int32_t* codes, const uint8_t* residuals, size_t n, size_t dim, const float* centroids,
                       const float* weights, int nbits, float* out) {
  DecodeTable decode;
  buildDecodeTable(weights, nbits, decode);
  inverseNormsWith(activeCodeSimd(), decode, weights, codes, residuals, n, dim, centroids, nbits, out);
}

void maxsimFastScanWith(CodeSimd simd, const float* S, size_t qLen, const uint8_t* tables, const float* scales,
                        const float* offsets, const int32_t* codes, const uint8_t* residuals, size_t dim, int nbits,
                        const int32_t* tokenStarts, const int32_t* doclens, size_t nDocs, float* out,
                        const float* qWeights, float* invNorms, const float* centroids, const float* weights) {
  const size_t nBytes = dim * static_cast<size_t>(nbits) / 8;
  const size_t lanes = codeLutLanes(qLen);
  const Path path = pathFor(simd);
  FastScanScratch& sc = scratch();
  sc.offsets.assign(lanes, 0.f);
  std::copy(offsets, offsets + qLen, sc.offsets.begin());
  sc.nibs.resize((nBytes + 1) * 2 * kBlock);  // nibble rows (2 nBytes) or quads (4 ceil(nBytes / 2) a token)
  if (path.quads) {
    sc.quadTables.resize((nBytes + 1) / 2 * qLen * 64);
    buildQuadTables(tables, qLen, nBytes, sc.quadTables.data());
  }
  const uint8_t* lookupTables = path.quads ? sc.quadTables.data() : tables;
  sc.accI.resize(lanes * kBlock);
  sc.accT.resize(kBlock * lanes);
  sc.best.resize(lanes);
  sc.scales.assign(lanes, 0.f);
  std::copy(scales, scales + qLen, sc.scales.begin());
  sc.rows.resize(kBlock);
  const auto emptyScore = [&]() {
    float total = 0.f;
    for (size_t i = 0; i < qLen; ++i) total += (qWeights != nullptr ? qWeights[i] : 1.f) * kEmptyTokenScore;
    return total;
  };
  // Walk the documents' tokens in order, 64 a block; a document may span blocks. A block is cut
  // into runs of one document each (at most 65).
  // The epilogue reads a run's centroid ids and inverse norms where they are (codes + row,
  // invNorms + row): a run is contiguous rows of one document (part H: the per-token copies into
  // block arrays went).
  struct Run {
    size_t doc, row, t0, t1;
    bool last;  // the document's last token is in this run
  };
  Run runs[kBlock + 1];
  const Epilogue e{S, qLen, lanes, sc.scales.data(), sc.offsets.data()};
  DecodeTable decode;
  bool decodeReady = false;
  size_t d = 0, j = 0;  // the next token to place: document d, its j-th token
  bool firstBlock = true;
  std::fill(sc.best.begin(), sc.best.end(), kNegInf);
  while (true) {
    while (d < nDocs && doclens[d] == 0) out[d++] = emptyScore();
    if (d >= nDocs) break;
    size_t n = 0, nRuns = 0;
    while (n < kBlock && d < nDocs) {
      const size_t len = static_cast<size_t>(doclens[d]);
      if (len == 0) {
        out[d++] = emptyScore();
        continue;
      }
      const size_t take = std::min(kBlock - n, len - j);
      const size_t row = static_cast<size_t>(tokenStarts[d]) + j;
      for (size_t r = 0; r < take; ++r) sc.rows[n + r] = residuals + (row + r) * nBytes;
      if (invNorms != nullptr) {
        // The cache holds NaN until a token is first scored: its inverse norm is computed then.
        // Warm runs have none: one pass over the run's bits says so, in integers (NaN: exponent all
        // ones, mantissa not 0), a loop GCC vectorises; its float form (x != x) stayed scalar, a
        // ucomiss a token (part H; the token-by-token scan below was a third of the walk's time).
        uint32_t cold = 0;
        for (size_t r = 0; r < take; ++r) {
          uint32_t bits;
          std::memcpy(&bits, invNorms + row + r, sizeof bits);
          cold |= static_cast<uint32_t>((bits & 0x7FFFFFFFu) > 0x7F800000u);
        }
        for (size_t r = 0; cold != 0 && r < take;) {
          size_t end = r;  // [r, end): tokens not yet in the cache, computed in one call
          while (end < take && invNorms[row + end] != invNorms[row + end]) ++end;
          if (end > r) {
            if (!decodeReady) buildDecodeTable(weights, nbits, decode);
            decodeReady = true;
            inverseNormsWith(simd, decode, weights, codes + row + r, residuals + (row + r) * nBytes, end - r, dim,
                             centroids, nbits, invNorms + row + r);
            r = end;
          } else {
            ++r;
          }
        }
      }
      j += take;
      runs[nRuns++] = {d, row, n, n + take, j == len};
      n += take;
      if (j == len) {
        ++d;
        j = 0;
      }
    }
    for (size_t t = n; t < kBlock; ++t) sc.rows[t] = residuals;  // padding rows: read, never scored
    if (firstBlock) prefetchNextBlock(residuals, nBytes, tokenStarts, doclens, nDocs, d, j, 0);
    firstBlock = false;
    prefetchNextBlock(residuals, nBytes, tokenStarts, doclens, nDocs, d, j, kBlock);
    path.layout(sc.rows.data(), n, nBytes, sc.nibs.data());
    path.accumulate(sc.nibs.data(), lookupTables, qLen, nBytes, sc.accI.data());
    const bool chunks = path.runChunks != nullptr && lanes <= 32;
    if (!chunks) path.transpose(sc.accI.data(), qLen, lanes, sc.accT.data());
    for (size_t r = 0; r < nRuns; ++r) {
      const Run& run = runs[r];
      const float* invs = invNorms != nullptr ? invNorms + run.row : nullptr;
      if (chunks) path.runChunks(e, sc.accI.data(), run.t0, run.t1, codes + run.row, invs, sc.best.data());
      else path.run(e, sc.accT.data() + run.t0 * lanes, codes + run.row, invs, run.t1 - run.t0, sc.best.data());
      if (!run.last) continue;
      float total = 0.f;
      for (size_t i = 0; i < qLen; ++i) total += qWeights != nullptr ? qWeights[i] * sc.best[i] : sc.best[i];
      out[run.doc] = total;
      std::fill(sc.best.begin(), sc.best.end(), kNegInf);
    }
  }
}

// The per-token scores behind maxsimFastScan for one passage (rows [start, start + len)), written instead of
// their maxima: the highlights' similarities (src/search/explain.ts). The same block layout, accumulation and
// transpose as maxsimFastScanWith (exact integer sums on every path), then tokenScore per (token, query token),
// the scalar epilogue's float operations in its order: every path gives the TypeScript twin's bits.
void fastScanTokenSimilaritiesWith(CodeSimd simd, const float* S, size_t qLen, const uint8_t* tables,
                                   const float* scales, const float* offsets, const int32_t* codes,
                                   const uint8_t* residuals, size_t dim, int nbits, size_t start, size_t len,
                                   float* out, float* invNorms, const float* centroids, const float* weights) {
  if (len == 0 || qLen == 0) return;
  const size_t nBytes = dim * static_cast<size_t>(nbits) / 8;
  const size_t lanes = codeLutLanes(qLen);
  const Path path = pathFor(simd);
  FastScanScratch& sc = scratch();
  sc.nibs.resize((nBytes + 1) * 2 * kBlock);
  if (path.quads) {
    sc.quadTables.resize((nBytes + 1) / 2 * qLen * 64);
    buildQuadTables(tables, qLen, nBytes, sc.quadTables.data());
  }
  const uint8_t* lookupTables = path.quads ? sc.quadTables.data() : tables;
  sc.accI.resize(lanes * kBlock);
  sc.accT.resize(kBlock * lanes);
  sc.rows.resize(kBlock);
  if (invNorms != nullptr) {
    // NaN entries (not yet cached) are filled first, in runs, as maxsimFastScanWith fills them.
    DecodeTable decode;
    bool decodeReady = false;
    for (size_t r = start; r < start + len;) {
      size_t end = r;
      while (end < start + len && invNorms[end] != invNorms[end]) ++end;
      if (end == r) {
        ++r;
        continue;
      }
      if (!decodeReady) buildDecodeTable(weights, nbits, decode);
      decodeReady = true;
      inverseNormsWith(simd, decode, weights, codes + r, residuals + r * nBytes, end - r, dim, centroids, nbits,
                       invNorms + r);
      r = end;
    }
  }
  for (size_t t0 = 0; t0 < len; t0 += kBlock) {
    const size_t n = std::min(kBlock, len - t0);
    for (size_t t = 0; t < n; ++t) sc.rows[t] = residuals + (start + t0 + t) * nBytes;
    for (size_t t = n; t < kBlock; ++t) sc.rows[t] = residuals;  // padding rows: read, never scored
    path.layout(sc.rows.data(), n, nBytes, sc.nibs.data());
    path.accumulate(sc.nibs.data(), lookupTables, qLen, nBytes, sc.accI.data());
    path.transpose(sc.accI.data(), qLen, lanes, sc.accT.data());
    for (size_t t = 0; t < n; ++t) {
      const size_t row = start + t0 + t;
      const float* s = S + static_cast<size_t>(codes[row]) * qLen;
      const uint16_t* acc = sc.accT.data() + t * lanes;
      const float* inv = invNorms != nullptr ? invNorms + row : nullptr;
      for (size_t i = 0; i < qLen; ++i) out[i * len + t0 + t] = tokenScore(s[i], scales[i], acc[i], offsets[i], inv);
    }
  }
}

void fastScanTokenSimilarities(const float* S, size_t qLen, const uint8_t* tables, const float* scales,
                               const float* offsets, const int32_t* codes, const uint8_t* residuals, size_t dim,
                               int nbits, size_t start, size_t len, float* out, float* invNorms,
                               const float* centroids, const float* weights) {
  fastScanTokenSimilaritiesWith(activeCodeSimd(), S, qLen, tables, scales, offsets, codes, residuals, dim, nbits,
                                start, len, out, invNorms, centroids, weights);
}

void maxsimFastScan(const float* S, size_t qLen, const uint8_t* tables, const float* scales, const float* offsets,
                    const int32_t* codes, const uint8_t* residuals, size_t dim, int nbits, const int32_t* tokenStarts,
                    const int32_t* doclens, size_t nDocs, float* out, const float* qWeights, float* invNorms,
                    const float* centroids, const float* weights) {
  maxsimFastScanWith(activeCodeSimd(), S, qLen, tables, scales, offsets, codes, residuals, dim, nbits, tokenStarts,
                     doclens, nDocs, out, qWeights, invNorms, centroids, weights);
}

}  // namespace plait
