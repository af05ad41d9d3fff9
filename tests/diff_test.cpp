// assignscope diff: the library on hand-checked images (row_of_four with two
// assigners or two settings, hand-built assignments for the arithmetic),
// and the command end to end (--fail-if parsing: fail_condition_test.cpp).
#include <doctest/doctest.h>

#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "analysis/diff.h"
#include "io/files.h"
#include "io/npy.h"
#include "render/diff.h"
#include "test_support.h"

namespace assignscope {
namespace {

using analysis::FlipKind;
using analysis::GtDiff;
using analysis::ImageDiff;
using analysis::PriorState;
using testing::row_of_four;
using testing::run_assigner;
using testing::run_cli;
namespace fs = std::filesystem;

using Sets = std::vector<std::pair<std::string, std::string>>;

const std::string kDemo = "testdata/coco640-late-g12-objectness";
const std::string kToy = "testdata/golden/toy-two-overlapping-gts";

const GtDiff& gt(const ImageDiff& d, int64_t index) {
  for (const GtDiff& g : d.gts)
    if (g.index == index) return g;
  FAIL("no row for GT " << index);
  return d.gts.front();
}

Assignment max_iou(const Problem& p, Sets sets = {}) {
  sets.emplace_back("anchor_scale", "1");
  return run_assigner("max-iou", p, sets);
}

CandidatePair pair(int32_t prior, int32_t g, CostTerms terms, bool picked) {
  CandidatePair c;
  c.prior = prior;
  c.gt = g;
  c.terms = terms;
  c.cost = terms[0] + terms[1] + terms[2];
  c.inside = true;
  c.picked = picked;
  return c;
}

nlohmann::json parse(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

}  // namespace

TEST_CASE("diff: low-quality matching off turns max-iou's ignore-band positives ignored, a pos-to-neg flip") {
  // GT 0 is anchor 1's cell (IoU 1); GT 1 [17, 31] has IoU 0.467 with anchors
  // 2 and 3, in the ignore band: low-quality matching makes both positive
  // (gt_inds 0 1 2 2), without it they stay ignored (0 1 -1 -1).
  const Problem p = row_of_four({{8, 0, 16, 8}, {17, 0, 31, 8}}, {0, 1});
  const Assignment a = max_iou(p);
  const Assignment b = max_iou(p, {{"match_low_quality", "false"}});
  REQUIRE(a.gt_inds == std::vector<int64_t>{0, 1, 2, 2});
  REQUIRE(b.gt_inds == std::vector<int64_t>{0, 1, -1, -1});
  const ImageDiff d = analysis::diff_image(p, a, b);
  CHECK(d.num_priors == 4);
  CHECK(d.same == 2);
  CHECK(d.agreement() == 0.5);
  CHECK(d.pos_to_neg == 2);  // positive on a, not on b: ignored there
  CHECK(d.ignored_changes + d.neg_to_pos + d.changed_gt == 0);
  CHECK(d.positives_a == 3);
  CHECK(d.positives_b == 1);
  CHECK(d.positives_common == 1);
  CHECK_FALSE(d.cost_based);
  // Per GT, worst first: GT 1 lost both its priors, GT 0 kept its one.
  REQUIRE(d.gts.size() == 2);
  CHECK(d.gts[0].index == 1);
  CHECK(d.gts[0].positives_a == 2);
  CHECK(d.gts[0].positives_b == 0);
  CHECK(d.gts[0].jaccard == 0.0);
  CHECK(d.gts[0].starved_one_side());
  CHECK(d.gts[0].label == 1);
  CHECK(d.gts[0].k_a == -1);  // max-iou has no dynamic k
  CHECK(d.gts[1].jaccard == 1.0);
  CHECK(d.gts[1].same());
  REQUIRE(d.flips.size() == 2);
  for (size_t k = 0; k < 2; ++k) {
    CHECK(d.flips[k].prior == static_cast<int64_t>(k) + 2);
    CHECK(d.flips[k].kind == FlipKind::kPosToNeg);
    CHECK(d.flips[k].state_a == PriorState::kPositive);
    CHECK(d.flips[k].state_b == PriorState::kIgnored);
    CHECK(d.flips[k].gts_a == std::vector<int64_t>{1});
    CHECK(d.flips[k].gts_b.empty());
    CHECK(d.flips[k].level == 0);
    CHECK_FALSE(d.flips[k].attribution.has_value());
  }
  const analysis::DiffTotals t = analysis::totals({d});
  CHECK(t.starved_one_side == 1);
  CHECK(t.jaccard_min == 0.0);
  CHECK(t.jaccard_mean == 0.5);
  CHECK(t.differing() == 2);
}

TEST_CASE("diff: a prior handed to another GT is a changed GT, and both GTs starve on one side") {
  // GT 1 [9, 15] lies inside anchor 1, which GT 0 matches exactly: low-quality
  // matching (GT by GT) gives anchor 1 to GT 1 (0 2 0 0); without it the
  // anchor stays GT 0's (0 1 0 0).
  const Problem p = row_of_four({{8, 0, 16, 8}, {9, 0, 15, 8}}, {0, 1});
  const Assignment a = max_iou(p);
  const Assignment b = max_iou(p, {{"match_low_quality", "false"}});
  REQUIRE(a.gt_inds == std::vector<int64_t>{0, 2, 0, 0});
  REQUIRE(b.gt_inds == std::vector<int64_t>{0, 1, 0, 0});
  const ImageDiff d = analysis::diff_image(p, a, b);
  CHECK(d.same == 3);
  CHECK(d.changed_gt == 1);
  CHECK(d.positives_common == 0);
  REQUIRE(d.flips.size() == 1);
  CHECK(d.flips[0].kind == FlipKind::kChangedGt);
  CHECK(d.flips[0].gts_a == std::vector<int64_t>{1});
  CHECK(d.flips[0].gts_b == std::vector<int64_t>{0});
  CHECK(gt(d, 0).jaccard == 0.0);
  CHECK(gt(d, 1).jaccard == 0.0);
  CHECK(analysis::totals({d}).starved_one_side == 2);
  CHECK(d.gts[0].index == 0);  // equal Jaccard and change: by index
}

TEST_CASE("diff: a smaller topk cuts dynamic-soft-label's k while the costs stay put") {
  // One GT over the whole row, every prediction equal to it: IoU 1 for the
  // 4 priors, k = min(topk, 4). With topk 2 the GT keeps its two cheapest
  // priors, those nearest its centre x = 16: priors 1 and 2.
  Problem p = row_of_four({{0.5f, 0.5f, 31.5f, 7.5f}}, {1});
  for (int i = 0; i < 4; ++i) p.pred_bboxes.row(i) << 0.5f, 0.5f, 31.5f, 7.5f;
  const Assignment a = run_assigner("dynamic-soft-label", p);
  const Assignment b = run_assigner("dynamic-soft-label", p, {{"topk", "2"}});
  REQUIRE(b.gt_inds == std::vector<int64_t>{0, 1, 1, 0});
  const ImageDiff d = analysis::diff_image(p, a, b);
  CHECK(d.pos_to_neg == 2);
  CHECK(d.agreement() == 0.5);
  REQUIRE(d.gts.size() == 1);
  CHECK(d.gts[0].positives_a == 4);
  CHECK(d.gts[0].positives_b == 2);
  CHECK(d.gts[0].common == 2);
  CHECK(d.gts[0].jaccard == 0.5);
  CHECK(d.gts[0].k_a == 4);
  CHECK(d.gts[0].k_b == 2);
  CHECK(d.cost_based);
  REQUIRE(d.flips.size() == 2);
  CHECK(d.flips[0].prior == 0);
  CHECK(d.flips[1].prior == 3);
  for (const analysis::PriorFlip& f : d.flips) {
    CHECK(f.kind == FlipKind::kPosToNeg);
    CHECK(f.why == std::vector<std::string>{"#0: k 4→2"});
    REQUIRE(f.attribution.has_value());
    CHECK(f.attribution->cost_push == 0.0);
    CHECK(f.attribution->term.empty());  // no cost term moved: the k did it
    REQUIRE(f.pairs.size() == 1);
    CHECK(f.pairs[0].a->cost == f.pairs[0].b->cost);
  }
}

TEST_CASE("diff: the class cost explains mmyolo's flip, and the prior it displaced was outranked") {
  // GT [2, 0, 22, 8] (class 0) holds priors 0, 1, 2, k = 1. Prior 1 has logit
  // 8 on class 1: mmdetection's class cost over all classes makes it dear, so
  // prior 2 is taken (0 0 1 0); mmyolo's looks at class 0 only and takes
  // prior 1 (0 1 0 0). Prior 1's flip is the class cost falling; prior 2's
  // own cost barely moved (mmyolo drops class 1's small term): outranked.
  const Problem p = row_of_four({{2, 0, 22, 8}}, {0}, {{-2.0f, -2.0f}, {-2.0f, 8.0f}, {-1.0f, -2.0f}, {-2.0f, -2.0f}});
  const Assignment a = run_assigner("dynamic-soft-label", p);
  const Assignment b = run_assigner("dynamic-soft-label.mmyolo", p);
  REQUIRE(a.gt_inds == std::vector<int64_t>{0, 0, 1, 0});
  REQUIRE(b.gt_inds == std::vector<int64_t>{0, 1, 0, 0});
  const ImageDiff d = analysis::diff_image(p, a, b);
  CHECK(d.cost_based);
  CHECK(d.neg_to_pos == 1);
  CHECK(d.pos_to_neg == 1);
  REQUIRE(d.flips.size() == 2);
  const analysis::PriorFlip& joined = d.flips[0];
  CHECK(joined.prior == 1);
  CHECK(joined.kind == FlipKind::kNegToPos);
  REQUIRE(joined.pairs.size() == 1);
  REQUIRE(joined.pairs[0].a.has_value());
  REQUIRE(joined.pairs[0].b.has_value());
  REQUIRE(joined.attribution.has_value());
  // A pair it joined: its push is a's value minus b's.
  const double cls_fall =
      static_cast<double>(joined.pairs[0].a->terms[0]) - static_cast<double>(joined.pairs[0].b->terms[0]);
  CHECK(cls_fall > 5.0);
  CHECK(joined.attribution->term == "cls");
  CHECK(joined.attribution->push == doctest::Approx(cls_fall));
  CHECK(joined.attribution->pushes[1] == std::pair<std::string, double>{"iou", 0.0});
  CHECK(joined.attribution->pushes[2] == std::pair<std::string, double>{"center", 0.0});
  CHECK(joined.why == std::vector<std::string>{"#0: outranked on a"});

  const analysis::PriorFlip& left = d.flips[1];
  CHECK(left.prior == 2);
  REQUIRE(left.attribution.has_value());
  CHECK(left.attribution->cost_push < 0);  // its cost fell a little: no term pushed it out
  CHECK(left.attribution->term.empty());
  CHECK(left.why == std::vector<std::string>{"#0: outranked on b"});
}

TEST_CASE("diff: cost-term attribution of a changed GT, worked by hand") {
  // Two settings of one cost function (dynamic-soft-label). Prior 0 serves
  // GT 0 on a and GT 1 on b. Pair (0, #0), which it left, went from (cls 1,
  // iou 2, center 0.1) = 3.1 to (cls 1, iou 2.5, center 0.25) = 3.75; pair
  // (0, #1), which it joined, from (1.25, 2.25, 0) = 3.5 to (1, 2.25, 0.125)
  // = 3.375. A push is the left pair's rise minus the joined pair's: cls 0 -
  // (-0.25) = 0.25, iou 0.5 - 0 = 0.5, center (0.25 - 0.1) - (0.125 - 0) =
  // 0.025; in all 0.65 + 0.125 = 0.775. The iou term explains the flip.
  analysis::DiffImage image;
  image.num_priors = 2;
  image.num_gts = 2;
  Assignment a, b;
  a.assigner = "dynamic-soft-label";
  b.assigner = "dynamic-soft-label";
  a.gt_inds = {1, 0};
  b.gt_inds = {2, 0};
  a.labels = b.labels = {0, -1};
  a.cost_terms = {"cls", "iou", "center"};
  b.cost_terms = {"cls", "iou", "center"};
  a.candidates = {pair(0, 0, {1.0f, 2.0f, 0.1f}, true), pair(0, 1, {1.25f, 2.25f, 0.0f}, false)};
  b.candidates = {pair(0, 0, {1.0f, 2.5f, 0.25f}, true), pair(0, 1, {1.0f, 2.25f, 0.125f}, true)};
  a.dynamic_ks = std::vector<int64_t>{3, 3};
  b.dynamic_ks = std::vector<int64_t>{3, 4};
  const ImageDiff d = analysis::diff_image(image, a, b);
  CHECK(d.attributed);
  CHECK(d.attribution_note.empty());
  REQUIRE(d.flips.size() == 1);
  const analysis::PriorFlip& f = d.flips[0];
  CHECK(f.kind == FlipKind::kChangedGt);
  REQUIRE(f.pairs.size() == 2);
  CHECK(f.pairs[0].gt == 0);  // the pair it left, then the one it joined
  CHECK(f.pairs[1].gt == 1);
  REQUIRE(f.attribution.has_value());
  const analysis::Attribution& at = *f.attribution;
  // cost: (3.75 - 3.1) - (3.375 - 3.5) = 0.65 + 0.125
  CHECK(at.cost_push == doctest::Approx(0.775).epsilon(1e-6));
  REQUIRE(at.pushes.size() == 3);
  CHECK(at.pushes[0].first == "cls");
  CHECK(at.pushes[0].second == doctest::Approx(0.25));  // 0 - (1.0 - 1.25)
  CHECK(at.pushes[1].first == "iou");
  CHECK(at.pushes[1].second == doctest::Approx(0.5));  // (2.5 - 2.0) - 0
  CHECK(at.pushes[2].first == "center");
  CHECK(at.pushes[2].second == doctest::Approx(0.025).epsilon(1e-5));  // (0.25 - 0.1) - (0.125 - 0)
  CHECK(at.term == "iou");
  CHECK(at.push == doctest::Approx(0.5));
  // #0 picked it on b but lost the conflict; #1 has one more pick on b.
  CHECK(f.why == std::vector<std::string>{"#0: picked on b, lost to #1", "#1: k 3→4"});
  CHECK(gt(d, 1).k_b == 4);
  // Flavours of one family share the cost function.
  b.assigner = "dynamic-soft-label.mmyolo";
  CHECK(analysis::diff_image(image, a, b).flips[0].attribution.has_value());

  // Assigners whose cost is not a minimised sum get no attribution.
  a.assigner = b.assigner = "task-aligned";
  CHECK_FALSE(analysis::diff_image(image, a, b).flips[0].attribution.has_value());
  CHECK(analysis::is_cost_based("simota.yolox"));
  CHECK_FALSE(analysis::is_cost_based("atss"));
}

TEST_CASE("diff: cost terms of two different cost functions are not compared, and the report says so") {
  // The same pairs and costs as above, but a is dynamic-soft-label and b
  // simota: a "cls" of one is not the "cls" of the other, and RTMDet's soft
  // centre prior is not SimOTA's outside-the-centre penalty. The flip keeps
  // its pairs and its why, but no Δcost and no term.
  analysis::DiffImage image;
  image.num_priors = 2;
  image.num_gts = 2;
  Assignment a, b;
  a.assigner = "dynamic-soft-label";
  b.assigner = "simota";
  a.gt_inds = {1, 0};
  b.gt_inds = {2, 0};
  a.labels = b.labels = {0, -1};
  a.cost_terms = {"cls", "iou", "center"};
  b.cost_terms = {"cls", "iou", "geometry"};
  a.candidates = {pair(0, 0, {1.0f, 2.0f, 0.1f}, true), pair(0, 1, {1.25f, 2.25f, 0.0f}, false)};
  b.candidates = {pair(0, 0, {1.0f, 2.5f, 0.25f}, true), pair(0, 1, {1.0f, 2.25f, 0.125f}, true)};
  a.dynamic_ks = std::vector<int64_t>{3, 3};
  b.dynamic_ks = std::vector<int64_t>{3, 4};
  ImageDiff d = analysis::diff_image(image, a, b);
  CHECK(d.cost_based);
  CHECK_FALSE(d.attributed);
  CHECK(d.attribution_note ==
        "not comparable: a (dynamic-soft-label) and b (simota) minimise different cost functions");
  REQUIRE(d.flips.size() == 1);
  CHECK(d.flips[0].pairs.size() == 2);
  CHECK_FALSE(d.flips[0].attribution.has_value());
  CHECK(d.flips[0].why == std::vector<std::string>{"#0: picked on b, lost to #1", "#1: k 3→4"});

  // One family, but different terms: not compared either.
  b.assigner = "dynamic-soft-label.mmyolo";
  d = analysis::diff_image(image, a, b);
  CHECK_FALSE(d.attributed);
  CHECK(d.attribution_note.find("different cost terms (cls+iou+center vs cls+iou+geometry)") != std::string::npos);
  CHECK_FALSE(d.flips[0].attribution.has_value());

  // One side cost-based, the other not.
  b.assigner = "atss";
  d = analysis::diff_image(image, a, b);
  CHECK_FALSE(d.attributed);
  CHECK(d.attribution_note == "not comparable: atss minimises no sum of cost terms");

  // The table has no cost columns and says why; the JSON carries the note.
  analysis::BatchDiff bd;
  b.assigner = "simota";
  bd.images = {analysis::diff_image(image, a, b)};
  const std::string text = render::diff_table(bd, 20);
  CHECK(text.find("Δcost / explained by: not comparable: a (dynamic-soft-label) and b (simota) minimise different "
                  "cost functions\n") != std::string::npos);
  CHECK(text.find("Δcost") == text.find("Δcost / explained by: "));  // no columns before the note
  const auto json = render::diff_json(bd, {});
  CHECK(json["images"][0]["attributed"] == false);
  CHECK(json["images"][0]["attribution_note"] ==
        "not comparable: a (dynamic-soft-label) and b (simota) minimise different cost functions");
  CHECK(json["images"][0]["flips"][0]["attribution"].is_null());
}

TEST_CASE("diff: multi-match results compare sets of (prior, GT) pairs") {
  analysis::DiffImage image;
  image.num_priors = 3;
  image.num_gts = 2;
  Assignment a, b;
  a.assigner = b.assigner = "yolov5";
  a.gt_inds = {1, 0, 2};  // lowest GT of each matched prior
  b.gt_inds = {2, 0, 2};
  a.matches = std::vector<Match>{{0, 0}, {0, 1}, {2, 1}};
  b.matches = std::vector<Match>{{0, 1}, {2, 1}};
  const ImageDiff d = analysis::diff_image(image, a, b);
  CHECK(d.same == 2);
  CHECK(d.changed_gt == 1);
  REQUIRE(d.flips.size() == 1);
  CHECK(d.flips[0].gts_a == std::vector<int64_t>{0, 1});
  CHECK(d.flips[0].gts_b == std::vector<int64_t>{1});
  REQUIRE(d.flips[0].pairs.size() == 1);  // only the pair it left
  CHECK(d.flips[0].pairs[0].gt == 0);
  CHECK(gt(d, 0).positives_a == 1);
  CHECK(gt(d, 0).positives_b == 0);
  CHECK(gt(d, 1).positives_a == 2);
  CHECK(gt(d, 1).common == 2);
  CHECK(gt(d, 1).jaccard == 1.0);
}

TEST_CASE("diff: Jaccard is 1 when both sides leave a GT empty, and no GTs means nothing to flip") {
  const Problem p = row_of_four({{5, 1, 11, 7}}, {0});  // between prior centres: nothing inside
  const Assignment a = run_assigner("dynamic-soft-label", p);
  const ImageDiff d = analysis::diff_image(p, a, a);
  REQUIRE(d.gts.size() == 1);
  CHECK(d.gts[0].positives_a == 0);
  CHECK(d.gts[0].jaccard == 1.0);
  CHECK_FALSE(d.gts[0].starved_one_side());
  CHECK(d.agreement() == 1.0);
  const analysis::DiffTotals none = analysis::totals({analysis::diff_image(row_of_four({}, {}), a, a)});
  CHECK(none.gts == 0);
  CHECK(none.jaccard_min == 1.0);
  CHECK(none.agreement() == 1.0);
  CHECK(analysis::totals({}).agreement() == 1.0);
}

TEST_CASE("diff: image by image, and a batch's totals add up") {
  // Two images diffed one at a time give the same totals as the batch.
  const Problem p1 = row_of_four({{8, 0, 16, 8}, {17, 0, 31, 8}}, {0, 1});
  const Problem p2 = row_of_four({{8, 0, 16, 8}, {9, 0, 15, 8}}, {0, 1});
  Batch batch;
  batch.images = {p1, p2};
  batch.is_batch = true;
  std::vector<Assignment> a = {max_iou(p1), max_iou(p2)};
  std::vector<Assignment> b = {max_iou(p1, {{"match_low_quality", "false"}}),
                               max_iou(p2, {{"match_low_quality", "false"}})};
  auto diff = analysis::diff_batch(batch, a, b);
  REQUIRE(diff.ok());
  const analysis::DiffTotals t = analysis::totals(diff->images);
  CHECK(t.images == 2);
  CHECK(t.priors == 8);
  CHECK(t.same == 5);
  CHECK(t.pos_to_neg == 2);
  CHECK(t.changed_gt == 1);
  CHECK(t.starved_one_side == 3);
  CHECK(t.jaccard_mean == doctest::Approx(0.25));  // 0, 1, 0, 0
  CHECK(diff->a.assigner == "max-iou");
  CHECK(diff->b.params.find("match_low_quality=false") != std::string::npos);
  b.pop_back();
  CHECK_FALSE(analysis::diff_batch(batch, a, b).ok());

  const std::string text = render::diff_table(*diff, 20);
  CHECK(text.find("image 1 · 4 priors · 2 GTs") != std::string::npos);
  CHECK(text.find("batch: agreement 62.5 % of 8 priors · 2 pos→neg · 0 neg→pos · 1 changed GT\n") != std::string::npos);
  // Positives: image 0, a priors 1 2 3 (#0 #1 #1), b prior 1 (#0); image 1,
  // prior 1 is #1 on a (low-quality matching hands it over), #0 on b. So a
  // 3 + 1, b 1 + 1, the same GTs on both only image 0's prior 1; image 1's
  // prior 1 is positive on both, for another GT.
  CHECK(t.positives_a == 4);
  CHECK(t.positives_b == 2);
  CHECK(t.positives_common == 1);
  CHECK(t.positives_jaccard() == doctest::Approx(1.0 / 5.0));        // 1 / (4 + 2 - 1)
  CHECK(t.positive_priors_jaccard() == doctest::Approx(2.0 / 4.0));  // 2 / (4 + 2 - 2)
  // Starved: image 0's #1 and image 1's #1 on b, image 1's #0 on a.
  CHECK(t.starved_a_only == 1);
  CHECK(t.starved_b_only == 2);
  CHECK(t.worst_image == 0);
  CHECK(t.worst_gt == 1);
  CHECK(text.find(
            "batch: 2 images · positives a 4 → b 2 · same GTs on both 1 (Jaccard 0.200) · positive on both 2 "
            "(Jaccard 0.500) · worst GT Jaccard 0.000 (image 0 #1) · 3 GTs starved on one side (1 on a only, 2 on b "
            "only) · GT Jaccard mean 0.250\n") != std::string::npos);
  CHECK(text.find("      2     0 pos→neg #1 ign #1: not a candidate on b\n") != std::string::npos);
  CHECK(text.find("      1     0 changed GT #1 #0 #1: not picked on b; #0: picked on a, lost to #1\n") !=
        std::string::npos);

  // Negative on one side, ignored on the other: an "ignored" change.
  const Problem p3 = testing::with_ignore_box(row_of_four({{8, 0, 16, 8}}, {0}), {0, 0, 8, 8});
  const ImageDiff ignored = analysis::diff_image(p3, max_iou(p3), max_iou(p3, {{"ignore_iof_thr", "0.2"}}));
  CHECK(ignored.ignored_changes == 1);
  REQUIRE(ignored.flips.size() == 1);
  CHECK(ignored.flips[0].kind == FlipKind::kIgnored);
  CHECK(ignored.flips[0].state_b == PriorState::kIgnored);
}

TEST_CASE("diff: percentages never round a difference away") {
  CHECK(render::percent(973, 1000) == "97.3 %");
  CHECK(render::percent(8399, 8400) == "99.99 %");
  CHECK(render::percent(1, 8400) == "0.01 %");
  CHECK(render::percent(8400, 8400) == "100.0 %");
  CHECK(render::percent(0, 0) == "100.0 %");
}

TEST_CASE("diff: the headline and the documented gates see 41 of 74 positives lost, which agreement does not") {
  // The demo's dynamic-soft-label result has 74 positives in 8400 priors.
  // Side b loses the first 41 of them (in prior order) and changes nothing
  // else: agreement is (8400 - 41) / 8400 = 99.51 %, above 0.99; the positive
  // sets share 33 of 74: Jaccard 33 / 74 = 0.446.
  testing::TempDir tmp;
  const std::string base = kDemo + "/expected/dynamic-soft-label";
  fs::copy(base, tmp.path("a"));
  fs::copy(base, tmp.path("b"));
  auto inds = io::read_npy_file(base + "/assigned_gt_inds.npy");
  auto labels = io::read_npy_file(base + "/assigned_labels.npy");
  REQUIRE(inds.ok());
  REQUIRE(labels.ok());
  std::vector<int64_t> gi(static_cast<size_t>(inds->size())), gl(static_cast<size_t>(labels->size()));
  for (int64_t i = 0; i < inds->size(); ++i) gi[static_cast<size_t>(i)] = inds->to_int64(i);
  for (int64_t i = 0; i < labels->size(); ++i) gl[static_cast<size_t>(i)] = labels->to_int64(i);
  REQUIRE(gi.size() == 8400);
  int64_t positives = 0, removed = 0;
  std::set<int64_t> gts_before, gts_after;
  for (size_t i = 0; i < gi.size(); ++i) {
    if (gi[i] <= 0) continue;
    ++positives;
    gts_before.insert(gi[i]);
    if (removed < 41) {
      gi[i] = 0, gl[i] = -1, ++removed;
    } else {
      gts_after.insert(gi[i]);
    }
  }
  REQUIRE(positives == 74);
  const int64_t starved = static_cast<int64_t>(gts_before.size() - gts_after.size());
  const auto ib = io::npy_bytes(gi.data(), {8400});
  const auto lb = io::npy_bytes(gl.data(), {8400});
  REQUIRE(io::write_file_atomic(tmp.path("b") + "/assigned_gt_inds.npy", ib.data(), ib.size(), true).ok());
  REQUIRE(io::write_file_atomic(tmp.path("b") + "/assigned_labels.npy", lb.data(), lb.size(), true).ok());

  const std::string diff = "diff " + tmp.path("a") + " " + tmp.path("b");
  // The old gate passes it by.
  CHECK(run_cli(diff + " -f table --fail-if 'agreement<0.99'").exit_code == 0);
  // The headline leads with the positive sets.
  const auto table = run_cli(diff + " -f table");
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.find("positives a 74 → b 33 · same GTs on both 33 (Jaccard 0.446)") != std::string::npos);
  CHECK(table.out.find("positives a") < table.out.find("agreement 99.51 % of 8400 priors · 41 pos→neg"));
  const nlohmann::json j = parse(run_cli(diff + " -f json").out);
  CHECK(j["summary"]["positives_jaccard"].get<double>() == doctest::Approx(33.0 / 74.0).epsilon(1e-6));
  CHECK(j["summary"]["agreement"].get<double>() == doctest::Approx(8359.0 / 8400.0).epsilon(1e-6));
  CHECK(j["summary"]["starved_b_only"] == starved);
  CHECK(j["summary"]["starved_a_only"] == 0);

  // Each gate the docs show trips on it, as written there.
  const std::string docs = testing::read_text("docs/cli.md");
  for (const std::string gate :
       {"--fail-if 'positives-jaccard<0.95' --fail-if 'jaccard-min<0.5' --fail-if 'starved-one-side>0'",
        "--fail-if 'positives-jaccard<0.95'", "--fail-if 'flips>0'"}) {
    CAPTURE(gate);
    CHECK(docs.find(gate) != std::string::npos);
    const auto r = run_cli(diff + " -f table " + gate);
    CHECK(r.exit_code == 1);
    const bool named =
        r.err.find("--fail-if positives-jaccard<0.95 holds: positives-jaccard = 0.445946") != std::string::npos ||
        r.err.find("--fail-if flips>0 holds: flips = 41") != std::string::npos;
    CHECK(named);
  }
  // And passes a result identical to the baseline.
  const auto same = run_cli(
      "diff " + tmp.path("a") + " " + base +
      " -f table --fail-if 'positives-jaccard<0.95' --fail-if 'jaccard-min<0.5' --fail-if 'starved-one-side>0'");
  CHECK(same.exit_code == 0);
}

TEST_CASE("cli: a gate over a diff with no positive on either side compares nothing, and is refused") {
  // Two stored results with every prior negative: every condition would pass
  // whatever the assigners did.
  testing::TempDir tmp;
  const std::string base = kToy + "/expected/atss";
  fs::copy(base, tmp.path("a"));
  auto inds = io::read_npy_file(base + "/assigned_gt_inds.npy");
  REQUIRE(inds.ok());
  std::vector<int64_t> zeros(static_cast<size_t>(inds->size()), 0), none(static_cast<size_t>(inds->size()), -1);
  const auto zb = io::npy_bytes(zeros.data(), {inds->size()});
  const auto nb = io::npy_bytes(none.data(), {inds->size()});
  REQUIRE(io::write_file_atomic(tmp.path("a") + "/assigned_gt_inds.npy", zb.data(), zb.size(), true).ok());
  REQUIRE(io::write_file_atomic(tmp.path("a") + "/assigned_labels.npy", nb.data(), nb.size(), true).ok());
  fs::copy(tmp.path("a"), tmp.path("b"));
  const auto r =
      run_cli("diff " + tmp.path("a") + " " + tmp.path("b") + " -f table --fail-if 'positives-jaccard<0.95'");
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(testing::count_lines(r.err) == 1);
  CHECK(r.err.find("nothing to compare: neither side has a positive prior") != std::string::npos);
  // Without a gate, the report is still there.
  const auto report = run_cli("diff " + tmp.path("a") + " " + tmp.path("b") + " -f table");
  CHECK(report.exit_code == 0);
  CHECK(report.out.find("positives a 0 → b 0") != std::string::npos);
}

TEST_CASE("cli: diff of two assigners on the demo dump") {
  const auto r = run_cli("diff " + kDemo + " -a dynamic-soft-label -b simota --format table");
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out.find("a: dynamic-soft-label · soft_center_radius=3 topk=13 iou_weight=3\n") == 0);
  CHECK(r.out.find("b: simota · center_radius=2.5 candidate_topk=10 iou_weight=3 cls_weight=1\n") != std::string::npos);
  // The positive sets lead: 42 priors positive for the same GT on both, of
  // 74 + 60 - 42 = 92 (0.457); with prior 1's changed GT, 43 of 91 (0.473).
  CHECK(r.out.find("positives a 74 → b 60 · same GTs on both 42 (Jaccard 0.457) · positive on both 43 (Jaccard "
                   "0.473) · worst GT Jaccard 0.000 (#7) · no GT starved on one side\n"
                   "agreement 99.4 % of 8400 priors · 31 pos→neg · 17 neg→pos · 1 changed GT\n") != std::string::npos);
  CHECK(r.out.find("2 GTs the same on both sides: #2 #5") != std::string::npos);
  CHECK(r.out.find("flipped priors: 20 of 49, worst GTs first") != std::string::npos);
  // RTMDet's cost and SimOTA's are different functions: no term is blamed.
  CHECK(r.out.find("Δcost / explained by: not comparable: a (dynamic-soft-label) and b (simota) minimise different "
                   "cost functions\n") != std::string::npos);
  CHECK(r.out.find("Δcost") == r.out.find("Δcost / explained by: "));  // no columns before the note
  CHECK(r.out.find("#1: k 12→9") != std::string::npos);

  const auto j = run_cli("diff " + kDemo + " --a dynamic-soft-label --b simota --format json");  // the old spelling
  REQUIRE(j.exit_code == 0);
  const nlohmann::json d = parse(j.out);
  CHECK(d["schema"] == "assignscope.diff/1");
  CHECK(d["a"]["assigner"] == "dynamic-soft-label");
  CHECK(d["b"]["params"]["center_radius"] == 2.5);
  CHECK(d["a"]["result"].is_null());
  CHECK(d["summary"]["priors"] == 8400);
  CHECK(d["summary"]["same"] == 8400 - 49);
  CHECK(d["summary"]["pos_to_neg"] == 31);
  CHECK(d["summary"]["gts"] == 12);
  CHECK(d["fail_if"].empty());
  const nlohmann::json& img = d["images"][0];
  CHECK(img["flips"].size() == 49);  // json lists every flip
  CHECK(img["gts"].size() == 12);
  CHECK(img["gts"][0]["jaccard"] <= img["gts"][11]["jaccard"]);
  CHECK(d["summary"]["positives_a"] == 74);
  CHECK(d["summary"]["positives_b"] == 60);
  CHECK(d["summary"]["positives_same"] == 42);
  CHECK(d["summary"]["positives_jaccard"].get<double>() == doctest::Approx(42.0 / 92.0).epsilon(1e-6));
  CHECK(d["summary"]["positive_priors_jaccard"].get<double>() == doctest::Approx(43.0 / 91.0).epsilon(1e-6));
  CHECK(d["summary"]["jaccard_min"] == 0.0);
  CHECK(d["summary"]["worst_gt"]["gt"] == 7);
  CHECK(d["summary"]["worst_gt"]["image"] == 0);
  CHECK(d["summary"]["starved_one_side"] == 0);
  CHECK(img["summary"]["positives_jaccard"] == d["summary"]["positives_jaccard"]);
  CHECK(img["summary"]["worst_gt"]["gt"] == 7);
  CHECK(img["cost_based"] == true);
  CHECK(img["attributed"] == false);
  for (const auto& f : img["flips"]) CHECK(f["attribution"].is_null());
}

TEST_CASE("cli: diff of two stored results (npy directories and JSON) agrees with the replay") {
  testing::TempDir tmp;
  REQUIRE(run_cli("run " + kDemo + " -a dynamic-soft-label -f npy -o " + tmp.path("a")).exit_code == 0);
  REQUIRE(run_cli("run " + kDemo + " -a simota -f npy -o " + tmp.path("b")).exit_code == 0);
  REQUIRE(run_cli("run " + kDemo + " -a simota -f json --include priors -o " + tmp.path("b.json")).exit_code == 0);
  const auto npy = run_cli("diff " + tmp.path("a") + " " + tmp.path("b") + " -f json");
  REQUIRE(npy.exit_code == 0);
  const nlohmann::json d = parse(npy.out);
  CHECK(d["a"]["result"] == tmp.path("a"));
  CHECK(d["source"].is_null());
  CHECK(d["summary"]["same"] == 8400 - 49);
  CHECK(d["summary"]["changed_gt"] == 1);
  CHECK(d["images"][0]["num_gts"].is_null());  // GTs known from the indices only
  CHECK(d["images"][0]["gts"].size() == 12);   // every GT has a k > 0
  CHECK(d["images"][0]["gts"][0]["box"].is_null());
  CHECK(d["images"][0]["flips"][0]["attribution"].is_null());  // no candidates stored

  const auto mixed = run_cli("diff " + tmp.path("a") + " " + tmp.path("b.json") + " -f table");
  CHECK(mixed.exit_code == 0);
  CHECK(mixed.out.find("agreement 99.4 % of 8400 priors · 31 pos→neg · 17 neg→pos · 1 changed GT") !=
        std::string::npos);
  CHECK(mixed.out.find("634.0, 213.3, 637.2, 221.2") != std::string::npos);  // the JSON result's GT boxes

  // A golden case's expected/<label>/ results diff the same way.
  const auto golden = run_cli("diff " + kDemo + "/expected/dynamic-soft-label " + kDemo + "/expected/simota -f json");
  REQUIRE(golden.exit_code == 0);
  CHECK(parse(golden.out)["summary"]["same"] == 8400 - 49);

  // A batch result keeps its images.
  REQUIRE(run_cli("run testdata/batch/stacked-b2 -a dynamic-soft-label -f npy -o " + tmp.path("ba")).exit_code == 0);
  REQUIRE(run_cli("run testdata/batch/stacked-b2 -a dynamic-soft-label --set topk=3 -f npy -o " + tmp.path("bb"))
              .exit_code == 0);
  const auto batch = run_cli("diff " + tmp.path("ba") + " " + tmp.path("bb") + " -f table");
  CHECK(batch.exit_code == 0);
  CHECK(batch.out.find("image 1") != std::string::npos);
  CHECK(batch.out.find("batch: 2 images") != std::string::npos);
}

TEST_CASE("cli: diff of several dumps is one batch, and of one image draws a picture") {
  const auto two = run_cli("diff " + kToy + " testdata/golden/toy-single-gt --a dynamic-soft-label --b simota -f json");
  REQUIRE(two.exit_code == 0);
  const nlohmann::json d = parse(two.out);
  CHECK(d["batch"] == true);
  REQUIRE(d["images"].size() == 2);
  CHECK(d["images"][0]["name"] == kToy);
  CHECK(d["summary"]["priors"] ==
        d["images"][0]["num_priors"].get<int64_t>() + d["images"][1]["num_priors"].get<int64_t>());

  testing::TempDir tmp;
  const auto svg = run_cli("diff " + kToy + " --a dynamic-soft-label --set-b topk=5 -o " + tmp.path("flips.svg"));
  REQUIRE(svg.exit_code == 0);
  const std::string picture = testing::read_text(tmp.path("flips.svg"));
  CHECK(picture.find("<svg") != std::string::npos);
  CHECK(picture.find("diff: topk=13 → topk=5") != std::string::npos);  // the sides named by what differs
  size_t hollow = 0;
  for (size_t at = picture.find("class=\"flip-pos-neg\""); at != std::string::npos;
       at = picture.find("class=\"flip-pos-neg\"", at + 1))
    ++hollow;
  CHECK(hollow == 9);  // the 9 pos→neg flips
}

TEST_CASE("cli: diff --fail-if exits 0 when nothing holds, 1 when one does, 2 on a bad condition") {
  const std::string base = "diff " + kToy + " --a dynamic-soft-label --set-b topk=5 -f table";
  const auto fine = run_cli(base + " --fail-if 'agreement<0.5' --fail-if 'starved-one-side>0'");
  CHECK(fine.exit_code == 0);
  CHECK(fine.err.empty());
  const auto held = run_cli(base + " --fail-if 'agreement<0.5' --fail-if 'flips>0'");
  CHECK(held.exit_code == 1);
  CHECK(held.err.find("--fail-if flips>0 holds: flips = ") != std::string::npos);
  CHECK(held.err.find("agreement<0.5") == std::string::npos);
  CHECK(held.out.find("agreement ") != std::string::npos);  // the report is still printed
  const auto json = run_cli("diff " + kToy + " --a dynamic-soft-label --set-b topk=5 -f json --fail-if 'flips>0'");
  CHECK(json.exit_code == 1);
  const nlohmann::json d = parse(json.out);
  CHECK(d["fail_if"][0]["holds"] == true);
  CHECK(d["fail_if"][0]["key"] == "flips");
  const auto bad = run_cli(base + " --fail-if 'flipz>0'");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("did you mean 'flips'") != std::string::npos);
  CHECK(bad.err.find("jaccard-min") != std::string::npos);
  CHECK(run_cli(base + " --fail-if 'flips~0'").exit_code == 2);
  // A threshold outside the key's range: exit 2, one line naming key and range.
  const auto range = run_cli(base + " --fail-if 'agreement<99.9'");
  CHECK(range.exit_code == 2);
  CHECK(range.out.empty());
  CHECK(testing::count_lines(range.err) == 1);
  CHECK(range.err.find("--fail-if agreement<99.9: agreement is a fraction in [0, 1], and 99.9 is outside it") !=
        std::string::npos);
  // Identical sides: nothing differs.
  const auto same = run_cli("diff " + kToy + " --a simota -f table --fail-if 'flips>0'");
  CHECK(same.exit_code == 0);
  CHECK(same.out.find("agreement 100.0 % of 80 priors · identical") != std::string::npos);
}

TEST_CASE("cli: diff spells its sides as run does, keeps the old spelling, and warns on repeated or identical sides") {
  const auto json = [](const std::string& args) {
    const auto r = run_cli("diff " + kToy + " " + args + " -f json");
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    return parse(r.out)["summary"];
  };
  const nlohmann::json old = json("--a dynamic-soft-label --set-b topk=5");
  CHECK(old["pos_to_neg"] == 9);
  CHECK(json("-a dynamic-soft-label --set-b topk=5") == old);
  CHECK(json("--assigner dynamic-soft-label --set-b topk=5") == old);
  CHECK(json("--assigner-a dynamic-soft-label --set-b topk=5") == old);
  CHECK(json("-b dynamic-soft-label --set-b topk=5") == old);  // side a takes b's assigner, not its --set
  CHECK(json("--assigner-b dynamic-soft-label --set-a topk=13 --set-b topk=5") == old);
  // --set-a is side a's, as run's --set is.
  const nlohmann::json swapped = json("-a dynamic-soft-label --set-a topk=5");
  CHECK(swapped["neg_to_pos"] == 9);
  CHECK(json("-a dynamic-soft-label --set topk=5") == swapped);
  // Presets per side: yolox's 0.3.0 release against main (the defaults).
  const auto presets = run_cli("diff " + kDemo + " -a simota.yolox --preset-b 0.3.0 -f json");
  REQUIRE(presets.exit_code == 0);
  const nlohmann::json p = parse(presets.out);
  CHECK(p["a"]["params"]["center_radius"] == 1.5);
  CHECK(p["b"]["params"]["center_radius"] == 2.5);
  CHECK(p["b"]["params"]["geometry"] == "box-or-center");
  CHECK(run_cli("diff " + kDemo + " -a simota.yolox --preset-a 0.3.0 --preset-b main -f json").out ==
        run_cli("diff " + kDemo + " -a simota.yolox+0.3.0 -b simota.yolox+main -f json").out);

  // A flag given twice: a warning, and the last value.
  const auto twice = run_cli("diff " + kToy + " -a simota --a dynamic-soft-label --set-b topk=5 -f json");
  CHECK(twice.exit_code == 0);
  CHECK(twice.err.find("warning: -a/--assigner given 2 times (simota, dynamic-soft-label): the last, "
                       "dynamic-soft-label, is used") != std::string::npos);
  CHECK(parse(twice.out)["summary"] == old);
  const auto set_twice = run_cli("diff " + kToy + " -a dynamic-soft-label --set-b topk=9 --set-b topk=5 -f json");
  CHECK(set_twice.err.find("--set-b sets topk more than once; the last value (5) is used") != std::string::npos);
  // Two sides that are one: a warning, since any gate would pass.
  const auto same = run_cli("diff " + kToy + " -a dynamic-soft-label --set-b topk=13 -f table");
  CHECK(same.exit_code == 0);
  CHECK(same.err.find("warning: sides a and b are the same assigner with the same parameters (dynamic-soft-label · "
                      "soft_center_radius=3 topk=13 iou_weight=3): the diff compares it with itself") !=
        std::string::npos);
  const auto file = run_cli("diff " + kToy + "/expected/atss " + kToy + "/expected/atss -f table");
  CHECK(file.exit_code == 0);
  CHECK(file.err.find("are the same file: the diff compares it with itself") != std::string::npos);
  // One of a kind is singular.
  const auto one = run_cli("diff testdata/golden/toy-single-gt -a dynamic-soft-label --set-b topk=1 -f table");
  REQUIRE(one.exit_code == 0);
  CHECK(one.out.find("1 GT\n") != std::string::npos);
  CHECK(one.out.find("1 GTs") == std::string::npos);
  CHECK(one.out.find("1 changed GTs") == std::string::npos);
  CHECK(one.out.find("1 flipped priors") == std::string::npos);
}

TEST_CASE("cli: diff refuses bad usage and inputs with exit 2 and one line") {
  testing::TempDir tmp;
  REQUIRE(run_cli("run " + kToy + " -a dynamic-soft-label -f npy -o " + tmp.path("toy")).exit_code == 0);
  REQUIRE(run_cli("run " + kDemo + " -a dynamic-soft-label -f npy -o " + tmp.path("demo")).exit_code == 0);
  REQUIRE(run_cli("run " + kToy + " -a dynamic-soft-label -f json -o " + tmp.path("slim.json")).exit_code == 0);
  REQUIRE(run_cli("run testdata/batch/dirs-b2 -a dynamic-soft-label -f npy -o " + tmp.path("two")).exit_code == 0);
  REQUIRE(io::write_file_atomic(tmp.path("notes.json"), std::string("[1, 2]"), false).ok());
  std::vector<std::pair<std::string, std::string>> cases = {
      {kToy + " --a dynamic-soft-lable --b simota",
       "unknown assigner 'dynamic-soft-lable' (did you mean 'dynamic-soft-label'?)"},
      {kToy + " --a simota --b simota.yolo",
       "-b/--assigner-b: unknown assigner 'simota.yolo' (did you mean 'simota.yolox'?)"},
      {kToy + " -a simota --assigner-b simota.yolo", "-b/--assigner-b: unknown assigner 'simota.yolo'"},
      {kToy + " -a simota --preset-b nope", "--preset-b"},
      {kToy + " -a simota --config-b " + tmp.path("nope.py"), "--config-b"},
      {kToy + " --a dynamic-soft-label --set-b tpok=3", "--set-b: unknown parameter 'tpok' (did you mean 'topk'?)"},
      {kToy + " --a dynamic-soft-label --set-a topk", "--set-a topk: expected NAME=VALUE"},
      {kToy + " --a dynamic-soft-label --set-a topk=0", "topk=0: expected a value >= 1"},
      {kToy + " --set-a topk=3", "side a: name an assigner with -a/--assigner"},
      {kToy + " " + kDemo + " " + kToy + "/expected/simota", "give two stored results"},
      {kToy, "give two stored results"},
      {kToy + " --a simota --top -1", "--top -1"},
      {tmp.path("toy") + " " + tmp.path("demo"), "different numbers of priors: " + tmp.path("toy") + " has 80"},
      {tmp.path("toy") + " " + tmp.path("two"), "different numbers of images"},
      {tmp.path("toy") + " " + tmp.path("slim.json"), "no per-prior arrays"},
      {tmp.path("toy") + " " + tmp.path("notes.json"), "not a result"},
      {tmp.path("toy") + " " + kToy, "a case (a dump with stored results), not a result"},
      {tmp.path("toy") + " " + kToy + "/gt_bboxes.npy", "not a result"},
      {tmp.path("toy") + " testdata/batch", "not a result"},
      {tmp.path("toy") + " " + tmp.path("nope"), "no such file or directory"},
  };
  cases.emplace_back(kToy + "/expected/simota " + kToy + "/expected/atss -f svg",
                     "--format svg draws priors and GT boxes");
  cases.emplace_back("testdata/batch/stacked-b2 --a simota -f svg --image 2",
                     "--image 2: the batch holds 2 images; expected 0..1");
  cases.emplace_back("testdata/batch/stacked-b2 --a simota -f table --gt 0", "--gt applies to --format svg");
  for (const auto& c : cases) {
    const std::string& args = c.first;
    const auto& words = c.second;
    CAPTURE(args);
    const auto r = run_cli("diff " + args + (args.find(" -f ") == std::string::npos ? " -f table" : ""));
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(testing::count_lines(r.err) == 1);
    CHECK(r.err.find(words) != std::string::npos);
  }
  // An assigner whose needs the dump does not meet names the side.
  const auto needs = run_cli("diff testdata/golden/toy-single-gt --a dynamic-soft-label --b yolov5 -f table");
  CHECK(needs.exit_code == 2);
  CHECK(needs.err.find("side b (yolov5): ") != std::string::npos);
  CHECK(run_cli("diff --help").out.find("examples:") != std::string::npos);
  const auto typo = run_cli("dif");
  CHECK(typo.exit_code == 2);
  CHECK(typo.err.find("did you mean 'diff'?); commands: run, check, list, diff") != std::string::npos);
  CHECK(run_cli("--help").out.find("  diff    compare two assigners") != std::string::npos);
}

}  // namespace assignscope
