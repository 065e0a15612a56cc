// Kernel-level timings with no Python in between: dense_forward (GEMM + bias + relu, fused)
// against the bare GEMM of the same shape, interleaved per repeat, medians. The binding's
// per-call cost (nanobind converts 6 arrays for dense_forward, 3 for matmul: ~0.1 us each)
// is larger than the epilogue at 32^3 and 64^3, so bench/gemm_ratios.py's dense/gemm column,
// which goes through _core, cannot show the epilogue's own cost there; this does.
//
// Built and run by bench/kernel_probe.sh against the kernels library of an existing build.
// Prints a Markdown table: shape, dtype, GEMM us, dense us (medians), and dense/gemm as the
// median of the paired ratios (each pair timed back to back, so a slow phase of this shared
// machine hits both sides of a pair alike).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "gemm/gemm.hpp"
#include "nn/dense.hpp"

using namespace fastmlp;
using Clock = std::chrono::steady_clock;

namespace {

template <class T>
std::vector<T> random_vector(size_t n, std::mt19937& gen) {
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<T> v(n);
  for (T& x : v) x = T(dist(gen));
  return v;
}

// Seconds per call of fn over `calls` back-to-back calls.
template <class Fn>
double per_call(Fn&& fn, int calls) {
  const auto t0 = Clock::now();
  for (int i = 0; i < calls; ++i) fn();
  return std::chrono::duration<double>(Clock::now() - t0).count() / calls;
}

template <class T>
void probe(int64_t m, int64_t k, int64_t n, int repeats, const char* dtype) {
  std::mt19937 gen(0);
  auto x = random_vector<T>(m * k, gen), w = random_vector<T>(k * n, gen);
  auto b = random_vector<T>(n, gen);
  std::vector<T> z(m * n), a(m * n);
  const nn::Matrix<const T> xm{x.data(), m, k, k, 1}, wm{w.data(), k, n, n, 1};
  auto gemm = [&] {
    gemm::gemm<T>(false, false, m, n, k, T(1), x.data(), k, 1, w.data(), n, 1, T(0), z.data(), n);
  };
  auto dense = [&] { nn::dense_forward<T>(xm, wm, b.data(), nn::Activation::relu, z.data(), a.data()); };
  const double flops = 2.0 * m * n * k;
  const int calls = std::max(1, int(1e8 / flops));  // ~0.5 ms a batch at ~200 GFLOP/s
  for (int i = 0; i < 3; ++i) per_call(gemm, calls), per_call(dense, calls);  // warm-up
  std::vector<double> tg, td, ratio;
  for (int r = 0; r < repeats; ++r) {
    const bool gemm_first = r % 2 == 0;  // alternate which side of the pair runs first
    const double t1 = gemm_first ? per_call(gemm, calls) : per_call(dense, calls);
    const double t2 = gemm_first ? per_call(dense, calls) : per_call(gemm, calls);
    tg.push_back(gemm_first ? t1 : t2);
    td.push_back(gemm_first ? t2 : t1);
    ratio.push_back(td.back() / tg.back());
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf("| %lldx%lldx%lld | %s | %.3f | %.3f | %.3f |\n", (long long)m, (long long)k,
              (long long)n, dtype, median(tg) * 1e6, median(td) * 1e6, median(ratio));
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 101;
  const int64_t shapes[][3] = {{32, 32, 32},   {64, 64, 64},    {128, 128, 128}, {256, 256, 256},
                               {32, 128, 128}, {64, 784, 256},  {128, 256, 256}, {256, 784, 512}};
  std::printf("| shape (M x K x N) | dtype | gemm us | dense_forward us | dense/gemm (paired) |\n");
  std::printf("|---|---|---:|---:|---:|\n");
  for (const auto& s : shapes) {
    probe<float>(s[0], s[1], s[2], repeats, "float32");
    probe<double>(s[0], s[1], s[2], repeats, "float64");
  }
}
