// SPDX-License-Identifier: MIT
/// Optimizers over one flat parameter buffer: a single vectorised pass per step.
/// Their state (momentum buffer, Adam's m, v, vmax) has the parameters' layout.
#pragma once
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "spec.hpp"
#include "types.hpp"

namespace mlpcore {

/// Common interface. State is allocated on the first step and bound to that parameter count;
/// a later step with another count throws std::invalid_argument.
template <class S>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  /// params -= update(grads). params and grads: n_params values each; they must not alias.
  virtual void step(VectorMap<S> params, VectorCMap<S> grads) = 0;
  virtual double lr() const = 0;
  /// Changes the learning rate for later steps (schedules). Throws if lr < 0 or not finite.
  virtual void set_lr(double lr) = 0;
  /// Forgets all state (step count, moments).
  virtual void reset() = 0;
  /// The state vectors by name, in a fixed order: SGD's "momentum_buffer" (with momentum); Adam's
  /// "exp_avg", "exp_avg_sq" and, with amsgrad, "max_exp_avg_sq"; each state_size() values in the
  /// parameters' layout. Live views, valid until the next step, reset() or restore(); used to
  /// copy the state between processes and into pickles. Empty before the first step.
  virtual std::vector<std::pair<const char*, VectorMap<S>>> state() = 0;
  /// Makes the state that of `steps` steps on n parameters, zero-filled (fill it through
  /// state()); steps = 0 is reset(). Throws std::invalid_argument for steps < 0 or n < 1.
  void restore(std::int64_t steps, Index n);
  /// Number of steps taken since construction or reset().
  std::int64_t steps() const { return m_t; }
  /// Parameter count the state is bound to (0 before the first step).
  Index state_size() const { return m_size; }

 protected:
  void bind(Index n);
  /// Allocates zeroed state vectors for n parameters (restore()).
  virtual void allocate(Index n) = 0;
  std::int64_t m_t = 0;
  Index m_size = 0;
};

/// torch.optim.SGD's update (see SgdConfig).
template <class S>
class Sgd final : public Optimizer<S> {
 public:
  explicit Sgd(const SgdConfig& cfg);
  void step(VectorMap<S> params, VectorCMap<S> grads) override;
  double lr() const override { return m_cfg.lr; }
  void set_lr(double lr) override;
  void reset() override;
  std::vector<std::pair<const char*, VectorMap<S>>> state() override;
  const SgdConfig& config() const { return m_cfg; }
  /// Momentum buffer (empty until the first step with momentum).
  const Vector<S>& momentum_buffer() const { return m_buf; }

 private:
  void allocate(Index n) override;
  SgdConfig m_cfg;
  Vector<S> m_buf;
};

/// torch.optim.Adam / AdamW's update (see AdamConfig).
template <class S>
class Adam final : public Optimizer<S> {
 public:
  explicit Adam(const AdamConfig& cfg);
  void step(VectorMap<S> params, VectorCMap<S> grads) override;
  double lr() const override { return m_cfg.lr; }
  void set_lr(double lr) override;
  void reset() override;
  std::vector<std::pair<const char*, VectorMap<S>>> state() override;
  const AdamConfig& config() const { return m_cfg; }
  const Vector<S>& m() const { return m_m; }
  const Vector<S>& v() const { return m_v; }

 private:
  void allocate(Index n) override;
  AdamConfig m_cfg;
  Vector<S> m_m, m_v, m_vmax;
};

}  // namespace mlpcore
