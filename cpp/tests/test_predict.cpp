// SPDX-License-Identifier: MIT
// The embedding API (predict.hpp, fit.hpp): Predictor results against BasicMlp::outputs and a
// plain-loop reference, label rules (argmax, sigmoid threshold), single samples, errors, class
// names and the summary, many threads on one model, and whole training runs from C++.
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "check.hpp"
#include "make_spec.hpp"
#include "mlpcore/mlpcore.hpp"

using namespace mlpcore;
namespace fs = std::filesystem;

namespace {

template <class S>
RowMatrix<S> random_matrix(Rng& rng, Index rows, Index cols, double scale = 1.0) {
  RowMatrix<S> m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<S>(scale * rng.normal());
  return m;
}

double max_abs_diff(const RowMatrix<float>& a, const RowMatrix<float>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return INFINITY;
  return double((a - b).cwiseAbs().maxCoeff());
}

// Probabilities in double from float logits, written as plainly as possible.
RowMatrix<double> reference_probabilities(Output output, const RowMatrix<float>& Z) {
  RowMatrix<double> P = Z.cast<double>();
  for (Index r = 0; r < P.rows(); ++r) {
    if (output == Output::Softmax) {
      const double m = P.row(r).maxCoeff();
      double sum = 0;
      for (Index j = 0; j < P.cols(); ++j) sum += (P(r, j) = std::exp(P(r, j) - m));
      P.row(r) /= sum;
    } else if (output == Output::Sigmoid) {
      for (Index j = 0; j < P.cols(); ++j) P(r, j) = 1.0 / (1.0 + std::exp(-P(r, j)));
    }
  }
  return P;
}

// The message of the std::invalid_argument that call() throws, or "(no exception)".
template <class Call>
std::string message_of(const Call& call) {
  try {
    call();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no exception)";
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "mlpcore_test_predict_XXXXXX").string();
    if (!::mkdtemp(&tmpl[0])) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Batches longer than kPredictChunk (so several chunks and a short last one) agree with
// BasicMlp::outputs on the whole batch, row by row with the single-sample calls, and with a
// double-precision softmax/sigmoid of the logits.
TEST_CASE(predictor_agrees_with_forward_for_every_output) {
  const Output outputs[] = {Output::Softmax, Output::Sigmoid, Output::Identity};
  for (Output output : outputs) {
    for (Index C : {Index(1), Index(3)}) {
      const MlpSpec spec = make_spec({5, 40, 24, C}, {Activation::Tanh, Activation::Maxout}, output);
      Mlp net(spec, Init::NormalizedXavier, 11);
      net.set_input_scaling({1, -2, 0.5, 0, 3}, {2, 0.5, 1, 4, 0.25});
      Rng rng(12);
      const Index n = 2 * kPredictChunk + 37;
      const RowMatrix<float> X = random_matrix<float>(rng, n, 5, 2.0);
      Workspace<float> ws;
      RowMatrix<float> Z(n, C);
      net.outputs(X, ws, Z, false);

      Predictor<float> p(net);
      const RowMatrix<float> logits = p.logits(X);
      CHECK(max_abs_diff(logits, Z) <= 1e-5);
      RowMatrix<float> one(1, C);
      double worst = 0;
      for (Index r = 0; r < n; r += 97) {
        p.logits_one(X.row(r).data(), one.data());
        worst = std::max(worst, double((one.row(0) - logits.row(r)).cwiseAbs().maxCoeff()));
      }
      CHECK(worst <= 1e-5);

      if (output == Output::Identity) {
        CHECK_THROWS(p.probabilities(X), std::invalid_argument);
        CHECK_THROWS(p.labels(X), std::invalid_argument);
        CHECK_THROWS(p.label_one(X.data()), std::invalid_argument);
        continue;
      }
      const RowMatrix<float> P = p.probabilities(X);
      const RowMatrix<double> ref = reference_probabilities(output, logits);
      CHECK(double((P.cast<double>() - ref).cwiseAbs().maxCoeff()) <= 1e-6);
      for (Index r = 0; r < n; r += 101) {
        p.probabilities_one(X.row(r).data(), one.data());
        CHECK(double((one.row(0) - P.row(r)).cwiseAbs().maxCoeff()) <= 1e-6);
      }

      if (output == Output::Sigmoid && C == 3) {
        CHECK_THROWS(p.labels(X), std::invalid_argument);
        std::vector<std::int32_t> d(static_cast<std::size_t>(n * C));
        p.decisions(X.data(), n, 5, d.data());
        long mismatches = 0;
        for (Index i = 0; i < n * C; ++i) mismatches += d[static_cast<std::size_t>(i)] != (logits.data()[i] > 0 ? 1 : 0);
        CHECK(mismatches == 0);
        continue;
      }
      const LabelVector labels = p.labels(X);
      long mismatches = 0, agree_one = 0;
      for (Index r = 0; r < n; ++r) {
        Index want = 0;
        if (output == Output::Sigmoid) want = logits(r, 0) > 0 ? 1 : 0;
        else logits.row(r).maxCoeff(&want);
        mismatches += labels(r) != want;
        if (r % 113 == 0) agree_one += p.label_one(X.row(r).data()) == labels(r);
      }
      CHECK(mismatches == 0);
      CHECK(agree_one == (n + 112) / 113);
    }
  }
}

// Hand-set weights: logits equal the inputs, so the label rules can be read off directly.
TEST_CASE(label_rules_argmax_first_and_sigmoid_threshold) {
  Mlp soft(make_spec({3, 3}, {}, Output::Softmax));
  soft.weight(0).setIdentity();
  Predictor<float> ps(soft);
  const float ties[] = {2, 5, 5}, first[] = {7, 7, 1}, last[] = {-1, -2, 0};
  CHECK(ps.label_one(ties) == 1);
  CHECK(ps.label_one(first) == 0);
  CHECK(ps.label_one(last) == 2);

  Mlp sig(make_spec({1, 1}, {}, Output::Sigmoid));
  sig.weight(0)(0, 0) = 1;
  Predictor<float> pg(sig);
  const float x[] = {-1, 0, 1e-7f, 3};
  std::int32_t labels[4];
  pg.labels(x, 4, 1, labels);
  CHECK(labels[0] == 0);
  CHECK(labels[1] == 0);  // p = 0.5 exactly is not > 0.5, as Python's (logit > 0)
  CHECK(labels[2] == 1);
  CHECK(labels[3] == 1);
  CHECK(class_name(sig, 1) == "1");
  sig.meta().classes = {"no", "yes"};
  sig.meta().classes_kind = "str";
  CHECK(class_name(sig, 0) == "no");
  CHECK(class_name(sig, 1) == "yes");
  CHECK_THROWS(class_name(sig, 2), std::invalid_argument);
  CHECK_THROWS(class_name(soft, -1), std::invalid_argument);
  CHECK(predicts_labels(sig.spec()));
  CHECK(predicts_labels(soft.spec()));
  CHECK(!predicts_labels(make_spec({2, 2}, {}, Output::Sigmoid)));
  CHECK(!predicts_labels(make_spec({2, 1}, {}, Output::Identity)));
}

TEST_CASE(bad_inputs_throw_with_both_shapes) {
  Mlp net(make_spec({4, 8, 3}, {Activation::Relu}, Output::Softmax), Init::He, 1);
  Predictor<float> p(net);
  std::vector<float> X(4 * 6, 0.5f), out(3 * 6);
  auto message = [](auto&& call) { return message_of(call); };
  CHECK(message([&] { p.logits(X.data(), 6, 3, out.data()); }) == "X has 3 columns, model expects 4");
  CHECK(message([&] { p.logits(X.data(), 0, 4, out.data()); }) == "X is empty (0 rows)");
  X[4 * 4 + 2] = NAN;
  CHECK(message([&] { p.probabilities(X.data(), 6, 4, out.data()); }) == "X contains NaN or infinity at row 4");
  CHECK(message([&] { p.logits_one(X.data() + 16, out.data()); }) == "X contains NaN or infinity at row 0");
  CHECK_THROWS(Predictor<float>(net, 0), std::invalid_argument);
  CHECK_THROWS(p.decisions(X.data(), 1, 4, nullptr), std::invalid_argument);
  CHECK_THROWS(p.logits(nullptr, 1, 4, out.data()), std::invalid_argument);
}

// Finite inputs that overflow inside the network: every prediction call refuses them, naming the
// rows of the whole batch (over several chunks) and their count, instead of returning NaN.
template <class S>
void check_overflow_is_refused(S big) {
  // Every weight 1 then 2, biases 0: a row (big, big) gives hidden units 2·big and logits
  // 4 · 2 · 2·big, past the dtype's largest value (3.4e38, 1.8e308) for big = 1e38 or 1e308.
  BasicMlp<S> net(make_spec({2, 4, 3}, {Activation::Relu}, Output::Softmax));
  net.weight(0).setConstant(S(1));
  net.weight(1).setConstant(S(2));
  RowMatrix<S> X = RowMatrix<S>::Constant(3000, 2, S(0.5));  // three chunks of kPredictChunk
  for (Index r : {5, 1500, 2999}) X.row(r).setConstant(big);
  Predictor<S> p(net, 3000);
  const std::string rows = "the network's outputs are NaN or infinite for rows 5, 1500, 2999 (3 of 3000 rows): ";
  const std::string advice = "the inputs overflowed the network; scale them (e.g. standardize each feature";
  const std::string expected = message_of([&] { p.labels(X); });
  CHECK(expected.rfind(rows + advice, 0) == 0);
  CHECK(expected.find('\n') == std::string::npos);
  CHECK(message_of([&] { p.probabilities(X); }) == expected);
  CHECK(message_of([&] { p.logits(X); }) == expected);
  std::vector<S> out(3000 * 3);
  CHECK(message_of([&] { p.probabilities(X.data(), 3000, 2, out.data()); }) == expected);
  Workspace<S> ws;
  RowMatrix<S> Z(3000, 3);
  CHECK(message_of([&] { net.outputs(X, ws, Z, true); }) == expected);

  X(2998, 0) = big;  // a fourth row, (big, 0.5): logits 8·big, named among "more"
  CHECK(message_of([&] { p.labels(X); }).rfind("the network's outputs are NaN or infinite for rows 5, 1500, 2998 and 1 more "
                                               "(4 of 3000 rows): " + advice, 0) == 0);
  const std::string one = "the network's outputs are NaN or infinite for row 0 (1 of 1 rows): " + advice;
  CHECK(message_of([&] { p.label_one(X.row(5).data()); }).rfind(one, 0) == 0);
  CHECK(message_of([&] { p.probabilities_one(X.row(5).data(), out.data()); }).rfind(one, 0) == 0);

  // Rows that fit still predict, with the same predictor, and the probabilities are finite.
  const RowMatrix<S> P = p.probabilities(X.topRows(5));
  CHECK(P.allFinite());
  CHECK(p.labels(X.topRows(5)).size() == 5);

  // A model whose parameters hold NaN is named as the cause instead.
  net.params()[0] = std::numeric_limits<S>::quiet_NaN();
  const std::string bad = message_of([&] { p.labels(X.topRows(3)); });
  CHECK(bad == "the network's outputs are NaN or infinite for rows 0, 1, 2 (3 of 3 rows): "
               "the model's parameters contain NaN or infinity");
}

TEST_CASE(inputs_that_overflow_the_network_are_refused_by_every_prediction) {
  check_overflow_is_refused<float>(1e38f);
  check_overflow_is_refused<float>(3e38f);
  check_overflow_is_refused<double>(1e308);
}

TEST_CASE(describe_names_the_architecture_classes_and_scaling) {
  MlpSpec spec = make_spec({2, 6, 6, 3}, {Activation::LeakyRelu, Activation::Maxout}, Output::Softmax);
  Mlp net(spec, Init::He, 3);
  net.meta().classes = {"cat", "dog", "emu"};
  net.meta().classes_kind = "str";
  net.set_input_scaling({0.5, -1}, {2, 4});
  net.meta().extra["author"] = "me";
  const std::string d = describe(net);
  for (const char* want : {"float32", "2-6-6-3", "leaky_relu, maxout", "slope 0.1", "pieces 2", "softmax",
                           "cross_entropy", "cat, dog, emu (str)", "mean [0.5, -1], scale [2, 4]", "author: me"})
    if (d.find(want) == std::string::npos) FAIL_CHECK("describe lacks '" + std::string(want) + "':\n" + d);
  CHECK(d.find(std::to_string(net.n_params()) + " parameters") != std::string::npos);
}

// One model, eight threads, each with its own Predictor, all predicting the same inputs at the
// same time, batch and single-sample: every result equals the serial one bit for bit.
TEST_CASE(eight_threads_on_one_model_equal_serial_results) {
  for (int which = 0; which < 2; ++which) {
    const MlpSpec spec = which == 0 ? make_spec({2, 128, 4}, {Activation::Relu}, Output::Softmax)
                                    : make_spec({64, 96, 48, 10}, {Activation::Elu, Activation::Maxout}, Output::Softmax);
    Mlp model(spec, Init::He, 21 + which);
    model.set_input_scaling(std::vector<double>(size_t(spec.n_inputs()), 0.25),
                            std::vector<double>(size_t(spec.n_inputs()), 1.5));
    const Mlp& net = model;
    Rng rng(22);
    const Index n = 1500, in = spec.n_inputs(), C = spec.n_outputs();
    const RowMatrix<float> X = random_matrix<float>(rng, n, in);
    Predictor<float> serial(net, 64);
    const RowMatrix<float> P = serial.probabilities(X);
    const LabelVector L = serial.labels(X);
    RowMatrix<float> ones(n, C);
    for (Index r = 0; r < n; ++r) serial.probabilities_one(X.row(r).data(), ones.row(r).data());

    constexpr int kThreads = 8;
    std::vector<RowMatrix<float>> got_p(kThreads), got_one(kThreads);
    std::vector<LabelVector> got_l(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        Predictor<float> mine(net, 64);
        for (int round = 0; round < 3; ++round) {
          got_p[t] = mine.probabilities(X);
          got_l[t] = mine.labels(X);
          got_one[t].resize(n, C);
          for (Index r = (t + round) % 2; r < n; r += 2) mine.probabilities_one(X.row(r).data(), got_one[t].row(r).data());
          for (Index r = (t + round + 1) % 2; r < n; r += 2) mine.probabilities_one(X.row(r).data(), got_one[t].row(r).data());
        }
      });
    for (auto& th : threads) th.join();
    for (int t = 0; t < kThreads; ++t) {
      if (!(got_p[t] == P)) FAIL_CHECK("thread " + std::to_string(t) + ": batch probabilities differ");
      if (!(got_l[t] == L)) FAIL_CHECK("thread " + std::to_string(t) + ": labels differ");
      if (!(got_one[t] == ones)) FAIL_CHECK("thread " + std::to_string(t) + ": single-sample results differ");
    }
  }
}

// fit() is the epoch loop of Python's Trainer: the same weights as calling train_epoch with
// (seed, epoch) by hand; it learns XOR; saved and reloaded, the model predicts identically.
TEST_CASE(fit_equals_the_epoch_loop_learns_xor_and_round_trips) {
  const MlpSpec spec = make_spec({2, 8, 2}, {Activation::Tanh}, Output::Softmax);
  RowMatrix<float> X(4, 2);
  X << 0, 0, 0, 1, 1, 0, 1, 1;
  LabelVector y(4);
  y << 0, 1, 1, 0;
  AdamConfig cfg;
  cfg.lr = 0.05;

  Mlp a(spec, Init::Xavier, 7), b(spec, Init::Xavier, 7);
  Adam<float> opt_a(cfg), opt_b(cfg);
  FitOptions fo;
  fo.epochs = 300;
  fo.batch_size = 2;
  fo.seed = 9;
  Index calls = 0;
  fo.on_epoch = [&](Index e, const EpochResult&) { return ++calls, e < 0; };
  const std::vector<EpochResult> history = fit<float>(a, opt_a, X, y, fo);
  CHECK(history.size() == 300u);
  CHECK(calls == 300);

  Workspace<float> ws;
  std::vector<Index> order;
  TargetView<float> t;
  t.labels = y.data();
  t.rows = 4;
  EpochOptions eo;
  eo.batch_size = 2;
  eo.seed = 9;
  for (Index e = 0; e < 300; ++e) {
    eo.epoch = std::uint64_t(e);
    train_epoch<float>(b, opt_b, X, t, nullptr, Loss::CrossEntropy, eo, ws, order);
  }
  CHECK(a.params() == b.params());
  CHECK(history.back().loss < 0.05);

  Predictor<float> p(a);
  const LabelVector got = p.labels(X);
  CHECK(got == y);

  TempDir dir;
  const std::string path = (dir.path / "xor.safetensors").string();
  a.meta().classes = {"even", "odd"};
  a.meta().classes_kind = "str";
  save(a, path);
  const Mlp loaded = load_as<float>(path);
  Predictor<float> q(loaded);
  CHECK(q.logits(X) == p.logits(X));
  CHECK(class_name(loaded, q.label_one(X.row(1).data())) == "odd");

  // on_epoch may stop early.
  Mlp c(spec, Init::Xavier, 7);
  Adam<float> opt_c(cfg);
  fo.on_epoch = [](Index e, const EpochResult&) { return e == 4; };
  CHECK(fit<float>(c, opt_c, X, y, fo).size() == 5u);
}

TEST_CASE(fit_with_dense_targets_and_a_diverging_run) {
  // Regression: y = 2·x0 − x1 + 0.5 with mse.
  const MlpSpec spec = make_spec({2, 1}, {}, Output::Identity);
  Rng rng(30);
  const RowMatrix<double> X = random_matrix<double>(rng, 64, 2);
  RowMatrix<double> T(64, 1);
  for (Index r = 0; r < 64; ++r) T(r, 0) = 2 * X(r, 0) - X(r, 1) + 0.5;
  Mlp64 net(spec, Init::Xavier, 1);
  SgdConfig sc;
  sc.lr = 0.1;
  Sgd<double> sgd(sc);
  FitOptions fo;
  fo.epochs = 200;
  fo.batch_size = 16;
  fit<double>(net, sgd, X, T, fo);
  CHECK_CLOSE(net.weight(0)(0, 0), 2.0, 1e-6);
  CHECK_CLOSE(net.weight(0)(0, 1), -1.0, 1e-6);
  CHECK_CLOSE(net.bias(0)(0), 0.5, 1e-6);

  // A huge learning rate: the loss overflows; fit throws and keeps the last good epoch's weights.
  Mlp64 wild(spec, Init::Xavier, 1);
  sc.lr = 1e6;
  Sgd<double> big(sc);
  Vector<double> last_good = wild.params();
  fo.on_epoch = [&](Index, const EpochResult&) {
    last_good = wild.params();
    return false;
  };
  CHECK_THROWS(fit<double>(wild, big, X, T, fo), std::domain_error);
  CHECK(wild.params() == last_good);
  CHECK(wild.params().allFinite());

  CHECK_THROWS(fit<double>(wild, big, X, T.topRows(3), fo), std::invalid_argument);
  fo.epochs = 0;
  CHECK_THROWS(fit<double>(wild, big, X, T, fo), std::invalid_argument);
}

}  // namespace

CHECK_MAIN()
