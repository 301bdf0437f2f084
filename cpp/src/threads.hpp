// SPDX-License-Identifier: MIT
// Internal: how many OpenMP threads each matrix product may use.
//
// Eigen splits a product among threads as soon as it holds about 50,000 multiply-adds per thread
// (a few microseconds of work). Starting and joining a team costs about as much on an idle
// machine, and far more on a busy one: when the second core is taken by another process, every
// product waits for a descheduled worker, and small networks ran 30 to 60 times slower on two
// threads than on one. So the engine allows threads only for products of at least
// kParallelWork multiply-adds, and one thread below that.
//
// Eigen asks omp_get_max_threads() of the calling thread (mlpcore never calls
// Eigen::setNbThreads), an OpenMP setting private to each thread, so the choice is made per call
// and per thread, with no shared state but the count set by set_num_threads().
#pragma once

#ifdef _OPENMP
#include <omp.h>
#endif

#include "mlpcore/types.hpp"

namespace mlpcore::detail {

/// Multiply-adds below which a product runs on one thread.
constexpr double kParallelWork = double(1 << 21);

/// The thread count set by set_num_threads(), or OpenMP's default (OMP_NUM_THREADS, else the
/// number of cores) before any call.
int engine_threads();

/// Counts one parallel region for parallel_regions(); called by the code that opens it.
void note_parallel_region();

/// For its lifetime, lets the calling thread's matrix products use engine_threads() threads if
/// `work` (multiply-adds) reaches kParallelWork, else one; restores the caller's setting.
class ProductThreads {
 public:
  explicit ProductThreads(double work) {
#ifdef _OPENMP
    m_saved = omp_get_max_threads();
    const int want = work >= kParallelWork ? engine_threads() : 1;
    if (want > 1) note_parallel_region();  // Eigen may now split the product among threads
    if (want != m_saved) omp_set_num_threads(want);
#else
    (void)work;
#endif
  }
  ~ProductThreads() {
#ifdef _OPENMP
    if (omp_get_max_threads() != m_saved) omp_set_num_threads(m_saved);
#endif
  }
  ProductThreads(const ProductThreads&) = delete;
  ProductThreads& operator=(const ProductThreads&) = delete;

 private:
  int m_saved = 1;
};

}  // namespace mlpcore::detail
