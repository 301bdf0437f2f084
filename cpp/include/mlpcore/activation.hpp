// SPDX-License-Identifier: MIT
/// Activation kernels on row-major blocks. Derivatives are computed from the outputs y,
/// so forward may overwrite its input (the pre-activation) in place.
#pragma once
#include "spec.hpp"
#include "types.hpp"

namespace mlpcore {

/// Parameters an activation may need. `slope` for leaky ReLU, `alpha` for ELU.
struct ActivationParams {
  double slope = 0.1;
  double alpha = 1.0;
};

/// y = f(z), element-wise, in place: Z (n × units) becomes Y. Not for Maxout (see below).
template <class S>
void activation_forward(Activation a, const ActivationParams& p, MatrixRef<S> Z);

/// dL_dZ = dL_dY ⊙ f'(·), evaluated from the outputs Y; dL_dY is overwritten by dL_dZ.
/// Y and dL_dY are n × units and must not alias each other.
template <class S>
void activation_backward(Activation a, const ActivationParams& p, const MatrixCRef<S>& Y,
                         MatrixRef<S> dL_dY);

/// Maxout forward: P (n × units·k, each unit's k pieces adjacent) → Y (n × units) = the max
/// piece; `winner` (n × units) receives the index 0..k-1 of the winning piece (first on ties).
template <class S>
void maxout_forward(const MatrixCRef<S>& P, Index k, MatrixRef<S> Y, std::int32_t* winner);

/// Maxout backward: scatter dL_dY (n × units) into dL_dP (n × units·k) at the winning pieces,
/// zeros elsewhere.
template <class S>
void maxout_backward(const MatrixCRef<S>& dL_dY, Index k, const std::int32_t* winner,
                     MatrixRef<S> dL_dP);

}  // namespace mlpcore
