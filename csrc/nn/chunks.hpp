// parallel_chunks for the nn kernels, minus its cost on the small arrays of small networks.
#pragma once

#include <cstdint>
#include <utility>

#include "parallel/thread_pool.hpp"

namespace fastmlp::nn {

// Same split and results as parallel::parallel_chunks(n, min_chunk, fn), which runs a single
// chunk whenever n / min_chunk <= 1 whatever the thread count. Such an n runs here directly,
// without parallel_chunks' thread-count lookup and split, which tiny networks' steps (about ten
// such calls each) would feel.
template <class Fn>
void chunks(int64_t n, int64_t min_chunk, Fn&& fn) {
  if (n < 2 * min_chunk) {
    if (n > 0) fn(int64_t(0), n);
    return;
  }
  parallel::parallel_chunks(n, min_chunk, std::forward<Fn>(fn));
}

}  // namespace fastmlp::nn
