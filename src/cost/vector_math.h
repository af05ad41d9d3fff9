// Branch-free float32 exp and log1p that the compiler vectorises: the
// per-class totals of the cost-based assigners (sum over C classes of a
// term of each logit, once per candidate prior) evaluate them C times per
// prior, and glibc's scalar calls dominated those loops.
//
// Accuracy: exp_nonpositive within 2 ulp of expf on [-87, 0] (Cephes'
// polynomial); log1p_unit within 2 ulp of log1pf on [0, 1] (Cephes' logf
// polynomial with Goldberg's log1p correction). tests/geometry_cost_match_test.cpp
// compares both with libm on a dense sweep.
#pragma once

#include <cstdint>
#include <cstring>

// Loops over these vectorise with the baseline x86-64 SIMD (SSE2, four
// lanes) under -fno-trapping-math, which a precompiled header would drop
// (CMakeLists.txt). GCC 12's target_clones("avx2") clone of the same loops was
// measured scalar, three times slower than the baseline: the eight-lane
// path is written in intrinsics instead (cost/class_totals.cpp), the same
// operations in the same order.

namespace assignscope::cost::vmath {

// exp(x) for x <= 0; x below -87 (and -inf) returns exp(-87) ~ 1.6e-38,
// which every caller adds or multiplies into a term far below a float32 ulp
// of its total; x > 0 is taken as 0; NaN returns NaN. The float-to-int
// conversion below only ever sees finite values.
inline float exp_nonpositive(float x_in) {
  const bool nan = x_in != x_in;
  float x = x_in < -87.0f ? -87.0f : x_in;
  x = x > 0.0f ? 0.0f : x;
  x = nan ? 0.0f : x;
  const float n = static_cast<float>(static_cast<int32_t>(x * 1.44269504088896341f - 0.5f));  // round half down, x <= 0
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * (r * r) + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return nan ? x_in : y * scale;
}

// log(u) for u in [1, 2].
inline float log_1_to_2(float u) {
  const bool high = u > 1.41421356237f;
  const float e = high ? 1.0f : 0.0f;
  const float x = u * (high ? 0.5f : 1.0f) - 1.0f;
  const float z = x * x;
  float y = 7.0376836292e-2f;
  y = y * x - 1.1514610310e-1f;
  y = y * x + 1.1676998740e-1f;
  y = y * x - 1.2420140846e-1f;
  y = y * x + 1.4249322787e-1f;
  y = y * x - 1.6668057665e-1f;
  y = y * x + 2.0000714765e-1f;
  y = y * x - 2.4999993993e-1f;
  y = y * x + 3.3333331174e-1f;
  y = y * x * z;
  y += e * -2.12194440e-4f;
  y += -0.5f * z;
  return (x + y) + e * 0.693359375f;
}

// log1p(e) for e in [0, 1], accurate for tiny e: log(u) * e / (u - 1) with
// u = 1 + e rounded (Goldberg, "What every computer scientist should know
// about floating-point arithmetic", theorem 4).
inline float log1p_unit(float e) {
  const float u = 1.0f + e;
  const float d = u - 1.0f;
  const float corrected = log_1_to_2(u) * (e / (d == 0.0f ? 1.0f : d));  // no branch: vectorises
  return d == 0.0f ? e : corrected;
}

// RTMDet's background class term BCE(x, 0) * sigmoid(x)^2 =
// softplus(x) * sigmoid(x)^2, in float32.
// Below x = -29 the term (about e^(3x)) is under 1.6e-38, where float32 turns
// subnormal: it is returned as 0, which moves a class total by less than
// C * 1.6e-38, and keeps subnormal arithmetic (a hundred times slower) out of
// the loop. Late-training logits sit there for most classes.
inline float soft_background_term(float x_in) {
  const bool negligible = x_in < -29.0f;
  const float x = negligible ? 0.0f : x_in;
  const float e = exp_nonpositive(x < 0 ? x : -x);  // exp(-|x|)
  const float sigmoid = (x >= 0 ? 1.0f : e) / (1.0f + e);
  const float softplus = (x > 0 ? x : 0.0f) + log1p_unit(e);
  return negligible ? 0.0f : softplus * sigmoid * sigmoid;
}

}  // namespace assignscope::cost::vmath
