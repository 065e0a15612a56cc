// The portable micro-kernel (baseline x86-64 flags, or any other CPU): plain loops over a
// register tile that g++ -O3 unrolls and vectorizes (SSE2 on x86-64). The fallback of the
// dispatch table and the reference the intrinsic kernels are read against; they keep this
// contract (ukernel.hpp) and do the same maths with explicit vectors.
#include <cstdint>

#include "gemm/blocking.hpp"
#include "gemm/ukernel.hpp"

namespace fastmlp::generic {
namespace {

// One element of the epilogue: z = r + bias; returns what C keeps (z, or act(z) for relu) and
// writes the other to *out (ukernel.hpp); the same roundings and NaN handling as the intrinsic
// kernels and the scalar activations.
template <class T>
inline T epilogue(T r, const gemm::Epilogue<T>& ep, int64_t j, T* out) {
  const T z = ep.bias ? r + ep.bias[j] : r;
  switch (ep.act) {
    case gemm::RegAct::relu:
      if (out) *out = z;
      return z < T(0) ? T(0) : z;
    case gemm::RegAct::leaky_relu:
      if (out) *out = z > T(0) ? z : z * ep.slope;
      return z;
    default:
      if (out) *out = z;
      return z;
  }
}

template <class T, int MR, int NR>
void ukernel_ref(int64_t kc, T alpha, const T* __restrict a, int64_t a_rs, int64_t a_cs,
                 const T* __restrict b, int64_t b_rs, T beta, T* __restrict c, int64_t ldc, int64_t m_cur,
                 int64_t n_cur, const gemm::Epilogue<T>* ep) {
  // MR*NR accumulators live in registers; each k adds one rank-1 update, in k order, so every
  // C element is the same sequence of roundings wherever its tile sits. (In the intrinsic
  // kernels these loops over MR and NR are unrolled by hand into FMAs on whole vectors.)
  // Rows >= m_cur of a strided A read the last real row (computed, never stored).
  T acc[MR][NR] = {};
  if (b_rs != 0) {  // B in place: each row copied to a zero-padded panel row, then as packed
    T b_row[NR];
    const T* row[MR];
    for (int i = 0; i < MR; ++i) row[i] = a + (i < m_cur ? i : m_cur - 1) * a_rs;
    const bool packed_a = a_rs == 1 && a_cs == MR;
    for (int64_t p = 0; p < kc; ++p) {
      for (int j = 0; j < NR; ++j) b_row[j] = j < n_cur ? b[p * b_rs + j] : T(0);
      for (int i = 0; i < MR; ++i) {
        const T ai = packed_a ? a[p * MR + i] : row[i][p * a_cs];
        for (int j = 0; j < NR; ++j) acc[i][j] += ai * b_row[j];
      }
    }
  } else if (a_rs == 1 && a_cs == MR) {  // packed: fixed offsets the compiler can vectorize
    for (int64_t p = 0; p < kc; ++p) {
      for (int i = 0; i < MR; ++i)
        for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
      a += MR;
      b += NR;
    }
  } else {
    const T* row[MR];
    for (int i = 0; i < MR; ++i) row[i] = a + (i < m_cur ? i : m_cur - 1) * a_rs;
    for (int64_t p = 0; p < kc; ++p) {
      for (int i = 0; i < MR; ++i)
        for (int j = 0; j < NR; ++j) acc[i][j] += row[i][p * a_cs] * b[j];
      b += NR;
    }
  }
  if (m_cur == MR && n_cur == NR && !ep) {
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
    for (int64_t j = 0; j < n_cur; ++j) {
      T r = beta == T(0) ? alpha * acc[i][j] : alpha * acc[i][j] + beta * ci[j];
      if (ep) r = epilogue(r, *ep, j, ep->out ? ep->out + i * ldc + j : nullptr);
      ci[j] = r;
    }
  }
}

}  // namespace

static_assert(gemm::kGenericF32.mr == 6 && gemm::kGenericF32.nr == 8, "blocking.hpp row");
static_assert(gemm::kGenericF64.mr == 6 && gemm::kGenericF64.nr == 4, "blocking.hpp row");

FASTMLP_UKERNEL_DECL(sgemm_6x8, float) {
  ukernel_ref<float, 6, 8>(kc, alpha, a, a_rs, a_cs, b, b_rs, beta, c, ldc, m_cur, n_cur, ep);
}

FASTMLP_UKERNEL_DECL(dgemm_6x4, double) {
  ukernel_ref<double, 6, 4>(kc, alpha, a, a_rs, a_cs, b, b_rs, beta, c, ldc, m_cur, n_cur, ep);
}

namespace {
// 12 chains of acc = acc * a + b on 16-byte vectors (SSE2 on x86-64): a multiply and an add
// per lane, the generic kernel's two roundings.
template <class T>
int64_t mul_add_chains(int64_t iters, void* out) {
  typedef T V __attribute__((vector_size(16)));
  constexpr int W = 16 / sizeof(T);
  const V a = V{} + T(1.0000001), b = V{} + T(0.9999999);
  V c[12];
  for (int j = 0; j < 12; ++j) c[j] = V{} + T(j);
  for (int64_t i = 0; i < iters; ++i) {
    for (int j = 0; j < 12; ++j) c[j] = c[j] * a + b;
    asm volatile("" : "+x"(c[0]), "+x"(c[1]), "+x"(c[2]), "+x"(c[3]), "+x"(c[4]), "+x"(c[5]),
                 "+x"(c[6]), "+x"(c[7]), "+x"(c[8]), "+x"(c[9]), "+x"(c[10]), "+x"(c[11]));
  }
  V s = c[0];
  for (int j = 1; j < 12; ++j) s += c[j];
  __builtin_memcpy(out, &s, sizeof(V));
  return iters * 12 * W * 2;
}
}  // namespace

FASTMLP_FMA_CHAINS_DECL(fma_chains) {
  return f64 ? mul_add_chains<double>(iters, out) : mul_add_chains<float>(iters, out);
}

}  // namespace fastmlp::generic
