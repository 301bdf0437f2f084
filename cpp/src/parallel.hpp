// SPDX-License-Identifier: MIT
// Internal: when and how the engine uses OpenMP threads.
//
// Starting and joining a team costs a few microseconds on an idle machine and far more on a busy
// one: when the second core is taken by another process, every region waits for a descheduled
// worker, and small networks ran 10 to 60 times slower on two threads than on one. So the engine
// opens a parallel region only for work that pays for it, and nowhere else:
//   - a matrix product of at least kParallelWork multiply-adds: the engine's float32 GEMM
//     (gemm/sgemm.cpp) cut into panels of columns (and blocks of rows), Eigen's (float64, or a
//     build without AVX2) through product() in dense.hpp, cut into blocks of rows or columns;
//   - an optimizer step over a large parameter buffer (optimizer.cpp);
//   - the dense layers' row-wise loops for widths up to 16 and their bias gradient, past
//     kMinPieceWork multiply-adds (loop_parts, dense.hpp);
//   - gathering a large batch (epoch.cpp) and scanning a large input for NaN (finite.hpp).
// All go through run_pieces() below (for_parts() wraps it), which counts the region for
// parallel_regions(). The pool also judges every split by its speed-up and, when sharing did
// not win (a worker lost its core), runs the next jobs on the caller alone for a while.
//
// A region is not an OpenMP team but a job for the engine's own worker threads (parallel.cpp),
// because a team's closing barrier waits for every thread of the team, even one that the OS has
// not yet run: with one core kept busy by another process, a 784-256-128-10 prediction took
// 39 ms on two threads against 3.7 ms on one. Here the range is cut into several pieces per
// thread and every thread, the caller included, takes the next piece from an atomic counter. A
// worker that has not woken up takes nothing, and the caller only waits for pieces already
// taken, so a descheduled worker delays a product by one piece at most; a worker that wakes late
// finds nothing left. The caller waits for those pieces by a short spin, then by sleeping, which
// leaves its core to the worker it waits for (parallel.cpp says how long each side spins). The
// pieces depend only on the range and the thread count, never on which thread takes them, so
// results repeat bit for bit for a given thread count.
//
// Eigen is never allowed to open OpenMP regions of its own: its products run with the calling
// thread's OpenMP setting lowered to one thread (SerialProducts; the workers set theirs once),
// and inside a user's OpenMP region the engine stays on its thread. mlpcore never calls
// Eigen::setNbThreads, whose setting would be shared with the embedding program's own Eigen code.
//
// Each piece runs with the calling thread's floating-point mode (fp_env.hpp), so a product
// computes the same on every thread and training's flush-to-zero reaches the workers.
#pragma once

#include <algorithm>
#include <cmath>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "fp_env.hpp"
#include "mlpcore/types.hpp"

namespace mlpcore::detail {

/// Multiply-adds below which a product runs on one thread.
constexpr double kParallelWork = double(1 << 21);
/// Rows (or columns) below which a product block is not split further.
constexpr Index kMinPartRows = 16;

/// The thread count set by set_num_threads(), or OpenMP's default (OMP_NUM_THREADS, else the
/// number of cores) before any call.
int engine_threads();

/// Counts one parallel region for parallel_regions(); called by for_parts when it opens one.
void note_parallel_region();

/// For its lifetime, keeps Eigen's products on the calling thread (Eigen asks
/// omp_get_max_threads(), a per-thread OpenMP setting); restores the caller's setting.
class SerialProducts {
 public:
  SerialProducts() {
#ifdef _OPENMP
    m_saved = omp_get_max_threads();
    if (m_saved != 1) omp_set_num_threads(1);
#endif
  }
  ~SerialProducts() {
#ifdef _OPENMP
    if (m_saved != 1) omp_set_num_threads(m_saved);
#endif
  }
  SerialProducts(const SerialProducts&) = delete;
  SerialProducts& operator=(const SerialProducts&) = delete;

 private:
  int m_saved = 1;
};

/// Pieces per thread: enough that a thread which loses its core holds back only a small part of
/// the work, few enough that each piece is a GEMM of efficient size.
constexpr Index kPiecesPerThread = 4;
/// Multiply-adds, and rows (or columns), below which a product piece is not cut further: each
/// piece is a GEMM of its own that packs the whole of the other operand again, so thin pieces
/// spend their time packing (16-row pieces lost a quarter of the idle 2-thread speed-up at
/// batch 128; 64 keep it).
constexpr double kMinPieceWork = double(1 << 19);
constexpr Index kMinPieceRows = 64;

/// Runs run(context, i) for every i in [0, pieces), each once, spread over `threads` threads (the
/// caller and threads − 1 workers) by an atomic counter, each call with the caller's
/// floating-point mode, and returns when all have returned. Counts one parallel region, also
/// while the pool runs jobs on their callers alone because its workers recently lost their
/// cores (parallel.cpp). When the workers are busy with another caller's job, or inside an
/// OpenMP parallel region, runs every piece on the calling thread and counts no region.
/// `whole`, when given, computes what all the pieces together compute, in one call: the pool
/// calls it instead of the pieces when it runs a job on its caller alone (one product packs
/// and blocks better than its pieces do one after another).
void run_pieces(Index pieces, int threads, void (*run)(const void*, Index), const void* context,
                void (*whole)(const void*) = nullptr);

/// Runs body(begin, end) over [0, n): with threads ≤ 1 (or pieces ≤ 1) as one call on the calling
/// thread, opening no region; otherwise as `pieces` contiguous pieces whose bounds are multiples
/// of kMinPartRows (but the last), shared dynamically between `threads` threads (run_pieces).
/// The bounds depend only on n and pieces, so results repeat for a given thread count. Eigen
/// products inside body stay single-threaded.
template <class Body>
void for_parts(Index n, int threads, Index pieces, const Body& body) {
  const SerialProducts serial;
  if (threads <= 1 || pieces <= 1) {
    body(Index(0), n);
    return;
  }
  const Index grains = (n + kMinPartRows - 1) / kMinPartRows;
  pieces = std::min(pieces, grains);
  struct Job {
    const Body& body;
    Index n, grains, pieces;
  } job{body, n, grains, pieces};
  run_pieces(pieces, threads, [](const void* context, Index i) {
    const Job& j = *static_cast<const Job*>(context);
    const Index begin = std::min(j.n, j.grains * i / j.pieces * kMinPartRows);
    const Index end = std::min(j.n, j.grains * (i + 1) / j.pieces * kMinPartRows);
    j.body(begin, end);
  }, &job);
}

/// Threads worth using for `work` multiply-adds that split along `extent` rows: one below
/// kParallelWork or when pieces would fall under kMinPartRows rows, else up to engine_threads().
inline int product_parts(double work, Index extent) {
  if (work < kParallelWork) return 1;
  return int(std::min<Index>(engine_threads(), std::max<Index>(1, extent / kMinPartRows)));
}

/// Threads worth using for a plain loop of `work` multiply-adds (the dense layers' row-wise loops
/// for widths up to 16, which run well below GEMM speed) that splits along `extent` (rows or
/// columns): one below kMinPieceWork or when a part would fall under kMinPartRows, else up to
/// engine_threads(). Such a loop is cut into one part per thread (for_parts).
inline int loop_parts(double work, Index extent) {
  if (work < kMinPieceWork) return 1;
  return int(std::min<Index>(engine_threads(), std::max<Index>(1, extent / kMinPartRows)));
}

/// Pieces for a product of `work` multiply-adds along `extent` rows on `threads` threads:
/// kPiecesPerThread per thread, fewer when a piece would fall under kMinPieceWork multiply-adds
/// or kMinPieceRows rows, never fewer than the threads.
inline Index product_pieces(double work, Index extent, int threads) {
  const Index by_work = Index(work / kMinPieceWork), by_rows = extent / kMinPieceRows;
  return std::max<Index>(threads, std::min<Index>({threads * kPiecesPerThread, by_work, by_rows}));
}

/// How a product split between threads is cut (gemm/sgemm.cpp, bf16/gemm.cpp): `pieces` jobs'
/// worth of work (kPiecesPerThread per thread, none under `min_piece_work` multiply-adds, never
/// fewer than the threads), and its result as row_pieces × col_pieces tiles about C's shape
/// (near square: a tall or wide tile reads more of the operands per multiply-add).
struct ProductSplit {
  Index pieces = 1, row_pieces = 1, col_pieces = 1;
};

/// The split of an m × n result of `work` multiply-adds on `threads` threads, into tiles of whole
/// units: at most `row_units` blocks of rows and `col_units` blocks of columns.
inline ProductSplit split_product(double work, int threads, double min_piece_work, double m, double n,
                                  Index row_units, Index col_units) {
  ProductSplit s;
  s.pieces = std::max<Index>(threads, std::min<Index>(threads * kPiecesPerThread, Index(work / min_piece_work)));
  s.col_pieces = std::clamp<Index>(Index(std::lround(std::sqrt(double(s.pieces) * n / m))), 1, col_units);
  s.row_pieces = std::clamp<Index>((s.pieces + s.col_pieces - 1) / s.col_pieces, 1, std::max<Index>(1, row_units));
  if (s.col_pieces * s.row_pieces < threads)  // too few rows: more columns
    s.col_pieces = std::min<Index>(col_units, (threads + s.row_pieces - 1) / s.row_pieces);
  return s;
}

}  // namespace mlpcore::detail
