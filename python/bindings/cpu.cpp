// SPDX-License-Identifier: MIT
// mlpcore._cpu: which engine copy of a portable build this CPU runs. A module of its own, with
// no bound types, so it can be imported before the engine: two engine copies bind the same C++
// types and must never be loaded into one process.
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

#include "cpu_features.hpp"  // MLPCORE_CPU_RUNS_<isa>, generated from the build's flags

namespace py = pybind11;

PYBIND11_MODULE(_cpu, m) {
  m.doc() = "CPU feature checks for choosing mlpcore's engine (private)";
  m.def("supports", [](const std::string& isa) -> bool {
    if (isa != "avx2" && isa != "avx512")
      throw std::invalid_argument("unknown instruction set '" + isa + "' (expected avx2 or avx512)");
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    // These builtins also check that the operating system saves the wider registers.
    __builtin_cpu_init();
    if (isa == "avx2") return MLPCORE_CPU_RUNS_avx2;
    return MLPCORE_CPU_RUNS_avx512;
#else
    return false;
#endif
  }, py::arg("isa"), "Whether this CPU runs the engine compiled for `isa` ('avx2' or 'avx512').");
}
