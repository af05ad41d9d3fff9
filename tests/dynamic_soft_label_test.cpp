// dynamic-soft-label on tiny hand-made images whose outcome follows from the
// algorithm by hand (the golden replays cover the reference at scale).
#include <doctest/doctest.h>

#include "analysis/stats.h"
#include "assign/assigner.h"
#include "test_support.h"

namespace assignscope {
namespace {

Assignment run(const Problem& p, const std::vector<std::pair<std::string, std::string>>& sets = {}) {
  return testing::run_assigner("dynamic-soft-label", p, sets);
}

using testing::row_of_four;

}  // namespace

TEST_CASE("dynamic-soft-label: two near-duplicate GTs compete for one prior, and the cheaper keeps it") {
  // Only prior 1 (x = 12) lies strictly inside either GT, so V = {1}; both GTs
  // have the same IoU (2/3) with its predicted cell, k = max(1, int(2/3)) = 1
  // each, and both take prior 1. GT 0 is centred on it (centre cost 10^-3),
  // GT 1 is 1/8 stride off (10^-2.875): GT 0 keeps it, GT 1 ends starved.
  const Problem p = row_of_four({{6, 0, 18, 8}, {7, 0, 19, 8}}, {1, 0});
  const Assignment a = run(p);
  CHECK(a.gt_inds == std::vector<int64_t>{0, 1, 0, 0});
  CHECK(a.labels == std::vector<int64_t>{-1, 1, -1, -1});
  CHECK(a.dynamic_ks == std::vector<int64_t>{1, 1});
  CHECK(a.max_overlaps[1] == doctest::Approx(2.0 / 3.0).epsilon(1e-6));
  CHECK(a.max_overlaps[0] == kMmdetNegativeOverlap);
  CHECK(a.max_overlaps[3] == kMmdetNegativeOverlap);

  const analysis::ImageStats s = analysis::compute_stats(p, a);
  CHECK(s.positives == 1);
  CHECK(s.negatives == 3);
  CHECK(s.starved_gts == std::vector<int64_t>{1});
  CHECK(s.gts[1].picked == 1);
  CHECK(s.gts[1].lost == 1);
  REQUIRE(s.gts[1].lost_to.size() == 1);
  CHECK(s.gts[1].lost_to[0] == std::pair<int64_t, int64_t>{0, 1});
  CHECK(s.gts[0].candidates == 1);

  // The recorded pair carries the cost terms that decided it.
  int found = 0;
  for (const CandidatePair& c : a.candidates) {
    if (c.prior != 1) continue;
    ++found;
    CHECK(c.inside);
    CHECK(c.picked);
    CHECK(c.terms[2] == doctest::Approx(c.gt == 0 ? 1e-3 : std::pow(10.0, 0.125 - 3.0)).epsilon(1e-5));
    CHECK(c.cost == doctest::Approx(static_cast<double>(c.terms[0] + c.terms[1] + c.terms[2])));
  }
  CHECK(found == 2);
}

TEST_CASE(
    "dynamic-soft-label: a prior taken by two GTs goes to the cheapest GT overall, even one that did not take it") {
  // A 4 x 3 grid of stride-8 priors. Only GT 1 contains prior centres
  // (priors 4, 5, 8, 9), so those are the valid priors. GTs 0 and 2 contain
  // none; their IoU with every valid prediction is 0, so their cheapest valid
  // prior is the nearest one, prior 5, and both take it (k = 1). GT 1 takes
  // prior 4. Prior 5's cost is about 48.4 for GTs 0 and 2 (-3 log 1e-7
  // dominates) and 2.8 for GT 1: mmdet's argmin over all GTs gives it to GT 1.
  std::vector<std::array<float, 4>> priors;
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c)
      priors.push_back({4.0f + 8.0f * static_cast<float>(c), 4.0f + 8.0f * static_cast<float>(r), 8, 8});
  const std::vector<std::array<float, 4>> preds = {{-4, 2, 15, 10},  {5, -2, 23, 11},  {10, -4, 30, 7},
                                                   {23, -1, 30, 6},  {-1, 1, 13, 18},  {2, 4, 14, 16},
                                                   {13, 9, 25, 15},  {25, 10, 33, 20}, {-4, 9, 7, 22},
                                                   {10, 17, 18, 30}, {12, 12, 24, 31}, {17, 15, 35, 26}};
  const std::vector<std::vector<float>> logits = {{-2}, {-2}, {2}, {1}, {2}, {-2}, {-1}, {-1}, {2}, {0}, {1}, {2}};
  const Problem p =
      testing::make_problem(priors, preds, logits, {{20, 20, 26, 26}, {0, 4, 19, 23}, {20, 13, 31, 20}}, {0, 0, 0});
  const Assignment a = run(p);
  std::vector<int64_t> expected(12, 0);
  expected[4] = expected[5] = 2;
  CHECK(a.gt_inds == expected);
  CHECK(a.dynamic_ks == std::vector<int64_t>{1, 1, 1});
  CHECK(a.max_overlaps[4] == doctest::Approx(182.0 / 417.0).epsilon(1e-6));  // (13 x 14) / (238 + 361 - 182)
  CHECK(a.max_overlaps[5] == doctest::Approx(144.0 / 361.0).epsilon(1e-6));  // pred 5 lies inside GT 1

  const analysis::ImageStats s = analysis::compute_stats(p, a);
  CHECK(s.starved_gts == std::vector<int64_t>{0, 2});
  CHECK(s.gts[1].positives == 2);
  CHECK(s.gts[1].picked == 1);
  CHECK(s.gts[0].candidates == 0);
  CHECK(s.gts[0].lost_to == std::vector<std::pair<int64_t, int64_t>>{{1, 1}});
  CHECK(s.gts[2].lost_to == std::vector<std::pair<int64_t, int64_t>>{{1, 1}});
}

TEST_CASE("dynamic-soft-label: G = 0 and images where no prior centre is inside a GT return early") {
  SUBCASE("no ground truth") {
    const Assignment a = run(row_of_four({}, {}));
    CHECK(a.gt_inds == std::vector<int64_t>(4, 0));
    CHECK(a.labels == std::vector<int64_t>(4, -1));
    CHECK(a.max_overlaps == std::vector<float>(4, 0.0f));
    CHECK(a.dynamic_ks.has_value());
    CHECK(a.dynamic_ks->empty());
    CHECK(a.notes.size() == 1);
  }
  SUBCASE("a GT between prior centres") {
    // [5, 1, 11, 7] holds no centre (4, 4) or (12, 4): mmdet returns all 0.
    const Assignment a = run(row_of_four({{5, 1, 11, 7}}, {0}));
    CHECK(a.gt_inds == std::vector<int64_t>(4, 0));
    CHECK(a.max_overlaps == std::vector<float>(4, 0.0f));
    CHECK(a.dynamic_ks == std::vector<int64_t>{0});
  }
  SUBCASE("a GT whose edges lie on prior centres does not contain them") {
    const Assignment a = run(row_of_four({{4, 0, 12, 8}}, {0}));
    CHECK(a.num_positives() == 0);
  }
}

TEST_CASE("dynamic-soft-label: with --allow-nonfinite, NaN follows torch's rules") {
  // GT 1's x2 is NaN: torch's min(l, t, r, b) > 0 is false, so no prior is
  // inside it; its IoU with prior 1's prediction is NaN, so its dynamic k is
  // max(1, int(NaN)) = 1 and it takes prior 1 (the only valid prior, from
  // GT 0). torch.min over prior 1's costs [c, NaN] returns the NaN: GT 1
  // keeps it, and max_overlaps = (matching * ious).sum() is NaN.
  const Problem p = row_of_four({{6, 0, 18, 8}, {7, 0, NAN, 8}}, {1, 0});
  const Assignment a = run(p);
  CHECK(a.gt_inds == std::vector<int64_t>{0, 2, 0, 0});
  CHECK(a.labels[1] == 0);
  CHECK(a.dynamic_ks == std::vector<int64_t>{1, 1});
  CHECK(std::isnan(a.max_overlaps[1]));
}

TEST_CASE("dynamic-soft-label: topk bounds the dynamic k") {
  // One GT covering the whole row, every prediction equal to the GT: IoU 1
  // for each of the 4 valid priors, so k = min(topk, 4).
  Problem p = row_of_four({{0.5f, 0.5f, 31.5f, 7.5f}}, {1});
  for (int i = 0; i < 4; ++i) p.pred_bboxes.row(i) << 0.5f, 0.5f, 31.5f, 7.5f;
  CHECK(run(p).dynamic_ks == std::vector<int64_t>{4});
  CHECK(run(p, {{"topk", "2"}}).dynamic_ks == std::vector<int64_t>{2});
  CHECK(run(p, {{"topk", "2"}}).num_positives() == 2);
  CHECK(run(p).num_positives() == 4);
}

TEST_CASE("dynamic-soft-label.mmyolo: the class cost looks at the GT's class only") {
  // GT [2, 0, 22, 8] (class 0) holds priors 0, 1, 2; their cells have IoU
  // 0.27, 0.40, 0.27, so k = 1. Prior 1 is the best match but has logit 8
  // on class 1: mmdetection sums the soft class cost over all classes and
  // pays ~8 for it, so its cheapest prior is prior 2 (logit -1 on class 0);
  // mmyolo looks at class 0 only and keeps prior 1.
  const Problem p = row_of_four({{2, 0, 22, 8}}, {0}, {{-2.0f, -2.0f}, {-2.0f, 8.0f}, {-1.0f, -2.0f}, {-2.0f, -2.0f}});
  CHECK(run(p).gt_inds == std::vector<int64_t>{0, 0, 1, 0});
  const Assignment a = testing::run_assigner("dynamic-soft-label.mmyolo", p);
  CHECK(a.gt_inds == std::vector<int64_t>{0, 1, 0, 0});
  CHECK(a.max_overlaps[0] == 0.0f);  // mmyolo: 0 for negatives
  REQUIRE(a.assign_metrics.has_value());
  CHECK((*a.assign_metrics)[1] == doctest::Approx(0.4).epsilon(1e-6));
  CHECK((*a.assign_metrics)[0] == 0.0f);
}

TEST_CASE("dynamic-soft-label.mmyolo: dynamic k sums IoUs over all priors, and INF-cost picks are flagged") {
  // Only prior 1 lies inside GT [6, 0, 18, 8], but priors 0, 1 and 2 all
  // predict the GT exactly. mmdetection sums IoUs over valid priors: k = 1.
  // mmyolo sums over all priors: k = 3, more than the one prior with a finite
  // cost; the other two picks come from priors inside no GT (cost 1e8), in
  // the order torch.sort gives equal keys on a CPU (torch 1.13:
  // sort([1e8, c, 1e8, 1e8]) = [1, 0, 2, 3]), and the replay says so.
  Problem p = row_of_four({{6, 0, 18, 8}}, {0});
  for (int i = 0; i < 3; ++i) p.pred_bboxes.row(i) << 6, 0, 18, 8;
  const Assignment mmdet = run(p);
  CHECK(mmdet.dynamic_ks == std::vector<int64_t>{1});
  CHECK(mmdet.gt_inds == std::vector<int64_t>{0, 1, 0, 0});
  const Assignment mmyolo = testing::run_assigner("dynamic-soft-label.mmyolo", p);
  CHECK(mmyolo.dynamic_ks == std::vector<int64_t>{3});
  CHECK(mmyolo.gt_inds == std::vector<int64_t>{1, 1, 1, 0});
  CHECK(testing::has_note(mmyolo, "GT 0: k = 3 exceeds the 1 priors costing less than INF = 1e8"));
  CHECK(testing::has_note(mmyolo, "replayed in PyTorch's CPU order"));
}

TEST_CASE("dynamic-soft-label.mmyolo: two near-duplicate GTs compete for one prior, and the cheaper keeps it") {
  // The mmdet case above: only prior 1 lies inside either GT, the others cost
  // INF. mmyolo's k sums IoUs over all priors, 0.889 and 0.896: still 1
  // each, so both take prior 1. The class cost at the GT's class alone,
  // BCE(x, u) |u - sigmoid(x)|^2 with u = 2/3: logit 0.5 (GT 0, class 1)
  // 0.641 * 0.0020 = 0.0013; logit -2 (GT 1, class 0) 1.460 * 0.300 = 0.438.
  // GT 0 is also nearer: it keeps the prior, GT 1 is starved.
  const Problem p = row_of_four({{6, 0, 18, 8}, {7, 0, 19, 8}}, {1, 0});
  const Assignment a = testing::run_assigner("dynamic-soft-label.mmyolo", p);
  CHECK(a.gt_inds == std::vector<int64_t>{0, 1, 0, 0});
  CHECK(a.dynamic_ks == std::vector<int64_t>{1, 1});
  CHECK(a.notes.empty());  // k never exceeds the one finite-cost prior
  const analysis::ImageStats s = analysis::compute_stats(p, a);
  CHECK(s.starved_gts == std::vector<int64_t>{1});
  CHECK(s.gts[1].lost_to == std::vector<std::pair<int64_t, int64_t>>{{0, 1}});
}

TEST_CASE("dynamic-soft-label.mmyolo: padding columns of a batch get a k and take nothing") {
  Problem p = row_of_four({{6, 0, 18, 8}}, {0});
  p.padding_gt_bboxes = Rows4f::Zero(2, 4);
  p.padding_gt_labels = {0, 0};
  const Assignment a = testing::run_assigner("dynamic-soft-label.mmyolo", p);
  CHECK(a.dynamic_ks == std::vector<int64_t>{1, 1, 1});  // IoU 0 with a zero box: clamped to 1
  CHECK(a.gt_inds == std::vector<int64_t>{0, 1, 0, 0});
  // mmdetection runs image by image on the real GTs: no padding columns.
  CHECK(run(p).dynamic_ks == std::vector<int64_t>{1});
}

TEST_CASE("dynamic-soft-label.mmyolo: a padding column can win a conflict, and reports stay within the real GTs") {
  // 8 x 10 priors at (8c, 8r), every prediction [60, 60, 62, 62] (IoU 0 with
  // everything, so k = 1 and the IoU cost is 48.35 everywhere). Logits are 2
  // (class cost 1.65) except prior 9 at (8, 8): -30, class cost ~0, so both
  // GTs take prior 9. Its costs: GT 0 48.487, GT 1 48.653, and the padding
  // column (a zero box, centre (0, 0), label 0) 48.380: torch.min gives it
  // to the padding column, both GTs end starved, and the label reported is
  // the padding row's own (-1 here, which indexes the last class).
  std::vector<std::array<float, 4>> priors, preds;
  std::vector<std::vector<float>> logits;
  for (int r = 0; r < 10; ++r)
    for (int c = 0; c < 8; ++c) {
      priors.push_back({8.0f * static_cast<float>(c), 8.0f * static_cast<float>(r), 8, 8});
      preds.push_back({60, 60, 62, 62});
      logits.push_back({2.0f, 2.0f});
    }
  logits[9] = {-30.0f, -30.0f};
  Problem p = testing::make_problem(priors, preds, logits, {{0, 0, 40, 40}, {2, 2, 42, 42}}, {0, 1});
  p.padding_gt_bboxes = Rows4f::Zero(1, 4);
  p.padding_gt_labels = {-1};
  const Assignment a = testing::run_assigner("dynamic-soft-label.mmyolo", p);
  std::vector<int64_t> expected(80, 0);
  expected[9] = 3;  // the padding column, past the 2 real GTs
  CHECK(a.gt_inds == expected);
  CHECK(a.labels[9] == -1);
  bool noted = false;
  for (const std::string& note : a.notes) noted |= note.find("padding GT columns") != std::string::npos;
  CHECK(noted);
  const analysis::ImageStats s = analysis::compute_stats(p, a);
  CHECK(s.to_padding == 1);
  CHECK(s.starved_gts == std::vector<int64_t>{0, 1});
  CHECK(s.gts[0].lost_to == std::vector<std::pair<int64_t, int64_t>>{{2, 1}});
}

}  // namespace assignscope
