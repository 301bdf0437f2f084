// SPDX-License-Identifier: MIT
// The perceptron rule: an epoch worked by hand, learning AND and failing XOR, L2 and L1 penalties
// against hand-computed values, sample weights as exact repetitions, and input validation.
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "mlpcore/perceptron.hpp"

using namespace mlpcore;

namespace {

RowMatrix<double> truth_table() {
  RowMatrix<double> X(4, 2);
  X << 0, 0, 0, 1, 1, 0, 1, 1;
  return X;
}

// Epochs until an epoch makes no mistake (or -1 after `max_epochs`).
int epochs_to_converge(BasicPerceptron<double>& p, const RowMatrix<double>& X, const std::vector<std::int32_t>& y,
                       int max_epochs) {
  for (int e = 0; e < max_epochs; ++e) {
    if (p.train_epoch(X, y.data(), nullptr, nullptr, nullptr, nullptr, true, 7, std::uint64_t(e)).updates == 0)
      return e + 1;
  }
  return -1;
}

}  // namespace

TEST_CASE(one_epoch_by_hand) {
  // AND, rows in order, eta = 1, from w = (0, 0), b = 0; the unit fires when z > 0.
  //   x=(0,0) t=0: z=0, o=0, right.
  //   x=(0,1) t=0: z=0, o=0, right.
  //   x=(1,0) t=0: z=0, o=0, right.
  //   x=(1,1) t=1: z=0, o=0, wrong: w += (1,1) -> (1,1), b += 1 -> 1. loss max(0, -z) = 0.
  BasicPerceptron<double> p(1, 2, PerceptronConfig{});
  const std::vector<std::int32_t> y{0, 0, 0, 1};
  PerceptronEpoch r = p.train_epoch(truth_table(), y.data(), nullptr, nullptr, nullptr, nullptr, false, 0, 0);
  CHECK(r.updates == 1);
  CHECK(r.presentations == 4.0);
  CHECK(r.loss[0] == 0.0);
  CHECK(p.weights()(0, 0) == 1.0 && p.weights()(0, 1) == 1.0 && p.bias()[0] == 1.0);
  // Epoch 2: (0,0): z=1, o=1, t=0: wrong, w stays (x=0), b -> 0, loss z = 1.
  //   (0,1): z=1 wrong: w -> (1,0), b -> -1, loss 1.  (1,0): z=0 right.  (1,1): z=0 wrong, t=1:
  //   w -> (2,1), b -> 0, loss 0.
  r = p.train_epoch(truth_table(), y.data(), nullptr, nullptr, nullptr, nullptr, false, 0, 1);
  CHECK(r.updates == 3);
  CHECK_CLOSE(r.loss[0], 2.0, 1e-15);
  CHECK(p.weights()(0, 0) == 2.0 && p.weights()(0, 1) == 1.0 && p.bias()[0] == 0.0);
}

TEST_CASE(learns_and_fails_xor) {
  BasicPerceptron<double> and_unit(1, 2, PerceptronConfig{});
  const int epochs = epochs_to_converge(and_unit, truth_table(), {0, 0, 0, 1}, 100);
  CHECK(epochs > 0);
  const RowMatrix<double> X = truth_table();
  for (Index i = 0; i < 4; ++i) {
    const double z = X.row(i).dot(and_unit.weights().row(0)) + and_unit.bias()[0];
    CHECK((z > 0) == (i == 3));
  }
  BasicPerceptron<double> xor_unit(1, 2, PerceptronConfig{});
  CHECK(epochs_to_converge(xor_unit, truth_table(), {0, 1, 1, 0}, 1000) == -1);
}

TEST_CASE(l2_and_l1_penalties) {
  // One presentation of x=(1,1) with t=1 from w=(2,-3), b=0 (z=-1: wrong), eta=0.5, alpha=0.2.
  // L2: w *= 1 - 0.5*0.2 = 0.9 -> (1.8, -2.7), then += 0.5*(1,1) -> (2.3, -2.2); b = 0.5.
  RowMatrix<double> X(1, 2);
  X << 1, 1;
  const std::int32_t y[1] = {1};
  PerceptronConfig c;
  c.eta0 = 0.5;
  c.alpha = 0.2;
  c.penalty = PerceptronPenalty::L2;
  BasicPerceptron<double> l2(1, 2, c);
  l2.weights() << 2, -3;
  l2.train_epoch(X, y, nullptr, nullptr, nullptr, nullptr, false, 0, 0);
  CHECK_CLOSE(l2.weights()(0, 0), 2.3, 1e-15);
  CHECK_CLOSE(l2.weights()(0, 1), -2.2, 1e-15);
  CHECK_CLOSE(l2.bias()[0], 0.5, 1e-15);
  // L1: update to (2.5, -2.5), then u = 0.1 and each weight moves 0.1 towards 0: (2.4, -2.4).
  // A second presentation (z = 0.5 > 0: right) only adds u = 0.2; each weight already took 0.1,
  // so it moves another 0.1: (2.3, -2.3).
  c.penalty = PerceptronPenalty::L1;
  BasicPerceptron<double> l1(1, 2, c);
  l1.weights() << 2, -3;
  l1.train_epoch(X, y, nullptr, nullptr, nullptr, nullptr, false, 0, 0);
  CHECK_CLOSE(l1.weights()(0, 0), 2.4, 1e-15);
  CHECK_CLOSE(l1.weights()(0, 1), -2.4, 1e-15);
  l1.train_epoch(X, y, nullptr, nullptr, nullptr, nullptr, false, 0, 1);
  CHECK_CLOSE(l1.weights()(0, 0), 2.3, 1e-15);
  CHECK_CLOSE(l1.weights()(0, 1), -2.3, 1e-15);
  // L1 clips at zero instead of crossing it.
  BasicPerceptron<double> tiny(1, 2, c);
  tiny.weights() << 0.05, -0.05;
  tiny.bias()[0] = 1.0;  // z > 0: right, no update
  tiny.train_epoch(X, y, nullptr, nullptr, nullptr, nullptr, false, 0, 0);
  CHECK(tiny.weights()(0, 0) == 0.0 && tiny.weights()(0, 1) == 0.0);
}

TEST_CASE(weights_are_repetitions) {
  // Three units (one-vs-rest), shuffled: integer weights equal repeated rows bit for bit, in any
  // row order, with and without a penalty.
  const Index n = 12, F = 5;
  RowMatrix<double> X(n, F);
  std::vector<std::int32_t> y(n);
  std::vector<double> w(n);
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < F; ++j) X(i, j) = double((i * 7 + j * 3) % 11) / 5.0 - 1.0;
    y[std::size_t(i)] = std::int32_t(i % 3);
    w[std::size_t(i)] = double((i * 5) % 4);  // 0..3
  }
  std::vector<Index> rows;
  for (Index i = n - 1; i >= 0; --i)
    for (int r = 0; r < int(w[std::size_t(i)]); ++r) rows.push_back(i);  // reversed order too
  RowMatrix<double> Xr(Index(rows.size()), F);
  std::vector<std::int32_t> yr;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    Xr.row(Index(r)) = X.row(rows[r]);
    yr.push_back(y[std::size_t(rows[r])]);
  }
  for (PerceptronPenalty pen : {PerceptronPenalty::None, PerceptronPenalty::L2, PerceptronPenalty::L1}) {
    PerceptronConfig c;
    c.penalty = pen;
    c.alpha = 0.01;
    BasicPerceptron<double> weighted(3, F, c), repeated(3, F, c);
    for (std::uint64_t e = 0; e < 5; ++e) {
      const PerceptronEpoch a = weighted.train_epoch(X, y.data(), w.data(), nullptr, nullptr, nullptr, true, 3, e);
      const PerceptronEpoch b = repeated.train_epoch(Xr, yr.data(), nullptr, nullptr, nullptr, nullptr, true, 3, e);
      CHECK(a.presentations == b.presentations);
      CHECK(a.loss == b.loss);
    }
    CHECK(weighted.weights() == repeated.weights());
    CHECK(weighted.bias() == repeated.bias());
  }
}

TEST_CASE(validation) {
  CHECK_THROWS(BasicPerceptron<double>(0, 2, PerceptronConfig{}), std::invalid_argument);
  PerceptronConfig bad;
  bad.eta0 = 0;
  CHECK_THROWS(BasicPerceptron<double>(1, 2, bad), std::invalid_argument);
  BasicPerceptron<float> p(2, 2, PerceptronConfig{});
  RowMatrix<float> X = RowMatrix<float>::Zero(2, 2);
  const std::int32_t y[2] = {0, 2};
  CHECK_THROWS(p.train_epoch(X, y, nullptr, nullptr, nullptr, nullptr, false, 0, 0), std::invalid_argument);
  const std::int32_t ok[2] = {0, 1};
  const float neg[2] = {1.0f, -1.0f};
  CHECK_THROWS(p.train_epoch(X, ok, neg, nullptr, nullptr, nullptr, false, 0, 0), std::invalid_argument);
  RowMatrix<float> wrong = RowMatrix<float>::Zero(2, 3);
  CHECK_THROWS(p.train_epoch(wrong, ok, nullptr, nullptr, nullptr, nullptr, false, 0, 0), std::invalid_argument);
}

CHECK_MAIN()
