// SPDX-License-Identifier: MIT
// scikit-learn's stochastic fit loop (BaseMultilayerPerceptron._fit_stochastic) in the engine:
// the whole fit runs here, so small data sets no longer pay Python's per-epoch work.
// fit_estimator is longer than the usual function: it follows _fit_stochastic and
// _update_no_improvement_count line by line, and splitting it would scatter that correspondence.
#include "mlpcore/estimator_fit.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "fp_env.hpp"
#include "stop_poll.hpp"
#include "mlpcore/epoch.hpp"

namespace mlpcore {

// ---- NumPy's MT19937 (numpy/random/src/mt19937): the reference generator, refilled in place.
std::uint32_t NumpyMt19937::next32() {
  constexpr int N = 624, M = 397;
  constexpr std::uint32_t kMatrixA = 0x9908b0dfU, kUpper = 0x80000000U, kLower = 0x7fffffffU;
  if (pos >= N) {
    auto twist = [&](int i, int j) {
      const std::uint32_t y = (key[i] & kUpper) | (key[(i + 1) % N] & kLower);
      key[i] = key[j] ^ (y >> 1) ^ ((0U - (y & 1U)) & kMatrixA);
    };
    int i = 0;
    for (; i < N - M; ++i) twist(i, i + M);
    for (; i < N - 1; ++i) twist(i, i + M - N);
    twist(N - 1, M - 1);
    pos = 0;
  }
  std::uint32_t y = key[static_cast<std::size_t>(pos++)];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  y ^= y >> 18;
  return y;
}

std::uint64_t NumpyMt19937::interval(std::uint64_t max) {
  if (max == 0) return 0;
  // The smallest all-ones mask covering max; draws above max are rejected.
  std::uint64_t mask = max;
  for (int s = 1; s <= 32; s *= 2) mask |= mask >> s;
  std::uint64_t value;
  if (max <= 0xffffffffULL) {
    while ((value = (next32() & mask)) > max) {}
  } else {
    while ((value = (((std::uint64_t(next32()) << 32) | next32()) & mask)) > max) {}
  }
  return value;
}

void NumpyMt19937::shuffle(std::vector<Index>& v) {
  for (std::size_t i = v.size(); i-- > 1;) std::swap(v[i], v[static_cast<std::size_t>(interval(i))]);
}

namespace {

// Copies rows idx[0, rows) of X, their targets and weights into the workspace's gather buffers.
// Returns the batch's weight sum.
template <class S>
double gather(const MatrixCRef<S>& X, const TargetView<S>& t, const S* w, const Index* idx, Index rows,
              Index C, Workspace<S>& ws, TargetView<S>& bt, const S*& bw) {
  const Index in = X.cols();
  for (Index r = 0; r < rows; ++r)
    std::memcpy(ws.batch_x.data() + r * in, X.row(idx[r]).data(), sizeof(S) * std::size_t(in));
  bt = TargetView<S>{};
  bt.rows = rows;
  if (t.is_labels()) {
    for (Index r = 0; r < rows; ++r) ws.batch_y[std::size_t(r)] = t.labels[idx[r]];
    bt.labels = ws.batch_y.data();
  } else {
    for (Index r = 0; r < rows; ++r)
      std::memcpy(ws.batch_t.data() + r * C, t.dense + idx[r] * C, sizeof(S) * std::size_t(C));
    bt.dense = ws.batch_t.data();
    bt.cols = C;
  }
  bw = nullptr;
  if (!w) return double(rows);
  double sum = 0;
  for (Index r = 0; r < rows; ++r) sum += double(ws.batch_w[r] = w[idx[r]]);
  bw = ws.batch_w.data();
  return sum;
}

// printf into a std::string (the verbose lines, as Python's % formatting writes them).
template <class... A>
std::string format(const char* fmt, A... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

// Sets the optimizer's rate to lr / k. SGD's momentum buffer holds gradients (torch's form,
// update = rate * buffer) where scikit-learn's velocity holds steps (velocity = -rate * buffer):
// rescaling it by old / new rate keeps the next velocity scikit-learn's, momentum * velocity -
// new rate * gradient.
template <class S>
void set_rate(Optimizer<S>& opt, double old_lr, double new_lr, double k) {
  opt.set_lr(new_lr / k);
  if (!(new_lr > 0) || old_lr == new_lr) return;
  for (auto& [name, buf] : opt.state())
    if (std::strcmp(name, "momentum_buffer") == 0) buf *= S(old_lr / new_lr);
}
}  // namespace

template <class S>
double validation_score(const BasicMlp<S>& net, const ValidationSet<S>& val, ValidationScore kind,
                        Workspace<S>& ws) {
  const Index n = val.rows, C = net.spec().n_outputs();
  RowMatrix<S> out(n, C);
  try {
    net.outputs(MatrixCMap<S>(val.X, n, net.spec().n_inputs()), ws, out, true);
  } catch (const std::invalid_argument&) {
    return std::numeric_limits<double>::quiet_NaN();  // outputs overflowed: no score
  }
  auto weight = [&](Index i) { return val.weights ? val.weights[i] : 1.0; };
  if (kind == ValidationScore::Accuracy) {
    double hit = 0, total = 0;
    for (Index i = 0; i < n; ++i) {
      bool ok = true;
      if (val.labels) {
        Index best;
        out.row(i).maxCoeff(&best);  // the first maximum, as NumPy's argmax
        ok = best == val.labels[i];
      } else {
        for (Index j = 0; j < C && ok; ++j) ok = (out(i, j) > S(0.5)) == (val.y[i * C + j] > 0.5);
      }
      hit += ok ? weight(i) : 0.0;
      total += weight(i);
    }
    return hit / total;
  }
  // R² per output with weights, averaged uniformly (scikit-learn's force_finite rules).
  double score = 0;
  for (Index j = 0; j < C; ++j) {
    double sw = 0, mean = 0;
    for (Index i = 0; i < n; ++i) {
      sw += weight(i);
      mean += weight(i) * val.y[i * C + j];
    }
    mean /= sw;
    double num = 0, den = 0;
    for (Index i = 0; i < n; ++i) {
      const double y = val.y[i * C + j], e = y - double(out(i, j)), d = y - mean;
      num += weight(i) * e * e;
      den += weight(i) * d * d;
    }
    if (!std::isfinite(num)) return std::numeric_limits<double>::quiet_NaN();
    score += den != 0 ? 1.0 - num / den : (num == 0 ? 1.0 : 0.0);
  }
  return score / double(C);
}

template <class S>
EstimatorFitResult fit_estimator(BasicMlp<S>& net, Optimizer<S>& opt, const MatrixCRef<S>& X,
                                 const TargetView<S>& targets, const S* weights, Loss loss,
                                 const EstimatorFitOptions& o, const ValidationSet<S>* val,
                                 NumpyMt19937& rng, VectorMap<S> best_params, EstimatorFitState& st,
                                 const std::function<void(const std::string&)>& log,
                                 const std::function<bool()>& should_stop) {
  EpochOptions eo;
  eo.batch_size = o.batch_size;
  eo.check_finite = false;
  validate_epoch<S>(net, X, targets, weights, loss, eo);
  auto require = [](bool ok, const std::string& what, double value) {
    if (!ok) throw std::invalid_argument(what + ", got " + std::to_string(value));
  };
  require(o.max_iter >= 0, "max_iter must be >= 0", double(o.max_iter));
  require(o.tol >= 0 && std::isfinite(o.tol), "tol must be finite and >= 0", o.tol);
  require(o.n_iter_no_change >= 0, "n_iter_no_change must be >= 0", o.n_iter_no_change);
  require(o.power_t >= 0 && std::isfinite(o.power_t), "power_t must be finite and >= 0", o.power_t);
  require(o.lr_init > 0 && std::isfinite(o.lr_init), "lr_init must be finite and > 0", o.lr_init);
  require(st.lr >= 0 && std::isfinite(st.lr), "the learning rate must be finite and >= 0", st.lr);
  require(o.grad_factor > 0 && std::isfinite(o.grad_factor), "grad_factor must be finite and > 0", o.grad_factor);
  require(o.data_factor > 0 && std::isfinite(o.data_factor), "data_factor must be finite and > 0", o.data_factor);
  if (o.early_stopping && (!val || val->rows < 1 || !val->X || (!val->labels && !val->y)))
    throw std::invalid_argument("early stopping needs a validation set");
  if (best_params.size() != net.n_params())
    throw std::invalid_argument("best_params has " + std::to_string(best_params.size()) + " values, model has " +
                                std::to_string(net.n_params()));
  const Index n = X.rows(), C = net.spec().n_outputs(), bs = std::min(o.batch_size, n);
  const double k = o.grad_factor;
  // The penalty is reported as alpha / (2 Σw) ‖W‖², the data part as engine / data_factor.
  const bool split_penalty = o.data_factor != k && net.weight_penalty() > 0;
  Workspace<S> ws, val_ws;
  ws.reserve(net.spec(), bs);
  std::vector<Index> order(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) order[std::size_t(i)] = i;

  const detail::FlushSubnormals flush;
  detail::StopPoll poll(should_stop, o.check_interval);
  EstimatorFitResult res;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  st.n_iter = 0;
  st.loss_curve.clear();
  st.validation_scores.clear();
  if (o.sgd) opt.set_lr(st.lr / k);  // Adam's rate is scale-free: the caller set it
  for (Index it = 0; it < o.max_iter; ++it) {
    double epoch_loss = nan;
    if (!res.diverged) {
      if (o.shuffle) rng.shuffle(order);
      double acc = 0;
      for (Index start = 0; start < n; start += bs) {
        const Index rows = std::min(bs, n - start);
        TargetView<S> bt;
        const S* bw = nullptr;
        const double wsum = gather<S>(X, targets, weights, order.data() + start, rows, C, ws, bt, bw);
        if (wsum > 0) {  // a batch whose weights are all zero carries no signal: skip it
          const double pen = split_penalty ? net.penalty_for(wsum) : 0.0;
          const double value = net.step_unchecked(ws.batch_x.data(), rows, bt, bw, loss, &opt, ws);
          if (!std::isfinite(value)) {
            res.diverged = true;
            acc = value * double(rows);
            break;
          }
          // scikit-learn weighs each batch's loss by its row count (not its weight sum).
          acc += ((value - pen) / o.data_factor + pen / k + o.loss_offset) * double(rows);
        }
        if (poll()) {  // an interrupted epoch is not recorded, as in scikit-learn
          res.interrupted = true;
          break;
        }
      }
      if (res.interrupted) break;
      epoch_loss = acc / double(n);
      if (res.diverged && !o.early_stopping) {
        st.loss = epoch_loss;
        return res;
      }
    }
    st.n_iter += 1;
    st.t += n;
    st.loss = epoch_loss;
    st.loss_curve.push_back(epoch_loss);
    if (log) log(format("Iteration %lld, loss = %.8f", static_cast<long long>(st.n_iter), epoch_loss));

    // scikit-learn's _update_no_improvement_count (NaN compares false: it resets the count).
    if (o.early_stopping) {
      const double score = res.diverged ? nan : validation_score<S>(net, *val, o.score, val_ws);
      st.validation_scores.push_back(score);
      if (log) log(format("Validation score: %f", score));
      if (score < st.best_validation_score + o.tol)
        st.no_improvement_count += 1;
      else
        st.no_improvement_count = 0;
      if (score > st.best_validation_score) {
        st.best_validation_score = score;
        best_params = net.params();
      }
    } else {
      if (epoch_loss > st.best_loss - o.tol)
        st.no_improvement_count += 1;
      else
        st.no_improvement_count = 0;
      if (epoch_loss < st.best_loss) st.best_loss = epoch_loss;
    }
    // SGDOptimizer.iteration_ends
    if (o.sgd && o.schedule == LrSchedule::InvScaling) {
      const double lr = o.lr_init / std::pow(double(st.t + 1), o.power_t);
      set_rate(opt, st.lr, lr, k);
      st.lr = lr;
    }
    if (double(st.no_improvement_count) > o.n_iter_no_change) {
      const std::string msg = format(
          o.early_stopping ? "Validation score did not improve more than tol=%f for %lld consecutive epochs."
                           : "Training loss did not improve more than tol=%f for %lld consecutive epochs.",
          o.tol, static_cast<long long>(o.n_iter_no_change));
      // trigger_stopping: only SGD's adaptive schedule goes on, at a fifth of the rate.
      if (!o.sgd || o.schedule != LrSchedule::Adaptive) {
        if (log) log(msg + " Stopping.");
        res.converged = true;
        break;
      }
      if (st.lr <= 1e-6) {
        if (log) log(msg + " Learning rate too small. Stopping.");
        res.converged = true;
        break;
      }
      const double lr = st.lr / 5.0;
      set_rate(opt, st.lr, lr, k);
      st.lr = lr;
      if (log) log(msg + format(" Setting learning rate to %f", lr));
      st.no_improvement_count = 0;
    }
    if (poll()) {
      res.interrupted = true;
      break;
    }
  }
  if (o.early_stopping) net.params() = best_params;  // the best validation score's weights
  return res;
}

#define MLPCORE_INSTANTIATE(S)                                                                               \
  template double validation_score<S>(const BasicMlp<S>&, const ValidationSet<S>&, ValidationScore,          \
                                      Workspace<S>&);                                                        \
  template EstimatorFitResult fit_estimator<S>(BasicMlp<S>&, Optimizer<S>&, const MatrixCRef<S>&,            \
                                               const TargetView<S>&, const S*, Loss, const EstimatorFitOptions&, \
                                               const ValidationSet<S>*, NumpyMt19937&, VectorMap<S>,          \
                                               EstimatorFitState&, const std::function<void(const std::string&)>&, \
                                               const std::function<bool()>&);
MLPCORE_INSTANTIATE(float)
MLPCORE_INSTANTIATE(double)
#undef MLPCORE_INSTANTIATE

}  // namespace mlpcore
