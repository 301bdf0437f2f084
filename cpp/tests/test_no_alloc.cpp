// SPDX-License-Identifier: MIT
// The steady state allocates nothing: after a warm-up, forward, predict, loss_and_grad,
// train_step and train_epoch (full and short batches) make no heap allocation at all.
//
// Eigen's EIGEN_RUNTIME_NO_MALLOC only sees Eigen allocations compiled into this file, not
// those inside the library's translation units or the standard library. So this executable
// counts every allocation of the process instead: it defines malloc and friends (forwarding to
// glibc's __libc_* entry points) and the replaceable operator new/delete. Definitions in the
// executable take precedence over libc's for every caller, the static core library included.
// Under AddressSanitizer (which owns malloc) the sanitizer's malloc/free hooks count instead.
//
// The sizes are small so that Eigen's matrix products keep their blocking buffers on the
// stack; very large products may legitimately allocate inside Eigen.
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <new>
#include <string>
#include <vector>

#include "check.hpp"
#include "mlpcore/mlpcore.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MLPCORE_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define MLPCORE_TEST_SANITIZED 1
#endif
#endif

namespace {
// Constant-initialized, so they are valid before any constructor runs (malloc is called early).
std::atomic<long> g_allocations{0};
std::atomic<long> g_frees{0};
std::atomic<std::size_t> g_last_size{0};

inline void note_allocation(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  g_last_size.store(size, std::memory_order_relaxed);
}
inline void note_free(const volatile void* p) {
  if (p) g_frees.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

#ifdef MLPCORE_TEST_SANITIZED
// From <sanitizer/allocator_interface.h>, which GCC does not install; the runtime exports it.
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*, std::size_t),
                                                         void (*free_hook)(const volatile void*));

namespace {
void malloc_hook(const volatile void*, std::size_t size) { note_allocation(size); }
void free_hook(const volatile void* p) { note_free(p); }
const int g_hooks_installed = __sanitizer_install_malloc_and_free_hooks(malloc_hook, free_hook);
}  // namespace

#else  // interpose the allocator

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void* __libc_valloc(std::size_t);
void* __libc_pvalloc(std::size_t);
void __libc_free(void*);

void* malloc(std::size_t size) {
  note_allocation(size);
  return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) {
  note_allocation(count * size);
  return __libc_calloc(count, size);
}
void* realloc(void* p, std::size_t size) {
  note_allocation(size);
  return __libc_realloc(p, size);
}
void* reallocarray(void* p, std::size_t count, std::size_t size) {
  if (size && count > static_cast<std::size_t>(-1) / size) {
    errno = ENOMEM;
    return nullptr;
  }
  note_allocation(count * size);
  return __libc_realloc(p, count * size);
}
void* memalign(std::size_t alignment, std::size_t size) {
  note_allocation(size);
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) {
  note_allocation(size);
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
  note_allocation(size);
  void* p = __libc_memalign(alignment, size);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
void* valloc(std::size_t size) {
  note_allocation(size);
  return __libc_valloc(size);
}
void* pvalloc(std::size_t size) {
  note_allocation(size);
  return __libc_pvalloc(size);
}
void free(void* p) {
  note_free(p);
  __libc_free(p);
}
}  // extern "C"

namespace {
void* counted_new(std::size_t size) {
  note_allocation(size);
  if (void* p = __libc_malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* counted_new_aligned(std::size_t size, std::align_val_t alignment) {
  note_allocation(size);
  if (void* p = __libc_memalign(static_cast<std::size_t>(alignment), size ? size : 1)) return p;
  throw std::bad_alloc();
}
void counted_delete(void* p) noexcept {
  note_free(p);
  __libc_free(p);
}
}  // namespace

void* operator new(std::size_t size) { return counted_new(size); }
void* operator new[](std::size_t size) { return counted_new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return counted_new(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return counted_new(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t size, std::align_val_t a) { return counted_new_aligned(size, a); }
void* operator new[](std::size_t size, std::align_val_t a) { return counted_new_aligned(size, a); }
void* operator new(std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  try {
    return counted_new_aligned(size, a);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  try {
    return counted_new_aligned(size, a);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { counted_delete(p); }
void operator delete[](void* p) noexcept { counted_delete(p); }
void operator delete(void* p, std::size_t) noexcept { counted_delete(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_delete(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { counted_delete(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { counted_delete(p); }
void operator delete(void* p, std::align_val_t) noexcept { counted_delete(p); }
void operator delete[](void* p, std::align_val_t) noexcept { counted_delete(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { counted_delete(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { counted_delete(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { counted_delete(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { counted_delete(p); }

#endif  // MLPCORE_TEST_SANITIZED

using namespace mlpcore;

namespace {

// Heap traffic of the code run between construction and stop(); nothing in between may print
// or check (both can allocate).
struct Counter {
  long allocations0 = g_allocations.load(), frees0 = g_frees.load();
  long allocations = 0, frees = 0;
  void stop() {
    allocations = g_allocations.load() - allocations0;
    frees = g_frees.load() - frees0;
  }
};

// Keeps the compiler from eliding an allocation whose result is unused.
void escape(void* p) { asm volatile("" : : "g"(p) : "memory"); }

template <class S>
RowMatrix<S> random_matrix(Rng& rng, Index rows, Index cols) {
  RowMatrix<S> m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<S>(rng.normal());
  return m;
}

TEST_CASE(counter_sees_every_kind_of_allocation) {
  Counter c;
  void* p = std::malloc(24);
  escape(p);
  std::free(p);
  int* q = new int[8];
  escape(q);
  delete[] q;
  std::vector<double> v(100);
  escape(v.data());
  c.stop();
  CHECK(c.allocations >= 3);
  CHECK(c.frees >= 2);

  // Allocations inside the library's own translation units are seen too: that is what a
  // compile-time Eigen switch in this file would miss.
  MlpSpec spec;
  spec.sizes = {2, 16, 4};
  spec.activations = {Activation::Tanh};
  Counter in_library;
  Mlp net(spec, Init::He, 1);
  Workspace<float> ws;
  ws.reserve(spec, 16);
  in_library.stop();
  CHECK(in_library.allocations > 0);
  CHECK(net.n_params() == 2 * 16 + 16 + 16 * 4 + 4);
}

struct Setup {
  const char* name;
  MlpSpec spec;
  Loss loss;
  bool weighted;
  bool scaled;
};

template <class S>
void check_steady_state(const Setup& setup, Optimizer<S>& opt) {
  const MlpSpec& spec = setup.spec;
  const Index in = spec.n_inputs(), C = spec.n_outputs();
  const Index n = 37;  // epochs of batch 16: 16 + 16 + a short batch of 5
  Rng rng(3);
  BasicMlp<S> net(spec, Init::He, 4);
  if (setup.scaled) {
    std::vector<double> mean, scale;
    for (Index i = 0; i < in; ++i) {
      mean.push_back(0.1 * double(i));
      scale.push_back(1.0 + 0.5 * double(i));
    }
    net.set_input_scaling(mean, scale);
  }
  const RowMatrix<S> X = random_matrix<S>(rng, n, in);
  // The same rows inside a wider buffer: a view with padded rows (outer stride > columns).
  RowMatrix<S> wide = random_matrix<S>(rng, n, in + 3);
  wide.leftCols(in) = X;
  std::vector<std::int32_t> labels;
  RowMatrix<S> T(n, C);
  for (Index r = 0; r < n; ++r) labels.push_back(static_cast<std::int32_t>(rng.below(std::uint64_t(C))));
  for (Index i = 0; i < T.size(); ++i) T.data()[i] = static_cast<S>(setup.loss == Loss::Mse ? rng.normal() : rng.uniform());
  if (setup.loss == Loss::CrossEntropy)  // probability rows
    for (Index r = 0; r < n; ++r) T.row(r) /= T.row(r).sum();
  std::vector<S> weights;
  for (Index r = 0; r < n; ++r) weights.push_back(static_cast<S>(0.5 + rng.uniform()));
  const S* w = setup.weighted ? weights.data() : nullptr;

  // Labels for cross-entropy on odd setups, dense targets otherwise.
  TargetView<S> t_all, t16, t5;
  const bool use_labels = setup.loss == Loss::CrossEntropy && !setup.weighted;
  for (auto* t : {&t_all, &t16, &t5}) {
    if (use_labels) t->labels = labels.data();
    else {
      t->dense = T.data();
      t->cols = C;
    }
  }
  t_all.rows = n;
  t16.rows = 16;
  t5.rows = 5;

  const auto X16 = X.topRows(16);
  const auto X5 = X.topRows(5);
  const auto padded16 = wide.leftCols(in).topRows(16);
  RowMatrix<S> out(16, C);
  Workspace<S> ws;
  std::vector<Index> order;
  EpochOptions options;
  options.batch_size = 16;
  options.seed = 17;
  options.check_interval = 0;  // consult should_stop between every two batches
  long stop_calls = 0;
  const std::function<bool()> should_stop = [&stop_calls] {
    ++stop_calls;
    return false;
  };

  auto run_everything = [&](std::uint64_t epoch, double& sink) {
    sink += double(net.forward(X16, ws)(0, 0));
    sink += double(net.forward(X5, ws)(4, 0));
    sink += double(net.forward(padded16, ws)(15, 0));
    net.outputs(X16, ws, out, true);
    net.outputs(X5, ws, out.topRows(5), false);
    sink += double(out(0, 0));
    sink += net.loss_and_grad(X16, t16, w, setup.loss, ws);
    sink += net.train_step(X16, t16, w, setup.loss, opt, ws);
    sink += net.train_step(X5, t5, w, setup.loss, opt, ws);
    sink += net.train_step(padded16, t16, w, setup.loss, opt, ws);
    options.epoch = epoch;
    options.shuffle = true;
    sink += train_epoch<S>(net, opt, X, t_all, w, setup.loss, options, ws, order, should_stop).loss;
    options.shuffle = false;
    sink += train_epoch<S>(net, opt, X, t_all, w, setup.loss, options, ws, order).loss;
  };

  double sink = 0;
  run_everything(0, sink);  // warm-up: workspace, optimizer state, epoch order
  const long calls_before = stop_calls;
  Counter c;
  for (std::uint64_t epoch = 1; epoch <= 3; ++epoch) run_everything(epoch, sink);
  c.stop();

  if (c.allocations != 0 || c.frees != 0)
    FAIL_CHECK(std::string(setup.name) + ": " + std::to_string(c.allocations) + " allocation(s) (last of " +
               std::to_string(g_last_size.load()) + " bytes) and " + std::to_string(c.frees) +
               " free(s) after warm-up");
  CHECK(std::isfinite(sink));
  CHECK(stop_calls - calls_before >= 3 * 2);  // at least between the 3 batches of each shuffled epoch
  CHECK(opt.steps() == 4 * (3 + 2 * 3));      // 4 rounds × (3 train_steps + 2 epochs × 3 batches)
}

MlpSpec make_spec(std::vector<Index> sizes, std::vector<Activation> acts, Output output) {
  MlpSpec spec;
  spec.sizes = std::move(sizes);
  spec.activations = std::move(acts);
  spec.maxout_pieces = 3;
  spec.output = output;
  spec.validate();
  return spec;
}

TEST_CASE(small_net_adam_cross_entropy_labels) {
  Setup s{"2-16-4 tanh, cross_entropy labels, Adam",
          make_spec({2, 16, 4}, {Activation::Tanh}, Output::Softmax), Loss::CrossEntropy, false, false};
  Adam<float> adam(AdamConfig{});
  check_steady_state<float>(s, adam);
}

TEST_CASE(maxout_net_sgd_nesterov_mse_weighted_scaled) {
  Setup s{"8-32-32-3 maxout/relu, mse, weights, scaling, SGD nesterov",
          make_spec({8, 32, 32, 3}, {Activation::Maxout, Activation::Relu}, Output::Identity), Loss::Mse, true, true};
  SgdConfig cfg;
  cfg.momentum = 0.9;
  cfg.nesterov = true;
  cfg.weight_decay = 1e-4;
  Sgd<float> sgd(cfg);
  check_steady_state<float>(s, sgd);
}

TEST_CASE(maxout_net_adamw_amsgrad_binary_cross_entropy) {
  Setup s{"8-32-32-3 maxout/maxout, binary_cross_entropy, AdamW amsgrad",
          make_spec({8, 32, 32, 3}, {Activation::Maxout, Activation::Maxout}, Output::Sigmoid),
          Loss::BinaryCrossEntropy, false, true};
  AdamConfig cfg;
  cfg.weight_decay = 0.01;
  cfg.decoupled = true;
  cfg.amsgrad = true;
  Adam<float> adamw(cfg);
  check_steady_state<float>(s, adamw);
}

TEST_CASE(double_net_adam_cross_entropy_probabilities) {
  Setup s{"8-32-32-3 elu/leaky_relu float64, cross_entropy probabilities, weights",
          make_spec({8, 32, 32, 3}, {Activation::Elu, Activation::LeakyRelu}, Output::Softmax),
          Loss::CrossEntropy, true, false};
  AdamConfig cfg;
  cfg.weight_decay = 1e-3;
  Adam<double> adam(cfg);
  check_steady_state<double>(s, adam);
}

TEST_CASE(sigmoid_net_plain_sgd) {
  Setup s{"8-32-32-3 sigmoid/identity, mse, plain SGD",
          make_spec({8, 32, 32, 3}, {Activation::Sigmoid, Activation::Identity}, Output::Identity), Loss::Mse,
          false, false};
  Sgd<float> sgd(SgdConfig{});
  check_steady_state<float>(s, sgd);
}

// The embedding API: a Predictor allocates nothing after construction for single samples and
// for batches up to the size it was built for, with input scaling and every output kind.
TEST_CASE(predictor_single_samples_and_small_batches) {
  const Output outputs[] = {Output::Softmax, Output::Sigmoid, Output::Identity};
  for (Output output : outputs) {
    const MlpSpec spec = make_spec({8, 32, 32, 3}, {Activation::Maxout, Activation::Elu}, output);
    Mlp net(spec, Init::He, 5);
    net.set_input_scaling(std::vector<double>(8, 0.5), std::vector<double>(8, 2.0));
    Rng rng(6);
    const RowMatrix<float> X = random_matrix<float>(rng, 16, 8);
    RowMatrix<float> out(16, 3);
    std::vector<std::int32_t> labels(16 * 3);
    Predictor<float> predictor(net, 16);
    double sink = 0;
    Counter c;
    for (int round = 0; round < 3; ++round) {
      for (Index r = 0; r < 16; ++r) {
        predictor.logits_one(X.data() + r * 8, out.data() + r * 3);
        if (output != Output::Identity) predictor.probabilities_one(X.data() + r * 8, out.data() + r * 3);
        if (output == Output::Softmax) sink += predictor.label_one(X.data() + r * 8);
      }
      predictor.logits(X.data(), 16, 8, out.data());
      if (output != Output::Identity) predictor.probabilities(X.data(), 5, 8, out.data());
      if (output == Output::Softmax) predictor.labels(X.data(), 16, 8, labels.data());
      if (output == Output::Sigmoid) predictor.decisions(X.data(), 16, 8, labels.data());
      sink += double(out(0, 0)) + labels[0];
    }
    c.stop();
    if (c.allocations != 0 || c.frees != 0)
      FAIL_CHECK(std::string(to_string(output)) + ": " + std::to_string(c.allocations) + " allocation(s) and " +
                 std::to_string(c.frees) + " free(s) in predictions");
    CHECK(std::isfinite(sink));
  }
}

}  // namespace

CHECK_MAIN()
