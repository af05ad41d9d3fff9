// The sparse dynamic-k engine (assign/sparse_dynamic_k.h) on a hand-made
// cost: dynamic k from the positive IoUs, picks, a boundary tie, owners of
// contested priors (cheapest column, first minimum, padding last) and the
// shared assembly.
#include <doctest/doctest.h>

#include "assign/sparse_dynamic_k.h"
#include "test_support.h"

namespace assignscope {
namespace {
using testing::row_of_four;

// Costs and IoUs by table: cost[g][prior], iou[g][prior]; every GT a rival.
struct TableCost final : assign::detail::SparseCost {
  std::vector<std::vector<float>> cost, ious;
  int rival_calls = 0;
  float iou(int32_t prior, int64_t column) override { return ious[column][prior]; }
  CandidatePair pair(int32_t prior, int64_t column, float u) override {
    CandidatePair p;
    p.prior = prior;
    p.gt = static_cast<int32_t>(column);
    p.iou = u;
    p.cost = cost[column][prior];
    p.terms = {p.cost, 0, 0};
    return p;
  }
  std::optional<std::array<float, 4>> rival_window(int32_t, float) override {
    ++rival_calls;
    return std::nullopt;
  }
};

// Two GTs over the four priors of row_of_four; every pair costed.
struct Scene {
  Problem p = row_of_four({{0, 0, 16, 8}, {8, 0, 32, 8}}, {0, 1});
  TableCost cost;
  std::vector<const float*> boxes() const { return {&p.gt_bboxes(0, 0), &p.gt_bboxes(1, 0)}; }
};

void cost_all(Scene* s, assign::detail::SparseDynamicK* engine) {
  for (int64_t g = 0; g < 2; ++g)
    for (int32_t i = 3; i >= 0; --i) engine->costed(g).push_back(s->cost.pair(i, g, s->cost.ious[g][i]));
}

TEST_CASE("sparse dynamic-k engine: k from positive IoUs, picks, a contested prior to the cheaper GT") {
  Scene s;
  s.cost.ious = {{0.9f, 0.6f, 0.0f, 0.0f}, {0.0f, 0.7f, 0.5f, 0.3f}};  // k = 1 and 1
  s.cost.cost = {{2.0f, 1.0f, 9.0f, 9.0f}, {9.0f, 0.5f, 3.0f, 4.0f}};  // both pick prior 1
  assign::detail::SparseDynamicK engine(s.p, 2, &s.cost);
  const std::vector<char> all(4, 1);
  REQUIRE(engine.positive_ious(s.boxes(), all, all, 10, false));
  CHECK(engine.ks() == std::vector<int64_t>{1, 1});
  CHECK(engine.overlapping(0).size() == 2);
  cost_all(&s, &engine);
  REQUIRE(engine.pick(0));
  REQUIRE(engine.pick(1));
  CHECK(engine.last_pick_cost(0) == 1.0f);
  engine.resolve_owners({{8, 4}, {20, 4}}, 8.0f);
  CHECK(s.cost.rival_calls == 1);  // one contested prior
  const Assignment a = engine.assemble({0, 1}, -1.0f);
  CHECK(a.gt_inds == std::vector<int64_t>{0, 2, 0, 0});
  CHECK(a.labels == std::vector<int64_t>{-1, 1, -1, -1});
  CHECK(a.max_overlaps == std::vector<float>{-1.0f, 0.7f, -1.0f, -1.0f});
  REQUIRE(a.candidates.size() == 2);  // the picked pairs (none marked inside), GT by GT
  CHECK(a.candidates[0].gt == 0);
  CHECK(a.candidates[0].picked);
  CHECK(a.candidates[1].gt == 1);
}

TEST_CASE("sparse dynamic-k engine: equal costs go to the first GT, a tie at the k-th cost declines") {
  Scene s;
  s.cost.ious = {{0.9f, 0.6f, 0.0f, 0.0f}, {0.0f, 0.7f, 0.5f, 0.3f}};
  s.cost.cost = {{2.0f, 1.0f, 9.0f, 9.0f}, {9.0f, 1.0f, 3.0f, 4.0f}};
  assign::detail::SparseDynamicK engine(s.p, 2, &s.cost);
  const std::vector<char> all(4, 1);
  REQUIRE(engine.positive_ious(s.boxes(), all, all, 10, false));
  cost_all(&s, &engine);
  REQUIRE(engine.pick(0));
  REQUIRE(engine.pick(1));
  engine.resolve_owners({{8, 4}, {20, 4}}, 8.0f);
  CHECK(engine.assemble({0, 1}, 0.0f).gt_inds == std::vector<int64_t>{0, 1, 0, 0});

  Scene tied;
  tied.cost.ious = s.cost.ious;
  tied.cost.cost = {{1.0f, 1.0f, 9.0f, 9.0f}, {9.0f, 1.0f, 3.0f, 4.0f}};  // GT 0: k = 1, two at 1.0
  assign::detail::SparseDynamicK declined(tied.p, 2, &tied.cost);
  REQUIRE(declined.positive_ious(tied.boxes(), all, all, 10, false));
  cost_all(&tied, &declined);
  CHECK_FALSE(declined.pick(0));
}

TEST_CASE("sparse dynamic-k engine: a padding column competes for contested priors after every GT") {
  Scene s;
  s.p.padding_gt_bboxes.resize(1, 4);
  s.p.padding_gt_bboxes.row(0) << 0, 0, 32, 8;
  s.cost.ious = {{0.9f, 0.6f, 0.0f, 0.0f}, {0.0f, 0.7f, 0.5f, 0.3f}, {0.2f, 0.2f, 0.2f, 0.2f}};
  s.cost.cost = {{2.0f, 1.0f, 9.0f, 9.0f}, {9.0f, 0.5f, 3.0f, 4.0f}, {0.1f, 0.1f, 0.1f, 0.1f}};
  assign::detail::SparseDynamicK engine(s.p, 3, &s.cost);
  const std::vector<char> all(4, 1);
  std::vector<const float*> boxes = s.boxes();
  boxes.push_back(&s.p.padding_gt_bboxes(0, 0));
  REQUIRE(engine.positive_ious(boxes, all, all, 10, false));
  CHECK(engine.ks() == std::vector<int64_t>{1, 1, 1});
  cost_all(&s, &engine);
  REQUIRE(engine.pick(0));
  REQUIRE(engine.pick(1));
  engine.resolve_owners({{8, 4}, {20, 4}}, 8.0f);
  CHECK(engine.owned_by_padding() == 1);
  const Assignment a = engine.assemble({0, 1, 7}, 0.0f);
  CHECK(a.gt_inds[1] == 3);
  CHECK(a.labels[1] == 7);
  CHECK(a.max_overlaps[1] == 0.2f);
}

}  // namespace
}  // namespace assignscope
