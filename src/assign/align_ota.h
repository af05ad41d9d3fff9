// DAMO-YOLO's AlignOTA assigner: SimOTA's geometry and matching (the SimOTA
// engine, assign/simota.h) with a quality-focal class cost on probabilities.
#pragma once

#include <cstdint>

#include "assign/assigner.h"

namespace assignscope::assign {

AssignerInfo align_ota_info();

namespace detail {

// AlignOTA's class cost, F.binary_cross_entropy(p, y) * |y - p|^2 summed
// over the C classes with y = IoU on the GT's class and 0 elsewhere (logs
// clamped at -100), evaluated as SimOTA's engine asks (ProbClassCost):
//   term(p, y)  = -((1 - y) max(log(1 - p), -100) + y max(log p, -100)) (y - p)^2
//   background  = sum_c term(p_c, 0) = sum_c -max(log(1 - p_c), -100) p_c^2
//   pair        = background - term(p_l, 0) + term(p_l, u)
double quality_focal_prob_term(double p, double y);
double quality_focal_prob_background(const float* probs, int64_t num_classes);
float quality_focal_prob_pair(double background, float label_prob, float iou);

}  // namespace detail
}  // namespace assignscope::assign
