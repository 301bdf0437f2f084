// SPDX-License-Identifier: MIT
// bf16 products (src/bf16/gemm.cpp) against a double reference, on every engine this CPU has,
// shapes that are not multiples of the 16 × 32 tiles, and all four operand layouts.
//
// Tolerances. bf16 keeps 8 significant bits (7 stored + the implicit one), so rounding to
// nearest changes an operand by a relative ≤ u = 2⁻⁸ (half an ulp of 2⁻⁷), and a product of two
// rounded operands by ≤ 2u + u² ≈ 2·2⁻⁸. The float32 sum of K such products adds ≤ K·2⁻²⁴
// relative to Σ|a·b| (a sequential bound; blocked sums are tighter). Against the exact product
// of the unrounded operands: |C − AB| ≤ (2·2⁻⁸ + K·2⁻²⁴)·Σ_k|a_ik·b_kj|. Against the product of
// the *rounded* operands the rounding term vanishes, which checks the packing exactly.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "bf16/gemm.hpp"
#include "check.hpp"
#include "make_spec.hpp"
#include "thread_scope.hpp"
#include "mlpcore/mlpcore.hpp"

using namespace mlpcore;
using bf16::View;

namespace {

std::vector<Bf16Engine> engines() {
  std::vector<Bf16Engine> out;
  if (bf16_engine() >= Bf16Engine::Avx512Bf16) out.push_back(Bf16Engine::Avx512Bf16);
  if (bf16_engine() == Bf16Engine::Amx) out.push_back(Bf16Engine::Amx);
  return out;
}

// Element (i, k) of a view.
double at(const View& v, bf16::Index i, bf16::Index k) { return v.transposed ? v.p[k * v.ld + i] : v.p[i * v.ld + k]; }

struct Limit {  // caps the engine for a scope
  explicit Limit(Bf16Engine e) { bf16_limit_engine(e); }
  ~Limit() { bf16_limit_engine(Bf16Engine::Amx); }
};

void check_shape(Bf16Engine e, bf16::Index M, bf16::Index N, bf16::Index K, bool ta, bool tb, std::mt19937& rng) {
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> a(static_cast<std::size_t>(M * K)), b(static_cast<std::size_t>(K * N));
  for (auto& x : a) x = g(rng);
  for (auto& x : b) x = g(rng);
  const View va{a.data(), ta ? M : K, ta}, vb{b.data(), tb ? K : N, tb};
  const bf16::Index ldc = N + 3;  // a padded C: the kernels must respect ldc
  std::vector<float> C(static_cast<std::size_t>(M * ldc), 7.0f);
  bf16::gemm(e, va, vb, M, N, K, C.data(), ldc);
  double worst_rounded = 0, worst_exact = 0;
  for (bf16::Index i = 0; i < M; ++i)
    for (bf16::Index j = 0; j < N; ++j) {
      double rounded = 0, exact = 0, mag = 0;
      for (bf16::Index k = 0; k < K; ++k) {
        const double x = at(va, i, k), y = at(vb, k, j);
        rounded += double(bf16::round_to_bf16(float(x))) * double(bf16::round_to_bf16(float(y)));
        exact += x * y;
        mag += std::abs(x * y);
      }
      const double c = C[static_cast<std::size_t>(i * ldc + j)];
      worst_rounded = std::max(worst_rounded, std::abs(c - rounded) / (K * std::ldexp(1.0, -24) * mag + 1e-30));
      const double exact_bound = (2 * std::ldexp(1.0, -8) + K * std::ldexp(1.0, -24)) * mag;
      worst_exact = std::max(worst_exact, std::abs(c - exact) / (exact_bound + 1e-30));
    }
  const std::string where = std::string(to_string(e)) + " M=" + std::to_string(M) + " N=" + std::to_string(N) +
                            " K=" + std::to_string(K) + " ta=" + std::to_string(ta) + " tb=" + std::to_string(tb);
  if (!(worst_rounded <= 1.0))
    FAIL_CHECK(where + ": off the rounded-operand product by " + std::to_string(worst_rounded) + " bounds");
  if (!(worst_exact <= 1.0))
    FAIL_CHECK(where + ": off the exact product by " + std::to_string(worst_exact) + " bounds");
  for (bf16::Index i = 0; i < M; ++i)  // the padding between rows of C is untouched
    for (bf16::Index j = N; j < ldc; ++j)
      if (C[static_cast<std::size_t>(i * ldc + j)] != 7.0f) FAIL_CHECK(where + ": wrote past N");
}

}  // namespace

TEST_CASE(this_cpu_has_a_bf16_engine) {
  // The project machine has AMX; elsewhere the other cases still run on what exists.
  CHECK(!engines().empty() || !bf16_unavailable_reason().empty());
}

TEST_CASE(gemm_matches_double_reference_on_odd_shapes) {
  std::mt19937 rng(7);
  const bf16::Index dims[] = {1, 15, 17, 33, 70};
  for (Bf16Engine e : engines())
    for (bf16::Index M : dims)
      for (bf16::Index N : dims)
        for (bf16::Index K : {bf16::Index(1), bf16::Index(17), bf16::Index(65)})
          for (int layout = 0; layout < 4; ++layout) check_shape(e, M, N, K, layout & 1, layout & 2, rng);
}

TEST_CASE(gemm_large_k_and_1023_rows) {
  std::mt19937 rng(3);
  for (Bf16Engine e : engines()) {
    check_shape(e, 1023, 40, 300, false, true, rng);  // forward: A · Wᵀ
    check_shape(e, 40, 300, 1023, true, false, rng);  // weights: dZᵀ · A
    check_shape(e, 1023, 300, 40, false, false, rng);  // inputs: dZ · W
  }
}

TEST_CASE(two_threads_give_identical_results) {
  // Large enough to be packed by pieces and split into tiles between the threads; each element
  // is still one kernel's sum, so the result is the one-thread result, bit for bit.
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0.0f, 1.0f);
  const bf16::Index M = 1023, N = 300, K = 257;
  std::vector<float> a(static_cast<std::size_t>(M * K)), b(static_cast<std::size_t>(K * N));
  for (auto& x : a) x = g(rng);
  for (auto& x : b) x = g(rng);
  for (Bf16Engine e : engines())
    for (int layout = 0; layout < 4; ++layout) {
      const bool ta = layout & 1, tb = layout & 2;
      const View va{a.data(), ta ? M : K, ta}, vb{b.data(), tb ? K : N, tb};
      std::vector<float> one(static_cast<std::size_t>(M * N)), two(one.size());
      {
        const Threads scope(1);
        bf16::gemm(e, va, vb, M, N, K, one.data(), N);
      }
      {
        const Threads scope(2);
        bf16::gemm(e, va, vb, M, N, K, two.data(), N);
      }
      CHECK(one == two);
    }
}

TEST_CASE(packing_rounds_to_nearest_even) {
  // 1 + 2⁻⁸ lies halfway between bf16 neighbours 1 and 1 + 2⁻⁷: ties go to the even one (1);
  // 1 + 3·2⁻⁸ is halfway between 1 + 2⁻⁷ and 1 + 2⁻⁶: to 1 + 2⁻⁶. A hair above a tie rounds up.
  const float h = std::ldexp(1.0f, -8), tiny = std::ldexp(1.0f, -20);
  const float xs[] = {1.0f + h, 1.0f + 3 * h, 1.0f + h + tiny, -2.5f, 1.0f + h - tiny};
  const float want[] = {1.0f, 1.0f + std::ldexp(1.0f, -6), 1.0f + std::ldexp(1.0f, -7), -2.5f, 1.0f};
  for (Bf16Engine e : engines())
    for (int i = 0; i < 5; ++i) {
      float one = 1.0f, c = 0.0f;
      bf16::gemm(e, View{&xs[i], 1, false}, View{&one, 1, false}, 1, 1, 1, &c, 1);
      CHECK(c == want[i]);
      CHECK(bf16::round_to_bf16(xs[i]) == want[i]);
    }
}

TEST_CASE(refused_without_an_engine) {
  const Limit none(Bf16Engine::None);
  CHECK(bf16_engine() == Bf16Engine::None);
  const std::string why = bf16_unavailable_reason();
  CHECK(why.find("AMX-BF16") != std::string::npos && why.find("AVX512-BF16") != std::string::npos);
  Mlp net(make_spec({4, 8, 3}, {Activation::Relu}, Output::Softmax), Init::He, 1);
  CHECK_THROWS(net.set_precision(Precision::Bf16), std::invalid_argument);
  CHECK(net.precision() == Precision::Float32);
  float x = 1, c = 0;
  CHECK_THROWS(bf16::gemm(Bf16Engine::Amx, View{&x, 1, false}, View{&x, 1, false}, 1, 1, 1, &c, 1), std::runtime_error);
}

TEST_CASE(limit_picks_the_avx512_engine) {
  if (bf16_engine() != Bf16Engine::Amx) return;
  const Limit avx(Bf16Engine::Avx512Bf16);
  CHECK(bf16_engine() == Bf16Engine::Avx512Bf16);
  CHECK(build_info().bf16 == "avx512_bf16");
}

TEST_CASE(float64_model_refuses_bf16) {
  Mlp64 net(make_spec({4, 8, 3}, {Activation::Relu}, Output::Softmax), Init::He, 1);
  CHECK_THROWS(net.set_precision(Precision::Bf16), std::invalid_argument);
}

CHECK_MAIN()
