// SPDX-License-Identifier: MIT
// The engine's rules as data for Python: every name a choice accepts, and the defaults of the
// plain configuration structs. Python builds its lists and signatures from these (and a test
// checks they agree), so no rule is written twice across the boundary.
#include "common.hpp"

namespace mlpcore::py_bind {

void bind_spec(py::module_& m) {
  m.def("choices", [] {
    py::dict out;
    for (const char* kind : {"activation", "init", "output", "loss", "precision"}) out[kind] = choice_names(kind);
    py::dict loss_for_output;
    for (const auto& name : choice_names("output"))
      loss_for_output[py::str(name)] = to_string(default_loss(output_from_string(name)));
    out["loss_for_output"] = loss_for_output;
    return out;
  }, "Every accepted name per kind (activation, init, output, loss, precision) and the loss of each output.");
  m.def("defaults", [] {
    const MlpSpec spec;
    const SgdConfig sgd;
    const AdamConfig adam;
    py::dict mlp, s, a;
    mlp["leaky_relu_slope"] = spec.leaky_relu_slope;
    mlp["elu_alpha"] = spec.elu_alpha;
    mlp["maxout_pieces"] = spec.maxout_pieces;
    mlp["output"] = to_string(spec.output);
    s["lr"] = sgd.lr;
    s["momentum"] = sgd.momentum;
    s["dampening"] = sgd.dampening;
    s["weight_decay"] = sgd.weight_decay;
    s["nesterov"] = sgd.nesterov;
    a["lr"] = adam.lr;
    a["betas"] = py::make_tuple(adam.beta1, adam.beta2);
    a["eps"] = adam.eps;
    a["weight_decay"] = adam.weight_decay;
    a["amsgrad"] = adam.amsgrad;
    a["decoupled"] = adam.decoupled;
    py::dict out;
    out["mlp"] = mlp;
    out["sgd"] = s;
    out["adam"] = a;
    return out;
  }, "Defaults of the engine's MlpSpec, SgdConfig and AdamConfig.");
}

}  // namespace mlpcore::py_bind
