// Small dense layers as straight loops (small_dense.hpp), in two builds of the same template:
// products added with two roundings (baseline code, like the generic micro-kernel) or with one
// (an FMA, in fastmlp::avx2 functions compiled for avx2+fma by a target attribute, like the
// avx2 and avx512 micro-kernels; on AArch64, where fmadd is baseline, in plain code like the
// neon micro-kernel). The loops are in an anonymous namespace and always inlined
// into those functions, so no out-of-line copy built for one instruction set is shared with
// the other (the ODR rule, docs/isa.md); the FMA build runs only under an isa table entry whose
// multiply-adds are fused (avx2, avx512: both require avx2 and fma).
#include "nn/small_dense.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <type_traits>

#include "isa/isa.hpp"

namespace fastmlp::nn {
namespace {

#define FASTMLP_SMALL_INLINE inline __attribute__((always_inline))

// acc + a * b: one rounding (kFused) or two, the micro-kernels' fmadd or `acc += a * b`.
template <class T, bool kFused>
FASTMLP_SMALL_INLINE T madd(T a, T b, T acc) {
  if constexpr (!kFused) return acc + a * b;
  if constexpr (std::is_same_v<T, float>) return __builtin_fmaf(a, b, acc);
  return __builtin_fma(a, b, acc);
}

// C (m, n) = A @ B (+ bias[j], a separate rounding, when bias is not null), with
// A(i, p) = a[i * ars + p * acs] and B(p, j) = b[p * brs + j * bcs]: every C element is its
// k-sum in k order from +0 (as the micro-kernel's accumulators, which makes a -0 product sum
// to +0); alpha = 1 leaves the sum as it is (1 * s == s, bitwise). Each element's sum is
// independent of the others, so how they are grouped changes no bit: blocks of one 32-byte
// vector over j (B's rows contiguous) or over i (A's columns contiguous), and what is left
// kR rows at a time, so that kR sums (latency-bound chains of dependent adds) run together.
template <class T, bool kFused>
FASTMLP_SMALL_INLINE void small_gemm(int64_t m, int64_t n, int64_t k, const T* __restrict a,
                                     int64_t ars, int64_t acs, const T* __restrict b, int64_t brs,
                                     int64_t bcs, const T* __restrict bias, T* __restrict c) {
  constexpr int64_t W = 32 / sizeof(T), kR = 4;
  auto finish = [&](T sum, int64_t j) { return bias ? sum + bias[j] : sum; };
  int64_t i0 = 0, j0 = 0;  // what the blocks leave: rows [i0, m) by columns [j0, n)
  if (bcs == 1 && n >= W) {  // blocks of W columns (forward and grad_w of wide layers)
    j0 = n - n % W;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < j0; j += W) {
        T acc[W] = {};
        for (int64_t p = 0; p < k; ++p) {
          const T av = a[i * ars + p * acs];
          const T* bp = b + p * brs + j;
          for (int64_t v = 0; v < W; ++v) acc[v] = madd<T, kFused>(av, bp[v], acc[v]);
        }
        for (int64_t v = 0; v < W; ++v) c[i * n + j + v] = finish(acc[v], j + v);
      }
  } else if (ars == 1 && m >= W) {  // blocks of W rows (grad_w of a narrow layer: A = x^T)
    i0 = m - m % W;
    for (int64_t i = 0; i < i0; i += W)
      for (int64_t j = 0; j < n; ++j) {
        T acc[W] = {};
        for (int64_t p = 0; p < k; ++p) {
          const T bv = b[p * brs + j * bcs];
          const T* ap = a + i + p * acs;
          for (int64_t v = 0; v < W; ++v) acc[v] = madd<T, kFused>(ap[v], bv, acc[v]);
        }
        for (int64_t v = 0; v < W; ++v) c[(i + v) * n + j] = finish(acc[v], j);
      }
  }
  if (j0 == n) return;
  int64_t i = i0;
  for (; i + kR <= m; i += kR)
    for (int64_t j = j0; j < n; ++j) {
      T acc[kR] = {};
      for (int64_t p = 0; p < k; ++p) {
        const T bv = b[p * brs + j * bcs];
        for (int64_t r = 0; r < kR; ++r) acc[r] = madd<T, kFused>(a[(i + r) * ars + p * acs], bv, acc[r]);
      }
      for (int64_t r = 0; r < kR; ++r) c[(i + r) * n + j] = finish(acc[r], j);
    }
  for (; i < m; ++i)
    for (int64_t j = j0; j < n; ++j) {
      T acc = T(0);
      for (int64_t p = 0; p < k; ++p)
        acc = madd<T, kFused>(a[i * ars + p * acs], b[p * brs + j * bcs], acc);
      c[i * n + j] = finish(acc, j);
    }
}

// z = x @ w + b
template <class T, bool kFused>
FASTMLP_SMALL_INLINE void forward_loops(Matrix<const T> x, const T* w, const T* b, int64_t n_out,
                                        T* z) {
  small_gemm<T, kFused>(x.rows, n_out, x.cols, x.data, x.rs, x.cs, w, n_out, 1, b, z);
}

// grad_w = x^T @ grad_z (k = batch) and, when wanted, grad_x = grad_z @ w^T (k = n_out).
template <class T, bool kFused>
FASTMLP_SMALL_INLINE void backward_loops(Matrix<const T> x, const T* w, int64_t n_out,
                                         const T* grad_z, T* grad_x, T* grad_w) {
  const int64_t batch = x.rows, n_in = x.cols;
  small_gemm<T, kFused>(n_in, n_out, batch, x.data, x.cs, x.rs, grad_z, n_out, 1, nullptr, grad_w);
  if (!grad_x) return;
  if (n_out == 1) {  // w^T is w itself, rows contiguous
    small_gemm<T, kFused>(batch, n_in, 1, grad_z, 1, 1, w, n_in, 1, nullptr, grad_x);
    return;
  }
  // w^T copied once (at most 32 x 32), so that its rows are contiguous and the sums run
  // whole vectors of columns instead of one element at a time
  T w_t[kSmallMaxWidth * kSmallMaxWidth];
  for (int64_t j = 0; j < n_in; ++j)
    for (int64_t p = 0; p < n_out; ++p) w_t[p * n_in + j] = w[j * n_out + p];
  small_gemm<T, kFused>(batch, n_in, n_out, grad_z, n_out, 1, w_t, n_in, 1, nullptr, grad_x);
}

// out[j] = sum over rows of g[i][j], row after row from 0 (dense_backward's grad_b order);
// restrict lets the compiler keep the sums in vector registers.
template <class T>
void column_sums(const T* __restrict g, int64_t rows, int64_t n, T* __restrict out) {
  for (int64_t j = 0; j < n; ++j) out[j] = T(0);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < n; ++j) out[j] = out[j] + g[i * n + j];
}

template <class T>
void forward_separate(Matrix<const T> x, const T* w, const T* b, int64_t n_out, T* z) {
  forward_loops<T, false>(x, w, b, n_out, z);
}
template <class T>
void backward_separate(Matrix<const T> x, const T* w, int64_t n_out, const T* grad_z, T* grad_x,
                       T* grad_w) {
  backward_loops<T, false>(x, w, n_out, grad_z, grad_x, grad_w);
}


}  // namespace
}  // namespace fastmlp::nn

#if defined(FASTMLP_X86_ISAS)
// The FMA builds, in fastmlp::avx2: the namespace whose code may hold AVX instructions
// (tests/test_build.py). Called only under an isa table entry with fused_madd, all of which
// require avx2 and fma.
namespace fastmlp::avx2 {
template <class T>
__attribute__((target("avx2,fma"))) void small_forward_fma(nn::Matrix<const T> x, const T* w,
                                                            const T* b, int64_t n_out, T* z) {
  nn::forward_loops<T, true>(x, w, b, n_out, z);
}
template <class T>
__attribute__((target("avx2,fma"))) void small_backward_fma(nn::Matrix<const T> x, const T* w,
                                                             int64_t n_out, const T* grad_z,
                                                             T* grad_x, T* grad_w) {
  nn::backward_loops<T, true>(x, w, n_out, grad_z, grad_x, grad_w);
}
}  // namespace fastmlp::avx2
#endif

namespace fastmlp::nn {

bool small_dense_enabled() {
  const char* flag = std::getenv("FASTMLP_SMALL_PATH");
  return !(flag && std::strcmp(flag, "0") == 0);
}

template <class T>
Madd small_dense_madd() {
#if defined(FASTMLP_X86_ISAS) || defined(__aarch64__)
  return isa::active().isa->fused_madd ? Madd::fused : Madd::separate;
#else
  return Madd::separate;
#endif
}

// The loops' stack arrays hold kSmallMaxWidth (squared) values: a layer past that would
// overrun them, so it is refused here and not only by the caller's small_dense_fits.
static void check_fits(int64_t batch, int64_t n_in, int64_t n_out) {
  if (!small_dense_fits(batch, n_in, n_out))
    throw std::invalid_argument("small_dense: layer too large for the small path");
}

template <class T>
void small_dense_forward(Madd madd, Matrix<const T> x, const T* w, const T* b, int64_t n_out,
                         Activation act, T* z, T* a) {
  check_fits(x.rows, x.cols, n_out);
#if defined(FASTMLP_X86_ISAS)
  if (madd == Madd::fused)
    ::fastmlp::avx2::small_forward_fma<T>(x, w, b, n_out, z);
  else
#elif defined(__aarch64__)
  if (madd == Madd::fused)
    forward_loops<T, true>(x, w, b, n_out, z);  // fmadd is AArch64 baseline: no target needed
  else
#endif
    forward_separate<T>(x, w, b, n_out, z);
  // The micro-kernel's register relu / leaky_relu round like these scalar ones (ukernel_*.cpp).
  if (act != Activation::identity)
    activation_forward(act, z, a, x.rows, n_out);
  else if (a != z)
    std::copy(z, z + x.rows * n_out, a);
}

template <class T>
void small_dense_backward(Madd madd, Matrix<const T> x, const T* w, int64_t n_out, const T* z,
                          const T* a, const T* grad_a, Activation act, T* grad_z, T* grad_x,
                          T* grad_w, T* grad_b) {
  const int64_t batch = x.rows;
  check_fits(batch, x.cols, n_out);
  // As dense_backward: grad_z = act'(z) grad_a, then grad_b as column sums row after row.
  activation_backward(act, z, a, grad_a, grad_z, batch, n_out);
  column_sums(grad_z, batch, n_out, grad_b);
#if defined(FASTMLP_X86_ISAS)
  if (madd == Madd::fused)
    ::fastmlp::avx2::small_backward_fma<T>(x, w, n_out, grad_z, grad_x, grad_w);
  else
#elif defined(__aarch64__)
  if (madd == Madd::fused)
    backward_loops<T, true>(x, w, n_out, grad_z, grad_x, grad_w);
  else
#endif
    backward_separate<T>(x, w, n_out, grad_z, grad_x, grad_w);
}

template Madd small_dense_madd<float>();
template Madd small_dense_madd<double>();
template void small_dense_forward<float>(Madd, Matrix<const float>, const float*, const float*,
                                         int64_t, Activation, float*, float*);
template void small_dense_forward<double>(Madd, Matrix<const double>, const double*,
                                          const double*, int64_t, Activation, double*, double*);
template void small_dense_backward<float>(Madd, Matrix<const float>, const float*, int64_t,
                                          const float*, const float*, const float*, Activation,
                                          float*, float*, float*, float*);
template void small_dense_backward<double>(Madd, Matrix<const double>, const double*, int64_t,
                                           const double*, const double*, const double*,
                                           Activation, double*, double*, double*, double*);

}  // namespace fastmlp::nn
