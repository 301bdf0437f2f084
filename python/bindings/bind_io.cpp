// SPDX-License-Identifier: MIT
// Model file reading, build information and the thread knob.
#include "common.hpp"

namespace mlpcore::py_bind {
namespace {

py::object wrap(LoadedModel&& m) {
  if (m.f32) return py::cast(new PyMlp<float>(std::move(*m.f32)), py::return_value_policy::take_ownership);
  return py::cast(new PyMlp<double>(std::move(*m.f64)), py::return_value_policy::take_ownership);
}

}  // namespace

void bind_io(py::module_& m) {
  py::register_exception<FormatError>(m, "ModelFormatError", PyExc_ValueError);
  m.def("load", [](const std::string& path) {
    LoadedModel lm;
    {
      py::gil_scoped_release release;
      lm = load(path);
    }
    return wrap(std::move(lm));
  }, py::arg("path"));
  m.def("deserialize", [](const py::bytes& data) { return wrap(deserialize(std::string(data))); }, py::arg("data"));
  m.def("build_info", [] {
    const BuildInfo b = build_info();
    py::dict d;
    d["version"] = b.version;
    d["eigen_version"] = b.eigen_version;
    d["compiler"] = b.compiler;
    d["isa"] = b.isa;
    d["native"] = b.native;
    d["openmp"] = b.openmp;
    d["num_threads"] = b.max_threads;
    d["bf16"] = b.bf16.empty() ? py::object(py::none()) : py::object(py::str(b.bf16));
    return d;
  });
  m.def("set_num_threads", &set_num_threads, py::arg("n"));
  m.def("get_num_threads", &get_num_threads);
  m.def("parallel_regions", &parallel_regions);
  // Test-only: cap the bf16 engine as if the CPU lacked the faster ones ("amx" = no cap).
  m.def("_bf16_limit", [](const std::string& name) { bf16_limit_engine(bf16_engine_from_string(name)); },
        py::arg("engine"));
  m.def("bf16_unavailable_reason", &bf16_unavailable_reason);
}

}  // namespace mlpcore::py_bind
