// The portable micro-kernel (baseline x86-64 flags, or any other CPU): plain loops over a
// register tile that g++ -O3 unrolls and vectorizes (SSE2 on x86-64). The fallback of the
// dispatch table and the reference the intrinsic kernels are read against; they keep this
// contract (ukernel.hpp) and do the same maths with explicit vectors.
#include <cstdint>

#include "gemm/blocking.hpp"
#include "gemm/ukernel.hpp"

namespace fastmlp::generic {
namespace {

template <class T, int MR, int NR>
void ukernel_ref(int64_t kc, T alpha, const T* __restrict a, const T* __restrict b, T beta,
                 T* __restrict c, int64_t ldc, int64_t m_cur, int64_t n_cur) {
  // MR*NR accumulators live in registers; each k adds one rank-1 update, in k order, so every
  // C element is the same sequence of roundings wherever its tile sits. (In the intrinsic
  // kernels these loops over MR and NR are unrolled by hand into FMAs on whole vectors.)
  T acc[MR][NR] = {};
  for (int64_t p = 0; p < kc; ++p) {
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
    a += MR;
    b += NR;
  }
  if (m_cur == MR && n_cur == NR) {
    // Full tile: fixed trip counts, so the stores vectorize too.
    for (int i = 0; i < MR; ++i) {
      T* ci = c + i * ldc;
      if (beta == T(0))
        for (int j = 0; j < NR; ++j) ci[j] = alpha * acc[i][j];
      else
        for (int j = 0; j < NR; ++j) ci[j] = alpha * acc[i][j] + beta * ci[j];
    }
    return;
  }
  for (int64_t i = 0; i < m_cur; ++i) {
    T* ci = c + i * ldc;
    for (int64_t j = 0; j < n_cur; ++j)
      ci[j] = beta == T(0) ? alpha * acc[i][j] : alpha * acc[i][j] + beta * ci[j];
  }
}

}  // namespace

static_assert(gemm::kGenericF32.mr == 6 && gemm::kGenericF32.nr == 8, "blocking.hpp row");
static_assert(gemm::kGenericF64.mr == 6 && gemm::kGenericF64.nr == 4, "blocking.hpp row");

void sgemm_6x8(int64_t kc, float alpha, const float* a, const float* b, float beta, float* c,
               int64_t ldc, int64_t m_cur, int64_t n_cur) {
  ukernel_ref<float, 6, 8>(kc, alpha, a, b, beta, c, ldc, m_cur, n_cur);
}

void dgemm_6x4(int64_t kc, double alpha, const double* a, const double* b, double beta,
               double* c, int64_t ldc, int64_t m_cur, int64_t n_cur) {
  ukernel_ref<double, 6, 4>(kc, alpha, a, b, beta, c, ldc, m_cur, n_cur);
}

}  // namespace fastmlp::generic
