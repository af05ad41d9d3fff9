// What a replay reports where its reference computes NaN or Inf from finite
// inputs (docs/assigners.md, "Numerics"): YOLOX's IoU of two empty boxes is
// 0 / 0, RTMDet's soft centre prior 10^(d - r) overflows float32 far from a
// GT. The decisions keep the reference's semantics (torch ranks NaN above
// every number); the reported numbers are made finite and a warning says
// how many were replaced, why, and by what:
//   IoUs and max_overlaps, soft targets, plan entries, targets   NaN -> 0
//   costs and cost terms      NaN, +Inf -> +FLT_MAX (ranked last, as torch
//                             ranks them), -Inf -> -FLT_MAX
// Inputs that hold NaN or Inf themselves (--allow-nonfinite) are left as the
// reference's arithmetic makes them: the loader has warned already.
#pragma once

#include <string>

#include "core/assignment.h"
#include "core/problem.h"

namespace assignscope::assign {

// `why`: where this assigner's reference yields NaN / Inf (AssignerInfo::numerics).
void make_reports_finite(const Problem& problem, const std::string& why, Assignment* out);

}  // namespace assignscope::assign
