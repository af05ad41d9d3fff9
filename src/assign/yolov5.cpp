// YOLOv5's target assignment, as mmyolo's YOLOv5Head computes it.
//
// Mirrors mmyolo/models/dense_heads/yolov5_head.py, YOLOv5Head.loss_by_feat
// (the target part) with _convert_gt_to_norm_format (mmyolo 0.6.0, commit
// 8c4d9dc5), in float32. Priors are ordered level, anchor, row, col
// (index = level offset + a * h * w + row * w + col), each with its anchor
// box in `anchors`; the input size is meta.image_size.
//
//   1. normalise   each GT as (cx, cy, w, h) / input size, then per level
//                  scale by the feature map size (W, H): c = cx * W, ...
//   2. shape       a (GT, anchor) pair is kept when max(w / aw, aw / w,
//                  h / ah, ah / h) < prior_match_thr, with the anchor size
//                  (aw, ah) divided by the level's stride; scale free, so a
//                  GT can match anchors on several levels
//   3. cells       a kept pair matches the cell (long(cx), long(cy)), plus
//                  the left / upper neighbour when frac(c) < near_neighbor_thr
//                  and c > 1, plus the right / lower one when
//                  frac(W - c) < near_neighbor_thr and W - c > 1; the cell
//                  index is (c -+ offset * near_neighbor_thr) truncated
//                  toward zero, not clamped (negative indices wrap as torch
//                  indexing does; past the grid the reference fails, and the
//                  replay drops the pair with a note)
//   4. result      the sorted unique (prior, gt) matches; when c is an exact
//                  integer both the left and right rules fire and the centre
//                  cell appears twice upstream: kept once. A prior may serve
//                  several GTs: gt_inds names the lowest. No overlaps.
#include "assign/yolov5.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

namespace assignscope::assign {
namespace {

constexpr int64_t kAnchorsPerCell = 3;

// A pyramid level of a YOLOv5 head: where its priors start and its grid.
struct Level {
  int64_t offset = 0;
  int64_t width = 0, height = 0;
  float stride = 0;
};

// The grid of each level, from its priors: `width` distinct columns, and
// anchors x rows x cols priors in all.
Result<std::vector<Level>> grid_of(const Problem& p) {
  std::vector<Level> levels;
  int64_t offset = 0;
  for (int64_t l = 0; l < p.num_levels(); ++l) {
    const int64_t count = p.num_level_priors[l];
    Level level;
    level.offset = offset;
    if (count > 0) {
      level.stride = p.priors(offset, 2);
      float max_x = 0, max_y = 0;
      for (int64_t i = offset; i < offset + count; ++i)
        max_x = std::max(max_x, p.priors(i, 0)), max_y = std::max(max_y, p.priors(i, 1));
      // A grid cannot have more columns or rows than the level has priors:
      // checked in floating point, before a conversion that would overflow
      // (a stride of 1e-30, or of 0 and a point at 0).
      const double cols = std::floor(static_cast<double>(max_x) / static_cast<double>(level.stride)) + 1;
      const double rows = std::floor(static_cast<double>(max_y) / static_cast<double>(level.stride)) + 1;
      if (!(level.stride > 0) || !(cols >= 1 && cols <= static_cast<double>(count)) ||
          !(rows >= 1 && rows <= static_cast<double>(count)))
        return Status::InvalidInput(fmt::format(
            "yolov5: level {} has stride {} and points up to ({}, {}): not a grid of its {} priors at (col + 0.5) * "
            "stride",
            l, level.stride, max_x, max_y, count));
      level.width = static_cast<int64_t>(cols);
      level.height = static_cast<int64_t>(rows);
      if (level.width * level.height * kAnchorsPerCell != count)
        return Status::InvalidInput(fmt::format(
            "yolov5: level {} holds {} priors, but its points span a {} x {} grid: expected {} anchors x rows x "
            "cols = {} priors ordered anchor, row, col (points at (col + 0.5) * stride)",
            l, count, level.height, level.width, kAnchorsPerCell, level.width * level.height * kAnchorsPerCell));
    }
    levels.push_back(level);
    offset += count;
  }
  return levels;
}

class YoloV5 final : public Assigner {
 public:
  explicit YoloV5(const Params& params)
      : params_(params),
        prior_match_thr_(static_cast<float>(params.get_float("prior_match_thr"))),
        near_neighbor_thr_(static_cast<float>(params.get_float("near_neighbor_thr"))) {}

  Assignment assign(const Problem& p) const override {
    Assignment out = Assignment::Empty(p.num_priors(), p.num_gts(), 0.0f, false);
    out.assigner = "yolov5";
    out.params = params_;
    out.cost_terms = {"shape_ratio"};
    out.max_overlaps.clear();
    out.matches.emplace();
    const auto levels = grid_of(p);  // validated by the registry's check
    if (!levels.ok() || p.num_gts() == 0) {
      if (p.num_gts() == 0) out.notes.push_back("no ground truth: every prior is negative");
      return out;
    }
    const float img_h = static_cast<float>((*p.meta.image_size)[0]);
    const float img_w = static_cast<float>((*p.meta.image_size)[1]);

    std::set<std::pair<int32_t, int32_t>> matches;
    std::map<std::pair<int32_t, int32_t>, float> ratio_of;
    int64_t off_grid = 0;
    for (int64_t g = 0; g < p.num_gts(); ++g) {
      const float* box = &p.gt_bboxes(g, 0);
      // Step 1: normalised (cx, cy, w, h).
      const float ncx = ((box[0] + box[2]) / 2.0f) / img_w, ncy = ((box[1] + box[3]) / 2.0f) / img_h;
      const float nw = (box[2] - box[0]) / img_w, nh = (box[3] - box[1]) / img_h;
      for (const Level& level : *levels) {
        if (level.width == 0) continue;
        const auto fw = static_cast<float>(level.width), fh = static_cast<float>(level.height);
        const float cx = ncx * fw, cy = ncy * fh, w = nw * fw, h = nh * fh;
        for (int64_t a = 0; a < kAnchorsPerCell; ++a) {
          // Step 2: shape match against the anchor, in feature-map units.
          const int64_t first = level.offset + a * level.height * level.width;
          const float aw = (p.anchors(first, 2) - p.anchors(first, 0)) / level.stride;
          const float ah = (p.anchors(first, 3) - p.anchors(first, 1)) / level.stride;
          const float rw = w / aw, rh = h / ah;
          const float ratio = std::max(std::max(rw, 1.0f / rw), std::max(rh, 1.0f / rh));
          if (!(ratio < prior_match_thr_)) continue;
          // Step 3: the centre cell and its near neighbours.
          const float gx = fw - cx, gy = fh - cy;
          const bool left = frac(cx) < near_neighbor_thr_ && cx > 1.0f;
          const bool up = frac(cy) < near_neighbor_thr_ && cy > 1.0f;
          const bool right = frac(gx) < near_neighbor_thr_ && gx > 1.0f;
          const bool down = frac(gy) < near_neighbor_thr_ && gy > 1.0f;
          const std::array<std::array<float, 2>, 5> offsets = {{{0, 0}, {1, 0}, {0, 1}, {-1, 0}, {0, -1}}};
          const std::array<bool, 5> use = {true, left, up, right, down};
          for (int k = 0; k < 5; ++k) {
            if (!use[k]) continue;
            int64_t col = static_cast<int64_t>(cx - offsets[k][0] * near_neighbor_thr_);  // .long(): toward zero
            int64_t row = static_cast<int64_t>(cy - offsets[k][1] * near_neighbor_thr_);
            if (col < 0) col += level.width;  // torch indexing wraps negatives
            if (row < 0) row += level.height;
            if (col < 0 || row < 0 || col >= level.width || row >= level.height) {
              ++off_grid;
              continue;
            }
            const auto prior = static_cast<int32_t>(first + row * level.width + col);
            matches.insert({prior, static_cast<int32_t>(g)});
            ratio_of[{prior, static_cast<int32_t>(g)}] = ratio;
          }
        }
      }
    }
    if (off_grid > 0)
      out.notes.push_back(fmt::format(
          "{} (GT, cell) match{} fell outside the feature map (a GT centred off the image): the reference indexes "
          "past its grid there and fails; dropped here",
          off_grid, off_grid == 1 ? "" : "es"));

    // Step 4: the matches; per prior, the lowest GT.
    for (const auto& [prior, g] : matches) {
      out.matches->push_back({prior, g});
      if (out.gt_inds[prior] == 0) out.gt_inds[prior] = g + 1, out.labels[prior] = p.gt_labels[g];
      CandidatePair pair;
      pair.prior = prior;
      pair.gt = g;
      pair.cost = pair.terms[0] = ratio_of[{prior, g}];
      pair.inside = pair.picked = true;
      out.candidates.push_back(pair);
    }
    std::stable_sort(out.candidates.begin(), out.candidates.end(),
                     [](const CandidatePair& a, const CandidatePair& b) { return a.gt < b.gt; });
    return out;
  }

 private:
  // x % 1 as torch computes it for floats (the remainder takes the divisor's sign).
  static float frac(float x) { return x - std::floor(x); }

  Params params_;
  float prior_match_thr_;
  float near_neighbor_thr_;
};

}  // namespace

AssignerInfo yolov5_info() {
  AssignerInfo info;
  info.name = "yolov5";
  info.summary = "YOLOv5 (mmyolo): GTs match anchors of similar shape on every level, in their cell and 2 neighbours";
  info.reference =
      "mmyolo mmyolo/models/dense_heads/yolov5_head.py YOLOv5Head.loss_by_feat, target part (mmyolo 0.6.0, "
      "commit 8c4d9dc5)";
  info.params = {
      {"prior_match_thr",
       ParamType::kFloat,
       4.0,
       "largest width/height ratio between a GT and an anchor",
       1.0,
       std::nullopt,
       {}},
      {"near_neighbor_thr",
       ParamType::kFloat,
       0.5,
       "a neighbour cell matches when the centre is this close to it",
       0.0,
       1.0,
       {}},
  };
  info.needs = {{Field::kPriors}, {Field::kAnchors}, {Field::kGtBboxes}, {Field::kGtLabels}};
  info.result_files = {"assigned_gt_inds.npy", "assigned_labels.npy", "matches.npy"};
  info.make = [](const Params& params) { return std::make_unique<YoloV5>(params); };
  // A prior matches every GT whose shape fits its anchor (Assignment::matches),
  // in the GT's cell and its near neighbours; each match is a recorded pair.
  info.traits = {CostDefinition::kNone,       /*multi_match=*/true, /*dynamic_k=*/false,    /*picks_k=*/false,
                 /*conflict_over_all=*/false, /*geometric=*/true,   /*records_pairs=*/true, /*sparse_search=*/false};
  info.check = [](const Params&, const Problem& p) {
    if (!p.meta.image_size)
      return Status::InvalidInput(
          "yolov5: meta.image_size is missing; YOLOv5 normalises GTs by the network input size [height, width]");
    const auto levels = grid_of(p);
    return levels.ok() ? Status() : levels.status();
  };
  info.class_names = {{"YOLOv5Head", ClassName::Syntax::kAny, /*head=*/true}};
  info.config_ignored = {"num_classes"};
  info.replays = [](const Params&) { return std::vector<FrameworkRange>{{"mmyolo", "0.6.0", "0.7", "mmyolo 0.6"}}; };
  return info;
}

}  // namespace assignscope::assign
