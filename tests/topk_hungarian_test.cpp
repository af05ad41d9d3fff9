// mmdetection's TopkHungarianAssigner (DDQ-DETR's dense queries) on tiny
// hand-made images whose costs are worked out in the comments.
//
// Defaults: cost = 2 * focal(sigmoid(sigmoid(x))) + 5 * L1(xyxy / 100) +
// 2 * (-GIoU), in a 100 x 100 image. Boxes [x, 0, x + 20, 20] against a GT
// [g, 0, g + 20, 20] at horizontal distance d = |x - g|: L1 = 2d / 100 * 5
// = 0.1 d, and GIoU = (20 - d) / (20 + d) for every d (overlap 20 - d wide
// while d < 20, the enclosing box 20 + d wide), so the box cost is
//   f(d) = 0.1 d - 2 (20 - d) / (20 + d):
//   f(0) = -2, f(4) = -0.9333, f(6) = -0.4769, f(8) = -0.0571, f(12) = 0.7,
//   f(28) = 3.1333, f(32) = 3.6615, f(36) = 4.1714, f(40) = 4.6667.
// The class cost at logit x (double sigmoid: p = sigmoid(sigmoid(x))):
//   2 * ((-ln p) 0.25 (1 - p)^2 - (-ln(1 - p)) 0.75 p^2):
//   x = 0: -0.5323307, x = -6: -0.1747631, x = 6: -1.0385610.
#include <doctest/doctest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "assign/config.h"
#include "test_support.h"

namespace assignscope {
namespace {

using testing::find_pair;
using testing::make_problem;
using testing::run_assigner;

// Queries predicting [x, 0, x + 20, 20] with their logits, GTs at g, in a 100 x 100 image.
Problem strip(const std::vector<float>& query_x, const std::vector<std::vector<float>>& logits,
              const std::vector<float>& gt_x, const std::vector<int64_t>& labels) {
  std::vector<std::array<float, 4>> priors, preds, gts;
  for (float x : query_x) {
    priors.push_back({0, 0, 0, 0});
    preds.push_back({x, 0, x + 20, 20});
  }
  for (float g : gt_x) gts.push_back({g, 0, g + 20, 20});
  Problem p = make_problem(priors, preds, logits, gts, labels);
  p.meta.image_size = std::array<int64_t, 2>{100, 100};
  return p;
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double focal_cost(double p) {
  return 2.0 * (-std::log(p) * 0.25 * (1 - p) * (1 - p) - -std::log(1 - p) * 0.75 * p * p);
}

}  // namespace

TEST_CASE("topk-hungarian: parameters and defaults are the golden params.json's, under the reference's names") {
  const auto* info = assign::find_assigner("topk-hungarian");
  REQUIRE(info);
  const nlohmann::json defaults = nlohmann::json::parse(assign::default_params(*info).to_json().dump());
  CHECK(defaults == nlohmann::json::parse(R"({"topk": 4,
      "cls_cost": {"type": "FocalLossCost", "weight": 2.0, "alpha": 0.25, "gamma": 2, "eps": 1e-12, "binary_input": false},
      "reg_cost": {"type": "BBoxL1Cost", "weight": 5.0, "box_format": "xyxy"},
      "iou_cost": {"type": "IoUCost", "weight": 2.0, "iou_mode": "giou"}, "alpha": 1, "beta": 6})"));
  CHECK(info->result_files == std::vector<std::string>{"assigned_gt_inds.npy", "assigned_labels.npy",
                                                       "max_overlaps.npy", "assign_metrics.npy",
                                                       "assign_metrics_raw.npy"});
  Params p = assign::default_params(*info);
  testing::check_error(p.set("topk", "0"), ErrorKind::kUsage, "parameter topk=0", {">= 1"});
  // A cost parameter is one cost dict, with mmdet's defaults filled in.
  REQUIRE(p.set("reg_cost", "dict(type='BBoxL1Cost', box_format='xywh')").ok());
  CHECK(p.get_structured("reg_cost") ==
        nlohmann::json::parse(R"({"type": "BBoxL1Cost", "weight": 1.0, "box_format": "xywh"})"));
  testing::check_error(p.set("iou_cost", "[dict(type='IoUCost')]"), ErrorKind::kUsage,
                       "parameter iou_cost: ", {"expected a cost dict"});
  testing::check_error(p.set("cls_cost", "dict(type='FocalLossCost', alpah=0.25)"), ErrorKind::kUsage,
                       "parameter cls_cost: FocalLossCost has no argument 'alpah'", {"did you mean 'alpha'"});

  // Names: presets after the golden labels, the class name, DDQAuxLoss's train_cfg pasted.
  CHECK(assign::resolve_assigner("topk-hungarian+topk8").ok());
  CHECK(assign::resolve_assigner("ddq-aux-default")->label() == "topk-hungarian+topk8");
  CHECK(assign::choice_params(*assign::resolve_assigner("topk-hungarian+topk8")).get_int("topk") == 8);
  CHECK(assign::choice_params(*assign::resolve_assigner("topk-hungarian+ddq")).get_int("topk") == 4);
  CHECK(assign::resolve_assigner("TopkHungarianAssigner")->label() == "topk-hungarian");
  auto config = assign::assigner_from_config(
      "train_cfg=dict(assigner=dict(type='TopkHungarianAssigner', topk=8), alpha=1, beta=6)");
  REQUIRE_MESSAGE(config.ok(), config.status().message());
  CHECK(config->choice.info == info);
  Params from_config = assign::choice_params(config->choice);
  REQUIRE(from_config.set_all(config->params).ok());
  CHECK(from_config.get_int("topk") == 8);
  CHECK(from_config.get_float("beta") == 6.0);
  auto with_costs = assign::assigner_from_config(
      "dict(type='TopkHungarianAssigner', topk=4, cls_cost=dict(type='FocalLossCost', weight=2.0), "
      "reg_cost=dict(type='BBoxL1Cost', weight=5.0), iou_cost=dict(type='IoUCost', iou_mode='giou', weight=2.0), "
      "iou_calculator=dict(type='BboxOverlaps2D'))");
  REQUIRE_MESSAGE(with_costs.ok(), with_costs.status().message());
  Params costs = assign::choice_params(with_costs->choice);
  REQUIRE(costs.set_all(with_costs->params).ok());
  CHECK(costs.to_json() == assign::default_params(*info).to_json());
}

TEST_CASE("topk-hungarian: the focal cost sees sigmoid(sigmoid(logit)), the metric sigmoid(logit)") {
  // GT [0, 0, 20, 20] of class 0; k = min(topk 1, 2) = 1. Query 0 predicts
  // it exactly with logit -6, query 1 is 6 px off with logit 6:
  //   double sigmoid  q0: -0.1748 + f(0) = -2.1748, q1: -1.0386 + f(6) = -1.5155: query 0
  //   single sigmoid  q0: 2.9864 - 2 = 0.9864, q1: -8.9592 - 0.4769 = -9.4362: query 1
  // (hungarian with xyxy L1 is the single-sigmoid reading of the same costs).
  const Problem p = strip({0, 6}, {{-6.0f, 0.0f}, {6.0f, 0.0f}}, {0}, {0});
  const Assignment a = run_assigner("topk-hungarian", p, {{"topk", "1"}});
  CHECK(a.gt_inds == std::vector<int64_t>{1, 0});
  CHECK(a.labels == std::vector<int64_t>{0, -1});
  CHECK(a.cost_terms == std::vector<std::string>{"cls", "l1", "iou"});
  REQUIRE(find_pair(a, 0, 0));
  REQUIRE(find_pair(a, 1, 0));
  CHECK(find_pair(a, 0, 0)->terms[0] == doctest::Approx(focal_cost(sigmoid(sigmoid(-6.0)))).epsilon(1e-6));
  CHECK(find_pair(a, 0, 0)->terms[0] == doctest::Approx(-0.1747631).epsilon(1e-6));
  CHECK(find_pair(a, 1, 0)->terms[0] == doctest::Approx(-1.0385610).epsilon(1e-6));
  CHECK(find_pair(a, 1, 0)->terms[1] == doctest::Approx(0.6).epsilon(1e-6));
  CHECK(find_pair(a, 1, 0)->terms[2] == doctest::Approx(-2.0 * 280.0 / 520.0).epsilon(1e-6));
  CHECK(find_pair(a, 0, 0)->cost == doctest::Approx(-2.1747631).epsilon(1e-6));
  CHECK(find_pair(a, 0, 0)->picked);
  CHECK_FALSE(find_pair(a, 1, 0)->picked);
  CHECK(run_assigner("hungarian", p, {{"box_format", "xyxy"}}).gt_inds == std::vector<int64_t>{0, 1});
  // Metric of the match: sigmoid(-6)^1 * 1^6; soft target t / (t + 10e-8) * 1.
  const double t = sigmoid(-6.0);
  CHECK(a.max_overlaps == std::vector<float>{1.0f, 0.0f});
  CHECK((*a.assign_metrics_raw)[0] == doctest::Approx(t).epsilon(1e-6));
  CHECK((*a.assign_metrics)[0] == doctest::Approx(t / (t + 1e-7)).epsilon(1e-6));
  CHECK((*a.assign_metrics_raw)[1] == 0.0f);
  CHECK((*a.assign_metrics)[1] == 0.0f);
  // topk 4 is capped at int(2 / 1) = 2: both queries.
  const Assignment both = run_assigner("topk-hungarian", p);
  CHECK(both.gt_inds == std::vector<int64_t>{1, 1});
  CHECK(testing::has_note(both, "k = min(topk 4, int(N / G) = int(2 / 1) = 2) = 2"));
}

TEST_CASE("topk-hungarian: k = min(topk, int(N / G)) columns per GT, each GT exactly k queries, the joint optimum") {
  // GTs A at 0 (class 0) and B at 40 (class 1), all logits 0 (equal class
  // costs); queries at x = 0, 4, 8, 12, 40. N = 5, G = 2: k = min(4, 2) = 2.
  //   A's costs f(0, 4, 8, 12, 40) = -2, -0.933, -0.057, 0.7, 4.667
  //   B's costs f(40, 36, 32, 28, 0) = 4.667, 4.171, 3.662, 3.133, -2
  // B must take two queries: 4 and the one that costs A least to give up.
  // With A on its best two of the rest, B's second query 0 / 1 / 2 / 3 gives
  // totals 1.676 / 0.114 / -1.272 / -1.8 (+ 4 class costs): B takes query 3,
  // whose box does not even touch it (IoU 0), and query 2 is left over.
  const std::vector<std::vector<float>> zeros(5, std::vector<float>{0.0f, 0.0f});
  const Problem p = strip({0, 4, 8, 12, 40}, zeros, {0, 40}, {0, 1});
  const Assignment a = run_assigner("topk-hungarian", p);
  CHECK(a.gt_inds == std::vector<int64_t>{1, 1, 0, 2, 2});
  CHECK(a.labels == std::vector<int64_t>{0, 0, -1, 1, 1});
  CHECK(testing::has_note(a, "= 2: each GT is matched to exactly 2 queries"));
  // max_overlaps: the matched pair's IoU (d = 4: 320 / 480), 0 elsewhere.
  CHECK(a.max_overlaps[0] == 1.0f);
  CHECK(a.max_overlaps[1] == doctest::Approx(2.0 / 3.0).epsilon(1e-6));
  CHECK(a.max_overlaps[2] == 0.0f);
  CHECK(a.max_overlaps[3] == 0.0f);
  CHECK(a.max_overlaps[4] == 1.0f);
  // Metrics: sigmoid(0) * IoU^6; soft targets per GT: t / (max t + 10e-8) * max IoU.
  const std::vector<float>& raw = *a.assign_metrics_raw;
  const std::vector<float>& soft = *a.assign_metrics;
  CHECK(raw[0] == 0.5f);
  CHECK(raw[1] == doctest::Approx(0.5 * 64.0 / 729.0).epsilon(1e-6));
  CHECK(raw[2] == 0.0f);
  CHECK(raw[3] == 0.0f);
  CHECK(raw[4] == 0.5f);
  CHECK(soft[0] == doctest::Approx(0.5 / 0.5000001).epsilon(1e-7));
  CHECK(soft[1] == doctest::Approx(0.5 * 64.0 / 729.0 / 0.5000001).epsilon(1e-6));
  CHECK(soft[3] == 0.0f);
  CHECK(soft[4] == doctest::Approx(0.5 / 0.5000001).epsilon(1e-7));
  // Reported: each GT's k + 2 = 4 cheapest queries and its matches.
  std::vector<std::pair<int32_t, int32_t>> pairs;
  for (const CandidatePair& c : a.candidates) pairs.emplace_back(c.gt, c.prior);
  CHECK(pairs ==
        std::vector<std::pair<int32_t, int32_t>>{{0, 0}, {0, 1}, {0, 2}, {0, 3}, {1, 1}, {1, 2}, {1, 3}, {1, 4}});
  CHECK(find_pair(a, 3, 1)->picked);
  CHECK(find_pair(a, 3, 1)->cost == doctest::Approx(3.1333333 - 0.5323307).epsilon(1e-6));
  CHECK_FALSE(find_pair(a, 2, 0)->picked);
  const analysis::ImageStats s = analysis::compute_stats(p, a);
  CHECK(s.gts[0].positives == 2);
  CHECK(s.gts[1].positives == 2);

  // topk 1: k = 1, the nearest query each; topk 8 is capped at 2 like 4.
  CHECK(run_assigner("topk-hungarian", p, {{"topk", "1"}}).gt_inds == std::vector<int64_t>{1, 0, 0, 0, 2});
  CHECK(run_assigner("topk-hungarian", p, {{"topk", "8"}}).gt_inds == a.gt_inds);
}

TEST_CASE("topk-hungarian: G = 0, N = 0, and fewer queries than GTs (k = 0)") {
  const Problem none = strip({0, 4}, {{0.0f, 0.0f}, {0.0f, 0.0f}}, {}, {});
  const Assignment a = run_assigner("topk-hungarian", none);
  CHECK(a.gt_inds == std::vector<int64_t>{0, 0});
  CHECK(a.labels == std::vector<int64_t>{-1, -1});
  CHECK(a.max_overlaps == std::vector<float>{0.0f, 0.0f});
  REQUIRE(a.assign_metrics);
  REQUIRE(a.assign_metrics_raw);
  CHECK(*a.assign_metrics == std::vector<float>{0.0f, 0.0f});
  CHECK(*a.assign_metrics_raw == std::vector<float>{0.0f, 0.0f});
  CHECK(a.candidates.empty());
  CHECK(testing::has_note(a, "no ground truth"));

  const Problem empty = strip({}, {}, {0}, {0});
  const Assignment e = run_assigner("topk-hungarian", empty);
  CHECK(e.gt_inds.empty());
  CHECK(e.assign_metrics->empty());

  // One query, two GTs: k = min(4, int(1 / 2)) = 0, nothing is matched (mmdet
  // returns labels None); each GT still reports its cheapest query.
  const Problem few = strip({0}, {{0.0f, 0.0f}}, {0, 40}, {0, 1});
  const Assignment f = run_assigner("topk-hungarian", few);
  CHECK(f.gt_inds == std::vector<int64_t>{0});
  CHECK(f.labels == std::vector<int64_t>{-1});
  CHECK(testing::has_note(f, "k = 0, no query is matched"));
  CHECK(f.candidates.size() == 2);
  CHECK(analysis::compute_stats(few, f).starved_gts == std::vector<int64_t>{0, 1});
}

TEST_CASE("topk-hungarian: meta.image_size is needed for the L1 cost only, and the repeated cost matrix is bounded") {
  const auto* info = assign::find_assigner("topk-hungarian");
  Problem p = strip({0, 4}, {{0.0f, 0.0f}, {0.0f, 0.0f}}, {0}, {0});
  p.meta.image_size.reset();
  const Params defaults = assign::default_params(*info);
  testing::check_error(info->check(defaults, p), ErrorKind::kInvalidInput, "meta key 'image_size'",
                       {"topk-hungarian", "BBoxL1Cost"});
  Params no_l1 = defaults;
  REQUIRE(no_l1.set("reg_cost", "dict(type='IoUCost', iou_mode='iou', weight=1.0)").ok());
  CHECK(info->check(no_l1, p).ok());
  CHECK(run_assigner("topk-hungarian", p, {{"reg_cost", "dict(type='IoUCost', iou_mode='iou')"}}).num_positives() == 2);
  // A softmax head's dump is refused: DDQ's dense queries are sigmoid logits.
  Problem bg = strip({0, 4}, {{0.0f, 0.0f, 1.0f}, {0.0f, 0.0f, 1.0f}}, {0}, {0});
  bg.background_column = true;
  bg.meta.num_classes = 2;
  CHECK_FALSE(assign::check_needs(*info, bg).ok());

  // N x G x k beyond what is held in memory: 8200 queries, 2048 GTs, k = 4.
  Problem big;
  big.set_num_priors(8200);
  big.gt_bboxes = Rows4f::Zero(2048, 4);
  big.meta.image_size = std::array<int64_t, 2>{100, 100};
  testing::check_error(info->check(defaults, big), ErrorKind::kUnsupported, "N x G x k = 8200 x 2048 x 4",
                       {"lower topk"});
}

}  // namespace assignscope
