// Thread pool behind parallel_for: N-1 persistent workers plus the calling thread.
//
// Design (docs/threads.md): created lazily; workers block every signal so Ctrl-C
// reaches Python's main thread; a pthread_atfork child handler forgets the pool (its threads do
// not exist in the child) so the child builds a fresh one; worker exceptions travel back to the
// caller as exception_ptr; one job at a time (a busy flag); a second caller runs serially.
//
// Waiting. Waking a thread blocked on a condition variable costs tens of microseconds,
// as much as a whole 128^3 GEMM, and a training step runs several GEMMs back to back. So a
// worker that finishes a job spins (pause, reading one atomic) for kIdleSpin before it blocks:
// the next job of a step finds it awake. The caller likewise spins up to kDoneSpin for the
// job's last task before it blocks. Both spins are bounded, so an idle process sleeps (~0 %
// CPU) a fraction of a millisecond after its last call.
//
// Job protocol. generation_ is odd while a job is open and even once its caller has closed it.
// Tasks are claimed from next_ and counted down in pending_; the caller waits for pending_ == 0,
// not for every worker, so a worker the OS wakes late (up to a millisecond after an idle spell) costs
// nothing: the caller has claimed its tasks meanwhile. A worker joining a job first counts
// itself in inside_ and then re-reads generation_; the caller closes the job and then waits for
// inside_ == 0 (both seq_cst, Dekker-style), so no worker can read a job's fields after its
// caller has moved on to the next job.
#include "parallel/thread_pool.hpp"

#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <emmintrin.h>  // _mm_pause: SSE2, part of the x86-64 baseline
#endif

namespace fastmlp::parallel {

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#else
  std::this_thread::yield();
#endif
}

namespace {

using Clock = std::chrono::steady_clock;
// How long a worker stays awake after a job, and how long the caller spins for the last task,
// before blocking. Tens of microseconds: longer than the gap between the GEMMs of a training
// step (a few us of C++ or Python), short enough that an idle process sleeps almost at once.
constexpr std::chrono::microseconds kIdleSpin{50};
constexpr std::chrono::microseconds kDoneSpin{200};

// Spins while pred() holds, up to `budget`; true if pred() became false in time. Reads the clock
// every 16 pauses only (a pause is ~10-100 cycles, a clock read ~20 ns).
template <class Pred>
bool spin_while(Pred pred, std::chrono::microseconds budget) {
  const Clock::time_point deadline = Clock::now() + budget;
  for (unsigned i = 1;; ++i) {
    if (!pred()) return true;
    cpu_relax();
    if (i % 16 == 0 && Clock::now() > deadline) return !pred();
  }
}

class ThreadPool {
 public:
  // All or nothing: when thread k cannot start (a process or memory limit), the threads already
  // started are stopped and joined, the caller's signal mask is restored, and the error names
  // the thread count. Never leaves a joinable std::thread behind (that would std::terminate).
  explicit ThreadPool(int n_threads) {
    // Threads inherit the creator's signal mask: block everything while spawning, and restore
    // it however this constructor leaves (a throw included), or Ctrl-C would never arrive.
    sigset_t all;
    sigfillset(&all);
    struct MaskGuard {
      sigset_t old;
      ~MaskGuard() { pthread_sigmask(SIG_SETMASK, &old, nullptr); }
    } guard;
    pthread_sigmask(SIG_BLOCK, &all, &guard.old);
    awake_.store(n_threads - 1);
    int started = 1;
    try {
      workers_.reserve(static_cast<size_t>(n_threads - 1));
      for (; started < n_threads; ++started) workers_.emplace_back([this] { worker_loop(); });
    } catch (const std::exception& e) {
      stop_and_join();
      throw std::runtime_error("could not start thread " + std::to_string(started + 1) + " of " +
                               std::to_string(n_threads) + " (" + e.what() +
                               "): a process or memory limit (ulimit -u / -v, a cgroup) allows "
                               "fewer threads; use fewer (fastmlp.set_num_threads, "
                               "FASTMLP_NUM_THREADS)");
    }
  }

  ~ThreadPool() { stop_and_join(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // False (and nothing run) when another caller's job holds the pool, or when !wake and every
  // worker is asleep.
  bool try_run(int64_t n_tasks, const TaskRef& fn, bool wake) {
    if (!wake && awake_.load(std::memory_order_relaxed) == 0) {
      // All asleep. Wake them anyway when the previous job ended less than kIdleSpin ago: had
      // they helped with it they would still be awake, and in a stream of small GEMMs one wake
      // keeps them awake for the rest of it. Otherwise (an isolated call) run serially.
      if (Clock::now() - last_end() > kIdleSpin) return false;
      wake = true;
    }
    // An atomic flag, not a mutex: a task that calls parallel_for again runs on a thread that
    // may already own the job, and try_lock on an owned std::mutex is undefined.
    if (busy_.exchange(true, std::memory_order_acquire)) return false;
    struct Release {
      std::atomic<bool>& flag;
      ~Release() { flag.store(false, std::memory_order_release); }
    } release{busy_};
    // No worker is inside a job now (the last caller waited for inside_ == 0), so these plain
    // writes race with nothing; opening the job below publishes them.
    fn_ = &fn;
    n_tasks_ = n_tasks;
    error_ = nullptr;
    next_.store(0, std::memory_order_relaxed);
    pending_.store(n_tasks, std::memory_order_relaxed);
    const uint64_t open = generation_.load(std::memory_order_relaxed) + 1;  // odd
    {
      // Under the mutex: a worker about to block re-checks generation_ under it, so it either
      // sees the new job or is already waiting when notify_all runs (no lost wake-up).
      std::lock_guard<std::mutex> lock(m_);
      generation_.store(open);
    }
    // No system call when every worker is spinning. Without wake, a worker that is just going
    // to sleep may miss this job: harmless, the caller runs the tasks nobody claims.
    if (wake) cv_work_.notify_all();
    run_tasks();            // the caller works too
    // Wait for the tasks others claimed: spin a little, then block.
    auto running = [this] { return pending_.load(std::memory_order_acquire) != 0; };
    if (!spin_while(running, kDoneSpin)) {
      std::unique_lock<std::mutex> lock(m_);
      cv_done_.wait(lock, [&] { return !running(); });
    }
    generation_.store(open + 1);  // close the job (seq_cst: pairs with a joining worker)
    while (inside_.load() != 0) std::this_thread::yield();  // late joiners are leaving
    fn_ = nullptr;
    note_end();
    if (error_) std::rethrow_exception(error_);
    return true;
  }

  // When the last job (or a serial run parallel_for did instead) ended.
  void note_end() {
    last_end_ns_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
  }

 private:
  void stop_and_join() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_.store(true);
    }
    cv_work_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  void run_tasks() {
    for (int64_t t; (t = next_.fetch_add(1, std::memory_order_relaxed)) < n_tasks_;) {
      int64_t finished = 1;
      try {
        (*fn_)(t);
      } catch (...) {
        std::lock_guard<std::mutex> lock(m_);
        if (!error_) error_ = std::current_exception();
        // Skip the tasks nobody has claimed yet; the job has failed.
        finished += std::max<int64_t>(0, n_tasks_ - next_.exchange(n_tasks_));
      }
      // acq_rel: the caller's acquire load of 0 sees every task's writes and error_.
      if (pending_.fetch_sub(finished, std::memory_order_acq_rel) == finished) {
        std::lock_guard<std::mutex> lock(m_);  // the caller checks pending_ under m_ to block
        cv_done_.notify_one();
      }
    }
  }

  Clock::time_point last_end() const {
    return Clock::time_point(Clock::duration(last_end_ns_.load(std::memory_order_relaxed)));
  }

  bool job_open(uint64_t seen) const {
    const uint64_t g = generation_.load(std::memory_order_acquire);
    return (g & 1) && g != seen;
  }

  void worker_loop() {
    uint64_t seen = 0;
    for (;;) {
      if (!spin_while([&] { return !job_open(seen) && !stop_.load(std::memory_order_relaxed); },
                      kIdleSpin)) {
        std::unique_lock<std::mutex> lock(m_);
        awake_.fetch_sub(1, std::memory_order_relaxed);
        cv_work_.wait(lock, [&] { return stop_.load() || job_open(seen); });
        awake_.fetch_add(1, std::memory_order_relaxed);
      }
      if (stop_.load()) return;
      seen = generation_.load();
      if (!(seen & 1)) continue;  // closed meanwhile: nothing to join
      inside_.fetch_add(1);       // seq_cst, then re-read: see the class comment
      if (generation_.load() == seen) run_tasks();
      inside_.fetch_sub(1, std::memory_order_release);
    }
  }

  std::atomic<bool> busy_{false};  // set by the caller for a whole job
  std::atomic<uint64_t> generation_{0};
  std::atomic<int64_t> next_{0}, pending_{0};
  std::atomic<int> inside_{0};
  std::atomic<int> awake_{0};  // workers not blocked on cv_work_ (a hint, read relaxed)
  std::atomic<Clock::rep> last_end_ns_{0};
  std::atomic<bool> stop_{false};
  std::mutex m_;  // for the condition variables, and guards error_
  std::condition_variable cv_work_, cv_done_;
  const TaskRef* fn_ = nullptr;
  int64_t n_tasks_ = 0;
  std::exception_ptr error_;
  std::vector<std::thread> workers_;
};
// Heap-allocated and never destroyed: joining at interpreter exit could hang on a daemon
// thread's job, and the OS reclaims the threads anyway.
std::mutex* g_mutex = new std::mutex;
std::shared_ptr<ThreadPool>* g_pool = new std::shared_ptr<ThreadPool>;
// 0: not decided yet. Atomic so that get_num_threads and a 1-thread parallel_for read it
// without the mutex (the GEMMs of a small network ask it several times a step); it is
// written only under g_mutex.
std::atomic<int> g_num_threads{0};
std::once_flag g_atfork_once;

int env_threads(const char* name) {
  const char* s = std::getenv(name);
  if (!s || !*s) return 0;
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  // OMP_NUM_THREADS may be a list ("4,2"); its first entry is the outer level.
  if (end == s || v < 1 || (*end && *end != ',')) return 0;
  return static_cast<int>(std::min<long>(v, kMaxThreads));
}

int default_threads() {
  if (int n = env_threads("FASTMLP_NUM_THREADS")) return n;
  if (int n = env_threads("OMP_NUM_THREADS")) return n;
  cpu_set_t set;
  // The affinity mask, not hardware_concurrency: taskset/cgroups may give us fewer CPUs.
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

// In the child of fork() only the forking thread exists: the workers are gone and a mutex may
// be held by a thread that no longer runs. Forget both (leak, never join) and start afresh.
void atfork_child() {
  g_mutex = new std::mutex;
  g_pool = new std::shared_ptr<ThreadPool>;
}

std::shared_ptr<ThreadPool> acquire_pool() {
  std::call_once(g_atfork_once, [] { pthread_atfork(nullptr, nullptr, atfork_child); });
  std::lock_guard<std::mutex> lock(*g_mutex);
  if (g_num_threads.load() == 0) g_num_threads.store(default_threads());
  const int n = g_num_threads.load();
  if (n > 1 && (!*g_pool || (*g_pool)->size() != n)) *g_pool = std::make_shared<ThreadPool>(n);
  return n > 1 ? *g_pool : nullptr;
}

}  // namespace

int get_num_threads() {
  if (const int n = g_num_threads.load(std::memory_order_acquire)) return n;
  std::lock_guard<std::mutex> lock(*g_mutex);
  if (g_num_threads.load() == 0) g_num_threads.store(default_threads());
  return g_num_threads.load();
}

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("num_threads must be >= 1, got " + std::to_string(n));
  if (n > kMaxThreads)
    throw std::invalid_argument("num_threads must be <= " + std::to_string(kMaxThreads) + ", got " +
                                std::to_string(n));
  std::shared_ptr<ThreadPool> old;
  std::lock_guard<std::mutex> lock(*g_mutex);
  if (*g_pool && (*g_pool)->size() == n) {
    g_num_threads.store(n);
    return;
  }
  // Let the old pool go first (joined here unless a running job still holds it; then that
  // job's caller joins it), so the old and the new threads never count together against a limit.
  old = std::move(*g_pool);
  old.reset();
  // Start the new pool now, so that a limit on threads raises from this call and the previous
  // count stays in force; the pool is then rebuilt lazily at that count.
  if (n > 1) *g_pool = std::make_shared<ThreadPool>(n);
  g_num_threads.store(n);
}

void parallel_for(int64_t n_tasks, TaskRef fn, bool wake) {
  if (n_tasks <= 0) return;
  // One thread: no pool to look up (acquire_pool takes the mutex and copies a shared_ptr).
  const bool serial = n_tasks == 1 || get_num_threads() == 1;
  std::shared_ptr<ThreadPool> pool = serial ? nullptr : acquire_pool();
  if (pool && pool->try_run(n_tasks, fn, wake)) return;
  for (int64_t t = 0; t < n_tasks; ++t) fn(t);
  if (pool) pool->note_end();
}

}  // namespace fastmlp::parallel
