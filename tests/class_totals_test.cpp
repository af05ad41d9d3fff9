// The per-prior class totals: every vector path gives the bits of the
// documented order, and the CPU's widest path is the one that runs.
#include "cost/class_totals.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "cost/terms.h"
#include "cost/vector_math.h"

using namespace assignscope;

namespace {

// cost/class_totals.h's order, one scalar term at a time: lane l sums the
// terms c = 8m + l below C rounded down to 8, in float32; then, in float64,
// the last C mod 8 terms in order and lanes 0..7.
double documented_order_total(const std::vector<float>& x) {
  const size_t full = x.size() / 8 * 8;
  float lane[8] = {};
  for (size_t c = 0; c < full; ++c) lane[c % 8] += cost::vmath::soft_background_term(x[c]);
  double total = 0;
  for (size_t c = full; c < x.size(); ++c) total += static_cast<double>(cost::vmath::soft_background_term(x[c]));
  for (float v : lane) total += static_cast<double>(v);
  return total;
}

bool same_bits(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  uint64_t ua = 0, ub = 0;
  std::memcpy(&ua, &a, sizeof a);
  std::memcpy(&ub, &b, sizeof b);
  return ua == ub;
}

// Logit rows: late-training background, confident classes, the branch
// points of vector_math.h (-87, -29, 0, the log's sqrt(2)) and non-finite
// values.
std::vector<float> row(std::mt19937* rng, int num_classes, int kind) {
  std::normal_distribution<float> background(-6.0f, 1.0f), label(1.0f, 1.2f);
  std::uniform_real_distribution<float> wide(-100.0f, 100.0f);
  const float edges[] = {-87.0f,
                         std::nextafter(-87.0f, 0.0f),
                         -88.0f,
                         -29.0f,
                         std::nextafter(-29.0f, 0.0f),
                         std::nextafter(-29.0f, -30.0f),
                         0.0f,
                         -0.0f,
                         std::numeric_limits<float>::denorm_min(),
                         -std::numeric_limits<float>::min(),
                         -0.8813736f,  // exp(-|x|) near sqrt(2) - 1
                         1e-8f,
                         -1e-8f,
                         17.0f,
                         88.0f,
                         1e30f,
                         -1e30f,
                         std::numeric_limits<float>::infinity(),
                         -std::numeric_limits<float>::infinity()};
  std::uniform_int_distribution<size_t> pick_edge(0, sizeof edges / sizeof edges[0] - 1);
  std::vector<float> x(static_cast<size_t>(num_classes));
  for (float& v : x) {
    switch (kind) {
      case 0: v = background(*rng); break;
      case 1: v = (*rng)() % 8 == 0 ? label(*rng) : background(*rng); break;
      case 2: v = wide(*rng); break;
      default: v = (*rng)() % 3 == 0 ? edges[pick_edge(*rng)] : wide(*rng); break;
    }
  }
  if (kind == 4 && num_classes > 0) x[(*rng)() % x.size()] = std::numeric_limits<float>::quiet_NaN();
  return x;
}

}  // namespace

TEST_CASE("class totals: the CPU's widest vector path runs") {
  const cost::VectorPath path = cost::class_total_path();
  MESSAGE("class totals run on the " << std::string(cost::vector_path_name(path)) << " path");
  CHECK(cost::vector_path_available(cost::VectorPath::kBaseline));
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") != 0;
  CHECK(cost::vector_path_available(cost::VectorPath::kAvx2) == avx2);
  CHECK(path == (avx2 ? cost::VectorPath::kAvx2 : cost::VectorPath::kBaseline));
#endif
}

TEST_CASE("class totals: every path gives the documented order's bits") {
  std::mt19937 rng(18);
  const cost::VectorPath paths[] = {cost::VectorPath::kBaseline, cost::VectorPath::kAvx2};
  int rows = 0;
  for (int num_classes = 0; num_classes <= 400; num_classes += num_classes < 40 ? 1 : 23) {
    for (int kind = 0; kind < 5; ++kind) {
      const std::vector<float> x = row(&rng, num_classes, kind);
      const double expected = documented_order_total(x);
      CAPTURE(num_classes);
      CAPTURE(kind);
      CHECK(same_bits(cost::soft_class_background_total(x.data(), num_classes), expected));
      for (cost::VectorPath path : paths) {
        if (!cost::vector_path_available(path)) continue;
        const std::string path_name = cost::vector_path_name(path);
        CAPTURE(path_name);
        CHECK(same_bits(cost::soft_class_background_total_on(path, x.data(), num_classes), expected));
      }
      ++rows;
    }
  }
  CHECK(rows > 200);
}

TEST_CASE("class totals: each lane's term is vector_math.h's scalar term") {
  // One class at a time in lane 0 of a group of eight zeros' terms: the
  // vector term of every value equals the scalar one (a sweep over the
  // float32 line, every branch point included).
  std::vector<float> x(8, -100.0f);  // terms 0: only x[0] counts
  std::vector<float> values;
  for (float v = -100.0f; v < 100.0f; v += 0.037f) values.push_back(v);
  for (float v : {-87.0f, -29.0f, 0.0f, -0.0f, 1e-20f, -1e-20f, 1.0f, -1.0f}) {
    values.push_back(v);
    values.push_back(std::nextafter(v, 200.0f));
    values.push_back(std::nextafter(v, -200.0f));
  }
  for (cost::VectorPath path : {cost::VectorPath::kBaseline, cost::VectorPath::kAvx2}) {
    if (!cost::vector_path_available(path)) continue;
    const std::string path_name = cost::vector_path_name(path);
    CAPTURE(path_name);
    for (float v : values) {
      x[0] = v;
      CAPTURE(v);
      CHECK(same_bits(cost::soft_class_background_total_on(path, x.data(), 8),
                      static_cast<double>(cost::vmath::soft_background_term(v))));
    }
  }
}
