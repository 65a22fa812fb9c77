// Python bindings for the native hot loops. Every entry point releases the GIL while it works.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>

#include "rerank.hpp"
#include "topk.hpp"

namespace py = pybind11;

namespace {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
using MaskArray = py::array_t<bool, py::array::c_style | py::array::forcecast>;

template <typename T>
py::array_t<T> to_numpy(const std::vector<T>& values) {
  py::array_t<T> array(static_cast<py::ssize_t>(values.size()));
  if (!values.empty()) std::memcpy(array.mutable_data(), values.data(), values.size() * sizeof(T));
  return array;
}

py::tuple topk(FloatArray scores, std::optional<MaskArray> mask, int64_t k) {
  if (scores.ndim() != 1) throw std::invalid_argument("scores must be a 1-D array");
  if (k < 0) throw std::invalid_argument("k must be >= 0");
  const int64_t n = scores.shape(0);
  const uint8_t* mask_ptr = nullptr;
  if (mask.has_value()) {
    if (mask->ndim() != 1 || mask->shape(0) != n)
      throw std::invalid_argument("mask must be a 1-D array with the same length as scores");
    mask_ptr = reinterpret_cast<const uint8_t*>(mask->data());
  }
  const float* score_ptr = scores.data();
  cerebro::TopK result;
  {
    py::gil_scoped_release release;
    result = cerebro::filtered_topk(score_ptr, mask_ptr, n, k);
  }
  return py::make_tuple(to_numpy(result.indices), to_numpy(result.scores));
}


// The side views' column names, in cerebro::PoolColumns::views order.
constexpr const char* kSideViewNames[cerebro::kSideViews] = {"title", "skills", "experience"};

// A pool's column arrays, read from the Python FeatureColumns' attributes without copies: each must
// already have the exact dtype and be C-contiguous (FeatureColumns guarantees it).
template <typename T>
const T* column(const py::object& pool, const char* name, int64_t rows, int64_t width = 1) {
  py::array array = pool.attr(name);
  if (!py::isinstance<py::array_t<T>>(array) || !(array.flags() & py::array::c_style))
    throw std::invalid_argument(std::string("column ") + name + " has the wrong dtype or layout");
  if (array.size() < rows * width) throw std::invalid_argument(std::string("column ") + name + " is too short");
  return static_cast<const T*>(array.data());
}

cerebro::PoolColumns pool_columns(const py::object& pool) {
  cerebro::PoolColumns p;
  p.rows = pool.attr("rows").cast<int64_t>();  // candidate rows must be below this
  p.dim = pool.attr("dimension").cast<int64_t>();
  for (int view = 0; view < cerebro::kSideViews; ++view) {
    const std::string name = kSideViewNames[view];
    p.views[view] = column<int8_t>(pool, name.c_str(), p.rows, p.dim);
    p.view_scales[view] = column<float>(pool, (name + "_scale").c_str(), p.rows);
  }
  p.skill_start = column<int64_t>(pool, "skill_start", p.rows);
  p.skill_count = column<int32_t>(pool, "skill_count", p.rows);
  const int64_t used = pool.attr("skill_used").cast<int64_t>();
  p.skill_ids = column<uint32_t>(pool, "skill_ids", used);
  p.skill_weights = column<float>(pool, "skill_weights", used);
  p.years = column<float>(pool, "years", p.rows);
  p.education = column<int8_t>(pool, "education", p.rows);
  p.languages = column<int64_t>(pool, "languages", p.rows);
  p.lat = column<float>(pool, "lat", p.rows);
  p.lng = column<float>(pool, "lng", p.rows);
  p.term_start = column<int64_t>(pool, "term_start", p.rows);
  p.term_count = column<int32_t>(pool, "term_count", p.rows);
  const int64_t terms_used = pool.attr("term_used").cast<int64_t>();
  p.term_ids = column<uint32_t>(pool, "term_ids", terms_used);
  p.term_freqs = column<uint8_t>(pool, "term_freqs", terms_used);
  p.term_length = column<float>(pool, "term_length", p.rows);
  p.mean_length = pool.attr("mean_length").cast<float>();
  p.term_df = column<int32_t>(pool, "term_df", cerebro::kTermBuckets);
  p.term_docs = pool.attr("term_docs").cast<int64_t>();
  return p;
}

struct QueryArrays {
  std::optional<FloatArray> views[cerebro::kSideViews];
  py::array_t<uint32_t, py::array::c_style | py::array::forcecast> skill_ids, term_ids, preferred_ids;
  py::array_t<uint8_t, py::array::c_style | py::array::forcecast> term_freqs;
  FloatArray skill_weights;
  cerebro::QueryFeatures features;
};

QueryArrays query_features(const py::object& query, int64_t dim) {
  QueryArrays q;
  auto& f = q.features;
  for (int view = 0; view < cerebro::kSideViews; ++view) {
    py::object value = query.attr(kSideViewNames[view]);
    if (value.is_none()) continue;
    q.views[view] = value.cast<FloatArray>();
    if (q.views[view]->size() != dim)
      throw std::invalid_argument(std::string("query ") + kSideViewNames[view] + " has the wrong size");
    f.views[view] = q.views[view]->data();
  }
  q.skill_ids = query.attr("skill_ids").cast<decltype(q.skill_ids)>();
  q.skill_weights = query.attr("skill_weights").cast<FloatArray>();
  if (q.skill_ids.size() != q.skill_weights.size())
    throw std::invalid_argument("query skill ids and weights differ in length");
  f.skill_ids = q.skill_ids.data();
  f.skill_weights = q.skill_weights.data();
  f.skill_count = q.skill_ids.size();
  f.years = query.attr("years").cast<float>();
  f.education = static_cast<int8_t>(query.attr("education").cast<int>());
  f.languages = query.attr("languages").cast<int64_t>();
  f.lat = query.attr("lat").cast<float>();
  f.lng = query.attr("lng").cast<float>();
  f.is_job = query.attr("is_job").cast<bool>();
  q.term_ids = query.attr("term_ids").cast<decltype(q.term_ids)>();
  q.term_freqs = query.attr("term_freqs").cast<decltype(q.term_freqs)>();
  if (q.term_freqs.size() != q.term_ids.size()) throw std::invalid_argument("query term ids and counts differ in length");
  f.term_ids = q.term_ids.data();
  f.term_freqs = q.term_freqs.data();
  f.term_count = q.term_ids.size();
  f.length = query.attr("length").cast<float>();
  q.preferred_ids = query.attr("preferred_term_ids").cast<decltype(q.preferred_ids)>();
  f.preferred_ids = q.preferred_ids.data();
  f.preferred_count = q.preferred_ids.size();
  return q;
}

using RowArray = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

void check_candidates(const cerebro::PoolColumns& pool, const RowArray& rows, const FloatArray& cosine,
                      const FloatArray& resemblance) {
  if (rows.ndim() != 1 || cosine.ndim() != 1 || resemblance.ndim() != 1 || rows.shape(0) != cosine.shape(0) ||
      rows.shape(0) != resemblance.shape(0))
    throw std::invalid_argument("rows, cosine and resemblance must be 1-D arrays of the same length");
  const int64_t* r = rows.data();
  for (py::ssize_t i = 0; i < rows.shape(0); ++i) {
    if (r[i] < 0 || r[i] >= pool.rows) throw std::out_of_range("candidate row out of range");
  }
}

py::array_t<float> features(const py::object& pool_object, const py::object& query_object, RowArray rows,
                            FloatArray cosine, FloatArray resemblance, int threads) {
  const cerebro::PoolColumns pool = pool_columns(pool_object);
  const QueryArrays query = query_features(query_object, pool.dim);
  check_candidates(pool, rows, cosine, resemblance);
  py::array_t<float> out({static_cast<py::ssize_t>(rows.shape(0)), static_cast<py::ssize_t>(cerebro::kFeatureCount)});
  float* out_ptr = out.mutable_data();
  {
    py::gil_scoped_release release;
    cerebro::compute_features(pool, query.features, rows.data(), cosine.data(), resemblance.data(), rows.shape(0),
                              out_ptr, threads);
  }
  return out;
}

using NodeArray = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;

// The arrays of an algorithm's trees (None: a linear algorithm), checked so that every walk ends in a leaf.
struct TreeArrays {
  NodeArray feature, left, right, roots;
  FloatArray threshold, value;
  cerebro::Trees trees;
};

void tree_arrays(const py::object& object, TreeArrays& out) {
  if (object.is_none()) return;
  out.feature = object.attr("feature").cast<NodeArray>();
  out.threshold = object.attr("threshold").cast<FloatArray>();
  out.left = object.attr("left").cast<NodeArray>();
  out.right = object.attr("right").cast<NodeArray>();
  out.value = object.attr("value").cast<FloatArray>();
  out.roots = object.attr("roots").cast<NodeArray>();
  const py::ssize_t nodes = out.feature.size();
  if (out.threshold.size() != nodes || out.left.size() != nodes || out.right.size() != nodes ||
      out.value.size() != nodes)
    throw std::invalid_argument("tree arrays differ in length");
  const int32_t* feature = out.feature.data();
  for (py::ssize_t node = 0; node < nodes; ++node) {
    if (feature[node] >= cerebro::kFeatureCount) throw std::invalid_argument("tree splits on an unknown feature");
    if (feature[node] >= 0) {
      for (const int32_t child : {out.left.data()[node], out.right.data()[node]})
        if (child <= node || child >= nodes) throw std::invalid_argument("tree child out of order or range");
    }
  }
  for (py::ssize_t t = 0; t < out.roots.size(); ++t)
    if (out.roots.data()[t] < 0 || out.roots.data()[t] >= nodes) throw std::invalid_argument("tree root out of range");
  out.trees = {feature, out.threshold.data(), out.left.data(), out.right.data(), out.value.data(),
               out.roots.data(), static_cast<int64_t>(out.roots.size())};
}

py::tuple rerank(const py::object& pool_object, const py::object& query_object, FloatArray weights, float bias,
                 const py::object& trees_object, RowArray rows, FloatArray cosine, FloatArray resemblance, int64_t k,
                 float threshold, int threads) {
  const cerebro::PoolColumns pool = pool_columns(pool_object);
  const QueryArrays query = query_features(query_object, pool.dim);
  check_candidates(pool, rows, cosine, resemblance);
  if (weights.size() != cerebro::kFeatureCount) throw std::invalid_argument("wrong number of fusion weights");
  if (k < 0) throw std::invalid_argument("k must be >= 0");
  TreeArrays trees;
  tree_arrays(trees_object, trees);
  const cerebro::Fusion fusion{weights.data(), bias, trees.trees};
  cerebro::Reranked result;
  {
    py::gil_scoped_release release;
    result = cerebro::rerank(pool, query.features, fusion, rows.data(), cosine.data(), resemblance.data(),
                             rows.shape(0), k, threshold, threads);
  }
  py::array_t<float> feature_matrix = to_numpy(result.features);
  feature_matrix.resize({static_cast<py::ssize_t>(result.positions.size()),
                         static_cast<py::ssize_t>(cerebro::kFeatureCount)});
  return py::make_tuple(to_numpy(result.positions), to_numpy(result.scores), feature_matrix, result.passed);
}

}  // namespace

PYBIND11_MODULE(_native, m) {
  m.doc() = "Cerebro Serve native kernels (C++, GIL released).";
  m.def("topk", &topk, py::arg("scores"), py::arg("mask") = py::none(), py::arg("k"),
        "Top-k (indices, scores) among masked, non-NaN scores; score descending, ties by lower index.");
  m.attr("FEATURE_COUNT") = cerebro::kFeatureCount;
  m.attr("TERM_BUCKETS") = cerebro::kTermBuckets;
  py::list side_views;
  for (const char* name : kSideViewNames) side_views.append(name);
  m.attr("SIDE_VIEWS") = py::tuple(side_views);
  m.def("rerank", &rerank, py::arg("pool"), py::arg("query"), py::arg("weights"), py::arg("bias"), py::arg("trees"),
        py::arg("rows"),
        py::arg("cosine"), py::arg("resemblance"), py::arg("k"), py::arg("threshold"), py::arg("threads"),
        "Fused re-ranking of candidate rows: (positions, scores, features, passed), best first.");
  m.def("features", &features, py::arg("pool"), py::arg("query"), py::arg("rows"), py::arg("cosine"),
        py::arg("resemblance"), py::arg("threads"), "The structured features of each candidate row (count x FEATURE_COUNT).");
}
