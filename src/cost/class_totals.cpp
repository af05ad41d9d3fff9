// Per-prior class totals: the baseline and AVX2 paths, and the choice.
#include "cost/class_totals.h"

#include <algorithm>

#include "cost/terms.h"
#include "cost/vector_math.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ASSIGNSCOPE_HAVE_AVX2_PATH 1
#else
#define ASSIGNSCOPE_HAVE_AVX2_PATH 0
#endif

namespace assignscope::cost {
namespace {

constexpr int kLanes = 8;

// Baseline: the terms of a block vectorised by the compiler (SSE2), then
// summed into the eight lanes.
double baseline_total(const float* logits, int64_t num_classes) {
  constexpr int kChunk = 64;  // a multiple of kLanes: only the last block has a tail
  float terms[kChunk];
  float lane[kLanes] = {};
  double total = 0;
  for (int64_t c = 0; c < num_classes; c += kChunk) {
    const int n = static_cast<int>(std::min<int64_t>(kChunk, num_classes - c));
    for (int j = 0; j < n; ++j) terms[j] = vmath::soft_background_term(logits[c + j]);
    int j = 0;
    for (; j + kLanes <= n; j += kLanes)
      for (int l = 0; l < kLanes; ++l) lane[l] += terms[j + l];
    for (; j < n; ++j) total += static_cast<double>(terms[j]);
  }
  for (float v : lane) total += static_cast<double>(v);
  return total;
}

#if ASSIGNSCOPE_HAVE_AVX2_PATH
// vector_math.h's operations, in its order, eight lanes at a time. Each
// `c ? a : b` there is a compare (ordered, as C's) and a blend here.
#define ASSIGNSCOPE_AVX2 __attribute__((target("avx2")))

ASSIGNSCOPE_AVX2 inline __m256 select(__m256 mask, __m256 a, __m256 b) { return _mm256_blendv_ps(b, a, mask); }
ASSIGNSCOPE_AVX2 inline __m256 splat(float v) { return _mm256_set1_ps(v); }
ASSIGNSCOPE_AVX2 inline __m256 madd(__m256 a, __m256 b, float c) {  // a * b + c, rounded twice
  return _mm256_add_ps(_mm256_mul_ps(a, b), splat(c));
}

ASSIGNSCOPE_AVX2 inline __m256 exp_nonpositive(__m256 x_in) {
  const __m256 zero = _mm256_setzero_ps();
  const __m256 nan = _mm256_cmp_ps(x_in, x_in, _CMP_NEQ_UQ);
  __m256 x = select(_mm256_cmp_ps(x_in, splat(-87.0f), _CMP_LT_OQ), splat(-87.0f), x_in);
  x = select(_mm256_cmp_ps(x, zero, _CMP_GT_OQ), zero, x);
  x = select(nan, zero, x);
  const __m256i n_int = _mm256_cvttps_epi32(_mm256_sub_ps(_mm256_mul_ps(x, splat(1.44269504088896341f)), splat(0.5f)));
  const __m256 n = _mm256_cvtepi32_ps(n_int);
  __m256 r = _mm256_sub_ps(x, _mm256_mul_ps(n, splat(0.693359375f)));
  r = _mm256_sub_ps(r, _mm256_mul_ps(n, splat(-2.12194440e-4f)));
  __m256 p = splat(1.9875691500e-4f);
  p = madd(p, r, 1.3981999507e-3f);
  p = madd(p, r, 8.3334519073e-3f);
  p = madd(p, r, 4.1665795894e-2f);
  p = madd(p, r, 1.6666665459e-1f);
  p = madd(p, r, 5.0000001201e-1f);
  const __m256 y = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(p, _mm256_mul_ps(r, r)), r), splat(1.0f));
  const __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n_int, _mm256_set1_epi32(127)), 23));
  return select(nan, x_in, _mm256_mul_ps(y, scale));
}

ASSIGNSCOPE_AVX2 inline __m256 log_1_to_2(__m256 u) {
  const __m256 high = _mm256_cmp_ps(u, splat(1.41421356237f), _CMP_GT_OQ);
  const __m256 e = select(high, splat(1.0f), _mm256_setzero_ps());
  const __m256 x = _mm256_sub_ps(_mm256_mul_ps(u, select(high, splat(0.5f), splat(1.0f))), splat(1.0f));
  const __m256 z = _mm256_mul_ps(x, x);
  __m256 y = splat(7.0376836292e-2f);
  y = madd(y, x, -1.1514610310e-1f);  // y * x - c, as y * x + (-c): the same rounding
  y = madd(y, x, 1.1676998740e-1f);
  y = madd(y, x, -1.2420140846e-1f);
  y = madd(y, x, 1.4249322787e-1f);
  y = madd(y, x, -1.6668057665e-1f);
  y = madd(y, x, 2.0000714765e-1f);
  y = madd(y, x, -2.4999993993e-1f);
  y = madd(y, x, 3.3333331174e-1f);
  y = _mm256_mul_ps(_mm256_mul_ps(y, x), z);
  y = _mm256_add_ps(y, _mm256_mul_ps(e, splat(-2.12194440e-4f)));
  y = _mm256_add_ps(y, _mm256_mul_ps(splat(-0.5f), z));
  return _mm256_add_ps(_mm256_add_ps(x, y), _mm256_mul_ps(e, splat(0.693359375f)));
}

ASSIGNSCOPE_AVX2 inline __m256 log1p_unit(__m256 e) {
  const __m256 u = _mm256_add_ps(splat(1.0f), e);
  const __m256 d = _mm256_sub_ps(u, splat(1.0f));
  const __m256 d_zero = _mm256_cmp_ps(d, _mm256_setzero_ps(), _CMP_EQ_OQ);
  const __m256 corrected = _mm256_mul_ps(log_1_to_2(u), _mm256_div_ps(e, select(d_zero, splat(1.0f), d)));
  return select(d_zero, e, corrected);
}

ASSIGNSCOPE_AVX2 inline __m256 soft_background_term(__m256 x_in) {
  const __m256 zero = _mm256_setzero_ps();
  const __m256 negligible = _mm256_cmp_ps(x_in, splat(-29.0f), _CMP_LT_OQ);
  const __m256 x = select(negligible, zero, x_in);
  const __m256 minus_x = _mm256_xor_ps(x, splat(-0.0f));
  const __m256 e = exp_nonpositive(select(_mm256_cmp_ps(x, zero, _CMP_LT_OQ), x, minus_x));
  const __m256 sigmoid =
      _mm256_div_ps(select(_mm256_cmp_ps(x, zero, _CMP_GE_OQ), splat(1.0f), e), _mm256_add_ps(splat(1.0f), e));
  const __m256 softplus = _mm256_add_ps(select(_mm256_cmp_ps(x, zero, _CMP_GT_OQ), x, zero), log1p_unit(e));
  return select(negligible, zero, _mm256_mul_ps(_mm256_mul_ps(softplus, sigmoid), sigmoid));
}

ASSIGNSCOPE_AVX2 double avx2_total(const float* logits, int64_t num_classes) {
  __m256 lanes = _mm256_setzero_ps();
  int64_t c = 0;
  for (; c + kLanes <= num_classes; c += kLanes)
    lanes = _mm256_add_ps(lanes, soft_background_term(_mm256_loadu_ps(logits + c)));
  double total = 0;
  for (; c < num_classes; ++c) total += static_cast<double>(vmath::soft_background_term(logits[c]));
  alignas(32) float lane[kLanes];
  _mm256_store_ps(lane, lanes);
  for (float v : lane) total += static_cast<double>(v);
  return total;
}
#undef ASSIGNSCOPE_AVX2
#endif

using TotalFn = double (*)(const float*, int64_t);

TotalFn total_fn(VectorPath path) {
#if ASSIGNSCOPE_HAVE_AVX2_PATH
  if (path == VectorPath::kAvx2) return avx2_total;
#endif
  (void)path;
  return baseline_total;
}

VectorPath choose_path() {
#if ASSIGNSCOPE_HAVE_AVX2_PATH
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) return VectorPath::kAvx2;
#endif
  return VectorPath::kBaseline;
}

}  // namespace

const char* vector_path_name(VectorPath path) { return path == VectorPath::kAvx2 ? "avx2" : "baseline"; }

VectorPath class_total_path() {
  static const VectorPath path = choose_path();
  return path;
}

bool vector_path_available(VectorPath path) {
  return path == VectorPath::kBaseline || (path == VectorPath::kAvx2 && class_total_path() == VectorPath::kAvx2);
}

double soft_class_background_total_on(VectorPath path, const float* logits, int64_t num_classes) {
  return total_fn(path)(logits, num_classes);
}

double soft_class_background_total(const float* logits, int64_t num_classes) {
  static const TotalFn chosen = total_fn(class_total_path());
  return chosen(logits, num_classes);
}

}  // namespace assignscope::cost
