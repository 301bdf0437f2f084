// SPDX-License-Identifier: MIT
// The float32 GEMM (src/gemm) against a plain float64 triple loop, on odd shapes: 1, 15, 17 and
// 1023 rows, widths that are not multiples of the kernels' 16 or 32 columns, depths with a thin
// last block; every operand layout the dense layers use; with and without bias; one thread and
// two (bit-identical results). This file is compiled once per instruction set (CMakeLists.txt):
// with the engine's own flags, and standalone for AVX2 + FMA and for AVX-512, each exiting with
// the skip code 77 when the CPU lacks its instructions.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "check.hpp"
#include "../src/gemm/sgemm.hpp"
#include "mlpcore/rng.hpp"

using namespace mlpcore;

#ifdef MLPCORE_SGEMM
namespace {

using detail::gemm::Product;
using detail::gemm::sgemm;

struct Case {
  Index m, n, k;
  bool a_transposed, b_transposed, bias;
};

std::vector<float> random_values(Index count, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(static_cast<std::size_t>(count));
  for (auto& x : v) x = float(rng.normal());
  return v;
}

// Runs one case with `threads` threads, compares with the float64 reference and returns C.
std::vector<float> run_case(const Case& t, int threads) {
  const auto a = random_values(t.m * t.k, 11), b = random_values(t.k * t.n, 12), bias = random_values(t.n, 13);
  // A (m × k) stored row-major, or as its transpose (k × m, row-major); B likewise.
  const Index a_row = t.a_transposed ? 1 : t.k, a_col = t.a_transposed ? t.m : 1;
  const Index b_row = t.b_transposed ? 1 : t.n, b_col = t.b_transposed ? t.k : 1;
  const Index ldc = t.n + 3;  // C's rows padded: the product must leave the padding alone
  std::vector<float> c(static_cast<std::size_t>(t.m * ldc), -7.0f);
  Product p;
  p.m = t.m, p.n = t.n, p.k = t.k;
  p.a = a.data(), p.a_row = a_row, p.a_col = a_col;
  p.b = b.data(), p.b_row = b_row, p.b_col = b_col;
  p.c = c.data(), p.ldc = ldc;
  p.bias = t.bias ? bias.data() : nullptr;
  sgemm(p, threads);
  double worst = 0;
  bool padding_kept = true;
  for (Index i = 0; i < t.m; ++i) {
    for (Index j = 0; j < t.n; ++j) {
      double sum = t.bias ? double(bias[std::size_t(j)]) : 0.0, scale = std::fabs(sum);
      for (Index q = 0; q < t.k; ++q) {
        const double term =
            double(a[std::size_t(i * a_row + q * a_col)]) * double(b[std::size_t(q * b_row + j * b_col)]);
        sum += term;
        scale += std::fabs(term);
      }
      // float32 rounding of a k-term sum: well under k·2⁻²⁴ of the sum of |terms|.
      const double tol = 1e-6 + 4.0 * double(t.k + 1) * 6e-8 * scale;
      worst = std::max(worst, std::fabs(double(c[std::size_t(i * ldc + j)]) - sum) / tol);
    }
    for (Index j = t.n; j < ldc; ++j) padding_kept = padding_kept && c[std::size_t(i * ldc + j)] == -7.0f;
  }
  if (worst > 1.0 || !padding_kept) {
    char text[200];
    std::snprintf(text, sizeof text, "m=%ld n=%ld k=%ld a_t=%d b_t=%d bias=%d threads=%d: error/tol %.3g, padding %s",
                  long(t.m), long(t.n), long(t.k), t.a_transposed, t.b_transposed, t.bias, threads, worst,
                  padding_kept ? "kept" : "overwritten");
    FAIL_CHECK(std::string(text));
  }
  return c;
}

}  // namespace

TEST_CASE(odd_shapes_match_float64_reference) {
  for (Index m : {1, 15, 17, 1023})
    for (Index n : {1, 3, 17, 33, 100, 257})
      for (Index k : {1, 17, 300}) {
        const bool layouts[4][2] = {{false, true}, {true, false}, {false, false}, {true, true}};
        for (const auto& l : layouts) run_case(Case{m, n, k, l[0], l[1], (m + n) % 2 == 0}, 1);
      }
}

TEST_CASE(deep_products_and_bias_match_reference) {
  // Several k blocks (C reloaded between them), with and without bias, the layer shapes' depths.
  for (Index k : {257, 784, 1023}) {
    run_case(Case{33, 100, k, false, true, true}, 1);
    run_case(Case{100, 257, k, true, false, false}, 1);
  }
}

TEST_CASE(two_threads_give_identical_results) {
  // Large enough to be split into tiles.
  // Operands packed once for all tiles: B transposed (gathered) or not, A transposed (packed) or
  // read in place, several k blocks, tiles of odd sizes.
  const Case cases[] = {{1023, 257, 100, false, true, true}, {1023, 33, 300, false, false, false},
                        {257, 784, 128, true, false, false}, {1023, 257, 784, false, true, true},
                        {257, 785, 1023, true, false, false}, {129, 257, 1023, true, true, true},
                        {1023, 100, 300, false, false, true}};
  for (const Case& t : cases) CHECK(run_case(t, 1) == run_case(t, 2));
}

TEST_CASE(epilogue_sees_every_block_once) {
  const Index m = 1023, n = 257, k = 64;
  const auto a = random_values(m * k, 1), b = random_values(k * n, 2);
  std::vector<float> c(static_cast<std::size_t>(m * n));
  for (int threads : {1, 2}) {
    std::vector<int> seen(c.size(), 0);
    struct Context {
      std::vector<int>& seen;
      Index n;
    } context{seen, n};
    Product p;
    p.m = m, p.n = n, p.k = k;
    p.a = a.data(), p.a_row = k, p.a_col = 1;
    p.b = b.data(), p.b_row = n, p.b_col = 1;
    p.c = c.data(), p.ldc = n;
    p.epilogue = [](const void* ctx, Index row, Index rows, Index col, Index cols) {
      const Context& x = *static_cast<const Context*>(ctx);
      for (Index i = row; i < row + rows; ++i)  // pieces touch disjoint elements: no data race
        for (Index j = col; j < col + cols; ++j) ++x.seen[std::size_t(i * x.n + j)];
    };
    p.epilogue_context = &context;
    sgemm(p, threads);
    bool once = true;
    for (int s : seen) once = once && s == 1;
    CHECK(once);
  }
}

TEST_CASE(empty_depth_gives_bias) {
  const std::vector<float> bias{1.5f, -2.0f, 3.0f};
  std::vector<float> c(6, 9.0f);
  Product p;
  p.m = 2, p.n = 3, p.k = 0;
  p.a = nullptr, p.a_row = 0, p.a_col = 1;
  p.b = nullptr, p.b_row = 3, p.b_col = 1;
  p.c = c.data(), p.ldc = 3, p.bias = bias.data();
  sgemm(p, 1);
  CHECK(c == std::vector<float>({1.5f, -2.0f, 3.0f, 1.5f, -2.0f, 3.0f}));
}

TEST_CASE(operand_without_unit_stride_is_refused) {
  const std::vector<float> x(16, 1.0f);
  std::vector<float> c(4);
  Product p;
  p.m = 2, p.n = 2, p.k = 2;
  p.a = x.data(), p.a_row = 4, p.a_col = 2;
  p.b = x.data(), p.b_row = 2, p.b_col = 1;
  p.c = c.data(), p.ldc = 2;
  CHECK_THROWS(sgemm(p, 1), std::invalid_argument);
}

int main(int argc, char** argv) {
#if defined(__AVX512F__)
  const bool runs = __builtin_cpu_supports("avx512f");
#else
  const bool runs = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  if (!runs) {
    std::puts("this CPU lacks the instruction set this test was built for: skipped");
    return 77;
  }
  return ::check::run_all(argc, argv);
}
#else
int main() {
  std::puts("built without AVX2 + FMA or AVX-512: the engine uses Eigen's GEMM, nothing to test here");
  return 77;
}
#endif
