// SPDX-License-Identifier: MIT
// Shared helpers of the binding files: the only code that sees both Python and the core.
#pragma once
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <mlpcore/mlpcore.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace mlpcore::py_bind {

namespace py = pybind11;

/// A model plus the workspace Python calls use. Concurrent callers that find the workspace busy
/// use a temporary one, so predictions from many threads are safe.
template <class S>
struct PyMlp {
  BasicMlp<S> net;
  Workspace<S> ws;
  std::mutex ws_mutex;
  explicit PyMlp(BasicMlp<S>&& n) : net(std::move(n)) {}
};

/// Targets from a NumPy array without copying: int32 labels (n,) or S values (n, outputs).
template <class S>
TargetView<S> target_view(const py::array& y) {
  TargetView<S> t;
  if (py::isinstance<py::array_t<std::int32_t, py::array::c_style>>(y) && y.ndim() == 1) {
    t.labels = static_cast<const std::int32_t*>(y.data());
    t.rows = y.shape(0);
  } else if (py::isinstance<py::array_t<S, py::array::c_style>>(y) && y.ndim() == 2) {
    t.dense = static_cast<const S*>(y.data());
    t.rows = y.shape(0);
    t.cols = y.shape(1);
  } else {
    throw py::type_error(std::string("y must be a C-contiguous int32 array of labels (n,) or a C-contiguous ") +
                         (sizeof(S) == 4 ? "float32" : "float64") + " array of targets (n, outputs)");
  }
  return t;
}

/// Optional per-sample weights: None or a C-contiguous S array (n,).
template <class S>
const S* weight_ptr(const py::object& w, Index n) {
  if (w.is_none()) return nullptr;
  if (!py::isinstance<py::array_t<S, py::array::c_style>>(w))
    throw py::type_error(std::string("sample_weight must be a C-contiguous ") + (sizeof(S) == 4 ? "float32" : "float64") + " array");
  auto a = py::reinterpret_borrow<py::array>(w);
  if (a.ndim() != 1 || a.shape(0) != n)
    throw std::invalid_argument("sample_weight must have shape (" + std::to_string(n) + ",)");
  return static_cast<const S*>(a.data());
}

/// The should_stop of a training loop running with the GIL released: takes the GIL briefly,
/// lets Python run its signal handlers (Ctrl-C), then asks the optional callable. A Python
/// error is kept in `pending` (created with the GIL held) and ends the loop.
inline std::function<bool()> python_should_stop(const py::object& should_stop,
                                                std::unique_ptr<py::error_already_set>& pending) {
  return [&should_stop, &pending]() -> bool {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) {
      pending = std::make_unique<py::error_already_set>();
      return true;
    }
    if (should_stop.is_none()) return false;
    try {
      return should_stop().cast<bool>();
    } catch (py::error_already_set& e) {
      pending = std::make_unique<py::error_already_set>(std::move(e));
      return true;
    }
  };
}

inline EpochOptions epoch_options(Index batch_size, bool shuffle, std::uint64_t seed, std::uint64_t epoch,
                                  bool check_finite) {
  EpochOptions o;
  o.batch_size = batch_size;
  o.shuffle = shuffle;
  o.seed = seed;
  o.epoch = epoch;
  o.check_finite = check_finite;
  return o;
}

template <class S>
const char* dtype_name() { return sizeof(S) == 4 ? "float32" : "float64"; }

void bind_mlp(py::module_& m);
void bind_optim(py::module_& m);
void bind_io(py::module_& m);
void bind_parallel(py::module_& m);

}  // namespace mlpcore::py_bind
