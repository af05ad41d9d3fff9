// Anchor boxes for the anchor-based assigners (ATSS, max-IoU, task-aligned).
#pragma once

#include "core/problem.h"

namespace assignscope::assign {

// The dump's `anchors` when it has them; otherwise a square of side
// anchor_scale * stride centred on each prior, in float32 as the references'
// harnesses built them: (cx - h, cy - h, cx + h, cy + h), h = anchor_scale *
// stride / 2 (mmyolo: cell_half_size = stride * anchor_scale / 2).
Rows4f anchor_boxes(const Problem& problem, double anchor_scale);

// Anchor centres ((x1 + x2) / 2, (y1 + y2) / 2) in float32, as mmdetection's
// assigners take them from the priors they are given.
Rows4f anchor_centres(const Rows4f& anchors);  // [N, 4]: (cx, cy, 0, 0)

}  // namespace assignscope::assign
