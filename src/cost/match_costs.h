// mmdetection's match costs, as HungarianAssigner (a list, `match_costs`) and
// TopkHungarianAssigner (`cls_cost`, `reg_cost`, `iou_cost`) build them from
// config dicts: mmdet/models/task_modules/assigners/match_cost.py (commit
// 658c19eb). Two halves:
//
// Config. A cost dict as a config writes it, dict(type='BBoxL1Cost',
// weight=5.0, box_format='xywh') (or the call BBoxL1Cost(...), or a bare
// class name as `type`), is checked — type known, arguments known and of the
// right type and range — and completed with the class's own defaults into
// a canonical dict: every argument written out, numbers as floats:
//
//   FocalLossCost(alpha=0.25, gamma=2, eps=1e-12, binary_input=False, weight=1.)
//   ClassificationCost(weight=1.)
//   BBoxL1Cost(box_format='xyxy', weight=1.)
//   IoUCost(iou_mode='giou', weight=1.)
//
// Mask costs (DiceCost, CrossEntropyLossCost, FocalLossCost with
// binary_input=True) and IoUCost(iou_mode='iof') are refused: they are not
// replayed.
//
// Arithmetic. Each cost of a (query q, GT g) pair in float32, in the
// reference's operation order; `s` is what the assigner hands the costs as
// pred_instances.scores (HungarianAssigner: the head's logits; DDQ's
// TopkHungarianAssigner: their sigmoid), l the GT's label, weights and
// Python numbers rounded to float32 as torch multiplies a float32 tensor by
// them:
//
//   FocalLossCost       p = sigmoid(s[q, l])
//                       pos = -log(p + eps) * alpha * (1 - p)^gamma
//                       neg = -log(1 - p + eps) * (1 - alpha) * p^gamma
//                       (pos - neg) * weight       (1 - alpha in float64, as Python)
//   ClassificationCost  -softmax(s[q, :])[l] * weight, the softmax over every
//                       column of the row (C + 1 with a softmax head's "no
//                       object" column) as torch's CPU kernel computes it:
//                       m = max, e_c = exp(s_c - m), S = sum of e_c,
//                       e_l * (1 / S). S is summed as torch's AVX2 reduction
//                       does: rows of 8 or more in 8 lanes (lane j takes
//                       columns j, j + 8, ...), then the lanes as
//                       ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7));
//                       shorter rows left to right.
//   BBoxL1Cost          both boxes (x1, y1, x2, y2), or for 'xywh' (cx, cy,
//                       w, h) = ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1,
//                       y2 - y1); each coordinate divided by the image width
//                       (x, w) or height (y, h), meta.image_size = (h, w);
//                       (((|d0| + |d1|) + |d2|) + |d3|) * weight (torch.cdist, p = 1)
//   IoUCost             -overlap * weight, overlap = bbox_overlaps(pred, gt)
//                       'iou' (union clamped at 1e-6) or 'giou' (IoU minus
//                       the enclosing box's share outside the union, the
//                       enclosing area also clamped at 1e-6)
//
// A list of costs is summed in list order, ((c0 + c1) + c2) + ...: mmdet's
// torch.stack(costs).sum(0) and TopkHungarianAssigner's cls + reg + iou.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/assignment.h"
#include "core/problem.h"
#include "core/status.h"

namespace assignscope::cost {

enum class MatchCostType { kFocalLoss, kClassification, kBBoxL1, kIoU };

// One match cost with every argument, as the canonical dict holds it.
struct MatchCost {
  MatchCostType type = MatchCostType::kFocalLoss;
  double weight = 1.0;
  double alpha = 0.25;  // FocalLossCost
  double gamma = 2.0;   // FocalLossCost
  double eps = 1e-12;   // FocalLossCost
  bool xywh = false;    // BBoxL1Cost: box_format 'xywh' (else 'xyxy')
  bool giou = true;     // IoUCost: iou_mode 'giou' (else 'iou')
};

// "FocalLossCost", ...
const char* match_cost_type_name(MatchCostType type);
// The reported cost term a cost adds to: 0 class, 1 box (L1), 2 overlap (IoU).
int match_cost_term(MatchCostType type);
// For messages: "BBoxL1Cost(weight=5, box_format='xywh')".
std::string describe(const MatchCost& cost);

// One cost dict -> its canonical dict, or a usage error naming the key and
// what was expected, prefixed by `where` ("[1] " in a list, "" alone).
Result<nlohmann::json> canonical_match_cost(const nlohmann::json& value, const std::string& where = "");
// HungarianAssigner's match_costs: a non-empty list of cost dicts, or one
// dict (which mmdet wraps in a list) -> the canonical list.
Result<nlohmann::json> canonical_match_cost_list(const nlohmann::json& value);
// Of canonical JSON (as the functions above return it; anything else is a
// programming error).
MatchCost match_cost_of(const nlohmann::json& canonical);
std::vector<MatchCost> match_costs_of(const nlohmann::json& canonical_list);
// The canonical dict of a cost.
nlohmann::json match_cost_json(const MatchCost& cost);

// The costs of one image's (query, GT) pairs. Holds what the costs share
// across pairs (normalised boxes, areas, each row's softmax maximum and
// normaliser); `scores` and `problem` must outlive it. BBoxL1Cost needs
// `image_size` (h, w); callers check for it first.
class MatchCostEvaluator {
 public:
  MatchCostEvaluator(std::vector<MatchCost> costs, const MatrixRf& scores, const Problem& problem);

  struct PairCost {
    float total = 0;    // every cost, summed in list order
    CostTerms terms{};  // per match_cost_term, costs of one kind summed in list order
  };
  PairCost pair(int64_t query, int64_t gt) const;
  // One cost of the pair.
  float cost(const MatchCost& c, int64_t query, int64_t gt) const;

  const std::vector<MatchCost>& costs() const { return costs_; }

 private:
  float focal(const MatchCost& c, float score) const;
  float classification(const MatchCost& c, int64_t query, int64_t label) const;

  std::vector<MatchCost> costs_;
  const MatrixRf& scores_;
  const Problem& problem_;
  std::vector<float> row_max_, row_inverse_;  // softmax per query row, when a ClassificationCost reads it
  // FocalLossCost depends on (query, GT label) only: per focal cost of the
  // list, its value for each query and each label the GTs use ([N, labels]).
  std::vector<int32_t> label_slot_;  // [G] column of the GT's label
  int64_t num_slots_ = 0;
  std::vector<std::vector<float>> focal_table_;  // [costs] empty for other costs
  // Boxes normalised by the image, per box format in use: [0] xyxy, [1] xywh.
  std::array<std::vector<std::array<float, 4>>, 2> pred_norm_, gt_norm_;
  std::vector<float> pred_area_, gt_area_;
};

// bbox_overlaps(a, b, mode='giou') of two xyxy boxes, as mmdet computes it.
float giou(const float* a, const float* b, float area_a, float area_b);

}  // namespace assignscope::cost
