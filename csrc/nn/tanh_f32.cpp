// float32 tanh (tanh_f32.hpp): an odd polynomial near 0, 1 - 2 / (exp(2|x|) + 1) beyond.
//
// Both branches are computed for every lane and one is selected (no branch on the data):
//   |x| <  0.75: |x| + |x| s P(s), s = x^2, P of degree 5: a weighted least-squares fit, by
//                iterative reweighting towards minimax, of (tanh(x) - x) / x^3 on [0, 0.75]
//                (relative to tanh), coefficients rounded to float32.
//   |x| >= 0.75: e = exp(2 min(|x|, 9.5)) = 2^n exp(r), n = round(2|x| / ln 2), r = 2|x| - n ln 2
//                in two parts (Cody-Waite: n ln2_hi is exact for n < 2^9), exp(r) by its Taylor
//                polynomial of degree 7 (|r| <= ln 2 / 2: truncation < 5e-9 relative).
// then the sign of x. The split at 0.75 and the degrees were chosen by measuring the error
// over all float32 inputs (0.55 or 0.625 gave 1.3-1.7 ulp in the exp branch, where
// 1 - 2 / (e + 1) loses bits to cancellation; degree 4 of P gave 0.9 ulp in the polynomial).
#include "nn/tanh_f32.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
// 1 / k! for k = 7 down to 2 (Horner order); the terms 1 + r are added last.
constexpr float kExp[6] = {1.0f / 5040, 1.0f / 720, 1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f};

#if defined(__SSE2__)
inline __m128 tanh4(__m128 x) {
  const __m128 sign_bit = _mm_set1_ps(-0.0f);
  const __m128 ax = _mm_andnot_ps(sign_bit, x);
  // |x| < 0.75: |x| + |x| (s P(s))
  const __m128 s = _mm_mul_ps(ax, ax);
  __m128 p = _mm_set1_ps(kP[5]);
  for (int k = 4; k >= 0; --k) p = _mm_add_ps(_mm_mul_ps(p, s), _mm_set1_ps(kP[k]));
  const __m128 near0 = _mm_add_ps(ax, _mm_mul_ps(ax, _mm_mul_ps(s, p)));
  // |x| >= 0.75: 1 - 2 / (exp(2|x|) + 1). min keeps a NaN (MINPS returns its second operand
  // when either is NaN); +inf becomes the clamp.
  const __m128 t = _mm_mul_ps(_mm_set1_ps(2.0f), _mm_min_ps(_mm_set1_ps(kClamp), ax));
  const __m128i n = _mm_cvtps_epi32(_mm_mul_ps(t, _mm_set1_ps(kLog2e)));  // round to nearest even
  const __m128 nf = _mm_cvtepi32_ps(n);
  const __m128 r = _mm_sub_ps(_mm_sub_ps(t, _mm_mul_ps(nf, _mm_set1_ps(kLn2Hi))),
                              _mm_mul_ps(nf, _mm_set1_ps(kLn2Lo)));
  __m128 q = _mm_set1_ps(kExp[0]);
  for (int k = 1; k < 6; ++k) q = _mm_add_ps(_mm_mul_ps(q, r), _mm_set1_ps(kExp[k]));
  q = _mm_add_ps(_mm_mul_ps(q, r), _mm_set1_ps(1.0f));
  q = _mm_add_ps(_mm_mul_ps(q, r), _mm_set1_ps(1.0f));
  // 2^n for n in [0, 28]: the exponent field n + 127
  const __m128 scale = _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(n, _mm_set1_epi32(127)), 23));
  const __m128 e = _mm_mul_ps(q, scale);
  const __m128 one = _mm_set1_ps(1.0f);
  const __m128 far = _mm_sub_ps(one, _mm_div_ps(_mm_set1_ps(2.0f), _mm_add_ps(e, one)));
  // NaN compares false, so it takes the exp branch, where it stayed NaN
  const __m128 use_near = _mm_cmplt_ps(ax, _mm_set1_ps(kSplit));
  const __m128 y = _mm_or_ps(_mm_and_ps(use_near, near0), _mm_andnot_ps(use_near, far));
  return _mm_or_ps(y, _mm_and_ps(sign_bit, x));
}
#else
// The same operations one lane at a time (non-x86 builds).
inline float tanh1(float x) {
  const float ax = std::fabs(x);
  const float s = ax * ax;
  float p = kP[5];
  for (int k = 4; k >= 0; --k) p = p * s + kP[k];
  const float near0 = ax + ax * (s * p);
  const float t = 2.0f * (std::isnan(ax) ? ax : std::min(kClamp, ax));
  const float nf = std::nearbyint(t * kLog2e);
  const float r = (t - nf * kLn2Hi) - nf * kLn2Lo;
  float q = kExp[0];
  for (int k = 1; k < 6; ++k) q = q * r + kExp[k];
  q = q * r + 1.0f;
  q = q * r + 1.0f;
  const float e = std::isnan(nf) ? nf : q * std::ldexp(1.0f, static_cast<int>(nf));
  const float far = 1.0f - 2.0f / (e + 1.0f);
  return std::copysign(ax < kSplit ? near0 : far, x);
}
#endif

}  // namespace

void tanh_f32(const float* z, float* a, int64_t n) {
#if defined(__SSE2__)
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(a + i, tanh4(_mm_loadu_ps(z + i)));
  if (i < n) {  // the tail through the same vector code, so its bits match a full vector's
    float buf[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    const size_t bytes = static_cast<size_t>(n - i) * sizeof(float);
    std::memcpy(buf, z + i, bytes);
    _mm_storeu_ps(buf, tanh4(_mm_loadu_ps(buf)));
    std::memcpy(a + i, buf, bytes);
  }
#else
  for (int64_t i = 0; i < n; ++i) a[i] = tanh1(z[i]);
#endif
}

}  // namespace fastmlp::nn
