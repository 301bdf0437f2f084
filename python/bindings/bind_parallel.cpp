// SPDX-License-Identifier: MIT
// Data-parallel training: the sharded epoch with a reducer written in Python (mlpcore.distributed
// implements it with mpi4py; the extension itself links no MPI), and the up-front validation
// that processes agree on before their first collective call.
#include <Python.h>

#include <algorithm>
#include <utility>

#include "common.hpp"

namespace mlpcore::py_bind {
namespace {

template <class S>
using XRef = Eigen::Ref<const RowMatrix<S>>;

struct ReducerFailed {};  // a Python error is pending; unwinds the C++ loop

// Forwards the engine's calls to a Python object with methods reduce(totals) and, optionally,
// layer_ready(layer, offset, size). The object reduces the network's gradient buffer itself
// (it holds a view of it); totals travel in a float64 array of kStepTotals values.
template <class S>
class PyReducer final : public StepReducer<S> {
 public:
  PyReducer(const py::object& reducer, std::unique_ptr<py::error_already_set>& pending)
      : m_reduce(reducer.attr("reduce")), m_totals(py::ssize_t(kStepTotals)), m_pending(pending) {
    if (py::hasattr(reducer, "layer_ready")) m_layer_ready = reducer.attr("layer_ready");
  }
  void layer_ready(Index layer, Index offset, Index size) override {
    if (m_layer_ready) call([&] { m_layer_ready(layer, offset, size); });
  }
  void reduce(S*, Index, double* totals) override {
    call([&] {
      std::copy(totals, totals + kStepTotals, m_totals.mutable_data());
      m_reduce(m_totals);
      std::copy(m_totals.data(), m_totals.data() + kStepTotals, totals);
    });
  }

 private:
  template <class F>
  void call(const F& f) {
    py::gil_scoped_acquire gil;
    try {
      f();
    } catch (py::error_already_set& e) {
      m_pending = std::make_unique<py::error_already_set>(std::move(e));
      throw ReducerFailed{};
    }
  }
  py::object m_reduce, m_layer_ready;
  py::array_t<double> m_totals;
  std::unique_ptr<py::error_already_set>& m_pending;
};

// Methods added to the Mlp32/Mlp64 classes that bind_mlp.cpp registers.
template <class S, class F, class... Extra>
void add_method(const py::object& cls, const char* name, F&& f, const Extra&... extra) {
  cls.attr(name) = py::cpp_function(std::forward<F>(f), py::name(name), py::is_method(cls),
                                    py::sibling(py::getattr(cls, name, py::none())), extra...);
}

template <class S>
void bind_one() {
  const py::object cls = py::type::of<PyMlp<S>>();
  add_method<S>(cls, "validate_epoch", [](PyMlp<S>& s, const XRef<S>& X, const py::array& y, const py::object& w,
                                          Loss loss, Index batch_size) {
    const TargetView<S> t = target_view<S>(y);
    const S* wp = weight_ptr<S>(w, t.rows);
    py::gil_scoped_release release;
    validate_epoch<S>(s.net, X, t, wp, loss, epoch_options(batch_size, false, 0, 0, true));
  }, py::arg("X").noconvert(), py::arg("y"), py::arg("sample_weight"), py::arg("loss"), py::arg("batch_size"));
  add_method<S>(cls, "train_epoch_sharded", [](PyMlp<S>& s, const XRef<S>& X, const py::array& y,
                                               const py::object& w, Loss loss, Optimizer<S>& opt, Index batch_size,
                                               bool shuffle, std::uint64_t seed, std::uint64_t epoch, Index rank,
                                               Index parts, const py::object& reducer, const py::object& should_stop,
                                               bool check_finite) {
    const TargetView<S> t = target_view<S>(y);
    const S* wp = weight_ptr<S>(w, t.rows);
    const EpochOptions o = epoch_options(batch_size, shuffle, seed, epoch, check_finite);
    std::unique_ptr<py::error_already_set> pending;  // created only with the GIL held
    const auto stop = python_should_stop(should_stop, pending);
    std::unique_ptr<PyReducer<S>> bridge;
    if (!reducer.is_none()) bridge = std::make_unique<PyReducer<S>>(reducer, pending);
    std::vector<Index> order;
    EpochResult r;
    try {
      py::gil_scoped_release release;
      r = train_epoch_sharded<S>(s.net, opt, X, t, wp, loss, o, rank, parts, bridge.get(), s.ws, order, stop);
    } catch (const ReducerFailed&) {
    }
    if (pending) throw *pending;
    return r;
  }, py::arg("X").noconvert(), py::arg("y"), py::arg("sample_weight"), py::arg("loss"), py::arg("optimizer"),
     py::arg("batch_size"), py::arg("shuffle"), py::arg("seed"), py::arg("epoch"), py::arg("rank"), py::arg("parts"),
     py::arg("reducer") = py::none(), py::arg("should_stop") = py::none(), py::arg("check_finite") = true);
}

}  // namespace

void bind_parallel(py::module_&) {
  bind_one<float>();
  bind_one<double>();
}

}  // namespace mlpcore::py_bind
