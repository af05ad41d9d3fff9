// ATSS (mmdetection and mmyolo flavours) on tiny hand-made images.
//
// Most cases use row_of_four with anchor_scale = 1: four 8 x 8 anchors, the
// cells [0, 8], [8, 16], [16, 24], [24, 32] (x) by [0, 8] (y), centred on the
// priors at x = 4, 12, 20, 28, y = 4.
#include <doctest/doctest.h>

#include <cmath>

#include "analysis/stats.h"
#include "test_support.h"

namespace assignscope {
namespace {

using testing::has_note;
using testing::row_of_four;
using testing::run_assigner;
using testing::with_ignore_box;

constexpr float kNeg = -100000000.0f;

}  // namespace

TEST_CASE("atss: G = 0 assigns nothing, with max_overlaps 0") {
  for (const char* name : {"atss", "atss.mmyolo"}) {
    CAPTURE(name);
    const Assignment a = run_assigner(name, row_of_four({}, {}));
    CHECK(a.gt_inds == std::vector<int64_t>(4, 0));
    CHECK(a.labels == std::vector<int64_t>(4, -1));
    CHECK(a.max_overlaps == std::vector<float>(4, 0.0f));
    CHECK_FALSE(a.dynamic_ks.has_value());
    CHECK(a.assign_metrics.has_value() == (std::string(name) == "atss.mmyolo"));
  }
}

TEST_CASE("atss: the IoU threshold is the mean plus the unbiased std of the candidates' IoUs") {
  // GT [6, 18] x [0, 8], centre (12, 4): with topk 3 the candidates are
  // priors 1 (distance 0), 0 and 2 (distance 8), IoUs 2/3, 1/9, 1/9. Mean
  // 8/27, std sqrt(75)/27: threshold 0.617, so only prior 1 is positive.
  const Problem p = row_of_four({{6, 0, 18, 8}}, {1});
  const double thr = 8.0 / 27.0 + std::sqrt(75.0) / 27.0;
  const Assignment a = run_assigner("atss", p, {{"topk", "3"}, {"anchor_scale", "1"}});
  CHECK(a.gt_inds == std::vector<int64_t>{0, 1, 0, 0});
  CHECK(a.labels == std::vector<int64_t>{-1, 1, -1, -1});
  CHECK(a.max_overlaps[1] == doctest::Approx(2.0 / 3.0).epsilon(1e-7));
  CHECK(a.max_overlaps[0] == kNeg);  // mmdet's -INF
  REQUIRE(a.candidates.size() == 3);
  for (const CandidatePair& c : a.candidates) {
    CHECK(c.terms[1] == doctest::Approx(thr).epsilon(1e-6));
    CHECK(c.cost == (c.prior == 1 ? 0.0f : 8.0f));  // the centre distance
    CHECK(c.picked == (c.prior == 1));
  }
  CHECK(analysis::compute_stats(p, a).gts[0].candidates == 1);  // centres inside the GT

  // mmyolo: the same decision; 0 for negatives, and the soft label is the
  // prediction's IoU (prior 1 predicts its own cell: 64 / 96).
  const Assignment m = run_assigner("atss.mmyolo", p, {{"topk", "3"}, {"anchor_scale", "1"}});
  CHECK(m.gt_inds == std::vector<int64_t>{0, 1, 0, 0});
  CHECK(m.max_overlaps == std::vector<float>{0.0f, m.max_overlaps[1], 0.0f, 0.0f});
  REQUIRE(m.assign_metrics.has_value());
  CHECK((*m.assign_metrics)[1] == doctest::Approx(2.0 / 3.0).epsilon(1e-7));
  CHECK((*m.assign_metrics)[0] == 0.0f);
}

TEST_CASE("atss: mmdet keeps IoU == threshold (>=), mmyolo needs IoU > threshold") {
  // GT [10, 22] x [0, 8] sits between priors 1 and 2: with topk 2 both are
  // candidates, with the same IoU 48/112, so std = 0 and threshold = IoU.
  const Problem p = row_of_four({{10, 0, 22, 8}}, {0});
  const std::vector<std::pair<std::string, std::string>> sets = {{"topk", "2"}, {"anchor_scale", "1"}};
  CHECK(run_assigner("atss", p, sets).gt_inds == std::vector<int64_t>{0, 1, 1, 0});
  CHECK(run_assigner("atss.mmyolo", p, sets).gt_inds == std::vector<int64_t>{0, 0, 0, 0});
}

TEST_CASE("atss: the anchor centre must be inside the GT by more than 0.01 (mmdet) or 1e-9 (mmyolo)") {
  // GT [8, 12.005] x [0, 8]: prior 1's IoU 0.5006 clears the threshold
  // (0.911 of it), but its centre x = 12 is only 0.005 from the right edge.
  const Problem p = row_of_four({{8, 0, 12.005f, 8}}, {0});
  const std::vector<std::pair<std::string, std::string>> sets = {{"topk", "3"}, {"anchor_scale", "1"}};
  CHECK(run_assigner("atss", p, sets).gt_inds == std::vector<int64_t>{0, 0, 0, 0});
  const Assignment m = run_assigner("atss.mmyolo", p, sets);
  CHECK(m.gt_inds == std::vector<int64_t>{0, 1, 0, 0});
  CHECK(m.max_overlaps[1] == doctest::Approx(4.005 * 8 / 64).epsilon(1e-6));
}

TEST_CASE("atss: a prior positive for several GTs goes to the best IoU among them (mmdet) or over all GTs (mmyolo)") {
  // Anchor 0 is [0, 10]^2; anchors 1, 2 are tiny boxes at (6, 6), (4, 4);
  // anchors 3, 4, 5 tiny boxes at (5, 10), (5, 11), (5, 9). With topk 3:
  //   GT 0 [3, 7]^2     candidates 0, 1, 2; IoU(anchor 0) 0.16 > threshold 0.146
  //   GT 1 [2, 8]^2     candidates 0, 1, 2; IoU(anchor 0) 0.36 > threshold 0.328
  //   GT 2 [0, 10] x [0, 20]: candidates 3, 4, 5 only, yet IoU(anchor 0) = 0.5
  // Anchor 0 is positive for GTs 0 and 1: mmdet gives it to GT 1, mmyolo's
  // argmax over every GT to GT 2, which never had it as a candidate.
  const std::vector<std::array<float, 4>> anchors = {{0, 0, 10, 10},
                                                     {5.9f, 5.9f, 6.1f, 6.1f},
                                                     {3.9f, 3.9f, 4.1f, 4.1f},
                                                     {4.9f, 9.9f, 5.1f, 10.1f},
                                                     {4.9f, 10.9f, 5.1f, 11.1f},
                                                     {4.9f, 8.9f, 5.1f, 9.1f}};
  std::vector<std::array<float, 4>> priors;
  for (const auto& a : anchors) priors.push_back({(a[0] + a[2]) / 2, (a[1] + a[3]) / 2, 1, 1});
  Problem p = testing::make_problem(priors, anchors, std::vector<std::vector<float>>(6, {0.0f, 0.0f, 0.0f}),
                                    {{3, 3, 7, 7}, {2, 2, 8, 8}, {0, 0, 10, 20}}, {0, 1, 2});
  p.anchors.resize(6, 4);
  for (int i = 0; i < 6; ++i) p.anchors.row(i) << anchors[i][0], anchors[i][1], anchors[i][2], anchors[i][3];
  p.mark(Field::kAnchors);

  const Assignment a = run_assigner("atss", p, {{"topk", "3"}});
  CHECK(a.gt_inds[0] == 2);
  CHECK(a.labels[0] == 1);
  CHECK(a.max_overlaps[0] == doctest::Approx(0.36).epsilon(1e-6));
  CHECK(analysis::compute_stats(p, a).gts[0].lost_to == std::vector<std::pair<int64_t, int64_t>>{{1, 1}});

  const Assignment m = run_assigner("atss.mmyolo", p, {{"topk", "3"}});
  CHECK(m.gt_inds[0] == 3);
  CHECK(m.labels[0] == 2);
  CHECK(m.max_overlaps[0] == doctest::Approx(0.5).epsilon(1e-6));
  const analysis::ImageStats s = analysis::compute_stats(p, m);
  CHECK(s.gts[1].lost_to == std::vector<std::pair<int64_t, int64_t>>{{2, 1}});
  CHECK(s.gts[2].positives >= 1);
}

TEST_CASE("atss.mmyolo: levels with fewer than topk priors, where the reference fails or miscounts") {
  // Levels of 3 and 1 priors; GT = prior 3's cell exactly.
  Problem p = row_of_four({{24, 0, 32, 8}}, {0});
  p.num_level_priors = {3, 1};
  p.prior_level = {0, 0, 0, 1};
  // mmdet takes what each level has: candidates 0, 1, 2 (IoU 0) and 3 (IoU
  // 1): threshold 0.75, prior 3 positive.
  CHECK(run_assigner("atss", p, {{"anchor_scale", "1"}}).gt_inds == std::vector<int64_t>{0, 0, 0, 1});
  // mmyolo fails on level 0 (3 < 9; the replay takes all 3 and says so) and,
  // on the one-prior level, counts prior 3 topk times: it is no candidate and
  // its IoU enters the statistics as 0, so nothing is positive.
  const Assignment m = run_assigner("atss.mmyolo", p, {{"anchor_scale", "1"}});
  CHECK(m.gt_inds == std::vector<int64_t>{0, 0, 0, 0});
  CHECK(has_note(m, "level 0 has 3 priors, fewer than topk = 9: mmyolo's BatchATSSAssigner fails there"));
  CHECK(has_note(m, "level 1 has a single prior"));
}

TEST_CASE("atss.mmyolo: an empty level is one more level the reference fails on") {
  // Levels of 2, 0 and 2 priors. mmdet's top-k of an empty level is empty;
  // mmyolo's [B, G, 0] top-k meets its [B, G, topk] padding mask in
  // torch.where and fails, as on any level shorter than topk. GT [0, 0, 16,
  // 8] = cells 0 and 1 exactly: IoUs 0.5, 0.5, 0, 0 on the four candidates,
  // threshold 0.25 + 0.2887: nothing passes in either flavour.
  Problem p = row_of_four({{0, 0, 16, 8}}, {0});
  p.num_level_priors = {2, 0, 2};
  p.prior_level = {0, 0, 2, 2};
  const Assignment mmdet = run_assigner("atss", p, {{"anchor_scale", "1"}});
  CHECK(mmdet.num_positives() == 0);
  CHECK(mmdet.notes.empty());
  const Assignment m = run_assigner("atss.mmyolo", p, {{"anchor_scale", "1"}, {"topk", "2"}});
  CHECK(m.num_positives() == 0);
  REQUIRE(m.notes.size() == 1);
  CHECK(has_note(m, "level 1 has no priors, fewer than topk = 2: mmyolo's BatchATSSAssigner fails there"));
}

TEST_CASE("atss: anchors ignored through gt_bboxes_ignore are -1, unless they still become positive") {
  // Ignore box [7, 17] x [0, 8]: IoF 1 with anchor 1, 0.125 with anchors 0, 2.
  const Problem p = with_ignore_box(row_of_four({{8, 0, 16, 8}}, {2}), {7, 0, 17, 8});
  // Unused by default (ignore_iof_thr = -1): anchor 1 is the GT's cell.
  CHECK(run_assigner("atss", p, {{"topk", "3"}, {"anchor_scale", "1"}}).gt_inds == std::vector<int64_t>{0, 1, 0, 0});
  // Ignored: anchor 1 moves to distance 1e8 and leaves the top 3; the others
  // have IoU 0 and centres outside the GT.
  const Assignment a = run_assigner("atss", p, {{"topk", "3"}, {"anchor_scale", "1"}, {"ignore_iof_thr", "0.2"}});
  CHECK(a.gt_inds == std::vector<int64_t>{0, -1, 0, 0});
  CHECK(a.max_overlaps == std::vector<float>(4, kNeg));
  CHECK(analysis::compute_stats(p, a).ignored == 1);
  // With topk 4 the level runs out of other anchors: anchor 1 is a candidate
  // again (at distance 1e8), clears the threshold and is positive.
  const Assignment b = run_assigner("atss", p, {{"topk", "4"}, {"anchor_scale", "1"}, {"ignore_iof_thr", "0.2"}});
  CHECK(b.gt_inds == std::vector<int64_t>{0, 1, 0, 0});
  CHECK(b.max_overlaps[1] == 1.0f);
}

TEST_CASE("atss: the registry entries") {
  const assign::AssignerInfo* atss = assign::find_assigner("atss");
  REQUIRE(atss != nullptr);
  const Params d = assign::default_params(*atss);
  CHECK(d.to_string() == "topk=9 ignore_iof_thr=-1 anchor_scale=8");
  const assign::AssignerInfo* mmyolo = assign::find_assigner("atss.mmyolo");
  REQUIRE(mmyolo != nullptr);
  CHECK(assign::default_params(*mmyolo).to_string() == "topk=9 anchor_scale=5");
  CHECK(mmyolo->result_files.back() == "assign_metrics.npy");
}

}  // namespace assignscope
