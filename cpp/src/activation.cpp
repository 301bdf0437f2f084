// SPDX-License-Identifier: MIT
// Activations and their derivatives. Derivatives use the outputs y so the forward pass can run
// in place. Sources: ELU, Clevert et al. 2016; maxout, Goodfellow et al. 2013.
#include "mlpcore/activation.hpp"

#include "math.hpp"

#include <stdexcept>

namespace mlpcore {

template <class S>
void activation_forward(Activation a, const ActivationParams& p, MatrixRef<S> Z) {
  auto z = Z.array();
  switch (a) {
    case Activation::Identity:
      break;
    case Activation::Sigmoid: {
      // In aligned blocks: nothing is allocated, and each value's result depends on it alone.
      detail::in_blocks<S>(Z, detail::sigmoid_block<S>);
      break;
    }
    case Activation::Tanh:
      z = z.tanh();
      break;
    case Activation::Relu:
      z = z.max(S(0));
      break;
    case Activation::LeakyRelu:
      // max(slope·z, z) for 0 < slope < 1 (validated in MlpSpec).
      z = z.max(S(p.slope) * z);
      break;
    case Activation::Elu:
      z = (z > S(0)).select(z, S(p.alpha) * z.expm1());
      break;
    case Activation::Maxout:
      throw std::invalid_argument("activation_forward: maxout needs maxout_forward");
  }
}

template <class S>
void activation_backward(Activation a, const ActivationParams& p, const MatrixCRef<S>& Y,
                         MatrixRef<S> dL_dY) {
  auto y = Y.array();
  auto d = dL_dY.array();
  switch (a) {
    case Activation::Identity:
      break;
    case Activation::Sigmoid:
      d *= y * (S(1) - y);  // σ' = y(1 − y)
      break;
    case Activation::Tanh:
      d *= S(1) - y.square();  // tanh' = 1 − y²
      break;
    case Activation::Relu:
      d = (y > S(0)).select(d, S(0));  // 0 at the kink, like torch
      break;
    case Activation::LeakyRelu:
      d = (y > S(0)).select(d, S(p.slope) * d);  // sign(y) = sign(z) because slope > 0
      break;
    case Activation::Elu:
      d = (y > S(0)).select(d, (y + S(p.alpha)) * d);  // α e^z = y + α for z ≤ 0
      break;
    case Activation::Maxout:
      throw std::invalid_argument("activation_backward: maxout needs maxout_backward");
  }
}

template <class S>
void maxout_forward(const MatrixCRef<S>& P, Index k, MatrixRef<S> Y, std::int32_t* winner) {
  const Index n = Y.rows(), units = Y.cols();
  for (Index r = 0; r < n; ++r) {
    const S* prow = P.row(r).data();
    S* yrow = Y.row(r).data();
    std::int32_t* wrow = winner + r * units;
    for (Index u = 0; u < units; ++u) {
      const S* piece = prow + u * k;
      S best = piece[0];
      std::int32_t arg = 0;
      for (Index j = 1; j < k; ++j)
        if (piece[j] > best) {
          best = piece[j];
          arg = static_cast<std::int32_t>(j);
        }
      yrow[u] = best;
      wrow[u] = arg;
    }
  }
}

template <class S>
void maxout_backward(const MatrixCRef<S>& dL_dY, Index k, const std::int32_t* winner,
                     MatrixRef<S> dL_dP) {
  const Index n = dL_dY.rows(), units = dL_dY.cols();
  dL_dP.setZero();
  for (Index r = 0; r < n; ++r) {
    const S* drow = dL_dY.row(r).data();
    S* prow = dL_dP.row(r).data();
    const std::int32_t* wrow = winner + r * units;
    for (Index u = 0; u < units; ++u) prow[u * k + wrow[u]] = drow[u];
  }
}

#define MLPCORE_INSTANTIATE(S)                                                                    \
  template void activation_forward<S>(Activation, const ActivationParams&, MatrixRef<S>);         \
  template void activation_backward<S>(Activation, const ActivationParams&, const MatrixCRef<S>&, \
                                       MatrixRef<S>);                                             \
  template void maxout_forward<S>(const MatrixCRef<S>&, Index, MatrixRef<S>, std::int32_t*);      \
  template void maxout_backward<S>(const MatrixCRef<S>&, Index, const std::int32_t*, MatrixRef<S>);
MLPCORE_INSTANTIATE(float)
MLPCORE_INSTANTIATE(double)
#undef MLPCORE_INSTANTIATE

}  // namespace mlpcore
