// SPDX-License-Identifier: MIT
#include "common.hpp"

namespace mlpcore::py_bind {
void bind_perceptron(py::module_& m);  // bind_perceptron.cpp
}

PYBIND11_MODULE(_core, m) {
  m.doc() = "mlpcore's compiled engine (private: use the mlpcore package)";
  namespace b = mlpcore::py_bind;
  pybind11::register_exception<mlpcore::IoError>(m, "IoError", PyExc_OSError);
  b::bind_mlp(m);
  b::bind_optim(m);
  b::bind_io(m);
  b::bind_perceptron(m);
}
