// OTA and its Sinkhorn solver: a plan known in closed form, marginals, and a
// hand-checkable image.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "analysis/stats.h"
#include "assign/ota.h"
#include "match/sinkhorn.h"
#include "test_support.h"

namespace assignscope {

TEST_CASE("sinkhorn: a separable cost gives the independent coupling, in closed form") {
  // C_ij = f_i + g_j makes exp(-C / eps) rank one, and the entropic plan is
  // then (mu_i + 1e-8)(nu_j + 1e-8) / sum_j (nu_j + 1e-8) after the first
  // round already (u, v start at 1; the 1e-8 is the reference's).
  const std::vector<float> f = {0.3f, 2.0f, 1.1f}, g = {0.5f, 0.1f, 3.0f, 1.5f, 0.0f};
  std::vector<float> cost;
  for (float fi : f)
    for (float gj : g) cost.push_back(fi + gj);
  const std::vector<float> mu = {1.0f, 2.0f, 2.0f}, nu = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f};
  for (int64_t iterations : {1, 5, 50}) {
    CAPTURE(iterations);
    const std::vector<float> plan = match::sinkhorn_plan(cost, 3, 5, mu, nu, 0.1f, iterations);
    const double total = 5 * (1 + 1e-8);
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 5; ++j)
        CHECK(plan[static_cast<size_t>(i * 5 + j)] ==
              doctest::Approx((static_cast<double>(mu[i]) + 1e-8) * (static_cast<double>(nu[j]) + 1e-8) / total)
                  .epsilon(1e-4));
  }
}

TEST_CASE("sinkhorn: small eps and costs of 1e6 neither overflow nor give NaN, and marginals are met once converged") {
  const int rows = 3, cols = 6;
  std::vector<float> cost = {0.1f, 0.5f, 1e6f, 1e6f, 2.0f, 1e6f,   //
                             1e6f, 0.2f, 0.3f, 1e6f, 1e6f, 1.5f,   //
                             0.4f, 0.4f, 0.4f, 0.4f, 0.4f, 0.4f};  // background
  const std::vector<float> mu = {2.0f, 2.0f, 2.0f}, nu(cols, 1.0f);
  const auto sums = [&](const std::vector<float>& plan) {
    std::vector<double> row(rows, 0.0), col(cols, 0.0);
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < cols; ++j) {
        const auto x =
            static_cast<double>(plan[static_cast<size_t>(i) * static_cast<size_t>(cols) + static_cast<size_t>(j)]);
        row[i] += x, col[j] += x;
      }
    return std::pair{row, col};
  };
  // Each iteration ends with the row update, so the row sums are met at
  // once; at eps 0.01 the columns converge slowly: after 200 iterations they
  // are still 1.047, 1.043, 1.001, 0.956, 0.956, 0.997 (the reference's own
  // iteration, in float64, gives the same), and met after 5000.
  const std::vector<float> early = match::sinkhorn_plan(cost, rows, cols, mu, nu, 0.01f, 200);
  for (float x : early) CHECK(std::isfinite(x));
  const auto [early_rows, early_cols] = sums(early);
  for (int i = 0; i < rows; ++i) CHECK(early_rows[i] == doctest::Approx(static_cast<double>(mu[i])).epsilon(1e-3));
  CHECK(early_cols[0] == doctest::Approx(1.0473).epsilon(1e-3));
  CHECK(early_cols[3] == doctest::Approx(0.9557).epsilon(1e-3));
  const std::vector<float> plan = match::sinkhorn_plan(cost, rows, cols, mu, nu, 0.01f, 5000);
  for (float x : plan) CHECK(std::isfinite(x));
  const auto [row_sums, col_sums] = sums(plan);
  for (int i = 0; i < rows; ++i) CHECK(row_sums[i] == doctest::Approx(static_cast<double>(mu[i])).epsilon(1e-3));
  for (int j = 0; j < cols; ++j) CHECK(col_sums[j] == doctest::Approx(1.0).epsilon(1e-3));
  // Pairs costing 1e6 get no mass.
  CHECK(plan[2] == 0.0f);
  CHECK(plan[static_cast<size_t>(1 * cols + 0)] == 0.0f);
}

TEST_CASE("ota: G = 0 ships every prior to the background") {
  const Assignment a = testing::run_assigner("ota", testing::row_of_four({}, {}));
  CHECK(a.num_positives() == 0);
  REQUIRE(a.transport_plan->size() == 4);  // [G + 1, N] = [1, 4]
  for (float x : *a.transport_plan) CHECK(x == doctest::Approx(1.0).epsilon(1e-4));
}

TEST_CASE("ota: priors predicting their GT exactly are its positives, and the supply is their IoU sum") {
  // A 2 x 4 grid of stride-8 priors (x = 4..28, y = 4, 12). The GT [2, 2, 22, 14]
  // holds priors 0, 1, 2 (row 0) and 4, 5, 6 (row 1) by more than 0.01, all
  // within its centre box. Priors 0, 1 and 4 predict the GT exactly (IoU 1),
  // the others predict their own cell: the supply is int(1 + 1 + 1 + small
  // IoUs) = 3, and those three cheap priors get it.
  std::vector<std::array<float, 4>> priors, preds;
  std::vector<std::vector<float>> logits;
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 4; ++c) {
      const float x = 4.0f + 8.0f * static_cast<float>(c), y = 4.0f + 8.0f * static_cast<float>(r);
      priors.push_back({x, y, 8, 8});
      preds.push_back({x - 4, y - 4, x + 4, y + 4});
      logits.push_back({0.0f});
    }
  for (int i : {0, 1, 4}) preds[i] = {2, 2, 22, 14};
  const Problem p = testing::make_problem(priors, preds, logits, {{2, 2, 22, 14}}, {0});
  const Assignment a = testing::run_assigner("ota", p);
  CHECK(a.dynamic_ks == std::vector<int64_t>{3});
  std::vector<int64_t> expected(8, 0);
  expected[0] = expected[1] = expected[4] = 1;
  CHECK(a.gt_inds == expected);
  for (int i : {0, 1, 4}) CHECK(a.max_overlaps[i] == 1.0f);
  const analysis::ImageStats s = analysis::compute_stats(p, a);
  CHECK(s.gts[0].candidates == 6);
  CHECK(s.gts[0].plan_mass == doctest::Approx(3.0).epsilon(1e-3));
  REQUIRE(a.transport_plan->size() == 16);
  double to_positives = 0;
  for (int i : {0, 1, 4}) to_positives += static_cast<double>((*a.transport_plan)[static_cast<size_t>(i)]);
  CHECK(to_positives == doctest::Approx(3.0).epsilon(1e-2));
}

TEST_CASE("ota: a GT with no candidate still supplies one unit, through its 1e6 costs") {
  // The GT [5, 1, 11, 7] contains no prior point, so every cost of its row
  // is 1e6 + c; its supply is max(1, 0) = 1 all the same. Priors 0 and 1
  // cost the same (IoU 18/82 each, same logits), so both reach the row's
  // maximum after rescaling and both beat the background there: two
  // positives, the farther priors 2 and 3 (IoU 0) none.
  const Problem p = testing::row_of_four({{5, 1, 11, 7}}, {0});
  const Assignment a = testing::run_assigner("ota", p);
  CHECK(a.dynamic_ks == std::vector<int64_t>{1});
  CHECK(a.gt_inds == std::vector<int64_t>{1, 1, 0, 0});
  CHECK(analysis::compute_stats(p, a).gts[0].candidates == 0);
}

TEST_CASE("ota: fewer priors than candidate_topk is refused, as the reference's topk fails there") {
  const auto* info = assign::find_assigner("ota");
  REQUIRE(info);
  const Problem p = testing::row_of_four({{2, 0, 22, 8}}, {0});  // N = 4 < 20
  const Status st = info->check(assign::default_params(*info), p);
  CHECK(st.kind() == ErrorKind::kUsage);
  CHECK(st.message().find("4 priors is fewer than candidate_topk = 20") != std::string::npos);
  Params four = assign::default_params(*info);
  REQUIRE(four.set("candidate_topk", "4").ok());
  CHECK(info->check(four, p).ok());
}

TEST_CASE("ota: supplies beyond the priors make the plan NaN, and say so") {
  // Four priors, all predicting the GT exactly: supply int(4 * IoU 1) = 4 for
  // each of two identical GTs = 8 > 4 priors; the background's supply is -4.
  Problem p = testing::row_of_four({{0.5f, 0.5f, 31.5f, 7.5f}, {0.5f, 0.5f, 31.5f, 7.5f}}, {0, 0});
  for (int i = 0; i < 4; ++i) p.pred_bboxes.row(i) << 0.5f, 0.5f, 31.5f, 7.5f;
  const Assignment a = testing::run_assigner("ota", p, {{"candidate_topk", "4"}});
  CHECK(a.dynamic_ks == std::vector<int64_t>{4, 4});
  REQUIRE(a.notes.size() == 1);
  CHECK(a.notes[0].find("exceed the 4 priors") != std::string::npos);
}

TEST_CASE("ota: a NaN row wins the argmax, as torch.max returns NaN first") {
  // With no Sinkhorn iteration the plan is exp(-C + 2) / eps per entry; the
  // row of a GT with no candidate underflows to 0 everywhere, its rescale is
  // 0 / 0 = NaN, and torch.max picks that NaN row for every prior.
  const Problem p = testing::row_of_four({{2, 0, 22, 8}, {500, 500, 503, 503}}, {0, 1});
  const Assignment a = testing::run_assigner("ota", p, {{"candidate_topk", "4"}, {"sinkhorn_iters", "0"}});
  CHECK(a.gt_inds == std::vector<int64_t>{2, 2, 2, 2});
}

TEST_CASE("ota: two GTs whose only candidate is the same prior both scale to 1.0 there, and the first keeps it") {
  // GT 0 [6, 0, 18, 8] (class 1) and GT 1 [7, 0, 19, 8] (class 0) each have
  // one candidate, prior 1 (IoU 2/3), and supply 1. Every other entry of
  // their rows costs 1e6 + c, whose exp(-C / 0.1) is 0 in float32: each row
  // can ship only to prior 1, and, rows being met by the last update, each
  // ends with its whole unit there (column 1 receives 2). Both rows scale to
  // 1.0 at prior 1: torch.max's first row, GT 0, keeps it; GT 1, cheaper or
  // not, gets nothing.
  const Problem p = testing::row_of_four({{6, 0, 18, 8}, {7, 0, 19, 8}}, {1, 0});
  const Assignment a = testing::run_assigner("ota", p, {{"candidate_topk", "4"}});
  CHECK(a.dynamic_ks == std::vector<int64_t>{1, 1});
  CHECK(a.gt_inds == std::vector<int64_t>{0, 1, 0, 0});
  CHECK((*a.transport_plan)[1] == doctest::Approx(1.0).epsilon(1e-5));      // GT 0 -> prior 1
  CHECK((*a.transport_plan)[4 + 1] == doctest::Approx(1.0).epsilon(1e-5));  // GT 1 -> prior 1
  const analysis::ImageStats s = analysis::compute_stats(p, a);
  CHECK(s.starved_gts == std::vector<int64_t>{1});
  // Swapping the GTs swaps the winner: the tie is broken by index alone.
  const Problem swapped = testing::row_of_four({{7, 0, 19, 8}, {6, 0, 18, 8}}, {0, 1});
  CHECK(testing::run_assigner("ota", swapped, {{"candidate_topk", "4"}}).gt_inds == std::vector<int64_t>{0, 1, 0, 0});
}

TEST_CASE("ota: a NaN in a row makes the row's maximum NaN, as torch.max does") {
  // Prior 3's logit is NaN (--allow-nonfinite): its column of costs is NaN.
  // With no Sinkhorn iteration the NaN stays in that column, so every row
  // holds one. torch's pi.max(dim=1) is NaN for every row, every rescaled
  // entry NaN, and the first NaN row, GT 0, takes every prior. Taking the
  // maxima over the finite entries instead would give prior 3 to GT 0 and
  // the other priors to whichever row is largest there.
  Problem p = testing::row_of_four({{2, 0, 22, 8}}, {0});
  p.cls_scores(3, 0) = NAN;
  const Assignment a = testing::run_assigner("ota", p, {{"candidate_topk", "4"}, {"sinkhorn_iters", "0"}});
  const std::vector<float>& plan = *a.transport_plan;
  CHECK(std::isnan(plan[3]));
  CHECK(std::isfinite(plan[0]));
  CHECK(a.gt_inds == std::vector<int64_t>{1, 1, 1, 1});
}

// Bitwise equality of two float vectors (NaN equal to NaN).
bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i] && std::signbit(a[i]) == std::signbit(b[i])) && !(std::isnan(a[i]) && std::isnan(b[i])))
      return false;
  return true;
}

TEST_CASE("sinkhorn: the penalty-sparse solve gives the dense plan bit for bit, updating only what counts") {
  // Rows 0..5 list a few columns at costs 0..10 over a penalty of 1e6 +
  // something; row 3 lists none (its u climbs to ~1e6 and it is held in
  // full); row 6 (the background) lists every column.
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  const int64_t rows = 7, cols = 40;
  match::PenaltyCost pc;
  pc.rows = rows, pc.cols = cols, pc.floor = 1e6f;
  std::vector<float> dense(static_cast<size_t>(rows * cols));
  pc.row_start.push_back(0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < cols; ++j) {
      const bool listed = r == rows - 1 || (r != 3 && unit(rng) < 0.2f);
      const float c = 10.0f * unit(rng);
      dense[static_cast<size_t>(r * cols + j)] = listed ? c : (c + 1e6f);
      if (listed) pc.col.push_back(static_cast<int32_t>(j)), pc.cost.push_back(c);
    }
    pc.row_start.push_back(static_cast<int64_t>(pc.col.size()));
  }
  pc.cost_at = [&](int64_t r, int64_t j) { return dense[static_cast<size_t>(r * cols + j)]; };
  std::vector<float> mu = {2, 1, 3, 1, 2, 1, 0};
  mu[rows - 1] = static_cast<float>(cols) - std::accumulate(mu.begin(), mu.end() - 1, 0.0f);
  const std::vector<float> nu(cols, 1.0f);
  for (int64_t iterations : {0, 1, 3, 50}) {
    CAPTURE(iterations);
    match::SinkhornWork work;
    const std::vector<float> sparse = match::sinkhorn_plan(pc, mu, nu, 0.1f, iterations, &work);
    CHECK(same_bits(sparse, match::sinkhorn_plan(dense, rows, cols, mu, nu, 0.1f, iterations)));
    CHECK(work.full_column_updates == 0);
    CHECK(work.full_row == std::vector<char>{0, 0, 0, iterations > 0 ? char{1} : char{0}, 0, 0, 1});
    if (iterations == 50) CHECK(work.entry_updates < 50 * 2 * rows * cols / 2);
  }
}

// A random image on a 64 x 64 grid of three levels (84 priors, C = 3): GTs
// large and small, some too small to hold a prior point (no candidate).
Problem random_image(std::mt19937& rng, int gts) {
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<std::array<float, 4>> priors, preds;
  std::vector<std::vector<float>> logits;
  for (float stride : {8.0f, 16.0f, 32.0f})
    for (float y = stride / 2; y < 64; y += stride)
      for (float x = stride / 2; x < 64; x += stride) {
        priors.push_back({x, y, stride, stride});
        const float w = stride * (0.5f + 2 * unit(rng)), h = stride * (0.5f + 2 * unit(rng));
        preds.push_back({x - w / 2, y - h / 2, x + w / 2, y + h / 2});
        logits.push_back({8 * unit(rng) - 6, 8 * unit(rng) - 6, 8 * unit(rng) - 6});
      }
  std::vector<std::array<float, 4>> boxes;
  std::vector<int64_t> labels;
  for (int g = 0; g < gts; ++g) {
    const float size = g % 4 == 3 ? 1.5f : 4 + 40 * unit(rng);
    const float x = (64 - size) * unit(rng), y = (64 - size) * unit(rng);
    boxes.push_back({x, y, x + size, y + size * (0.5f + unit(rng))});
    labels.push_back(static_cast<int64_t>(3 * unit(rng)) % 3);
  }
  return testing::make_problem(priors, preds, logits, boxes, labels);
}

TEST_CASE("ota: the sparse path is taken and replays the dense path exactly") {
  const auto* info = assign::find_assigner("ota");
  REQUIRE(info);
  Params params = assign::default_params(*info);
  REQUIRE(params.set("candidate_topk", "10").ok());
  std::mt19937 rng(2024);
  int64_t sparse_rows = 0;
  for (int trial = 0; trial < 12; ++trial) {
    CAPTURE(trial);
    const Problem p = random_image(rng, 1 + trial * 3 % 17);
    assign::detail::OtaPath fast, plain;
    const Assignment a = assign::detail::ota_replay(params, p, true, &fast);
    const Assignment b = assign::detail::ota_replay(params, p, false, &plain);
    REQUIRE(fast.sparse);
    CHECK(!plain.sparse);
    CHECK(fast.work.full_column_updates == 0);
    CHECK(fast.work.listed < (p.num_gts() + 1) * p.num_priors());
    // Held in full: the background row, and the rows of GTs without a candidate.
    REQUIRE(fast.work.full_row.size() == static_cast<size_t>(p.num_gts() + 1));
    CHECK(fast.work.full_row.back() == 1);
    for (int64_t g = 0; g < p.num_gts(); ++g) {
      const bool has_candidate = std::any_of(a.candidates.begin(), a.candidates.end(),
                                             [g](const CandidatePair& c) { return c.gt == g && c.inside; });
      CHECK(fast.work.full_row[static_cast<size_t>(g)] == (has_candidate ? 0 : 1));
      sparse_rows += has_candidate ? 1 : 0;
    }
    CHECK(a.gt_inds == b.gt_inds);
    CHECK(a.labels == b.labels);
    CHECK(same_bits(a.max_overlaps, b.max_overlaps));
    CHECK(a.dynamic_ks == b.dynamic_ks);
    CHECK(same_bits(*a.transport_plan, *b.transport_plan));
    CHECK(a.notes == b.notes);
    REQUIRE(a.candidates.size() == b.candidates.size());
    for (size_t k = 0; k < a.candidates.size(); ++k) {
      const CandidatePair &x = a.candidates[k], &y = b.candidates[k];
      CHECK((x.prior == y.prior && x.gt == y.gt && x.inside == y.inside && x.picked == y.picked));
      CHECK(same_bits({x.cost, x.iou, x.terms[0], x.terms[1], x.terms[2]},
                      {y.cost, y.iou, y.terms[0], y.terms[1], y.terms[2]}));
    }
  }
  CHECK(sparse_rows > 50);
}

TEST_CASE("ota: non-finite inputs take the dense path") {
  Problem p = testing::row_of_four({{2, 0, 22, 8}}, {0});
  p.cls_scores(3, 0) = NAN;
  const auto* info = assign::find_assigner("ota");
  Params params = assign::default_params(*info);
  REQUIRE(params.set("candidate_topk", "4").ok());
  assign::detail::OtaPath path;
  assign::detail::ota_replay(params, p, true, &path);
  CHECK(!path.sparse);
}

TEST_CASE("ota: supplies beyond the priors: the sparse path's NaN plan is the dense path's, at any iteration count") {
  Problem p = testing::row_of_four({{0.5f, 0.5f, 31.5f, 7.5f}, {0.5f, 0.5f, 31.5f, 7.5f}}, {0, 0});
  for (int i = 0; i < 4; ++i) p.pred_bboxes.row(i) << 0.5f, 0.5f, 31.5f, 7.5f;
  const auto* info = assign::find_assigner("ota");
  for (const char* iterations : {"0", "1", "2", "3", "50"}) {
    CAPTURE(iterations);
    Params params = assign::default_params(*info);
    REQUIRE(params.set("candidate_topk", "4").ok());
    REQUIRE(params.set("sinkhorn_iters", iterations).ok());
    assign::detail::OtaPath fast;
    const Assignment a = assign::detail::ota_replay(params, p, true, &fast);
    const Assignment b = assign::detail::ota_replay(params, p, false, nullptr);
    CHECK(fast.sparse);
    CHECK(same_bits(*a.transport_plan, *b.transport_plan));
    CHECK(a.gt_inds == b.gt_inds);
    CHECK(a.candidates.size() == b.candidates.size());
  }
}

}  // namespace assignscope
