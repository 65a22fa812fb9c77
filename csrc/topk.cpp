#include "topk.hpp"

#include <algorithm>
#include <cmath>
#include <queue>

namespace cerebro {
namespace {

struct Candidate {
  float score;
  int64_t index;
};

// Strict "ranks before": higher score first, then lower index.
inline bool ranks_before(const Candidate& a, const Candidate& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.index < b.index;
}

struct WorstOnTop {
  bool operator()(const Candidate& a, const Candidate& b) const { return ranks_before(a, b); }
};

}  // namespace

TopK filtered_topk(const float* scores, const uint8_t* mask, int64_t n, int64_t k) {
  TopK out;
  if (n <= 0 || k <= 0) return out;

  // A bounded heap keeps memory at O(k) and the pass at O(n log k), which beats sorting
  // the pool when k is a page or two and n is a whole source.
  std::priority_queue<Candidate, std::vector<Candidate>, WorstOnTop> heap;
  for (int64_t i = 0; i < n; ++i) {
    if (mask != nullptr && !mask[i]) continue;
    const float s = scores[i];
    if (std::isnan(s)) continue;
    const Candidate c{s, i};
    if (static_cast<int64_t>(heap.size()) < k) {
      heap.push(c);
    } else if (ranks_before(c, heap.top())) {
      heap.pop();
      heap.push(c);
    }
  }

  std::vector<Candidate> best;
  best.reserve(heap.size());
  while (!heap.empty()) {
    best.push_back(heap.top());
    heap.pop();
  }
  std::sort(best.begin(), best.end(), ranks_before);

  out.indices.reserve(best.size());
  out.scores.reserve(best.size());
  for (const Candidate& c : best) {
    out.indices.push_back(c.index);
    out.scores.push_back(c.score);
  }
  return out;
}

}  // namespace cerebro
