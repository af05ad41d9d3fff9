// YOLOv5's cross-grid candidate rule (mmyolo), shared by `yolov5` (whose
// matches are its result) and `yolov7` (whose SimOTA stage chooses among
// them): each GT matches the anchors of similar shape on every level, in
// its own cell and the two neighbour cells its centre leans to.
//
// Mirrors mmyolo 0.6.0 (commit 8c4d9dc5) in float32:
//   yolov5   mmyolo/models/dense_heads/yolov5_head.py, YOLOv5Head.loss_by_feat
//            (target part) with _convert_gt_to_norm_format;
//   yolov7   mmyolo/models/task_modules/assigners/batch_yolov7_assigner.py,
//            BatchYOLOv7Assigner.yolov5_assigner: the same rule, but each
//            cell coordinate clamped to [0, W - 1] / [0, H - 1] before
//            truncation (CellIndex::kClamp).
//
// Priors are ordered level, anchor, row, col (index = level offset +
// a * h * w + row * w + col), each with its anchor box in `anchors`; the
// input size is meta.image_size.
//
//   1. normalise   each GT as (cx, cy, w, h) / input size ((x1 + x2) / 2,
//                  x2 - x1, ...), then per level scaled by the feature map
//                  size (W, H): c = cx * W, ...
//   2. shape       a (GT, anchor) pair is kept when max(w / aw, aw / w,
//                  h / ah, ah / h) < prior_match_thr, with the anchor size
//                  (aw, ah) divided by the level's stride
//   3. cells       a kept pair gives the cell (long(cx), long(cy)), plus the
//                  left / upper neighbour when frac(c) < near_neighbor_thr
//                  and c > 1, plus the right / lower one when
//                  frac(W - c) < near_neighbor_thr and W - c > 1; the cell
//                  index is c -+ near_neighbor_thr, then (kClamp) clamped to
//                  the grid, then truncated toward zero. Unclamped
//                  (kWrap), negative indices wrap as torch indexing does and
//                  a cell past the grid (where the reference fails) is
//                  dropped and counted.
// Every kept (GT, anchor, offset) is one column, in the reference's order:
// level, then offset (centre, left, up, right, down), then anchor, then GT.
// A column may repeat a prior: an integer centre fires both the left and
// the right rule onto its own cell, and two GTs may share cells.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/params.h"
#include "core/problem.h"
#include "core/status.h"

namespace assignscope::assign {

inline constexpr int64_t kYoloAnchorsPerCell = 3;

// A pyramid level of a YOLOv5-style head: where its priors start and its grid.
struct YoloLevel {
  int64_t offset = 0;
  int64_t width = 0, height = 0;
  float stride = 0;
};

// The grid of each level, from its priors (points at (col + 0.5) * stride,
// three anchors a cell); an error names `assigner` and what does not fit.
Result<std::vector<YoloLevel>> yolo_grid_of(const Problem& p, const std::string& assigner);

// The rule's parameters, under the reference's names: prior_match_thr and
// near_neighbor_thr (described as `near_neighbor_help`).
std::vector<ParamSpec> cross_grid_params(const std::string& near_neighbor_help);

// Step 1: GT g as (cx, cy, w, h) / input size in float32 (YOLOv5Head.
// _convert_gt_to_norm_format); requires meta.image_size.
std::array<float, 4> normalised_gt(const Problem& p, int64_t g);

enum class CellIndex { kWrap, kClamp };

// One candidate column: a prior matched to a GT by the rule above, with the
// pair's shape ratio max(w / aw, aw / w, h / ah, ah / h).
struct CrossGridColumn {
  int32_t prior = 0;
  int32_t gt = 0;
  float ratio = 0;
};

struct CrossGridColumns {
  std::vector<CrossGridColumn> columns;  // in the reference's order (see above)
  int64_t off_grid = 0;                  // kWrap: cells past the grid, dropped
};

CrossGridColumns cross_grid_columns(const Problem& p, const std::vector<YoloLevel>& levels, float prior_match_thr,
                                    float near_neighbor_thr, CellIndex cells);

}  // namespace assignscope::assign
