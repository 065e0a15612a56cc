// float32 tanh (tanh_f32.hpp): an odd polynomial near 0, 1 - 2 / (exp(2|x|) + 1) beyond.
//
// Both branches are computed for every lane and one is selected (no branch on the data):
//   |x| <  0.75: |x| + |x| s P(s), s = x^2, P of degree 5: a weighted least-squares fit, by
//                iterative reweighting towards minimax, of (tanh(x) - x) / x^3 on [0, 0.75]
//                (relative to tanh), coefficients rounded to float32.
//   |x| >= 0.75: e = exp(2 min(|x|, 9.5)) = 2^n exp(r), n = round(2|x| / ln 2) (to nearest even,
//                by adding and subtracting 1.5 * 2^23), r = 2|x| - n ln 2 in two parts
//                (Cody-Waite: n ln2_hi is exact for n < 2^9), exp(r) by its Taylor polynomial of
//                degree 7 (|r| <= ln 2 / 2: truncation < 5e-9 relative).
// then the sign of x. The split at 0.75 and the degrees were chosen by measuring the error
// over all float32 inputs (0.55 or 0.625 gave 1.3-1.7 ulp in the exp branch, where
// 1 - 2 / (e + 1) loses bits to cancellation; degree 4 of P gave 0.9 ulp in the polynomial).
//
// Written once over GCC/Clang vector types and built twice: 4 lanes in baseline code (SSE2
// on x86-64), 8 lanes in a function compiled for avx2 by a target attribute, which the isa
// table's avx2 and avx512 entries point to (isa/isa.hpp). Both do the same IEEE operations on each lane (no FMA: -ffp-contract=off, and the
// avx2 target has none), so their bits are identical; the 8-lane build halves the instruction
// count.
#include "nn/tanh_f32.hpp"

#include "isa/isa.hpp"
#include "nn/vector_types.hpp"

namespace fastmlp::nn {
namespace {

// P(s) = kP[0] + kP[1] s + ... + kP[5] s^5 (the fit above; -1/3, 2/15, ... to first order).
constexpr float kP[6] = {-0x1.555548p-2f, 0x1.110d92p-3f, -0x1.b978e0p-5f,
                         0x1.5f5a9ep-6f,  -0x1.f518eap-8f, 0x1.c59d32p-10f};
constexpr float kSplit = 0.75f;
constexpr float kClamp = 9.5f;  // tanh(9.5) rounds to 1 in float32 (from 9.02 on it does)
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693145751953125f;           // ln 2 to 16 bits: n * kLn2Hi is exact
constexpr float kLn2Lo = 1.42860682030941723212e-6f;  // ln 2 - kLn2Hi
constexpr float kRound = 0x1.8p23f;  // y + kRound - kRound rounds y to an integer, |y| < 2^22
// 1 / k! for k = 7 down to 2 (Horner order); the terms 1 + r are added last.
constexpr float kExp[6] = {1.0f / 5040, 1.0f / 720, 1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f};

// x = tanh(x) on every lane; F is a float vector type and U the uint32_t one of its width.
// (In place, by reference: a 32-byte vector passed or returned by value would make GCC warn
// about the AVX calling convention, though these calls are always inlined.)
template <class F, class U>
FASTMLP_LANES_INLINE void tanh_lanes(F& x) {
  const F zero = {};
  const U bits = reinterpret_cast<U>(x);
  const F ax = reinterpret_cast<F>(bits & 0x7fffffffu);
  // |x| < 0.75: |x| + |x| (s P(s))
  const F s = ax * ax;
  F p = zero + kP[5];
  for (int k = 4; k >= 0; --k) p = p * s + kP[k];
  const F near0 = ax + ax * (s * p);
  // |x| >= 0.75: 1 - 2 / (exp(2|x|) + 1). The select keeps a NaN (the comparison is false);
  // +inf becomes the clamp.
  const F clamp = zero + kClamp;
  const F t = 2.0f * (clamp < ax ? clamp : ax);
  const F shifted = t * kLog2e + kRound;  // kRound + n exactly: n sits in the low mantissa bits
  const F nf = shifted - kRound;
  const U n = reinterpret_cast<U>(shifted) - reinterpret_cast<U>(zero + kRound);
  const F r = (t - nf * kLn2Hi) - nf * kLn2Lo;
  F q = zero + kExp[0];
  for (int k = 1; k < 6; ++k) q = q * r + kExp[k];
  q = q * r + 1.0f;
  q = q * r + 1.0f;
  // 2^n for n in [0, 28]: the exponent field n + 127
  const F e = q * reinterpret_cast<F>((n + 127u) << 23);
  const F far = 1.0f - 2.0f / (e + 1.0f);
  // NaN compares false, so it takes the exp branch, where it stayed NaN
  const F y = ax < kSplit ? near0 : far;
  x = reinterpret_cast<F>(reinterpret_cast<U>(y) | (bits & 0x80000000u));
}

template <class F, class U>
FASTMLP_LANES_INLINE void tanh_array(const float* z, float* a, int64_t n) {
  map_vectors<F, float, tanh_lanes<F, U>>(z, a, n);
}

}  // namespace
}  // namespace fastmlp::nn

namespace fastmlp::nn {
void tanh_f32_4_lanes(const float* z, float* a, int64_t n) { tanh_array<F4, U4>(z, a, n); }
}  // namespace fastmlp::nn

#if defined(FASTMLP_X86_ISAS)
// In fastmlp::avx2, the namespace whose code may hold AVX instructions (tests/test_build.py);
// reached only through the isa table's avx2 and avx512 entries.
namespace fastmlp::avx2 {
__attribute__((target("avx2"))) void tanh_f32_8_lanes(const float* z, float* a, int64_t n) {
  nn::tanh_array<nn::F8, nn::U8>(z, a, n);
}
}  // namespace fastmlp::avx2
#endif

namespace fastmlp::nn {

void tanh_f32(const float* z, float* a, int64_t n) { isa::active().isa->tanh_f32(z, a, n); }

}  // namespace fastmlp::nn
