// SPDX-License-Identifier: MIT
// The estimators' fit loop (estimator_fit.hpp): NumPy's MT19937 against the standard library's
// mt19937 (the same generator), NumPy's bounded draws, and the loop's contracts: early stopping
// puts back the best-scoring parameters, the stopping rule ends the fit, divergence is reported,
// bad arguments throw. (Against scikit-learn itself: tests/test_sklearn_estimator_fit.py.)
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "make_spec.hpp"
#include "mlpcore/mlpcore.hpp"

using namespace mlpcore;

namespace {

// MT19937's state after init_genrand(seed) (Matsumoto & Nishimura), as std::mt19937(seed) has it.
NumpyMt19937 seeded(std::uint32_t seed) {
  NumpyMt19937 g;
  g.key[0] = seed;
  for (std::uint32_t i = 1; i < 624; ++i) g.key[i] = 1812433253U * (g.key[i - 1] ^ (g.key[i - 1] >> 30)) + i;
  g.pos = 624;
  return g;
}

// y = 2·x0 − x1 on 64 rows: a 2-4-1 identity-output net learns it.
struct Data {
  RowMatrix<double> X{64, 2};
  RowMatrix<double> Y{64, 1};
  Data() {
    for (Index i = 0; i < 64; ++i) {
      X(i, 0) = std::sin(0.3 * double(i));
      X(i, 1) = std::cos(0.17 * double(i));
      Y(i, 0) = 2 * X(i, 0) - X(i, 1);
    }
  }
  TargetView<double> targets() const {
    TargetView<double> t;
    t.dense = Y.data();
    t.rows = 64;
    t.cols = 1;
    return t;
  }
};

}  // namespace

TEST_CASE(mt19937_is_the_standard_generator) {
  NumpyMt19937 ours = seeded(5489);
  std::mt19937 reference(5489);
  for (int i = 0; i < 2000; ++i) CHECK(ours.next32() == reference());  // crosses three refills
}

TEST_CASE(interval_is_masked_rejection) {
  NumpyMt19937 a = seeded(1), b = seeded(1);
  for (std::uint64_t max : {0ULL, 1ULL, 5ULL, 6ULL, 1000ULL}) {
    const std::uint64_t draw = a.interval(max);
    CHECK(draw <= max);
    if (max == 0) continue;
    std::uint64_t mask = 1;
    while (mask < max) mask = mask * 2 + 1;
    std::uint64_t expect;
    while ((expect = b.next32() & mask) > max) {}
    CHECK(draw == expect);
  }
  std::vector<Index> v{0, 1, 2, 3, 4, 5, 6, 7};
  a.shuffle(v);
  std::vector<Index> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  CHECK((sorted == std::vector<Index>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST_CASE(early_stopping_restores_the_best_scoring_parameters) {
  const Data d;
  BasicMlp<double> net(make_spec({2, 4, 1}, {Activation::Tanh}, Output::Identity), Init::Xavier, 3);
  SgdConfig cfg;
  Sgd<double> opt(cfg);
  EstimatorFitOptions o;
  o.batch_size = 16;
  o.max_iter = 30;
  o.n_iter_no_change = 1e9;
  o.sgd = true;
  o.grad_factor = o.data_factor = 2;  // squared error: engine = 2 × half the mean squared error
  o.early_stopping = true;
  o.score = ValidationScore::R2;
  std::vector<double> yv(d.Y.data(), d.Y.data() + 64);
  ValidationSet<double> val{d.X.data(), 64, nullptr, yv.data(), nullptr};
  EstimatorFitState st;
  st.lr = 0.05;
  Vector<double> best = net.params();
  NumpyMt19937 rng = seeded(7);
  const EstimatorFitResult r = fit_estimator<double>(net, opt, d.X, d.targets(), nullptr, Loss::Mse, o, &val, rng,
                                                     VectorMap<double>(best.data(), best.size()), st);
  CHECK(!r.converged && !r.diverged && !r.interrupted);
  CHECK(st.n_iter == 30 && st.t == 30 * 64 && st.loss_curve.size() == 30 && st.validation_scores.size() == 30);
  CHECK(st.best_validation_score == *std::max_element(st.validation_scores.begin(), st.validation_scores.end()));
  CHECK(st.best_validation_score > 0.5);
  CHECK((net.params() - best).norm() == 0.0);
  Workspace<double> ws;
  CHECK_CLOSE(validation_score<double>(net, val, ValidationScore::R2, ws), st.best_validation_score, 1e-12);
}

TEST_CASE(stopping_rule_and_divergence) {
  const Data d;
  BasicMlp<double> net(make_spec({2, 4, 1}, {Activation::Identity}, Output::Identity), Init::Xavier, 3);
  Sgd<double> opt(SgdConfig{});
  EstimatorFitOptions o;
  o.batch_size = 64;
  o.max_iter = 50;
  o.tol = 1e9;  // nothing counts as an improvement
  o.n_iter_no_change = 2;
  o.sgd = true;
  o.grad_factor = o.data_factor = 2;
  EstimatorFitState st;
  st.lr = 0.01;
  Vector<double> best = net.params();
  NumpyMt19937 rng = seeded(7);
  EstimatorFitResult r = fit_estimator<double>(net, opt, d.X, d.targets(), nullptr, Loss::Mse, o, nullptr, rng,
                                               VectorMap<double>(best.data(), best.size()), st);
  // Epoch 1 beats the initial best (infinity); epochs 2, 3, 4 do not: 3 > n_iter_no_change.
  CHECK(r.converged && st.n_iter == 4 && st.no_improvement_count == 3);

  st = EstimatorFitState{};
  st.lr = 1e6;  // diverges within a few epochs
  o.tol = 0;
  o.n_iter_no_change = 1e9;
  r = fit_estimator<double>(net, opt, d.X, d.targets(), nullptr, Loss::Mse, o, nullptr, rng,
                            VectorMap<double>(best.data(), best.size()), st);
  CHECK(r.diverged && !std::isfinite(st.loss));

  Vector<double> short_best(3);
  CHECK_THROWS(fit_estimator<double>(net, opt, d.X, d.targets(), nullptr, Loss::Mse, o, nullptr, rng,
                                     VectorMap<double>(short_best.data(), 3), st),
               std::invalid_argument);
  o.tol = -1;
  CHECK_THROWS(fit_estimator<double>(net, opt, d.X, d.targets(), nullptr, Loss::Mse, o, nullptr, rng,
                                     VectorMap<double>(best.data(), best.size()), st),
               std::invalid_argument);
  o.tol = 0;
  o.early_stopping = true;  // without a validation set
  CHECK_THROWS(fit_estimator<double>(net, opt, d.X, d.targets(), nullptr, Loss::Mse, o, nullptr, rng,
                                     VectorMap<double>(best.data(), best.size()), st),
               std::invalid_argument);
}

CHECK_MAIN()
