// Problem and Batch helpers: field names, class count, levels.
#include "core/problem.h"

#include <algorithm>

namespace assignscope {

const char* field_name(Field f) {
  switch (f) {
    case Field::kPriors: return "priors";
    case Field::kAnchors: return "anchors";
    case Field::kNumLevelPriors: return "num_level_priors";
    case Field::kClsScores: return "cls_scores";
    case Field::kObjectness: return "objectness";
    case Field::kPredBboxes: return "pred_bboxes";
    case Field::kPredDistances: return "pred_distances";
    case Field::kGtBboxes: return "gt_bboxes";
    case Field::kGtLabels: return "gt_labels";
    case Field::kGtBboxesIgnore: return "gt_bboxes_ignore";
    case Field::kPadGtMask: return "pad_gt_mask";
    case Field::kGtCenters: return "gt_centers";
    case Field::kCenterness: return "centerness";
    case Field::kPredDist: return "pred_dist";
  }
  return "?";
}

int64_t Problem::num_classes() const {
  if (has(Field::kClsScores)) return cls_scores.cols() - (background_column ? 1 : 0);
  return meta.num_classes.value_or(0);
}

std::vector<int32_t> levels_from_counts(const std::vector<int64_t>& num_level_priors) {
  std::vector<int32_t> level;
  for (size_t l = 0; l < num_level_priors.size(); ++l)
    level.insert(level.end(), static_cast<size_t>(num_level_priors[l]), static_cast<int32_t>(l));
  return level;
}

std::vector<int64_t> level_counts_from_strides(const Rows4f& priors) {
  std::vector<int64_t> counts;
  for (Eigen::Index i = 0; i < priors.rows(); ++i) {
    if (i == 0 || priors(i, 2) != priors(i - 1, 2) || priors(i, 3) != priors(i - 1, 3)) counts.push_back(0);
    ++counts.back();
  }
  return counts;
}

}  // namespace assignscope
