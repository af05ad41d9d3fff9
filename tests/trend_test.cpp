// The exact sum, the trend's per-step counts, their partial format, and the
// bundled synthetic series (testdata/trend-series) showing a dynamic
// assigner's cold start.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>

#include <fmt/format.h>

#include "analysis/stats.h"
#include "analysis/trend.h"
#include "assign/assigner.h"
#include "core/exact_sum.h"
#include "io/dump.h"
#include "render/trend.h"
#include "test_support.h"

namespace assignscope {
namespace {

using analysis::Trend;

// Every image of the bundled series, replayed with `assigner`, added to one
// Trend per `parts` (image i into part i % parts) in the order given.
std::vector<Trend> series_parts(const std::string& assigner, size_t parts, const std::vector<size_t>& order) {
  auto units = io::dump_units({testing::source_path("testdata/trend-series")});
  REQUIRE(units.ok());
  REQUIRE(units->size() == 18);
  auto choice = assign::resolve_assigner(assigner);
  REQUIRE(choice.ok());
  const Params params = assign::choice_params(*choice);
  std::vector<Trend> out(parts);
  for (size_t k : order) {
    auto dump = io::load_dump((*units)[k]);
    REQUIRE(dump.ok());
    auto results = assign::assign_batch(*choice->info, params, dump->batch);
    REQUIRE(results.ok());
    const Problem& p = dump->batch.images[0];
    auto step = analysis::training_step(p.meta, (*units)[k], "step");
    REQUIRE(step.ok());
    Trend& t = out[k % parts];
    t.dumps += 1;
    analysis::add_image(&t, *step, p.meta.image_id, (*units)[k], p, (*results)[0],
                        analysis::compute_stats(p, (*results)[0]), nullptr);
  }
  return out;
}

std::vector<size_t> identity_order(size_t n) {
  std::vector<size_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

}  // namespace

TEST_CASE("exact sum: the order of the additions does not change a bit") {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> mantissa(-1, 1);
  std::uniform_int_distribution<int> exponent(-60, 40);
  std::vector<double> values(2000);
  for (double& v : values) v = std::ldexp(mantissa(rng), exponent(rng));
  ExactSum forward;
  for (double v : values) REQUIRE(forward.add(v));
  for (int trial = 0; trial < 5; ++trial) {
    std::shuffle(values.begin(), values.end(), rng);
    // Several partial sums, added together in another order.
    std::vector<ExactSum> parts(static_cast<size_t>(trial) + 2);
    for (size_t i = 0; i < values.size(); ++i) parts[i % parts.size()].add(values[i]);
    ExactSum merged;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) merged.add(*it);
    CHECK(merged == forward);
    CHECK(merged.hex() == forward.hex());
    CHECK(merged.value() == forward.value());
  }
}

TEST_CASE("exact sum: hand-derived values") {
  ExactSum s;
  s.add(1e16), s.add(1.0), s.add(-1e16);  // in doubles: 0 (1e16 + 1 rounds to 1e16)
  CHECK(s.value() == 1.0);
  ExactSum n;
  n.add(-0.5), n.add(0.25);
  CHECK(n.value() == -0.25);
  ExactSum tiny;
  tiny.add(0x1p-96), tiny.add(0x1p-97);  // the second is below the resolution: truncated to 0
  CHECK(tiny.value() == 0x1p-96);
  ExactSum third;
  for (int i = 0; i < 3; ++i) third.add(static_cast<double>(0.1f));  // float32 0.1 three times, exactly
  CHECK(third.value() == 3.0 * static_cast<double>(0.1f));
  ExactSum refused;
  CHECK_FALSE(refused.add(std::nan("")));
  CHECK_FALSE(refused.add(std::numeric_limits<double>::infinity()));
  CHECK_FALSE(refused.add(0x1p80));
  CHECK(refused.value() == 0.0);
  CHECK(ExactSum().value() == 0.0);
}

TEST_CASE("exact sum: hex round trip and what parse refuses") {
  ExactSum s;
  s.add(-123.456), s.add(7e-20);
  const auto back = ExactSum::parse(s.hex());
  REQUIRE(back);
  CHECK(*back == s);
  CHECK(back->value() == s.value());
  CHECK(s.hex().size() == 48);
  CHECK_FALSE(ExactSum::parse(""));
  CHECK_FALSE(ExactSum::parse(s.hex().substr(1)));
  CHECK_FALSE(ExactSum::parse(s.hex() + "0"));
  CHECK_FALSE(ExactSum::parse(std::string(48, 'g')));
  CHECK_FALSE(ExactSum::parse("-" + std::string(47, '0')));
  CHECK_FALSE(ExactSum::parse(std::string(47, '0') + "A"));  // lower case only: one spelling per value
}

TEST_CASE("trend: size relative to the finest stride, bin edges") {
  CHECK(analysis::relative_bin(0.0) == 0);
  CHECK(analysis::relative_bin(0.49) == 0);
  CHECK(analysis::relative_bin(0.5) == 1);
  CHECK(analysis::relative_bin(0.99) == 1);
  CHECK(analysis::relative_bin(1.0) == 2);
  CHECK(analysis::relative_bin(2.0) == 3);
  CHECK(analysis::relative_bin(4.0) == 4);
  CHECK(analysis::relative_bin(7.99) == 4);
  CHECK(analysis::relative_bin(8.0) == 5);
  CHECK(analysis::relative_bin(1e9) == 5);
  CHECK(analysis::relative_bin(std::nan("")) == 0);
  CHECK(std::string(analysis::relative_bin_name(0)) == "<0.5");
  CHECK(std::string(analysis::relative_bin_name(5)) == ">=8");
}

TEST_CASE("trend: the step from meta.json, else from the path") {
  Meta m;
  CHECK(*analysis::training_step(m, "runs/step-000500/img3", "step") == 500);
  CHECK(*analysis::training_step(m, "runs/iter_2000", "step") == 2000);
  CHECK(*analysis::training_step(m, "dumps/step12/it7", "step") == 7);  // the last part that names one
  CHECK(*analysis::training_step(m, "STEP-42", "step") == 42);
  CHECK(*analysis::training_step(m, "work/epoch_12/x", "epoch") == 12);
  // "step" inside a word is not a step: "footstep-3" names none.
  const auto none = analysis::training_step(m, "dumps/footstep-3", "step");
  testing::check_error(none.status(), ErrorKind::kInvalidInput, "dumps/footstep-3: no training step",
                       {"meta.json", "step-000500", "--by epoch"});
  const auto no_epoch = analysis::training_step(m, "runs/step-5", "epoch");
  testing::check_error(no_epoch.status(), ErrorKind::kInvalidInput, "runs/step-5: no epoch", {"epoch_12"});
  m.step = 9, m.epoch = 1;
  CHECK(*analysis::training_step(m, "runs/step-000500", "step") == 9);  // meta wins
  CHECK(*analysis::training_step(m, "runs/step-000500", "epoch") == 1);
}

TEST_CASE("trend: parts added in any order give the same state as one pass") {
  const std::vector<size_t> order = identity_order(18);
  const Trend one = series_parts("dynamic-soft-label", 1, order)[0];
  std::vector<size_t> shuffled = order;
  std::mt19937 rng(5);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  for (size_t parts : {2u, 3u, 7u}) {
    CAPTURE(parts);
    std::vector<Trend> split = series_parts("dynamic-soft-label", parts, shuffled);
    Trend merged;
    std::reverse(split.begin(), split.end());
    for (const Trend& t : split) merged.add(t);
    CHECK(analysis::to_partial_json(merged).dump() == analysis::to_partial_json(one).dump());
  }
  CHECK(one.steps.size() == 6);
  CHECK(one.dumps == 18);
  CHECK(one.tracked.size() == 3);
}

TEST_CASE("trend: the partial format round-trips exactly") {
  const Trend t = series_parts("simota", 1, identity_order(18))[0];
  const nlohmann::ordered_json j = analysis::to_partial_json(t);
  auto back = analysis::from_partial_json(nlohmann::json::parse(j.dump()), "p.json");
  REQUIRE(back.ok());
  CHECK(analysis::to_partial_json(*back).dump() == j.dump());
  const render::TrendRun run{"simota", nlohmann::ordered_json::object(), ""};
  CHECK(render::trend_json(run, *back).dump() == render::trend_json(run, t).dump());
}

TEST_CASE("trend: a corrupt partial names the field and what was expected") {
  const Trend t = series_parts("simota", 1, identity_order(18))[0];
  const nlohmann::json good = nlohmann::json::parse(analysis::to_partial_json(t).dump());
  struct Case {
    std::string name;
    std::function<void(nlohmann::json&)> spoil;
    std::vector<const char*> keywords;
  };
  const std::vector<Case> cases = {
      {"no steps", [](nlohmann::json& j) { j.erase("steps"); }, {"\"steps\""}},
      {"negative count", [](nlohmann::json& j) { j["steps"][1]["gts"] = -1; }, {"steps[1].gts", "count"}},
      {"float count", [](nlohmann::json& j) { j["steps"][0]["positives"] = 1.5; }, {"steps[0].positives"}},
      {"short histogram",
       [](nlohmann::json& j) { j["steps"][0]["k_histogram"].erase(0); },
       {"steps[0].k_histogram", "17"}},
      {"bad sum", [](nlohmann::json& j) { j["steps"][2]["iou_sum"] = "xyz"; }, {"steps[2].iou_sum", "hex"}},
      {"step twice", [](nlohmann::json& j) { j["steps"][1]["step"] = j["steps"][0]["step"]; }, {"twice"}},
      {"bad by", [](nlohmann::json& j) { j["by"] = "iteration"; }, {"by", "epoch"}},
      {"coco groups",
       [](nlohmann::json& j) {
         j["steps"][0]["coco"] = {1, 2};
       },
       {"steps[0].coco"}},
      {"too many levels",
       [](nlohmann::json& j) { j["steps"][0]["level_positives"] = std::vector<int>(2000, 1); },
       {"level_positives", "1024"}},
      {"tracked gt",
       [](nlohmann::json& j) {
         j["tracked"][0]["steps"][0]["gts"][0] = {1, 2};
       },
       {"tracked[0].steps[0].gts[0]"}},
      {"too many tracked",
       [](nlohmann::json& j) { j["tracked"] = std::vector<nlohmann::json>(9, j["tracked"][0]); },
       {"tracked", "8"}},
      {"not an object", [](nlohmann::json& j) { j = nlohmann::json::array(); }, {"\"by\""}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    nlohmann::json bad = good;
    c.spoil(bad);
    const auto r = analysis::from_partial_json(bad, "part-3.json");
    testing::check_error(r.status(), ErrorKind::kCorrupt, "part-3.json: ", c.keywords);
  }
}

TEST_CASE("trend: only the smallest image ids are tracked, whatever the order") {
  // Twenty images with one GT each, ids "id-00".."id-19", in two orders.
  Problem p;
  p.gt_bboxes.resize(1, 4);
  p.gt_bboxes.row(0) << 0, 0, 10, 10;
  p.gt_labels = {0};
  Assignment a;
  analysis::ImageStats stats;
  stats.gts.resize(1);
  stats.gts[0].positives = 2;
  std::vector<int> ids(20);
  for (int i = 0; i < 20; ++i) ids[static_cast<size_t>(i)] = i;
  std::string first;
  for (int trial = 0; trial < 3; ++trial) {
    std::mt19937 rng(static_cast<unsigned>(trial));
    std::shuffle(ids.begin(), ids.end(), rng);
    Trend a_part, b_part;
    for (size_t k = 0; k < ids.size(); ++k)
      analysis::add_image(k % 2 ? &a_part : &b_part, 100, fmt::format("id-{:02d}", ids[k]), "src", p, a, stats,
                          nullptr);
    CHECK(a_part.tracked.size() == analysis::kTrackedImages);
    a_part.add(b_part);
    REQUIRE(a_part.tracked.size() == analysis::kTrackedImages);
    CHECK(a_part.tracked.begin()->first == "id-00");
    CHECK(std::prev(a_part.tracked.end())->first == "id-07");
    const std::string state = analysis::to_partial_json(a_part).dump();
    if (trial == 0) first = state;
    CHECK(state == first);
  }
}

TEST_CASE("trend: the bundled series shows the cold start (k and positives rise with IoU)") {
  for (const char* assigner : {"dynamic-soft-label", "simota"}) {
    CAPTURE(assigner);
    const Trend t = series_parts(assigner, 1, identity_order(18))[0];
    REQUIRE(t.steps.size() == 6);
    double k = 0, positives = 0, iou = 0;
    for (const auto& entry : t.steps) {
      const int64_t step = entry.first;
      const analysis::TrendStep& s = entry.second;
      CAPTURE(step);
      const render::StepView v = render::step_view(s);
      CHECK(s.images == 3);
      CHECK(s.gts == 38);
      if (step == 0) {
        CHECK(v.k_mean == 1.0);  // every GT's k is 1 at the start: sum of top-k IoUs < 2
        CHECK(s.k_histogram[1] == 38);
      } else {
        CHECK(v.k_mean > k);
        CHECK(v.positives_per_gt > positives);
        CHECK(v.iou_mean > iou);
      }
      k = v.k_mean, positives = v.positives_per_gt, iou = v.iou_mean;
    }
    CHECK(k > 4.5);  // late: several positives per GT
    CHECK(iou > 0.8);
  }
}

}  // namespace assignscope
