// SPDX-License-Identifier: MIT
// Internal: the three products of a dense layer in mixed precision (bf16 operands, float32
// accumulation), and the switch the forward and backward passes call instead of dense.hpp's
// kernels. Shapes and meanings are those of dense.hpp; bias, activation and its derivative are
// applied in float32 to the float32 results.
#pragma once
#include <type_traits>

#include "../dense.hpp"
#include "mlpcore/activation.hpp"
#include "mlpcore/spec.hpp"

namespace mlpcore::bf16 {

/// Z = f(A·Wᵀ + b).  A: n × in, W: out × in, b: out, Z: n × out.
void dense_forward(const float* A, Index n, Index in, const float* W, const float* b, Index out, float* Z,
                   Activation act, const ActivationParams& ap);
/// dW = dZᵀ·A (bf16 operands) and db = Σ_rows dZ (float32).  dZ: n × out, A: n × in, dW: out × in.
void dense_weight_grad(const float* dZ, Index n, Index out, const float* A, Index in, float* dW, float* db);
/// dA = (dZ·W) ⊙ f'(Y).  dZ: n × out, W: out × in, Y and dA: n × in.
void dense_input_grad(const float* dZ, Index n, Index out, const float* W, Index in, float* dA, const float* Y,
                      Activation act, const ActivationParams& ap);

// The call sites of BasicMlp: bf16 kernels for a float model in Precision::Bf16, dense.hpp's
// otherwise (a double model is never in Bf16: set_precision refuses).
template <class S>
void layer_forward(Precision p, const S* A, Index n, Index in, const S* W, const S* b, Index out, S* Z, S* Wt,
                   Activation act, const ActivationParams& ap) {
  if constexpr (std::is_same_v<S, float>)
    if (p == Precision::Bf16) return dense_forward(A, n, in, W, b, out, Z, act, ap);
  detail::dense_forward<S>(A, n, in, W, b, out, Z, Wt, act, ap);
}

template <class S>
void layer_weight_grad(Precision p, const S* dZ, Index n, Index out, const S* A, Index in, S* dW, S* db, S* Wt) {
  if constexpr (std::is_same_v<S, float>)
    if (p == Precision::Bf16) return dense_weight_grad(dZ, n, out, A, in, dW, db);
  detail::dense_weight_grad<S>(dZ, n, out, A, in, dW, db, Wt);
}

template <class S>
void layer_input_grad(Precision p, const S* dZ, Index n, Index out, const S* W, Index in, S* dA, const S* Y,
                      Activation act, const ActivationParams& ap) {
  if constexpr (std::is_same_v<S, float>)
    if (p == Precision::Bf16) return dense_input_grad(dZ, n, out, W, in, dA, Y, act, ap);
  detail::dense_input_grad<S>(dZ, n, out, W, in, dA, Y, act, ap);
}

}  // namespace mlpcore::bf16
