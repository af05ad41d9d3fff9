// FCOS and YOLOv5 on tiny hand-made images; each expectation is derived by
// hand in its comment.
#include <doctest/doctest.h>

#include "analysis/stats.h"
#include "test_support.h"

namespace assignscope {
namespace {

using testing::row_of_four;
using testing::run_assigner;

// row_of_four's points x = 4, 12, 20, 28 (y = 4, stride 8) are one level,
// so FCOS needs one regress range.
const std::pair<std::string, std::string> kOneLevel{"regress_ranges", "[[-1, 64]]"};

std::vector<float> targets_of(const Assignment& a, int prior) {
  return {a.bbox_targets->begin() + prior * 4, a.bbox_targets->begin() + prior * 4 + 4};
}

}  // namespace

TEST_CASE("fcos: G = 0, and a GT with no point strictly inside") {
  const Assignment none = run_assigner("fcos", row_of_four({}, {}), {kOneLevel});
  CHECK(none.num_positives() == 0);
  CHECK(*none.bbox_targets == std::vector<float>(16, 0.0f));
  CHECK(none.max_overlaps.empty());  // FCOS measures no overlap
  // [5, 1, 11, 7] lies between the points 4 and 12; [12, 0, 20, 8] has points
  // on its edges only (strict test): neither gets a positive, no fallback.
  const Assignment a = run_assigner("fcos", row_of_four({{5, 1, 11, 7}, {12, 0, 20, 8}}, {0, 1}), {kOneLevel});
  CHECK(a.num_positives() == 0);
  const Assignment outside = run_assigner("fcos", row_of_four({{100, 100, 140, 120}}, {0}), {kOneLevel});
  CHECK(outside.num_positives() == 0);
}

TEST_CASE("fcos: the level range is inclusive at both ends") {
  // Point 1 (12, 4) in GT [0, 0, 76, 8]: (l, t, r, b) = (12, 4, 64, 4), max 64.
  const Problem p = row_of_four({{0, 0, 76, 8}}, {0});
  const Assignment a = run_assigner("fcos", p, {kOneLevel});
  CHECK(a.gt_inds[1] == 1);
  CHECK(targets_of(a, 1) == std::vector<float>{12, 4, 64, 4});
  // Point 0 (4, 4): max distance 72 > 64: not a candidate on this level.
  CHECK(a.gt_inds[0] == 0);
  const Assignment below = run_assigner("fcos", p, {{"regress_ranges", "[[-1, 63.5]]"}});
  CHECK(below.gt_inds[1] == 0);
  const Assignment from_64 = run_assigner("fcos", p, {{"regress_ranges", "[[64, 128]]"}});
  CHECK(from_64.gt_inds[1] == 1);  // the low end is inclusive too
}

TEST_CASE("fcos: the smallest GT wins, and an exact area tie goes to the lower index") {
  // Point 1 (12, 4) lies in [0, 0, 32, 8] (area 256) and [8, 0, 16, 8] (64):
  // the smaller, GT 1, takes it.
  const Assignment smaller = run_assigner("fcos", row_of_four({{0, 0, 32, 8}, {8, 0, 16, 8}}, {0, 1}), {kOneLevel});
  CHECK(smaller.gt_inds == std::vector<int64_t>{1, 2, 1, 1});
  // [0, 0, 16, 8] and [8, 0, 24, 8] both have area 128 and both hold point 1.
  const Problem tie = row_of_four({{0, 0, 16, 8}, {8, 0, 24, 8}}, {0, 1});
  const Assignment a = run_assigner("fcos", tie, {kOneLevel});
  CHECK(a.gt_inds == std::vector<int64_t>{1, 1, 2, 0});
  const analysis::ImageStats s = analysis::compute_stats(tie, a);
  CHECK(s.gts[1].lost_to == std::vector<std::pair<int64_t, int64_t>>{{0, 1}});
}

TEST_CASE("fcos: centre sampling shrinks 'inside' to the centre box clipped to the GT, and norm_on_bbox") {
  // GT [0, 0, 32, 8]: centre (16, 4), radius 1.5 * 8 = 12: centre box
  // [4, -8, 28, 16] clipped to [4, 0, 28, 8]; strictly inside: x = 12, 20.
  const Problem p = row_of_four({{0, 0, 32, 8}}, {0});
  CHECK(run_assigner("fcos", p, {kOneLevel}).gt_inds == std::vector<int64_t>{1, 1, 1, 1});
  const Assignment sampled = run_assigner("fcos", p, {kOneLevel, {"center_sampling", "true"}});
  CHECK(sampled.gt_inds == std::vector<int64_t>{0, 1, 1, 0});
  // Targets stay distances to the full GT box; norm_on_bbox divides by 8.
  CHECK(targets_of(sampled, 1) == std::vector<float>{12, 4, 20, 4});
  const Assignment normed = run_assigner("fcos", p, {kOneLevel, {"norm_on_bbox", "true"}});
  CHECK(targets_of(normed, 1) == std::vector<float>{1.5f, 0.5f, 2.5f, 0.5f});
}

TEST_CASE("fcos: a GT of area 1e8 or more loses to mmdet's INF, unless every GT is a candidate") {
  // mmdet gives a GT that is no candidate of a point the area INF = 1e8 and
  // calls the point background when the row's minimum is INF. A GT of
  // 12000 x 12000 = 1.44e8 px² holding every point:
  //   alone, it is the minimum (1.44e8 != INF): all four points are its;
  //   next to a GT that holds none of them, that GT's INF (1e8) is smaller:
  //   all four are background.
  const std::pair<std::string, std::string> any_distance{"regress_ranges", "[[-1, 1e8]]"};
  const Assignment alone = run_assigner("fcos", row_of_four({{-6000, -6000, 6000, 6000}}, {0}), {any_distance});
  CHECK(alone.gt_inds == std::vector<int64_t>{1, 1, 1, 1});
  CHECK(targets_of(alone, 0) == std::vector<float>{6004, 6004, 5996, 5996});
  const Problem beside = row_of_four({{-6000, -6000, 6000, 6000}, {100, 100, 110, 110}}, {0, 1});
  CHECK(run_assigner("fcos", beside, {any_distance}).num_positives() == 0);
  // A GT just under INF (9999 x 10000 px²) wins either way.
  const Problem under = row_of_four({{-4990, -4996, 5009, 5004}, {100, 100, 110, 110}}, {0, 1});
  CHECK(run_assigner("fcos", under, {any_distance}).gt_inds == std::vector<int64_t>{1, 1, 1, 1});
}

TEST_CASE("fcos: regress ranges must match the image's levels") {
  const auto* info = assign::find_assigner("fcos");
  REQUIRE(info);
  const Status st = info->check(assign::default_params(*info), row_of_four({{0, 0, 32, 8}}, {0}));
  CHECK(st.kind() == ErrorKind::kUsage);
  CHECK(st.message().find("1 pyramid levels") != std::string::npos);
  CHECK(st.message().find("regress_ranges has 5") != std::string::npos);
}

namespace {

// A 64 x 64 input, one level of stride 8 (8 x 8 cells) with three anchors
// per cell of 8, 16 and 32 px, ordered anchor, row, col as mmyolo's YOLOv5.
Problem yolov5_grid(const std::vector<std::array<float, 4>>& gts, const std::vector<int64_t>& labels) {
  std::vector<std::array<float, 4>> priors, boxes;
  std::vector<std::vector<float>> logits;
  for (float size : {8.0f, 16.0f, 32.0f})
    for (int r = 0; r < 8; ++r)
      for (int c = 0; c < 8; ++c) {
        const float x = (static_cast<float>(c) + 0.5f) * 8, y = (static_cast<float>(r) + 0.5f) * 8;
        priors.push_back({x, y, 8, 8});
        boxes.push_back({x - size / 2, y - size / 2, x + size / 2, y + size / 2});
        logits.push_back({0.0f});
      }
  Problem p = testing::make_problem(priors, boxes, logits, gts, labels);
  p.anchors = p.pred_bboxes;
  p.mark(Field::kAnchors);
  p.meta.image_size = std::array<int64_t, 2>{64, 64};
  return p;
}

int32_t cell(int anchor, int row, int col) { return anchor * 64 + row * 8 + col; }

std::vector<Match> matches_of(const Problem& p) { return *run_assigner("yolov5", p).matches; }

}  // namespace

TEST_CASE("yolov5: a GT matches every anchor of similar shape, in its cell") {
  // Centre (20, 28) -> (2.5, 3.5) cells, 16 x 16 px -> 2 x 2 cells: ratios 2,
  // 1 and 2 against anchors of 1, 2 and 4 cells, all < 4. frac = 0.5 is not
  // < 0.5, so no neighbour: cell (col 2, row 3) of each anchor.
  const std::vector<Match> m = matches_of(yolov5_grid({{12, 20, 28, 36}}, {0}));
  CHECK(m == std::vector<Match>{{cell(0, 3, 2), 0}, {cell(1, 3, 2), 0}, {cell(2, 3, 2), 0}});
}

TEST_CASE("yolov5: near neighbours on the side the centre leans to") {
  // Centre (19, 27) -> (2.375, 3.375): frac < 0.5 and > 1, so the left
  // neighbour (long(1.875) = 1) and the upper one (long(2.875) = 2) join;
  // W - c = 5.625 has frac 0.625: no right or lower neighbour.
  const std::vector<Match> m = matches_of(yolov5_grid({{11, 19, 27, 35}}, {0}));
  std::vector<Match> expected;
  for (int a = 0; a < 3; ++a)
    for (auto [row, col] : {std::pair{3, 2}, std::pair{3, 1}, std::pair{2, 2}})
      expected.push_back({cell(a, row, col), 0});
  std::sort(expected.begin(), expected.end(),
            [](const Match& x, const Match& y) { return x.prior < y.prior || (x.prior == y.prior && x.gt < y.gt); });
  CHECK(m == expected);
}

TEST_CASE("yolov5: an integer centre fires left and right onto the same cell, kept once") {
  // Centre x = 24 -> 3.0 cells: left fires (frac 0, c > 1; long(2.5) = 2) and
  // right fires (W - c = 5.0, frac 0; long(3.5) = 3, the centre cell again).
  // y = 28 -> 3.5: no vertical neighbour. Per anchor: cells 3 and 2 once each.
  const std::vector<Match> m = matches_of(yolov5_grid({{16, 20, 32, 36}}, {0}));
  CHECK(m.size() == 6);
  CHECK(std::count(m.begin(), m.end(), Match{cell(1, 3, 3), 0}) == 1);
  CHECK(std::count(m.begin(), m.end(), Match{cell(1, 3, 2), 0}) == 1);
}

TEST_CASE("yolov5: no anchor of similar shape starves a GT, and one prior may serve several GTs") {
  // 64 x 4 px = 8 x 0.5 cells: width ratio 8, 4, 2 and height ratio 2, 4, 8
  // against anchors of 1, 2, 4 cells: every anchor fails one of them (< 4).
  const Problem strip = yolov5_grid({{0, 26, 64, 30}}, {0});
  const Assignment a = run_assigner("yolov5", strip);
  CHECK(a.matches->empty());
  CHECK(analysis::compute_stats(strip, a).starved_gts == std::vector<int64_t>{0});
  // Two GTs with the same centre: every matched prior serves both; gt_inds
  // names the lower GT.
  const Problem twins = yolov5_grid({{12, 20, 28, 36}, {14, 22, 26, 34}}, {0, 1});
  const Assignment t = run_assigner("yolov5", twins);
  CHECK(t.matches->size() == 6);
  CHECK(t.gt_inds[cell(1, 3, 2)] == 1);
  const analysis::ImageStats s = analysis::compute_stats(twins, t);
  CHECK(s.matches == 6);
  CHECK(s.priors_serving_several == 3);
  CHECK(s.gts[1].positives == 3);
  CHECK(s.gts[1].picked == 3);
  CHECK(s.gts[1].lost == 0);  // shared with GT 0, not lost to it
}

TEST_CASE("yolov5: G = 0, a GT centred off the grid (dropped with a note), and image_size is required") {
  CHECK(matches_of(yolov5_grid({}, {})).empty());
  // Centre x = 70 -> 8.75 cells, past the 8-cell grid: the reference would
  // index past it and fail.
  const Assignment off = run_assigner("yolov5", yolov5_grid({{62, 20, 78, 36}}, {0}));
  CHECK(off.matches->empty());
  REQUIRE(off.notes.size() == 1);
  CHECK(off.notes[0].find("outside the feature map") != std::string::npos);
  const auto* info = assign::find_assigner("yolov5");
  Problem no_size = yolov5_grid({{12, 20, 28, 36}}, {0});
  no_size.meta.image_size.reset();
  CHECK(info->check(assign::default_params(*info), no_size).message().find("image_size") != std::string::npos);
}

}  // namespace assignscope
