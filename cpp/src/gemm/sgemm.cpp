// SPDX-License-Identifier: MIT
// The float32 product of sgemm.hpp: blocking, packing of B, the loops around the micro-kernels
// (kernels.hpp) and the split into pieces for the engine's threads.
#include "sgemm.hpp"

#ifdef MLPCORE_SGEMM
#include <algorithm>
#include <array>
#include <cstdlib>
#include <memory>
#include <new>
#include <stdexcept>
#include <utility>

#include "../parallel.hpp"
#include "kernels.hpp"
#include "transpose.hpp"

namespace mlpcore::detail::gemm {

namespace {

// Block sizes. A packed KC × kNr panel of B (at most 32 KiB with AVX-512) stays in the 48 KiB L1
// while the kernel walks down the MC rows of A; the KC × NC block of B (≤ 512 KiB) and the
// MC × KC block of A (≤ 120 KiB) stay in the 2 MiB L2. Each is an upper bound: a dimension is
// cut into equal blocks (equal k blocks avoid a thin last block that reloads all of C for a
// few steps).
constexpr Index kKc = 256, kMc = 120, kNc = 512;
// Rows below which a split product's tile is not cut further.
constexpr Index kMinTileRows = 2 * kMr;

Index cut(Index extent, Index max_block, Index multiple) {
  const Index blocks = (extent + max_block - 1) / max_block;
  const Index size = (extent + blocks - 1) / blocks;
  return (size + multiple - 1) / multiple * multiple;
}

// Each thread's packing buffers, allocated at its first product and kept: B's block (KC × NC)
// followed by A's (MC × KC).
float* packing_buffer() {
  struct Buffer {
    float* data = nullptr;
    ~Buffer() { std::free(data); }
  };
  thread_local Buffer buffer;
  if (!buffer.data) {
    buffer.data = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * (kKc * kNc + kMc * kKc)));
    if (!buffer.data) throw std::bad_alloc();
  }
  return buffer.data;
}

// Packs a transposed A's rows [i0, i0 + mc) × steps [p0, p0 + kc) into micro-panels of kMr rows:
// panel r holds kc steps of kMr floats. Read in place, such an A (dL_dZᵀ, whose steps are
// `out` floats apart) maps every step to the same few cache sets when `out` is a multiple of
// 256 and ran at under half speed (measured, 784-1024-1024-10); packed, it streams.
void pack_a_transposed(const Product& g, Index i0, Index mc, Index p0, Index kc, float* __restrict dst) {
  for (Index r = 0; r < mc; r += kMr) {
    const Index h = std::min<Index>(kMr, mc - r);
    const float* src = g.a + p0 * g.a_col + i0 + r;
    float* __restrict panel = dst + r * kc;
    for (Index p = 0; p < kc; ++p, src += g.a_col)
      for (Index i = 0; i < h; ++i) panel[p * kMr + i] = src[i];
  }
}

#if defined(__AVX512F__)
// One panel of a transposed B (column j of the panel is src + j·stride, contiguous over the kc
// steps): 16 steps of 16 columns at a time, loaded as rows and transposed in registers
// (transpose.hpp). w ≤ kNr columns, the rest zero.
void transpose_panel(const float* src, Index stride, Index kc, Index w, float* __restrict panel) {
  for (Index p0 = 0; p0 < kc; p0 += 16) {
    const Index steps = std::min<Index>(16, kc - p0);
    const __mmask16 m = steps >= 16 ? __mmask16(0xffff) : __mmask16((1u << steps) - 1);
    for (Index h = 0; h < kNr; h += 16) {
      __m512i rows[16];  // rows[c]: steps p0.. of column h + c
      for (Index c = 0; c < 16; ++c)
        rows[c] = h + c < w ? _mm512_castps_si512(_mm512_maskz_loadu_ps(m, src + (h + c) * stride + p0))
                            : _mm512_setzero_si512();
      store_transposed16(panel + p0 * kNr + h, Index(sizeof(float)) * kNr, rows, int(steps));
    }
  }
}
#endif

// kc rows of w ≤ kNr floats (row p at src + p·stride) into a panel of kNr-float rows, the rest
// of each row zero: masked vector moves (a copy loop per row compiled to a library call per row,
// 8 % of a training step's time at batch 1024, measured).
void copy_rows(const float* src, Index stride, Index kc, Index w, float* __restrict panel) {
#if defined(__AVX512F__)
  const __mmask16 m0 = w >= 16 ? __mmask16(0xffff) : __mmask16((1u << w) - 1);
  const __mmask16 m1 = w >= 32 ? __mmask16(0xffff) : w > 16 ? __mmask16((1u << (w - 16)) - 1) : __mmask16(0);
  for (Index p = 0; p < kc; ++p, src += stride) {
    _mm512_store_ps(panel + p * kNr, _mm512_maskz_loadu_ps(m0, src));
    _mm512_store_ps(panel + p * kNr + 16, _mm512_maskz_loadu_ps(m1, src + 16));
  }
#else
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(w)), lane);
  const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(w) - 8), lane);
  for (Index p = 0; p < kc; ++p, src += stride) {
    _mm256_store_ps(panel + p * kNr, _mm256_maskload_ps(src, m0));
    _mm256_store_ps(panel + p * kNr + 8, _mm256_maskload_ps(src + 8, m1));
  }
#endif
}

// Packs B's rows [p0, p0 + kc) × columns [j0, j0 + nc) into panels of kNr columns: panel q holds
// kc rows of kNr floats (columns past nc are zero), so the kernel reads it with aligned loads.
void pack_b(const Product& g, Index p0, Index kc, Index j0, Index nc, float* __restrict dst) {
  for (Index q = 0; q < nc; q += kNr) {
    const Index w = std::min<Index>(kNr, nc - q);
    float* __restrict panel = dst + q * kc;
    if (g.b_col == 1) {  // rows of B are contiguous: copy kNr floats per row
      const float* src = g.b + p0 * g.b_row + j0 + q;
      copy_rows(src, g.b_row, kc, w, panel);
    } else {  // B transposed (Wᵀ in the forward product): columns of B are contiguous
#if defined(__AVX512F__)
      transpose_panel(g.b + (j0 + q) * g.b_col + p0, g.b_col, kc, w, panel);
      continue;
#endif
      for (Index j = 0; j < w; ++j) {
        const float* src = g.b + (j0 + q + j) * g.b_col + p0;
        for (Index p = 0; p < kc; ++p) panel[p * kNr + j] = src[p];
      }
      for (Index p = 0; p < kc; ++p)
        for (Index j = w; j < kNr; ++j) panel[p * kNr + j] = 0.0f;
    }
  }
}

template <bool KContig, int... M>
constexpr auto kernel_table(std::integer_sequence<int, M...>) {
  return std::array<void (*)(Index, const float*, Index, const float*, float*, Index, Index, Start, const float*),
                    sizeof...(M)>{&kernel<M + 1, KContig>...};
}

// Operands packed once for all the pieces of a product split between threads: B as panels of
// kNr columns over the whole depth (panel q at b + q·kNr·k, step p at + p·kNr), and a transposed
// A as micro-panels of kMr rows (rows i0.. at a + i0·k, step p at + p·kMr). Null: each piece
// packs its own (B), or reads A in place (a row-major A).
struct Packed {
  const float* a = nullptr;
  const float* b = nullptr;
};

// C's rows [r0, r1) × columns [c0, c1), every k: the loops of one piece. Operands come from
// `packed` where it has them, else are packed here into this thread's buffers.
template <bool KContig>
void block(const Product& g, const Packed& packed, Index r0, Index r1, Index c0, Index c1) {
  static constexpr auto kernels = kernel_table<KContig>(std::make_integer_sequence<int, kMr>{});
  float* const own = packed.b && (KContig || packed.a) ? nullptr : packing_buffer();
  float* const bp = own;
  float* const ap = own ? own + kKc * kNc : nullptr;
  const Index lda = KContig ? g.a_row : kMr;
  const Index kc_max = cut(g.k, kKc, 4), nc_max = cut(c1 - c0, kNc, kNr), mc_max = cut(r1 - r0, kMc, kMr);
  for (Index jc = c0; jc < c1; jc += nc_max) {
    const Index nc = std::min(nc_max, c1 - jc);
    for (Index pc = 0; pc < g.k; pc += kc_max) {
      const Index kc = std::min(kc_max, g.k - pc);
      if (!packed.b) pack_b(g, pc, kc, jc, nc, bp);
      const Start start = pc > 0 ? Start::Load : g.bias ? Start::Bias : Start::Zero;
      const bool last = pc + kc >= g.k;
      for (Index ic = r0; ic < r1; ic += mc_max) {
        const Index mc = std::min(mc_max, r1 - ic);
        if (!KContig && !packed.a) pack_a_transposed(g, ic, mc, pc, kc, ap);
        for (Index jr = 0; jr < nc; jr += kNr) {
          const float* panel = packed.b ? packed.b + (jc + jr) * g.k + pc * kNr : bp + jr * kc;
          const float* bias = g.bias ? g.bias + jc + jr : nullptr;
          const Index nr = std::min<Index>(kNr, nc - jr);
          for (Index ir = 0; ir < mc; ir += kMr) {
            const Index mr = std::min<Index>(kMr, mc - ir);
            const float* a = KContig   ? g.a + (ic + ir) * g.a_row + pc
                             : packed.a ? packed.a + (ic + ir) * g.k + pc * kMr
                                        : ap + ir * kc;
            float* c = g.c + (ic + ir) * g.ldc + jc + jr;
            kernels[std::size_t(mr - 1)](kc, a, lda, panel, c, g.ldc, nr, start, bias);
          }
        }
        if (last && g.epilogue) g.epilogue(g.epilogue_context, ic, mc, jc, nc);
      }
    }
  }
}

void run_block(const Product& g, const Packed& packed, Index r0, Index r1, Index c0, Index c1) {
  if (g.a_col == 1)
    block<true>(g, packed, r0, r1, c0, c1);
  else
    block<false>(g, packed, r0, r1, c0, c1);
}

// C = bias (or 0) when k = 0: no kernel runs.
void fill_empty(const Product& g) {
  for (Index i = 0; i < g.m; ++i)
    for (Index j = 0; j < g.n; ++j) g.c[i * g.ldc + j] = g.bias ? g.bias[j] : 0.0f;
  if (g.epilogue) g.epilogue(g.epilogue_context, 0, g.m, 0, g.n);
}

// The calling thread's buffer for operands packed once per split product (Packed), grown on
// demand and kept, so the steady state allocates nothing.
float* shared_buffer(std::size_t floats) {
  struct Buffer {
    float* data = nullptr;
    std::size_t size = 0;
    ~Buffer() { std::free(data); }
  };
  thread_local Buffer buffer;
  if (buffer.size < floats) {
    std::free(buffer.data);
    buffer.data = nullptr;
    buffer.size = 0;
    const std::size_t bytes = (sizeof(float) * floats + 63) / 64 * 64;
    buffer.data = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (!buffer.data) throw std::bad_alloc();
    buffer.size = floats;
  }
  return buffer.data;
}

// Above this many packed floats (64 MiB) a split product does not pack its operands once for all
// pieces; each piece packs its own, as a single-thread product does.
constexpr std::size_t kMaxShared = std::size_t(16) << 20;

}  // namespace

void sgemm(const Product& g, int threads) {
  if (g.a_row != 1 && g.a_col != 1) throw std::invalid_argument("sgemm: A needs a unit stride");
  if (g.b_row != 1 && g.b_col != 1) throw std::invalid_argument("sgemm: B needs a unit stride");
  if (g.m <= 0 || g.n <= 0) return;
  if (g.k <= 0) return fill_empty(g);
  const double work = double(g.m) * double(g.n) * double(g.k);
  if (threads > 1 && work < kParallelWork) threads = 1;
  const Index panels = (g.n + kNr - 1) / kNr, row_panels = (g.m + kMr - 1) / kMr;
  const bool pack_a = g.a_col != 1;
  const std::size_t shared =
      std::size_t(panels) * kNr * std::size_t(g.k) + (pack_a ? std::size_t(row_panels) * kMr * std::size_t(g.k) : 0);
  if (threads <= 1) return run_block(g, Packed{}, 0, g.m, 0, g.n);
  // Split between threads, in two jobs. First B, and a transposed A, are packed once into the
  // caller's buffer (each piece packing its own would pack B again for every block of rows, and
  // A again for every block of columns: with pieces of column panels, a 2-thread dL_dW packed
  // dL_dZᵀ eight times). Then C is cut into tiles near square in shape (a tall or wide tile reads
  // more of the operands per multiply-add), kPiecesPerThread per thread and none under
  // kMinPieceWork multiply-adds, handed out from a shared counter (parallel.hpp). Each element
  // of C still sums its k terms in the same blocks and order as on one thread: results repeat
  // bit for bit whatever the thread count. Past kMaxShared, each piece packs its own operands.
  const ProductSplit split =
      split_product(work, threads, kMinPieceWork, double(g.m), double(g.n), g.m / kMinTileRows, panels);
  const Index wanted = split.pieces;
  Packed packed;
  if (shared <= kMaxShared) {
    float* buffer = shared_buffer(shared);
    packed.b = buffer;
    if (pack_a) packed.a = buffer + std::size_t(panels) * kNr * std::size_t(g.k);
  }
  struct PackJob {
    const Product& g;
    const Packed& packed;
    Index panels, row_panels, pieces;
  } pack_job{g, packed, panels, row_panels, wanted};
  if (packed.b) run_pieces(wanted, threads, [](const void* context, Index i) {
    const PackJob& j = *static_cast<const PackJob*>(context);
    const Index q0 = j.panels * i / j.pieces, q1 = j.panels * (i + 1) / j.pieces;
    if (q0 < q1) {
      const Index c0 = q0 * kNr, c1 = std::min(j.g.n, q1 * kNr);
      pack_b(j.g, 0, j.g.k, c0, c1 - c0, const_cast<float*>(j.packed.b) + c0 * j.g.k);
    }
    if (j.packed.a) {
      const Index r0 = j.row_panels * i / j.pieces * kMr, r1 = std::min(j.g.m, j.row_panels * (i + 1) / j.pieces * kMr);
      if (r0 < r1) pack_a_transposed(j.g, r0, r1 - r0, 0, j.g.k, const_cast<float*>(j.packed.a) + r0 * j.g.k);
    }
  }, &pack_job);
  const Index col_pieces = split.col_pieces, row_pieces = split.row_pieces;
  struct Job {
    const Product& g;
    const Packed& packed;
    Index panels, row_panels, col_pieces, row_pieces;
  } job{g, packed, panels, row_panels, col_pieces, row_pieces};
  run_pieces(col_pieces * row_pieces, threads, [](const void* context, Index i) {
    const Job& j = *static_cast<const Job*>(context);
    const Index cp = i % j.col_pieces, rp = i / j.col_pieces;
    const Index c0 = std::min(j.g.n, j.panels * cp / j.col_pieces * kNr);
    const Index c1 = std::min(j.g.n, j.panels * (cp + 1) / j.col_pieces * kNr);
    const Index r0 = std::min(j.g.m, j.row_panels * rp / j.row_pieces * kMr);
    const Index r1 = std::min(j.g.m, j.row_panels * (rp + 1) / j.row_pieces * kMr);
    if (r0 < r1 && c0 < c1) run_block(j.g, j.packed, r0, r1, c0, c1);
  }, &job, [](const void* context) {  // the same sums, blocked as one product (sgemm.hpp)
    const Job& j = *static_cast<const Job*>(context);
    run_block(j.g, j.packed, 0, j.g.m, 0, j.g.n);
  });
}

}  // namespace mlpcore::detail::gemm
#endif
