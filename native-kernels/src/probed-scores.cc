// Probed-token ranking's pairs on the codes in one call (issue 22 part F; src/search/probed-token-interaction.ts
// explains the ranking, src/kernels/probed-scores.ts is the TypeScript twin). For each candidate's token rows,
// every query token that probed the row's cell scores the pair with its lane of the query's fast-scan tables,
// exactly as a one-token fast-scan query would (tokenScore in fast-scan.cc: ((scale * acc) + offset), + S, times
// the token's inverse norm), and e[d * qLen + i] keeps the maximum. Part E scanned the pairs into buffers
// grouped by token, then made one fast-scan call a query token over its rows as one-token documents; this
// fuses both: no pair buffers, no per-token calls, a pair read once. Scalar: 2 * nBytes byte lookups a pair in
// the query's tables (L1-sized for a keyword query). Built in the code-scoring library (-ffp-contract=off):
// its bits are the twin's and the fast-scan kernel's.
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels.h"

namespace plait {

namespace {

// Starts loading the bytes [p, p + n) into the cache (one prefetch a 64-byte line).
inline void prefetchSpan(const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  for (size_t o = 0; o < n; o += 64) __builtin_prefetch(c + o);
  if (n > 0) __builtin_prefetch(c + n - 1);
}

}  // namespace

bool probedPairScores(const float* S, size_t qLen, const uint8_t* tables, const float* scales, const float* offsets,
                      const int32_t* codes, const uint8_t* residuals, size_t dim, int nbits, const int32_t* tokenStarts,
                      const int32_t* doclens, const int32_t* pids, const int32_t* docs, size_t nDocs,
                      const int32_t* head, size_t nCells, const int32_t* next, size_t nSlots, size_t perToken,
                      float* invNorms, const float* centroids, const float* weights, float* e) {
  const size_t nBytes = dim * static_cast<size_t>(nbits) / 8;
  const size_t stride = qLen * 32;  // from byte b's tables to byte b + 1's, for one query token
  // The query token of each probe slot (a division a pair otherwise).
  thread_local std::vector<uint32_t> tokenOf;
  tokenOf.resize(nSlots);
  for (size_t slot = 0; slot < nSlots; ++slot) tokenOf[slot] = static_cast<uint32_t>(slot / perToken);
  // A candidate's matched rows are a few scattered among its tokens, and each pair's work waits on its
  // row's residual bytes and norm (cache misses): the rows of candidate x + 1 are found, and their
  // bytes and norms prefetched, before candidate x's pairs are scored.
  thread_local std::vector<int32_t> matched[2];
  const auto collect = [&](size_t x, std::vector<int32_t>& out) {
    out.clear();
    if (x + 2 < nDocs) {
      const int32_t later = pids[docs[x + 2]];
      prefetchSpan(codes + tokenStarts[later], static_cast<size_t>(doclens[later]) * sizeof(int32_t));
    }
    const int32_t pid = pids[docs[x]];
    for (int32_t row = tokenStarts[pid], end = row + doclens[pid]; row < end; ++row) {
      const uint32_t c = static_cast<uint32_t>(codes[row]);
      if (c >= nCells) return false;
      if (head[c] < 0) continue;
      out.push_back(row);
      prefetchSpan(residuals + static_cast<size_t>(row) * nBytes, nBytes);
      __builtin_prefetch(invNorms + row);
    }
    return true;
  };
  if (nDocs > 0 && !collect(0, matched[0])) return false;
  for (size_t x = 0; x < nDocs; ++x) {
    if (x + 1 < nDocs && !collect(x + 1, matched[(x + 1) & 1])) return false;
    float* best = e + static_cast<size_t>(docs[x]) * qLen;
    for (const int32_t row : matched[x & 1]) {
      const uint32_t c = static_cast<uint32_t>(codes[row]);
      const uint8_t* r = residuals + static_cast<size_t>(row) * nBytes;
      // The cache holds NaN until a token is first scored, as for the fast-scan kernel.
      if (invNorms[row] != invNorms[row]) tokenInverseNorms(codes + row, r, 1, dim, centroids, weights, nbits, invNorms + row);
      const float inv = invNorms[row];
      for (int32_t slot = head[c]; slot >= 0; slot = next[slot]) {
        if (static_cast<size_t>(slot) >= nSlots) return false;
        const size_t i = tokenOf[static_cast<size_t>(slot)];
        const uint8_t* t = tables + i * 32;
        uint32_t acc = 0;
        for (size_t b = 0; b < nBytes; ++b, t += stride) acc += static_cast<uint32_t>(t[r[b] >> 4]) + t[16 + (r[b] & 15)];
        const float a = scales[i] * static_cast<float>(acc);
        const float y = S[static_cast<size_t>(c) * qLen + i] + (a + offsets[i]);
        // 0 + sim: the one-token fast-scan call's document total (a -0 becomes +0 there too).
        const float sim = 0.f + y * inv;
        if (sim > best[i]) best[i] = sim;
      }
    }
  }
  return true;
}

}  // namespace plait
