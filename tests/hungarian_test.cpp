// mmdetection's HungarianAssigner on tiny hand-made images whose costs are
// worked out by hand in the comments.
//
// Cost of query q for GT g (defaults): 2 * focal(x) + 5 * L1 + 2 * (-GIoU),
// boxes normalised by the image's (w, h). With logit x = 0, p = 0.5 and
//   focal = 0.25 * -ln(0.5) * 0.5^2 - 0.75 * -ln(0.5) * 0.5^2 = -ln(2) / 8,
// so the class term is -ln(2) / 4 = -0.1732868 for every pair: queries whose
// logits are all 0 compete on their boxes only.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "analysis/stats.h"
#include "assign/config.h"
#include "io/dump.h"
#include "test_support.h"

namespace assignscope {
namespace {

using testing::find_pair;
using testing::make_problem;
using testing::run_assigner;

const double kClsAtZero = -std::log(2.0) / 4.0;

// Queries with their predicted boxes and logits, in an image of h x w.
Problem detr_problem(int64_t h, int64_t w, const std::vector<std::array<float, 4>>& preds,
                     const std::vector<std::vector<float>>& logits, const std::vector<std::array<float, 4>>& gts,
                     const std::vector<int64_t>& labels) {
  std::vector<std::array<float, 4>> priors;
  for (size_t q = 0; q < preds.size(); ++q) priors.push_back({0, 0, 1, 1});  // DETR queries have no location
  Problem p = make_problem(priors, preds, logits, gts, labels);
  p.meta.image_size = std::array<int64_t, 2>{h, w};
  return p;
}

}  // namespace

TEST_CASE("hungarian: parameters and defaults are the golden params.json's") {
  const auto* info = assign::find_assigner("hungarian");
  REQUIRE(info);
  const nlohmann::ordered_json defaults = assign::default_params(*info).to_json();
  const nlohmann::ordered_json expected = nlohmann::ordered_json::parse(
      R"({"cls_weight": 2.0, "cls_cost": "focal", "focal_alpha": 0.25, "focal_gamma": 2.0, "l1_weight": 5.0,
          "box_format": "xywh", "iou_weight": 2.0, "iou_mode": "giou", "match_costs": null})");
  CHECK(defaults == expected);
  Params params = assign::default_params(*info);
  CHECK_FALSE(params.set("box_format", "cxcywh").ok());
  CHECK_FALSE(params.set("iou_mode", "iof").ok());
  CHECK_FALSE(params.set("focal_alpha", "1.5").ok());
}

TEST_CASE("hungarian: G = 0 makes every query negative, without costing") {
  const Problem p = detr_problem(50, 100, {{0, 0, 10, 10}, {5, 5, 20, 20}}, {{0.0f}, {0.0f}}, {}, {});
  const Assignment a = run_assigner("hungarian", p);
  CHECK(a.gt_inds == std::vector<int64_t>{0, 0});
  CHECK(a.labels == std::vector<int64_t>{-1, -1});
  CHECK(a.max_overlaps == std::vector<float>{0.0f, 0.0f});
  CHECK_FALSE(a.dynamic_ks.has_value());
  CHECK(a.candidates.empty());
  CHECK(a.notes.size() == 1);
}

TEST_CASE("hungarian: N = 0 assigns nothing") {
  const Problem p = detr_problem(50, 100, {}, {}, {{0, 0, 10, 10}}, {0});
  const Assignment a = run_assigner("hungarian", p);
  CHECK(a.gt_inds.empty());
  CHECK(a.candidates.empty());
}

TEST_CASE("hungarian: needs meta.image_size, named as a meta key") {
  const auto* info = assign::find_assigner("hungarian");
  REQUIRE(info);
  Problem p = detr_problem(50, 100, {{0, 0, 10, 10}}, {{0.0f}}, {{0, 0, 10, 10}}, {0});
  const Params params = assign::default_params(*info);
  CHECK(assign::check_needs(*info, p).ok());
  CHECK(info->check(params, p).ok());
  p.meta.image_size.reset();
  testing::check_error(info->check(params, p), ErrorKind::kInvalidInput, "meta key 'image_size'",
                       {"[height, width]", "meta.json", "hungarian"});
  // Other assigners do not need it.
  const auto* simota = assign::find_assigner("simota");
  REQUIRE(simota);
  CHECK(assign::check_needs(*simota, p).ok());
  CHECK(!simota->check);
}

TEST_CASE("hungarian: each cost term of one pair, by hand, as box_format and iou_mode switch them") {
  // Image h = 50, w = 100. GT [10, 10, 30, 30], class 0; the query predicts
  // [20, 10, 50, 40] with logit 0 at class 0 (class 1's logit 5 is not read).
  //   cls  = -ln(2) / 4 = -0.1732868
  //   xywh: pred (35, 25, 30, 30) / (100, 50, 100, 50) = (0.35, 0.5, 0.3, 0.6),
  //         GT (20, 20, 20, 20) -> (0.2, 0.4, 0.2, 0.4):
  //         L1 = 0.15 + 0.1 + 0.1 + 0.2 = 0.55, term 5 * 0.55 = 2.75
  //   xyxy: pred (0.2, 0.2, 0.5, 0.8), GT (0.1, 0.2, 0.3, 0.6):
  //         L1 = 0.1 + 0 + 0.2 + 0.2 = 0.5, term 2.5
  //   overlap [20, 30] x [10, 30] = 200, union 900 + 400 - 200 = 1100,
  //   IoU = 2/11; enclosing [10, 50] x [10, 40] = 1200,
  //   GIoU = 2/11 - 100/1200 = 0.0984848: term -0.1969697 (giou), -4/11 (iou).
  const Problem p = detr_problem(50, 100, {{20, 10, 50, 40}}, {{0.0f, 5.0f}}, {{10, 10, 30, 30}}, {0});
  const double giou = 2.0 / 11.0 - 100.0 / 1200.0;
  struct Variant {
    const char* box_format;
    const char* iou_mode;
    double l1, iou;
  };
  for (const Variant v : {Variant{"xywh", "giou", 2.75, -2.0 * giou}, Variant{"xyxy", "giou", 2.5, -2.0 * giou},
                          Variant{"xywh", "iou", 2.75, -4.0 / 11.0}, Variant{"xyxy", "iou", 2.5, -4.0 / 11.0}}) {
    CAPTURE(v.box_format);
    CAPTURE(v.iou_mode);
    const Assignment a = run_assigner("hungarian", p, {{"box_format", v.box_format}, {"iou_mode", v.iou_mode}});
    CHECK(a.gt_inds == std::vector<int64_t>{1});
    CHECK(a.labels == std::vector<int64_t>{0});
    CHECK(a.max_overlaps[0] == doctest::Approx(2.0 / 11.0).epsilon(1e-6));  // plain IoU in both modes
    CHECK(a.cost_terms == std::vector<std::string>{"cls", "l1", "iou"});
    const CandidatePair* pair = find_pair(a, 0, 0);
    REQUIRE(pair);
    CHECK(pair->picked);
    CHECK_FALSE(pair->inside);
    CHECK(pair->terms[0] == doctest::Approx(kClsAtZero).epsilon(1e-6));
    CHECK(pair->terms[1] == doctest::Approx(v.l1).epsilon(1e-6));
    CHECK(pair->terms[2] == doctest::Approx(v.iou).epsilon(1e-6));
    CHECK(pair->cost == doctest::Approx(kClsAtZero + v.l1 + v.iou).epsilon(1e-6));
    CHECK(pair->iou == doctest::Approx(2.0 / 11.0).epsilon(1e-6));
  }
}

TEST_CASE("hungarian: the class cost reads the GT class's logit, weighted and with alpha, gamma") {
  // Logit 0 at class 1 (the GT's), anything at class 0.
  const Problem p = detr_problem(50, 100, {{10, 10, 30, 30}}, {{-7.0f, 0.0f}}, {{10, 10, 30, 30}}, {1});
  const Assignment a = run_assigner("hungarian", p);
  REQUIRE(find_pair(a, 0, 0));
  CHECK(find_pair(a, 0, 0)->terms[0] == doctest::Approx(kClsAtZero).epsilon(1e-6));
  // cls_weight 1, alpha 0.5, gamma 1 at p = 0.5: 0.5 * ln2 * 0.5 - 0.5 * ln2 * 0.5 = 0.
  const Assignment balanced =
      run_assigner("hungarian", p, {{"cls_weight", "1"}, {"focal_alpha", "0.5"}, {"focal_gamma", "1"}});
  CHECK(find_pair(balanced, 0, 0)->terms[0] == 0.0f);
  // Logit 2 (p = 0.8807971), defaults:
  //   pos = -ln(p) * 0.25 * (1 - p)^2 = 0.1269280 * 0.25 * 0.0142093 = 0.000450891
  //   neg = -ln(1 - p) * 0.75 * p^2   = 2.1269280 * 0.75 * 0.7758035 = 1.2375587
  //   cls = 2 * (pos - neg) = -2.4742156
  const Problem confident = detr_problem(50, 100, {{10, 10, 30, 30}}, {{-7.0f, 2.0f}}, {{10, 10, 30, 30}}, {1});
  CHECK(find_pair(run_assigner("hungarian", confident), 0, 0)->terms[0] == doctest::Approx(-2.4742156).epsilon(1e-6));
}

TEST_CASE("hungarian: eps keeps the class cost finite when sigmoid rounds to 1 in float32") {
  // Logit 20: sigmoid is 1.0f exactly, 1 - p = 0, and -log(0 + 1e-12) = 27.631021
  // (log of float32 1e-12): neg = 27.631021 * 0.75 * 1 = 20.723266,
  // pos = -log(1 + 1e-12) * ... = 0: cls = -41.446532.
  const Problem p = detr_problem(50, 100, {{10, 10, 30, 30}}, {{20.0f}}, {{10, 10, 30, 30}}, {0});
  const Assignment a = run_assigner("hungarian", p);
  CHECK(find_pair(a, 0, 0)->terms[0] == doctest::Approx(-41.446532).epsilon(1e-6));
}

TEST_CASE("hungarian: box_format decides between a shifted and a stretched prediction") {
  // Image 50 x 100, GT [10, 10, 30, 30], both logits 0 (equal class terms).
  // Query 0 shifted right by 10: [20, 10, 40, 30]; query 1 stretched right by
  // 15: [10, 10, 45, 30].
  //   xywh L1: q0 0.1 (centre x) -> 0.5;  q1 0.075 + 0.15 = 0.225 -> 1.125
  //   xyxy L1: q0 0.1 + 0.1 = 0.2 -> 1.0; q1 0.15 -> 0.75
  //   GIoU: q0 overlap 200, union 600, enclosing 600: 1/3 -> -0.6667
  //         q1 overlap 400, union 700, enclosing 700: 4/7 -> -1.1429
  //   xywh: q0 -0.1667 < q1 -0.0179 (+ cls each): query 0
  //   xyxy: q0 0.3333 > q1 -0.3929: query 1
  const Problem p =
      detr_problem(50, 100, {{20, 10, 40, 30}, {10, 10, 45, 30}}, {{0.0f}, {0.0f}}, {{10, 10, 30, 30}}, {0});
  CHECK(run_assigner("hungarian", p).gt_inds == std::vector<int64_t>{1, 0});
  CHECK(run_assigner("hungarian", p, {{"box_format", "xyxy"}}).gt_inds == std::vector<int64_t>{0, 1});
}

TEST_CASE("hungarian: iou_mode decides between a diagonal and an aligned prediction") {
  // GT [10, 10, 30, 30] (area 400), L1 off, logits 0.
  // Query 0 [20, 20, 40, 40]: overlap 100, union 700, IoU 1/7 = 0.1429,
  //   enclosing 30 x 30 = 900: GIoU 1/7 - 200/900 = -0.0794.
  // Query 1 [26, 10, 46, 30]: overlap 80, union 720, IoU 1/9 = 0.1111,
  //   enclosing 36 x 20 = 720: GIoU = IoU = 0.1111.
  // iou: query 0 has the larger overlap; giou: query 1.
  const Problem p =
      detr_problem(100, 100, {{20, 20, 40, 40}, {26, 10, 46, 30}}, {{0.0f}, {0.0f}}, {{10, 10, 30, 30}}, {0});
  CHECK(run_assigner("hungarian", p, {{"l1_weight", "0"}}).gt_inds == std::vector<int64_t>{0, 1});
  CHECK(run_assigner("hungarian", p, {{"l1_weight", "0"}, {"iou_mode", "iou"}}).gt_inds == std::vector<int64_t>{1, 0});
}

TEST_CASE("hungarian: the joint optimum, not each GT's cheapest query") {
  // Two GTs with the same box, classes 0 and 1; both queries predict that box,
  // so only the class terms differ (f(x) = focal cost * 2 at logit x):
  //   f(4) = -5.8124, f(3) = -4.1493, f(1) = -1.0415, f(-2) = 0.8223.
  // Query 0 logits (4, 1), query 1 logits (3, -2):
  //   q0 -> GT 0, q1 -> GT 1: f(4) + f(-2) = -4.9901
  //   q0 -> GT 1, q1 -> GT 0: f(1) + f(3)  = -5.1908   <- optimum
  // although query 0 is GT 0's cheapest (f(4) < f(3)) and the cheapest pair.
  const Problem p = detr_problem(100, 100, {{10, 10, 40, 40}, {10, 10, 40, 40}}, {{4.0f, 1.0f}, {3.0f, -2.0f}},
                                 {{12, 12, 38, 38}, {12, 12, 38, 38}}, {0, 1});
  const Assignment a = run_assigner("hungarian", p);
  CHECK(a.gt_inds == std::vector<int64_t>{2, 1});
  CHECK(a.labels == std::vector<int64_t>{1, 0});
  // GT 0's reported pairs: both queries (its cheapest), query 1 picked.
  const CandidatePair* cheapest = find_pair(a, 0, 0);
  const CandidatePair* matched = find_pair(a, 1, 0);
  REQUIRE(cheapest);
  REQUIRE(matched);
  CHECK_FALSE(cheapest->picked);
  CHECK(matched->picked);
  CHECK(cheapest->cost < matched->cost);
  CHECK(cheapest->terms[0] == doctest::Approx(-5.8124).epsilon(1e-4));
  CHECK(matched->terms[0] == doctest::Approx(-4.1493).epsilon(1e-4));
  const analysis::ImageStats s = analysis::compute_stats(p, a);
  CHECK(s.gts[0].positives == 1);
  CHECK(s.gts[0].picked == 1);
  CHECK(s.gts[0].lost == 0);
}

TEST_CASE("hungarian: a GT outside the image is matched like any other") {
  // Image 50 x 100; GT [120, 60, 140, 80] lies beyond both edges (normalised
  // centre (1.3, 1.4)). Query 0 predicts [110, 55, 130, 75] (centre (1.2, 1.3)):
  //   L1 (xywh) = 0.1 + 0.1 + 0 + 0 = 0.2 -> 1.0
  //   overlap 10 x 15 = 150, union 650, IoU 0.2307692; enclosing 30 x 25 = 750,
  //   GIoU = 0.2307692 - 100/750 = 0.0974359 -> -0.1948718
  // Query 1 predicts [10, 10, 30, 30]: L1 = 1.1 + 1.0 -> 10.5, far dearer.
  const Problem p =
      detr_problem(50, 100, {{110, 55, 130, 75}, {10, 10, 30, 30}}, {{0.0f}, {0.0f}}, {{120, 60, 140, 80}}, {0});
  const Assignment a = run_assigner("hungarian", p);
  CHECK(a.gt_inds == std::vector<int64_t>{1, 0});
  CHECK(a.max_overlaps[0] == doctest::Approx(150.0 / 650.0).epsilon(1e-6));
  CHECK(a.max_overlaps[1] == 0.0f);
  const CandidatePair* pair = find_pair(a, 0, 0);
  REQUIRE(pair);
  CHECK(pair->terms[1] == doctest::Approx(1.0).epsilon(1e-5));
  CHECK(pair->terms[2] == doctest::Approx(-2.0 * (150.0 / 650.0 - 100.0 / 750.0)).epsilon(1e-6));
  CHECK(find_pair(a, 1, 0)->terms[1] == doctest::Approx(10.5).epsilon(1e-5));
}

TEST_CASE("hungarian: more GTs than queries leaves GTs unmatched") {
  // Image 100 x 100, GTs [0, 0, 20, 20], [40, 40, 60, 60], [80, 80, 100, 100];
  // query 0 predicts GT 0 exactly, query 1 GT 2; logits 0.
  //   exact pair: L1 0, GIoU 1 -> -2
  //   next GT (centres 0.4 apart per axis): L1 0.8 -> 4, GIoU -2800/3600 -> +1.556
  //   far GT: L1 1.6 -> 8, GIoU -9200/10000 -> +1.84
  // (GT 0, GT 2) costs -4, any matching with GT 1 at least 3.556: GT 1 is left out.
  const Problem p = detr_problem(100, 100, {{0, 0, 20, 20}, {80, 80, 100, 100}}, {{0.0f}, {0.0f}},
                                 {{0, 0, 20, 20}, {40, 40, 60, 60}, {80, 80, 100, 100}}, {0, 0, 0});
  const Assignment a = run_assigner("hungarian", p);
  CHECK(a.gt_inds == std::vector<int64_t>{1, 3});
  CHECK(a.max_overlaps == std::vector<float>{1.0f, 1.0f});
  REQUIRE(a.notes.size() == 1);
  CHECK(a.notes[0].find("3 GTs for 2 queries") != std::string::npos);
  const analysis::ImageStats s = analysis::compute_stats(p, a);
  CHECK(s.starved_gts == std::vector<int64_t>{1});
  // GT 1 still reports what it competed for: both queries, neither picked.
  REQUIRE(find_pair(a, 0, 1));
  REQUIRE(find_pair(a, 1, 1));
  CHECK_FALSE(find_pair(a, 0, 1)->picked);
  CHECK(find_pair(a, 0, 1)->terms[1] == doctest::Approx(4.0).epsilon(1e-6));
  CHECK(find_pair(a, 0, 1)->terms[2] == doctest::Approx(2.0 * 2800.0 / 3600.0).epsilon(1e-6));
}

TEST_CASE("hungarian: each GT reports its three cheapest queries and its match") {
  // Five queries, one GT [10, 10, 30, 30] in a 100 x 100 image. Queries 0-3
  // are the GT shifted right by 8, 1, 2, 3 (L1 xywh = shift / 100 * 5), query
  // 4 predicts it exactly. Cheapest: 4, then 1, 2 (query 3 and 0 are out).
  const Problem p =
      detr_problem(100, 100, {{18, 10, 38, 30}, {11, 10, 31, 30}, {12, 10, 32, 30}, {13, 10, 33, 30}, {10, 10, 30, 30}},
                   {{0.0f}, {0.0f}, {0.0f}, {0.0f}, {0.0f}}, {{10, 10, 30, 30}}, {0});
  const Assignment a = run_assigner("hungarian", p);
  CHECK(a.gt_inds == std::vector<int64_t>{0, 0, 0, 0, 1});
  std::vector<int32_t> reported;
  for (const CandidatePair& c : a.candidates) reported.push_back(c.prior);
  CHECK(reported == std::vector<int32_t>{1, 2, 4});
  CHECK(find_pair(a, 4, 0)->picked);
}

TEST_CASE("hungarian: a NaN cost is scipy's ValueError, reported as no positives") {
  // A prediction spanning -3e38..3e38: its width overflows to inf, so the
  // union and the enclosing area are inf and GIoU's (enclose - union) is NaN.
  const Problem p = detr_problem(50, 100, {{-3e38f, -3e38f, 3e38f, 3e38f}, {10, 10, 30, 30}}, {{0.0f}, {0.0f}},
                                 {{10, 10, 30, 30}}, {0});
  const Assignment a = run_assigner("hungarian", p);
  CHECK(a.num_positives() == 0);
  CHECK(a.max_overlaps == std::vector<float>{0.0f, 0.0f});
  REQUIRE(a.notes.size() == 1);
  CHECK(a.notes[0].find("matrix contains invalid numeric entries") != std::string::npos);
  // Plain IoU has no enclosing term: the cost is +inf (L1 is inf, IoU 0), a
  // forbidden pair, and the other query takes the GT.
  const Assignment iou = run_assigner("hungarian", p, {{"iou_mode", "iou"}});
  CHECK(iou.gt_inds == std::vector<int64_t>{0, 1});
  CHECK(iou.notes.empty());
  // With that query alone there is no finite matching.
  const Problem alone = detr_problem(50, 100, {{-3e38f, -3e38f, 3e38f, 3e38f}}, {{0.0f}}, {{10, 10, 30, 30}}, {0});
  const Assignment infeasible = run_assigner("hungarian", alone, {{"iou_mode", "iou"}});
  CHECK(infeasible.num_positives() == 0);
  REQUIRE(infeasible.notes.size() == 1);
  CHECK(infeasible.notes[0].find("cost matrix is infeasible") != std::string::npos);
}

TEST_CASE("hungarian: a DETR dump with all-zero priors loads, and point-prior assigners refuse it") {
  // DETR queries have no location: the golden detr-* dumps store priors as
  // (0, 0, 0, 0). Read as locations without strides (like an anchors-only
  // dump), silently; assigners that divide by a stride refuse the dump and
  // say why.
  testing::TempDir dir;
  const std::string path = dir.path("detr.json");
  std::ofstream(path) << R"({"meta": {"version": 1, "image_size": [50, 100]},
      "priors": [[0, 0, 0, 0], [0, 0, 0, 0]], "cls_scores": [[0.0], [0.0]],
      "pred_bboxes": [[20, 10, 40, 30], [10, 10, 30, 30]],
      "gt_bboxes": [[10, 10, 30, 30]], "gt_labels": [0]})";
  auto dump = io::load_dump(path);
  REQUIRE_MESSAGE(dump.ok(), dump.status().message());
  CHECK(dump->warnings.empty());
  const Problem& p = dump->batch.images[0];
  CHECK_FALSE(p.has(Field::kPriors));
  CHECK(p.num_priors() == 2);
  auto hungarian = assign::assign_batch(*assign::find_assigner("hungarian"),
                                        assign::default_params(*assign::find_assigner("hungarian")), dump->batch);
  REQUIRE(hungarian.ok());
  CHECK((*hungarian)[0].gt_inds == std::vector<int64_t>{0, 1});  // the exact prediction
  const auto* dsl = assign::find_assigner("dynamic-soft-label");
  auto refused = assign::assign_batch(*dsl, assign::default_params(*dsl), dump->batch);
  REQUIRE_FALSE(refused.ok());
  // assign_batch names the dump first, as every error about an input does.
  testing::check_error(refused.status(), ErrorKind::kInvalidInput, path + ": field 'priors' has stride 0 in every row",
                       {"DETR-style", "dynamic-soft-label needs point priors"});

  // One zero stride among real ones is still an error.
  std::ofstream(path) << R"({"priors": [[4, 4, 8, 8], [0, 0, 0, 0]], "cls_scores": [[0.0], [0.0]],
      "pred_bboxes": [[0, 0, 8, 8], [0, 0, 8, 8]], "gt_bboxes": [], "gt_labels": []})";
  auto bad = io::load_dump(path);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("stride must be > 0") != std::string::npos);
}

// --- mmdet's match_costs ----------------------------------------------------

namespace {

const char* const kDetrCosts =
    "[dict(type='ClassificationCost', weight=1.), dict(type='BBoxL1Cost', weight=5.0, box_format='xywh'), "
    "dict(type='IoUCost', iou_mode='giou', weight=2.0)]";

Params hungarian_defaults() { return assign::default_params(*assign::find_assigner("hungarian")); }

}  // namespace

TEST_CASE("hungarian: match_costs is checked and completed with the defaults of mmdet's classes") {
  Params params = hungarian_defaults();
  CHECK(params.is_null("match_costs"));
  REQUIRE(params.set("match_costs", kDetrCosts).ok());
  CHECK(params.get_structured("match_costs") == nlohmann::json::parse(R"([
      {"type": "ClassificationCost", "weight": 1.0},
      {"type": "BBoxL1Cost", "weight": 5.0, "box_format": "xywh"},
      {"type": "IoUCost", "weight": 2.0, "iou_mode": "giou"}])"));
  // Arguments left out take the class's default (match_cost.py): BBoxL1Cost's
  // box format is xyxy, unlike the flat box_format's DETR default. A call
  // FocalLossCost() reads as the dict.
  REQUIRE(params.set("match_costs", "[FocalLossCost(), dict(type='BBoxL1Cost'), dict(type='mmdet.IoUCost')]").ok());
  CHECK(params.get_structured("match_costs") == nlohmann::json::parse(R"([
      {"type": "FocalLossCost", "weight": 1.0, "alpha": 0.25, "gamma": 2.0, "eps": 1e-12, "binary_input": false},
      {"type": "BBoxL1Cost", "weight": 1.0, "box_format": "xyxy"},
      {"type": "IoUCost", "weight": 1.0, "iou_mode": "giou"}])"));
  // One dict is a list of one, as HungarianAssigner wraps it; JSON as params.json holds it.
  REQUIRE(params.set("match_costs", "dict(type='IoUCost', iou_mode='iou')").ok());
  CHECK(params.get_structured("match_costs").size() == 1);
  REQUIRE(params.set_json("match_costs", nlohmann::json::parse(R"([{"type": "FocalLossCost", "gamma": 2}])")).ok());
  CHECK(params.get_structured("match_costs")[0]["gamma"] == 2.0);
  REQUIRE(params.set("match_costs", "None").ok());
  CHECK(params.is_null("match_costs"));

  struct Bad {
    const char* text;
    std::vector<const char*> words;
  };
  const Bad bad[] = {
      {"[]", {"empty list", "at least one cost"}},
      {"5", {"expected a list of cost dicts", "got 5"}},
      {"[3]", {"[0] expected a cost dict", "got 3"}},
      {"[dict(weight=1.0)]",
       {"[0] a cost dict needs a type", "FocalLossCost, ClassificationCost, BBoxL1Cost, IoUCost"}},
      {"[dict(type='IoUCost'), dict(type='DiceCost', weight=5.0)]",
       {"[1] type 'DiceCost'", "mask cost", "not replayed"}},
      {"[dict(type='IouCost')]", {"[0] type 'IouCost'", "did you mean 'IoUCost'"}},
      {"[dict(type='IoUCost', mode='giou')]", {"[0] IoUCost has no argument 'mode'", "iou_mode, weight"}},
      {"[dict(type='FocalLossCost', gama=2)]", {"'gama'", "did you mean 'gamma'"}},
      {"[dict(type='BBoxL1Cost', box_format='cxcywh')]", {"BBoxL1Cost box_format=\"cxcywh\"", "'xyxy' or 'xywh'"}},
      {"[dict(type='IoUCost', iou_mode='iof')]", {"iou_mode=\"iof\"", "iof is not replayed"}},
      {"[dict(type='FocalLossCost', alpha=1.5)]", {"alpha=1.5", "between 0 and 1"}},
      {"[dict(type='FocalLossCost', weight='2')]", {"weight=\"2\"", "expected a number"}},
      {"[dict(type='ClassificationCost', weight=-1)]", {"weight=-1", ">= 0"}},
      {"[dict(type='FocalLossCost', binary_input=True)]", {"binary_input=True", "mask", "not replayed"}},
      {"[dict(type='IoUCost', weight=w)]", {"weight=w", "Python name"}},
      {"[IoUCost(1.0)]", {"positional arguments", "name=value"}},
  };
  for (const Bad& b : bad) {
    CAPTURE(b.text);
    Params p = hungarian_defaults();
    testing::check_error(p.set("match_costs", b.text), ErrorKind::kUsage, "parameter match_costs: ", b.words);
    CHECK(p.is_null("match_costs"));  // unchanged
  }
}

TEST_CASE("hungarian: the flat keys must agree with match_costs or stay default") {
  const auto* info = assign::find_assigner("hungarian");
  REQUIRE(info);
  Params p = hungarian_defaults();
  REQUIRE(p.set("match_costs", kDetrCosts).ok());
  CHECK(assign::validate_params(*info, p, nullptr).ok());
  // Keys saying what the list says are fine (the golden params.json hold both).
  REQUIRE(p.set("cls_cost", "softmax").ok());
  REQUIRE(p.set("cls_weight", "1").ok());
  REQUIRE(p.set("iou_mode", "giou").ok());
  CHECK(assign::validate_params(*info, p, nullptr).ok());
  // A contradiction names both.
  REQUIRE(p.set("l1_weight", "3").ok());
  testing::check_error(assign::validate_params(*info, p, nullptr), ErrorKind::kUsage,
                       "parameters l1_weight=3 and match_costs disagree",
                       {"BBoxL1Cost(weight=5, box_format='xywh')", "drop l1_weight"});

  // A cost the list lacks weighs 0: its weight may be 0 or default, nothing else.
  Params iou = hungarian_defaults();
  REQUIRE(iou.set("match_costs", "[dict(type='IoUCost', iou_mode='iou')]").ok());
  CHECK(assign::validate_params(*info, iou, nullptr).ok());
  REQUIRE(iou.set("cls_weight", "0").ok());
  REQUIRE(iou.set("iou_weight", "1").ok());  // IoUCost's default weight
  CHECK(assign::validate_params(*info, iou, nullptr).ok());
  Params with_cls = iou;
  REQUIRE(with_cls.set("cls_weight", "1").ok());
  testing::check_error(assign::validate_params(*info, with_cls, nullptr), ErrorKind::kUsage,
                       "parameters cls_weight=1 and match_costs disagree", {"has no class cost"});
  Params with_alpha = iou;
  REQUIRE(with_alpha.set("focal_alpha", "0.5").ok());
  testing::check_error(assign::validate_params(*info, with_alpha, nullptr), ErrorKind::kUsage,
                       "parameters focal_alpha=0.5 and match_costs disagree", {"match_costs"});
  // Two costs of one kind: that kind's flat keys can only stay default.
  Params twice = hungarian_defaults();
  REQUIRE(twice.set("match_costs", "[dict(type='IoUCost'), dict(type='IoUCost', iou_mode='iou')]").ok());
  CHECK(assign::validate_params(*info, twice, nullptr).ok());
  REQUIRE(twice.set("iou_weight", "1").ok());
  testing::check_error(assign::validate_params(*info, twice, nullptr), ErrorKind::kUsage,
                       "parameters iou_weight=1 and match_costs disagree", {"has 2 of IoUCost"});

  // The golden params.json form: both, agreeing.
  Params golden = hungarian_defaults();
  REQUIRE(golden
              .set_all(nlohmann::json::parse(R"({"iou_weight": 1.0, "iou_mode": "iou", "cls_weight": 0.0,
      "l1_weight": 0.0, "match_costs": [{"type": "IoUCost", "weight": 1.0, "iou_mode": "iou"}]})"))
              .ok());
  CHECK(assign::validate_params(*info, golden, nullptr).ok());

  // Without match_costs: every flat weight 0 leaves no cost; keys of a cost
  // that is not used are legal but warned about.
  Params none = hungarian_defaults();
  for (const char* key : {"cls_weight", "l1_weight", "iou_weight"}) REQUIRE(none.set(key, "0").ok());
  testing::check_error(assign::validate_params(*info, none, nullptr), ErrorKind::kUsage,
                       "parameters cls_weight, l1_weight and iou_weight are all 0", {"no match cost"});
  Params softmax = hungarian_defaults();
  REQUIRE(softmax.set("cls_cost", "softmax").ok());
  REQUIRE(softmax.set("focal_alpha", "0.5").ok());
  std::vector<std::string> warnings;
  CHECK(assign::validate_params(*info, softmax, &warnings).ok());
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("focal_alpha=0.5 has no effect") != std::string::npos);
}

TEST_CASE("hungarian: with match_costs, the result carries the flat keys as the list sets them") {
  Params p = hungarian_defaults();
  REQUIRE(p.set("match_costs", kDetrCosts).ok());
  const Problem q = detr_problem(50, 100, {{10, 10, 30, 30}}, {{0.0f, 0.0f}}, {{10, 10, 30, 30}}, {0});
  const Assignment a = assign::find_assigner("hungarian")->make(p)->assign(q);
  CHECK(a.params.get_float("cls_weight") == 1.0);
  CHECK(a.params.get_string("cls_cost") == "softmax");
  CHECK(a.params.get_float("l1_weight") == 5.0);
  CHECK(a.params.get_string("box_format") == "xywh");
  CHECK(a.params.get_structured("match_costs") == p.get_structured("match_costs"));
  // One query, one GT, C = 2 without a background column: softmax (0, 0) = 0.5,
  // the box exact: cls -0.5, L1 0, GIoU -2.
  REQUIRE(find_pair(a, 0, 0));
  CHECK(find_pair(a, 0, 0)->terms[0] == doctest::Approx(-0.5).epsilon(1e-6));
  CHECK(find_pair(a, 0, 0)->cost == doctest::Approx(-2.5).epsilon(1e-6));
  // An IoU cost alone: the L1 cost's terms are 0 and image_size is not needed.
  Params iou = hungarian_defaults();
  REQUIRE(iou.set("match_costs", "[dict(type='IoUCost', iou_mode='iou')]").ok());
  Problem no_size = q;
  no_size.meta.image_size.reset();
  CHECK(assign::find_assigner("hungarian")->check(iou, no_size).ok());
  const Assignment b = assign::find_assigner("hungarian")->make(iou)->assign(no_size);
  CHECK(b.gt_inds == std::vector<int64_t>{1});
  CHECK(find_pair(b, 0, 0)->terms == CostTerms{0.0f, 0.0f, -1.0f});
  CHECK(b.params.get_float("cls_weight") == 0.0);
  CHECK(b.params.get_float("iou_weight") == 1.0);
  CHECK(b.params.get_string("iou_mode") == "iou");
}

TEST_CASE("hungarian: ClassificationCost is -softmax over every column, a softmax head's background column included") {
  // Two queries, one GT of class 0; the class cost alone (no image_size needed).
  // With the "no object" column (C = 2, three logits):
  //   query 0 (2, 0 | -3): e^2 / (e^2 + 1 + e^-3)   = 0.8756006
  //   query 1 (1, -2 | 1): e / (e + e^-2 + e)       = 0.4878556
  // query 0 is cheaper (-0.8756 < -0.4879). Without the column (C = 2):
  //   query 0 (2, 0):  e^2 / (e^2 + 1)   = 0.8807971
  //   query 1 (1, -2): e / (e + e^-2)    = 0.9525741
  // and query 1 is. The background logit only enlarges the denominator.
  const std::vector<std::pair<std::string, std::string>> softmax = {
      {"match_costs", "[dict(type='ClassificationCost', weight=1.0)]"}};
  Problem with_bg = make_problem({{0, 0, 1, 1}, {0, 0, 1, 1}}, {{10, 10, 30, 30}, {10, 10, 30, 30}},
                                 {{2.0f, 0.0f, -3.0f}, {1.0f, -2.0f, 1.0f}}, {{10, 10, 30, 30}}, {0});
  with_bg.background_column = true;
  with_bg.meta.num_classes = 2;
  REQUIRE(with_bg.num_classes() == 2);
  const auto* info = assign::find_assigner("hungarian");
  Params params = hungarian_defaults();
  REQUIRE(params.set("match_costs", softmax[0].second).ok());
  CHECK(info->check(params, with_bg).ok());
  const Assignment a = run_assigner("hungarian", with_bg, softmax);
  CHECK(a.gt_inds == std::vector<int64_t>{1, 0});
  CHECK(find_pair(a, 0, 0)->terms[0] == doctest::Approx(-0.8756006).epsilon(1e-6));
  CHECK(find_pair(a, 1, 0)->terms[0] == doctest::Approx(-0.4878556).epsilon(1e-6));
  CHECK(find_pair(a, 1, 0)->cost == find_pair(a, 1, 0)->terms[0]);

  const Problem without = make_problem({{0, 0, 1, 1}, {0, 0, 1, 1}}, {{10, 10, 30, 30}, {10, 10, 30, 30}},
                                       {{2.0f, 0.0f}, {1.0f, -2.0f}}, {{10, 10, 30, 30}}, {0});
  const Assignment b = run_assigner("hungarian", without, softmax);
  CHECK(b.gt_inds == std::vector<int64_t>{0, 1});
  CHECK(find_pair(b, 0, 0)->terms[0] == doctest::Approx(-0.8807971).epsilon(1e-6));
  CHECK(find_pair(b, 1, 0)->terms[0] == doctest::Approx(-0.9525741).epsilon(1e-6));
  // The flat keys say the same: cls_cost=softmax.
  CHECK(
      run_assigner("hungarian", without, {{"cls_cost", "softmax"}, {"l1_weight", "0"}, {"iou_weight", "0"}}).gt_inds ==
      std::vector<int64_t>{0, 1});

  // A focal cost reads sigmoid logits: a dump with the background column is
  // refused for it, as every sigmoid assigner refuses it.
  CHECK(assign::check_needs(*info, with_bg).ok());
  with_bg.meta.image_size = std::array<int64_t, 2>{50, 100};
  testing::check_error(info->check(assign::default_params(*info), with_bg), ErrorKind::kInvalidInput,
                       "field 'cls_scores' has C + 1 = 3 columns", {"FocalLossCost", "-a detr"});
  // ...and a dump of probabilities is refused for the softmax cost.
  Problem probs = without;
  probs.meta.scores = ScoreKind::kProbs;
  testing::check_error(info->check(params, probs), ErrorKind::kInvalidInput, "meta key 'scores' is \"probs\"",
                       {"ClassificationCost"});
}

TEST_CASE("hungarian: names people type, and a DETR config pasted as mmdet writes it") {
  const auto detr = assign::resolve_assigner("detr");
  REQUIRE(detr.ok());
  CHECK(detr->label() == "hungarian+detr");
  CHECK(assign::resolve_assigner("dino")->label() == "hungarian+deformable-detr");
  CHECK(assign::resolve_assigner("deformable-detr")->label() == "hungarian+deformable-detr");
  CHECK(assign::resolve_assigner("hungarian+iou-only").ok());
  CHECK(assign::resolve_assigner("hungarian+focal-only").ok());
  CHECK(assign::resolve_assigner("HungarianAssigner")->label() == "hungarian");
  const Params preset = assign::choice_params(*detr);
  CHECK(assign::validate_params(*detr->info, preset, nullptr).ok());
  // The deformable-detr preset is the flat defaults, written as a list.
  const Params deformable = assign::choice_params(*assign::resolve_assigner("dino"));
  const Problem q = detr_problem(50, 100, {{20, 10, 50, 40}, {10, 10, 30, 30}}, {{0.5f, 1.0f}, {-1.0f, 0.0f}},
                                 {{12, 8, 30, 32}}, {1});
  const Assignment flat = run_assigner("hungarian", q);
  const Assignment listed = detr->info->make(deformable)->assign(q);
  CHECK(listed.gt_inds == flat.gt_inds);
  REQUIRE(listed.candidates.size() == flat.candidates.size());
  for (size_t k = 0; k < flat.candidates.size(); ++k) CHECK(listed.candidates[k].cost == flat.candidates[k].cost);

  const std::string pasted = std::string("dict(type='HungarianAssigner', match_costs=") + kDetrCosts + ")";
  auto config = assign::assigner_from_config(pasted);
  REQUIRE_MESSAGE(config.ok(), config.status().message());
  CHECK(config->choice.info->name == "hungarian");
  Params params = assign::choice_params(config->choice);
  REQUIRE(params.set_all(config->params).ok());
  CHECK(assign::validate_params(*config->choice.info, params, nullptr).ok());
  CHECK(params.get_structured("match_costs") == preset.get_structured("match_costs"));

  // A model config as the file writes it, with the assigner under train_cfg.
  auto model = assign::assigner_from_config(
      "model = dict(type='DeformableDETR', bbox_head=dict(type='DeformableDETRHead', num_classes=80),\n"
      "    train_cfg=dict(assigner=dict(type='HungarianAssigner', match_costs=[\n"
      "        dict(type='FocalLossCost', weight=2.0),\n"
      "        dict(type='BBoxL1Cost', weight=5.0, box_format='xywh'),\n"
      "        dict(type='IoUCost', iou_mode='giou', weight=2.0)\n"
      "    ])))\n");
  REQUIRE_MESSAGE(model.ok(), model.status().message());
  CHECK(model->where == "model.train_cfg.assigner");
  Params from_model = assign::choice_params(model->choice);
  REQUIRE(from_model.set_all(model->params).ok());
  CHECK(from_model.get_structured("match_costs") == deformable.get_structured("match_costs"));

  // A mistake in a cost dict names it when the parameters are set.
  auto typo = assign::assigner_from_config(
      "dict(type='HungarianAssigner', match_costs=[dict(type='FocalLossCost', gama=2.0)])");
  REQUIRE(typo.ok());
  Params bad = assign::choice_params(typo->choice);
  testing::check_error(bad.set_all(typo->params), ErrorKind::kUsage, "parameter match_costs: [0] FocalLossCost",
                       {"'gama'", "did you mean 'gamma'"});
  // mmdet 2.x's cls_cost=dict(...) is not 3.x's argument (nor the flat cls_cost, a string): refused, named.
  auto old = assign::assigner_from_config("dict(type='HungarianAssigner', cls_cost=dict(type='ClassificationCost'))");
  REQUIRE(old.ok());
  Params v2 = assign::choice_params(old->choice);
  testing::check_error(v2.set_all(old->params), ErrorKind::kUsage, "parameter cls_cost=", {"expected string"});
  auto reg = assign::assigner_from_config("dict(type='HungarianAssigner', reg_cost=dict(type='BBoxL1Cost'))");
  REQUIRE_FALSE(reg.ok());
  CHECK(reg.status().message().find("reg_cost") != std::string::npos);
}

TEST_CASE("hungarian: the golden detr-softmax-toy replays with -a detr from the command line") {
  const std::string golden = std::string(ASSIGNSCOPE_SHARED_GOLDEN) + "/detr-softmax-toy";
  if (!std::filesystem::is_directory(golden)) {
    MESSAGE("../shared/golden is absent: skipped");
    return;
  }
  // VARIANTS.md: queries 1, 2, 11 -> GTs 2, 1, 0.
  const std::string config = std::string("--config \"dict(type='HungarianAssigner', match_costs=") + kDetrCosts + ")\"";
  for (const std::string& how : {std::string("-a detr"), config}) {
    CAPTURE(how);
    const testing::CliRun r = testing::run_cli("run '" + golden + "' " + how + " --format json");
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const nlohmann::json j = nlohmann::json::parse(r.out);
    std::vector<std::pair<int64_t, int64_t>> positives;
    for (const auto& pos : j["images"][0]["positives"])
      positives.emplace_back(pos["prior"].get<int64_t>(), pos["gt"].get<int64_t>());
    CHECK(positives == std::vector<std::pair<int64_t, int64_t>>{{1, 2}, {2, 1}, {11, 0}});
  }
}

}  // namespace assignscope
