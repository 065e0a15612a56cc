// The one piece of global state in fastmlp's C++ core: a small persistent thread pool.
//
// parallel_for(n_tasks, fn) runs fn(0) ... fn(n_tasks - 1), each task exactly once, on up to
// get_num_threads() threads (the caller is one of them). Callers split work so that each task
// writes disjoint memory and computes every output the same way whichever thread runs it;
// then results are bitwise identical for any thread count.
// Not OpenMP: libgomp hangs after fork() and every wheel would bundle its own runtime
// (docs/threads.md).
#pragma once

#include <cstdint>
#include <type_traits>

namespace fastmlp::parallel {

// A non-owning reference to a callable `void(int64_t) const`. parallel_for runs the tasks while
// its caller waits, so nothing needs owning the callable; std::function would heap-allocate for
// every lambda capturing more than two pointers, once per parallel GEMM, and the training loop
// must not allocate (tests/test_no_allocation.py counts).
class TaskRef {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, TaskRef>>>
  TaskRef(const F& f)  // NOLINT: implicit, so call sites pass lambdas as before
      : obj_(&f), call_([](const void* obj, int64_t t) { (*static_cast<const F*>(obj))(t); }) {}
  void operator()(int64_t t) const { call_(obj_, t); }

 private:
  const void* obj_;
  void (*call_)(const void*, int64_t);
};

// The most threads set_num_threads and FASTMLP_NUM_THREADS give (Python's checks.MAX_THREADS):
// far above any CPU's cores, far below a process's usual thread limit.
constexpr int kMaxThreads = 1024;

// Threads used by parallel_for, the caller included. The first call decides the default:
// FASTMLP_NUM_THREADS, else OMP_NUM_THREADS (so joblib/loky limits apply), else the CPUs in
// this process's affinity mask.
int get_num_threads();

// 1 <= n <= kMaxThreads (else std::invalid_argument). Starts the n - 1 workers now, all or none: when the OS refuses one, throws
// std::runtime_error naming the thread count and keeps the previous count. The old pool is
// joined once idle.
void set_num_threads(int n);

// Runs every task; rethrows on the caller the first exception any task threw. Runs serially
// when one thread is configured, n_tasks <= 1, or another caller holds the pool (one job at
// a time: a second Python thread never oversubscribes the cores or deadlocks).
// Tasks are claimed dynamically: a task may wait for work that another *running* task does
// (gemm.cpp's shared packing), never for a task that has not started, since with one thread
// they all run in order on the caller.
// wake = false: use only the workers that are awake (still spinning after a recent job), and
// run serially if none is. For jobs too small to pay for waking a sleeping thread (tens of
// microseconds) but big enough to gain from one that is already awake.
void parallel_for(int64_t n_tasks, TaskRef fn, bool wake = true);

// One pause of a spin-wait loop (x86 `pause`, Arm `yield`): lets the sibling hyperthread run
// and saves power while a thread polls an atomic that another running thread will set soon.
void cpu_relax();

}  // namespace fastmlp::parallel

namespace fastmlp::parallel {

// Splits [0, n) into contiguous chunks of at least min_chunk items and runs fn(lo, hi) on each,
// in parallel when there is more than one chunk. For elementwise and row-wise kernels, whose
// results do not depend on the split.
template <class Fn>
void parallel_chunks(int64_t n, int64_t min_chunk, Fn&& fn) {
  const int64_t max_tasks = n / (min_chunk > 0 ? min_chunk : 1);
  const int64_t n_tasks = max_tasks < get_num_threads() ? max_tasks : get_num_threads();
  if (n_tasks <= 1) {
    if (n > 0) fn(int64_t(0), n);
    return;
  }
  const int64_t per = (n + n_tasks - 1) / n_tasks;
  parallel_for(n_tasks, [&](int64_t t) {
    const int64_t lo = t * per, hi = lo + per < n ? lo + per : n;
    if (lo < hi) fn(lo, hi);
  });
}

}  // namespace fastmlp::parallel
