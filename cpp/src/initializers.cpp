// SPDX-License-Identifier: MIT
// Weight initializers (Glorot & Bengio 2010; He et al. 2015), drawn from mlpcore's own Rng so
// the same seed gives the same weights on every platform. Biases start at zero.
#include <cmath>
#include <stdexcept>

#include "mlpcore/mlp.hpp"
#include "mlpcore/rng.hpp"

namespace mlpcore {

template <class S>
void BasicMlp<S>::initialize(Init init, std::uint64_t seed, double scale) {
  if (!(std::isfinite(scale) && scale > 0))  // refused even where unused: a bad value is a mistake
    throw std::invalid_argument("init_scale must be finite and > 0, got " + std::to_string(scale));
  Rng rng(seed);
  m_params.setZero();
  for (Index l = 0; l < m_spec.n_layers(); ++l) {
    // fan_out counts units: a maxout unit's k pieces each see the same fan-in and together
    // feed one output.
    const double fan_in = double(m_spec.sizes[l]);
    const double fan_out = double(m_spec.sizes[l + 1]);
    S* w = m_params.data() + m_layout.weight_offset[l];
    const Index count = m_layout.rows[l] * m_layout.cols[l];
    bool uniform = true;
    double a = 0;  // U(−a, a) bound or N(0, a²) std
    switch (init) {
      case Init::Xavier: a = 1.0 / std::sqrt(fan_in); break;
      case Init::NormalizedXavier: a = std::sqrt(6.0 / (fan_in + fan_out)); break;
      case Init::XavierNormal: a = std::sqrt(2.0 / (fan_in + fan_out)); uniform = false; break;
      case Init::He: a = std::sqrt(2.0 / fan_in); uniform = false; break;
      case Init::HeUniform: a = std::sqrt(6.0 / fan_in); break;
      case Init::Random: a = scale; uniform = false; break;
    }
    for (Index i = 0; i < count; ++i)
      w[i] = static_cast<S>(uniform ? rng.uniform(-a, a) : a * rng.normal());
  }
}

template void BasicMlp<float>::initialize(Init, std::uint64_t, double);
template void BasicMlp<double>::initialize(Init, std::uint64_t, double);

}  // namespace mlpcore
