// Filtered top-k selection over candidate scores: the last step of every scoring call.
#pragma once

#include <cstdint>
#include <vector>

namespace cerebro {

struct TopK {
  std::vector<int64_t> indices;
  std::vector<float> scores;
};

// Returns up to k (index, score) pairs with the highest scores among positions where mask is true
// (mask may be null: every position is a candidate). NaN scores are never selected. Order is score
// descending, ties broken by the lower index, so equal inputs always give the same answer.
TopK filtered_topk(const float* scores, const uint8_t* mask, int64_t n, int64_t k);

}  // namespace cerebro
