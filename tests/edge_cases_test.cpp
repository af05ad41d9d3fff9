// Every registered assigner on the same hand-made edge cases.
//
// Part 1 replays four scenes through every assigner of the registry and
// checks the outcome worked out by hand for each, below. A registered
// assigner with no expected outcome fails the test: a new assigner is not
// done until it has hand-derived answers for these scenes too.
//   no ground truth            G = 0
//   a GT larger than the image every prior inside it, every cell overlapping
//                              it equally (ties of IoU), one exact prediction
//   a GT holding no prior      smaller than a stride, between prior points
//   two identical GTs          competing for the same priors with equal
//                              costs: each reference's tie rule decides
// Per-assigner files hold the edge cases peculiar to one family.
//
// Part 2 runs every assigner on degenerate inputs (N = 0, N = 1, an empty
// level, zero-area boxes, saturated logits, more GTs than priors, padding
// only) where no outcome is asserted beyond a well-formed result — the
// sanitizer build makes this a memory-safety net as well.
//
// The image, unless said otherwise: 32 x 8 px (meta.image_size [8, 32]), one
// level of four stride-8 priors at x = 4, 12, 20, 28, y = 4; prior i
// predicts its own cell [8i, 0, 8i + 8, 8], C = 2 with logits (class 0,
// class 1) = (-3, -1), (-3, 0.5), (-3, 0), (-3, -1); objectness and
// centerness logits 0.
// YOLOv5 reads none of the predictions; its image is the same row with three
// anchors per cell, squares of 8, 16 and 32 px (1, 2, 4 cells), twelve
// priors ordered anchor then column: prior a * 4 + col. YOLOv7 reads the same
// twelve, each anchor's copy of a cell predicting that cell with its logits.
//
// Parameters chosen so that four priors can be replayed (defaults otherwise):
//   atss, atss.mmyolo        topk 4, anchor_scale 1 (anchors = the cells)
//   max-iou                  anchor_scale 1
//   ota                      candidate_topk 4 (20 > N is refused)
//   task-aligned (3)         topk 1
//   fcos                     regress_ranges [[-1, 64]] (one level)
// Values used below: sigmoid(-3) = 0.0474, sigmoid(-1) = 0.2689,
// sigmoid(0.5) = 0.6225.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "analysis/stats.h"
#include "render/render.h"
#include "test_support.h"

namespace assignscope {
namespace {

using Sets = std::vector<std::pair<std::string, std::string>>;
using Inds = std::vector<int64_t>;
using Box = std::array<float, 4>;

const std::map<std::string, Sets> kSettings = {
    {"atss", {{"topk", "4"}, {"anchor_scale", "1"}}},
    {"atss.mmyolo", {{"topk", "4"}, {"anchor_scale", "1"}}},
    {"max-iou", {{"anchor_scale", "1"}}},
    {"ota", {{"candidate_topk", "4"}}},
    {"task-aligned", {{"topk", "1"}}},
    {"task-aligned.mmyolo", {{"topk", "1"}}},
    {"task-aligned.ultralytics", {{"topk", "1"}}},
    {"fcos", {{"regress_ranges", "[[-1, 64]]"}}},
};

// The scene's problem as `assigner` reads it; `exact` (if >= 0) is a prior
// whose prediction is GT 0's box.
Problem scene(const std::string& assigner, const std::vector<Box>& gts, const std::vector<int64_t>& labels,
              int exact = -1) {
  std::vector<Box> priors, preds, anchors;
  std::vector<std::vector<float>> logits;
  const std::vector<std::vector<float>> kLogits = {{-3, -1}, {-3, 0.5f}, {-3, 0}, {-3, -1}};
  const bool yolo = assigner == "yolov5" || assigner == "yolov7";
  for (float size : yolo ? std::vector<float>{8, 16, 32} : std::vector<float>{8}) {
    for (int c = 0; c < 4; ++c) {
      const float x = 4.0f + 8.0f * static_cast<float>(c);
      priors.push_back({x, 4, 8, 8});
      preds.push_back({x - 4, 0, x + 4, 8});
      anchors.push_back({x - size / 2, 4 - size / 2, x + size / 2, 4 + size / 2});
      logits.push_back(kLogits[static_cast<size_t>(c)]);
    }
  }
  if (exact >= 0) preds[static_cast<size_t>(exact)] = gts[0];
  Problem p = testing::make_problem(priors, preds, logits, gts, labels);
  p.meta.image_size = std::array<int64_t, 2>{8, 32};
  p.meta.num_classes = 2;
  p.objectness.assign(priors.size(), 0.0f);
  p.mark(Field::kObjectness);
  p.centerness.assign(priors.size(), 0.0f);
  p.mark(Field::kCenterness);
  if (yolo) {
    p.anchors.resize(static_cast<Eigen::Index>(anchors.size()), 4);
    for (size_t i = 0; i < anchors.size(); ++i)
      for (int k = 0; k < 4; ++k) p.anchors(static_cast<Eigen::Index>(i), k) = anchors[i][static_cast<size_t>(k)];
    p.mark(Field::kAnchors);
  }
  return p;
}

Params params_for(const assign::AssignerInfo& info) {
  Params params = assign::default_params(info);
  if (const auto it = kSettings.find(info.name); it != kSettings.end())
    for (const auto& [k, v] : it->second) REQUIRE(params.set(k, v).ok());
  return params;
}

// Replays `info` on `p` after the checks the CLI makes.
Assignment replay(const assign::AssignerInfo& info, const Problem& p) {
  const Params params = params_for(info);
  REQUIRE(assign::check_needs(info, p).ok());
  if (info.check) {
    const Status st = info.check(params, p);
    REQUIRE_MESSAGE(st.ok(), st.message());
  }
  return info.make(params)->assign(p);
}

std::string str(const Inds& inds) {
  std::string s;
  for (int64_t g : inds) s += (s.empty() ? "" : " ") + std::to_string(g);
  return "[" + s + "]";
}

// Every registered assigner must have an expectation in `expected`.
void check_every_assigner(const std::vector<Box>& gts, const std::vector<int64_t>& labels, int exact,
                          const std::map<std::string, std::vector<Inds>>& expected) {
  for (const assign::AssignerInfo& info : assign::registry()) {
    CAPTURE(info.name);
    const auto it = expected.find(info.name);
    REQUIRE_MESSAGE(it != expected.end(), "no hand-derived outcome for this assigner: add one");
    const Problem p = scene(info.name, gts, labels, exact);
    const Assignment a = replay(info, p);
    testing::check_well_formed(p, a);
    // One expected gt_inds, or several where the reference leaves a tie open.
    const std::vector<Inds>& allowed = it->second;
    const std::string got = str(a.gt_inds);
    CAPTURE(got);
    CHECK(std::find(allowed.begin(), allowed.end(), a.gt_inds) != allowed.end());
    CHECK(replay(info, p).gt_inds == a.gt_inds);  // deterministic
  }
  CHECK(expected.size() == assign::registry().size());
}

Inds yolo_inds(std::initializer_list<int> positives, int64_t gt = 1) {
  Inds inds(12, 0);
  for (int i : positives) inds[static_cast<size_t>(i)] = gt;
  return inds;
}

}  // namespace

TEST_CASE("edge cases, every assigner: no ground truth") {
  for (const assign::AssignerInfo& info : assign::registry()) {
    CAPTURE(info.name);
    const Problem p = scene(info.name, {}, {});
    const Assignment a = replay(info, p);
    testing::check_well_formed(p, a);
    CHECK(a.num_positives() == 0);
    CHECK(std::all_of(a.gt_inds.begin(), a.gt_inds.end(), [](int64_t g) { return g == 0; }));
    // Every reference returns zeros here (mmdet's -INF sentinels included).
    CHECK(std::all_of(a.max_overlaps.begin(), a.max_overlaps.end(), [](float v) { return v == 0.0f; }));
    if (a.dynamic_ks) CHECK(a.dynamic_ks->empty());
    if (a.assign_metrics)
      CHECK(std::all_of(a.assign_metrics->begin(), a.assign_metrics->end(), [](float v) { return v == 0.0f; }));
    if (a.matches) CHECK(a.matches->empty());
  }
}

TEST_CASE("edge cases, every assigner: a GT larger than the image") {
  // GT [-16, -12, 50, 20] (66 x 32 = 2112 px², centre (17, 4)), class 1,
  // holds every prior point; prior 2 predicts it exactly (IoU 1), the other
  // cells lie inside it (IoU 64 / 2112 = 0.0303 each, a three-way tie).
  //   dynamic-soft-label (both)  k = int(1 + 3 * 0.0303) = 1; prior 2's IoU
  //                        cost is ~0, the others' 3 * 3.50: prior 2.
  //   simota               every prior in box and centre region (17 -+ 20),
  //                        k = 1, cheapest prior 2.
  //   simota.yolox         square 17 -+ 12 holds the shifted points 8, 16, 24
  //                        (priors 0-2), k = 1: prior 2.
  //   ota                  all four are candidates (centre box [-3, -12, 37,
  //                        20]); supply int(1.09) = 1, shipped to prior 2,
  //                        whose cost has no IoU term; the background takes
  //                        the rest.
  //   atss                 the four anchor IoUs are equal: std 0, threshold =
  //                        the IoU itself: mmdet's >= keeps all four,
  //                        mmyolo's > none.
  //   task-aligned (3)     top-1 metric: prior 2 (s * 1^6 against s * 1e-9).
  //   max-iou              every anchor's IoU 0.0303 < 0.4: negative, but all
  //                        four share the GT's best IoU: low-quality matching
  //                        (gt_max_assign_all) gives it all of them.
  //   fcos                 every point inside, largest distances 46, 38, 36,
  //                        44 within [-1, 64]: all four.
  //   yolov5               (cx, w) = (2.125, 8.25) cells, (cy, h) = (0.5, 4):
  //                        only the 4-cell anchor has ratio < 4 (2.06); cell 2
  //                        and, as frac(2.125) < 0.5, its left neighbour 1:
  //                        priors 8 + 2, 8 + 1.
  //   yolov7               yolov5's two cells as columns (10, then the left
  //                        one 9; cy = 0.5 stays in row 0), IoUs 64 / 2112
  //                        each (prior 2, the exact one, is no column):
  //                        k = 1; the class cost decides, sqrt(sigmoid(0.5)
  //                        / 2) = 0.558 (col 1) beats 0.5 (col 2): prior 9.
  //   hungarian            query 2: L1 0 and GIoU 1 against costs above 2.
  //   topk-hungarian       k = min(topk 4, int(4 / 1)) = 4: the GT takes
  //                        every query.
  //   align-ota            as simota (every prior in box and centre region,
  //                        k = 1): prior 2's IoU cost is ~0, the others'
  //                        3 * 3.50: prior 2.
  //   o2f                  centre square 17 -+ 12 (stride 8 * 1.5) holds the
  //                        points 12, 20, 28 (x = 4 is outside); all three
  //                        have IoU > 0, k = min(3, 7) = 3: priors 1 - 3,
  //                        prior 2 (quality 0.25^0.2 * 1) the best.
  const Inds prior2 = {0, 0, 1, 0}, all = {1, 1, 1, 1}, none = {0, 0, 0, 0};
  check_every_assigner({{-16, -12, 50, 20}}, {1}, 2,
                       {{"dynamic-soft-label", {prior2}},
                        {"dynamic-soft-label.mmyolo", {prior2}},
                        {"simota", {prior2}},
                        {"simota.yolox", {prior2}},
                        {"ota", {prior2}},
                        {"atss", {all}},
                        {"atss.mmyolo", {none}},
                        {"task-aligned", {prior2}},
                        {"task-aligned.mmyolo", {prior2}},
                        {"task-aligned.ultralytics", {prior2}},
                        {"max-iou", {all}},
                        {"fcos", {all}},
                        {"yolov5", {yolo_inds({9, 10})}},
                        {"yolov7", {yolo_inds({9})}},
                        {"hungarian", {prior2}},
                        {"topk-hungarian", {all}},
                        {"align-ota", {prior2}},
                        {"o2f", {{0, 1, 1, 1}}}});
}

TEST_CASE("edge cases, every assigner: a GT holding no prior point") {
  // GT [5, 1, 11, 7] (6 x 6, centre (8, 4)), class 1, lies between the
  // points x = 4 and 12. Cells 0 and 1 overlap it by 3 x 6: IoU 18 / 82 =
  // 0.2195 each; cells 2 and 3 not at all.
  //   dynamic-soft-label   no valid prior: mmdet returns early, nothing.
  //   .mmyolo              no early return: every prior costs INF = 1e8, k =
  //                        max(1, int(0.44)) = 1, the first of the tied 1e8
  //                        keys (prior 0), with a note.
  //   simota               no prior in the box; the centre region 8 -+ 20
  //                        holds priors 0-2 at cost 1e5 + c, k = 1: c is
  //                        1.36 + 4.55 (prior 0), 0.52 + 4.55 (prior 1),
  //                        0.74 + 48.4 (prior 2): prior 1.
  //   simota.yolox         square 8 -+ 12 holds the shifted points 8 and 16
  //                        (priors 0, 1) without penalty; same IoUs, and
  //                        prior 1's score sqrt(0.6225 / 2) beats prior 0's
  //                        sqrt(0.2689 / 2): prior 1.
  //   ota                  no candidate: every cost 1e6 + c, supply 1; prior
  //                        1 is cheapest for the GT (0.02 + 2.27) and
  //                        dearest for the background (0.28): the GT's
  //                        unit goes mostly there, and only there does its
  //                        rescaled row beat the background's.
  //   atss                 candidate IoUs 0.22, 0.22, 0, 0: threshold 0.24,
  //                        and no anchor centre inside anyway: nothing.
  //   task-aligned (3)     no point inside: nothing (mmdet's top-1, prior 1,
  //                        is dropped as outside).
  //   max-iou              best IoU 0.2195 < 0.4, shared by anchors 0 and 1:
  //                        low-quality matching gives it both.
  //   fcos                 no point strictly inside: nothing, no fallback.
  //   yolov5               (cx, w) = (1.0, 0.75) cells, (cy, h) = (0.5, 0.75):
  //                        anchors of 1 and 2 cells match (ratios 1.33, 2.67),
  //                        the 4-cell one not (5.33). Cell long(1.0) = 1; the
  //                        left rule needs cx > 1 and the right one lands on
  //                        long(1.5) = 1 again: priors 1 and 4 + 1.
  //   yolov7               yolov5's cells, each twice (the centre and the
  //                        right rule): columns 1, 5, 1, 5, all predicting
  //                        cell 1 with equal costs (IoU 0.2195, k = 1): a
  //                        tie between priors 1 and 5, torch.topk's CPU
  //                        order takes the first column, prior 1.
  //   hungarian            query 1: L1 2.19 and GIoU 0.15 (as query 0) but
  //                        the better class cost (-0.53 against 0.32).
  //   topk-hungarian       k = min(4, int(4 / 1)) = 4: every query, as
  //                        for any single GT of this four-query image.
  //   align-ota            simota's candidates and k = 1, but INF = 1e8:
  //                        quality-focal cls 0.0014 (prior 0: p = 0.27 near
  //                        IoU 0.22) and 0.14 (prior 1) plus IoU cost 4.55
  //                        are both 1e8 + 8 in float32 (prior 2: 1e8 + 48).
  //                        The tie goes to torch.topk's CPU order: prior 0
  //                        (insertion sort of three keys keeps index order).
  //   o2f                  centre square 8 -+ 12 clipped to the GT, (5, 11):
  //                        no point inside, no valid prior: nothing.
  const Inds prior1 = {0, 1, 0, 0}, none = {0, 0, 0, 0};
  check_every_assigner({{5, 1, 11, 7}}, {1}, -1,
                       {{"dynamic-soft-label", {none}},
                        {"dynamic-soft-label.mmyolo", {{1, 0, 0, 0}}},
                        {"simota", {prior1}},
                        {"simota.yolox", {prior1}},
                        {"ota", {prior1}},
                        {"atss", {none}},
                        {"atss.mmyolo", {none}},
                        {"task-aligned", {none}},
                        {"task-aligned.mmyolo", {none}},
                        {"task-aligned.ultralytics", {none}},
                        {"max-iou", {{1, 1, 0, 0}}},
                        {"fcos", {none}},
                        {"yolov5", {yolo_inds({1, 5})}},
                        {"yolov7", {yolo_inds({1}), yolo_inds({5})}},
                        {"hungarian", {prior1}},
                        {"topk-hungarian", {{1, 1, 1, 1}}},
                        {"align-ota", {{1, 0, 0, 0}}},
                        {"o2f", {none}}});

  // The early return and the INF picks say so.
  const auto* mmdet = assign::find_assigner("dynamic-soft-label");
  const Problem p = scene("dynamic-soft-label", {{5, 1, 11, 7}}, {1});
  const Assignment early = replay(*mmdet, p);
  CHECK(early.max_overlaps == std::vector<float>(4, 0.0f));
  CHECK(early.dynamic_ks == Inds{0});
  CHECK(testing::has_note(early, "returns before matching"));
  const Assignment inf_pick = replay(*assign::find_assigner("dynamic-soft-label.mmyolo"), p);
  CHECK(testing::has_note(inf_pick, "k = 1 exceeds the 0 priors costing less than INF"));
  CHECK(inf_pick.max_overlaps[0] == doctest::Approx(18.0 / 82.0).epsilon(1e-6));
}

TEST_CASE("edge cases, every assigner: two identical GTs compete, and each reference's tie rule decides") {
  // GTs 0 and 1 are both [9, 0, 24, 8] (centre (16.5, 4)), class 1. Points 1
  // (x = 12) and 2 (x = 20) are inside; cell IoUs 0, 56/128 = 0.4375, 64/120
  // = 0.5333, 0. Every cost and metric is the same for both GTs, so each
  // prior either GT takes is a tie between them.
  //   dynamic-soft-label (both)  k = int(0.97) = 1 each; prior 2 is the
  //                        cheaper (1.89 against 2.51: IoU cost 1.886 vs
  //                        2.480), both take it, torch.min's first minimum
  //                        gives it to GT 0.
  //   simota, simota.yolox k = 1 each; prior 2 (BCE 0.74 + IoU 1.89 against
  //                        0.52 + 2.48; YOLOX 0.86 + 1.89 against 0.75 +
  //                        2.48); the tie goes to GT 0.
  //   align-ota            k = 1 each; prior 2 (quality-focal 0.0009 + IoU
  //                        1.89 against 0.026 + 2.48); the tie goes to GT 0.
  //   ota                  priors 1 and 2 are the only candidates, supply 1
  //                        each, the background's 2 go to priors 0 and 3.
  //                        Each GT row ships ~0.5 to priors 1 and 2, both
  //                        rows alike: torch.max's first row, GT 0, takes
  //                        both; GT 1 has none.
  //   atss (both)          topk 4: IoUs 0, 0.4375, 0.5333, 0, threshold mean
  //                        0.2427 + std 0.2830 = 0.5257: prior 2, for both
  //                        GTs; equal IoUs, first GT (mmdet among the two,
  //                        mmyolo over all columns alike).
  //   task-aligned (3)     top-1 metric is prior 2 for both GTs (mmdet
  //                        0.5 * 0.5333^6 = 0.0115 against 0.6225 * 0.4375^6 =
  //                        0.0044); equal IoUs: the first GT.
  //   max-iou              anchor 2 (IoU 0.5333 >= 0.5) goes to the first
  //                        best GT, GT 0, but low-quality matching then runs
  //                        GT by GT and GT 1 takes it over: the LAST GT wins.
  //                        Anchor 1 (0.4375) is in the ignore band: -1.
  //   fcos                 equal areas: the lower index, GT 0, takes both points.
  //   yolov5               (cx, w) = (2.0625, 1.875) cells, h 1 cell: anchors
  //                        of 1 and 2 cells match, the 4-cell one not (ratio
  //                        4, not < 4); cell 2 and its left neighbour 1.
  //                        Every matched prior serves both GTs; gt_inds names
  //                        the lower one.
  //   yolov7               yolov5's cells, for each GT: columns 2, 2, 6, 6
  //                        (centre) and 1, 1, 5, 5 (left); IoU sum 3.88:
  //                        k = 3 each, three of the four cell-2 columns
  //                        (cost 0.86 + 1.89), the same three for both GTs:
  //                        torch.min gives them to GT 0, priors 2 and 6.
  //   hungarian            queries 1 (cost 0.39) and 2 (0.40) are matched,
  //                        one to each GT; with identical GTs which gets which
  //                        is a tie scipy breaks by its own order.
  //   topk-hungarian       k = min(4, int(4 / 2)) = 2: the four columns (each
  //                        GT twice) take all four queries, two per GT; the
  //                        GTs' columns are identical, so any split of the
  //                        queries into two pairs is optimal: scipy's order
  //                        decides, as for hungarian.
  //   o2f                  centre square 16.5 -+ 12 clipped to the GT, (9, 24):
  //                        points 12 and 20 (IoUs 0.4375, 0.5333), k = 2 for
  //                        each GT, both take both; equal qualities in the
  //                        row maximum: the first GT, GT 0, takes both.
  const std::vector<Box> twins = {{9, 0, 24, 8}, {9, 0, 24, 8}};
  const Inds prior2 = {0, 0, 1, 0};
  check_every_assigner(twins, {1, 1}, -1,
                       {{"dynamic-soft-label", {prior2}},
                        {"dynamic-soft-label.mmyolo", {prior2}},
                        {"simota", {prior2}},
                        {"simota.yolox", {prior2}},
                        {"ota", {{0, 1, 1, 0}}},
                        {"atss", {prior2}},
                        {"atss.mmyolo", {prior2}},
                        {"task-aligned", {prior2}},
                        {"task-aligned.mmyolo", {prior2}},
                        {"task-aligned.ultralytics", {prior2}},
                        {"max-iou", {{0, -1, 2, 0}}},
                        {"fcos", {{0, 1, 1, 0}}},
                        {"yolov5", {yolo_inds({1, 2, 5, 6})}},
                        {"yolov7", {yolo_inds({2, 6})}},
                        {"hungarian", {{0, 1, 2, 0}, {0, 2, 1, 0}}},
                        {"topk-hungarian",
                         {{1, 1, 2, 2}, {1, 2, 1, 2}, {1, 2, 2, 1}, {2, 1, 1, 2}, {2, 1, 2, 1}, {2, 2, 1, 1}}},
                        {"align-ota", {prior2}},
                        {"o2f", {{0, 1, 1, 0}}}});

  // The loser is reported starved and losing to the winner, except where
  // both keep the prior (YOLOv5 multi-match) or each gets some (the
  // Hungarian matchers).
  for (const char* name : {"dynamic-soft-label", "simota", "ota", "atss", "task-aligned", "fcos", "yolov7", "o2f"}) {
    CAPTURE(name);
    const Problem p = scene(name, twins, {1, 1});
    const analysis::ImageStats s = analysis::compute_stats(p, replay(*assign::find_assigner(name), p));
    CHECK(s.starved_gts == Inds{1});
  }
  const Problem p = scene("max-iou", twins, {1, 1});
  const analysis::ImageStats s = analysis::compute_stats(p, replay(*assign::find_assigner("max-iou"), p));
  CHECK(s.starved_gts == Inds{0});
  CHECK(s.ignored == 1);
  const Problem y = scene("yolov5", twins, {1, 1});
  const Assignment matched = replay(*assign::find_assigner("yolov5"), y);
  CHECK(matched.matches->size() == 8);
  CHECK(analysis::compute_stats(y, matched).starved_gts.empty());
}

TEST_CASE("edge cases, every assigner: degenerate inputs give well-formed results") {
  struct Degenerate {
    const char* what;
    std::vector<Box> gts;
    std::vector<int64_t> labels;
  };
  std::vector<Degenerate> cases = {
      {"a GT of zero width", {{12, 1, 12, 7}}, {0}},
      {"a GT of zero area", {{12, 4, 12, 4}}, {1}},
      {"a GT far outside the image", {{500, 500, 520, 530}}, {0}},
      {"a GT across the border", {{-10, -2, 10, 6}}, {1}},
      {"GTs whose edges lie on prior points", {{4, 0, 20, 8}, {12, 0, 28, 8}}, {0, 1}},
  };
  Degenerate many{"more GTs than priors", {}, {}};
  for (int g = 0; g < 9; ++g) {
    const auto x = static_cast<float>(3 * g);
    many.gts.push_back({x, 1, x + 5 + static_cast<float>(g % 3), 7});
    many.labels.push_back(g % 2);
  }
  cases.push_back(many);

  for (const assign::AssignerInfo& info : assign::registry()) {
    CAPTURE(info.name);
    for (const Degenerate& d : cases) {
      CAPTURE(d.what);
      const Problem p = scene(info.name, d.gts, d.labels);
      testing::check_well_formed(p, replay(info, p));
    }
    // Zero-area predictions and saturated logits.
    Problem flat = scene(info.name, {{6, 0, 26, 8}}, {1});
    for (Eigen::Index i = 0; i < flat.pred_bboxes.rows(); ++i)
      flat.pred_bboxes.row(i) << flat.priors(i, 0), 4, flat.priors(i, 0), 4;
    flat.cls_scores.col(0).setConstant(-80.0f);
    flat.cls_scores.col(1).setConstant(80.0f);
    testing::check_well_formed(flat, replay(info, flat));

    // N = 0: nothing to assign.
    Problem empty = scene(info.name, {{6, 0, 26, 8}}, {1});
    empty.set_num_priors(0);
    for (Rows4f* rows : {&empty.priors, &empty.pred_bboxes, &empty.anchors})
      if (rows->rows() > 0) rows->resize(0, 4);
    empty.cls_scores.resize(0, 2);
    empty.objectness.clear();
    empty.centerness.clear();
    empty.num_level_priors = {0};
    empty.prior_level.clear();
    {
      const Assignment a = replay(info, empty);
      CHECK(a.gt_inds.empty());
      CHECK(a.num_positives() == 0);
    }

    // A stacked batch's image with padding columns only, no real GT.
    Problem padded = scene(info.name, {}, {});
    padded.padding_gt_bboxes = Rows4f::Zero(2, 4);
    padded.padding_gt_labels = {0, 0};
    const Assignment a = replay(info, padded);
    testing::check_well_formed(padded, a);
    CHECK(a.num_positives() == 0);
  }

  // One prior, and a level with no priors between two others (YOLOv5's
  // grid cannot hold either).
  for (const assign::AssignerInfo& info : assign::registry()) {
    if (info.name == "yolov5" || info.name == "yolov7") continue;
    CAPTURE(info.name);
    Problem one = testing::make_problem({{12, 4, 8, 8}}, {{8, 0, 16, 8}}, {{-3, 0.5f}}, {{6, 0, 18, 8}}, {1});
    one.meta.image_size = std::array<int64_t, 2>{8, 32};
    one.objectness = {0.0f};
    one.mark(Field::kObjectness);
    one.centerness = {0.0f};
    one.mark(Field::kCenterness);
    Params params = params_for(info);
    if (info.name == "ota") REQUIRE(params.set("candidate_topk", "1").ok());
    testing::check_well_formed(one, info.make(params)->assign(one));

    Problem gap = scene(info.name, {{6, 0, 26, 8}}, {1});
    gap.num_level_priors = {2, 0, 2};
    gap.prior_level = {0, 0, 2, 2};
    Params three_levels = params_for(info);
    if (info.name == "fcos") REQUIRE(three_levels.set("regress_ranges", "[[-1, 64], [-1, 64], [-1, 64]]").ok());
    if (info.check) REQUIRE(info.check(three_levels, gap).ok());
    testing::check_well_formed(gap, info.make(three_levels)->assign(gap));
  }
}

}  // namespace assignscope
