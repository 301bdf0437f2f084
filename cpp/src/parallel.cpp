// SPDX-License-Identifier: MIT
// The engine's thread count and its cap, and the worker threads that share out a product's
// pieces (see parallel.hpp for when threads are used at all, and why not an OpenMP team).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "mlpcore/threads.hpp"
#include "parallel.hpp"

namespace mlpcore {

namespace {
#ifdef _OPENMP
// OpenMP's default, read before the engine changes any thread's setting.
const int g_default_threads = omp_get_max_threads();
#else
const int g_default_threads = 1;
#endif
std::atomic<int> g_threads{0};  // 0: not set
std::atomic<std::uint64_t> g_regions{0};
}  // namespace

namespace detail {
int engine_threads() {
  const int n = g_threads.load(std::memory_order_relaxed);
  const int wanted = n > 0 ? n : g_default_threads;
#ifdef _OPENMP
  // The calling thread's OpenMP limit caps the count: OMP_NUM_THREADS, and
  // threadpoolctl.threadpool_limits (which calls omp_set_num_threads of this libgomp), so
  // nested parallelism (joblib, Dask, MPI ranks) never oversubscribes the cores.
  const int limit = omp_get_max_threads();
  return wanted < limit ? wanted : limit;
#else
  return wanted;
#endif
}
void note_parallel_region() { g_regions.fetch_add(1, std::memory_order_relaxed); }

namespace {
#ifdef _OPENMP
// The calling thread's processor time in seconds.
double thread_cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

// Spins (without a system call) until done() or for `duration`, whichever comes first.
template <class Done>
void spin_for(std::chrono::microseconds duration, const Done& done) {
  const auto until = std::chrono::steady_clock::now() + duration;
  while (!done()) {
#if defined(__x86_64__) || defined(__i386__)
    for (int k = 0; k < 16; ++k) __builtin_ia32_pause();  // yield the core's pipeline to its twin
#endif
    if (std::chrono::steady_clock::now() >= until) return;
  }
}

// Worker threads, started on first use and never stopped (the pool is leaked on purpose: joining
// at exit would race with a job still running on another thread). One job at a time.
//
// A job's pieces are handed out through m_ticket = (job number << 32) | next piece. A thread
// takes a piece by a compare-and-swap that also checks the job number, so a worker that wakes
// after its job has ended cannot take a piece of the next one by mistake; once it holds a piece,
// the job's fields stay valid until it reports the piece done (the caller waits for that).
//
// Waiting, measured with bench_busy_large.py on 2 cores (OMP_WAIT_POLICY plays no part: these
// are not OpenMP threads):
//  - the caller, done with its pieces, spins kCallerSpin for the workers' last pieces, then
//    sleeps. Sleeping at once lost up to a third of the idle speed-up at batch 128; a yield loop
//    instead of the spin hands the core to other processes and waits a time slice for it back.
//  - a worker, done with a job, spins kWorkerSpin for the next one (products follow each other
//    within microseconds in a training step; waking a sleeping thread costs more than a small
//    piece), unless the OS preempted it twice within kQuietAfterPreempt: then the core is
//    shared with another process, and spinning there would spend the worker's fair share of it,
//    leaving it descheduled when the next job comes, where a sleeping worker is woken at once.
//    Spinning always made 2 threads ~10 % slower than 1 with a busy core at batch 128; never
//    spinning lost a quarter of the idle speed-up at that batch. A single preemption is the
//    OS's housekeeping on an idle core: going quiet after each one put the worker to sleep
//    between most jobs on a virtual machine, and batch 128 ran 1.43 times faster on 2 threads
//    than on 1 instead of 1.70 (bench_busy_large.py, both builds side by side; busy: 1.04 and
//    1.02 times the 1-thread time).
//  - when a job ran less than kMinSpeedup times faster than the caller alone would have (its
//    processor time per piece times the pieces, plus kWakeSlack), a worker lost its core while
//    holding a piece, or the threads share a core with other processes: for the next m_backoff
//    the caller takes every piece itself, without waking the workers, then tries again. The
//    pause starts at kMinBackoff and doubles with each failed try up to kMaxBackoff; a job that
//    wins resets it. So on a busy machine two threads cost one failed try per pause at most,
//    and on an idle one nothing. The pieces stay the same, so results do not depend on who ran
//    them.
class Pool {
 public:
  // Runs the job on the caller and up to `helpers` workers; false (nothing run) when another
  // caller's job is running.
  bool run(Index pieces, int helpers, void (*fn)(const void*, Index), const void* context,
           void (*whole)(const void*)) {
    std::unique_lock<std::mutex> busy(m_busy, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    const auto start = std::chrono::steady_clock::now();
    if (start < m_alone_until) {  // the workers lost their cores lately: do not wait for them
      if (whole)
        whole(context);
      else
        for (Index i = 0; i < pieces; ++i) fn(context, i);
      return true;
    }
    std::uint32_t job;
    {
      const std::lock_guard<std::mutex> lock(m_mutex);
      if (m_pid != getpid()) {  // a forked child: its parent's workers do not exist here
        for (auto& t : m_threads) (void)t.release();
        m_threads.clear();
        m_pid = getpid();
      }
      while (int(m_threads.size()) < helpers) {
        const int index = int(m_threads.size());
        m_threads.push_back(std::make_unique<std::thread>([this, index] { work(index); }));
      }
      job = ++m_job;
      m_fn = fn;
      m_context = context;
      m_pieces = pieces;
      m_helpers = helpers;
      m_mode = fp_mode();
      m_done.store(0, std::memory_order_relaxed);
      m_ticket.store(std::uint64_t(job) << 32, std::memory_order_release);
    }
    m_wake.notify_all();
    const double cpu_start = thread_cpu_seconds();
    Index mine = 0;
    for (Index i; (i = take(job, pieces)) >= 0; ++mine) fn(context, i);
    const double cpu_mine = thread_cpu_seconds() - cpu_start;
    if (m_done.fetch_add(mine, std::memory_order_acq_rel) + mine != pieces) {
      const auto all_done = [&] { return m_done.load(std::memory_order_acquire) == pieces; };
      spin_for(kCallerSpin, all_done);
      std::unique_lock<std::mutex> lock(m_mutex);
      m_finished.wait(lock, all_done);
    }
    // Did sharing win? The caller's processor time per piece, times the pieces, is what the job
    // costs one thread; the wall time is what it took. When a worker lost its core (or the
    // workers share one core with the caller) the ratio falls to 1 or below. kWakeSlack spares
    // small jobs, whose split may lose to a worker's wake-up alone.
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double alone = cpu_mine / double(mine > 0 ? mine : 1) * double(pieces);
    if (mine > 0 && wall > alone / kMinSpeedup + kWakeSlack) {
      m_alone_until = std::chrono::steady_clock::now() + m_backoff;
      m_backoff = std::min<std::chrono::steady_clock::duration>(m_backoff * 2, kMaxBackoff);
      return true;
    }
    m_backoff = kMinBackoff;
    return true;
  }

 private:
  static constexpr std::chrono::microseconds kCallerSpin{30}, kWorkerSpin{50};
  static constexpr double kMinSpeedup = 1.2, kWakeSlack = 50e-6;
  static constexpr std::chrono::milliseconds kQuietAfterPreempt{20}, kMinBackoff{10}, kMaxBackoff{640};

  // The next piece of job `job` (of `pieces`), or −1 when none is left or the job has ended.
  Index take(std::uint32_t job, Index pieces) {
    std::uint64_t t = m_ticket.load(std::memory_order_acquire);
    for (;;) {
      const Index next = Index(t & 0xffffffffu);
      if (std::uint32_t(t >> 32) != job || next >= pieces) return -1;
      if (m_ticket.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel)) return next;
    }
  }

  void work(int index) {
    omp_set_num_threads(1);  // this thread's own setting: Eigen's products stay on it
    std::uint32_t seen = 0;
    long preempted = 0;  // involuntary context switches of this thread so far
    auto quiet_until = std::chrono::steady_clock::now();
    auto last_preempt = quiet_until - kQuietAfterPreempt;
    for (;;) {
      rusage usage;
      getrusage(RUSAGE_THREAD, &usage);
      const auto now = std::chrono::steady_clock::now();
      if (usage.ru_nivcsw != preempted) {
        // A second preemption within kQuietAfterPreempt (or several since the last look): the
        // core is shared. A lone one is the OS's own housekeeping on an otherwise idle core.
        if (usage.ru_nivcsw - preempted > 1 || now - last_preempt < kQuietAfterPreempt)
          quiet_until = now + kQuietAfterPreempt;
        preempted = usage.ru_nivcsw;
        last_preempt = now;
      }
      const auto next_job = [&] {
        return std::uint32_t(m_ticket.load(std::memory_order_acquire) >> 32) != seen;
      };
      if (now >= quiet_until) spin_for(kWorkerSpin, next_job);
      void (*fn)(const void*, Index);
      const void* context;
      unsigned mode;
      Index pieces;
      {
        std::unique_lock<std::mutex> lock(m_mutex);
        m_wake.wait(lock, [&] { return m_job != seen; });
        seen = m_job;
        if (index >= m_helpers) continue;  // this job asked for fewer threads than exist
        fn = m_fn;
        context = m_context;
        mode = m_mode;
        pieces = m_pieces;
      }
      const ScopedFpMode same_mode(mode);
      Index mine = 0;
      for (Index i; (i = take(seen, pieces)) >= 0; ++mine) fn(context, i);
      if (mine != 0 && m_done.fetch_add(mine, std::memory_order_acq_rel) + mine == pieces) {
        const std::lock_guard<std::mutex> lock(m_mutex);
        m_finished.notify_all();
      }
    }
  }

  std::mutex m_busy;   // held by the caller whose job is running
  // Guarded by m_busy: until when callers take every piece themselves, and the next such pause.
  std::chrono::steady_clock::time_point m_alone_until{};
  std::chrono::steady_clock::duration m_backoff{kMinBackoff};
  std::mutex m_mutex;  // guards the job's fields, m_job and the worker list
  std::condition_variable m_wake, m_finished;
  std::vector<std::unique_ptr<std::thread>> m_threads;
  pid_t m_pid = getpid();
  std::uint32_t m_job = 0;
  void (*m_fn)(const void*, Index) = nullptr;
  const void* m_context = nullptr;
  Index m_pieces = 0;
  int m_helpers = 0;
  unsigned m_mode = 0;
  std::atomic<std::uint64_t> m_ticket{0};
  std::atomic<Index> m_done{0};
};
#endif
}  // namespace

void run_pieces(Index pieces, int threads, void (*run)(const void*, Index), const void* context,
                void (*whole)(const void*)) {
#ifdef _OPENMP
  static Pool& pool = *new Pool;
  if (!omp_in_parallel() && pool.run(pieces, threads - 1, run, context, whole)) {
    note_parallel_region();
    return;
  }
#else
  (void)threads;
#endif
  if (whole)
    whole(context);
  else
    for (Index i = 0; i < pieces; ++i) run(context, i);
}
}  // namespace detail

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("number of threads must be >= 1, got " + std::to_string(n));
#ifndef _OPENMP
  n = 1;
#endif
  g_threads.store(n, std::memory_order_relaxed);
}

int get_num_threads() { return detail::engine_threads(); }

std::uint64_t parallel_regions() { return g_regions.load(std::memory_order_relaxed); }

}  // namespace mlpcore
