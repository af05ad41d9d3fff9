// SimOTA (mmdetection and YOLOX flavours) on tiny hand-made images.
#include <doctest/doctest.h>

#include <cmath>

#include "analysis/stats.h"
#include "cost/terms.h"
#include "test_support.h"

namespace assignscope {
namespace {

using testing::row_of_four;
using testing::run_assigner;

Problem with_objectness(Problem p, std::vector<float> obj) {
  p.objectness = std::move(obj);
  p.mark(Field::kObjectness);
  return p;
}

}  // namespace

TEST_CASE("simota: G = 0 assigns nothing") {
  for (const char* name : {"simota", "simota.yolox"}) {
    CAPTURE(name);
    const Assignment a = run_assigner(name, with_objectness(row_of_four({}, {}), {0, 0, 0, 0}));
    CHECK(a.num_positives() == 0);
    CHECK(a.max_overlaps == std::vector<float>(4, 0.0f));
    CHECK(a.dynamic_ks.has_value());
    CHECK(a.dynamic_ks->empty());
  }
}

TEST_CASE("simota: a GT containing no prior centre still gets one from its centre region, at cost 1e5 + c") {
  // GT [5, 1, 11, 7] lies between the prior centres x = 4 and 12: no prior is
  // in its box, but priors 0, 1, 2 are in its centre region (8 -+ 2.5 * 8),
  // so they are candidates with the 1e5 penalty. Their IoUs are 18/82, 18/82
  // and 0: k = max(1, int(0.44)) = 1. Priors 0 and 1 tie on IoU; prior 0's
  // logit 2 (BCE 0.127 against 1.313 for logit -1) makes it the cheaper.
  const Problem p = row_of_four({{5, 1, 11, 7}}, {0}, {{2.0f}, {-1.0f}, {0.0f}, {0.0f}});
  const Assignment a = run_assigner("simota", p);
  CHECK(a.gt_inds == std::vector<int64_t>{1, 0, 0, 0});
  CHECK(a.dynamic_ks == std::vector<int64_t>{1});
  CHECK(a.max_overlaps[0] == doctest::Approx(18.0 / 82.0).epsilon(1e-6));
  CHECK(a.max_overlaps[1] == -100000.0f);  // mmdet's -INF for SimOTA
  const analysis::ImageStats s = analysis::compute_stats(p, a);
  CHECK(s.gts[0].candidates == 0);  // no pair free of the penalty
  CHECK(s.gts[0].positives == 1);
  bool found = false;
  for (const CandidatePair& c : a.candidates) {
    if (c.prior != 0) continue;
    found = true;
    CHECK(c.picked);
    CHECK_FALSE(c.inside);
    CHECK(c.terms[2] == 100000.0f);
    CHECK(c.cost == doctest::Approx(100000.0 + static_cast<double>(c.terms[0] + c.terms[1])).epsilon(1e-7));
  }
  CHECK(found);
}

TEST_CASE("simota: two GTs competing for one prior: the cheaper keeps it, the other is starved") {
  // Both near-duplicate GTs contain only prior 1, whose cell has IoU 2/3 with
  // each; k = 1 for both (IoU sums 0.89 and 0.90). Prior 1's logit is 0.5 for
  // GT 0's class (1) and -2 for GT 1's (0): BCE summed over both classes is
  // 0.474 + 0.127 = 0.601 for GT 0 against 2.127 + 0.974 = 3.101 for GT 1, so
  // GT 0 keeps it.
  const Problem p = row_of_four({{6, 0, 18, 8}, {7, 0, 19, 8}}, {1, 0});
  const Assignment a = run_assigner("simota", p);
  CHECK(a.gt_inds == std::vector<int64_t>{0, 1, 0, 0});
  CHECK(a.dynamic_ks == std::vector<int64_t>{1, 1});
  const analysis::ImageStats s = analysis::compute_stats(p, a);
  CHECK(s.starved_gts == std::vector<int64_t>{1});
  CHECK(s.gts[1].lost_to == std::vector<std::pair<int64_t, int64_t>>{{0, 1}});
  // The statistics' cost of GT 0's positive: its class term is the 0.601.
  REQUIRE(s.gts[0].cost.count == 1);
  CHECK(s.gts[0].terms[0].mean ==
        doctest::Approx(std::log1p(std::exp(-2.0)) + std::log1p(std::exp(-0.5))).epsilon(1e-5));
}

TEST_CASE("simota: a GT larger than the image") {
  // Every prior lies in the box, so all four are candidates; but the centre
  // region (50 -+ 20) misses the row at y = 4, so every pair pays the 1e5
  // penalty. The cells' IoUs (64 / 1.21e6) give k = 1, and with IoU and
  // penalty equal, the logits decide: prior 1.
  const Problem p = row_of_four({{-500, -500, 600, 600}}, {0}, {{-3.0f}, {1.0f}, {-3.0f}, {-3.0f}});
  const Assignment a = run_assigner("simota", p);
  CHECK(a.gt_inds == std::vector<int64_t>{0, 1, 0, 0});
  CHECK(a.dynamic_ks == std::vector<int64_t>{1});
  CHECK(analysis::compute_stats(p, a).gts[0].candidates == 0);
  // With a centre region wide enough, all four are penalty-free.
  const Assignment wide = run_assigner("simota", p, {{"center_radius", "10"}});
  CHECK(analysis::compute_stats(p, wide).gts[0].candidates == 4);
  CHECK(wide.gt_inds == std::vector<int64_t>{0, 1, 0, 0});
}

TEST_CASE("simota.yolox: prior points are shifted by half a stride, and only the centre square counts") {
  // YOLOX takes prior i's point as (cx / s + 0.5) * s: x = 8, 16, 24, 32.
  // GT [5, 1, 11, 7] has centre (8, 4) and square 8 -+ 12 = (-4, 20): the
  // shifted points of priors 0 and 1 are inside it (mmdet's unshifted 4 and
  // 12 would be too, but 20 is not: prior 2 is no candidate here), with no
  // box test, so both are penalty-free candidates.
  const Problem p =
      with_objectness(row_of_four({{5, 1, 11, 7}}, {0}, {{2.0f}, {-1.0f}, {0.0f}, {0.0f}}), {0.0f, 0.0f, 0.0f, 0.0f});
  const Assignment a = run_assigner("simota.yolox", p);
  const analysis::ImageStats s = analysis::compute_stats(p, a);
  CHECK(s.gts[0].candidates == 2);
  CHECK(a.gt_inds == std::vector<int64_t>{1, 0, 0, 0});
  CHECK(a.max_overlaps[1] == 0.0f);  // YOLOX: 0 for negatives
  // (cx, cy, w, h) IoU of cell [0, 0, 8, 8] and the GT: 18 / 82.
  CHECK(a.max_overlaps[0] == doctest::Approx(18.0 / 82.0).epsilon(1e-6));
}

TEST_CASE("simota.yolox: two near-duplicate GTs compete for one prior, and the cheaper keeps it") {
  // As the mmdet case above, in YOLOX's geometry: the shifted points are x =
  // 8, 16, 24, 32; GT 0's square 12 -+ 12 holds priors 0 and 1, GT 1's
  // 13 -+ 12 priors 0, 1 and 2. IoUs (k = 1 for both): GT 0 0.111, 0.667;
  // GT 1 0.053, 0.667, 0.176. Both take prior 1. Its score for class 1 is
  // sqrt(0.6225 * 0.5) = 0.558 and for class 0 sqrt(0.1192 * 0.5) = 0.244:
  // BCE 0.584 + 0.280 = 0.864 for GT 0 (class 1) against 1.410 + 0.816 =
  // 2.226 for GT 1 (class 0), the same IoU cost: GT 0 keeps it.
  const Problem p = with_objectness(row_of_four({{6, 0, 18, 8}, {7, 0, 19, 8}}, {1, 0}), {0, 0, 0, 0});
  const Assignment a = run_assigner("simota.yolox", p);
  CHECK(a.dynamic_ks == std::vector<int64_t>{1, 1});
  CHECK(a.gt_inds == std::vector<int64_t>{0, 1, 0, 0});
  CHECK(a.labels[1] == 1);
  const analysis::ImageStats s = analysis::compute_stats(p, a);
  CHECK(s.gts[0].candidates == 2);
  CHECK(s.gts[1].candidates == 3);
  CHECK(s.starved_gts == std::vector<int64_t>{1});
  CHECK(s.gts[1].lost_to == std::vector<std::pair<int64_t, int64_t>>{{0, 1}});
}

TEST_CASE("simota.yolox: needs objectness, and no prior in any square is reported, not a crash") {
  const auto* info = assign::find_assigner("simota.yolox");
  REQUIRE(info);
  const Status st = assign::check_needs(*info, row_of_four({{5, 1, 11, 7}}, {0}));
  CHECK(st.message().find("objectness") != std::string::npos);
  // A GT far outside every prior's reach.
  const Assignment a =
      run_assigner("simota.yolox", with_objectness(row_of_four({{500, 500, 510, 510}}, {0}), {0, 0, 0, 0}));
  CHECK(a.num_positives() == 0);
  REQUIRE(a.notes.size() == 1);
  CHECK(a.notes[0].find("YOLOX's get_assignments fails here") != std::string::npos);
}

TEST_CASE("simota: objectness multiplies the scores in mmdet's flavour") {
  // With objectness logit -20 on prior 0, its score sigmoid(2) * ~2e-9 is
  // near 0: BCE against 1 is ~20, so prior 1 becomes the cheaper.
  const Problem base = row_of_four({{5, 1, 11, 7}}, {0}, {{2.0f}, {-1.0f}, {0.0f}, {0.0f}});
  CHECK(run_assigner("simota", base).gt_inds[0] == 1);
  const Assignment a = run_assigner("simota", with_objectness(base, {-20.0f, 0.0f, 0.0f, 0.0f}));
  CHECK(a.gt_inds == std::vector<int64_t>{0, 1, 0, 0});
}

TEST_CASE("simota: a dump of probabilities is used as given, without a logit round trip") {
  // The same image as logits and as the float32 sigmoid of those logits,
  // marked "probs": SimOTA consumes probabilities, so both replay alike.
  const Problem logits = row_of_four({{5, 1, 11, 7}}, {0}, {{2.0f}, {-1.0f}, {0.0f}, {0.0f}});
  Problem probs = logits;
  probs.meta.scores = ScoreKind::kProbs;
  probs.cls_probs = MatrixRf(4, 1);
  for (int i = 0; i < 4; ++i) probs.cls_probs(i, 0) = cost::sigmoid_f32(logits.cls_scores(i, 0));
  probs.cls_scores.setConstant(-50.0f);  // would change every cost if it were read
  const Assignment a = run_assigner("simota", logits), b = run_assigner("simota", probs);
  CHECK(a.gt_inds == b.gt_inds);
  CHECK(a.max_overlaps == b.max_overlaps);
  for (size_t i = 0; i < a.candidates.size(); ++i) CHECK(a.candidates[i].cost == b.candidates[i].cost);
}

TEST_CASE("simota.yolox: priors stored at offset 0.5 get a note about YOLOX's own half-stride shift") {
  // row_of_four's points x = 4, 12, 20, 28 and y = 4 at stride 8 are all
  // (col + 0.5) * 8: an offset-0.5 grid, which YOLOX shifts once more.
  Problem p = with_objectness(row_of_four({{5, 1, 11, 7}}, {0}), {0, 0, 0, 0});
  const Assignment shifted_twice = run_assigner("simota.yolox", p);
  CHECK(testing::has_note(shifted_twice, "shifted a second time"));
  // The grid YOLOX expects: col * 8.
  for (int i = 0; i < 4; ++i) p.priors(i, 0) = 8.0f * static_cast<float>(i), p.priors(i, 1) = 0.0f;
  CHECK_FALSE(testing::has_note(run_assigner("simota.yolox", p), "shifted a second time"));
}

// YOLOX's two geometries (both say __version__ 0.3.0). GT [0, 0, 64, 64],
// centre (32, 32); stride-8 priors stored at x_shifts * stride, (0, 0) and
// (24, 24): YOLOX's centres (4, 4) and (28, 28). Both predict the GT box
// (IoU 1). main (get_geometry_constraint, radius 1.5: |28 - 32| < 12): only
// the second is a candidate, k = 1. The 0.3.0 release (get_in_boxes_info:
// box OR the 2.5-stride square): both are candidates (the first in the box
// only, at +1e5), k = int(1 + 1) = 2, and both are picked.
TEST_CASE("simota.yolox: main's centre square, and the 0.3.0 release's box-or-centre geometry") {
  Problem p = testing::make_problem({{0, 0, 8, 8}, {24, 24, 8, 8}}, {{0, 0, 64, 64}, {0, 0, 64, 64}}, {{1}, {1}},
                                    {{0, 0, 64, 64}}, {0});
  p.objectness = {1, 1};
  p.mark(Field::kObjectness);
  const Assignment main = run_assigner("simota.yolox", p);
  CHECK(main.gt_inds == std::vector<int64_t>{0, 1});
  CHECK(*main.dynamic_ks == std::vector<int64_t>{1});
  const Assignment release = run_assigner("simota.yolox", p, {{"geometry", "box-or-center"}, {"center_radius", "2.5"}});
  CHECK(release.gt_inds == std::vector<int64_t>{1, 1});
  CHECK(*release.dynamic_ks == std::vector<int64_t>{2});
  const CandidatePair* outside = testing::find_pair(release, 0, 0);
  REQUIRE(outside);
  CHECK(outside->terms[2] == 100000.0f);  // get_in_boxes_info's INF, not main's 1e6
  CHECK(run_assigner("simota.yolox", p, {{"geometry", "box-or-center"}, {"center_radius", "2.5"}, {"search", "dense"}})
            .gt_inds == release.gt_inds);
  auto preset = assign::resolve_assigner("yolox-0.3.0");
  REQUIRE(preset.ok());
  CHECK(assign::choice_params(*preset).get_string("geometry") == "box-or-center");
}

}  // namespace assignscope
