// The register-tile micro-kernel shared by the SIMD instruction sets, written once over a
// traits type K (vector type V, lanes W, loads, stores, fmadd, masks). It is NOT a normal
// header: each ISA TU (ukernel_avx2.cpp, ukernel_avx512.cpp) includes it inside its own
// anonymous namespace after defining its traits, so every ISA compiles its own copy with its
// own flags and no inline function is shared across TUs (the ODR rule, docs/isa.md).
//
// Contract (ukernel.hpp): C[m_cur x n_cur] := alpha * A_panel * B_panel + beta * C, with
// B_panel kc x NR packed and zero-padded or read in place (b_rs != 0), A_panel packed (a_rs = 1,
// a_cs = MR) or read through its strides; beta == 0 never reads C; then the optional epilogue.

// Applies the register epilogue to one C vector r (columns [j, j + W) of a row) and returns
// z = r + bias; *act_out receives act(z). kAct: -1 no epilogue, else a RegAct value.
template <class K, int kAct>
FASTMLP_INLINE typename K::V epilogue(typename K::V r, typename K::V bias, typename K::V slope,
                                      typename K::V* act_out) {
  using V = typename K::V;
  if constexpr (kAct < 0) return r;
  const V z = K::add(r, bias);
  if constexpr (kAct == int(gemm::RegAct::relu)) *act_out = K::relu(z);
  if constexpr (kAct == int(gemm::RegAct::leaky_relu)) *act_out = K::leaky(z, slope);
  return z;
}

// Writes the finished accumulators: C := alpha * acc (+ beta * C, one fused rounding), then
// the epilogue. Full tiles use plain stores, edge tiles masked ones on the last columns and a
// row predicate, never a scalar loop, so an element rounds the same in a full or edge tile.
template <class K, int MR, int NV, int kAct>
FASTMLP_INLINE void store_tile(typename K::V (&acc)[MR][NV], typename K::T alpha,
                               typename K::T beta, typename K::T* __restrict c, int64_t ldc,
                               int64_t m_cur, int64_t n_cur, const gemm::Epilogue<typename K::T>* ep,
                               typename K::T slope_value) {
  using T = typename K::T;
  using V = typename K::V;
  constexpr int W = K::W, NR = NV * W;
  // relu: C receives act(z) and out, if any, z (ukernel.hpp); otherwise C z and out act(z).
  constexpr bool kActInC = kAct == int(gemm::RegAct::relu);
  const V va = K::set1(alpha), vb = K::set1(beta);
  const bool read_c = beta != T(0);
  const bool full = m_cur == MR && n_cur == NR;
  typename K::Mask m[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) m[v] = K::mask(n_cur - v * W);
  V bias[NV], slope = K::zero();
  T* out = nullptr;
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) bias[v] = K::zero();
  if constexpr (kAct >= 0) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      if (ep->bias)
        bias[v] = full ? K::loadu(ep->bias + v * W) : K::maskload(ep->bias + v * W, m[v]);
    slope = K::set1(slope_value);
    out = ep->out;
  }
  if (full) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      T* ci = c + i * ldc;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        V r = K::mul(va, acc[i][v]);
        if (read_c) r = K::fmadd(vb, K::loadu(ci + v * W), r);
        V act = r;
        r = epilogue<K, kAct>(r, bias[v], slope, &act);
        K::storeu(ci + v * W, kActInC ? act : r);
        if (kAct >= 0 && out) K::storeu(out + i * ldc + v * W, kActInC ? r : act);
      }
    }
    return;
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    if (i >= m_cur) break;
    T* ci = c + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      // Whole vectors of an edge tile by plain loads and stores too: AVX2's masked stores cost
      // more (docs/tuning.md).
      const bool whole = (v + 1) * W <= n_cur;
      V r = K::mul(va, acc[i][v]);
      if (read_c) r = K::fmadd(vb, whole ? K::loadu(ci + v * W) : K::maskload(ci + v * W, m[v]), r);
      V act = r;
      r = epilogue<K, kAct>(r, bias[v], slope, &act);
      if (whole) {
        K::storeu(ci + v * W, kActInC ? act : r);
        if (kAct >= 0 && out) K::storeu(out + i * ldc + v * W, kActInC ? r : act);
      } else {
        K::maskstore(ci + v * W, m[v], kActInC ? act : r);
        if (kAct >= 0 && out) K::maskstore(out + i * ldc + v * W, m[v], kActInC ? r : act);
      }
    }
  }
}

// One k row of the B panel, NV vectors: whole rows (a packed panel, zero-padded, or B in place
// with all of the tile's columns inside the matrix) by plain loads, or B in place at the
// matrix edge, whose columns from n_cur on are masked off (zero, as the padding; never read).
// Masked loads only at the edge: AVX2's vmaskmov loads everywhere cost more than packing B
// (docs/tuning.md).
template <class K, int NV, bool kWholeB>
FASTMLP_INLINE void load_b_row(const typename K::T* b, const typename K::Mask* mask,
                               typename K::V* bv) {
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v)
    if constexpr (kWholeB)
      bv[v] = K::loadu(b + v * K::W);
    else
      bv[v] = K::maskload(b + v * K::W, mask[v]);
}

// Broadcast of A(I, p) for an A read in place, I < 8, as one base + index * scale address: rows
// 0-4 and 6 from a0 with index L (the row stride in bytes) or L3 = 3L, rows 5 and 7 from
// a4 = a0 + 4L. K::broadcast_at pins that addressing mode (inline asm): written in C++, GCC
// hoisted 2L, 4L, ... into registers of their own and spilled them (see the k loop below).
template <class K, int I>
FASTMLP_INLINE typename K::V broadcast_row(const char* a0, const char* a4, int64_t L,
                                           int64_t L3) {
  static_assert(I < 8, "rows 0..7 only");
  if constexpr (I == 0) return K::broadcast(reinterpret_cast<const typename K::T*>(a0));
  if constexpr (I == 1) return K::template broadcast_at<1>(a0, L);
  if constexpr (I == 2) return K::template broadcast_at<2>(a0, L);
  if constexpr (I == 3) return K::template broadcast_at<1>(a0, L3);
  if constexpr (I == 4) return K::template broadcast_at<4>(a0, L);
  if constexpr (I == 5) return K::template broadcast_at<1>(a4, L);
  if constexpr (I == 6) return K::template broadcast_at<2>(a0, L3);
  if constexpr (I == 7) return K::template broadcast_at<1>(a4, L3);
}

// acc[I][:] += A(I, p) * B(p, :) for every row I of the tile (a compile-time row index each).
template <class K, int MR, int NV, int... I>
FASTMLP_INLINE void rank1_in_place(typename K::V (&acc)[MR][NV], const typename K::V* bv,
                                   const char* a0, const char* a4, int64_t L, int64_t L3,
                                   std::integer_sequence<int, I...>) {
  auto row = [&](auto i) {
    constexpr int r = decltype(i)::value;
    const typename K::V ai = broadcast_row<K, r>(a0, a4, L, L3);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = K::fmadd(ai, bv[v], acc[r][v]);
  };
  (row(std::integral_constant<int, I>{}), ...);
}

// The shortest k loop that prefetches C (ukernel). x86 only: on AArch64 the branch changed
// GCC's register allocation and sgemm_8x8's k loops spilled (tools/check_arm.sh).
#if defined(__aarch64__)
constexpr int64_t kPrefetchCMinK = 0;
#else
constexpr int64_t kPrefetchCMinK = 32;
#endif

// kPackedA: A_panel is the packed layout (a_rs = 1, a_cs = MA, fixed offsets); otherwise each
// row is read through its own pointer (rows >= m_cur alias the last real row: their sums are
// computed and dropped, never stored, and nothing outside A is read).
// MR x NV*W is the tile computed; MA and NB are the packed A and B panels' widths (the
// Blocking's MR and NR), larger when ukernel_entry picks a smaller tile for a narrow edge.
// kWholeB: B rows loaded whole (load_b_row); rows NB apart when packed (b_rs == 0), else b_rs.
template <class K, int MR, int NV, int MA, int NB, bool kPackedA, bool kWholeB>
FASTMLP_INLINE void ukernel(int64_t kc, typename K::T alpha, const typename K::T* __restrict a,
                            int64_t a_rs, int64_t a_cs, const typename K::T* __restrict b,
                            int64_t b_rs, typename K::T beta, typename K::T* __restrict c, int64_t ldc,
                            int64_t m_cur, int64_t n_cur, const gemm::Epilogue<typename K::T>* ep) {
  using T = typename K::T;
  using V = typename K::V;
  constexpr int W = K::W, NR = NV * W;
  // Warm C's rows while the k loop runs (the stores at the end would otherwise miss). Read,
  // keep in all levels: prefetcht0 on x86 (what _mm_prefetch(p, _MM_HINT_T0) is), prfm
  // pldl1keep on AArch64. Not for a short k loop (K = 10 of an output layer's dX), which
  // ends before a prefetch could land: its 2 MR prefetches were pure overhead.
  if (kc >= kPrefetchCMinK) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      __builtin_prefetch(c + i * ldc, 0, 3);
      __builtin_prefetch(c + i * ldc + NR - 1, 0, 3);
    }
  }
  V acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = K::zero();
  typename K::Mask b_mask[NV];
  if constexpr (!kWholeB) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) b_mask[v] = K::mask(n_cur - v * W);
  }
  const int64_t b_step = b_rs == 0 ? NB : b_rs;

  // C_tile += A_panel(:, p) * B_panel(p, :), one rank-1 update per k, in k order.
  if constexpr (kPackedA) {
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; ++p) {
      V bv[NV];
      load_b_row<K, NV, kWholeB>(b, b_mask, bv);
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const V ai = K::broadcast(a + i);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[i][v] = K::fmadd(ai, bv[v], acc[i][v]);
      }
      a += MA;
      b += b_step;
    }
  } else if (m_cur == MR) {
    // A read in place, full height: 4 pointer registers (a0, a4, L, 3L; broadcast_row)
    // instead of MR row pointers, which GCC spilled to xmm registers and the stack inside the
    // loop (8 % slower than the packed A in L1; now within 1-2 %).
    const char* a0 = reinterpret_cast<const char*>(a);
    const int64_t L = a_rs * int64_t(sizeof(T)), L3 = 3 * L, step = a_cs * int64_t(sizeof(T));
    const char* a4 = a0 + 4 * L;
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; ++p) {
      V bv[NV];
      load_b_row<K, NV, kWholeB>(b, b_mask, bv);
      rank1_in_place<K, MR, NV>(acc, bv, a0, a4, L, L3, std::make_integer_sequence<int, MR>{});
      a0 += step;
      a4 += step;
      b += b_step;
    }
  } else {
    const T* row[MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) row[i] = a + (i < m_cur ? i : m_cur - 1) * a_rs;
#pragma GCC unroll 4
    for (int64_t p = 0, off = 0; p < kc; ++p, off += a_cs) {
      V bv[NV];
      load_b_row<K, NV, kWholeB>(b, b_mask, bv);
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const V ai = K::broadcast(row[i] + off);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[i][v] = K::fmadd(ai, bv[v], acc[i][v]);
      }
      b += b_step;
    }
  }

  if (!ep) return store_tile<K, MR, NV, -1>(acc, alpha, beta, c, ldc, m_cur, n_cur, ep, T(0));
  // identity is leaky_relu with slope 1 (z > 0 ? z : z * 1 == z, NaN and -0 included): one
  // fewer copy of the epilogue to compile.
  if (ep->act == gemm::RegAct::relu)
    return store_tile<K, MR, NV, int(gemm::RegAct::relu)>(acc, alpha, beta, c, ldc, m_cur, n_cur, ep, T(0));
  const T slope = ep->act == gemm::RegAct::leaky_relu ? ep->slope : T(1);
  return store_tile<K, MR, NV, int(gemm::RegAct::leaky_relu)>(acc, alpha, beta, c, ldc, m_cur, n_cur, ep, slope);
}

// One tile shape: a packed A gets the kernel with fixed offsets, anything else the strided
// one; B rows whole (packed, or in place away from the matrix edge) plain loads, B in place
// at the edge masked ones.
template <class K, int MR, int NV, int MA, int NB>
FASTMLP_INLINE void ukernel_tile(int64_t kc, typename K::T alpha, const typename K::T* a,
                                 int64_t a_rs, int64_t a_cs, const typename K::T* b, int64_t b_rs,
                                 typename K::T beta, typename K::T* c, int64_t ldc,
                                 int64_t m_cur, int64_t n_cur,
                                 const gemm::Epilogue<typename K::T>* ep) {
  const bool packed_a = a_rs == 1 && a_cs == MA;
  const bool whole_b = b_rs == 0 || n_cur == NV * K::W;
  if (whole_b && packed_a)
    ukernel<K, MR, NV, MA, NB, true, true>(kc, alpha, a, a_rs, a_cs, b, b_rs, beta, c, ldc, m_cur, n_cur, ep);
  else if (whole_b)
    ukernel<K, MR, NV, MA, NB, false, true>(kc, alpha, a, a_rs, a_cs, b, b_rs, beta, c, ldc, m_cur, n_cur, ep);
  else if (packed_a)
    ukernel<K, MR, NV, MA, NB, true, false>(kc, alpha, a, a_rs, a_cs, b, b_rs, beta, c, ldc, m_cur, n_cur, ep);
  else
    ukernel<K, MR, NV, MA, NB, false, false>(kc, alpha, a, a_rs, a_cs, b, b_rs, beta, c, ldc, m_cur, n_cur, ep);
}

// The entry point behind each ISA's <s|d>gemm_<MR>x<NR>. An edge tile of at most one vector
// of columns (the n = 1 output layer of a regression net) or at most MR/2 rows (tiny batches)
// runs a tile cut to that size: half the FMAs or fewer, and each element's k-sum is the same
// sequence of roundings, so the result is bitwise the one of the full tile. kCutRows > 0 (the
// avx2 tiles: 4 of 6): an edge of HALF < m_cur <= kCutRows rows runs a tile of kCutRows
// (batch 64 on a 6-row tile ends in 4 rows), still 2 x 4 = 8 independent FMA chains, enough
// for 2 pipes of 4 cycles. 0: none (on NEON its k loops spilled to the stack).
template <class K, int MR, int NV, int kCutRows = 0>
FASTMLP_INLINE void ukernel_entry(int64_t kc, typename K::T alpha, const typename K::T* a,
                                  int64_t a_rs, int64_t a_cs, const typename K::T* b,
                                  int64_t b_rs, typename K::T beta, typename K::T* c, int64_t ldc,
                                  int64_t m_cur, int64_t n_cur,
                                  const gemm::Epilogue<typename K::T>* ep) {
  constexpr int NR = NV * K::W, HALF = MR / 2, CUT = kCutRows > HALF ? kCutRows : MR;
  const bool narrow = NV > 1 && n_cur <= K::W, short_ = m_cur <= HALF;
  if (narrow && short_)
    ukernel_tile<K, HALF, 1, MR, NR>(kc, alpha, a, a_rs, a_cs, b, b_rs, beta, c, ldc, m_cur, n_cur, ep);
  else if (narrow)
    ukernel_tile<K, MR, 1, MR, NR>(kc, alpha, a, a_rs, a_cs, b, b_rs, beta, c, ldc, m_cur, n_cur, ep);
  else if (short_)
    ukernel_tile<K, HALF, NV, MR, NR>(kc, alpha, a, a_rs, a_cs, b, b_rs, beta, c, ldc, m_cur, n_cur, ep);
  else if (CUT < MR && m_cur <= CUT)
    ukernel_tile<K, CUT, NV, MR, NR>(kc, alpha, a, a_rs, a_cs, b, b_rs, beta, c, ldc, m_cur, n_cur, ep);
  else
    ukernel_tile<K, MR, NV, MR, NR>(kc, alpha, a, a_rs, a_cs, b, b_rs, beta, c, ldc, m_cur, n_cur, ep);
}

// The FMA peak probe behind <isa>::fma_chains: `iters` rounds of 12 independent multiply-add
// chains on whole vectors (enough to cover 2 pipes x 4-5 cycles of latency), no memory
// operands; returns the floating-point operations done (2 per lane per FMA). The asm barrier
// keeps each chain in its register and the loop from being folded away; the sum of the chains
// goes to the caller's 64 bytes at `out` by an unaligned store (no over-aligned stack slot).
// The asm constraint of a vector register: any xmm/ymm/zmm on x86, any v0-v31 on AArch64.
#if defined(__aarch64__)
#define FASTMLP_VREG "w"
#else
#define FASTMLP_VREG "v"
#endif
template <class K>
FASTMLP_INLINE int64_t fma_chains_impl(int64_t iters, void* out) {
  using V = typename K::V;
  const V a = K::set1(typename K::T(1.0000001)), b = K::set1(typename K::T(0.9999999));
  V c0 = K::set1(0), c1 = K::set1(1), c2 = K::set1(2), c3 = K::set1(3), c4 = K::set1(4),
    c5 = K::set1(5), c6 = K::set1(6), c7 = K::set1(7), c8 = K::set1(8), c9 = K::set1(9),
    c10 = K::set1(10), c11 = K::set1(11);
  for (int64_t i = 0; i < iters; ++i) {
    c0 = K::fmadd(c0, a, b), c1 = K::fmadd(c1, a, b), c2 = K::fmadd(c2, a, b);
    c3 = K::fmadd(c3, a, b), c4 = K::fmadd(c4, a, b), c5 = K::fmadd(c5, a, b);
    c6 = K::fmadd(c6, a, b), c7 = K::fmadd(c7, a, b), c8 = K::fmadd(c8, a, b);
    c9 = K::fmadd(c9, a, b), c10 = K::fmadd(c10, a, b), c11 = K::fmadd(c11, a, b);
    asm volatile("" : "+" FASTMLP_VREG(c0), "+" FASTMLP_VREG(c1), "+" FASTMLP_VREG(c2),
                 "+" FASTMLP_VREG(c3), "+" FASTMLP_VREG(c4), "+" FASTMLP_VREG(c5),
                 "+" FASTMLP_VREG(c6), "+" FASTMLP_VREG(c7), "+" FASTMLP_VREG(c8),
                 "+" FASTMLP_VREG(c9), "+" FASTMLP_VREG(c10), "+" FASTMLP_VREG(c11));
  }
  const V s = K::add(K::add(K::add(c0, c1), K::add(c2, c3)),
                     K::add(K::add(K::add(c4, c5), K::add(c6, c7)),
                            K::add(K::add(c8, c9), K::add(c10, c11))));
  static_assert(sizeof(typename K::V) <= 64, "out holds 64 bytes");
  K::storeu(static_cast<typename K::T*>(out), s);
  return iters * 12 * K::W * 2;
}
#undef FASTMLP_VREG
