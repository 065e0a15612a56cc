// exp on arrays (exp_lanes.hpp): exp(x) = 2^n exp(r), n = round(x / ln 2), r = x - n ln 2.
//
//   n: x log2(e) plus 1.5 * 2^(p-1) (p the significand's bits) rounds to an integer held in the
//      low significand bits; subtracting the constant back gives n as a float, subtracting the
//      bit patterns gives it as an integer (no float-to-int conversion, which SSE2 lacks for
//      64-bit lanes).
//   r: x - n ln2_hi - n ln2_lo (Cody-Waite: ln2_hi has enough trailing zero bits that n ln2_hi
//      is exact over the whole range of n, and x - n ln2_hi is exact too), |r| <= ln 2 / 2.
//   exp(r): its Taylor polynomial, degree 7 (float, truncation < 6e-9 relative, 0.1 ulp) or 13
//      (double, < 5e-18, 0.04 ulp), as 1 + (r + r^2 tail(r)), the tail by Estrin's scheme.
//   2^n: two powers of two, 2^(n - h) and 2^h with h = round(n / 2), built in the exponent
//      field, multiplied in turn: the first product is exact, the second rounds once, so
//      results in the subnormal range round correctly from the polynomial's value.
// x is first clamped to [lo, hi], where exp(lo) rounds to 0 and exp(hi) to +inf; a NaN
// fails both comparisons and stays NaN through the arithmetic.
//
// Written once over GCC/Clang vector types and built three times: 16-byte vectors in baseline
// code (SSE2 on x86-64, NEON on AArch64), 32-byte and 64-byte ones in functions compiled for
// avx2 and avx512f by target attributes (the isa table's avx2 and avx512 entries). No FMA
// anywhere (-ffp-contract=off; neither target has it), so every lane does the same IEEE
// operations and the bits match.
#include "nn/exp_lanes.hpp"

#include "isa/isa.hpp"
#include "nn/vector_types.hpp"

namespace fastmlp::nn {
namespace {

// The constants of one precision: clamp, Cody-Waite split of ln 2, rounding shift, Taylor
// coefficients 1/k! for k = 2, 3, ... (1 + r is added last), exponent field layout.
template <class T>
struct ExpConsts;

template <>
struct ExpConsts<float> {
  using Bits = uint32_t;
  static constexpr float lo = -104.0f, hi = 89.0f;  // exp: 6.8e-46 -> 0, 4.5e38 -> inf
  static constexpr float log2e = 1.44269504088896341f;
  static constexpr float ln2_hi = 0.693145751953125f;  // 16 bits: n ln2_hi exact for |n| < 2^8
  static constexpr float ln2_lo = 1.42860682030941723212e-6f;
  static constexpr float round = 0x1.8p23f;
  static constexpr float taylor[6] = {0.5f,         1.0f / 6,   1.0f / 24,
                                      1.0f / 120,   1.0f / 720, 1.0f / 5040};
  static constexpr Bits bias = 127, shift = 23;
};

template <>
struct ExpConsts<double> {
  using Bits = uint64_t;
  static constexpr double lo = -746.0, hi = 710.0;  // exp: 1.0e-324 -> 0, 2.2e308 -> inf
  static constexpr double log2e = 1.4426950408889634074;
  static constexpr double ln2_hi = 0x1.62e42fee00000p-1;  // 32 bits: n ln2_hi exact, |n| < 2^11
  static constexpr double ln2_lo = 0x1.a39ef35793c76p-33;
  static constexpr double round = 0x1.8p52;
  static constexpr double taylor[12] = {0.5,           1.0 / 6.0,         1.0 / 24.0,
                                        1.0 / 120.0,   1.0 / 720.0,       1.0 / 5040.0,
                                        1.0 / 40320.0, 1.0 / 362880.0,    1.0 / 3628800.0,
                                        1.0 / 39916800.0, 1.0 / 479001600.0,
                                        1.0 / 6227020800.0};
  static constexpr Bits bias = 1023, shift = 52;
};

// sum_k c[k] r^k by Estrin's scheme (pairs c[2i] + c[2i+1] r, joined by r^2, r^4, r^8): a
// dependency chain a third as long as Horner's, which kept the loop waiting on latency.
// (Vectors by reference: a 32- or 64-byte vector passed or returned by value makes compilers
// warn about the AVX calling convention, though these calls are always inlined.)
template <class F, class T, size_t N>
FASTMLP_LANES_INLINE void estrin(const T (&c)[N], const F& r, const F& r2, F& sum) {
  static_assert(N == 6 || N == 12, "the two Taylor tails");
  F pair[N / 2];
  for (size_t i = 0; i < N / 2; ++i) pair[i] = c[2 * i] + c[2 * i + 1] * r;
  const F r4 = r2 * r2;
  sum = (pair[0] + pair[1] * r2) + r4 * pair[2];  // degrees 0-5
  if constexpr (N == 12) {
    const F high = (pair[3] + pair[4] * r2) + r4 * pair[5];  // degrees 6-11
    sum = sum + (r4 * r2) * high;
  }
}

// x = exp(x) on every lane; F a float vector type of element T, U the unsigned one of its
// width. (In place, by reference: a 32-byte vector passed or returned by value would make GCC
// warn about the AVX calling convention, though these calls are always inlined.)
template <class T, class F, class U>
FASTMLP_LANES_INLINE void exp_lanes(F& x) {
  using C = ExpConsts<T>;
  const F zero = {};
  const F lo = zero + C::lo, hi = zero + C::hi, round = zero + C::round;
  const F xc = x < lo ? lo : (x > hi ? hi : x);
  const F shifted = xc * C::log2e + round;  // round + n exactly: n sits in the low bits
  const F nf = shifted - round;
  const F r = (xc - nf * C::ln2_hi) - nf * C::ln2_lo;
  const F r2 = r * r;
  F tail;  // sum_k taylor[k] r^k
  estrin<F>(C::taylor, r, r2, tail);
  const F p = T(1) + (r + r2 * tail);
  // h = round(n / 2) and n - h, each in the exponent field's normal range
  const F hf = (nf * T(0.5) + round) - round;
  const U n = reinterpret_cast<U>(shifted) - reinterpret_cast<U>(round);
  const U h = reinterpret_cast<U>(hf + round) - reinterpret_cast<U>(round);
  const F scale_h = reinterpret_cast<F>((h + C::bias) << C::shift);
  const F scale_rest = reinterpret_cast<F>((n - h + C::bias) << C::shift);
  x = (p * scale_rest) * scale_h;
}

template <class T, class F, class U>
FASTMLP_LANES_INLINE void exp_vectors(const T* x, T* y, int64_t n) {
  map_vectors<F, T, exp_lanes<T, F, U>>(x, y, n);
}

}  // namespace

// One build: exp_f32_<BYTES>_bytes and exp_f64_<BYTES>_bytes over the vector types F/U, D/V.
#define FASTMLP_EXP_BUILD(ATTR, BYTES, F, U, D, V)                              \
  ATTR void exp_f32_##BYTES##_bytes(const float* x, float* y, int64_t n) {      \
    nn::exp_vectors<float, nn::F, nn::U>(x, y, n);                              \
  }                                                                             \
  ATTR void exp_f64_##BYTES##_bytes(const double* x, double* y, int64_t n) {    \
    nn::exp_vectors<double, nn::D, nn::V>(x, y, n);                             \
  }

FASTMLP_EXP_BUILD(, 16, F4, U4, D2, V2)

}  // namespace fastmlp::nn

#if defined(FASTMLP_X86_ISAS)
// In fastmlp::avx2 and fastmlp::avx512, the namespaces whose code may hold AVX instructions
// (tests/test_build.py); reached only through the isa table's avx2 and avx512 entries.
namespace fastmlp::avx2 {
FASTMLP_EXP_BUILD(__attribute__((target("avx2"))), 32, F8, U8, D4, V4)
}  // namespace fastmlp::avx2

namespace fastmlp::avx512 {
FASTMLP_EXP_BUILD(__attribute__((target("avx512f"))), 64, F16, U16, D8, V8)
}  // namespace fastmlp::avx512
#endif
#undef FASTMLP_EXP_BUILD

namespace fastmlp::nn {

void exp_array(const float* x, float* y, int64_t n) { isa::active().isa->exp_f32(x, y, n); }
void exp_array(const double* x, double* y, int64_t n) { isa::active().isa->exp_f64(x, y, n); }

}  // namespace fastmlp::nn
