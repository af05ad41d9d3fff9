// task-aligned (mmdetection, mmyolo and ultralytics flavours) on tiny
// hand-made images whose outcome is worked out by hand in each comment.
//
// Unless said otherwise: four stride-8 priors in a row at x = 4, 12, 20, 28
// (y = 4). mmdetection takes the centres of 8 * stride anchors around them,
// which are the same points. sigmoid(0) = 0.5, sigmoid(2) = 0.88080,
// sigmoid(4) = 0.98201, sigmoid(-5) = 0.0066929, sigmoid(-12) = 6.1442e-6.
// CIoU (ultralytics) = IoU - rho^2 / c^2 - v * alpha with
// v = 4 / pi^2 * (atan(w_pred / h_pred) - atan(w_gt / h_gt))^2.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "analysis/stats.h"
#include "cost/terms.h"
#include "test_support.h"

namespace assignscope {
namespace {

using Sets = std::vector<std::pair<std::string, std::string>>;
using testing::find_pair;
using testing::has_note;
using testing::run_assigner;

constexpr const char* kMmdet = "task-aligned";
constexpr const char* kMmyolo = "task-aligned.mmyolo";
constexpr const char* kUltralytics = "task-aligned.ultralytics";
const char* const kAllFlavours[] = {kMmdet, kMmyolo, kUltralytics};

// The row of four priors with the given predicted boxes and logits.
Problem row(const std::vector<std::array<float, 4>>& preds, const std::vector<std::vector<float>>& logits,
            const std::vector<std::array<float, 4>>& gts, const std::vector<int64_t>& labels) {
  return testing::make_problem({{4, 4, 8, 8}, {12, 4, 8, 8}, {20, 4, 8, 8}, {28, 4, 8, 8}}, preds, logits, gts, labels);
}

// Each prior predicting its own 8 x 8 cell.
const std::vector<std::array<float, 4>> kOwnCells = {{0, 0, 8, 8}, {8, 0, 16, 8}, {16, 0, 24, 8}, {24, 0, 32, 8}};
const std::vector<std::vector<float>> kZeroLogits = {{0}, {0}, {0}, {0}};

// topk 2 keeps the flavours clear of "topk exceeds the priors" (the
// reference's torch.topk would fail on four priors with k = 13 or 10).
Assignment run(const char* name, const Problem& p, Sets sets = {}) {
  if (std::string(name) != kMmdet &&
      std::none_of(sets.begin(), sets.end(), [](const auto& s) { return s.first == "topk"; }))
    sets.push_back({"topk", "2"});
  return run_assigner(name, p, sets);
}

}  // namespace

TEST_CASE("task-aligned: G = 0 assigns nothing and writes zeros") {
  for (const char* name : kAllFlavours) {
    CAPTURE(name);
    const Assignment a = run(name, row(kOwnCells, kZeroLogits, {}, {}));
    CHECK(a.num_positives() == 0);
    CHECK(a.labels == std::vector<int64_t>(4, -1));
    CHECK(a.max_overlaps == std::vector<float>(4, 0.0f));  // mmdet too: its early return writes 0, not -1e8
    REQUIRE(a.assign_metrics.has_value());
    CHECK(*a.assign_metrics == std::vector<float>(4, 0.0f));
    CHECK(a.assign_metrics_raw.has_value() == (std::string(name) == kMmdet));
    CHECK_FALSE(a.dynamic_ks.has_value());
    CHECK(a.candidates.empty());
  }
}

TEST_CASE("task-aligned: soft targets normalised by the GT's largest metric and largest IoU, by hand") {
  // GT [0, 0, 16, 8] holds priors 0 and 1. Predictions: prior 0 its own cell
  // (IoU 64 / 128 = 0.5), prior 1 exactly the GT (IoU 1); priors 2, 3 do not
  // overlap it. Logits: 0 (s = 0.5) and -5 (s = 0.0066929).
  //   t0 = 0.5 * 0.5^6 = 0.0078125,  t1 = 0.0066929 * 1^6 = 0.0066929
  // Both are picked and inside. T = max t = t0, but U = max IoU = 1 comes
  // from prior 1:
  //   mmdet   soft = t / (T + 1e-7) * U:  0.9999872 and 0.856674
  //   mmyolo  soft = t * U / (T + 1e-7):  the same to float32 rounding
  // so the best-aligned prior gets the GT's best IoU (1), not its own (0.5).
  const Problem p =
      row({{0, 0, 8, 8}, {0, 0, 16, 8}, {16, 0, 24, 8}, {24, 0, 32, 8}}, {{0}, {-5}, {0}, {0}}, {{0, 0, 16, 8}}, {0});
  const double t0 = 0.5 / 64.0, t1 = 1.0 / (1.0 + std::exp(5.0));
  for (const char* name : {kMmdet, kMmyolo}) {
    CAPTURE(name);
    const Assignment a = run(name, p);
    CHECK(a.gt_inds == std::vector<int64_t>{1, 1, 0, 0});
    CHECK(a.labels == std::vector<int64_t>{0, 0, -1, -1});
    CHECK(a.max_overlaps[0] == 0.5f);
    CHECK(a.max_overlaps[1] == 1.0f);
    REQUIRE(a.assign_metrics.has_value());
    CHECK((*a.assign_metrics)[0] == doctest::Approx(t0 / (t0 + 1e-7)).epsilon(1e-6));
    CHECK((*a.assign_metrics)[1] == doctest::Approx(t1 / (t0 + 1e-7)).epsilon(1e-6));
    CHECK((*a.assign_metrics)[1] == doctest::Approx(0.856674).epsilon(1e-5));
    CHECK((*a.assign_metrics)[2] == 0.0f);
    const CandidatePair* c = find_pair(a, 0, 0);
    REQUIRE(c != nullptr);
    CHECK(c->inside);
    CHECK(c->picked);
    CHECK(c->terms[0] == doctest::Approx(t0).epsilon(1e-6));  // metric
    CHECK(c->terms[1] == 0.5f);                               // score
    CHECK(c->terms[2] == 0.5f);                               // IoU
    CHECK(c->cost == c->terms[0]);
  }
  // Only mmdet returns its own metric as well, and marks negatives -1e8.
  const Assignment mmdet = run(kMmdet, p);
  REQUIRE(mmdet.assign_metrics_raw.has_value());
  CHECK((*mmdet.assign_metrics_raw)[0] == doctest::Approx(t0).epsilon(1e-6));
  CHECK((*mmdet.assign_metrics_raw)[1] == doctest::Approx(t1).epsilon(1e-6));
  CHECK((*mmdet.assign_metrics_raw)[3] == 0.0f);
  CHECK(mmdet.max_overlaps[2] == kMmdetNegativeOverlap);
  const Assignment mmyolo = run(kMmyolo, p);
  CHECK_FALSE(mmyolo.assign_metrics_raw.has_value());
  CHECK(mmyolo.max_overlaps[2] == 0.0f);
}

TEST_CASE("task-aligned: the normalisation's eps — mmdet's fixed 10e-8, the flavours' `eps` parameter") {
  // One GT [0, 0, 8, 8]; prior 0 predicts it exactly (u = 1) with s = 1e-7,
  // so t = 1e-7 is the GT's only and largest metric: soft = t * 1 / (t + eps)
  // = 1/2 with eps 1e-7 (mmdet, mmyolo's default), exactly 1 with eps = 0.
  const auto logit = static_cast<float>(std::log(1e-7 / (1.0 - 1e-7)));
  const Problem p = row(kOwnCells, {{logit}, {0}, {0}, {0}}, {{0, 0, 8, 8}}, {0});
  const auto s = static_cast<double>(cost::sigmoid_f32(logit));
  CHECK(s == doctest::Approx(1e-7).epsilon(1e-4));
  for (const char* name : {kMmdet, kMmyolo}) {
    CAPTURE(name);
    const Assignment a = run(name, p);
    CHECK(a.gt_inds == std::vector<int64_t>{1, 0, 0, 0});
    CHECK((*a.assign_metrics)[0] == doctest::Approx(s / (s + 1e-7)).epsilon(1e-5));
  }
  CHECK((*run(kMmyolo, p, {{"eps", "0"}}).assign_metrics)[0] == 1.0f);
}

TEST_CASE("task-aligned: mmdet ranks every prior, the flavours only the priors inside the GT") {
  // GT [8, 0, 16, 8] holds only prior 1. Prior 1 predicts [8, 0, 12, 8]
  // (IoU 0.5, t = 0.5 * 0.5^6 = 0.0078), prior 2 — outside — predicts exactly
  // the GT (IoU 1, t = 0.5). With topk = 1:
  //   mmdet: the top-1 over all priors is prior 2; it is outside, so dropped:
  //          no positive, the GT is starved.
  //   mmyolo / ultralytics: the top-1 among inside priors is prior 1.
  // With topk = 2 mmdet reaches prior 1 too.
  const Problem p =
      row({{0, 0, 8, 8}, {8, 0, 12, 8}, {8, 0, 16, 8}, {24, 0, 32, 8}}, kZeroLogits, {{8, 0, 16, 8}}, {0});
  const Assignment mmdet = run(kMmdet, p, {{"topk", "1"}});
  CHECK(mmdet.num_positives() == 0);
  CHECK(mmdet.max_overlaps == std::vector<float>(4, kMmdetNegativeOverlap));
  const analysis::ImageStats s = analysis::compute_stats(p, mmdet);
  CHECK(s.gts[0].candidates == 1);  // prior 1 is inside
  CHECK(s.gts[0].picked == 1);      // prior 2 was picked ...
  CHECK(s.gts[0].lost_to == std::vector<std::pair<int64_t, int64_t>>{{analysis::kBackground, 1}});  // ... and dropped
  CHECK(s.starved_gts == std::vector<int64_t>{0});

  CHECK(run(kMmdet, p, {{"topk", "2"}}).gt_inds == std::vector<int64_t>{0, 1, 0, 0});

  const Assignment mmyolo = run(kMmyolo, p, {{"topk", "1"}});
  CHECK(mmyolo.gt_inds == std::vector<int64_t>{0, 1, 0, 0});
  CHECK(mmyolo.max_overlaps[1] == 0.5f);
  // ultralytics: CIoU of [8, 0, 12, 8] against the GT: IoU 0.5, centres 4 px
  // apart (rho^2 = 16, 4 after /4 of the doubled sums) over a 8 x 8 hull
  // (c^2 = 128): 0.03125; v = 0.405285 * (atan(0.5) - atan(1))^2 = 0.041956,
  // alpha = v / (v + 0.5) = 0.077416: 0.5 - 0.03125 - 0.003248 = 0.465502.
  const Assignment ultra = run(kUltralytics, p, {{"topk", "1"}});
  CHECK(ultra.gt_inds == std::vector<int64_t>{0, 1, 0, 0});
  CHECK(ultra.max_overlaps[1] == doctest::Approx(0.465502).epsilon(1e-5));
}

TEST_CASE("task-aligned: the top-k boundary follows the metric") {
  // GT [0, 0, 32, 8] holds all four priors; every cell has IoU 64 / 256 =
  // 0.25, so the scores decide: logits -1, 2, 1, 0 rank priors 1, 2, 3, 0.
  // topk = 2 keeps priors 1 and 2; topk = 3 adds prior 3. (ultralytics' CIoU
  // favours the central priors 1, 2 (0.219 against 0.102 for 0, 3), which
  // only widens their lead; prior 3 still beats prior 0 on the score.)
  const Problem p = row(kOwnCells, {{-1}, {2}, {1}, {0}}, {{0, 0, 32, 8}}, {0});
  for (const char* name : kAllFlavours) {
    CAPTURE(name);
    CHECK(run(name, p, {{"topk", "2"}}).gt_inds == std::vector<int64_t>{0, 1, 1, 0});
    CHECK(run(name, p, {{"topk", "3"}}).gt_inds == std::vector<int64_t>{0, 1, 1, 1});
  }
}

TEST_CASE("task-aligned: inside means more than 0.01 px in (mmdet) or more than 1e-9 px (flavours)") {
  // GT [3.995, 0, 12, 8]: prior 0's point is 0.005 px right of the left edge,
  // prior 1's lies on the right edge (distance 0: never inside).
  const Problem p = row(kOwnCells, kZeroLogits, {{3.995f, 0, 12, 8}}, {0});
  CHECK(run(kMmdet, p).num_positives() == 0);
  CHECK(run(kMmyolo, p).gt_inds == std::vector<int64_t>{1, 0, 0, 0});
  CHECK(run(kUltralytics, p).gt_inds == std::vector<int64_t>{1, 0, 0, 0});
}

TEST_CASE("task-aligned: mmdet's points are its anchors' centres, the flavours' the stored priors") {
  // The dump's anchors are 64 px squares centred 8 px right of each prior
  // (centres x = 12, 20, 28, 36). GT [0, 0, 8, 8] holds prior 0's point
  // (4, 4) but no anchor centre.
  Problem p = row(kOwnCells, kZeroLogits, {{0, 0, 8, 8}}, {0});
  p.anchors.resize(4, 4);
  for (int i = 0; i < 4; ++i) {
    const float cx = 12.0f + 8.0f * static_cast<float>(i);
    p.anchors.row(i) << cx - 32, 4 - 32, cx + 32, 4 + 32;
  }
  p.mark(Field::kAnchors);
  CHECK(run(kMmdet, p).num_positives() == 0);
  CHECK(run(kMmyolo, p).gt_inds == std::vector<int64_t>{1, 0, 0, 0});
  CHECK(run(kUltralytics, p).gt_inds == std::vector<int64_t>{1, 0, 0, 0});
}

TEST_CASE("task-aligned: a GT smaller than a stride") {
  SUBCASE("around a prior centre: that prior is its positive") {
    // GT [2, 2, 6, 6] (4 x 4) holds prior 0; its cell has IoU 16 / 64 =
    // 0.25 (CIoU too: same centre, same aspect ratio). A single positive's
    // soft target is t / (t + eps) * 0.25 with t = 0.5 * 0.25^6 = 1.2207e-4
    // and eps 1e-7: 0.249796; ultralytics: t = sqrt(0.5) * 0.25^6 =
    // 1.7263e-4, eps 1e-9: 0.2499986. The small metric makes eps visible.
    const Problem p = row(kOwnCells, kZeroLogits, {{2, 2, 6, 6}}, {0});
    for (const char* name : kAllFlavours) {
      CAPTURE(name);
      const Assignment a = run(name, p);
      CHECK(a.gt_inds == std::vector<int64_t>{1, 0, 0, 0});
      CHECK(a.max_overlaps[0] == 0.25f);
      CHECK((*a.assign_metrics)[0] ==
            doctest::Approx(std::string(name) == kUltralytics ? 0.2499986 : 0.249796).epsilon(1e-6));
    }
  }
  SUBCASE("between prior centres: no positive") {
    // GT [5, 1, 11, 7] holds no prior point. mmdet still picks priors 0 and
    // 1 (their cells overlap it, IoU 18 / 82) and drops both as outside;
    // the flavours pick nothing.
    const Problem p = row(kOwnCells, kZeroLogits, {{5, 1, 11, 7}}, {0});
    for (const char* name : kAllFlavours) {
      CAPTURE(name);
      const Assignment a = run(name, p);
      CHECK(a.num_positives() == 0);
      const analysis::ImageStats s = analysis::compute_stats(p, a);
      CHECK(s.gts[0].candidates == 0);
      CHECK(s.gts[0].picked == (std::string(name) == kMmdet ? 2 : 0));
      CHECK(s.starved_gts == std::vector<int64_t>{0});
    }
    const Assignment mmdet = run(kMmdet, p);  // c points into it
    const CandidatePair* c = find_pair(mmdet, 1, 0);
    REQUIRE(c != nullptr);
    CHECK_FALSE(c->inside);
    CHECK(c->iou == doctest::Approx(18.0 / 82.0).epsilon(1e-6));
  }
}

TEST_CASE("task-aligned: GTs outside the image") {
  // The row spans x in [0, 32]. GT 0 [40, 0, 56, 8] lies wholly right of it:
  // no point inside, no prediction overlapping. GT 1 [-8, 0, 8, 8] sticks
  // out on the left but holds prior 0: IoU 64 / 128 = 0.5; CIoU subtracts
  // rho^2 / c^2 = (8^2 / 4) / (16^2 + 8^2) = 0.05 and v * alpha = 0.003248
  // (aspect 1 against 2, as in the test above): 0.446752.
  const Problem p = row(kOwnCells, kZeroLogits, {{40, 0, 56, 8}, {-8, 0, 8, 8}}, {0, 0});
  for (const char* name : kAllFlavours) {
    CAPTURE(name);
    const Assignment a = run(name, p);
    CHECK(a.gt_inds == std::vector<int64_t>{2, 0, 0, 0});
    CHECK(a.max_overlaps[0] == doctest::Approx(std::string(name) == kUltralytics ? 0.446752 : 0.5).epsilon(1e-5));
    const analysis::ImageStats s = analysis::compute_stats(p, a);
    CHECK(s.gts[0].candidates == 0);
    CHECK(s.gts[0].picked == 0);
    CHECK(s.starved_gts == std::vector<int64_t>{0});
  }
}

TEST_CASE("task-aligned: a prior two GTs picked — mmdet chooses among them, the flavours among all GTs") {
  // GT A [9, 0, 16, 8] and GT B [8, 0, 14, 8] (class 0) hold only prior 1;
  // GT C [8, 0, 24, 8] (class 1) holds priors 1 and 2. Prior 1 predicts
  // exactly C, prior 2 its own cell [16, 0, 24, 8]. topk = 1.
  //   A, B: prior 1 is their only prior with a metric (IoU 56/128 = 0.4375
  //         and 48/128 = 0.375), so both pick it.
  //   C:    prior 1 has IoU 1 but s = sigmoid(-12): t = 6.1e-6; prior 2 has
  //         IoU 0.5 and s = sigmoid(4): t = 0.982 / 64 = 0.0153 (ultralytics:
  //         sqrt(6.1e-6) = 0.0025 against 0.991 * 0.4468^6 = 0.0079). C
  //         picks prior 2.
  // Prior 1, positive for A and B:
  //   mmdet: the larger IoU of the two, A (0.4375).
  //   mmyolo, ultralytics: the largest IoU (CIoU) over ALL GTs: C (1.0), a GT
  //   that did not pick it. A and B then end with nothing.
  const Problem p = row({{0, 0, 8, 8}, {8, 0, 24, 8}, {16, 0, 24, 8}, {24, 0, 32, 8}},
                        {{0, 0}, {2, -12}, {0, 4}, {0, 0}}, {{9, 0, 16, 8}, {8, 0, 14, 8}, {8, 0, 24, 8}}, {0, 0, 1});
  const Assignment mmdet = run(kMmdet, p, {{"topk", "1"}});
  CHECK(mmdet.gt_inds == std::vector<int64_t>{0, 1, 3, 0});
  CHECK(mmdet.labels == std::vector<int64_t>{-1, 0, 1, -1});
  CHECK(mmdet.max_overlaps[1] == 0.4375f);
  const analysis::ImageStats s = analysis::compute_stats(p, mmdet);
  CHECK(s.gts[1].lost_to == std::vector<std::pair<int64_t, int64_t>>{{0, 1}});
  CHECK(s.starved_gts == std::vector<int64_t>{1});

  for (const char* name : {kMmyolo, kUltralytics}) {
    CAPTURE(name);
    const Assignment a = run(name, p, {{"topk", "1"}});
    CHECK(a.gt_inds == std::vector<int64_t>{0, 3, 3, 0});
    CHECK(a.labels == std::vector<int64_t>{-1, 1, 1, -1});
    CHECK(a.max_overlaps[1] == 1.0f);
    const CandidatePair* c = find_pair(a, 1, 2);
    REQUIRE(c != nullptr);
    CHECK(c->inside);
    CHECK_FALSE(c->picked);  // C did not pick prior 1, yet keeps it
    const analysis::ImageStats st = analysis::compute_stats(p, a);
    CHECK(st.starved_gts == std::vector<int64_t>{0, 1});
    CHECK(st.gts[0].lost_to == std::vector<std::pair<int64_t, int64_t>>{{2, 1}});
  }
  // mmyolo's soft targets for C: positives 1 and 2, T = t2 = 0.0153, U = 1
  // (prior 1's IoU): prior 2 gets 1 * t2 / (t2 + 1e-7) ~ 1, prior 1
  // t1 / t2 = 6.1442e-6 / 0.0153442 = 4.004e-4.
  const Assignment mmyolo = run(kMmyolo, p, {{"topk", "1"}});
  const double t1 = 1.0 / (1.0 + std::exp(12.0)), t2 = 1.0 / (1.0 + std::exp(-4.0)) / 64.0;
  CHECK((*mmyolo.assign_metrics)[1] == doctest::Approx(t1 / (t2 + 1e-7)).epsilon(1e-5));
  CHECK((*mmyolo.assign_metrics)[2] == doctest::Approx(t2 / (t2 + 1e-7)).epsilon(1e-5));
}

TEST_CASE("task-aligned: mmyolo's conflict argmax takes IoUs of GTs not containing the prior, ultralytics' does not") {
  // As above, with C replaced by D [13, 0, 24, 8] (class 1), which holds
  // prior 2 but not prior 1 (x = 12 < 13). A and B pick prior 1, D picks
  // prior 2 (t = 0.982 * (64/88)^6 = 0.145). For prior 1:
  //   mmdet:       among A, B: A (0.4375).
  //   mmyolo:      IoU over all GTs: A 0.4375, B 0.375, D 88/128 = 0.6875:
  //                D, whose box does not contain prior 1.
  //   ultralytics: CIoU is 0 outside a GT, so D has 0; A (0.393) beats B
  //                (0.286): A.
  const Problem p = row({{0, 0, 8, 8}, {8, 0, 24, 8}, {16, 0, 24, 8}, {24, 0, 32, 8}},
                        {{0, 0}, {2, -12}, {0, 4}, {0, 0}}, {{9, 0, 16, 8}, {8, 0, 14, 8}, {13, 0, 24, 8}}, {0, 0, 1});
  CHECK(run(kMmdet, p, {{"topk", "1"}}).gt_inds == std::vector<int64_t>{0, 1, 3, 0});
  const Assignment mmyolo = run(kMmyolo, p, {{"topk", "1"}});
  CHECK(mmyolo.gt_inds == std::vector<int64_t>{0, 3, 3, 0});
  CHECK(mmyolo.max_overlaps[1] == 0.6875f);
  const CandidatePair* c = find_pair(mmyolo, 1, 2);
  CHECK(c == nullptr);  // not a pair D considered: not inside, not picked
  // D's soft targets use prior 1's metric from the full table, sigmoid(-12) *
  // 0.6875^6, against T = t(prior 2) and U = 64 / 88.
  const double t1 = 1.0 / (1.0 + std::exp(12.0)) * std::pow(0.6875, 6.0);
  const double t2 = 1.0 / (1.0 + std::exp(-4.0)) * std::pow(64.0 / 88.0, 6.0);
  CHECK((*mmyolo.assign_metrics)[1] == doctest::Approx(t1 * (64.0 / 88.0) / (t2 + 1e-7)).epsilon(1e-5));
  CHECK(run(kUltralytics, p, {{"topk", "1"}}).gt_inds == std::vector<int64_t>{0, 1, 3, 0});
}

TEST_CASE("task-aligned: two identical GTs — an IoU tie goes to the first GT (torch max / argmax)") {
  // GTs 0 and 1 are both [0, 0, 16, 8] (classes 0 and 1). Each picks priors
  // 0 and 1 (IoU 0.5 each); every IoU is equal between the two GTs, so the
  // first maximum, GT 0, keeps both priors with its label.
  const Problem p = row(kOwnCells, {{0, 0}, {0, 0}, {0, 0}, {0, 0}}, {{0, 0, 16, 8}, {0, 0, 16, 8}}, {0, 1});
  for (const char* name : kAllFlavours) {
    CAPTURE(name);
    const Assignment a = run(name, p);
    CHECK(a.gt_inds == std::vector<int64_t>{1, 1, 0, 0});
    CHECK(a.labels == std::vector<int64_t>{0, 0, -1, -1});
    const analysis::ImageStats s = analysis::compute_stats(p, a);
    CHECK(s.starved_gts == std::vector<int64_t>{1});
    CHECK(s.gts[1].lost == 2);
  }
}

TEST_CASE(
    "task-aligned: flavours' top-k fills with zero-metric priors in torch's CPU order, and an inside one becomes a "
    "positive") {
  // topk = 2. The reference ranks t * inside over the row of four priors;
  // with fewer than two positive values the remaining slots go to
  // zero-valued priors in the order torch.topk gives equal keys on a CPU
  // (recorded from torch 1.13: topk([t, 0, 0, 0], 2) = [0, 2],
  // topk([0, 0, t, 0], 2) = [2, 3], topk([0, 0, 0, 0], 2) = [2, 3];
  // testdata/torch-order holds more).
  SUBCASE("GT [0, 0, 16, 8]: prior 1, inside with t = 0, is not among torch's [0, 2]") {
    const Problem p =
        row({{0, 0, 8, 8}, {40, 0, 48, 8}, {16, 0, 24, 8}, {24, 0, 32, 8}}, kZeroLogits, {{0, 0, 16, 8}}, {0});
    for (const char* name : {kMmyolo, kUltralytics}) {
      CAPTURE(name);
      const Assignment a = run(name, p);
      CHECK(a.gt_inds == std::vector<int64_t>{1, 0, 0, 0});
      CHECK_FALSE(has_note(a, "zero-metric priors, 1 of them"));
      CHECK(has_note(a, "taken in the order PyTorch's CPU topk gives equal keys"));
    }
    // mmdet keeps a pick only if its metric is positive.
    const Assignment mmdet = run(kMmdet, p, {{"topk", "2"}});
    CHECK(mmdet.gt_inds == std::vector<int64_t>{1, 0, 0, 0});
    CHECK(mmdet.notes.empty());
  }
  SUBCASE("GT [16, 0, 32, 8], every metric 0: torch's [2, 3] are both inside and become positives") {
    const std::array<float, 4> miss = {40, 0, 48, 8};
    const Problem p = row({miss, miss, miss, miss}, kZeroLogits, {{16, 0, 32, 8}}, {0});
    for (const char* name : {kMmyolo, kUltralytics}) {
      CAPTURE(name);
      const Assignment a = run(name, p);
      CHECK(a.gt_inds == std::vector<int64_t>{0, 0, 1, 1});  // lowest index first would give none
      CHECK(a.max_overlaps[2] == 0.0f);
      CHECK((*a.assign_metrics)[2] == 0.0f);
      CHECK(has_note(a, "zero-metric priors, 2 of them inside it"));
    }
  }
}

TEST_CASE("task-aligned: IoU's epsilons — yolov6's union + 1e-9, ultralytics' heights and union + 1e-7") {
  // One prior at (0.5, 0.5) and a GT of 1e-4 x 1e-4 around it, predicted
  // exactly. mmyolo: u = a / (a + 1e-9) with a = 1e-8: 1 / 1.1 = 0.909.
  // ultralytics: heights become 1e-4 + 1e-7, the union a' + 1e-7 with
  // a' ~ 1.001e-8: u = 1e-8 / 1.1e-7 = 0.091 (same centre and shape: no
  // CIoU penalty). (mmdet's 0.01 px margin keeps it out: no positive.)
  const float lo = 0.49995f, hi = 0.50005f;
  const Problem p = testing::make_problem({{0.5f, 0.5f, 8, 8}}, {{lo, lo, hi, hi}}, {{0}}, {{lo, lo, hi, hi}}, {0});
  const double w = static_cast<double>(hi - lo), area = w * w;
  const Assignment mmyolo = run(kMmyolo, p, {{"topk", "1"}});
  CHECK(mmyolo.gt_inds == std::vector<int64_t>{1});
  CHECK(mmyolo.max_overlaps[0] == doctest::Approx(area / (area + 1e-9)).epsilon(1e-4));
  CHECK(mmyolo.max_overlaps[0] == doctest::Approx(1.0 / 1.1).epsilon(2e-3));
  const Assignment ultra = run(kUltralytics, p, {{"topk", "1"}});
  CHECK(ultra.gt_inds == std::vector<int64_t>{1});
  CHECK(ultra.max_overlaps[0] == doctest::Approx(area / (2.0 * w * (w + 1e-7) - area + 1e-7)).epsilon(1e-4));
  CHECK(ultra.max_overlaps[0] == doctest::Approx(1.0 / 11.0).epsilon(3e-3));
  CHECK(run(kMmdet, p).num_positives() == 0);
}

TEST_CASE("task-aligned: topk above N — mmdet clamps, the flavours' reference would fail (noted)") {
  const Problem p = row(kOwnCells, kZeroLogits, {{0, 0, 16, 8}}, {0});
  const Assignment mmdet = run_assigner(kMmdet, p);  // topk 13 > 4 priors
  CHECK(mmdet.gt_inds == std::vector<int64_t>{1, 1, 0, 0});
  CHECK(mmdet.notes.empty());
  for (const char* name : {kMmyolo, kUltralytics}) {
    CAPTURE(name);
    const Assignment a = run_assigner(name, p);
    CHECK(a.gt_inds == std::vector<int64_t>{1, 1, 0, 0});
    CHECK(has_note(a, "exceeds the 4 priors"));
  }
}

// ultralytics 8.4 (`stride` given): STAL widens a GT side below stride[0] to
// stride[1] about its centre, for the inside test only. The GT [13, 5, 19, 7]
// (6 x 2 px, centre (16, 6)) holds no prior point of the row; widened to
// 16 x 16 it is [8, -2, 24, 14] and holds x = 12 and x = 20 (x = 4 and 28
// are outside; the edges at 8 and 24 hold no point). Both predict the GT box
// itself: CIoU 1 with the ORIGINAL box, metric sqrt(s). Logits 0 and 2:
// metrics sqrt(0.5) = 0.70711 and sqrt(0.88080) = 0.93851.
TEST_CASE("task-aligned.ultralytics: 8.4's STAL widens small GTs for the inside test only") {
  const std::array<float, 4> gt = {13, 5, 19, 7};
  const Problem p = row({{0, 0, 8, 8}, gt, gt, {24, 0, 32, 8}}, {{0}, {0}, {2}, {0}}, {gt}, {0});
  const Assignment before = run(kUltralytics, p);  // stride null: ultralytics 8.2 / 8.3
  CHECK(before.num_positives() == 0);
  const Assignment after = run(kUltralytics, p, {{"stride", "[8, 16]"}});
  CHECK(after.gt_inds == std::vector<int64_t>{0, 1, 1, 0});
  CHECK(after.max_overlaps[1] == doctest::Approx(1.0));  // CIoU with the original box, not the widened one
  CHECK((*after.assign_metrics)[2] == doctest::Approx(1.0));
  CHECK((*after.assign_metrics)[1] == doctest::Approx(static_cast<double>(0.70711f / 0.93851f)).epsilon(1e-4));
  // One stride: stride[0] is both the threshold and the widened side (8 x 8:
  // [12, 2, 20, 10] holds neither x = 12 nor x = 20, strictly).
  CHECK(run(kUltralytics, p, {{"stride", "[8]"}}).num_positives() == 0);
  // A side at or above stride[0] is left alone: stride[0] = 2 widens nothing.
  CHECK(run(kUltralytics, p, {{"stride", "[2, 16]"}}).num_positives() == 0);
  // The widened box is a search region too: sparse and dense agree.
  CHECK(run(kUltralytics, p, {{"stride", "[8, 16]"}, {"search", "dense"}}).gt_inds == after.gt_inds);
}

// topk2 (YOLO26's one-to-one branch: topk 7, topk2 1): after conflicts each
// GT keeps its topk2 positives of largest metric; the soft target is
// normalised over what remains.
TEST_CASE("task-aligned.ultralytics: topk2 keeps each GT's best positives after conflicts") {
  const std::array<float, 4> gt = {13, 5, 19, 7};
  const Problem p = row({{0, 0, 8, 8}, gt, gt, {24, 0, 32, 8}}, {{0}, {0}, {2}, {0}}, {gt}, {0});
  const Assignment one = run(kUltralytics, p, {{"stride", "[8, 16]"}, {"topk2", "1"}});
  CHECK(one.gt_inds == std::vector<int64_t>{0, 0, 1, 0});  // prior 2's metric 0.93851 beats prior 1's 0.70711
  CHECK((*one.assign_metrics)[1] == 0.0f);
  CHECK((*one.assign_metrics)[2] == doctest::Approx(1.0));
  // topk2 equal to topk: `self.topk2 = topk2 or topk` skips the step.
  CHECK(run(kUltralytics, p, {{"stride", "[8, 16]"}, {"topk2", "2"}}).gt_inds == std::vector<int64_t>{0, 1, 1, 0});
  // Equal metrics at the topk2 boundary: the order torch.topk leaves open is noted.
  const Problem tied = row({{0, 0, 8, 8}, gt, gt, {24, 0, 32, 8}}, {{0}, {2}, {2}, {0}}, {gt}, {0});
  const Assignment t = run(kUltralytics, tied, {{"stride", "[8, 16]"}, {"topk2", "1"}});
  CHECK(t.num_positives() == 1);
  CHECK(t.gt_inds == std::vector<int64_t>{0, 1, 0, 0});  // torch.topk([0, m, m, 0], 1) = [1] on a CPU
  CHECK(has_note(t, "which of its positives topk2 = 1 keeps depends on the order torch.topk gives equal metrics"));
}

TEST_CASE("task-aligned.ultralytics: presets and parameters name the framework versions they replay") {
  const assign::AssignerInfo* info = assign::find_assigner(kUltralytics);
  REQUIRE(info);
  auto choice = assign::resolve_assigner("yolo26-o2o");
  REQUIRE(choice.ok());
  CHECK(choice->label() == "task-aligned.ultralytics+yolo26-o2o");
  const Params o2o = assign::choice_params(*choice);
  CHECK(o2o.get_int("topk") == 7);
  CHECK(o2o.get_int("topk2") == 1);
  CHECK(o2o.get_numbers("stride") == Numbers{8, 16, 32});
  auto v8 = assign::resolve_assigner("yolov8");
  REQUIRE(v8.ok());
  CHECK(v8->label() == "task-aligned.ultralytics+v8.4");
  Meta meta;
  meta.framework = "ultralytics";
  meta.framework_version = "8.3.252";
  CHECK(assign::version_warning(*info, assign::choice_params(*v8), meta).find("replays ultralytics 8.4") !=
        std::string::npos);
  CHECK(assign::version_warning(*info, assign::default_params(*info), meta).empty());  // stride null: 8.0 - 8.3
  meta.framework_version = "8.4.52";
  CHECK(assign::version_warning(*info, assign::choice_params(*v8), meta).empty());
  CHECK_FALSE(assign::version_warning(*info, assign::default_params(*info), meta).empty());
  // topk2 is 8.4's and needs stride.
  Params bad = assign::default_params(*info);
  REQUIRE(bad.set("topk2", "1").ok());
  const Status st = assign::validate_params(*info, bad, nullptr);
  CHECK(st.kind() == ErrorKind::kUsage);
  CHECK(st.message().find("needs stride") != std::string::npos);
  REQUIRE(bad.set("stride", "None").ok());
  CHECK(bad.is_null("stride"));
}

}  // namespace assignscope
