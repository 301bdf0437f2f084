// SPDX-License-Identifier: MIT
// The scikit-learn estimators' whole stochastic fit (estimator_fit.hpp) in one call.
#include <Python.h>

#include <cstring>
#include <memory>

#include "common.hpp"

namespace mlpcore::py_bind {
namespace {

using DArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

template <class S>
py::tuple fit(PyMlp<S>& self, const py::array& X_array, const py::array& y, const py::object& w, Loss loss,
              Optimizer<S>& opt, const EstimatorFitOptions& options, EstimatorFitState& state,
              py::array_t<std::uint32_t, py::array::c_style> key, int pos, const py::object& val_X,
              const py::object& val_labels, const py::object& val_y, const py::object& val_w,
              const py::array& best_array, const py::object& log) {
  // X is mapped, never copied: the caller made it C-contiguous in the model's dtype.
  if (!py::isinstance<py::array_t<S, py::array::c_style>>(X_array) || X_array.ndim() != 2)
    throw py::type_error(std::string("X must be a C-contiguous 2-D ") + dtype_name<S>() + " array");
  const MatrixCMap<S> X(static_cast<const S*>(X_array.data()), X_array.shape(0), X_array.shape(1));
  const TargetView<S> t = target_view<S>(y);
  const S* wp = weight_ptr<S>(w, t.rows);
  NumpyMt19937 rng;
  if (key.ndim() != 1 || key.shape(0) != 624 || pos < 0 || pos > 624)
    throw std::invalid_argument("the generator state must be 624 uint32 values and a position in [0, 624]");
  std::memcpy(rng.key.data(), key.data(), sizeof(std::uint32_t) * 624);
  rng.pos = pos;
  // The validation arrays stay alive in the caller while the GIL is released.
  ValidationSet<S> val;
  py::array_t<S, py::array::c_style> vx;
  py::array_t<std::int32_t, py::array::c_style> vl;
  DArray vy, vw;
  if (!val_X.is_none()) {
    vx = py::array_t<S, py::array::c_style>::ensure(val_X);
    if (!vx || vx.ndim() != 2 || vx.shape(1) != self.net.spec().n_inputs())
      throw std::invalid_argument("validation X must be a C-contiguous (n, n_inputs) array of the model's dtype");
    val.X = vx.data();
    val.rows = vx.shape(0);
    if (!val_labels.is_none()) {
      vl = py::array_t<std::int32_t, py::array::c_style>::ensure(val_labels);
      if (!vl || vl.ndim() != 1 || vl.shape(0) != val.rows)
        throw std::invalid_argument("validation labels must be int32 of shape (n,)");
      for (Index i = 0; i < val.rows; ++i)
        if (vl.data()[i] < 0 || vl.data()[i] >= self.net.spec().n_outputs())
          throw std::invalid_argument("validation label out of range at row " + std::to_string(i));
      val.labels = vl.data();
    } else {
      vy = DArray::ensure(val_y);
      if (!vy || vy.ndim() != 2 || vy.shape(0) != val.rows || vy.shape(1) != self.net.spec().n_outputs())
        throw std::invalid_argument("validation targets must have shape (n, n_outputs)");
      val.y = vy.data();
    }
    if (!val_w.is_none()) {
      vw = DArray::ensure(val_w);
      if (!vw || vw.ndim() != 1 || vw.shape(0) != val.rows)
        throw std::invalid_argument("validation sample weights must have shape (n,)");
      val.weights = vw.data();
    }
  }
  if (!py::isinstance<py::array_t<S, py::array::c_style>>(best_array) || best_array.ndim() != 1 ||
      !best_array.writeable())
    throw py::type_error(std::string("best_params must be a writable 1-D ") + dtype_name<S>() + " array");
  VectorMap<S> best(static_cast<S*>(py::array(best_array).mutable_data()), best_array.shape(0));

  std::unique_ptr<py::error_already_set> pending;  // created only with the GIL held
  const py::object no_callable = py::none();
  const auto check_signals = python_should_stop(no_callable, pending);
  // An error (Ctrl-C) raised while a verbose line prints also ends the fit, at the next poll.
  const std::function<bool()> stop = [&]() { return pending != nullptr || check_signals(); };
  std::function<void(const std::string&)> say;
  if (!log.is_none())  // verbose only: takes the GIL for each line
    say = [&log, &pending](const std::string& line) {
      py::gil_scoped_acquire gil;
      if (pending) return;
      try {
        log(line);
      } catch (py::error_already_set& e) {
        pending = std::make_unique<py::error_already_set>(std::move(e));
      }
    };
  EstimatorFitResult r;
  {
    py::gil_scoped_release release;
    r = fit_estimator<S>(self.net, opt, X, t, wp, loss, options, val.X ? &val : nullptr, rng, best, state, say,
                         stop);
  }
  std::memcpy(key.mutable_data(), rng.key.data(), sizeof(std::uint32_t) * 624);
  if (pending) {
    // Ctrl-C ends the fit with a usable model (the caller warns); anything else propagates.
    if (!pending->matches(PyExc_KeyboardInterrupt)) throw *pending;
    r.interrupted = true;
  }
  return py::make_tuple(r, rng.pos);
}

}  // namespace

void bind_estimator(py::module_& m) {
  py::enum_<LrSchedule>(m, "LrSchedule")
      .value("constant", LrSchedule::Constant)
      .value("invscaling", LrSchedule::InvScaling)
      .value("adaptive", LrSchedule::Adaptive);
  py::enum_<ValidationScore>(m, "ValidationScore")
      .value("accuracy", ValidationScore::Accuracy)
      .value("r2", ValidationScore::R2);
  using O = EstimatorFitOptions;
  py::class_<O>(m, "EstimatorFitOptions")
      .def(py::init<>())
      .def_readwrite("batch_size", &O::batch_size)
      .def_readwrite("shuffle", &O::shuffle)
      .def_readwrite("max_iter", &O::max_iter)
      .def_readwrite("tol", &O::tol)
      .def_readwrite("n_iter_no_change", &O::n_iter_no_change)
      .def_readwrite("sgd", &O::sgd)
      .def_readwrite("schedule", &O::schedule)
      .def_readwrite("lr_init", &O::lr_init)
      .def_readwrite("power_t", &O::power_t)
      .def_readwrite("grad_factor", &O::grad_factor)
      .def_readwrite("data_factor", &O::data_factor)
      .def_readwrite("loss_offset", &O::loss_offset)
      .def_readwrite("early_stopping", &O::early_stopping)
      .def_readwrite("score", &O::score)
      .def_readwrite("check_interval", &O::check_interval);
  using St = EstimatorFitState;
  py::class_<St>(m, "EstimatorFitState")
      .def(py::init<>())
      .def_readwrite("n_iter", &St::n_iter)
      .def_readwrite("t", &St::t)
      .def_readwrite("lr", &St::lr)
      .def_readwrite("best_loss", &St::best_loss)
      .def_readwrite("best_validation_score", &St::best_validation_score)
      .def_readwrite("no_improvement_count", &St::no_improvement_count)
      .def_readonly("loss", &St::loss)
      .def_readonly("loss_curve", &St::loss_curve)
      .def_readonly("validation_scores", &St::validation_scores);
  py::class_<EstimatorFitResult>(m, "EstimatorFitResult")
      .def_readonly("converged", &EstimatorFitResult::converged)
      .def_readonly("interrupted", &EstimatorFitResult::interrupted)
      .def_readonly("diverged", &EstimatorFitResult::diverged);
  m.def("fit_estimator", [](const py::object& net, const py::array& X, const py::array& y, const py::object& w,
                            Loss loss, const py::object& opt, const EstimatorFitOptions& options,
                            EstimatorFitState& state, py::array_t<std::uint32_t, py::array::c_style> key, int pos,
                            const py::object& val_X, const py::object& val_labels, const py::object& val_y,
                            const py::object& val_w, const py::array& best_params, const py::object& log) {
    if (py::isinstance<PyMlp<float>>(net))
      return fit<float>(net.cast<PyMlp<float>&>(), X, y, w, loss, opt.cast<Optimizer<float>&>(), options, state,
                        key, pos, val_X, val_labels, val_y, val_w, best_params, log);
    return fit<double>(net.cast<PyMlp<double>&>(), X, y, w, loss, opt.cast<Optimizer<double>&>(), options, state,
                       key, pos, val_X, val_labels, val_y, val_w, best_params, log);
  }, py::arg("net"), py::arg("X"), py::arg("y"), py::arg("sample_weight"), py::arg("loss"), py::arg("optimizer"),
     py::arg("options"), py::arg("state"), py::arg("key"), py::arg("pos"), py::arg("val_X"), py::arg("val_labels"),
     py::arg("val_y"), py::arg("val_weight"), py::arg("best_params"), py::arg("log"));
}

}  // namespace mlpcore::py_bind
