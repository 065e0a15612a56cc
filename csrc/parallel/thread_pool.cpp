// Thread pool behind parallel_for: N-1 persistent workers plus the calling thread.
//
// Design (reference/ENGINEERING.md §3): created lazily; workers block every signal so Ctrl-C
// reaches Python's main thread; a pthread_atfork child handler forgets the pool (its threads do
// not exist in the child) so the child builds a fresh one; worker exceptions travel back to the
// caller as exception_ptr; one job at a time (a busy flag); a second caller runs serially.
#include "parallel/thread_pool.hpp"

#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
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

namespace fastmlp::parallel {
namespace {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads) {
    // Threads inherit the creator's signal mask: block everything while spawning, restore after.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }

  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
    }
    cv_work_.notify_all();
    for (auto& t : workers_) t.join();
  }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // False (and nothing run) when another caller's job holds the pool.
  bool try_run(int64_t n_tasks, const std::function<void(int64_t)>& fn) {
    // An atomic flag, not a mutex: a task that calls parallel_for again runs on a thread that
    // may already own the job, and try_lock on an owned std::mutex is undefined.
    if (busy_.exchange(true, std::memory_order_acquire)) return false;
    struct Release {
      std::atomic<bool>& flag;
      ~Release() { flag.store(false, std::memory_order_release); }
    } release{busy_};
    {
      std::lock_guard<std::mutex> lock(m_);
      fn_ = &fn;
      n_tasks_ = n_tasks;
      next_.store(0);
      error_ = nullptr;
      active_ = static_cast<int>(workers_.size());
      ++generation_;
    }
    cv_work_.notify_all();
    run_tasks();  // the caller works too
    std::unique_lock<std::mutex> lock(m_);
    cv_done_.wait(lock, [this] { return active_ == 0; });
    fn_ = nullptr;
    if (error_) std::rethrow_exception(error_);
    return true;
  }

 private:
  void run_tasks() {
    for (int64_t t; (t = next_.fetch_add(1)) < n_tasks_;) {
      try {
        (*fn_)(t);
      } catch (...) {
        std::lock_guard<std::mutex> lock(m_);
        if (!error_) error_ = std::current_exception();
        next_.store(n_tasks_);  // skip the remaining tasks; the job has failed
      }
    }
  }

  void worker_loop() {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(m_);
        cv_work_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      run_tasks();
      std::lock_guard<std::mutex> lock(m_);
      if (--active_ == 0) cv_done_.notify_one();
    }
  }

  std::atomic<bool> busy_{false};  // set by the caller for a whole job
  std::mutex m_;          // guards the fields below
  std::condition_variable cv_work_, cv_done_;
  const std::function<void(int64_t)>* fn_ = nullptr;
  int64_t n_tasks_ = 0;
  std::atomic<int64_t> next_{0};
  int active_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> workers_;
};

// Heap-allocated and never destroyed: joining at interpreter exit could hang on a daemon
// thread's job, and the OS reclaims the threads anyway.
std::mutex* g_mutex = new std::mutex;
std::shared_ptr<ThreadPool>* g_pool = new std::shared_ptr<ThreadPool>;
int g_num_threads = 0;  // 0: not decided yet
std::once_flag g_atfork_once;

int env_threads(const char* name) {
  const char* s = std::getenv(name);
  if (!s || !*s) return 0;
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  // OMP_NUM_THREADS may be a list ("4,2"); its first entry is the outer level.
  if (end == s || v < 1 || (*end && *end != ',')) return 0;
  return static_cast<int>(std::min<long>(v, 1024));
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
  if (g_num_threads == 0) g_num_threads = default_threads();
  if (g_num_threads > 1 && (!*g_pool || (*g_pool)->size() != g_num_threads))
    *g_pool = std::make_shared<ThreadPool>(g_num_threads);
  return g_num_threads > 1 ? *g_pool : nullptr;
}

}  // namespace

int get_num_threads() {
  std::lock_guard<std::mutex> lock(*g_mutex);
  if (g_num_threads == 0) g_num_threads = default_threads();
  return g_num_threads;
}

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("num_threads must be >= 1, got " + std::to_string(n));
  std::shared_ptr<ThreadPool> old;
  {
    std::lock_guard<std::mutex> lock(*g_mutex);
    g_num_threads = n;
    if (*g_pool && (*g_pool)->size() != n) old = std::move(*g_pool);
  }
  // `old` joins here unless a running job still holds it; then that job's caller joins it.
}

void parallel_for(int64_t n_tasks, const std::function<void(int64_t)>& fn) {
  if (n_tasks <= 0) return;
  std::shared_ptr<ThreadPool> pool = n_tasks > 1 ? acquire_pool() : nullptr;
  if (pool && pool->try_run(n_tasks, fn)) return;
  for (int64_t t = 0; t < n_tasks; ++t) fn(t);
}

}  // namespace fastmlp::parallel
