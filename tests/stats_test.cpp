// Statistics of assignments, checked by hand on assignments written out
// literally (so that the numbers do not depend on any assigner), and the
// CSV renderer's layout.
#include <doctest/doctest.h>

#include "analysis/stats.h"
#include "render/render.h"
#include "test_support.h"

namespace assignscope {
namespace {

// Two levels: priors 0-3 at stride 8 (x = 4, 12, 20, 28; y = 4), priors 4-5
// at stride 16 (x = 8, 24; y = 8). GT 0 = [0, 0, 32, 8] (area 256, small,
// centre (16, 4)), label 3; GT 1 = [0, 0, 100, 100] (area 10000, large,
// centre (50, 50)), label 7; GT 2 = [0, 0, 40, 40] (area 1600, medium),
// label 3.
Problem two_level_problem() {
  Problem p = testing::make_problem(
      {{4, 4, 8, 8}, {12, 4, 8, 8}, {20, 4, 8, 8}, {28, 4, 8, 8}, {8, 8, 16, 16}, {24, 8, 16, 16}},
      std::vector<std::array<float, 4>>(6, {0, 0, 1, 1}), std::vector<std::vector<float>>(6, {0.0f}),
      {{0, 0, 32, 8}, {0, 0, 100, 100}, {0, 0, 40, 40}}, {3, 7, 3});
  p.num_level_priors = {4, 2};
  p.prior_level = {0, 0, 0, 0, 1, 1};
  return p;
}

CandidatePair pair(int32_t prior, int32_t gt, float cost, float term0, float term1, float iou, bool picked) {
  CandidatePair c;
  c.prior = prior;
  c.gt = gt;
  c.cost = cost;
  c.terms[0] = term0;
  c.terms[1] = term1;
  c.iou = iou;
  c.inside = true;
  c.picked = picked;
  return c;
}

// GT 0 gets priors 1 and 2, GT 1 gets prior 5; prior 0 is ignored; GT 2
// picked prior 2 but lost it to GT 0, and is starved.
Assignment literal_assignment() {
  Assignment a = Assignment::Empty(6, 3, 0.0f, true);
  a.gt_inds = {-1, 1, 1, 0, 0, 2};
  a.labels = {-1, 3, 3, -1, -1, 7};
  a.max_overlaps = {0.0f, 0.5f, 0.7f, 0.1f, 0.0f, 0.2f};
  a.dynamic_ks = std::vector<int64_t>{2, 1, 1};
  a.cost_terms = {"cls", "iou"};
  a.assign_metrics = std::vector<float>{0, 0.25f, 0.5f, 0, 0, 1.0f};
  a.candidates = {pair(1, 0, 1.0f, 0.5f, 0.5f, 0.5f, true), pair(2, 0, 3.0f, 2.0f, 1.0f, 0.7f, true),
                  pair(5, 1, 2.0f, 1.5f, 0.5f, 0.2f, true), pair(2, 2, 0.5f, 0.25f, 0.25f, 0.4f, true),
                  pair(3, 2, 9.0f, 8.0f, 1.0f, 0.1f, false)};
  return a;
}

}  // namespace

TEST_CASE("stats: per GT — scale, IoU, cost and its terms, centre distance in strides, soft targets") {
  const Problem p = two_level_problem();
  const analysis::ImageStats s = analysis::compute_stats(p, literal_assignment());
  REQUIRE(s.gts.size() == 3);
  const analysis::GtStats& g0 = s.gts[0];
  CHECK(g0.area == 256.0);
  CHECK(g0.scale == analysis::Scale::kSmall);
  CHECK(s.gts[1].scale == analysis::Scale::kLarge);
  CHECK(s.gts[2].scale == analysis::Scale::kMedium);
  CHECK(g0.dynamic_k == 2);
  CHECK(g0.positives == 2);
  CHECK(g0.iou.min == doctest::Approx(0.5));
  CHECK(g0.iou.mean == doctest::Approx(0.6));
  CHECK(g0.iou.max == doctest::Approx(0.7));
  // Costs 1 and 3; terms (0.5, 0.5) and (2, 1).
  CHECK(g0.cost.mean == doctest::Approx(2.0));
  REQUIRE(g0.terms.size() == 2);
  CHECK(g0.terms[0].mean == doctest::Approx(1.25));
  CHECK(g0.terms[1].max == doctest::Approx(1.0));
  // Priors (12, 4) and (20, 4) to the centre (16, 4): 4 px = 0.5 stride each.
  CHECK(g0.centre_distance.min == doctest::Approx(0.5));
  CHECK(g0.centre_distance.max == doctest::Approx(0.5));
  REQUIRE(g0.soft_target_sum.has_value());
  CHECK(*g0.soft_target_sum == doctest::Approx(0.75));
  CHECK(g0.positives_per_level == std::vector<int64_t>{2, 0});
  // GT 1: prior (24, 8) at stride 16 to (50, 50): sqrt(26² + 42²) / 16.
  CHECK(s.gts[1].centre_distance.mean == doctest::Approx(std::sqrt(26.0 * 26 + 42 * 42) / 16.0));
  // GT 2 picked prior 2 and lost it to GT 0; no positive, no IoU.
  const analysis::GtStats& g2 = s.gts[2];
  CHECK(g2.candidates == 2);
  CHECK(g2.picked == 1);
  CHECK(g2.lost == 1);
  CHECK(g2.lost_to == std::vector<std::pair<int64_t, int64_t>>{{0, 1}});
  CHECK(g2.starved());
  CHECK(g2.iou.empty());
  CHECK(g2.cost.empty());
  CHECK(*g2.soft_target_sum == 0.0);
}

TEST_CASE("stats: per image — levels, classes, scales") {
  const Problem p = two_level_problem();
  const analysis::ImageStats s = analysis::compute_stats(p, literal_assignment());
  CHECK(s.positives == 3);
  CHECK(s.negatives == 2);
  CHECK(s.ignored == 1);
  CHECK(s.starved_gts == std::vector<int64_t>{2});
  REQUIRE(s.levels.size() == 2);
  CHECK(s.levels[0].positives == 2);
  CHECK(s.levels[0].gts_served == 1);
  CHECK(s.levels[0].positives_per_gt() == 2.0);
  CHECK(s.levels[1].positives == 1);
  // Class 3: GTs 0 and 2, 2 positives, 1 starved; class 7: GT 1.
  REQUIRE(s.classes.size() == 2);
  CHECK(s.classes.at(3).gts == 2);
  CHECK(s.classes.at(3).positives == 2);
  CHECK(s.classes.at(3).starved == 1);
  CHECK(s.classes.at(7).positives == 1);
  CHECK(s.scales[0].gts == 1);  // small: GT 0
  CHECK(s.scales[0].positives == 2);
  CHECK(s.scales[1].starved == 1);    // medium: GT 2
  CHECK(s.scales[2].positives == 1);  // large: GT 1
}

TEST_CASE("stats: the COCO scale boundaries are 32² and 96², exclusive") {
  CHECK(analysis::coco_scale(32.0 * 32.0 - 1) == analysis::Scale::kSmall);
  CHECK(analysis::coco_scale(32.0 * 32.0) == analysis::Scale::kMedium);
  CHECK(analysis::coco_scale(96.0 * 96.0 - 1) == analysis::Scale::kMedium);
  CHECK(analysis::coco_scale(96.0 * 96.0) == analysis::Scale::kLarge);
}

TEST_CASE("stats: a batch sums its images, levels only when every image has the same") {
  Batch batch;
  batch.images = {two_level_problem(), two_level_problem()};
  const std::vector<Assignment> results = {literal_assignment(), literal_assignment()};
  const analysis::BatchStats b = analysis::compute_batch_stats(batch, results);
  CHECK(b.images.size() == 2);
  CHECK(b.gts == 6);
  CHECK(b.positives == 6);
  CHECK(b.ignored == 2);
  CHECK(b.starved == 2);
  CHECK(b.classes.at(3).gts == 4);
  REQUIRE(b.levels.size() == 2);
  CHECK(b.levels[0].positives == 4);
  CHECK(b.levels[0].gts_served == 2);

  // A one-level image next to the two-level one: no per-level totals.
  Problem one_level = two_level_problem();
  one_level.num_level_priors = {6};
  one_level.prior_level.assign(6, 0);
  batch.images[1] = one_level;
  CHECK(analysis::compute_batch_stats(batch, results).levels.empty());
}

TEST_CASE("csv: a header and one row per (image, GT), empty cells where nothing exists") {
  Batch batch;
  batch.images = {two_level_problem()};
  batch.images[0].name = "img, \"a\"";
  const std::string text = render::csv(batch, {literal_assignment()});
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
    lines.push_back(text.substr(start, end - start));
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].rfind("image,image_name,gt,image_gts,label,x1,y1,x2,y2,area,scale,candidates,dynamic_k,picked,"
                       "positives,lost,lost_to_background,lost_to_gts,starved,iou_min,iou_mean,iou_max,cost_min,cost_"
                       "mean,cost_max,cost_cls_min,"
                       "cost_cls_mean,cost_cls_max,cost_iou_min,cost_iou_mean,cost_iou_max,centre_distance_min,"
                       "centre_distance_mean,centre_distance_max,soft_target_sum,plan_mass,",
                       0) == 0);
  CHECK(lines[0].find(",positives_level0,positives_level1,assigner") != std::string::npos);
  // The name is quoted (comma, quote doubled).
  CHECK(lines[1] ==
        "0,\"img, \"\"a\"\"\",0,3,3,0,0,32,8,256,small,2,2,2,2,0,0,0,false,0.5,0.6,0.7,1,2,3,0.5,1.25,2,0.5,0.75,"
        "1,0.5,0.5,0.5,0.75,,2,0,");  // the assigner cell last: this literal Assignment names none
  // GT 2: starved, lost one prior to one other GT (GT 0), none to the background, no IoU or cost.
  CHECK(lines[3].find(",medium,2,1,1,0,1,0,1,true,,,,,,,") != std::string::npos);
}

}  // namespace assignscope
