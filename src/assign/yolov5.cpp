// YOLOv5's target assignment, as mmyolo's YOLOv5Head computes it.
//
// Mirrors mmyolo/models/dense_heads/yolov5_head.py, YOLOv5Head.loss_by_feat
// (the target part) with _convert_gt_to_norm_format (mmyolo 0.6.0, commit
// 8c4d9dc5), in float32: the cross-grid rule of assign/cross_grid.h (steps
// 1 - 3: normalise, shape, cells) with unclamped cell indices (negative
// indices wrap as torch indexing does; past the grid the reference fails,
// and the replay drops the pair with a note), then
//
//   4. result      the sorted unique (prior, gt) matches; when c is an exact
//                  integer both the left and right rules fire and the centre
//                  cell appears twice upstream: kept once. A prior may serve
//                  several GTs: gt_inds names the lowest. No overlaps.
#include "assign/yolov5.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "assign/cross_grid.h"

namespace assignscope::assign {
namespace {

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
    const auto levels = yolo_grid_of(p, "yolov5");  // validated by the registry's check
    if (!levels.ok() || p.num_gts() == 0) {
      if (p.num_gts() == 0) out.notes.push_back("no ground truth: every prior is negative");
      return out;
    }
    const CrossGridColumns found =
        cross_grid_columns(p, *levels, prior_match_thr_, near_neighbor_thr_, CellIndex::kWrap);
    std::set<std::pair<int32_t, int32_t>> matches;
    std::map<std::pair<int32_t, int32_t>, float> ratio_of;
    for (const CrossGridColumn& c : found.columns) {
      matches.insert({c.prior, c.gt});
      ratio_of[{c.prior, c.gt}] = c.ratio;
    }
    if (const int64_t off_grid = found.off_grid; off_grid > 0)
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
  info.params = cross_grid_params("a neighbour cell matches when the centre is this close to it");
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
    const auto levels = yolo_grid_of(p, "yolov5");
    return levels.ok() ? Status() : levels.status();
  };
  info.class_names = {{"YOLOv5Head", ClassName::Syntax::kAny, /*head=*/true}};
  info.config_ignored = {"num_classes"};
  info.replays = [](const Params&) { return std::vector<FrameworkRange>{{"mmyolo", "0.6.0", "0.7", "mmyolo 0.6"}}; };
  return info;
}

}  // namespace assignscope::assign
