// SPDX-License-Identifier: MIT
// Internal: how the engine's long loops (train_epoch, train_epoch_sharded, fit_estimator) ask
// whether to stop (Ctrl-C, SIGTERM, a caller's request) without calling out after every batch.
#pragma once
#include <chrono>
#include <functional>

namespace mlpcore::detail {

/// Calls should_stop when `interval` seconds have passed since the last call (never when it is
/// empty). The callable is held by reference: it must outlive the poll.
class StopPoll {
 public:
  StopPoll(const std::function<bool()>& should_stop, double interval)
      : m_should_stop(should_stop), m_interval(interval), m_last(clock::now()) {}
  bool operator()() {
    if (!m_should_stop) return false;
    const auto now = clock::now();
    if (std::chrono::duration<double>(now - m_last).count() < m_interval) return false;
    m_last = now;
    return m_should_stop();
  }

 private:
  using clock = std::chrono::steady_clock;
  const std::function<bool()>& m_should_stop;
  double m_interval;
  clock::time_point m_last;
};

}  // namespace mlpcore::detail
