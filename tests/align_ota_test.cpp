// DAMO-YOLO's AlignOTA (align-ota) on tiny hand-made images, against SimOTA
// on the same inputs where they differ: the quality-focal class cost and
// INF = 1e8.
//
// The image: four stride-8 priors in a row at x = 4, 12, 20, 28 (y = 4),
// C = 2, class probabilities given as probabilities (as DAMO-YOLO's ZeroHead
// hands them over, meta.scores "probs"), predictions chosen per scene.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "analysis/stats.h"
#include "assign/align_ota.h"
#include "io/dump.h"
#include "test_support.h"

namespace assignscope {
namespace {

using Box = std::array<float, 4>;
using Inds = std::vector<int64_t>;
using testing::run_assigner;

// The row of four priors with these predictions, GTs and probabilities
// (stored as a "probs" dump stores them: the probabilities as given, and
// their logits).
Problem scene(const std::vector<Box>& preds, const std::vector<Box>& gts, const Inds& labels,
              const std::vector<std::vector<float>>& probs) {
  std::vector<Box> priors;
  std::vector<std::vector<float>> logits;
  for (int c = 0; c < 4; ++c) priors.push_back({4.0f + 8.0f * static_cast<float>(c), 4, 8, 8});
  for (const auto& row : probs) {
    logits.emplace_back();
    for (float q : row) logits.back().push_back(std::log(q / (1.0f - q)));
  }
  Problem p = testing::make_problem(priors, preds, logits, gts, labels);
  p.cls_probs.resize(4, 2);
  for (Eigen::Index i = 0; i < 4; ++i)
    for (Eigen::Index c = 0; c < 2; ++c) p.cls_probs(i, c) = probs[static_cast<size_t>(i)][static_cast<size_t>(c)];
  return p;
}

}  // namespace

TEST_CASE("align-ota: the class cost pulls the GT's class towards the IoU, where SimOTA's pulls it towards 1") {
  // GT [0, 0, 24, 8], class 0, centre (12, 4): points 4, 12, 20 are in the
  // box and in the centre region 12 -+ 20; point 28 only in the region.
  // Predictions [0, 0, 16, 8], [8, 0, 24, 8], [16, 0, 24, 8], [24, 0, 32, 8]:
  // IoUs 128/192 = 2/3, 2/3, 64/192 = 1/3, 0; k = int(1.67) = 1.
  // Probabilities (class 0, class 1): (0.95, 0.05), (0.6, 0.05), (0.5, 0.5),
  // (0.9, 0.1). Priors 0 and 1 have the same IoU cost 3 * -log(2/3) = 1.2164;
  // the class decides.
  //   align-ota  sum_c BCE(p_c, y_c) |y_c - p_c|^2, y = (2/3, 0):
  //     prior 0  BCE(0.95, 2/3) = -(1/3 log 0.05 + 2/3 log 0.95) = 1.0328,
  //              x (2/3 - 0.95)^2 = 0.0803 -> 0.0829; class 1: -log(0.95)
  //              x 0.05^2 = 0.0001; cls 0.0830, cost 1.2994
  //     prior 1  BCE(0.6, 2/3) = 0.6460 x (2/3 - 0.6)^2 = 0.0044 -> 0.0029;
  //              cls 0.0030, cost 1.2194: prior 1, whose score is the IoU.
  //   simota     one-hot BCE: -log 0.95 - log 0.95 = 0.1026 for prior 0
  //              against -log 0.6 - log 0.95 = 0.5621: prior 0, the confident.
  const Problem p = scene({{0, 0, 16, 8}, {8, 0, 24, 8}, {16, 0, 24, 8}, {24, 0, 32, 8}}, {{0, 0, 24, 8}}, {0},
                          {{0.95f, 0.05f}, {0.6f, 0.05f}, {0.5f, 0.5f}, {0.9f, 0.1f}});
  const Assignment a = run_assigner("align-ota", p);
  CHECK(a.gt_inds == Inds{0, 1, 0, 0});
  CHECK(a.labels == Inds{-1, 0, -1, -1});
  CHECK(a.dynamic_ks == Inds{1});
  CHECK(a.max_overlaps[1] == doctest::Approx(2.0 / 3.0).epsilon(1e-6));
  CHECK(a.max_overlaps[0] == -100000000.0f);  // -INF for negatives
  const CandidatePair* zero = testing::find_pair(a, 0, 0);
  const CandidatePair* one = testing::find_pair(a, 1, 0);
  REQUIRE(zero);
  REQUIRE(one);
  CHECK(zero->terms[0] == doctest::Approx(0.08304).epsilon(1e-4));
  CHECK(one->terms[0] == doctest::Approx(0.00300).epsilon(1e-3));
  CHECK(zero->terms[1] == doctest::Approx(3.0 * std::log(1.5)).epsilon(1e-5));
  CHECK(zero->cost == doctest::Approx(1.2994).epsilon(1e-4));
  CHECK(one->cost == doctest::Approx(1.2194).epsilon(1e-4));
  CHECK(zero->terms[2] == 0.0f);
  // The term itself, as the engine calls it.
  const float probs0[2] = {0.95f, 0.05f};
  const double background = assign::detail::quality_focal_prob_background(probs0, 2);
  CHECK(background == doctest::Approx(-std::log(0.05) * 0.95 * 0.95 - std::log(0.95) * 0.05 * 0.05).epsilon(1e-6));
  CHECK(assign::detail::quality_focal_prob_pair(background, 0.95f, 2.0f / 3.0f) ==
        doctest::Approx(0.08304).epsilon(1e-4));
  CHECK(assign::detail::quality_focal_prob_term(0.0, 1.0) == doctest::Approx(100.0));  // log clamped at -100

  // SimOTA on the same probabilities takes the confident prior 0.
  const Assignment s = run_assigner("simota", p);
  CHECK(s.gt_inds == Inds{1, 0, 0, 0});
  CHECK(s.max_overlaps[1] == -100000.0f);
}

TEST_CASE("align-ota: a GT whose k exceeds its in-box-and-centre priors takes the rest at cost 1e8 + c") {
  // GT [9, 1, 15, 7], class 0, centre (12, 4): only point 12 (prior 1) is in
  // the box; the centre region 12 -+ 20 holds all four points, so all are
  // valid and priors 0, 2, 3 cost 1e8 + c. Priors 0-2 predict the GT itself
  // (IoU 1), prior 3 its cell (IoU 0): k = int(3) = 3.
  //   prior 1   cls BCE(0.9, 1) (0.1)^2 + BCE(0.05, 0) 0.05^2 = 0.0012
  //   prior 0   cls BCE(0.05, 1) 0.95^2 = 2.7038: 1e8 + 2.70 = 1e8 in float32
  //   prior 2   cls BCE(0.45, 1) 0.55^2 = 0.2417: 1e8 as well
  //   prior 3   IoU cost 3 * -log(1e-7) = 48.35: 1e8 + 48 (float32 spacing 8)
  // The three cheapest: prior 1, then priors 0 and 2 at exactly 1e8.
  const std::vector<std::vector<float>> probs = {{0.05f, 0.05f}, {0.9f, 0.05f}, {0.45f, 0.05f}, {0.5f, 0.05f}};
  const Box gt = {9, 1, 15, 7};
  const Problem p = scene({gt, gt, gt, {24, 0, 32, 8}}, {gt}, {0}, probs);
  const Assignment a = run_assigner("align-ota", p);
  CHECK(a.gt_inds == Inds{1, 1, 1, 0});
  CHECK(a.dynamic_ks == Inds{3});
  CHECK(a.max_overlaps == std::vector<float>{1.0f, 1.0f, 1.0f, -100000000.0f});
  for (int32_t prior : {0, 2}) {
    const CandidatePair* pair = testing::find_pair(a, prior, 0);
    REQUIRE(pair);
    CHECK(pair->picked);
    CHECK_FALSE(pair->inside);
    CHECK(pair->terms[2] == 100000000.0f);
    CHECK(pair->cost == 100000000.0f);  // c < 4 vanishes in float32
  }
  CHECK(analysis::compute_stats(p, a).gts[0].candidates == 1);

  // Prior 2 predicting [10, 2, 14, 6] instead (IoU 16/36 = 0.444): k = 2,
  // and its cost 1e8 + (0.81 + 0.0001) equals prior 0's 1e8 + 2.70 in
  // float32. SimOTA (1e5, spacing 1/128) keeps them apart; here the k-th
  // cost is shared and torch.topk's CPU order decides, with a note.
  const Problem tied = scene({gt, gt, {10, 2, 14, 6}, {24, 0, 32, 8}}, {gt}, {0}, probs);
  const Assignment t = run_assigner("align-ota", tied);
  CHECK(t.dynamic_ks == Inds{2});
  CHECK(t.gt_inds[1] == 1);
  CHECK(t.gt_inds[0] + t.gt_inds[2] == 1);
  CHECK(testing::has_note(t, "its k-th cheapest cost is shared"));
  const CandidatePair* two = testing::find_pair(t, 2, 0);
  if (two) CHECK(two->cost == 100000000.0f);
  // Dense and sparse agree (the sparse search hands the tie to the dense one).
  CHECK(run_assigner("align-ota", tied, {{"search", "dense"}}).gt_inds == t.gt_inds);
}

TEST_CASE("align-ota: no GT, and a GT with no valid prior") {
  const std::vector<std::vector<float>> probs(4, {0.3f, 0.6f});
  const std::vector<Box> cells = {{0, 0, 8, 8}, {8, 0, 16, 8}, {16, 0, 24, 8}, {24, 0, 32, 8}};
  // G = 0: nothing, max_overlaps 0.
  const Assignment none = run_assigner("align-ota", scene(cells, {}, {}, probs));
  CHECK(none.gt_inds == Inds{0, 0, 0, 0});
  CHECK(none.max_overlaps == std::vector<float>(4, 0.0f));
  CHECK(none.dynamic_ks == Inds{});
  // GT [100, 100, 104, 104]: centre region 102 -+ 20 holds no point and the
  // box none: no valid prior, the reference returns before matching
  // (max_overlaps all 0.0, not -1e8; dynamic k 0).
  const Assignment far = run_assigner("align-ota", scene(cells, {{100, 100, 104, 104}}, {1}, probs));
  CHECK(far.gt_inds == Inds{0, 0, 0, 0});
  CHECK(far.labels == Inds{-1, -1, -1, -1});
  CHECK(far.max_overlaps == std::vector<float>(4, 0.0f));
  CHECK(far.dynamic_ks == Inds{0});
  CHECK(testing::has_note(far, "returns before matching"));
  // Beside GT [9, 1, 15, 7] (class 0; prior 1 in its box, IoU 36/64 =
  // 0.5625; all four in its centre region), the far GT is no early return:
  // it takes its k = 1 from the valid priors at 1e8 + c, c = cls + 3 *
  // -log(1e-7) = cls + 48.35 (no IoU). With probabilities 0.99999 on both
  // classes, priors 0, 2, 3 have cls 2 x 11.5 = 23.0 (1e8 + 72 in float32),
  // prior 1 with 0.01 almost none (1e8 + 48): it takes prior 1, which the
  // first GT also takes (cost 0.79 + 3 * 0.575 = 2.52) and keeps in the
  // conflict. The far GT is starved.
  const std::vector<std::vector<float>> sure = {{0.99999f, 0.99999f},
                                                {0.01f, 0.01f},
                                                {0.99999f, 0.99999f},
                                                {0.99999f, 0.99999f}};
  const Assignment both = run_assigner("align-ota", scene(cells, {{9, 1, 15, 7}, {100, 100, 104, 104}}, {0, 1}, sure));
  CHECK(both.dynamic_ks == Inds{1, 1});
  CHECK(both.gt_inds == Inds{0, 1, 0, 0});
  CHECK(both.max_overlaps[0] == -100000000.0f);
  const CandidatePair* lost = testing::find_pair(both, 1, 1);
  REQUIRE(lost);
  CHECK(lost->picked);
  CHECK(lost->cost == 100000048.0f);
}

TEST_CASE("align-ota: the sparse search gives the dense result on the golden full-size cases") {
  for (const char* name : {"align-ota-g20-late", "align-ota-g5-early"}) {
    const std::string dir = std::string(ASSIGNSCOPE_SHARED_GOLDEN) + "/" + name;
    if (!std::filesystem::is_directory(dir)) {
      MESSAGE("../shared/golden is absent: skipped");
      return;
    }
    CAPTURE(name);
    auto dump = io::load_dump(dir);
    REQUIRE_MESSAGE(dump.ok(), dump.status().message());
    const Problem& p = dump->batch.images.at(0);
    REQUIRE(p.cls_probs.size() > 0);  // meta.scores "probs": read as given
    const Assignment sparse = run_assigner("align-ota", p);
    const Assignment dense = run_assigner("align-ota", p, {{"search", "dense"}});
    CHECK(sparse.search.path == SearchRecord::Path::kSparse);
    CHECK(sparse.gt_inds == dense.gt_inds);
    CHECK(sparse.dynamic_ks == dense.dynamic_ks);
    CHECK(sparse.max_overlaps == dense.max_overlaps);
    REQUIRE(sparse.candidates.size() == dense.candidates.size());
    for (size_t c = 0; c < sparse.candidates.size(); ++c) CHECK(sparse.candidates[c].cost == dense.candidates[c].cost);
  }
}

}  // namespace assignscope
