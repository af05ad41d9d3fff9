// yolov7's SimOTA stage over its candidate columns (assign/yolov7.cpp steps
// 2-5): the (GT, column) costs and IoUs, the dynamic k, the picks and the
// conflicts, by two searches that give the same match to the bit:
//
//   dense    the reference's every-pair evaluation: [G, K] tables of cost
//            and IoU, match::dynamic_k_matching over them (G x K floats
//            twice: 2.4 GB at G = 5000, K = 60000 columns of a crowd).
//   sparse   the pairs that can matter, with no [G, K] table:
//              IoUs       the pairs with IoU > 0, through an index of the
//                         candidate priors' predicted boxes over the GTs
//                         (geometry::BoxIndex); the dynamic k sums the top
//                         IoUs of each GT's columns (zeros add nothing)
//              picks      a GT's k cheapest among the columns of its
//                         overlapping priors, when the k-th of them costs
//                         strictly less than any column of a prior it does
//                         not overlap can: min over the priors of the class
//                         cost at its label, plus the IoU cost of IoU 0
//                         (iou_weight * -log(1e-8)); otherwise, or when the
//                         k-th cost is shared with a column left out of the
//                         k (torch's order for equal keys depends on the
//                         whole row), the GT's whole row of K costs is
//                         evaluated and picked as the dense search picks it.
//                         A boundary among copies of one prior only picks
//                         copies, not priors: which copies matters only when
//                         another GT picks that prior too, and only then is
//                         the whole row evaluated (crowds: most ties)
//              conflicts  a column several GTs picked goes to the cheapest
//                         GT over all GTs (first minimum): among the GTs
//                         overlapping its prior when the cheapest of them
//                         costs strictly less than the prior's class cost
//                         at any label plus the IoU cost of IoU 0, else
//                         over the whole column of G costs
//            It declines (the dense search runs, and says why) when a class
//            cost is not finite (logits beyond about +-17 / -88: +Inf and
//            NaN costs, which torch orders its own way) or a GT box has no
//            area (its IoUs may be NaN).
// Both cost a pair with the same code (Yolov7Costs), so equal inputs give
// equal floats.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "assign/cross_grid.h"
#include "core/assignment.h"
#include "core/problem.h"
#include "match/dynamic_k.h"

namespace assignscope::assign::detail {

// The (GT, column) costs of yolov7, evaluated on demand: per distinct
// candidate prior (a slot) its predicted box and its class cost at each
// distinct GT label, computed once.
class Yolov7Costs {
 public:
  // gt_boxes: the GTs as yolov7 rebuilds them (step 2), one per GT of `p`.
  Yolov7Costs(const Problem& p, const std::vector<CrossGridColumn>& columns, std::vector<std::array<float, 4>> gt_boxes,
              float cls_weight, float iou_weight);

  const Problem& problem() const { return p_; }
  int64_t num_gts() const { return static_cast<int64_t>(gt_boxes_.size()); }
  int64_t num_columns() const { return static_cast<int64_t>(slot_of_column_.size()); }
  int64_t num_slots() const { return static_cast<int64_t>(priors_.size()); }
  int32_t slot_of_column(int64_t v) const { return slot_of_column_[static_cast<size_t>(v)]; }
  int32_t prior_of_slot(int32_t s) const { return priors_[static_cast<size_t>(s)]; }
  // The columns of slot s (identical copies of one prior), ascending.
  const std::vector<int32_t>& columns_of_slot(int32_t s) const { return columns_of_slot_[static_cast<size_t>(s)]; }
  const std::array<float, 4>& gt_box(int64_t g) const { return gt_boxes_[static_cast<size_t>(g)]; }
  const float* pred_box(int32_t s) const;

  float iou(int64_t g, int32_t s) const;
  float cls(int64_t g, int32_t s) const {
    return cls_[static_cast<size_t>(s) * classes_.size() + label_slot_[static_cast<size_t>(g)]];
  }
  float iou_cost(float iou) const;
  float cost(int64_t g, int32_t s, float iou) const { return cls(g, s) + iou_cost(iou); }
  CostTerms terms(int64_t g, int32_t s, float iou) const { return {cls(g, s), iou_cost(iou), 0.0f}; }

  // Whether every class cost is finite (the sparse search needs it).
  bool finite_class_costs() const { return finite_; }
  // The least cost any column of a prior with IoU 0 can have for GT g (over
  // every slot), and for slot s (over every GT label).
  float zero_iou_bound_of_gt(int64_t g) const { return zero_iou_gt_[label_slot_[static_cast<size_t>(g)]]; }
  float zero_iou_bound_of_slot(int32_t s) const { return zero_iou_slot_[static_cast<size_t>(s)]; }

 private:
  const Problem& p_;
  float iou_weight_;
  std::vector<std::array<float, 4>> gt_boxes_;         // [G]
  std::vector<float> gt_areas_;                        // [G]
  std::vector<int32_t> slot_of_column_;                // [K]
  std::vector<int32_t> priors_;                        // [S] ascending
  std::vector<std::vector<int32_t>> columns_of_slot_;  // [S]
  std::vector<float> pred_areas_;                      // [S]
  std::vector<int64_t> classes_;                       // distinct GT labels, sorted
  std::vector<size_t> label_slot_;                     // [G] index into classes_
  std::vector<float> cls_;                             // [S, classes_]
  std::vector<float> zero_iou_gt_;                     // [classes_]
  std::vector<float> zero_iou_slot_;                   // [S]
  bool finite_ = true;
};

// The dense search: match::dynamic_k_matching over [G, K] tables.
match::DynamicKMatch yolov7_dense_match(const Yolov7Costs& costs, int64_t topk);

// Why the sparse search would decline these costs, or "" when it runs.
std::string yolov7_sparse_declines(const Yolov7Costs& costs);

// What the sparse search did (tests/yolov7_test.cpp requires its fast
// paths to be taken).
struct Yolov7SparseStats {
  int64_t rows_costed = 0;    // GTs picked over their whole row of K columns
  int64_t copies_chosen = 0;  // GTs whose boundary split one prior's copies, no other GT picking it: no row
};

// The sparse search, or nullopt with `why_dense` set when it declines.
std::optional<match::DynamicKMatch> yolov7_sparse_match(const Yolov7Costs& costs, int64_t topk, std::string* why_dense,
                                                        Yolov7SparseStats* stats = nullptr);

}  // namespace assignscope::assign::detail
