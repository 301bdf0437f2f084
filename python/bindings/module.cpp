// SPDX-License-Identifier: MIT
#include "common.hpp"

namespace mlpcore::py_bind {
void bind_perceptron(py::module_& m);  // bind_perceptron.cpp
void bind_spec(py::module_& m);        // bind_spec.cpp
void bind_estimator(py::module_& m);   // bind_estimator.cpp
}

// The same bindings are built once per engine copy in a portable build (python/CMakeLists.txt):
// _core (baseline), _core_avx2, _core_avx512.
#ifndef MLPCORE_MODULE_NAME
#define MLPCORE_MODULE_NAME _core
#endif

PYBIND11_MODULE(MLPCORE_MODULE_NAME, m) {
  m.doc() = "mlpcore's compiled engine (private: use the mlpcore package)";
  namespace b = mlpcore::py_bind;
  pybind11::register_exception<mlpcore::IoError>(m, "IoError", PyExc_OSError);
  b::bind_spec(m);
  b::bind_mlp(m);
  b::bind_optim(m);
  b::bind_io(m);
  b::bind_parallel(m);
  b::bind_perceptron(m);
  b::bind_estimator(m);
}
