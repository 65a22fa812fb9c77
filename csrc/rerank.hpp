// The fused re-ranker: structured features of (query, candidate) pairs, fused into a calibrated score.
#pragma once

#include <cstdint>
#include <vector>

namespace cerebro {

constexpr int kFeatureCount = 13;  // cosine, title, skills-vector, skill coverage, experience, education,
                                   // languages, proximity, keyword coverage, experience-vector, seniority,
                                   // preferred words, resemblance to the rated (scoring/algorithms.py FEATURES)
constexpr int kSideViews = 3;      // title, skills, experience (index/columns.py SIDE_VIEWS)
constexpr uint32_t kTermBuckets = 1u << 20;  // document frequencies are kept per hash bucket

// Columnar features of one pool, indexed by row. Views are int8 with one scale per row.
struct PoolColumns {
  int64_t rows = 0;
  int64_t dim = 0;
  // Per side view: rows x dim codes and one scale per row (0 when the row has no text for that view).
  const int8_t* views[kSideViews] = {};
  const float* view_scales[kSideViews] = {};
  const int64_t* skill_start = nullptr;
  const int32_t* skill_count = nullptr;
  const uint32_t* skill_ids = nullptr;  // sorted within a row
  const float* skill_weights = nullptr;
  const float* years = nullptr;        // < 0: unknown
  const int8_t* education = nullptr;   // 0: unknown
  const int64_t* languages = nullptr;  // bit set, 0: unknown
  const float* lat = nullptr;          // NaN: unknown
  const float* lng = nullptr;
  const int64_t* term_start = nullptr;
  const int32_t* term_count = nullptr;
  const uint32_t* term_ids = nullptr;  // sorted within a row
  const uint8_t* term_freqs = nullptr; // occurrences, parallel to term_ids
  const float* term_length = nullptr;  // content words per row
  const int32_t* term_df = nullptr;    // kTermBuckets document frequencies
  int64_t term_docs = 0;               // documents counted in term_df
  float mean_length = 1.0f;            // mean content words per row
};

struct QueryFeatures {
  const float* views[kSideViews] = {};  // dim each, unit length, or nullptr when the query lacks the view
  const uint32_t* skill_ids = nullptr;
  const float* skill_weights = nullptr;
  int64_t skill_count = 0;
  float years = -1.0f;
  int8_t education = 0;
  int64_t languages = 0;
  float lat = 0.0f, lng = 0.0f;  // NaN: unknown
  const uint32_t* term_ids = nullptr;  // sorted
  const uint8_t* term_freqs = nullptr;
  int64_t term_count = 0;
  float length = 0.0f;
  const uint32_t* preferred_ids = nullptr;  // sorted: words the algorithm learnt the workspace rewards
  int64_t preferred_count = 0;
  bool is_job = true;  // the job's side holds the requirements (skills to cover, years, education)
};

// Additive regression trees over the features (gradient-boosted on top of the linear part). Nodes of all
// trees in one array; a leaf has feature < 0; a node's children come after it (so a walk always ends).
struct Trees {
  const int32_t* feature = nullptr;
  const float* threshold = nullptr;  // go left when features[feature] <= threshold
  const int32_t* left = nullptr;
  const int32_t* right = nullptr;
  const float* value = nullptr;      // a leaf's contribution to the logit
  const int32_t* roots = nullptr;
  int64_t count = 0;

  float evaluate(const float* features) const {
    float total = 0.0f;
    for (int64_t t = 0; t < count; ++t) {
      int32_t node = roots[t];
      while (feature[node] >= 0) node = features[feature[node]] <= threshold[node] ? left[node] : right[node];
      total += value[node];
    }
    return total;
  }
};

// score = sigmoid(bias + weights . features + trees(features))
struct Fusion {
  const float* weights = nullptr;  // kFeatureCount
  float bias = 0.0f;
  Trees trees;
};

struct Reranked {
  std::vector<int64_t> positions;  // into the candidate arrays, best first
  std::vector<float> scores;
  std::vector<float> features;     // positions.size() x kFeatureCount
  int64_t passed = 0;              // candidates at or above the threshold
};

// Scores every candidate (rows[i], with full-text cosine cosine[i] and resemblance[i] to the candidates rated
// for the query, computed by the caller: scoring/resemblance.py), keeps those scoring >= threshold
// and returns the best k, ties broken by candidate position. Runs on up to `threads` threads.
Reranked rerank(const PoolColumns& pool, const QueryFeatures& query, const Fusion& fusion,
                const int64_t* rows, const float* cosine, const float* resemblance, int64_t count, int64_t k,
                float threshold, int threads);

// The features alone, count x kFeatureCount (for explanations and for fitting the fusion weights).
void compute_features(const PoolColumns& pool, const QueryFeatures& query, const int64_t* rows,
                      const float* cosine, const float* resemblance, int64_t count, float* out, int threads);

}  // namespace cerebro
