// SPDX-License-Identifier: MIT
// bf16 GEMM kernels. They exist in builds for AVX-512 (the portable avx512 engine, or a native
// build on an AVX-512 host); the instructions beyond the build's own (AVX512-BF16, AMX) come from
// function target attributes, and cpu.cpp decides at run time whether the CPU runs them. No inline
// library code is instantiated under those targets, so nothing compiled for AMX can be picked by
// the linker for a caller on an older CPU. Builds for older instruction sets (the portable
// baseline and AVX2 engines) carry none of this code: there gemm() only refuses.
//
// Why packing: tdpbf16ps multiplies a 16×32 bf16 tile of A by a 16×(16 pairs) tile of B into a
// 16×16 float32 tile of C; both operands must be bf16, B in k-pairs. Converting (vcvtne2ps2bf16,
// round to nearest even) and reordering once per product costs O(MK + KN), the product O(MKN).
#include "gemm.hpp"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "../gemm/transpose.hpp"
#include "../parallel.hpp"

#define MLPCORE_BF16_TARGET "avx512f,avx512bw,avx512vl,avx512bf16"
#define MLPCORE_AMX_TARGET "avx512f,avx512bw,avx512vl,avx512bf16,amx-tile,amx-bf16"

namespace mlpcore::bf16 {
#if defined(__AVX512F__)
namespace {

constexpr Index kTile = 512;  // bf16 values in one 16 × 32 tile (1 KiB)

Index round_up(Index x, Index m) { return (x + m - 1) / m * m; }

// Per-thread packing buffers, 64-byte aligned (one tile row per cache line).
struct Buffers {
  std::vector<std::uint16_t> a, b;
  static std::uint16_t* aligned(std::vector<std::uint16_t>& v, Index n) {
    if (v.size() < static_cast<std::size_t>(n + 32)) v.resize(static_cast<std::size_t>(n + 32));
    const auto addr = reinterpret_cast<std::uintptr_t>(v.data());
    return v.data() + ((64 - addr % 64) % 64) / 2;
  }
};
thread_local Buffers t_buffers;

// Mask of the first `count` of 16 lanes (count may be ≤ 0 or ≥ 16).
inline __mmask16 lanes(Index count) {
  return count >= 16 ? __mmask16(0xFFFF) : count <= 0 ? __mmask16(0) : __mmask16((1u << count) - 1);
}

// 32 floats (p[0..count)) → 32 bf16 in one register; lanes past count are zero.
__attribute__((target(MLPCORE_BF16_TARGET))) inline __m512i load_bf16x32(const float* p, Index count) {
  const __m512 lo = _mm512_maskz_loadu_ps(lanes(count), p);
  const __m512 hi = _mm512_maskz_loadu_ps(lanes(count - 16), p + 16);
  return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

// Two rows of 16 floats → 16 words (row0[j], row1[j]), row0 in the low half: one k-pair.
__attribute__((target(MLPCORE_BF16_TARGET))) inline __m512i pair_rows(const float* r0, const float* r1,
                                                                       __mmask16 m) {
  const __m512 x0 = r0 ? _mm512_maskz_loadu_ps(m, r0) : _mm512_setzero_ps();
  const __m512 x1 = r1 ? _mm512_maskz_loadu_ps(m, r1) : _mm512_setzero_ps();
  const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(x1, x0);  // [x0 | x1] as bf16
  const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7,
                                              22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  return _mm512_permutexvar_epi16(interleave, both);
}

// A (M × K) → tiles [mb][kb] of 16 rows × 32 k, for the blocks of 16 rows [mb0, mb1). Rows ≥ M
// and k ≥ K are zero.
__attribute__((target(MLPCORE_BF16_TARGET))) void pack_a(View a, Index M, Index K, Index mb0, Index mb1, Index KB,
                                                          std::uint16_t* out) {
  if (!a.transposed) {
    for (Index i = mb0 * 16; i < mb1 * 16; ++i)
      for (Index kb = 0; kb < KB; ++kb) {
        std::uint16_t* dst = out + ((i / 16) * KB + kb) * kTile + (i % 16) * 32;
        const __m512i v = i < M ? load_bf16x32(a.p + i * a.ld + kb * 32, K - kb * 32) : _mm512_setzero_si512();
        _mm512_store_si512(dst, v);
      }
    return;
  }
  // Transposed source (A(i, k) = p[k·ld + i], rows of the source are k): build each k-pair of
  // 16 rows i as one register, then write it down a column of the tile.
  for (Index mb = mb0; mb < mb1; ++mb) {
    const __mmask16 m = lanes(M - mb * 16);
    for (Index kb = 0; kb < KB; ++kb) {
      __m512i pairs[16];  // pairs[r]: k-pair r of the 16 rows, one word per row
      for (Index r = 0; r < 16; ++r) {
        const Index k = kb * 32 + 2 * r;
        const float* r0 = k < K ? a.p + k * a.ld + mb * 16 : nullptr;
        const float* r1 = k + 1 < K ? a.p + (k + 1) * a.ld + mb * 16 : nullptr;
        pairs[r] = pair_rows(r0, r1, m);
      }
      detail::store_transposed16(out + (mb * KB + kb) * kTile, 64, pairs);
    }
  }
}

// B (K × N) → tiles [nb][kb] of 16 k-pairs × 16 columns, for the blocks of 16 columns
// [nb0, nb1). k ≥ K and columns ≥ N are zero.
__attribute__((target(MLPCORE_BF16_TARGET))) void pack_b(View b, Index N, Index K, Index nb0, Index nb1, Index KB,
                                                          std::uint16_t* out) {
  if (!b.transposed) {
    // Groups of kGroup column blocks, so each pair of source rows is read kGroup·64 bytes at a
    // time: one block at a time walked down the rows a page apart and ran at under half speed.
    constexpr Index kGroup = 8;
    for (Index g0 = nb0; g0 < nb1; g0 += kGroup) {
      const Index g1 = std::min(nb1, g0 + kGroup);
      for (Index kb = 0; kb < KB; ++kb)
        for (Index r = 0; r < 16; ++r) {
          const Index k = kb * 32 + 2 * r;
          for (Index nb = g0; nb < g1; ++nb) {
            const float* r0 = k < K ? b.p + k * b.ld + nb * 16 : nullptr;
            const float* r1 = k + 1 < K ? b.p + (k + 1) * b.ld + nb * 16 : nullptr;
            _mm512_store_si512(out + (nb * KB + kb) * kTile + r * 32, pair_rows(r0, r1, lanes(N - nb * 16)));
          }
        }
    }
    return;
  }
  // Transposed source (B(k, j) = p[j·ld + k]): a source row j holds the k-pairs of column j
  // side by side, so 32 of its floats become the 16 words of column j of a tile.
  for (Index nb = nb0; nb < nb1; ++nb)
    for (Index kb = 0; kb < KB; ++kb) {
      __m512i columns[16];  // columns[c]: the 16 k-pairs of column nb·16 + c
      for (Index c = 0; c < 16; ++c) {
        const Index j = nb * 16 + c;
        columns[c] = j < N ? load_bf16x32(b.p + j * b.ld + kb * 32, K - kb * 32) : _mm512_setzero_si512();
      }
      detail::store_transposed16(out + (nb * KB + kb) * kTile, 64, columns);
    }
}

struct TileConfig {
  std::uint8_t palette = 1, start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t colsb[16] = {};
  std::uint8_t rows[16] = {};
};

// Copy the valid part of a 16 × 16 tile of results.
inline void copy_edge(const float* tile, float* C, Index ldc, Index rows, Index cols) {
  for (Index i = 0; i < rows; ++i) std::memcpy(C + i * ldc, tile + i * 16, sizeof(float) * std::size_t(cols));
}

// Tiles: C in 0..3 (2 × 2 blocks of 16 × 16), A in 4, 5, B in 6, 7. Mp, Np multiples of 32.
#define MLPCORE_STORE_C(t, bi, bj)                                                                         \
  do {                                                                                                     \
    const Index r0 = (mb + (bi)) * 16, c0 = (nb + (bj)) * 16;                                              \
    if (r0 + 16 <= M && c0 + 16 <= N) {                                                                    \
      _tile_stored(t, C + r0 * ldc + c0, ldc * Index(sizeof(float)));                                      \
    } else if (r0 < M && c0 < N) {                                                                         \
      _tile_stored(t, edge, 64);                                                                           \
      copy_edge(edge, C + r0 * ldc + c0, ldc, std::min<Index>(16, M - r0), std::min<Index>(16, N - c0));   \
    }                                                                                                      \
  } while (0)

// C's rows [r0, r1) × columns [c0, c1) (multiples of 32, or M and N rounded up to 32).
__attribute__((target(MLPCORE_AMX_TARGET))) void amx_kernel(const std::uint16_t* Ap, const std::uint16_t* Bp,
                                                             Index M, Index N, Index r0, Index r1, Index c0,
                                                             Index c1, Index KB, float* C, Index ldc) {
  TileConfig cfg;
  for (int t = 0; t < 8; ++t) {
    cfg.colsb[t] = 64;
    cfg.rows[t] = 16;
  }
  // The configuration is per thread and another library may have changed it: load it each call.
  _tile_loadconfig(&cfg);
  alignas(64) float edge[256];
  for (Index nb = c0 / 16; nb < c1 / 16; nb += 2) {
    const std::uint16_t* b0 = Bp + nb * KB * kTile;
    const std::uint16_t* b1 = b0 + KB * kTile;
    for (Index mb = r0 / 16; mb < r1 / 16; mb += 2) {
      const std::uint16_t* a0 = Ap + mb * KB * kTile;
      const std::uint16_t* a1 = a0 + KB * kTile;
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      for (Index kb = 0; kb < KB; ++kb) {
        _tile_loadd(4, a0 + kb * kTile, 64);
        _tile_loadd(6, b0 + kb * kTile, 64);
        _tile_loadd(5, a1 + kb * kTile, 64);
        _tile_loadd(7, b1 + kb * kTile, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
      }
      MLPCORE_STORE_C(0, 0, 0);
      MLPCORE_STORE_C(1, 0, 1);
      MLPCORE_STORE_C(2, 1, 0);
      MLPCORE_STORE_C(3, 1, 1);
    }
  }
  _tile_release();  // back to the initial state: cheaper context switches
}
#undef MLPCORE_STORE_C

// 8 rows × 32 columns of C per pass: 16 accumulators, the A pair broadcast, B rows loaded once.
// C's rows [r0, r1) × columns [c0, c1), as amx_kernel.
__attribute__((target(MLPCORE_BF16_TARGET))) void avx512_kernel(const std::uint16_t* Ap, const std::uint16_t* Bp,
                                                                 Index M, Index N, Index r0, Index r1, Index c0,
                                                                 Index c1, Index KB, float* C, Index ldc) {
  for (Index nb = c0 / 16; nb < c1 / 16; nb += 2) {
    const std::uint16_t* b0 = Bp + nb * KB * kTile;
    const std::uint16_t* b1 = b0 + KB * kTile;
    const __mmask16 m0 = lanes(N - nb * 16), m1 = lanes(N - nb * 16 - 16);
    for (Index i0 = r0; i0 < r1 && i0 < M; i0 += 8) {
      const std::uint16_t* a = Ap + (i0 / 16) * KB * kTile + (i0 % 16) * 32;
      __m512 acc[8][2];
      for (int i = 0; i < 8; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
      for (Index kb = 0; kb < KB; ++kb) {
        const std::uint16_t* at = a + kb * kTile;
        const std::uint16_t* bt0 = b0 + kb * kTile;
        const std::uint16_t* bt1 = b1 + kb * kTile;
        for (int r = 0; r < 16; ++r) {
          const __m512bh x0 = (__m512bh)_mm512_load_si512(bt0 + r * 32);
          const __m512bh x1 = (__m512bh)_mm512_load_si512(bt1 + r * 32);
          for (int i = 0; i < 8; ++i) {
            std::int32_t pair;
            std::memcpy(&pair, at + i * 32 + 2 * r, sizeof pair);
            const __m512bh y = (__m512bh)_mm512_set1_epi32(pair);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], y, x0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], y, x1);
          }
        }
      }
      for (int i = 0; i < 8 && i0 + i < M; ++i) {
        float* c = C + (i0 + i) * ldc + nb * 16;
        _mm512_mask_storeu_ps(c, m0, acc[i][0]);
        _mm512_mask_storeu_ps(c + 16, m1, acc[i][1]);
      }
    }
  }
}

}  // namespace
#endif

void gemm(Bf16Engine engine, View a, View b, Index M, Index N, Index K, float* C, Index ldc) {
  if (engine == Bf16Engine::None || static_cast<int>(engine) > static_cast<int>(bf16_engine()))
    throw std::runtime_error(bf16_engine() == Bf16Engine::None
                                 ? bf16_unavailable_reason()
                                 : std::string("bf16 engine '") + to_string(engine) + "' is not available here");
#if !defined(__AVX512F__)
  (void)a, (void)b, (void)M, (void)N, (void)K, (void)C, (void)ldc;  // unreachable: bf16_engine() is None
#else
  const Index Mp = round_up(M, 32), Np = round_up(N, 32), KB = round_up(K, 32) / 32;
  std::uint16_t* Ap = Buffers::aligned(t_buffers.a, Mp * KB * kTile / 16);
  std::uint16_t* Bp = Buffers::aligned(t_buffers.b, Np * KB * kTile / 16);
  // Shared between the engine's threads like the float32 product (gemm/sgemm.cpp): both
  // operands are packed once, into the caller's buffers, by pieces of a first job; then C is cut
  // into tiles of 32-row × 32-column units, near square, handed out by a second. Each element of
  // C is one kernel's sum over all of K, so results do not depend on the thread count.
  const double work = double(M) * double(N) * double(K);
  const int threads = work >= 2 * detail::kParallelWork ? detail::engine_threads() : 1;
  const Index row_units = Mp / 32, col_units = Np / 32;
  struct Job {
    Bf16Engine engine;
    View a, b;
    Index M, N, K, KB;
    std::uint16_t *Ap, *Bp;
    float* C;
    Index ldc, pieces, row_pieces, col_pieces;
  } job{engine, a, b, M, N, K, KB, Ap, Bp, C, ldc, 1, 1, 1};
  const auto pack = [](const void* context, Index i) {
    const Job& j = *static_cast<const Job*>(context);
    const Index ablocks = round_up(j.M, 32) / 16, bblocks = round_up(j.N, 32) / 16;
    pack_a(j.a, j.M, j.K, ablocks * i / j.pieces, ablocks * (i + 1) / j.pieces, j.KB, j.Ap);
    pack_b(j.b, j.N, j.K, bblocks * i / j.pieces, bblocks * (i + 1) / j.pieces, j.KB, j.Bp);
  };
  const auto tile = [](const void* context, Index i) {
    const Job& j = *static_cast<const Job*>(context);
    const Index rows = round_up(j.M, 32) / 32, cols = round_up(j.N, 32) / 32;
    const Index rp = i / j.col_pieces, cp = i % j.col_pieces;
    const Index r0 = rows * rp / j.row_pieces * 32, r1 = rows * (rp + 1) / j.row_pieces * 32;
    const Index c0 = cols * cp / j.col_pieces * 32, c1 = cols * (cp + 1) / j.col_pieces * 32;
    if (r0 >= r1 || c0 >= c1) return;
    if (j.engine == Bf16Engine::Amx)
      amx_kernel(j.Ap, j.Bp, j.M, j.N, r0, r1, c0, c1, j.KB, j.C, j.ldc);
    else
      avx512_kernel(j.Ap, j.Bp, j.M, j.N, r0, r1, c0, c1, j.KB, j.C, j.ldc);
  };
  if (threads <= 1) {
    pack(&job, 0);
    tile(&job, 0);
    return;
  }
  // Half as many pieces as float32 for the same work: a bf16 multiply-add costs about half.
  const detail::ProductSplit split =
      detail::split_product(work, threads, 2 * detail::kMinPieceWork, double(M), double(N), row_units, col_units);
  job.pieces = split.pieces;
  job.row_pieces = split.row_pieces;
  job.col_pieces = split.col_pieces;
  detail::run_pieces(job.pieces, threads, pack, &job);
  detail::run_pieces(job.row_pieces * job.col_pieces, threads, tile, &job);
#endif
}

float round_to_bf16(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7F800000u) == 0x7F800000u && (u & 0x007FFFFFu)) {
    u |= 0x00400000u;  // NaN stays a (quiet) NaN
  } else if ((u & 0x7F800000u) == 0) {
    u &= 0x80000000u;  // the converter treats denormals as zero
  } else {
    u += 0x7FFFu + ((u >> 16) & 1u);
  }
  u &= 0xFFFF0000u;
  std::memcpy(&x, &u, sizeof u);
  return x;
}

}  // namespace mlpcore::bf16
