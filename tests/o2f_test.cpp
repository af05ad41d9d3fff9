// O2F (One-to-Few) on a hand-made row of points; each expectation is
// derived by hand in its comment. The golden cases (../shared/golden/o2f-*)
// hold the reference's own results.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "assign/o2f.h"
#include "io/npy.h"
#include "render/render.h"
#include "render/svg.h"
#include "test_support.h"

namespace assignscope {
namespace {

using testing::run_assigner;
using Sets = std::vector<std::pair<std::string, std::string>>;

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// Six stride-8 points in a row, x = 4, 12, ..., 44 (y = 4), one level; C = 2,
// centerness logits 0 (sigmoid 0.5) everywhere. Predictions and class logits
// (class 0, class 1):
//   prior 0 (x 4)   its cell [0, 0, 8, 8]       (0, 0)
//   prior 1 (x 12)  [4, 0, 20, 8]   (16 wide)   (0, 0)
//   prior 2 (x 20)  [0, 0, 48, 8]   (GT 0 itself) (0, 0)
//   prior 3 (x 28)  [16, 0, 40, 8]  (24 wide)   (2, -2)
//   prior 4 (x 36)  [30, 0, 42, 8]  (12 wide)   (1, 3)
//   prior 5 (x 44)  its cell [40, 0, 48, 8]     (0, 0)
Problem row_of_six(const std::vector<std::array<float, 4>>& gts, const std::vector<int64_t>& labels) {
  std::vector<std::array<float, 4>> priors,
      preds = {{0, 0, 8, 8}, {4, 0, 20, 8}, {0, 0, 48, 8}, {16, 0, 40, 8}, {30, 0, 42, 8}, {40, 0, 48, 8}};
  for (int c = 0; c < 6; ++c) priors.push_back({4.0f + 8.0f * static_cast<float>(c), 4, 8, 8});
  const std::vector<std::vector<float>> logits = {{0, 0}, {0, 0}, {0, 0}, {2, -2}, {1, 3}, {0, 0}};
  Problem p = testing::make_problem(priors, preds, logits, gts, labels);
  p.centerness.assign(6, 0.0f);
  p.mark(Field::kCenterness);
  return p;
}

// GT 0 [0, 0, 48, 8] (class 0, centre (24, 4)) and GT 1 [24, 0, 40, 8]
// (class 1, centre (32, 4)). With center_sample_radius 2.5 the centre square
// is 24 -+ 20 = (4, 44) for GT 0 (points 12 - 36 strictly inside: priors
// 1 - 4) and 32 -+ 20 clipped to GT 1, (24, 40) (priors 3, 4).
//
// prob = sigmoid(class logit) * 0.5, IoU with the prediction, quality =
// prob^0.2 * IoU^0.8:
//   GT 0, prior 1  prob 0.25    IoU 128/384 = 1/3   0.7579 * 0.4152 = 0.3147
//         prior 2  prob 0.25    IoU 1               0.7579
//         prior 3  prob 0.4404  IoU 192/384 = 0.5   0.8487 * 0.5743 = 0.4874
//         prior 4  prob 0.3655  IoU 96/384 = 0.25   0.8177 * 0.3299 = 0.2698
//   GT 1, prior 3  prob 0.0596  IoU 128/192         0.5689 * 0.7230 = 0.4113
//         prior 4  prob 0.4763  IoU 80/144          0.8621 * 0.6249 = 0.5387
const std::vector<std::array<float, 4>> kTwoGts = {{0, 0, 48, 8}, {24, 0, 40, 8}};
const Sets kWide = {{"center_sample_radius", "2.5"}, {"o2f_topk", "3"}, {"epoch", "11"}};

std::vector<float> targets_of(const Assignment& a, int prior) {
  return {a.bbox_targets->begin() + prior * 4, a.bbox_targets->begin() + prior * 4 + 4};
}

}  // namespace

TEST_CASE("o2f: the soft-label factor goes from 0.6 at epoch 0 to 0.2 at the last epoch") {
  CHECK(assign::o2f_soft_label_t(0, 12) == 0.6);
  CHECK(assign::o2f_soft_label_t(11, 12) == 0.2);                 // (0.2 - 0.6) / 11 * 11 + 0.6, exactly 0.2 in doubles
  CHECK(assign::o2f_soft_label_t(5, 12) == 0.41818181818181815);  // golden o2f-batch3-320-ep5's soft_label_t
  CHECK(assign::o2f_soft_label_t(35, 36) == doctest::Approx(0.2).epsilon(1e-12));
}

TEST_CASE("o2f: top-k of the quality per GT, conflicts by quality, soft labels from prob") {
  const Problem p = row_of_six(kTwoGts, {0, 1});
  // o2f_topk 3: GT 0 has 4 inside priors with IoU > 0, k = 3: priors 2, 3, 1
  // (0.758, 0.487, 0.315); prior 4 (0.270) is left out. GT 1: k = min(2, 3)
  // = 2, priors 4 and 3. Prior 3 is picked by both: GT 0's quality 0.487
  // beats GT 1's 0.411. Prior 4 is GT 1's alone.
  const Assignment a = run_assigner("o2f", p, kWide);
  testing::check_well_formed(p, a);
  CHECK(a.gt_inds == std::vector<int64_t>{0, 1, 1, 1, 2, 0});
  CHECK(a.labels == std::vector<int64_t>{-1, 0, 0, 0, 1, -1});
  CHECK(a.max_overlaps.empty());  // the reference returns no overlaps
  // GT 0's positives by quality: prior 2 (best: label 1, weight 1), then
  // priors 3 and 1, whose largest prob is prior 3's sigmoid(2) * 0.5: prior 3
  // gets t, prior 1 0.25 / 0.4404 * t = 0.5677 t; t = 0.2 at epoch 11 of 12.
  // GT 1's only positive, prior 4, is its best.
  const float ratio = sigmoid(0) / sigmoid(2);
  REQUIRE(a.soft_labels);
  REQUIRE(a.soft_weights);
  const std::vector<float>& soft = *a.soft_labels;
  CHECK(soft[0] == 0.0f);
  CHECK(soft[1] == doctest::Approx(static_cast<double>(ratio * 0.2f)).epsilon(1e-6));
  CHECK(soft[2] == 1.0f);
  CHECK(soft[3] == doctest::Approx(static_cast<double>(0.2f)).epsilon(1e-6));
  CHECK(soft[4] == 1.0f);
  CHECK(soft[5] == 0.0f);
  CHECK(*a.soft_weights == std::vector<float>{0.0f, 0.4f, 1.0f, 0.4f, 1.0f, 0.0f});
  // Targets in pixels, not divided by the stride: (x - x1, y - y1, x2 - x, y2 - y).
  CHECK(targets_of(a, 1) == std::vector<float>{12, 4, 36, 4});
  CHECK(targets_of(a, 3) == std::vector<float>{28, 4, 20, 4});
  CHECK(targets_of(a, 4) == std::vector<float>{12, 4, 4, 4});
  CHECK(targets_of(a, 0) == std::vector<float>{0, 0, 0, 0});

  // The pairs: quality, prob and IoU as above; prior 4 is inside GT 0 but
  // outside its top 3.
  const CandidatePair* q20 = testing::find_pair(a, 2, 0);
  REQUIRE(q20);
  CHECK(q20->cost == doctest::Approx(0.7579).epsilon(1e-3));
  CHECK(q20->iou == 1.0f);
  CHECK(q20->picked);
  const CandidatePair* q30 = testing::find_pair(a, 3, 0);
  const CandidatePair* q31 = testing::find_pair(a, 3, 1);
  REQUIRE(q30);
  REQUIRE(q31);
  CHECK(q30->cost == doctest::Approx(0.4874).epsilon(1e-3));
  CHECK(q31->cost == doctest::Approx(0.4113).epsilon(1e-3));
  CHECK((q30->picked && q31->picked));
  const CandidatePair* q40 = testing::find_pair(a, 4, 0);
  REQUIRE(q40);
  CHECK(q40->cost == doctest::Approx(0.2698).epsilon(1e-3));
  CHECK_FALSE(q40->picked);
  CHECK(testing::find_pair(a, 0, 0) == nullptr);  // x = 4 is on the centre square's edge: not inside
  CHECK(testing::find_pair(a, 5, 0) == nullptr);

  // The epoch moves only the ambiguous positives' labels: t = 0.6 at epoch 0.
  Sets early = kWide;
  early.back() = {"epoch", "0"};
  const Assignment e0 = run_assigner("o2f", p, early);
  CHECK(e0.gt_inds == a.gt_inds);
  CHECK((*e0.soft_labels)[3] == doctest::Approx(static_cast<double>(0.6f)).epsilon(1e-6));
  CHECK((*e0.soft_labels)[1] == doctest::Approx(static_cast<double>(ratio * 0.6f)).epsilon(1e-6));
  CHECK((*e0.soft_labels)[2] == 1.0f);
  CHECK(*e0.soft_weights == *a.soft_weights);

  // The default o2f_topk 7 takes all four points for GT 0; prior 4 still
  // goes to GT 1 (0.539 against 0.270), so the same positives.
  const Assignment seven = run_assigner("o2f", p, {{"center_sample_radius", "2.5"}});
  CHECK(seven.gt_inds == a.gt_inds);

  // o2f_topk 2: GT 0 takes priors 2 and 3 only; prior 1 is negative, and
  // prior 3, now GT 0's only ambiguous positive, has the largest prob among
  // them: exactly t.
  const Assignment two = run_assigner("o2f", p, {{"center_sample_radius", "2.5"}, {"o2f_topk", "2"}, {"epoch", "11"}});
  CHECK(two.gt_inds == std::vector<int64_t>{0, 0, 1, 1, 2, 0});
  CHECK((*two.soft_labels)[3] == doctest::Approx(static_cast<double>(0.2f)).epsilon(1e-6));
}

TEST_CASE("o2f: centre sampling at the default radius, and without it") {
  // Radius 1.5: GT 0's square is 24 -+ 12 = (12, 36): only priors 2 and 3
  // (x 20, 28) are strictly inside; x = 12 and 36 lie on its edges. GT 1's,
  // 32 -+ 12 clipped to (24, 40): priors 3 and 4 as before.
  const Problem p = row_of_six(kTwoGts, {0, 1});
  const Assignment a = run_assigner("o2f", p);
  CHECK(a.gt_inds == std::vector<int64_t>{0, 0, 1, 1, 2, 0});
  // Without centre sampling, inside the GT box: x = 4 and 44 are strictly
  // inside [0, 48], so GT 0 holds all six points. Priors 0 and 5
  // predict their own cells (IoU 64 / 384 each), quality (0.25)^0.2 *
  // (1/6)^0.8 = 0.7579 * 0.2385 = 0.1808: GT 0 takes all six (k = 6 <= 7),
  // GT 1 still wins prior 4.
  const Assignment box = run_assigner("o2f", p, {{"center_sampling", "false"}});
  CHECK(box.gt_inds == std::vector<int64_t>{1, 1, 1, 1, 2, 1});
}

TEST_CASE("o2f: a GT holding no prior point gets nothing, and G = 0 is all negative") {
  // [5, 1, 11, 7] lies between the points x = 4 and 12: no point inside,
  // no valid prior, no positive, no soft label; the other GT is unaffected.
  const Problem p = row_of_six({{5, 1, 11, 7}, {0, 0, 48, 8}}, {1, 0});
  const Assignment a = run_assigner("o2f", p);
  testing::check_well_formed(p, a);
  CHECK(std::count(a.gt_inds.begin(), a.gt_inds.end(), 1) == 0);
  CHECK(a.gt_inds == std::vector<int64_t>{0, 0, 2, 2, 0, 0});
  CHECK(testing::find_pair(a, 0, 0) == nullptr);
  CHECK(testing::find_pair(a, 1, 0) == nullptr);

  const Assignment none = run_assigner("o2f", row_of_six({}, {}));
  CHECK(none.num_positives() == 0);
  CHECK(*none.soft_labels == std::vector<float>(6, 0.0f));
  CHECK(*none.soft_weights == std::vector<float>(6, 0.0f));
  CHECK(*none.bbox_targets == std::vector<float>(24, 0.0f));
  CHECK(testing::has_note(none, "the reference fails here"));
}

TEST_CASE("o2f: bad input: no centerness, an epoch past the schedule") {
  const assign::AssignerInfo* info = assign::find_assigner("o2f");
  REQUIRE(info);
  Problem p = row_of_six(kTwoGts, {0, 1});
  p.present &= ~(1u << static_cast<unsigned>(Field::kCenterness));
  const Status missing = assign::check_needs(*info, p);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.message().find("'centerness'") != std::string::npos);
  CHECK(missing.message().find('\n') == std::string::npos);

  Params params = assign::default_params(*info);
  REQUIRE(params.set("epoch", "12").ok());
  const Status past = assign::validate_params(*info, params, nullptr);
  REQUIRE_FALSE(past.ok());
  CHECK(past.message().find("epoch=12") != std::string::npos);
  CHECK(past.message().find('\n') == std::string::npos);
  REQUIRE(params.set("epoch", "11").ok());
  CHECK(assign::validate_params(*info, params, nullptr).ok());
  CHECK_FALSE(params.set("max_epoch", "1").ok());  // t divides by max_epoch - 1
  CHECK_FALSE(params.set("epoch", "-1").ok());

  // From the command line: one line naming the field, exit 2.
  const testing::CliRun r = testing::run_cli("run testdata/coco640-late-g12-objectness -a o2f");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("centerness") != std::string::npos);
  CHECK(testing::count_lines(r.err) == 1);
  const testing::CliRun late = testing::run_cli("run testdata/coco640-late-g12-objectness -a o2f --set epoch=12");
  CHECK(late.exit_code == 2);
  CHECK(late.err.find("epoch=12") != std::string::npos);
}

TEST_CASE("o2f: the reports tell each GT's best positive from its ambiguous ones") {
  // The scene of the hand-derived case: GT 0's best is prior 2, its
  // ambiguous positives priors 1 and 3 (soft labels 0.1135 and 0.2); GT 1's
  // only positive, prior 4, is its best.
  const Problem p = row_of_six(kTwoGts, {0, 1});
  const Assignment a = run_assigner("o2f", p, kWide);
  Batch batch;
  batch.images = {p};
  batch.gt_columns = p.num_gts();

  const auto j = render::json(batch, {a}, {/*per_prior=*/true, /*candidates=*/false});
  const auto& positives = j["images"][0]["positives"];
  REQUIRE(positives.size() == 4);
  CHECK(positives[0]["prior"] == 1);
  CHECK(positives[0]["best"] == false);
  CHECK(positives[0]["soft_weight"].get<double>() == doctest::Approx(0.4));
  CHECK(positives[1]["prior"] == 2);
  CHECK(positives[1]["best"] == true);
  CHECK(positives[1]["soft_label"].get<double>() == 1.0);
  CHECK(positives[2]["soft_label"].get<double>() == doctest::Approx(0.2));
  CHECK(j["images"][0]["priors"]["soft_labels"].size() == 6);
  CHECK(j["images"][0]["priors"]["soft_weights"][2].get<double>() == 1.0);

  const std::string csv = render::csv(batch, {a}, render::CsvTable::kPositives);
  const std::string header = csv.substr(0, csv.find('\n'));
  CHECK(header.find(",soft_label,soft_weight,best,") != std::string::npos);
  CHECK(csv.find(",1,1,true,") != std::string::npos);
  CHECK(csv.find(",0.2,0.4,false,") != std::string::npos);

  // The table: per GT its best prior and the range of its ambiguous labels.
  const std::string table = render::table(batch, {a});
  CHECK(table.find("best (soft)") != std::string::npos);
  CHECK(table.find("#2 · 2 at 0.11-0.20") != std::string::npos);

  // The SVG draws the two ambiguous positives as rings.
  const std::string svg = render::svg(batch, {a});
  size_t rings = 0;
  for (size_t at = svg.find("data-soft=\"ambiguous\""); at != std::string::npos;
       at = svg.find("data-soft=\"ambiguous\"", at + 1))
    ++rings;
  CHECK(rings == 2);
  CHECK(svg.find("key-ambiguous") != std::string::npos);

  // Other assigners' reports are unchanged: no soft columns.
  const Assignment f = run_assigner("fcos", p, {{"regress_ranges", "[[-1, 64]]"}});
  CHECK(render::csv(batch, {f}, render::CsvTable::kPositives).find("soft_label") == std::string::npos);
  CHECK(render::table(batch, {f}).find("best (soft)") == std::string::npos);
}

}  // namespace assignscope

namespace assignscope {
namespace {

// testdata/coco640-late-g12-objectness copied to a scratch directory with a
// centerness.npy (`centerness`: its bytes) and meta.json's `epoch`.
void o2f_dump(const testing::TempDir& dir, const std::vector<unsigned char>& centerness, std::optional<int64_t> epoch) {
  namespace fs = std::filesystem;
  const fs::path from = testing::source_path("testdata/coco640-late-g12-objectness");
  for (const char* f :
       {"cls_scores.npy", "gt_bboxes.npy", "gt_labels.npy", "num_level_priors.npy", "pred_bboxes.npy", "priors.npy"})
    fs::copy_file(from / f, fs::path(dir.path()) / f);
  nlohmann::json meta = nlohmann::json::parse(testing::read_text((from / "meta.json").string()));
  if (epoch) meta["epoch"] = *epoch;
  std::ofstream(dir.path("meta.json")) << meta.dump();
  std::ofstream(dir.path("centerness.npy"), std::ios::binary)
      .write(reinterpret_cast<const char*>(centerness.data()), static_cast<std::streamsize>(centerness.size()));
}

std::vector<unsigned char> zeros_npy(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  const std::vector<float> values(static_cast<size_t>(n), 0.0f);
  return io::npy_bytes(values.data(), shape);
}

constexpr int64_t kPriors = 8400;  // the bundled dump's N (640 x 640, strides 8, 16, 32)

}  // namespace

TEST_CASE("o2f: the epoch comes from --set epoch, else from the dump's meta.json, else 0") {
  testing::TempDir at5, plain;
  o2f_dump(at5, zeros_npy({kPriors, 1}), 5);
  o2f_dump(plain, zeros_npy({kPriors, 1}), std::nullopt);
  const auto run = [](const testing::TempDir& d, const std::string& sets) {
    return testing::run_cli("run '" + d.path() + "' -a o2f --set strides=[8,16,32] " + sets + " --format json");
  };
  const auto params_epoch = [](const testing::CliRun& r) {
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    return nlohmann::json::parse(r.out)["params"]["epoch"];
  };
  const testing::CliRun from_meta = run(at5, ""), given = run(at5, "--set epoch=5"), other = run(at5, "--set epoch=0");
  const testing::CliRun none = run(plain, ""), zero = run(plain, "--set epoch=0");
  // meta.json's epoch 5 is the replay's, and the result says so; an explicit
  // epoch wins; without either, epoch 0.
  CHECK(params_epoch(from_meta) == 5);
  CHECK(from_meta.out.find("epoch 5 from the dump's meta.json") != std::string::npos);
  CHECK(params_epoch(given) == 5);
  CHECK(params_epoch(other) == 0);
  CHECK(params_epoch(none).is_null());
  const auto soft = [](const testing::CliRun& r) {
    nlohmann::json out = nlohmann::json::parse(r.out)["images"][0];
    out.erase("notes");
    return out.dump();
  };
  CHECK(soft(from_meta) == soft(given));
  CHECK(soft(none) == soft(zero));
  CHECK(soft(from_meta) != soft(none));  // t = 0.6 - 0.4 * 5 / 11 against 0.6: the ambiguous labels move
}

TEST_CASE("o2f: a broken centerness.npy or an epoch past the schedule in meta.json: one line, exit 2") {
  struct Bad {
    const char* what;
    std::vector<unsigned char> bytes;
    std::optional<int64_t> epoch;
    std::vector<const char*> says;
  };
  std::vector<unsigned char> truncated = zeros_npy({kPriors, 1});
  truncated.resize(truncated.size() / 2);
  std::vector<unsigned char> nan = zeros_npy({kPriors, 1});
  const float not_a_number = std::nanf("");
  std::copy_n(reinterpret_cast<const unsigned char*>(&not_a_number), 4, nan.end() - 4 * 7);
  const std::vector<Bad> cases = {
      {"truncated", truncated, std::nullopt, {"centerness.npy", "truncated"}},
      {"two columns", zeros_npy({kPriors, 2}), std::nullopt, {"centerness.npy", "(8400, 2)"}},
      {"a prior short", zeros_npy({kPriors - 1, 1}), std::nullopt, {"centerness.npy", "N = 8400"}},
      {"not a number", nan, std::nullopt, {"centerness", "nan"}},
      {"garbage", {'n', 'o', 't', ' ', 'n', 'p', 'y'}, std::nullopt, {"centerness.npy", "magic"}},
      {"epoch 12 of 12", zeros_npy({kPriors, 1}), 12, {"meta.json field 'epoch' is 12", "max_epoch - 1 = 11"}},
      {"epoch -1", zeros_npy({kPriors, 1}), -1, {"'epoch' is -1"}},
  };
  for (const Bad& b : cases) {
    CAPTURE(b.what);
    testing::TempDir dir;
    o2f_dump(dir, b.bytes, b.epoch);
    const testing::CliRun r = testing::run_cli("run '" + dir.path() + "' -a o2f --set strides=[8,16,32]");
    CAPTURE(r.err);
    CHECK(r.exit_code == 2);
    CHECK(testing::count_lines(r.err) == 1);
    CHECK(r.err.find(dir.path()) != std::string::npos);
    for (const char* s : b.says) CHECK(r.err.find(s) != std::string::npos);
  }
}

}  // namespace assignscope
