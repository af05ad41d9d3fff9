// Numerics: every registered assigner on inputs at the edges of float32 —
// saturated logits, boxes of zero width or height, GTs far outside the
// image, identical duplicates, a single prior, a single GT — and no NaN or
// Inf may reach any output: the assignment, max_overlaps, soft targets, the
// transport plan, FCOS targets, the statistics, or the JSON. Where the
// reference itself computes a NaN (docs/assigners.md, "Numerics"), the replay
// says so in a warning.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <functional>
#include <string>

#include <fmt/format.h>

#include "scenes.h"
#include "test_support.h"

namespace assignscope {
namespace {

using testing::Scene;

Params params_for(const assign::AssignerInfo& info, const Problem& p) {
  Params params = assign::default_params(info);
  if (info.name == "fcos") {
    std::string ranges = "[";
    for (int64_t l = 0; l < p.num_levels(); ++l)
      ranges += fmt::format("{}[{}, {}]", l ? ", " : "", l == 0 ? -1 : 64 << (l - 1),
                            l + 1 == p.num_levels() ? 1e8 : 64 << l);
    REQUIRE(params.set("regress_ranges", ranges + "]").ok());
  }
  // Top-k sizes larger than the image (a single prior) are refused or fail
  // upstream: one per prior at most.
  for (const ParamSpec& spec : info.params)
    if ((spec.name == "topk" || spec.name == "candidate_topk") && params.get_int(spec.name) > p.num_priors())
      REQUIRE(params.set(spec.name, std::to_string(p.num_priors())).ok());
  return params;
}

Assignment replay(const assign::AssignerInfo& info, const Problem& p) {
  const Params params = params_for(info, p);
  REQUIRE(assign::check_needs(info, p).ok());
  if (info.check) {
    const Status st = info.check(params, p);
    REQUIRE_MESSAGE(st.ok(), st.message());
  }
  return info.make(params)->assign(p);
}

bool finite(double v) { return std::isfinite(v); }

std::string first_nonfinite(const std::vector<float>& v, const char* what) {
  for (size_t i = 0; i < v.size(); ++i)
    if (!finite(static_cast<double>(v[i]))) return fmt::format("{}[{}] = {}", what, i, static_cast<double>(v[i]));
  return "";
}

std::string summary_nonfinite(const analysis::Summary& s, const std::string& what) {
  if (s.empty()) return "";
  if (!finite(s.min) || !finite(s.mean) || !finite(s.max))
    return fmt::format("{} = {} / {} / {}", what, s.min, s.mean, s.max);
  return "";
}

// A float in the JSON that is not finite (nlohmann would write it as null).
std::string json_nonfinite(const nlohmann::ordered_json& j, const std::string& path) {
  if (j.is_number_float() && !finite(j.get<double>())) return path;
  if (j.is_object())
    for (auto it = j.begin(); it != j.end(); ++it)
      if (auto bad = json_nonfinite(it.value(), path + "." + it.key()); !bad.empty()) return bad;
  if (j.is_array())
    for (size_t k = 0; k < j.size(); ++k)
      if (auto bad = json_nonfinite(j[k], path + "[" + std::to_string(k) + "]"); !bad.empty()) return bad;
  return "";
}

// "" when no output holds a NaN or Inf; else where the first one is.
std::string nonfinite_output(const Problem& p, const Assignment& a) {
  for (const auto& [v, what] : {std::pair{&a.max_overlaps, "max_overlaps"}})
    if (auto bad = first_nonfinite(*v, what); !bad.empty()) return bad;
  const std::pair<const std::optional<std::vector<float>>*, const char*> optional[] = {
      {&a.assign_metrics, "assign_metrics"},
      {&a.assign_metrics_raw, "assign_metrics_raw"},
      {&a.transport_plan, "transport_plan"},
      {&a.bbox_targets, "bbox_targets"}};
  for (const auto& [v, what] : optional)
    if (*v)
      if (auto bad = first_nonfinite(**v, what); !bad.empty()) return bad;
  const analysis::ImageStats s = analysis::compute_stats(p, a);
  for (const analysis::GtStats& g : s.gts) {
    const std::string at = fmt::format("GT {} ", g.index);
    for (auto bad : {summary_nonfinite(g.iou, at + "iou"), summary_nonfinite(g.cost, at + "cost"),
                     summary_nonfinite(g.centre_distance, at + "centre_distance")})
      if (!bad.empty()) return bad;
    for (size_t t = 0; t < g.terms.size(); ++t)
      if (auto bad = summary_nonfinite(g.terms[t], at + "cost term " + std::to_string(t)); !bad.empty()) return bad;
    if (g.soft_target_sum && !finite(*g.soft_target_sum)) return at + "soft_target_sum";
    if (!finite(g.plan_mass)) return at + "plan_mass";
  }
  Batch batch;
  batch.source = "numerics";
  batch.images = {p};
  batch.gt_columns = p.num_gts();
  const nlohmann::ordered_json j = render::json(batch, {a}, {true, true});
  if (auto bad = json_nonfinite(j, "json"); !bad.empty()) return bad;
  const std::string text = j.dump();
  for (const char* word : {"NaN", "nan", "Infinity", "inf"})
    if (text.find(std::string(":") + word) != std::string::npos) return std::string("JSON text holds ") + word;
  return "";
}

// A realistic scene of the kind `info` reads, changed by `edit`.
Problem edited_scene(const assign::AssignerInfo& info, uint64_t seed, const std::function<void(Problem&)>& edit) {
  Scene s = testing::random_scene(seed, testing::scene_kind_for(info.name));
  edit(s.problem);
  return s.problem;
}

struct Case {
  const char* what;
  std::function<void(Problem&)> edit;
};

void saturate(Problem& p, float magnitude) {
  for (Eigen::Index i = 0; i < p.cls_scores.rows(); ++i)
    for (Eigen::Index c = 0; c < p.cls_scores.cols(); ++c) p.cls_scores(i, c) = (i + c) % 2 ? magnitude : -magnitude;
  for (size_t i = 0; i < p.objectness.size(); ++i) p.objectness[i] = i % 3 ? magnitude : -magnitude;
  for (size_t i = 0; i < p.centerness.size(); ++i) p.centerness[i] = i % 5 ? magnitude : -magnitude;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> kCases = {
      {"logits +-100", [](Problem& p) { saturate(p, 100.0f); }},
      {"logits +-1e4", [](Problem& p) { saturate(p, 1e4f); }},
      {"every logit -1e4",
       [](Problem& p) {
         p.cls_scores.setConstant(-1e4f);
         std::fill(p.objectness.begin(), p.objectness.end(), -1e4f);
         std::fill(p.centerness.begin(), p.centerness.end(), -1e4f);
       }},
      {"every logit +1e4",
       [](Problem& p) {
         p.cls_scores.setConstant(1e4f);
         std::fill(p.objectness.begin(), p.objectness.end(), 1e4f);
         std::fill(p.centerness.begin(), p.centerness.end(), 1e4f);
       }},
      {"GTs of zero width", [](Problem& p) { p.gt_bboxes.col(2) = p.gt_bboxes.col(0); }},
      {"GTs of zero height", [](Problem& p) { p.gt_bboxes.col(3) = p.gt_bboxes.col(1); }},
      {"predicted boxes of zero area",
       [](Problem& p) {
         p.pred_bboxes.col(2) = p.pred_bboxes.col(0);
         p.pred_bboxes.col(3) = p.pred_bboxes.col(1);
       }},
      {"GTs and predicted boxes of zero width",
       [](Problem& p) {
         p.gt_bboxes.col(2) = p.gt_bboxes.col(0);
         p.pred_bboxes.col(2) = p.pred_bboxes.col(0);
       }},
      {"predictions equal to a zero-area GT",
       [](Problem& p) {
         p.gt_bboxes.row(0) << 20, 20, 20, 20;
         for (Eigen::Index i = 0; i < p.pred_bboxes.rows(); ++i) p.pred_bboxes.row(i) << 20, 20, 20, 20;
       }},
      {"GTs far outside the image",
       [](Problem& p) {
         for (Eigen::Index g = 0; g < p.gt_bboxes.rows(); ++g) {
           const float x = 1e5f + 100.0f * static_cast<float>(g);
           p.gt_bboxes.row(g) << x, -x, x + 40, -x + 30;
         }
       }},
      {"one GT 1e7 px away", [](Problem& p) { p.gt_bboxes.row(0) << 1e7f, 1e7f, 1e7f + 64, 1e7f + 64; }},
      {"identical duplicate GTs",
       [](Problem& p) {
         for (Eigen::Index g = 1; g < p.gt_bboxes.rows(); ++g) p.gt_bboxes.row(g) = p.gt_bboxes.row(0);
         for (int64_t& l : p.gt_labels) l = p.gt_labels[0];
       }},
      {"a GT covering the image many times over", [](Problem& p) { p.gt_bboxes.row(0) << -5000, -5000, 5000, 5000; }},
  };
  return kCases;
}

}  // namespace

TEST_CASE("numerics, every assigner: no NaN or Inf reaches an output on float32's edges") {
  for (const assign::AssignerInfo& info : assign::registry()) {
    for (const Case& c : cases()) {
      for (uint64_t seed : {3u, 11u, 29u}) {
        const Problem p = edited_scene(info, seed, c.edit);
        const Assignment a = replay(info, p);
        testing::check_well_formed(p, a);
        const std::string bad = nonfinite_output(p, a);
        CHECK_MESSAGE(bad.empty(), info.name << ", " << std::string(c.what) << ", scene seed " << seed << ": " << bad);
      }
    }
  }
}

TEST_CASE("numerics, every assigner: one GT, and a single prior") {
  for (const assign::AssignerInfo& info : assign::registry()) {
    CAPTURE(info.name);
    for (uint64_t seed : {5u, 6u, 7u, 8u}) {
      // G = 1.
      const Problem one_gt = edited_scene(info, seed, [](Problem& p) {
        p.gt_bboxes.conservativeResize(1, 4);
        p.gt_labels.resize(1);
      });
      const Assignment a = replay(info, one_gt);
      testing::check_well_formed(one_gt, a);
      CHECK_MESSAGE(nonfinite_output(one_gt, a).empty(), nonfinite_output(one_gt, a));
    }
    // N = 1 (YOLOv5, YOLOv7: one cell of one level, its three anchors), the GT on it.
    Problem p;
    const bool yolo = info.name == "yolov5" || info.name == "yolov7";
    const int n = yolo ? 3 : 1;
    p.set_num_priors(n);
    p.meta.image_size = std::array<int64_t, 2>{8, 8};
    p.meta.num_classes = 2;
    p.priors = Rows4f(n, 4);
    p.anchors = Rows4f(n, 4);
    p.pred_bboxes = Rows4f(n, 4);
    for (int i = 0; i < n; ++i) {
      const float half = 4.0f * static_cast<float>(i + 1);
      p.priors.row(i) << 4, 4, 8, 8;
      p.anchors.row(i) << 4 - half, 4 - half, 4 + half, 4 + half;
      p.pred_bboxes.row(i) << 1, 1, 7, 7;
    }
    p.cls_scores = MatrixRf::Constant(n, 2, -1.0f);
    p.objectness.assign(static_cast<size_t>(n), 0.5f);
    p.centerness.assign(static_cast<size_t>(n), 0.5f);
    p.num_level_priors = {n};
    p.prior_level.assign(static_cast<size_t>(n), 0);
    for (const std::vector<float>& gt :
         {std::vector<float>{0, 0, 8, 8}, {2, 2, 6, 6}, {4, 4, 4, 4}, {100, 100, 120, 120}}) {
      p.gt_bboxes = Rows4f(1, 4);
      p.gt_bboxes.row(0) << gt[0], gt[1], gt[2], gt[3];
      p.gt_labels = {1};
      for (Field f : {Field::kPriors, Field::kClsScores, Field::kObjectness, Field::kCenterness, Field::kPredBboxes,
                      Field::kGtBboxes, Field::kGtLabels})
        p.mark(f);
      if (yolo) p.mark(Field::kAnchors);
      const Assignment a = replay(info, p);
      testing::check_well_formed(p, a);
      const std::string bad = nonfinite_output(p, a);
      CHECK_MESSAGE(bad.empty(), fmt::format("GT [{}] on a single prior: {}", fmt::join(gt, ", "), bad));
    }
  }
}

TEST_CASE(
    "numerics: where the reference computes NaN or Inf from finite inputs, the replay warns and reports finite "
    "values") {
  const auto warned = [](const Assignment& a, const std::string& words) {
    for (const std::string& w : a.warnings)
      if (w.find(words) != std::string::npos) return true;
    return false;
  };
  // YOLOX: a zero-area GT and zero-area predictions on it, IoU 0 / 0.
  const assign::AssignerInfo& yolox = *assign::find_assigner("simota.yolox");
  const Problem empty_boxes = edited_scene(yolox, 3, [](Problem& p) {
    p.gt_bboxes.row(0) << 20, 20, 20, 20;
    for (Eigen::Index i = 0; i < p.pred_bboxes.rows(); ++i) p.pred_bboxes.row(i) << 20, 20, 20, 20;
  });
  const Assignment y = replay(yolox, empty_boxes);
  CHECK(warned(y, "0 / 0 = NaN"));
  CHECK(warned(y, "NaN -> 0"));
  CHECK(y.warnings.size() == 1);
  CHECK(testing::count_lines(y.warnings[0]) == 0);  // one line
  CHECK(nonfinite_output(empty_boxes, y).empty());
  // ...and the table and JSON carry it.
  Batch batch;
  batch.source = "numerics";
  batch.images = {empty_boxes};
  batch.gt_columns = empty_boxes.num_gts();
  CHECK(render::table(batch, {y}).find("warning: the reference computes NaN") != std::string::npos);
  CHECK(render::json(batch, {y}, {})["images"][0]["warnings"].size() == 1);

  // RTMDet: the soft centre prior of a GT 1e7 px away is 10^(1e6) = +Inf,
  // and mmdet's GT takes a prior at that cost. (mmyolo's takes one inside no
  // GT at its INF = 1e8 instead: nothing infinite to report there.)
  for (const char* name : {"dynamic-soft-label"}) {
    const std::string assigner = name;
    CAPTURE(assigner);
    const assign::AssignerInfo& info = *assign::find_assigner(name);
    const Problem far =
        edited_scene(info, 3, [](Problem& p) { p.gt_bboxes.row(0) << 1e7f, 1e7f, 1e7f + 64, 1e7f + 64; });
    const Assignment a = replay(info, far);
    CHECK(warned(a, "overflows float32"));
    CHECK(nonfinite_output(far, a).empty());
  }

  // ATSS: one candidate in all, torch.std of one value is NaN.
  for (const char* name : {"atss", "atss.mmyolo"}) {
    const std::string assigner = name;
    CAPTURE(assigner);
    Problem one = testing::make_problem({{12, 4, 8, 8}}, {{8, 0, 16, 8}}, {{-3, 0.5f}}, {{6, 0, 18, 8}}, {1});
    const Assignment a = replay(*assign::find_assigner(name), one);
    CHECK(warned(a, "n - 1 = 0"));
    CHECK(a.num_positives() == 0);  // NaN passes no comparison, in the reference as here
    CHECK(nonfinite_output(one, a).empty());
  }

  // OTA: two GTs supply 1 each to a single prior, the background's supply
  // is -1 and its log NaN: the plan is NaN throughout, reported as 0.
  {
    Problem one =
        testing::make_problem({{12, 4, 8, 8}}, {{8, 0, 16, 8}}, {{-3, 0.5f}}, {{6, 0, 18, 8}, {2, 0, 14, 8}}, {1, 0});
    const Assignment a = replay(*assign::find_assigner("ota"), one);
    CHECK(warned(a, "background's supply is negative"));
    CHECK(testing::has_note(a, "the plan NaN throughout"));
    CHECK(a.gt_inds == std::vector<int64_t>{1});  // torch.max: the first NaN row, GT 0
    CHECK(*a.transport_plan == std::vector<float>(3, 0.0f));
    CHECK(nonfinite_output(one, a).empty());
  }

  // Ordinary scenes give no warning; inputs that hold NaN themselves
  // (--allow-nonfinite) keep the reference's NaN, unwarned here (the loader warns).
  for (const assign::AssignerInfo& info : assign::registry()) {
    CAPTURE(info.name);
    Problem p = testing::random_scene(4, testing::scene_kind_for(info.name)).problem;
    CHECK(replay(info, p).warnings.empty());
    p.cls_scores(0, 0) = std::numeric_limits<float>::quiet_NaN();
    CHECK(replay(info, p).warnings.empty());
  }
}

}  // namespace assignscope
