// The shared building blocks against values worked out by hand: IoU, inside
// tests, the cost terms of dynamic soft label, dynamic k, top-k, argmin.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include <doctest/doctest.h>

#include "cost/terms.h"
#include "geometry/boxes.h"
#include "match/dynamic_k.h"

namespace assignscope {

TEST_CASE("geometry: IoU as mmdet's bbox_overlaps") {
  const float a[4] = {0, 0, 10, 10};
  const float quarter[4] = {5, 5, 15, 15};  // overlap 25, union 175
  const float tall[4] = {0, 0, 10, 20};     // overlap 100, union 200
  const float apart[4] = {20, 20, 30, 30};
  const float point[4] = {3, 3, 3, 3};
  CHECK(geometry::area(a) == 100.0f);
  CHECK(geometry::iou(a, quarter) == doctest::Approx(25.0 / 175.0).epsilon(1e-7));
  CHECK(geometry::iou(a, tall) == 0.5f);
  CHECK(geometry::iou(a, a) == 1.0f);
  CHECK(geometry::iou(a, apart) == 0.0f);
  // Degenerate boxes: the union is clamped at eps = 1e-6, so 0 / 1e-6 = 0.
  CHECK(geometry::iou(point, point) == 0.0f);
  // Touching edges overlap by zero.
  const float right[4] = {10, 0, 20, 10};
  CHECK(geometry::iou(a, right) == 0.0f);
}

TEST_CASE("geometry: IoF over the first box's area, and mmyolo's yolov6 IoU") {
  const float anchor[4] = {0, 0, 8, 8};
  const float wide[4] = {0, 0, 80, 8};  // covers the anchor
  CHECK(geometry::iof(anchor, wide, geometry::area(anchor)) == 1.0f);
  CHECK(geometry::iof(wide, anchor, geometry::area(wide)) == doctest::Approx(0.1).epsilon(1e-7));
  const float point[4] = {3, 3, 3, 3};
  CHECK(geometry::iof(point, anchor, geometry::area(point)) == 0.0f);  // 0 / eps
  // yolov6_iou_calculator: overlap / (area + area - overlap + 1e-9).
  const float a[4] = {0, 0, 10, 10};
  const float quarter[4] = {5, 5, 15, 15};
  CHECK(geometry::iou_yolov6(a, quarter) == doctest::Approx(25.0 / 175.0).epsilon(1e-7));
  CHECK(geometry::iou_yolov6(a, a) == 1.0f);
  // Inverted boxes have area 0 there (clipped), not a negative area.
  const float inverted[4] = {10, 10, 0, 0};
  CHECK(geometry::iou_yolov6(a, inverted) == 0.0f);
  CHECK(geometry::iou_yolov6(point, point) == 0.0f);  // 0 / 1e-9
}

TEST_CASE("geometry: the inside test is strict") {
  const float box[4] = {16, 16, 48, 48};
  CHECK(geometry::strictly_inside(20, 20, box));
  CHECK_FALSE(geometry::strictly_inside(16, 20, box));  // on the left edge
  CHECK_FALSE(geometry::strictly_inside(48, 47, box));  // on the right edge
  CHECK_FALSE(geometry::strictly_inside(8, 20, box));
  CHECK(geometry::inside(20, 30, box, 3.99f));  // nearest edge: x - x1 = 4
  CHECK_FALSE(geometry::inside(20, 30, box, 4.0f));
  CHECK_FALSE(geometry::strictly_inside(NAN, 30, box));
  const float nan_box[4] = {16, 16, NAN, 48};
  CHECK_FALSE(geometry::strictly_inside(20, 20, nan_box));
  CHECK(geometry::centre_x(box) == 32.0f);
  CHECK(geometry::centre_y(box) == 32.0f);
}

TEST_CASE("cost: soft centre prior 10^(d/stride - r)") {
  // Prior at the GT centre: 10^-3.
  CHECK(cost::soft_center_prior(8, 8, 8, 8, 8, 3) == doctest::Approx(1e-3));
  // Three strides away: 10^0.
  CHECK(cost::soft_center_prior(8, 8, 8, 32, 8, 3) == doctest::Approx(1.0));
  // A 3-4-5 triangle of 40 px at stride 8: 5 strides, 10^2.
  CHECK(cost::soft_center_prior(8, 8, 8, 32, 40, 3) == doctest::Approx(100.0));
  // Far away it overflows float32 to +inf, as the reference does.
  CHECK(std::isinf(cost::soft_center_prior(0, 0, 1, 400, 0, 3)));
}

TEST_CASE("cost: -log(IoU + eps) * weight") {
  CHECK(cost::log_iou_cost(0.5f, 3.0f, 1e-7f) == doctest::Approx(3.0 * std::log(2.0)).epsilon(1e-6));
  CHECK(cost::log_iou_cost(1.0f, 3.0f, 1e-7f) == doctest::Approx(-3e-7).epsilon(0.05));
  CHECK(cost::log_iou_cost(0.0f, 3.0f, 1e-7f) == doctest::Approx(-3.0 * std::log(1e-7)).epsilon(1e-6));
}

TEST_CASE("cost: BCE with logits and the soft class term") {
  // BCE(x, y) = softplus(x) - x*y from the Logit terms.
  const auto bce = [](double x, double y) {
    const cost::Logit l = cost::logit_terms(x);
    return l.softplus - l.x * y;
  };
  CHECK(bce(0, 0) == doctest::Approx(std::log(2.0)));
  CHECK(bce(0, 1) == doctest::Approx(std::log(2.0)));
  CHECK(bce(2, 1) == doctest::Approx(std::log1p(std::exp(-2.0))));
  CHECK(bce(-3, 0.5) == doctest::Approx(1.5 + std::log1p(std::exp(-3.0))));
  // Large logits neither overflow nor lose the linear part.
  CHECK(bce(100, 0) == doctest::Approx(100.0));
  CHECK(bce(-100, 1) == doctest::Approx(100.0));
  // |y - sigmoid(0)|^2 = 0 when y = 0.5; = 1/4 when y = 1.
  CHECK(cost::soft_class_term(0, 0.5) == 0.0);
  CHECK(cost::soft_class_term(0, 1) == doctest::Approx(std::log(2.0) / 4));
  // sigmoid and softplus are stable at both ends.
  CHECK(cost::logit_terms(-800).sigmoid == 0.0);
  CHECK(cost::logit_terms(800).sigmoid == 1.0);
  CHECK(cost::logit_terms(800).softplus == 800.0);
  CHECK(cost::logit_terms(-40).sigmoid == doctest::Approx(std::exp(-40.0)).epsilon(1e-12));
}

TEST_CASE("cost: the soft class cost over C classes equals a per-prior total plus a correction") {
  std::mt19937 rng(7);
  std::normal_distribution<float> logit(-3.0f, 2.5f);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  const int num_classes = 80;
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<float> x(num_classes);
    for (float& v : x) v = logit(rng);
    const int label = trial % num_classes;
    const float iou = unit(rng);
    double direct = 0;  // the reference's way: a soft one-hot target, C terms
    for (int c = 0; c < num_classes; ++c)
      direct += cost::soft_class_term(static_cast<double>(x[c]), c == label ? static_cast<double>(iou) : 0.0);
    const double total = cost::soft_class_background_total(x.data(), num_classes);
    CHECK(cost::soft_class_cost(total, cost::logit_terms(static_cast<double>(x[label])), iou) ==
          doctest::Approx(direct).epsilon(1e-6));
  }
}

TEST_CASE("match: dynamic k = max(1, int(sum of the top-k IoUs))") {
  CHECK(match::dynamic_k({0.9f, 0.8f, 0.7f, 0.1f}, 13) == 2);  // 2.5
  CHECK(match::dynamic_k({0.3f}, 13) == 1);                    // clamped up
  CHECK(match::dynamic_k({}, 13) == 1);
  CHECK(match::dynamic_k({0.9f, 0.8f, 0.7f}, 2) == 1);              // only the top 2: 1.7
  CHECK(match::dynamic_k({0.1f, 1.0f, 0.2f, 1.0f, 1.0f}, 3) == 3);  // top 3 regardless of order
  CHECK(match::dynamic_k({1.0f, 1.0f, 1.0f, 1.0f}, 13) == 4);
  CHECK(match::dynamic_k({NAN, 0.5f}, 13) == 1);  // NaN sum: k = 1, no UB
}

TEST_CASE("match: k smallest, ties to the lower index") {
  const float cost[] = {3, 1, 2, 1, 0.5f};
  CHECK(match::k_smallest(cost, 5, 2) == std::vector<int32_t>{4, 1});
  CHECK(match::k_smallest(cost, 5, 3) == std::vector<int32_t>{4, 1, 3});
  CHECK(match::k_smallest(cost, 5, 0).empty());
  CHECK(match::k_smallest(cost, 5, 5) == std::vector<int32_t>{4, 1, 3, 2, 0});
  const float with_nan[] = {NAN, 2, 1};
  CHECK(match::k_smallest(with_nan, 3, 2) == std::vector<int32_t>{2, 1});  // NaN sorts last
  const float inf[] = {INFINITY, 5, INFINITY};
  CHECK(match::k_smallest(inf, 3, 2) == std::vector<int32_t>{1, 0});
}

TEST_CASE("k_smallest: the one-pass small-k path and the selection path agree with a full sort") {
  // Random costs from a few values (many ties) with NaNs; every k, both
  // paths (k <= 32 with n > 4k takes the one pass), against sorting all.
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> pick(0, 9);
  for (int n : {1, 5, 40, 200}) {
    std::vector<float> cost(static_cast<size_t>(n));
    for (float& c : cost) {
      const int v = pick(rng);
      c = v == 9 ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(v % 4) * 0.5f;
    }
    std::vector<int32_t> all(static_cast<size_t>(n));
    std::iota(all.begin(), all.end(), 0);
    std::sort(all.begin(), all.end(), [&](int32_t a, int32_t b) {
      const bool na = std::isnan(cost[a]), nb = std::isnan(cost[b]);
      if (na || nb) return na == nb ? a < b : nb;
      return cost[a] < cost[b] || (cost[a] == cost[b] && a < b);
    });
    for (int k = 0; k <= n; ++k) {
      CAPTURE(n);
      CAPTURE(k);
      CHECK(match::k_smallest(cost.data(), n, k) == std::vector<int32_t>(all.begin(), all.begin() + k));
    }
  }
}

TEST_CASE("match: argmin returns the first minimum, as torch.min") {
  const std::vector<float> cost = {2, 1, 1, 3};
  CHECK(match::argmin_cost(4, [&](int32_t g) { return cost[g]; }) == 1);
  CHECK(match::argmin_cost(1, [&](int32_t g) { return cost[g]; }) == 0);
  const std::vector<float> with_nan = {2, 1, NAN, 0};
  CHECK(match::argmin_cost(4, [&](int32_t g) { return with_nan[g]; }) == 2);
}

}  // namespace assignscope
