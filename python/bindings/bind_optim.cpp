// SPDX-License-Identifier: MIT
// Optimizers: SGD and Adam state objects per scalar type, sharing the Optimizer base.
#include "common.hpp"

namespace mlpcore::py_bind {
namespace {

template <class S>
void bind_one(py::module_& m, const char* base, const char* sgd, const char* adam) {
  py::class_<Optimizer<S>>(m, base)
      .def_property("lr", &Optimizer<S>::lr, &Optimizer<S>::set_lr)
      .def_property_readonly("steps", &Optimizer<S>::steps)
      .def_property_readonly("state_size", &Optimizer<S>::state_size)
      .def("reset", &Optimizer<S>::reset)
      // Live views of the state vectors by name (empty before the first step); each keeps the
      // optimizer alive. restore(steps, n) then filling them copies a state in.
      .def("state", [](py::object self) {
        py::dict out;
        for (const auto& [name, v] : self.cast<Optimizer<S>&>().state())
          out[py::str(name)] = py::array_t<S>({v.size()}, {sizeof(S)}, v.data(), self);
        return out;
      })
      .def("restore", &Optimizer<S>::restore, py::arg("steps"), py::arg("n"));
  py::class_<Sgd<S>, Optimizer<S>>(m, sgd)
      .def(py::init([](double lr, double momentum, double dampening, double weight_decay, bool nesterov) {
             SgdConfig c{lr, momentum, dampening, weight_decay, nesterov};
             return new Sgd<S>(c);
           }),
           py::arg("lr"), py::arg("momentum"), py::arg("dampening"), py::arg("weight_decay"), py::arg("nesterov"))
      .def_property_readonly("momentum_buffer", [](const Sgd<S>& o) { return Vector<S>(o.momentum_buffer()); });
  py::class_<Adam<S>, Optimizer<S>>(m, adam)
      .def(py::init([](double lr, double beta1, double beta2, double eps, double weight_decay, bool amsgrad, bool decoupled) {
             AdamConfig c{lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled};
             return new Adam<S>(c);
           }),
           py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"),
           py::arg("amsgrad"), py::arg("decoupled"))
      .def_property_readonly("exp_avg", [](const Adam<S>& o) { return Vector<S>(o.m()); })
      .def_property_readonly("exp_avg_sq", [](const Adam<S>& o) { return Vector<S>(o.v()); });
}

}  // namespace

void bind_optim(py::module_& m) {
  bind_one<float>(m, "Optimizer32", "Sgd32", "Adam32");
  bind_one<double>(m, "Optimizer64", "Sgd64", "Adam64");
}

}  // namespace mlpcore::py_bind
