// SPDX-License-Identifier: MIT
// One epoch of mini-batch training: shuffle an index permutation, gather each batch into the
// workspace (contiguous rows for the GEMMs), then forward, backward and update.
#include "mlpcore/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "finite.hpp"
#include "fp_env.hpp"
#include "mlpcore/rng.hpp"

namespace mlpcore {

template <class S>
EpochResult train_epoch(BasicMlp<S>& net, Optimizer<S>& opt, const MatrixCRef<S>& X,
                        const TargetView<S>& targets, const S* weights, Loss loss,
                        const EpochOptions& options, Workspace<S>& ws, std::vector<Index>& order,
                        const std::function<bool()>& should_stop) {
  const Index n = X.rows(), in = X.cols(), C = net.spec().n_outputs();
  if (n == 0) throw std::invalid_argument("X is empty (0 rows)");
  if (in != net.spec().n_inputs())
    throw std::invalid_argument("X has " + std::to_string(in) + " columns, model expects " +
                                std::to_string(net.spec().n_inputs()));
  if (options.batch_size < 1)
    throw std::invalid_argument("batch_size must be >= 1, got " + std::to_string(options.batch_size));
  if (options.check_finite) {
    const Index bad_row = detail::first_non_finite_row<S>(X);
    if (bad_row >= 0) throw std::invalid_argument("X contains NaN or infinity at row " + std::to_string(bad_row));
  }
  validate_targets<S>(loss, n, C, targets, weights);

  const Index bs = std::min(options.batch_size, n);
  ws.reserve(net.spec(), bs);
  if (static_cast<Index>(order.size()) != n) {
    order.resize(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  }
  if (options.shuffle) {
    // Restart from the identity so the order depends only on (seed, epoch).
    for (Index i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
    Rng rng(Rng::derive(options.seed, options.epoch));
    for (Index i = n - 1; i > 0; --i)
      std::swap(order[static_cast<std::size_t>(i)], order[rng.below(static_cast<std::uint64_t>(i + 1))]);
  }

  const detail::FlushSubnormals flush;
  using clock = std::chrono::steady_clock;
  auto last_check = clock::now();
  EpochResult result;
  double loss_sum = 0, weight_sum = 0;
  const bool contiguous = X.outerStride() == in;
  for (Index start = 0, b = 0; start < n; start += bs, ++b) {
    const Index rows = std::min(bs, n - start);
    const Index* idx = order.data() + start;
    // Gather rows (and their targets/weights) into the workspace.
    S* xb = ws.batch_x.data();
    for (Index r = 0; r < rows; ++r) {
      // Rows sit at random places in a possibly large array: ask for a later row's first lines
      // while copying this one, so the copy is not bound by memory latency.
      if (r + 4 < rows) {
        const char* ahead = reinterpret_cast<const char*>(contiguous ? X.data() + idx[r + 4] * in : X.row(idx[r + 4]).data());
        for (std::size_t off = 0; off < std::min<std::size_t>(sizeof(S) * std::size_t(in), 1024); off += 64)
          __builtin_prefetch(ahead + off);
      }
      const S* src = contiguous ? X.data() + idx[r] * in : X.row(idx[r]).data();
      std::memcpy(xb + r * in, src, sizeof(S) * static_cast<std::size_t>(in));
    }
    TargetView<S> tb;
    tb.rows = rows;
    if (targets.is_labels()) {
      for (Index r = 0; r < rows; ++r) ws.batch_y[static_cast<std::size_t>(r)] = targets.labels[idx[r]];
      tb.labels = ws.batch_y.data();
    } else {
      for (Index r = 0; r < rows; ++r)
        std::memcpy(ws.batch_t.data() + r * C, targets.dense + idx[r] * C, sizeof(S) * static_cast<std::size_t>(C));
      tb.dense = ws.batch_t.data();
      tb.cols = C;
    }
    const S* wb = nullptr;
    double bw = double(rows);
    if (weights) {
      bw = 0;
      for (Index r = 0; r < rows; ++r) {
        ws.batch_w[r] = weights[idx[r]];
        bw += double(weights[idx[r]]);
      }
      wb = ws.batch_w.data();
    }
    if (bw > 0) {  // a batch whose weights are all zero carries no signal: skip it
      const double value = net.step_unchecked(xb, rows, tb, wb, loss, opt, ws, true);
      if (!std::isfinite(value)) {
        result.non_finite = true;
        result.bad_batch = b;
        result.loss = value;
        return result;
      }
      loss_sum += value * bw;
      weight_sum += bw;
      // The logits of this batch (before its update) are still in the workspace.
      Index counted = 0;
      result.correct += count_correct<S>(loss, MatrixCMap<S>(ws.act.back().data(), rows, C), tb, counted);
      result.counted += counted;
    }
    result.batches += 1;
    result.samples += rows;
    if (should_stop) {
      const auto now = clock::now();
      if (std::chrono::duration<double>(now - last_check).count() >= options.check_interval) {
        last_check = now;
        if (should_stop()) {
          result.stopped = true;
          break;
        }
      }
    }
  }
  result.loss = weight_sum > 0 ? loss_sum / weight_sum : 0.0;
  return result;
}

#define MLPCORE_INSTANTIATE(S)                                                                          \
  template EpochResult train_epoch<S>(BasicMlp<S>&, Optimizer<S>&, const MatrixCRef<S>&,                \
                                      const TargetView<S>&, const S*, Loss, const EpochOptions&,         \
                                      Workspace<S>&, std::vector<Index>&, const std::function<bool()>&);
MLPCORE_INSTANTIATE(float)
MLPCORE_INSTANTIATE(double)
#undef MLPCORE_INSTANTIATE

}  // namespace mlpcore
