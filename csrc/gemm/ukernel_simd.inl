// The register-tile micro-kernel shared by the SIMD instruction sets, written once over a
// traits type K (vector type V, lanes W, loads, stores, fmadd, masks). It is NOT a normal
// header: each ISA TU (ukernel_avx2.cpp, ukernel_avx512.cpp) includes it inside its own
// anonymous namespace after defining its traits, so every ISA compiles its own copy with its
// own flags and no inline function is shared across TUs (the ODR trap, ENGINEERING.md §2).
//
// Contract (ukernel.hpp): C[m_cur x n_cur] := alpha * A_panel * B_panel + beta * C, with
// A_panel MR x kc and B_panel kc x NR packed and zero-padded; beta == 0 never reads C.

template <class K, int MR, int NV>
FASTMLP_INLINE void ukernel(int64_t kc, typename K::T alpha, const typename K::T* __restrict a,
                            const typename K::T* __restrict b, typename K::T beta,
                            typename K::T* __restrict c, int64_t ldc, int64_t m_cur,
                            int64_t n_cur) {
  using T = typename K::T;
  using V = typename K::V;
  constexpr int W = K::W, NR = NV * W;
  // Warm C's rows while the k loop runs (the stores at the end would otherwise miss).
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
  }
  V acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = K::zero();

  // C_tile += A_panel(:, p) * B_panel(p, :), one rank-1 update per k, in k order.
#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; ++p) {
    V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = K::load_packed(b + v * W);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const V ai = K::broadcast(a + i);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = K::fmadd(ai, bv[v], acc[i][v]);
    }
    a += MR;
    b += NR;
  }

  // C := alpha * acc (+ beta * C, one fused rounding); beta == 0 never reads C.
  const V va = K::set1(alpha), vb = K::set1(beta);
  const bool read_c = beta != T(0);
  if (m_cur == MR && n_cur == NR) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      T* ci = c + i * ldc;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        V r = K::mul(va, acc[i][v]);
        if (read_c) r = K::fmadd(vb, K::loadu(ci + v * W), r);
        K::storeu(ci + v * W, r);
      }
    }
    return;
  }
  typename K::Mask m[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) m[v] = K::mask(n_cur - v * W);
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    if (i >= m_cur) break;
    T* ci = c + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      V r = K::mul(va, acc[i][v]);
      if (read_c) r = K::fmadd(vb, K::maskload(ci + v * W, m[v]), r);
      K::maskstore(ci + v * W, m[v], r);
    }
  }
}

