// The per-prior class totals of the cost-based assigners, vectorised, with
// the vector width chosen at run time.
//
// soft_class_background_total (cost/terms.h) sums RTMDet's background class
// term softplus(x_c) * sigmoid(x_c)^2 over a prior's C logits: the float32
// terms of cost/vector_math.h (only +, -, *, /, compares, selects and exact
// conversions: every lane width gives the same bits), summed in eight float32
// lanes (lane l takes the terms c = 8m + l below C rounded down to a multiple
// of 8), then in float64: the last C mod 8 terms in order, then lanes 0..7.
// Both paths keep that order, so their totals are bit-identical; FMA is not
// used (no fused operation in the reference's kernels that these terms follow).
//
//   baseline  the compiler's vectorisation of vector_math.h for x86-64's
//             baseline SSE2 (four lanes, two per eight-lane group)
//   avx2      the same operations in AVX2 intrinsics, eight lanes: one
//             vector per group (`__attribute__((target("avx2")))`, taken
//             when __builtin_cpu_supports("avx2"))
#pragma once

#include <cstdint>

namespace assignscope::cost {

enum class VectorPath { kBaseline, kAvx2 };
const char* vector_path_name(VectorPath path);

// The path soft_class_background_total takes on this CPU (fixed at the
// first call).
VectorPath class_total_path();
// Whether this CPU (and build) can run `path`.
bool vector_path_available(VectorPath path);
// The total on a given path (tests, benchmarks); `path` must be available.
double soft_class_background_total_on(VectorPath path, const float* logits, int64_t num_classes);

}  // namespace assignscope::cost
