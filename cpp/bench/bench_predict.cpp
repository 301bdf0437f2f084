// SPDX-License-Identifier: MIT
// Prediction latency from C++: one sample at a time (Predictor::logits_one, probabilities_one,
// label_one, and BasicMlp::outputs on a 1-row matrix) and per-sample cost in batches, for the
// course's 2-128-4 net and the MNIST-sized 784-256-128-10 (ReLU, softmax, float32).
//
//   bench_predict [--repeats R] [--threads T]
// Each figure is the median (and the minimum) over R repeats of a timed loop of about 20 ms,
// after a warm-up; inputs cycle through 256 random samples. Not a test: timings on a shared
// machine are noisy, compare medians.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "mlpcore/mlpcore.hpp"

using namespace mlpcore;
using Clock = std::chrono::steady_clock;

namespace {

volatile float g_sink = 0;

// Seconds per call of fn(i): median and minimum over `repeats` timed loops.
template <class Fn>
std::pair<double, double> time_per_call(Fn&& fn, int repeats) {
  long calls = 1;
  for (;;) {  // calibrate to ~20 ms per loop (also the warm-up)
    const auto t0 = Clock::now();
    for (long i = 0; i < calls; ++i) fn(i);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (s > 0.02) break;
    calls *= 2;
  }
  std::vector<double> per_call;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
    for (long i = 0; i < calls; ++i) fn(i);
    per_call.push_back(std::chrono::duration<double>(Clock::now() - t0).count() / double(calls));
  }
  std::sort(per_call.begin(), per_call.end());
  return {per_call[per_call.size() / 2], per_call.front()};
}

void report(const char* net, const char* what, std::pair<double, double> t, double target_us = 0) {
  std::printf("%-16s %-34s median %9.3f us   min %9.3f us", net, what, t.first * 1e6, t.second * 1e6);
  if (target_us > 0)
    std::printf("   target <= %.1f us: %s", target_us, t.first * 1e6 <= target_us ? "met" : "NOT met");
  std::printf("\n");
}

void bench(const std::vector<Index>& sizes, double target_us, int repeats) {
  MlpSpec spec;
  spec.sizes = sizes;
  spec.activations.assign(sizes.size() - 2, Activation::Relu);
  spec.output = Output::Softmax;
  const Mlp net(spec, Init::He, 1);
  std::string name;
  for (std::size_t i = 0; i < sizes.size(); ++i) name += (i ? "-" : "") + std::to_string(sizes[i]);
  const Index in = spec.n_inputs(), C = spec.n_outputs(), pool = 256;
  RowMatrix<float> X(pool, in);
  Rng rng(2);
  for (Index i = 0; i < X.size(); ++i) X.data()[i] = float(rng.normal());
  std::vector<float> out(static_cast<std::size_t>(C));

  Predictor<float> p(net);
  report(name.c_str(), "logits_one (batch 1)",
         time_per_call([&](long i) { p.logits_one(X.row(i % pool).data(), out.data()); g_sink = out[0]; }, repeats),
         target_us);
  report(name.c_str(), "probabilities_one (batch 1)",
         time_per_call([&](long i) { p.probabilities_one(X.row(i % pool).data(), out.data()); g_sink = out[0]; },
                       repeats));
  report(name.c_str(), "label_one (batch 1)",
         time_per_call([&](long i) { g_sink = float(p.label_one(X.row(i % pool).data())); }, repeats));
  Workspace<float> ws;
  RowMatrix<float> row_out(1, C);
  report(name.c_str(), "BasicMlp::outputs, 1-row matrix",
         time_per_call([&](long i) { net.outputs(X.middleRows(i % pool, 1), ws, row_out, true); g_sink = row_out(0, 0); },
                       repeats));
  Predictor<float> pb(net, pool);
  RowMatrix<float> batch_out(pool, C);
  const auto t = time_per_call([&](long) { pb.probabilities(X.data(), pool, in, batch_out.data()); g_sink = batch_out(0, 0); },
                               repeats);
  report(name.c_str(), "probabilities, batch 256, per row", {t.first / double(pool), t.second / double(pool)});
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = 21, threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--repeats") repeats = std::max(1, std::atoi(argv[i + 1]));
    else if (a == "--threads") threads = std::max(1, std::atoi(argv[i + 1]));
  }
  set_num_threads(threads);
  const BuildInfo b = build_info();
  std::printf("mlpcore %s, Eigen %s, %s, isa %s, native %d, threads %d, %d repeats\n", b.version.c_str(),
              b.eigen_version.c_str(), b.compiler.c_str(), b.isa.c_str(), int(b.native), get_num_threads(), repeats);
  bench({2, 128, 4}, 0.3, repeats);
  bench({784, 256, 128, 10}, 12.0, repeats);
  return 0;
}
