// O2F's soft targets as the reports show them (table, JSON, CSV, SVG): each
// GT's best positive (soft label 1, weight max_soft_weight) and its
// ambiguous positives (soft label prob / max prob * t < 1, weight
// soft_weight). The best is told by its soft label: an ambiguous one's is at
// most t <= 0.6 (o2f's epoch range keeps t in [0.2, 0.6]).
#pragma once

#include <cstdint>

#include "core/assignment.h"

namespace assignscope::render {

enum class SoftRole { kNone, kBest, kAmbiguous };

// kNone for negatives and for assigners without soft labels.
inline SoftRole soft_role(const Assignment& a, int64_t prior) {
  const auto i = static_cast<size_t>(prior);
  if (!a.soft_labels || a.gt_inds[i] <= 0) return SoftRole::kNone;
  return (*a.soft_labels)[i] == 1.0f ? SoftRole::kBest : SoftRole::kAmbiguous;
}

}  // namespace assignscope::render
