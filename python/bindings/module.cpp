// SPDX-License-Identifier: MIT
#include "common.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "mlpcore's compiled engine (private: use the mlpcore package)";
  namespace b = mlpcore::py_bind;
  pybind11::register_exception<mlpcore::IoError>(m, "IoError", PyExc_OSError);
  b::bind_mlp(m);
  b::bind_optim(m);
  b::bind_io(m);
}
