// SPDX-License-Identifier: MIT
// The perceptron learning rule (Rosenblatt 1958), one presentation at a time, for K units
// trained one-vs-rest. Penalties follow scikit-learn's SGD: L2 shrinks the weights before each
// presentation; L1 is the cumulative truncated gradient of Tsuruoka, Tsujii & Ananiadou (2009),
// which clips each weight at zero and remembers how much penalty it actually took.
#include "mlpcore/perceptron.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include "mlpcore/rng.hpp"

namespace mlpcore {

namespace {

template <class S>
std::uint64_t bits_of(S value) {
  if (value == S(0)) value = S(0);  // +0 and -0 are the same input
  std::uint64_t out = 0;
  std::memcpy(&out, &value, sizeof(S));
  return out;
}

}  // namespace

void PerceptronConfig::validate() const {
  if (!(eta0 > 0) || !std::isfinite(eta0))
    throw std::invalid_argument("eta0 must be a finite number > 0, got " + std::to_string(eta0));
  if (!(alpha >= 0) || !std::isfinite(alpha))
    throw std::invalid_argument("alpha must be a finite number >= 0, got " + std::to_string(alpha));
}

template <class S>
BasicPerceptron<S>::BasicPerceptron(Index n_units, Index n_features, const PerceptronConfig& config)
    : m_config(config) {
  if (n_units < 1) throw std::invalid_argument("n_units must be >= 1, got " + std::to_string(n_units));
  if (n_features < 1) throw std::invalid_argument("n_features must be >= 1, got " + std::to_string(n_features));
  config.validate();
  m_w = RowMatrix<S>::Zero(n_units, n_features);
  m_b = Vector<S>::Zero(n_units);
  if (config.penalty == PerceptronPenalty::L1) {
    m_u.assign(static_cast<std::size_t>(n_units), 0.0);
    m_q = RowMatrix<double>::Zero(n_units, n_features);
  }
}

template <class S>
bool BasicPerceptron<S>::present(Index k, const S* x, int t, double step, double scale, double& loss) {
  const Index F = m_w.cols();
  Eigen::Map<Eigen::Matrix<S, 1, Eigen::Dynamic>> w(m_w.row(k).data(), F);
  const Eigen::Map<const Eigen::Matrix<S, 1, Eigen::Dynamic>> xr(x, F);
  const double z = double(w.dot(xr)) + double(m_b[k]);
  const int o = z > 0 ? 1 : 0;               // the unit fires when its input exceeds the threshold
  loss += scale * std::max(0.0, t ? -z : z);  // max(0, −y·z) with y = 2t − 1
  const double shrink = scale * m_config.eta0 * m_config.alpha;
  if (m_config.penalty == PerceptronPenalty::L2) w *= S(std::max(0.0, 1.0 - shrink));
  if (o != t) {
    const S delta = S(step * scale * double(t - o));  // (t − o) is +1 or −1: add or subtract x
    w += delta * xr;
    if (m_config.fit_intercept) m_b[k] += delta;
  }
  if (m_config.penalty == PerceptronPenalty::L1) {
    // u: the penalty a weight could have received in total; q: what it did receive.
    double& u = m_u[static_cast<std::size_t>(k)];
    u += shrink;
    for (Index j = 0; j < F; ++j) {
      const double before = double(w[j]);
      double after = before;
      if (before > 0) after = std::max(0.0, before - (u + m_q(k, j)));
      else if (before < 0) after = std::min(0.0, before + (u - m_q(k, j)));
      w[j] = S(after);
      m_q(k, j) += double(w[j]) - before;
    }
  }
  return o == t;
}

template <class S>
PerceptronEpoch BasicPerceptron<S>::train_epoch(const MatrixCRef<S>& X, const std::int32_t* labels,
                                                const S* sample_weight, const double* positive_weight,
                                                const double* negative_weight, const std::uint8_t* active,
                                                bool shuffle, std::uint64_t seed, std::uint64_t epoch,
                                                const std::uint64_t* row_keys) {
  const Index n = X.rows(), F = m_w.cols(), K = m_w.rows();
  if (n == 0) throw std::invalid_argument("X is empty (0 rows)");
  if (X.cols() != F)
    throw std::invalid_argument("X has " + std::to_string(X.cols()) + " columns, the perceptron expects " +
                                std::to_string(F));
  if (!labels) throw std::invalid_argument("labels must not be null");
  if (!X.allFinite()) throw std::invalid_argument("X contains NaN or infinity");
  const Index n_labels = K == 1 ? 2 : K;
  for (Index i = 0; i < n; ++i) {
    if (labels[i] < 0 || labels[i] >= n_labels)
      throw std::invalid_argument("label " + std::to_string(labels[i]) + " at row " + std::to_string(i) +
                                  " is out of range [0, " + std::to_string(n_labels) + ")");
    if (sample_weight && !(std::isfinite(double(sample_weight[i])) && sample_weight[i] >= 0))
      throw std::invalid_argument("sample_weight[" + std::to_string(i) + "] must be finite and >= 0, got " +
                                  std::to_string(double(sample_weight[i])));
  }
  for (Index k = 0; k < K; ++k)
    for (const double* cw : {positive_weight, negative_weight})
      if (cw && !(std::isfinite(cw[k]) && cw[k] >= 0))
        throw std::invalid_argument("class weights must be finite and >= 0, got " + std::to_string(cw[k]));

  // Visiting order. Shuffled, each row's epoch key mixes its content key (features and label)
  // with (seed, epoch): identical rows get equal keys and are visited back to back, which makes
  // a weight of w the same as w copies, and the row order of X irrelevant. Ties keep row order.
  m_order.resize(static_cast<std::size_t>(n));
  if (shuffle) {
    std::vector<std::uint64_t> computed;
    if (!row_keys) {
      computed = BasicPerceptron<S>::row_keys(X, labels);
      row_keys = computed.data();
    }
    const std::uint64_t stream = Rng::derive(seed, epoch);
    m_sort.resize(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i) m_sort[static_cast<std::size_t>(i)] = {Rng::mix(row_keys[i] ^ stream), i};
    std::sort(m_sort.begin(), m_sort.end());
    for (Index i = 0; i < n; ++i) m_order[static_cast<std::size_t>(i)] = m_sort[static_cast<std::size_t>(i)].second;
  } else {
    for (Index i = 0; i < n; ++i) m_order[static_cast<std::size_t>(i)] = i;
  }

  PerceptronEpoch result;
  result.loss.assign(static_cast<std::size_t>(K), 0.0);
  const bool plain = m_config.penalty == PerceptronPenalty::None;
  for (const Index i : m_order) {
    const double weight = sample_weight ? double(sample_weight[i]) : 1.0;
    if (weight <= 0) continue;
    result.presentations += weight;
    const double whole = std::floor(weight), part = weight - whole;
    const S* x = X.row(i).data();
    // Without a penalty a correct presentation changes nothing, so the remaining copies of the
    // sample can be skipped; and if an update cannot move z (x = 0 without intercept, or a zero
    // class weight), the remaining copies repeat the same mistake.
    const bool stuck_if_wrong =
        plain && X.row(i).squaredNorm() == S(0) && !m_config.fit_intercept;
    for (Index k = 0; k < K; ++k) {
      if (active && !active[k]) continue;
      const int t = (K == 1) ? (labels[i] == 1) : (labels[i] == k);
      const double cw = t ? (positive_weight ? positive_weight[k] : 1.0)
                          : (negative_weight ? negative_weight[k] : 1.0);
      const double step = m_config.eta0 * cw;
      double& loss = result.loss[static_cast<std::size_t>(k)];
      bool correct = false;
      for (double r = 0; r < whole; r += 1) {
        const double before = loss;
        correct = present(k, x, t, step, 1.0, loss);
        if (!correct) ++result.updates;
        if (plain && correct) break;
        if (plain && (stuck_if_wrong || cw == 0)) {
          const double rest = whole - r - 1;  // identical no-op mistakes
          loss += rest * (loss - before);
          result.updates += Index(rest);
          break;
        }
      }
      if (part > 0 && !(plain && correct)) {
        if (!present(k, x, t, step, part, loss)) ++result.updates;
      }
    }
  }
  return result;
}

template <class S>
std::vector<std::uint64_t> BasicPerceptron<S>::row_keys(const MatrixCRef<S>& X, const std::int32_t* labels) {
  const Index n = X.rows(), F = X.cols();
  std::vector<std::uint64_t> keys(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) {
    // A sum of independently mixed (position, value) words: no serial dependency between
    // features, so the loop pipelines; then one more mix with the label.
    const S* row = X.row(i).data();
    std::uint64_t h = 0;
    for (Index j = 0; j < F; ++j) h += Rng::mix(bits_of(row[j]) + 0x9e3779b97f4a7c15ULL * std::uint64_t(j + 1));
    keys[static_cast<std::size_t>(i)] = Rng::mix(h ^ (std::uint64_t(std::uint32_t(labels[i])) << 32));
  }
  return keys;
}

template class BasicPerceptron<float>;
template class BasicPerceptron<double>;

}  // namespace mlpcore
