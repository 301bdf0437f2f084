// SPDX-License-Identifier: MIT
/// Optimizers over one flat parameter buffer: a single vectorised pass per step.
/// Their state (momentum buffer, Adam's m, v, vmax) has the parameters' layout.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "spec.hpp"
#include "types.hpp"

namespace mlpcore {

/// An optimizer's whole state, enough to continue bit-identically: the step count, the
/// parameter count it is bound to, and its buffers by name, each `size` long (none before the
/// first step, or when the configuration keeps none, e.g. SGD without momentum).
template <class S>
struct OptimizerState {
  std::int64_t steps = 0;
  Index size = 0;
  std::vector<std::pair<std::string, Vector<S>>> buffers;
};

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
  /// Number of steps taken since construction or reset().
  std::int64_t steps() const { return m_t; }
  /// Parameter count the state is bound to (0 before the first step).
  Index state_size() const { return m_size; }
  /// A copy of the state (see OptimizerState).
  OptimizerState<S> state() const;
  /// Restores a state taken with state() from an optimizer of the same kind and configuration.
  /// Throws std::invalid_argument naming the buffer when a name, the count or a size differs.
  void load_state(const OptimizerState<S>& state);

 protected:
  void bind(Index n);
  /// The buffers this configuration keeps once stepping, in a fixed order, by name.
  virtual std::vector<std::pair<const char*, Vector<S>*>> buffers() = 0;
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
  const SgdConfig& config() const { return m_cfg; }
  /// Momentum buffer (empty until the first step with momentum).
  const Vector<S>& momentum_buffer() const { return m_buf; }

 protected:
  std::vector<std::pair<const char*, Vector<S>*>> buffers() override;

 private:
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
  const AdamConfig& config() const { return m_cfg; }
  const Vector<S>& m() const { return m_m; }
  const Vector<S>& v() const { return m_v; }

 protected:
  std::vector<std::pair<const char*, Vector<S>*>> buffers() override;

 private:
  AdamConfig m_cfg;
  Vector<S> m_m, m_v, m_vmax;
};

}  // namespace mlpcore
