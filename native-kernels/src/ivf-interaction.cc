// PLAID's stage-2 pruned centroid interaction from the IVF lists of the kept centroids (issue 22,
// 1M passages; src/search/centroid-pruned-interaction.ts explains why and holds the figures).
// A candidate's set of kept centroids is exactly the kept centroids whose IVF list holds it, so
//   out[j] = sum_i w_i * max{ S[c, i] : c kept, pids[j] in ivf[c] }   (0 when none)
// equals centroidInteraction over the codes with the pruning mask, bit for bit: the same `v > m`
// maximum (NaN never taken, order-free otherwise) and the same float32 sum in token order
// (compiled with -ffp-contract=off like the other kernels).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels.h"

namespace plait {

void ivfInteraction(const float* centroidScores, size_t qLen, const int32_t* kept, const int32_t* bounds, size_t nKept,
                    const int32_t* entries, const int32_t* pids, size_t nDocs, float* out, const float* qWeights) {
  thread_local std::vector<float> best;
  thread_local std::vector<uint8_t> touched;
  best.assign(nDocs * qLen, -std::numeric_limits<float>::infinity());
  touched.assign(nDocs, 0);
  const int32_t* pidsEnd = pids + nDocs;
  for (size_t k = 0; k < nKept; ++k) {
    const float* row = centroidScores + static_cast<size_t>(kept[k]) * qLen;
    for (int32_t e = bounds[k]; e < bounds[k + 1]; ++e) {
      // pids ascending (ivfUnion's order): a binary search instead of a pid-sized slot map.
      const int32_t* at = std::lower_bound(pids, pidsEnd, entries[e]);
      if (at == pidsEnd || *at != entries[e]) continue;
      const size_t j = static_cast<size_t>(at - pids);
      touched[j] = 1;
      float* b = best.data() + j * qLen;
      for (size_t i = 0; i < qLen; ++i) b[i] = row[i] > b[i] ? row[i] : b[i];
    }
  }
  for (size_t j = 0; j < nDocs; ++j) {
    float total = 0.f;
    if (touched[j] != 0) {
      const float* b = best.data() + j * qLen;
      for (size_t i = 0; i < qLen; ++i) total += (qWeights != nullptr ? qWeights[i] : 1.f) * b[i];
    }
    out[j] = total;
  }
}

}  // namespace plait
