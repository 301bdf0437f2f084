// SPDX-License-Identifier: MIT
// Perceptron32 / Perceptron64: the perceptron rule's epoch loop, weights as live views.
#include <mlpcore/perceptron.hpp>

#include "common.hpp"

namespace mlpcore::py_bind {
namespace {

template <class T>
const T* optional_ptr(const py::object& a, Index n, const char* name) {
  if (a.is_none()) return nullptr;
  if (!py::isinstance<py::array_t<T, py::array::c_style>>(a))
    throw py::type_error(std::string(name) + " must be a C-contiguous array of the right dtype");
  auto arr = py::reinterpret_borrow<py::array>(a);
  if (arr.ndim() != 1 || arr.shape(0) != n)
    throw std::invalid_argument(std::string(name) + " must have shape (" + std::to_string(n) + ",)");
  return static_cast<const T*>(arr.data());
}

PerceptronPenalty penalty_from_string(const std::string& s) {
  if (s == "none") return PerceptronPenalty::None;
  if (s == "l2") return PerceptronPenalty::L2;
  if (s == "l1") return PerceptronPenalty::L1;
  throw std::invalid_argument("penalty must be 'none', 'l2' or 'l1', got '" + s + "'");
}

template <class S>
void bind_one(py::module_& m, const char* name) {
  using P = BasicPerceptron<S>;
  py::class_<P>(m, name)
      .def(py::init([](Index units, Index features, double eta0, const std::string& penalty, double alpha,
                       bool fit_intercept) {
             PerceptronConfig c{eta0, penalty_from_string(penalty), alpha, fit_intercept};
             return new P(units, features, c);
           }),
           py::arg("n_units"), py::arg("n_features"), py::arg("eta0"), py::arg("penalty"), py::arg("alpha"),
           py::arg("fit_intercept"))
      // Live views; the array keeps the perceptron alive.
      .def_property_readonly("weights", [](py::object self) {
        auto& p = self.cast<P&>();
        return py::array_t<S>({p.n_units(), p.n_features()}, p.weights().data(), self);
      })
      .def_property_readonly("bias", [](py::object self) {
        auto& p = self.cast<P&>();
        return py::array_t<S>({p.n_units()}, p.bias().data(), self);
      })
      .def("train_epoch", [](P& p, const Eigen::Ref<const RowMatrix<S>>& X,
                             const py::array_t<std::int32_t, py::array::c_style>& labels,
                             const py::object& sample_weight, const py::object& positive_weight,
                             const py::object& negative_weight, const py::object& active, bool shuffle,
                             std::uint64_t seed, std::uint64_t epoch, const py::object& row_keys) {
        if (labels.ndim() != 1 || labels.shape(0) != X.rows())
          throw std::invalid_argument("labels must have shape (" + std::to_string(X.rows()) + ",)");
        const S* sw = optional_ptr<S>(sample_weight, X.rows(), "sample_weight");
        const double* pos = optional_ptr<double>(positive_weight, p.n_units(), "positive_weight");
        const double* neg = optional_ptr<double>(negative_weight, p.n_units(), "negative_weight");
        const std::uint8_t* act = optional_ptr<std::uint8_t>(active, p.n_units(), "active");
        const std::uint64_t* keys = optional_ptr<std::uint64_t>(row_keys, X.rows(), "row_keys");
        PerceptronEpoch r;
        {
          py::gil_scoped_release release;  // only raw pointers below; the caller holds the arrays
          r = p.train_epoch(X, labels.data(), sw, pos, neg, act, shuffle, seed, epoch, keys);
        }
        return py::make_tuple(r.loss, r.presentations, r.updates);
      }, py::arg("X").noconvert(), py::arg("labels"), py::arg("sample_weight"), py::arg("positive_weight"),
         py::arg("negative_weight"), py::arg("active"), py::arg("shuffle"), py::arg("seed"), py::arg("epoch"),
         py::arg("row_keys") = py::none())
      .def_static("row_keys", [](const Eigen::Ref<const RowMatrix<S>>& X,
                                 const py::array_t<std::int32_t, py::array::c_style>& labels) {
        if (labels.ndim() != 1 || labels.shape(0) != X.rows())
          throw std::invalid_argument("labels must have shape (" + std::to_string(X.rows()) + ",)");
        std::vector<std::uint64_t> keys;
        {
          py::gil_scoped_release release;
          keys = P::row_keys(X, labels.data());
        }
        py::array_t<std::uint64_t> out(static_cast<py::ssize_t>(keys.size()));
        std::copy(keys.begin(), keys.end(), out.mutable_data());
        return out;
      }, py::arg("X").noconvert(), py::arg("labels"));
}

}  // namespace

void bind_perceptron(py::module_& m) {
  bind_one<float>(m, "Perceptron32");
  bind_one<double>(m, "Perceptron64");
}

}  // namespace mlpcore::py_bind
