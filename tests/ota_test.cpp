// OTA and its Sinkhorn solver: a plan known in closed form, marginals, and a
// hand-checkable image.
#include <doctest/doctest.h>

#include <cmath>
#include <numeric>

#include "analysis/stats.h"
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

TEST_CASE("sinkhorn: small eps and costs of 1e6 neither overflow nor give NaN, marginals are met") {
  const int rows = 3, cols = 6;
  std::vector<float> cost = {0.1f, 0.5f, 1e6f, 1e6f, 2.0f, 1e6f,   //
                             1e6f, 0.2f, 0.3f, 1e6f, 1e6f, 1.5f,   //
                             0.4f, 0.4f, 0.4f, 0.4f, 0.4f, 0.4f};  // background
  const std::vector<float> mu = {2.0f, 2.0f, 2.0f}, nu(cols, 1.0f);
  const auto sums = [&](const std::vector<float>& plan, bool by_row) {
    std::vector<double> out(static_cast<size_t>(by_row ? rows : cols), 0.0);
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < cols; ++j) out[static_cast<size_t>(by_row ? i : j)] += static_cast<double>(plan[static_cast<size_t>(i * cols + j)]);
    return out;
  };
  // Each iteration ends with the row update (as the reference's), so the
  // rows' supplies are met after any number of iterations; the columns'
  // demands only as the iterations converge, slowly at eps = 0.01.
  for (int iters : {200, 20000}) {
    CAPTURE(iters);
    const std::vector<float> plan = match::sinkhorn_plan(cost, rows, cols, mu, nu, 0.01f, iters);
    for (float x : plan) CHECK(std::isfinite(x));
    for (int i = 0; i < rows; ++i) CHECK(sums(plan, true)[static_cast<size_t>(i)] == doctest::Approx(mu[i]).epsilon(1e-3));
    const double tolerance = iters == 200 ? 0.1 : 1e-3;
    for (double col : sums(plan, false)) CHECK(col == doctest::Approx(1.0).epsilon(tolerance));
    // Pairs costing 1e6 get no mass.
    CHECK(plan[2] == 0.0f);
    CHECK(plan[static_cast<size_t>(1 * cols + 0)] == 0.0f);
  }
}

TEST_CASE("ota: G = 0 ships every prior to the background") {
  const Assignment a = testing::run_assigner("ota", testing::row_of_four({}, {}));
  CHECK(a.num_positives() == 0);
  REQUIRE(a.transport_plan->size() == 4);  // [G + 1, N] = [1, 4]
  for (float x : *a.transport_plan) CHECK(x == doctest::Approx(1.0).epsilon(1e-4));
}

TEST_CASE("ota: priors predicting their GT exactly are its positives, the supply is their IoU sum") {
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

}  // namespace assignscope
