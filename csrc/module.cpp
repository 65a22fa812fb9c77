// Python bindings for the native hot loops. Every entry point releases the GIL while it works.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <optional>
#include <stdexcept>

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

}  // namespace

PYBIND11_MODULE(_native, m) {
  m.doc() = "Cerebro Serve native kernels (C++, GIL released).";
  m.def("topk", &topk, py::arg("scores"), py::arg("mask") = py::none(), py::arg("k"),
        "Top-k (indices, scores) among masked, non-NaN scores; score descending, ties by lower index.");
}
