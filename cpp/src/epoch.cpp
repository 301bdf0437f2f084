// SPDX-License-Identifier: MIT
// One epoch of mini-batch training: shuffle an index permutation, gather each batch into the
// workspace (contiguous rows for the GEMMs), then forward, backward and update.
#include "mlpcore/epoch.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "finite.hpp"
#include "parallel.hpp"
#include "fp_env.hpp"
#include "stop_poll.hpp"
#include "mlpcore/rng.hpp"

namespace mlpcore {

namespace {
// The epoch's row order: the identity, or a shuffle that depends only on (seed, epoch).
void epoch_order(std::vector<Index>& order, Index n, const EpochOptions& options) {
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
}

// A batch gathered into the workspace: its targets, weights (or null) and their sum.
template <class S>
struct Gathered {
  TargetView<S> t;
  const S* w = nullptr;
  double weight_sum = 0;
};

// Values (rows × columns) from which a batch is gathered by the engine's threads.
constexpr double kParallelGather = double(1 << 16);

// Copies rows idx[0, rows) of X, their targets and weights into the workspace (contiguous rows
// for the GEMMs).
template <class S>
Gathered<S> gather_rows(const MatrixCRef<S>& X, const TargetView<S>& targets, const S* weights,
                        const Index* idx, Index rows, Index C, Workspace<S>& ws) {
  const Index in = X.cols();
  const bool contiguous = X.outerStride() == in;
  S* xb = ws.batch_x.data();
  // A large batch is copied by the engine's threads, each its own rows (the copy is bound by
  // memory latency and bandwidth, which a second core adds to).
  const double values = double(rows) * double(in);
  const int threads = values >= kParallelGather ? detail::engine_threads() : 1;
  detail::for_parts(rows, threads, threads, [&](Index begin, Index end) {
    for (Index r = begin; r < end; ++r) {
      // Rows sit at random places in a possibly large array: ask for a later row's first lines
      // while copying this one, so the copy is not bound by memory latency.
      if (r + 4 < end) {
        const char* ahead =
            reinterpret_cast<const char*>(contiguous ? X.data() + idx[r + 4] * in : X.row(idx[r + 4]).data());
        for (std::size_t off = 0; off < std::min<std::size_t>(sizeof(S) * std::size_t(in), 1024); off += 64)
          __builtin_prefetch(ahead + off);
      }
      const S* src = contiguous ? X.data() + idx[r] * in : X.row(idx[r]).data();
      std::memcpy(xb + r * in, src, sizeof(S) * static_cast<std::size_t>(in));
    }
  });
  Gathered<S> g;
  g.t.rows = rows;
  if (targets.is_labels()) {
    for (Index r = 0; r < rows; ++r) ws.batch_y[static_cast<std::size_t>(r)] = targets.labels[idx[r]];
    g.t.labels = ws.batch_y.data();
  } else {
    for (Index r = 0; r < rows; ++r)
      std::memcpy(ws.batch_t.data() + r * C, targets.dense + idx[r] * C, sizeof(S) * static_cast<std::size_t>(C));
    g.t.dense = ws.batch_t.data();
    g.t.cols = C;
  }
  g.weight_sum = double(rows);
  if (weights) {
    g.weight_sum = 0;
    for (Index r = 0; r < rows; ++r) {
      ws.batch_w[r] = weights[idx[r]];
      g.weight_sum += double(weights[idx[r]]);
    }
    g.w = ws.batch_w.data();
  }
  return g;
}

}  // namespace

template <class S>
void validate_epoch(const BasicMlp<S>& net, const MatrixCRef<S>& X, const TargetView<S>& targets,
                    const S* weights, Loss loss, const EpochOptions& options) {
  const Index n = X.rows(), in = X.cols();
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
  validate_targets<S>(loss, n, net.spec().n_outputs(), targets, weights);
}

template <class S>
EpochResult train_epoch(BasicMlp<S>& net, Optimizer<S>& opt, const MatrixCRef<S>& X,
                        const TargetView<S>& targets, const S* weights, Loss loss,
                        const EpochOptions& options, Workspace<S>& ws, std::vector<Index>& order,
                        const std::function<bool()>& should_stop) {
  validate_epoch<S>(net, X, targets, weights, loss, options);
  const Index n = X.rows(), C = net.spec().n_outputs();
  const Index bs = std::min(options.batch_size, n);
  ws.reserve(net.spec(), bs);
  epoch_order(order, n, options);

  const detail::FlushSubnormals flush;
  detail::StopPoll poll(should_stop, options.check_interval);
  EpochResult result;
  double loss_sum = 0, weight_sum = 0;
  for (Index start = 0, b = 0; start < n; start += bs, ++b) {
    const Index rows = std::min(bs, n - start);
    const Gathered<S> g = gather_rows<S>(X, targets, weights, order.data() + start, rows, C, ws);
    const double bw = g.weight_sum;
    if (bw > 0) {  // a batch whose weights are all zero carries no signal: skip it
      const double value = net.step_unchecked(ws.batch_x.data(), rows, g.t, g.w, loss, &opt, ws);
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
      result.correct += count_correct<S>(loss, MatrixCMap<S>(ws.act.back().data(), rows, C), g.t, counted);
      result.counted += counted;
    }
    result.batches += 1;
    result.samples += rows;
    if (poll()) {
      result.stopped = true;
      break;
    }
  }
  result.loss = weight_sum > 0 ? loss_sum / weight_sum : 0.0;
  return result;
}

template <class S>
EpochResult train_epoch_sharded(BasicMlp<S>& net, Optimizer<S>& opt, const MatrixCRef<S>& X,
                                const TargetView<S>& targets, const S* weights, Loss loss,
                                const EpochOptions& options, Index rank, Index parts,
                                StepReducer<S>* reducer, Workspace<S>& ws, std::vector<Index>& order,
                                const std::function<bool()>& should_stop) {
  if (parts < 1 || rank < 0 || rank >= parts)
    throw std::invalid_argument("rank must be in [0, parts) with parts >= 1, got rank " + std::to_string(rank) +
                                " of " + std::to_string(parts));
  validate_epoch<S>(net, X, targets, weights, loss, options);
  const Index n = X.rows(), C = net.spec().n_outputs(), L = net.spec().n_layers(), P = net.n_params();
  const Index bs = std::min(options.batch_size, n);
  ws.reserve(net.spec(), bs);
  epoch_order(order, n, options);
  const ParamLayout& layout = net.layout();
  std::function<void(Index)> ready;
  if (reducer)
    ready = [&](Index l) {
      // W then b: one contiguous slice per layer.
      reducer->layer_ready(l, layout.weight_offset[l], layout.rows[l] * (layout.cols[l] + 1));
    };
  // The reference (no reducer) adds the parts' gradients here, in part order.
  Vector<S> sum(reducer || parts == 1 ? 0 : P);

  const detail::FlushSubnormals flush;
  detail::StopPoll poll(should_stop, options.check_interval);
  bool stop_vote = false;
  EpochResult result;
  double loss_sum = 0, weight_sum = 0;
  for (Index start = 0, b = 0; start < n; start += bs, ++b) {
    const Index rows = std::min(bs, n - start);
    stop_vote = stop_vote || poll();
    double totals[kStepTotals] = {};
    const Index first = reducer ? rank : 0, last = reducer ? rank + 1 : parts;
    for (Index r = first; r < last; ++r) {
      double part[kStepTotals] = {};
      const Index lo = rows * r / parts, hi = rows * (r + 1) / parts;
      if (hi > lo) {
        const Gathered<S> g = gather_rows<S>(X, targets, weights, order.data() + start + lo, hi - lo, C, ws);
        part[kLossSum] = net.grad_sums(ws.batch_x.data(), hi - lo, g.t, g.w, loss, ws, ready);
        part[kWeightSum] = g.weight_sum;
        Index counted = 0;
        part[kCorrect] = double(count_correct<S>(loss, MatrixCMap<S>(ws.act.back().data(), hi - lo, C), g.t, counted));
        part[kCounted] = double(counted);
      } else {  // an empty part still takes part in every reduction
        net.grads().setZero();
        if (ready)
          for (Index l = L - 1; l >= 0; --l) ready(l);
      }
      part[kStopVotes] = stop_vote ? 1.0 : 0.0;
      if (reducer) {
        reducer->reduce(net.grads().data(), P, part);
        std::copy(part, part + kStepTotals, totals);
      } else if (r == 0) {
        std::copy(part, part + kStepTotals, totals);
        if (parts > 1) sum = net.grads();
      } else {
        for (Index k = 0; k < kStepTotals; ++k) totals[k] += part[k];
        sum += net.grads();
      }
    }
    if (!reducer && parts > 1) net.grads() = sum;
    // From here every process holds the same totals and so takes the same decisions.
    const double L_sum = totals[kLossSum], W = totals[kWeightSum];
    if (!std::isfinite(L_sum)) {
      result.non_finite = true;
      result.bad_batch = b;
      result.loss = L_sum;
      return result;
    }
    if (W > 0) {  // a batch whose weights are all zero carries no signal: skip it
      const double value = L_sum / W + net.apply_sums(W, opt);
      loss_sum += value * W;
      weight_sum += W;
      result.correct += Index(totals[kCorrect]);
      result.counted += Index(totals[kCounted]);
    }
    result.batches += 1;
    result.samples += rows;
    if (totals[kStopVotes] > 0) {
      result.stopped = true;
      break;
    }
  }
  result.loss = weight_sum > 0 ? loss_sum / weight_sum : 0.0;
  return result;
}

#define MLPCORE_INSTANTIATE(S)                                                                          \
  template EpochResult train_epoch<S>(BasicMlp<S>&, Optimizer<S>&, const MatrixCRef<S>&,                \
                                      const TargetView<S>&, const S*, Loss, const EpochOptions&,         \
                                      Workspace<S>&, std::vector<Index>&, const std::function<bool()>&); \
  template void validate_epoch<S>(const BasicMlp<S>&, const MatrixCRef<S>&, const TargetView<S>&, const S*, \
                                  Loss, const EpochOptions&);                                           \
  template EpochResult train_epoch_sharded<S>(BasicMlp<S>&, Optimizer<S>&, const MatrixCRef<S>&,        \
                                              const TargetView<S>&, const S*, Loss, const EpochOptions&, \
                                              Index, Index, StepReducer<S>*, Workspace<S>&,              \
                                              std::vector<Index>&, const std::function<bool()>&);
MLPCORE_INSTANTIATE(float)
MLPCORE_INSTANTIATE(double)
#undef MLPCORE_INSTANTIATE

}  // namespace mlpcore
