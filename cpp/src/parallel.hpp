// SPDX-License-Identifier: MIT
// Internal: when and how the engine uses OpenMP threads.
//
// Starting and joining a team costs a few microseconds on an idle machine and far more on a busy
// one: when the second core is taken by another process, every region waits for a descheduled
// worker, and small networks ran 10 to 60 times slower on two threads than on one. So the engine
// opens a parallel region only for work that pays for it, and nowhere else:
//   - a matrix product of at least kParallelWork multiply-adds (product() in dense.hpp), split
//     into one block of rows (or columns) per thread;
//   - an optimizer step over a large parameter buffer (optimizer.cpp).
// Both go through for_parts() below, which counts the region for parallel_regions(). Eigen is
// never allowed to open regions of its own: outside for_parts its products run with the calling
// thread's OpenMP setting lowered to one thread (SerialProducts), and inside a region Eigen sees
// that it is nested and stays on its thread. mlpcore never calls Eigen::setNbThreads, whose
// setting would be shared with the embedding program's own Eigen code.
//
// Each thread of a region runs with the calling thread's floating-point mode (fp_env.hpp), so a
// product computes the same on every thread and training's flush-to-zero reaches the workers
// without a region of its own.
#pragma once

#include <algorithm>

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

/// Runs body(begin, end) over [0, n) cut into `parts` contiguous pieces of near-equal size: with
/// parts ≤ 1 (or when already inside a parallel region) as one call on the calling thread, opening
/// no region; otherwise in one OpenMP region, one piece per thread, each thread running with the
/// caller's floating-point mode. The pieces depend only on n and the team size, so results
/// repeat for a given thread count. Eigen products inside body stay single-threaded.
template <class Body>
void for_parts(Index n, int parts, const Body& body) {
#ifdef _OPENMP
  if (parts > 1 && !omp_in_parallel()) {
    note_parallel_region();
    const unsigned mode = fp_mode();
#pragma omp parallel num_threads(parts)
    {
      const ScopedFpMode same_mode(mode);
      omp_set_num_threads(1);  // this task's setting only: no nested teams from Eigen
      const Index team = omp_get_num_threads(), id = omp_get_thread_num();
      body(n * id / team, n * (id + 1) / team);
    }
    return;
  }
#endif
  (void)parts;
  const SerialProducts serial;
  body(Index(0), n);
}

/// Threads worth using for `work` multiply-adds that split along `extent` rows: one below
/// kParallelWork or when pieces would fall under kMinPartRows rows, else up to engine_threads().
inline int product_parts(double work, Index extent) {
  if (work < kParallelWork) return 1;
  return int(std::min<Index>(engine_threads(), std::max<Index>(1, extent / kMinPartRows)));
}

}  // namespace mlpcore::detail
