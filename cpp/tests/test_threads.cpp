// SPDX-License-Identifier: MIT
// Threads: a small network never opens an OpenMP parallel region (training, stepping, predicting
// with two threads allowed); a large product does, and its worker threads compute with the
// calling thread's floating-point mode (flush-to-zero or not) and keep no mode of their own.
#include <vector>

#if defined(__SSE__) || defined(_M_X64)
#include <xmmintrin.h>
#define TEST_HAS_MXCSR 1
#endif

#include "check.hpp"
#include "thread_scope.hpp"
#include "make_spec.hpp"
#include "mlpcore/mlpcore.hpp"

using namespace mlpcore;

TEST_CASE(small_net_opens_no_parallel_region) {
  const Threads two(2);
  Mlp net(make_spec({2, 128, 4}, {Activation::Relu}, Output::Softmax), Init::Xavier, 1);
  Rng rng(3);
  RowMatrix<float> X(512, 2);
  for (Index i = 0; i < X.size(); ++i) X.data()[i] = float(rng.normal());
  std::vector<std::int32_t> y(512);
  for (Index i = 0; i < 512; ++i) y[std::size_t(i)] = std::int32_t(i % 4);
  TargetView<float> t;
  t.labels = y.data();
  t.rows = 512;
  Adam<float> opt(AdamConfig{});
  Workspace<float> ws;
  std::vector<Index> order;
  EpochOptions eo;
  eo.batch_size = 128;

  const std::uint64_t before = parallel_regions();
  train_epoch<float>(net, opt, X, t, nullptr, Loss::CrossEntropy, eo, ws, order);
  TargetView<float> head = t;
  head.rows = 128;
  net.train_step(X.topRows(128), head, nullptr, Loss::CrossEntropy, opt, ws);
  Predictor<float> predictor(net, 512);
  predictor.labels(X);
  predictor.probabilities(X);
  CHECK(parallel_regions() == before);
}

#ifdef TEST_HAS_MXCSR
// One dense layer, 1024 inputs to 1024 outputs, every weight 1e-42 (a float32 subnormal): each
// output of a row of ones sums 1024 subnormal products to about 1e-39, still subnormal. With
// flush-to-zero and denormals-are-zero the weights read as 0 and every output is exactly 0;
// without, every output is positive. 64 rows make 64 × 1024 × 1024 multiply-adds, a product
// split between the two threads, so a worker thread computes part of the outputs.
TEST_CASE(workers_compute_with_the_callers_floating_point_mode) {
  const Threads two(2);
  Mlp net(make_spec({1024, 1024}, {}, Output::Identity));
  net.weight(0).setConstant(1e-42f);
  const RowMatrix<float> X = RowMatrix<float>::Ones(64, 1024);
  Workspace<float> ws;
  RowMatrix<float> Z(64, 1024);

  const unsigned caller = _mm_getcsr();
  const std::uint64_t before = parallel_regions();
  _mm_setcsr(caller | 0x8040u);  // FTZ | DAZ on this thread only
  net.outputs(X, ws, Z, false);
  _mm_setcsr(caller);
  CHECK(parallel_regions() > before);  // packing the operands, then the product's tiles
  CHECK((Z.array() == 0.0f).all());

  // Without flushing on the caller, no thread flushes: every output is subnormal. (A worker
  // created while the caller flushed starts with its mode; it must not keep computing with it.)
  net.outputs(X, ws, Z, false);
  CHECK((Z.array() > 0.0f).all());
  CHECK((_mm_getcsr() & ~0x3fu) == (caller & ~0x3fu));  // control bits; 0-5 are sticky flags
}
#endif

CHECK_MAIN()
