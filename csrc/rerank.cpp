#include "rerank.hpp"

#include <algorithm>
#include <cmath>
#include <thread>

namespace cerebro {
namespace {

constexpr float kNeutral = 0.5f;       // a feature neither side can speak to
constexpr float kProximityKm = 100.0f;  // e^-1 at this distance
constexpr float kSeniorityYears = 10.0f;  // the profile's years at which seniority reads 0.5 (as unknown does)
constexpr int64_t kRowsPerThread = 512;  // below this a thread costs more than it saves

// Calls on_common(i, j) for every id present in both sorted lists (a[i] == b[j]).
template <typename OnCommon>
void for_each_common(const uint32_t* a, int64_t na, const uint32_t* b, int64_t nb, OnCommon on_common) {
  int64_t i = 0, j = 0;
  while (i < na && j < nb) {
    if (a[i] < b[j]) {
      ++i;
    } else if (b[j] < a[i]) {
      ++j;
    } else {
      on_common(i++, j++);
    }
  }
}

float dot_int8(const float* query, const int8_t* row, int64_t dim) {
  float sum = 0.0f;
  for (int64_t i = 0; i < dim; ++i) sum += query[i] * static_cast<float>(row[i]);
  return sum;
}

// Cosine of one side view (title, skills, experience); a view missing on either side falls back on the
// full-text similarity rather than reading as 0.
float view_similarity(const PoolColumns& p, const QueryFeatures& q, int view, int64_t row, float cosine) {
  const float scale = p.view_scales[view][row];
  if (q.views[view] == nullptr || scale <= 0.0f) return cosine;
  return dot_int8(q.views[view], p.views[view] + row * p.dim, p.dim) * scale;
}

float haversine_km(float lat1, float lng1, float lat2, float lng2) {
  constexpr double kRad = 3.14159265358979323846 / 180.0;
  const double p1 = lat1 * kRad, p2 = lat2 * kRad;
  const double a = std::pow(std::sin((p2 - p1) / 2), 2) +
                   std::cos(p1) * std::cos(p2) * std::pow(std::sin((lng2 - lng1) * kRad / 2), 2);
  return static_cast<float>(2.0 * 6371.0088 * std::asin(std::min(1.0, std::sqrt(a))));
}

// Weight of the requirement side's skills that the other side has: sorted-merge over two id lists.
float skill_coverage(const QueryFeatures& q, const PoolColumns& p, int64_t row) {
  const uint32_t* ids = p.skill_ids + p.skill_start[row];
  const float* weights = p.skill_weights + p.skill_start[row];
  const int64_t n = p.skill_count[row];
  float common = 0.0f, required = 0.0f;
  if (q.is_job) {
    for (int64_t i = 0; i < q.skill_count; ++i) required += q.skill_weights[i];
  } else {
    for (int64_t i = 0; i < n; ++i) required += weights[i];
  }
  if (required <= 0.0f) return kNeutral;
  for_each_common(q.skill_ids, q.skill_count, ids, n,
                  [&](int64_t i, int64_t j) { common += q.is_job ? q.skill_weights[i] : weights[j]; });
  return common / required;
}

float term_idf(const PoolColumns& p, uint32_t term) {
  const float df = static_cast<float>(p.term_df[term & (kTermBuckets - 1)]);
  return std::log((static_cast<float>(p.term_docs) + 1.0f) / (df + 1.0f)) + 1.0f;
}

constexpr float kBm25K1 = 1.2f;
constexpr float kBm25B = 0.75f;

float saturation(float tf, float length, float mean_length) {
  return tf * (kBm25K1 + 1.0f) / (tf + kBm25K1 * (1.0f - kBm25B + kBm25B * length / mean_length));
}

// What the query's words weigh in the pool searched, the same for every candidate row: computed once per
// query, not once per row.
struct QueryIdf {
  std::vector<float> terms;      // each of the query's words
  std::vector<float> preferred;  // each of the algorithm's preferred words
  float preferred_total = 0.0f;
};

QueryIdf query_idf_of(const PoolColumns& p, const QueryFeatures& q) {
  QueryIdf idf;
  idf.terms.resize(q.term_count);
  for (int64_t i = 0; i < q.term_count; ++i) idf.terms[i] = term_idf(p, q.term_ids[i]);
  idf.preferred.resize(q.preferred_count);
  for (int64_t i = 0; i < q.preferred_count; ++i) {
    idf.preferred[i] = term_idf(p, q.preferred_ids[i]);
    idf.preferred_total += idf.preferred[i];
  }
  return idf;
}

// BM25 of the job's words in the profile, divided by the most the job's words could score: a lexical
// signal in [0, 1] next to the embeddings, as in hybrid retrieval. Term weights are the job side's
// counts times the inverse document frequency in the pool searched.
float keyword_match(const QueryFeatures& q, const std::vector<float>& query_idf, const PoolColumns& p,
                    int64_t row) {
  const uint32_t* ids = p.term_ids + p.term_start[row];
  const uint8_t* freqs = p.term_freqs + p.term_start[row];
  const int64_t n = p.term_count[row];
  // The profile's length normalises: the candidate row's when the query is the job, else the query's.
  const float profile_length = q.is_job ? p.term_length[row] : q.length;
  const float mean_length = q.is_job ? p.mean_length : std::max(q.length, 1.0f);
  float matched = 0.0f, best = 0.0f;
  if (q.is_job) {
    for (int64_t k = 0; k < q.term_count; ++k) best += query_idf[k] * q.term_freqs[k];
  } else {
    for (int64_t k = 0; k < n; ++k) best += term_idf(p, ids[k]) * freqs[k];
  }
  best *= kBm25K1 + 1.0f;
  if (best <= 0.0f) return kNeutral;
  for_each_common(q.term_ids, q.term_count, ids, n, [&](int64_t i, int64_t j) {
    if (q.is_job) {
      matched += query_idf[i] * q.term_freqs[i] * saturation(freqs[j], profile_length, mean_length);
    } else {
      matched += term_idf(p, ids[j]) * freqs[j] * saturation(q.term_freqs[i], profile_length, mean_length);
    }
  });
  return matched / best;
}

float fit(float have, float required) {
  if (required < 0.0f || have < 0.0f) return kNeutral;
  if (required == 0.0f) return 1.0f;
  return std::min(have / required, 1.0f);
}

// The share of the algorithm's preferred words (learnt from a workspace's feedback, training/terms.py) that
// the candidate profile's text holds, each weighted by its rarity in the pool: what the recruiters reward
// beyond what the job's text asks. Neutral without preferred words, or when the candidates are jobs.
float preferred_words(const QueryFeatures& q, const QueryIdf& idf, const PoolColumns& p, int64_t row) {
  if (q.preferred_count == 0 || !q.is_job) return kNeutral;
  float found = 0.0f;
  for_each_common(q.preferred_ids, q.preferred_count, p.term_ids + p.term_start[row], p.term_count[row],
                  [&](int64_t i, int64_t) { found += idf.preferred[i]; });
  return found / idf.preferred_total;
}

void features_of(const PoolColumns& p, const QueryFeatures& q, const QueryIdf& idf, int64_t row, float cosine,
                 float resemblance, float* f) {
  f[0] = cosine;
  f[1] = view_similarity(p, q, 0, row, cosine);
  f[2] = view_similarity(p, q, 1, row, cosine);
  f[3] = skill_coverage(q, p, row);
  const float row_years = p.years[row];
  const int8_t row_education = p.education[row];
  f[4] = q.is_job ? fit(row_years, q.years) : fit(q.years, row_years);
  if (q.education == 0 || row_education == 0) {
    f[5] = kNeutral;
  } else {
    f[5] = q.is_job ? fit(row_education, q.education) : fit(q.education, row_education);
  }
  const int64_t required_languages = q.is_job ? q.languages : p.languages[row];
  const int64_t spoken = q.is_job ? p.languages[row] : q.languages;
  if (required_languages == 0 || spoken == 0) {
    f[6] = kNeutral;
  } else {
    f[6] = static_cast<float>(__builtin_popcountll(required_languages & spoken)) /
           static_cast<float>(__builtin_popcountll(required_languages));
  }
  if (std::isnan(q.lat) || std::isnan(p.lat[row])) {
    f[7] = kNeutral;
  } else {
    f[7] = std::exp(-haversine_km(q.lat, q.lng, p.lat[row], p.lng[row]) / kProximityKm);
  }
  f[8] = keyword_match(q, idf.terms, p, row);
  f[9] = view_similarity(p, q, 2, row, cosine);
  // The profile side's years whatever the job asks: a criterion no shipped fusion weighs, there for a
  // workspace whose recruiters reward seniority the job text does not state (training/trainer.py).
  const float profile_years = q.is_job ? row_years : q.years;
  f[10] = profile_years < 0.0f ? kNeutral : profile_years / (profile_years + kSeniorityYears);
  f[11] = preferred_words(q, idf, p, row);
  f[12] = resemblance;
}

template <typename Body>
void parallel_for(int64_t count, int threads, Body body) {
  const int64_t wanted = std::max<int64_t>(1, std::min<int64_t>(threads, count / kRowsPerThread));
  if (wanted <= 1) {
    body(0, count);
    return;
  }
  std::vector<std::thread> workers;
  const int64_t step = (count + wanted - 1) / wanted;
  for (int64_t start = 0; start < count; start += step) {
    workers.emplace_back(body, start, std::min(count, start + step));
  }
  for (auto& worker : workers) worker.join();
}

}  // namespace

void compute_features(const PoolColumns& pool, const QueryFeatures& query, const int64_t* rows,
                      const float* cosine, const float* resemblance, int64_t count, float* out, int threads) {
  const QueryIdf idf = query_idf_of(pool, query);
  parallel_for(count, threads, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) features_of(pool, query, idf, rows[i], cosine[i], resemblance[i], out + i * kFeatureCount);
  });
}

Reranked rerank(const PoolColumns& pool, const QueryFeatures& query, const Fusion& fusion,
                const int64_t* rows, const float* cosine, const float* resemblance, int64_t count, int64_t k,
                float threshold, int threads) {
  std::vector<float> features(static_cast<size_t>(count) * kFeatureCount);
  std::vector<float> scores(static_cast<size_t>(count));
  const QueryIdf idf = query_idf_of(pool, query);
  parallel_for(count, threads, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float* f = features.data() + i * kFeatureCount;
      features_of(pool, query, idf, rows[i], cosine[i], resemblance[i], f);
      float logit = fusion.bias;
      for (int j = 0; j < kFeatureCount; ++j) logit += fusion.weights[j] * f[j];
      logit += fusion.trees.evaluate(f);
      scores[i] = 1.0f / (1.0f + std::exp(-logit));
    }
  });

  std::vector<int64_t> order;
  order.reserve(count);
  for (int64_t i = 0; i < count; ++i) {
    if (scores[i] >= threshold) order.push_back(i);
  }
  Reranked out;
  out.passed = static_cast<int64_t>(order.size());
  const auto better = [&](int64_t a, int64_t b) {
    return scores[a] != scores[b] ? scores[a] > scores[b] : a < b;
  };
  const int64_t keep = std::min<int64_t>(k, order.size());
  std::partial_sort(order.begin(), order.begin() + keep, order.end(), better);
  order.resize(keep);
  out.positions = order;
  out.scores.reserve(keep);
  out.features.reserve(keep * kFeatureCount);
  for (int64_t i : order) {
    out.scores.push_back(scores[i]);
    out.features.insert(out.features.end(), features.begin() + i * kFeatureCount,
                        features.begin() + (i + 1) * kFeatureCount);
  }
  return out;
}

}  // namespace cerebro
