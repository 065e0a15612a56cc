// Times the ISA TUs' fma_chains (gemm/ukernel.hpp) in thread CPU time from baseline code: std::chrono must not be
// instantiated inside an ISA TU (the ODR rule, docs/isa.md).
#include "isa/peak.hpp"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "isa/isa.hpp"

namespace fastmlp::isa {
namespace {

// Seconds of CPU time of the calling thread where the OS has such a clock: on a shared machine
// another process taking the core away then does not count as slow arithmetic.
double thread_seconds() {
#if defined(CLOCK_THREAD_CPUTIME_ID)
  timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0) return ts.tv_sec + 1e-9 * ts.tv_nsec;
#endif
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

double fma_peak_gflops(const std::string& name, bool f64, double seconds, int runs) {
  if (!(seconds > 0 && seconds <= 10)) throw std::invalid_argument("seconds must be in (0, 10]");
  if (runs < 1 || runs > 100) throw std::invalid_argument("runs must be in [1, 100]");
  const Isa* entry = active().isa;
  if (!name.empty()) {
    int count = 0;
    const Isa* all = all_isas(&count);
    const auto names = available_isas();
    entry = nullptr;
    for (int i = 0; i < count; ++i)
      if (name == all[i].name) entry = &all[i];
    if (!entry) throw std::invalid_argument("fma_peak: no instruction set named '" + name + "'");
    if (std::find(names.begin(), names.end(), name) == names.end())
      throw std::runtime_error("fma_peak: this CPU cannot run '" + name + "'");
  }
  double best = 0, sink = 0;
  unsigned char out[64];  // the chains' sum, read back so that they are not dead code
  // Calibrate the round count on a short run (which also wakes the vector units up).
  int64_t iters = 1 << 16;
  for (;;) {
    const double t0 = thread_seconds();
    entry->fma_chains(f64, iters, out);
    const double s = thread_seconds() - t0;
    if (s > seconds / 8 || iters > (int64_t(1) << 40)) {
      iters = static_cast<int64_t>(iters * (seconds / std::max(s, 1e-9)));
      break;
    }
    iters *= 4;
  }
  iters = std::max<int64_t>(iters, 1);
  for (int r = 0; r < runs; ++r) {
    const double t0 = thread_seconds();
    const int64_t flops = entry->fma_chains(f64, iters, out);
    sink += out[0];
    const double s = thread_seconds() - t0;
    best = std::max(best, double(flops) / s / 1e9);
  }
  return sink == 12345.678 ? best + 1e-300 : best;  // reads sink: the chains are not dead code
}

}  // namespace fastmlp::isa
