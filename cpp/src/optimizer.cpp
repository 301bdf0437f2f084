// SPDX-License-Identifier: MIT
// SGD and Adam as torch.optim computes them, one element-wise pass over the flat buffer.
// Scalars (bias corrections, step size) are computed in double, as torch does in Python, then
// applied in S.
#include "mlpcore/optimizer.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "parallel.hpp"

namespace mlpcore {

namespace {
/// Parameter counts from which an optimizer step is split among the engine's threads.
constexpr Index kParallelElements = Index(1) << 16;
}  // namespace

template <class S>
void Optimizer<S>::bind(Index n) {
  if (m_size == 0) {
    m_size = n;
  } else if (m_size != n) {
    throw std::invalid_argument("optimizer state holds " + std::to_string(m_size) +
                                " parameters but this network has " + std::to_string(n) +
                                "; use one optimizer per network (or reset() it)");
  }
}

template <class S>
void Optimizer<S>::restore(std::int64_t steps, Index n) {
  if (steps < 0 || n < 1)
    throw std::invalid_argument("restore needs steps >= 0 and n >= 1, got steps " + std::to_string(steps) +
                                " and n " + std::to_string(n));
  reset();
  if (steps == 0) return;
  bind(n);
  allocate(n);
  m_t = steps;
}

namespace {
void check_lr_value(double lr) {
  if (!std::isfinite(lr) || lr < 0) throw std::invalid_argument("lr must be finite and >= 0, got " + std::to_string(lr));
}
}  // namespace

template <class S>
Sgd<S>::Sgd(const SgdConfig& cfg) : m_cfg(cfg) {
  m_cfg.validate();
}

template <class S>
void Sgd<S>::set_lr(double lr) {
  check_lr_value(lr);
  m_cfg.lr = lr;
}

template <class S>
void Sgd<S>::reset() {
  this->m_t = 0;
  this->m_size = 0;
  m_buf.resize(0);
}

template <class S>
void Sgd<S>::allocate(Index n) {
  if (m_cfg.momentum != 0) m_buf = Vector<S>::Zero(n);
}

template <class S>
std::vector<std::pair<const char*, VectorMap<S>>> Sgd<S>::state() {
  std::vector<std::pair<const char*, VectorMap<S>>> out;
  if (this->m_t > 0 && m_buf.size() > 0) out.emplace_back("momentum_buffer", VectorMap<S>(m_buf.data(), m_buf.size()));
  return out;
}

template <class S>
void Sgd<S>::step(VectorMap<S> p, VectorCMap<S> grad) {
  this->bind(p.size());
  const S lr = S(m_cfg.lr), mu = S(m_cfg.momentum), wd = S(m_cfg.weight_decay);
  const S damp = S(1.0 - m_cfg.dampening);
  // With momentum the buffer is the only extra state; the decayed gradient g is recomputed
  // where needed instead of stored.
  if (m_cfg.momentum == 0) {
    if (m_cfg.weight_decay != 0)
      p.array() -= lr * (grad.array() + wd * p.array());
    else
      p.array() -= lr * grad.array();
  } else {
    if (this->m_t == 0) {
      m_buf.resize(p.size());
      m_buf.array() = grad.array() + wd * p.array();  // buf = g on the first step
    } else {
      m_buf.array() = mu * m_buf.array() + damp * (grad.array() + wd * p.array());
    }
    if (m_cfg.nesterov)
      p.array() -= lr * ((grad.array() + wd * p.array()) + mu * m_buf.array());
    else
      p.array() -= lr * m_buf.array();
  }
  ++this->m_t;
}

template <class S>
Adam<S>::Adam(const AdamConfig& cfg) : m_cfg(cfg) {
  m_cfg.validate();
}

template <class S>
void Adam<S>::set_lr(double lr) {
  check_lr_value(lr);
  m_cfg.lr = lr;
}

template <class S>
void Adam<S>::reset() {
  this->m_t = 0;
  this->m_size = 0;
  m_m.resize(0);
  m_v.resize(0);
  m_vmax.resize(0);
}

namespace {
// Runs body(begin, end) over [0, n): in one piece for small buffers, else in chunks shared
// between the engine's threads. Each element is updated on its own, so the result does not
// depend on the split.
template <class Body>
void for_chunks(Index n, const Body& body) {
  const int threads = n >= kParallelElements ? detail::engine_threads() : 1;
  detail::for_parts(n, threads, threads * detail::kPiecesPerThread, body);
}

template <class S>
struct AdamScalars {
  S step_size, bc2s, b1c, b2, b2c, eps, l2, shrink;
};

// One pass over memory: each element's moments and parameter are updated together, with
// torch's operations in torch's order (m.lerp_(g, 1 − β1); v·β2 + (1 − β2)·g²;
// p −= step · m / (sqrt(v) / sqrt(bc2) + eps)). The restrict pointers let it vectorise.
template <class S, bool Amsgrad>
void adam_update(S* __restrict P, const S* __restrict G, S* __restrict M, S* __restrict V,
                 S* __restrict Vmax, Index n, const AdamScalars<S>& c) {
  const S step_size = c.step_size, bc2s = c.bc2s, b1c = c.b1c, b2 = c.b2, b2c = c.b2c, eps = c.eps;
  const S l2 = c.l2, shrink = c.shrink;
  for (Index i = 0; i < n; ++i) {
    const S pi = P[i] * shrink;
    const S g = G[i] + l2 * pi;
    const S m = M[i] + b1c * (g - M[i]);
    const S v = V[i] * b2 + b2c * (g * g);
    M[i] = m;
    V[i] = v;
    S denom_v = v;
    if constexpr (Amsgrad) {
      denom_v = Vmax[i] > v ? Vmax[i] : v;
      Vmax[i] = denom_v;
    }
    P[i] = pi - step_size * (m / (std::sqrt(denom_v) / bc2s + eps));
  }
}
}  // namespace

template <class S>
void Adam<S>::allocate(Index n) {
  m_m = Vector<S>::Zero(n);
  m_v = Vector<S>::Zero(n);
  m_vmax = m_cfg.amsgrad ? Vector<S>::Zero(n) : Vector<S>();
}

template <class S>
std::vector<std::pair<const char*, VectorMap<S>>> Adam<S>::state() {
  std::vector<std::pair<const char*, VectorMap<S>>> out;
  if (this->m_t == 0) return out;
  out.emplace_back("exp_avg", VectorMap<S>(m_m.data(), m_m.size()));
  out.emplace_back("exp_avg_sq", VectorMap<S>(m_v.data(), m_v.size()));
  if (m_cfg.amsgrad) out.emplace_back("max_exp_avg_sq", VectorMap<S>(m_vmax.data(), m_vmax.size()));
  return out;
}

template <class S>
void Adam<S>::step(VectorMap<S> p, VectorCMap<S> grad) {
  this->bind(p.size());
  if (this->m_t == 0) allocate(p.size());
  const std::int64_t t = ++this->m_t;
  const double bc1 = 1.0 - std::pow(m_cfg.beta1, double(t));
  const double bc2_sqrt = std::sqrt(1.0 - std::pow(m_cfg.beta2, double(t)));
  const S step_size = S(m_cfg.lr / bc1);
  const S bc2s = S(bc2_sqrt);
  const S b1c = S(1.0 - m_cfg.beta1), b2 = S(m_cfg.beta2), b2c = S(1.0 - m_cfg.beta2);
  const S eps = S(m_cfg.eps);
  // L2 (coupled) decay enters the gradient; decoupled decay (AdamW) shrinks the parameter first.
  const S l2 = m_cfg.decoupled ? S(0) : S(m_cfg.weight_decay);
  const S shrink = m_cfg.decoupled ? S(1.0 - m_cfg.lr * m_cfg.weight_decay) : S(1);
  const bool amsgrad = m_cfg.amsgrad;
  AdamScalars<S> c{step_size, bc2s, b1c, b2, b2c, eps, l2, shrink};
  S* P = p.data();
  const S* G = grad.data();
  S* M = m_m.data();
  S* V = m_v.data();
  S* Vmax = amsgrad ? m_vmax.data() : nullptr;
  for_chunks(p.size(), [&](Index begin, Index end) {
    if (amsgrad)
      adam_update<S, true>(P + begin, G + begin, M + begin, V + begin, Vmax + begin, end - begin, c);
    else
      adam_update<S, false>(P + begin, G + begin, M + begin, V + begin, nullptr, end - begin, c);
  });
}

template class Optimizer<float>;
template class Optimizer<double>;
template class Sgd<float>;
template class Sgd<double>;
template class Adam<float>;
template class Adam<double>;

}  // namespace mlpcore
