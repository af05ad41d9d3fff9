// yolov7 (mmyolo BatchYOLOv7Assigner) on hand-derived scenes, and its
// input errors. The golden cases (testdata/golden/yolov7-toy-a, and
// ../shared/golden/yolov7-*) are replayed by tests/golden_test.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>

#include "analysis/stats.h"
#include "assign/cross_grid.h"
#include "assign/yolov7_search.h"
#include "io/npy.h"
#include "io/result_layout.h"
#include "scenes.h"
#include "test_support.h"

namespace assignscope {
namespace {

using Box = std::array<float, 4>;

// A 32 x 32 input, one level of stride 8 (4 x 4 cells) with three anchors
// per cell, squares of 8, 16 and 32 px (1, 2 and 4 cells), ordered anchor,
// row, col: prior a * 16 + row * 4 + col. Every prior predicts its own
// 8 x 8 cell unless `preds` says otherwise; C = 1, class and objectness
// logits 0 unless `logits` says otherwise: y = sqrt(0.5 * 0.5) = 0.5 and a
// class cost of -log(0.5) = 0.693 for every pair.
Problem grid(const std::vector<Box>& gts, const std::map<int, Box>& preds = {},
             const std::map<int, float>& logits = {}) {
  std::vector<Box> priors, boxes, anchors;
  std::vector<std::vector<float>> scores;
  for (float size : {8.0f, 16.0f, 32.0f})
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 4; ++c) {
        const float x = (static_cast<float>(c) + 0.5f) * 8, y = (static_cast<float>(r) + 0.5f) * 8;
        priors.push_back({x, y, 8, 8});
        boxes.push_back({x - 4, y - 4, x + 4, y + 4});
        anchors.push_back({x - size / 2, y - size / 2, x + size / 2, y + size / 2});
        scores.push_back({0.0f});
      }
  for (const auto& [i, box] : preds) boxes[static_cast<size_t>(i)] = box;
  for (const auto& [i, logit] : logits) scores[static_cast<size_t>(i)] = {logit};
  Problem p = testing::make_problem(priors, boxes, scores, gts, std::vector<int64_t>(gts.size(), 0));
  p.anchors.resize(static_cast<Eigen::Index>(anchors.size()), 4);
  for (size_t i = 0; i < anchors.size(); ++i)
    for (int k = 0; k < 4; ++k) p.anchors(static_cast<Eigen::Index>(i), k) = anchors[i][static_cast<size_t>(k)];
  p.mark(Field::kAnchors);
  p.objectness.assign(priors.size(), 0.0f);
  p.mark(Field::kObjectness);
  p.meta.image_size = std::array<int64_t, 2>{32, 32};
  p.meta.num_classes = 1;
  return p;
}

Assignment yolov7(const Problem& p) {
  const auto* info = assign::find_assigner("yolov7");
  REQUIRE(info != nullptr);
  const Params params = assign::default_params(*info);
  const Status st = info->check(params, p);
  REQUIRE_MESSAGE(st.ok(), st.message());
  return testing::run_assigner("yolov7", p);
}

std::vector<Match> rows(std::initializer_list<std::pair<int32_t, int32_t>> pairs) {
  std::vector<Match> m;
  for (const auto& [prior, gt] : pairs) m.push_back({prior, gt});
  return m;
}

// A crowd on a 128 x 128 input: strides 8, 16, 32 with mmyolo's YOLOv7
// anchors, `num_gts` GTs of 6-40 px, a third of them centred on a cell
// corner (integer centres: one prior fills several columns) and some exact
// duplicates. A prior inside a GT predicts that GT's box exactly (IoU 1)
// or jittered; logits and objectness take few values, so equal costs at a
// GT's k boundary and priors several GTs pick are common.
Problem crowd(std::mt19937* rng, int num_gts) {
  const auto uniform = [&](float lo, float hi) {
    return lo + (hi - lo) * static_cast<float>((*rng)() % 100000) / 100000.0f;
  };
  const int size = 128;
  std::vector<Box> gts;
  std::vector<int64_t> labels;
  for (int g = 0; g < num_gts; ++g) {
    if (g > 0 && (*rng)() % 8 == 0) {  // a duplicate
      const size_t of = (*rng)() % gts.size();
      gts.push_back(gts[of]);
      labels.push_back(labels[of]);
      continue;
    }
    const float w = uniform(6, 40), h = uniform(6, 40);
    float cx = uniform(0, size), cy = uniform(0, size);
    if ((*rng)() % 3 == 0) cx = 8.0f * std::round(cx / 8), cy = 8.0f * std::round(cy / 8);
    gts.push_back({cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2});
    labels.push_back(static_cast<int64_t>((*rng)() % 3));
  }
  static const float kAnchors[3][3][2] = {{{12, 16}, {19, 36}, {40, 28}},
                                          {{36, 75}, {76, 55}, {72, 146}},
                                          {{142, 110}, {192, 243}, {459, 401}}};
  std::vector<Box> priors, anchors, preds;
  std::vector<std::vector<float>> logits;
  std::vector<float> objectness;
  std::vector<int64_t> counts;
  for (int l = 0; l < 3; ++l) {
    const int stride = 8 << l, cells = size / stride;
    for (int a = 0; a < 3; ++a)
      for (int r = 0; r < cells; ++r)
        for (int c = 0; c < cells; ++c) {
          const float x = (static_cast<float>(c) + 0.5f) * static_cast<float>(stride);
          const float y = (static_cast<float>(r) + 0.5f) * static_cast<float>(stride);
          const float aw = kAnchors[l][a][0], ah = kAnchors[l][a][1];
          priors.push_back({x, y, static_cast<float>(stride), static_cast<float>(stride)});
          anchors.push_back({x - aw / 2, y - ah / 2, x + aw / 2, y + ah / 2});
          int owner = -1;
          for (size_t g = 0; g < gts.size() && owner < 0; ++g)
            if (x > gts[g][0] && x < gts[g][2] && y > gts[g][1] && y < gts[g][3]) owner = static_cast<int>(g);
          std::vector<float> row = {-4.0f, -4.0f, -4.0f};
          if (owner >= 0) {
            const Box& b = gts[static_cast<size_t>(owner)];
            const float jw = (*rng)() % 2 ? 0.0f : 0.2f * (b[2] - b[0]);
            preds.push_back({b[0] + uniform(-jw, jw), b[1], b[2], b[3] + uniform(-jw, jw)});
            row[static_cast<size_t>(labels[static_cast<size_t>(owner)])] = (*rng)() % 2 ? 1.0f : 2.0f;
          } else {
            const auto s = static_cast<float>(stride);
            preds.push_back({x - s * uniform(0.5f, 2), y - s * uniform(0.5f, 2), x + s, y + s});
          }
          logits.push_back(row);
          objectness.push_back((*rng)() % 2 ? 0.0f : 1.0f);
        }
    counts.push_back(3 * cells * cells);
  }
  Problem p = testing::make_problem(priors, preds, logits, gts, labels);
  p.anchors.resize(static_cast<Eigen::Index>(anchors.size()), 4);
  for (size_t i = 0; i < anchors.size(); ++i)
    for (int k = 0; k < 4; ++k) p.anchors(static_cast<Eigen::Index>(i), k) = anchors[i][static_cast<size_t>(k)];
  p.mark(Field::kAnchors);
  p.objectness = objectness;
  p.mark(Field::kObjectness);
  p.num_level_priors = counts;
  p.prior_level = levels_from_counts(counts);
  p.meta.image_size = std::array<int64_t, 2>{size, size};
  p.meta.num_classes = 3;
  return p;
}

// Everything a yolov7 result holds, bit for bit; "" when equal.
std::string difference(const Assignment& a, const Assignment& b) {
  if (a.gt_inds != b.gt_inds || a.labels != b.labels) return "gt_inds or labels";
  if (a.dynamic_ks != b.dynamic_ks) return "dynamic_ks";
  if (*a.matches != *b.matches || *a.candidate_priors != *b.candidate_priors) return "matches or candidate_priors";
  if (a.match_ious->size() != b.match_ious->size() ||
      (!a.match_ious->empty() &&  // memcmp of an empty vector's null data is undefined
       std::memcmp(a.match_ious->data(), b.match_ious->data(), a.match_ious->size() * sizeof(float)) != 0))
    return "match_ious";
  if (a.candidates.size() != b.candidates.size()) return "number of reported pairs";
  for (size_t k = 0; k < a.candidates.size(); ++k) {
    const CandidatePair &x = a.candidates[k], &y = b.candidates[k];
    // Bit for bit (a -0 or a NaN's payload counts): the object representation is the point.
    if (x.prior != y.prior || x.gt != y.gt ||
        std::memcmp(&x.cost, &y.cost, sizeof x.cost) != 0 ||  // NOLINT(bugprone-suspicious-memory-comparison)
        std::memcmp(&x.iou, &y.iou, sizeof x.iou) != 0 ||     // NOLINT(bugprone-suspicious-memory-comparison)
        x.terms != y.terms || x.inside != y.inside || x.picked != y.picked)
      return "reported pair " + std::to_string(k);
  }
  if (a.notes != b.notes) return "notes";
  return "";
}

}  // namespace

TEST_CASE("yolov7: a GT's columns, its dynamic k and its cheapest column, by hand") {
  // GT [4, 4, 20, 20]: centre (12, 12) -> (1.5, 1.5) cells, 2 x 2 cells:
  // ratios 2, 1 and 2 against anchors of 1, 2 and 4 cells, all < 4.
  // frac(1.5) = 0.5 is not < 0.5 and frac(4 - 1.5) = 0.5 neither: only the
  // cell (1, 1) of each anchor, priors 5, 21, 37: three columns.
  // IoUs: prior 5 predicts the GT (1), prior 21 [8, 8, 24, 24] (144 / 368 =
  // 0.3913), prior 37 its cell [8, 8, 16, 16] (64 / 256 = 0.25).
  // k = int(1 + 0.3913 + 0.25) = 1; equal class costs, so the IoU cost
  // 3 * -log(IoU + 1e-8) decides: prior 5.
  const Problem p = grid({{4, 4, 20, 20}}, {{5, {4, 4, 20, 20}}, {21, {8, 8, 24, 24}}});
  const Assignment a = yolov7(p);
  CHECK(*a.candidate_priors == std::vector<int64_t>{5, 21, 37});
  CHECK(*a.dynamic_ks == std::vector<int64_t>{1});
  CHECK(*a.matches == rows({{5, 0}}));
  REQUIRE(a.match_ious->size() == 1);
  CHECK((*a.match_ious)[0] == 1.0f);
  CHECK(a.gt_inds[5] == 1);
  CHECK(a.num_positives() == 1);
  CHECK(a.max_overlaps.empty());
  // Every (GT, candidate prior) is recorded, inside its own columns, and
  // the pick is marked.
  REQUIRE(a.candidates.size() == 3);
  const CandidatePair* picked = testing::find_pair(a, 5, 0);
  REQUIRE(picked != nullptr);
  CHECK(picked->picked);
  CHECK(picked->inside);
  CHECK(picked->terms[0] == doctest::Approx(0.6931).epsilon(1e-4));  // -log(0.5), C = 1
  CHECK_FALSE(testing::find_pair(a, 21, 0)->picked);
  CHECK(testing::find_pair(a, 21, 0)->cost == doctest::Approx(0.6931 + 3 * 0.9383).epsilon(1e-4));
}

TEST_CASE("yolov7: an integer centre fills one cell's columns three times, and duplicate matches are kept") {
  // GT [8, 8, 24, 24]: centre (16, 16) -> (2.0, 2.0) cells, 2 x 2 cells: all
  // three anchors. frac(2.0) = 0 < 0.5 and 2 > 1: the left (long(1.5) = 1)
  // and upper neighbours; 4 - 2 = 2.0, frac 0: the right and lower rules
  // fire too, onto long(2.5) = 2, the centre cell again. Per anchor: cell
  // (2, 2) three times, (2, 1) and (1, 2) once: K = 15 columns.
  //   anchor 0: prior 10 (x3), 9, 6;  anchor 1: 26 (x3), 25, 22;  anchor 2: 42 (x3), 41, 38.
  // IoUs: prior 10 predicts the GT (1), prior 26 [8, 8, 24, 20] (192 / 256 =
  // 0.75), every other its cell, a quarter of the GT (64 / 256 = 0.25).
  // Top 10: 3 x 1 + 3 x 0.75 + 4 x 0.25 = 6.25: k = 6, the three copies of
  // prior 10 and the three of prior 26 (costs ~0 and 3 * 0.288, every other
  // column 3 * 1.386). No other GT: each copy is a match of its own.
  const Problem p = grid({{8, 8, 24, 24}}, {{10, {8, 8, 24, 24}}, {26, {8, 8, 24, 20}}});
  const Assignment a = yolov7(p);
  CHECK(*a.candidate_priors == std::vector<int64_t>{6, 9, 10, 10, 10, 22, 25, 26, 26, 26, 38, 41, 42, 42, 42});
  CHECK(*a.dynamic_ks == std::vector<int64_t>{6});
  CHECK(*a.matches == rows({{10, 0}, {10, 0}, {10, 0}, {26, 0}, {26, 0}, {26, 0}}));
  CHECK(*a.match_ious == std::vector<float>{1, 1, 1, 0.75f, 0.75f, 0.75f});
  CHECK(a.num_positives() == 2);  // two priors, six loss terms
  const analysis::ImageStats s = analysis::compute_stats(p, a);
  CHECK(s.matches == 6);
  CHECK(s.priors_serving_several == 0);  // the same GT twice is not several GTs

  // The npy layout keeps the rows and their IoUs.
  Batch batch;
  batch.source = "generated";
  batch.images = {p};
  batch.gt_columns = 1;
  const auto files = io::npy_layout(batch, {a}, "generated");
  REQUIRE(files.ok());
  std::map<std::string, io::NpyArray> written;
  for (const io::NamedBytes& f : *files)
    if (f.name.size() > 4 && f.name.substr(f.name.size() - 4) == ".npy")
      written[f.name] = *io::parse_npy(f.bytes.data(), f.bytes.size(), f.name);
  CHECK(written.at("matches.npy").shape == std::vector<int64_t>{6, 2});
  CHECK(written.at("match_ious.npy").shape == std::vector<int64_t>{6});
  CHECK(written.at("candidate_priors.npy").shape == std::vector<int64_t>{15});
  CHECK(written.at("matches.npy").to_int64(6) == 26);
}

TEST_CASE("yolov7: a GT with no column of its own still takes one, through SimOTA over all columns") {
  // GT 0 as in the first scene (columns of priors 5, 21, 37). GT 1, the
  // strip [0, 14, 32, 18], is 4 x 0.5 cells: ratios max(4, 2) = 4, max(2, 4)
  // = 4 and max(1, 8) = 8 against the 1-, 2- and 4-cell anchors, none < 4: no
  // column of its own. Its IoUs with the columns' predictions: prior 5
  // [4, 4, 20, 20] and prior 21 [8, 8, 24, 24] both 64 / 320 = 0.2, prior 37's
  // cell [8, 8, 16, 16] 16 / 176 = 0.09: k = max(1, int(0.49)) = 1. Prior 21's class logit 1 makes it the
  // cheaper of the two (y = sqrt(0.731 * 0.5) = 0.605, cost 0.50 against
  // 0.69), so GT 1 takes prior 21, which GT 0 (k = 1, prior 5) does not want.
  const Problem p = grid({{4, 4, 20, 20}, {0, 14, 32, 18}}, {{5, {4, 4, 20, 20}}, {21, {8, 8, 24, 24}}}, {{21, 1.0f}});
  const Assignment a = yolov7(p);
  CHECK(*a.candidate_priors == std::vector<int64_t>{5, 21, 37});
  CHECK(*a.dynamic_ks == std::vector<int64_t>{1, 1});
  CHECK(*a.matches == rows({{5, 0}, {21, 1}}));
  REQUIRE(a.match_ious->size() == 2);
  CHECK((*a.match_ious)[1] == doctest::Approx(0.2));
  CHECK_FALSE(testing::find_pair(a, 21, 1)->inside);  // not one of its own columns
  CHECK(testing::find_pair(a, 21, 1)->picked);

  // The strip alone: no column at all, the reference skips the image.
  const Assignment alone = yolov7(grid({{0, 14, 32, 18}}));
  CHECK(alone.candidate_priors->empty());
  CHECK(*alone.dynamic_ks == std::vector<int64_t>{0});
  CHECK(alone.matches->empty());
  CHECK(testing::has_note(alone, "no candidate column"));
}

TEST_CASE("yolov7: cell indices are clamped to the grid (yolov5 wraps or drops them)") {
  // GT [24, 0, 40, 16]: centre (32, 8) -> (4.0, 1.0) cells on a 4-cell-wide
  // grid, 2 x 2 cells: all three anchors. Column long(4.0) = 4 is past the
  // grid: yolov7 clamps it to 3 (the left rule, 3.5, lands on 3 as well);
  // yolov5 drops the centre cell with a note and keeps the left one.
  // Rows: cy = 1.0, the left rule needs cy > 1, the lower one fires
  // (4 - 1 = 3.0, frac 0) onto long(1.5) = 1: row 1 twice.
  const Problem p = grid({{24, 0, 40, 16}});
  const Assignment a = yolov7(p);
  std::vector<int64_t> expected;
  for (int anchor = 0; anchor < 3; ++anchor)
    for (int copy = 0; copy < 3; ++copy) expected.push_back(anchor * 16 + 1 * 4 + 3);  // centre, left, down
  CHECK(*a.candidate_priors == expected);
  const Assignment v5 = testing::run_assigner("yolov5", p);
  CHECK(testing::has_note(v5, "outside the feature map"));
  CHECK(v5.matches->size() == 3);
}

TEST_CASE("yolov7: no ground truth") {
  const Assignment a = yolov7(grid({}));
  CHECK(a.matches->empty());
  CHECK(a.match_ious->empty());
  CHECK(a.candidate_priors->empty());
  CHECK(a.dynamic_ks->empty());
  CHECK(a.num_positives() == 0);
}

TEST_CASE("yolov7: recorded settings are checked against the dump") {
  const auto* info = assign::find_assigner("yolov7");
  const Problem p = grid({{4, 4, 20, 20}});
  Params params = assign::default_params(*info);
  REQUIRE(params.set("featmap_strides", "[8]").ok());
  REQUIRE(params.set("base_sizes", "[[[8, 8], [16, 16], [32, 32]]]").ok());
  CHECK(info->check(params, p).ok());
  REQUIRE(params.set("base_sizes", "[[[12, 16], [19, 36], [40, 28]]]").ok());
  CHECK(info->check(params, p).message().find("base_sizes[0][0] is (12, 16)") != std::string::npos);
  REQUIRE(params.set("featmap_strides", "[16]").ok());
  CHECK(info->check(params, p).message().find("featmap_strides[0] is 16") != std::string::npos);
  CHECK_FALSE(params.set("base_sizes", "[[8, 8]]").ok());
  CHECK_FALSE(params.set("num_base_priors", "4").ok());
}

TEST_CASE("yolov7: a dump without anchors or objectness is a one-line error naming the field") {
  const std::string source = testing::source_path("testdata/golden/yolov7-toy-a");
  for (const char* field : {"anchors", "objectness"}) {
    CAPTURE(field);
    testing::TempDir tmp;
    for (const auto& e : std::filesystem::directory_iterator(source))
      if (e.is_regular_file() && e.path().filename() != std::string(field) + ".npy")
        std::filesystem::copy_file(e.path(), tmp.path(e.path().filename().string()));
    const testing::CliRun r = testing::run_cli("run '" + tmp.path() + "' -a yolov7");
    CAPTURE(r.err);
    CHECK(r.exit_code == 2);
    CHECK(testing::count_lines(r.err) == 1);
    CHECK(r.err.find(std::string("'") + field + "'") != std::string::npos);
  }
}

TEST_CASE("yolov7: the sparse search gives the dense search's result to the bit, and runs on crowds") {
  // 300 generated anchor scenes (tests/scenes.h) and 60 crowds of up to 120
  // GTs: the sparse search must run on nearly all (a search that declined,
  // or was switched off, fails here) and must meet its hard cases: GTs
  // costed over their whole row (a tie at the k boundary), and columns
  // several GTs picked.
  int runs = 0, sparse_runs = 0, tied = 0, contested = 0;
  const auto compare = [&](const Problem& p, const std::string& what) {
    const auto* info = assign::find_assigner("yolov7");
    if (!info->check(assign::default_params(*info), p).ok()) return;
    const Assignment sparse = testing::run_assigner("yolov7", p);
    const Assignment dense = testing::run_assigner("yolov7", p, {{"search", "dense"}});
    INFO(what);
    REQUIRE(difference(sparse, dense) == "");
    if (p.num_gts() == 0 || sparse.candidate_priors->empty()) return;  // no search ran
    CHECK(dense.search.path == SearchRecord::Path::kDense);
    CHECK(dense.search.why_dense == "search=dense");
    ++runs;
    sparse_runs += sparse.search.path == SearchRecord::Path::kSparse;
    for (const std::string& note : sparse.notes) tied += note.find("k-th cheapest cost is shared") != std::string::npos;
    int picked = 0;
    for (const CandidatePair& c : sparse.candidates) picked += c.picked;
    contested += picked > static_cast<int>(sparse.matches->size());
  };
  for (uint64_t seed = 0; seed < 300; ++seed) {
    const testing::Scene s = testing::random_scene(seed, testing::SceneKind::kAnchors);
    compare(s.problem, s.what);
  }
  std::mt19937 rng(20261203);
  for (int scene = 0; scene < 60; ++scene) compare(crowd(&rng, 10 + 2 * scene), fmt::format("crowd {}", scene));
  MESSAGE("yolov7: sparse on ", sparse_runs, " of ", runs, " scenes; ", tied, " tied GTs; ", contested,
          " scenes with contested columns");
  CHECK(runs > 250);
  CHECK(sparse_runs == runs);
  CHECK(tied > 20);
  CHECK(contested > 20);
}

TEST_CASE("yolov7: the sparse search declines a non-finite class cost, and says so") {
  // Logits of +20 and +20: y = sqrt(sigmoid(20) * sigmoid(20)) = 1 in
  // float32, an infinite class cost.
  Problem p = grid({{4, 4, 20, 20}});
  p.cls_scores(5, 0) = 20.0f;
  p.objectness[5] = 20.0f;
  const Assignment sparse = testing::run_assigner("yolov7", p);
  CHECK(sparse.search.path == SearchRecord::Path::kDense);
  CHECK(sparse.search.why_dense.find("class cost is not finite") != std::string::npos);
  CHECK(difference(sparse, testing::run_assigner("yolov7", p, {{"search", "dense"}})) == "");
}

TEST_CASE("yolov7: the sparse search's fast paths run on a crowd (costing every GT's whole row fails here)") {
  // A k boundary that splits the copies of one prior, which no other GT
  // picks, needs no row; bounds keep the rest of the GTs off their rows.
  std::mt19937 rng(7);
  const Problem p = crowd(&rng, 150);
  const auto levels = assign::yolo_grid_of(p, "yolov7");
  REQUIRE(levels.ok());
  const std::vector<assign::CrossGridColumn> columns =
      assign::cross_grid_columns(p, *levels, 4.0f, 0.5f, assign::CellIndex::kClamp).columns;
  std::vector<std::array<float, 4>> boxes;
  for (int64_t g = 0; g < p.num_gts(); ++g)
    boxes.push_back({p.gt_bboxes(g, 0), p.gt_bboxes(g, 1), p.gt_bboxes(g, 2), p.gt_bboxes(g, 3)});
  const assign::detail::Yolov7Costs costs(p, columns, boxes, 1.0f, 3.0f);
  std::string why;
  assign::detail::Yolov7SparseStats stats;
  const auto sparse = assign::detail::yolov7_sparse_match(costs, 10, &why, &stats);
  REQUIRE_MESSAGE(sparse.has_value(), why);
  const match::DynamicKMatch dense = assign::detail::yolov7_dense_match(costs, 10);
  CHECK(sparse->dynamic_ks == dense.dynamic_ks);
  CHECK(sparse->tied_columns == dense.tied_columns);
  MESSAGE("yolov7 crowd of ", p.num_gts(), " GTs, ", columns.size(), " columns: ", dense.tied_columns.size(),
          " tied GTs, ", stats.rows_costed, " costed over their row, ", stats.copies_chosen, " chose copies");
  CHECK(dense.tied_columns.size() > 10);
  CHECK(stats.copies_chosen > 0);
  CHECK(stats.rows_costed < static_cast<int64_t>(dense.tied_columns.size()));
}

}  // namespace assignscope
