// SPDX-License-Identifier: MIT
// SGD and Adam as torch.optim computes them, one element-wise pass over the flat buffer.
// Scalars (bias corrections, step size) are computed in double, as torch does in Python, then
// applied in S.
#include "mlpcore/optimizer.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace mlpcore {

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

template <class S>
void Adam<S>::step(VectorMap<S> p, VectorCMap<S> grad) {
  this->bind(p.size());
  if (this->m_t == 0) {
    m_m = Vector<S>::Zero(p.size());
    m_v = Vector<S>::Zero(p.size());
    if (m_cfg.amsgrad) m_vmax = Vector<S>::Zero(p.size());
  }
  const std::int64_t t = ++this->m_t;
  const double bc1 = 1.0 - std::pow(m_cfg.beta1, double(t));
  const double bc2_sqrt = std::sqrt(1.0 - std::pow(m_cfg.beta2, double(t)));
  const S step_size = S(m_cfg.lr / bc1);
  const S bc2s = S(bc2_sqrt);
  const S b1c = S(1.0 - m_cfg.beta1), b2 = S(m_cfg.beta2), b2c = S(1.0 - m_cfg.beta2);
  const S eps = S(m_cfg.eps), wd = S(m_cfg.weight_decay);
  auto P = p.array();
  auto G = grad.array();
  auto M = m_m.array();
  auto V = m_v.array();
  if (m_cfg.decoupled && m_cfg.weight_decay != 0) P *= S(1.0 - m_cfg.lr * m_cfg.weight_decay);
  if (!m_cfg.decoupled && m_cfg.weight_decay != 0) {
    // L2: g = grad + wd·p, used by both moments.
    M += b1c * ((G + wd * P) - M);  // torch: m.lerp_(g, 1 − β1)
    V = V * b2 + b2c * (G + wd * P).square();
  } else {
    M += b1c * (G - M);
    V = V * b2 + b2c * G.square();
  }
  if (m_cfg.amsgrad) {
    m_vmax.array() = m_vmax.array().max(V);
    P -= step_size * (M / (m_vmax.array().sqrt() / bc2s + eps));
  } else {
    P -= step_size * (M / (V.sqrt() / bc2s + eps));
  }
}

template class Optimizer<float>;
template class Optimizer<double>;
template class Sgd<float>;
template class Sgd<double>;
template class Adam<float>;
template class Adam<double>;

}  // namespace mlpcore
