// SPDX-License-Identifier: MIT
/// Test helper: a validated MlpSpec from the layer sizes, the hidden activations and the output
/// kind, every other field at its default.
#pragma once
#include <utility>
#include <vector>

#include "mlpcore/spec.hpp"

inline mlpcore::MlpSpec make_spec(std::vector<mlpcore::Index> sizes, std::vector<mlpcore::Activation> acts,
                                  mlpcore::Output output) {
  mlpcore::MlpSpec spec;
  spec.sizes = std::move(sizes);
  spec.activations = std::move(acts);
  spec.output = output;
  spec.validate();
  return spec;
}
