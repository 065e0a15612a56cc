// The micro-kernel contract (BLIS's, docs/KernelsHowTo.md):
//
//     C(m_cur x n_cur) := beta * C + alpha * A_panel * B_panel,   m_cur <= MR, n_cur <= NR
//
// A_panel is kc columns of MR packed values, B_panel kc rows of NR packed values. beta == 0
// means C is write-only: it is never read, so NaN or garbage in C cannot leak.
// ukernel_ref is the portable kernel: plain loops over a register tile that g++ -O3 unrolls
// and vectorizes for baseline x86-64 (SSE2). Tuned per-ISA kernels (next issue) keep the
// contract and replace only this function.
#pragma once

#include <cstdint>

namespace fastmlp::gemm {

template <class T, int MR, int NR>
void ukernel_ref(int64_t kc, T alpha, const T* __restrict a, const T* __restrict b, T beta,
                 T* __restrict c, int64_t ldc, int64_t m_cur, int64_t n_cur) {
  // MR*NR accumulators live in registers; each k adds one rank-1 update, in k order, so every
  // C element is the same sequence of roundings wherever its tile sits.
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

}  // namespace fastmlp::gemm
