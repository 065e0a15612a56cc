// The micro-kernel contract (BLIS's, docs/KernelsHowTo.md):
//
//     C(m_cur x n_cur) := beta * C + alpha * A_panel * B_panel,   m_cur <= MR, n_cur <= NR
//
// A_panel is kc columns of MR packed values, B_panel kc rows of NR packed values (pack.hpp:
// zero-padded, 64-byte aligned). C is row-major with leading dimension ldc. beta == 0 means C
// is write-only: it is never read, so NaN or garbage in C cannot leak. Each C element is the
// same sequence of roundings whether its tile is full or an edge tile, so the thread split
// (which moves tile boundaries) never changes a bit.
//
// One implementation per instruction set, each in its own TU and namespace, named BLIS-style
// <ISA>::<s|d>gemm_<MR>x<NR>. The TUs are compiled with their ISA's flags (CMakeLists.txt), so
// only declarations live here: nothing inline that an ISA TU could compile with wider
// instructions than the baseline code calling it (reference/ENGINEERING.md §2).
#pragma once

#include <cstdint>

namespace fastmlp::gemm {

template <class T>
using Ukernel = void (*)(int64_t kc, T alpha, const T* a, const T* b, T beta, T* c, int64_t ldc,
                         int64_t m_cur, int64_t n_cur);

}  // namespace fastmlp::gemm

// ukernel_generic.cpp: portable loops that g++ vectorizes for baseline x86-64 (SSE2).
namespace fastmlp::generic {
void sgemm_6x8(int64_t kc, float alpha, const float* a, const float* b, float beta, float* c,
               int64_t ldc, int64_t m_cur, int64_t n_cur);
void dgemm_6x4(int64_t kc, double alpha, const double* a, const double* b, double beta,
               double* c, int64_t ldc, int64_t m_cur, int64_t n_cur);
}  // namespace fastmlp::generic

#if defined(FASTMLP_X86_ISAS)
// ukernel_avx2.cpp: -mavx2 -mfma intrinsics.
namespace fastmlp::avx2 {
void sgemm_6x16(int64_t kc, float alpha, const float* a, const float* b, float beta, float* c,
                int64_t ldc, int64_t m_cur, int64_t n_cur);
void dgemm_6x8(int64_t kc, double alpha, const double* a, const double* b, double beta,
               double* c, int64_t ldc, int64_t m_cur, int64_t n_cur);
}  // namespace fastmlp::avx2

// ukernel_avx512.cpp: -mavx512f -mavx512vl -mavx512bw -mavx512dq intrinsics.
namespace fastmlp::avx512 {
void sgemm_8x32(int64_t kc, float alpha, const float* a, const float* b, float beta, float* c,
                int64_t ldc, int64_t m_cur, int64_t n_cur);
void dgemm_8x16(int64_t kc, double alpha, const double* a, const double* b, double beta,
                double* c, int64_t ldc, int64_t m_cur, int64_t n_cur);
}  // namespace fastmlp::avx512
#endif
