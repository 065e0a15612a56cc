// The micro-kernel contract (BLIS's, docs/KernelsHowTo.md, plus an A read through strides and
// an optional epilogue):
//
//     C(m_cur x n_cur) := beta * C + alpha * A_panel * B_panel,   m_cur <= MR, n_cur <= NR
//
// A_panel(i, p) = a[i * a_rs + p * a_cs] for i < m_cur, p < kc. The packed layout (pack.hpp: kc
// columns of MR contiguous values, zero-padded, 64-byte aligned) is a_rs = 1, a_cs = MR; any
// other strides read the caller's matrix directly (gemm.cpp skips packing A for small GEMMs)
// and never touch rows >= m_cur. B_panel is kc rows of NR values: packed (b_rs == 0: rows NR
// apart, zero-padded, 64-byte aligned), or B itself read in place (b_rs != 0: row p at
// b + p * b_rs, columns contiguous; gemm.cpp skips packing a small row-major B), of which
// columns >= n_cur are never read.
// C is row-major with leading dimension ldc. beta == 0 means C is write-only: it is never
// read, so NaN or garbage in C cannot leak. Each C element is the same sequence of roundings
// whether its tile is full or an edge tile and whether A was packed or not, so the thread
// split (which moves tile boundaries) never changes a bit.
//
// Epilogue (ep != nullptr, passed with the last KC block only): after C is computed, while the
// tile is still in registers, z = C + bias[j] (a separate rounding, like NumPy's (x @ w) + b)
// is stored to C and act(z) to `out` (leading dimension ldc), except for relu, whose act(z)
// goes to C and z to `out`: with out == nullptr a relu layer then keeps only act(z), all its
// derivative needs (z's sign, which act(z) keeps; the training workspace). out must not overlap C: the
// kernels take c as __restrict, so their stores to C and out may be reordered (dense_forward
// passes no out for an in-place identity).
//
// One implementation per instruction set, each in its own TU and namespace, named BLIS-style
// <ISA>::<s|d>gemm_<MR>x<NR>. The TUs are compiled with their ISA's flags (CMakeLists.txt), so
// only declarations and plain data live here: nothing inline that an ISA TU could compile with
// wider instructions than the baseline code calling it (the ODR rule, docs/isa.md).
#pragma once

#include <cstdint>

namespace fastmlp::gemm {

// The activations a micro-kernel applies in registers (the rest: Epilogue::tile_fn).
enum class RegAct : int { identity, relu, leaky_relu };

// Plain data without member initializers (so no constructor is compiled into an ISA TU):
// build it as `Epilogue<T> ep{};` (all zero: no bias, no out, identity) and set fields.
template <class T>
struct Epilogue {
  const T* bias;  // (n,) added to every row; nullptr: none
  T* out;         // act(z) (relu: z), same shape and ldc as C; nullptr: none
  RegAct act;
  T slope;        // leaky_relu's negative slope
  // Any other activation: called by gemm.cpp on each tile right after the micro-kernel wrote
  // it (still in L1), as tile_fn(ctx, z, out, ldc, rows, cols); act must then be identity.
  void (*tile_fn)(void* ctx, const T* z, T* out, int64_t ld, int64_t rows, int64_t cols);
  void* ctx;
};

template <class T>
using Ukernel = void (*)(int64_t kc, T alpha, const T* a, int64_t a_rs, int64_t a_cs,
                         const T* b, int64_t b_rs, T beta, T* c, int64_t ldc, int64_t m_cur, int64_t n_cur,
                         const Epilogue<T>* ep);

}  // namespace fastmlp::gemm

#define FASTMLP_UKERNEL_DECL(name, T)                                                      \
  void name(int64_t kc, T alpha, const T* a, int64_t a_rs, int64_t a_cs, const T* b,       \
            int64_t b_rs, T beta, T* c, int64_t ldc, int64_t m_cur, int64_t n_cur,            \
            const gemm::Epilogue<T>* ep)

// The FMA peak probe of each ISA TU (isa/peak.cpp times it): `iters` rounds of 12 independent
// multiply-add chains on whole vectors of float (f64 false) or double; returns the
// floating-point operations done. The chains' sum goes to the 64 bytes at `out`, so the work is
// not optimised away.
#define FASTMLP_FMA_CHAINS_DECL(name) int64_t name(bool f64, int64_t iters, void* out)

// ukernel_generic.cpp: portable loops that g++ vectorizes for baseline x86-64 (SSE2).
namespace fastmlp::generic {
FASTMLP_UKERNEL_DECL(sgemm_6x8, float);
FASTMLP_UKERNEL_DECL(dgemm_6x4, double);
FASTMLP_FMA_CHAINS_DECL(fma_chains);  // multiply then add (no FMA in baseline x86-64)
}  // namespace fastmlp::generic

#if defined(FASTMLP_X86_ISAS)
// ukernel_avx2.cpp: -mavx2 -mfma intrinsics.
namespace fastmlp::avx2 {
FASTMLP_UKERNEL_DECL(sgemm_6x16, float);
FASTMLP_UKERNEL_DECL(dgemm_6x8, double);
FASTMLP_UKERNEL_DECL(dgemm_4x12, double);  // products of 9 to 12 columns (isa.hpp d_n12)
FASTMLP_FMA_CHAINS_DECL(fma_chains);
}  // namespace fastmlp::avx2

// ukernel_avx512.cpp: -mavx512f -mavx512vl -mavx512bw -mavx512dq intrinsics.
namespace fastmlp::avx512 {
FASTMLP_UKERNEL_DECL(sgemm_8x32, float);
FASTMLP_UKERNEL_DECL(dgemm_8x16, double);
FASTMLP_FMA_CHAINS_DECL(fma_chains);
}  // namespace fastmlp::avx512
#endif

#if defined(FASTMLP_NEON_ISA)
// ukernel_neon.cpp: AArch64 NEON intrinsics (baseline on AArch64, no extra flags).
namespace fastmlp::neon {
FASTMLP_UKERNEL_DECL(sgemm_8x8, float);
FASTMLP_UKERNEL_DECL(dgemm_8x4, double);
FASTMLP_FMA_CHAINS_DECL(fma_chains);
}  // namespace fastmlp::neon
#endif
