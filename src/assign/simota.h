// YOLOX's SimOTA assigner: mmdetection's SimOTAAssigner and YOLOX's own, and
// the engine other SimOTA-geometry assigners plug their class cost into
// (DAMO-YOLO's AlignOTA, assign/align_ota.h).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "assign/assigner.h"

namespace assignscope::assign {

AssignerInfo simota_info();
AssignerInfo simota_yolox_info();

// YOLOX's (cx, cy, w, h) of GT g / prediction i: as the dump stored them
// (box_format "cxcywh", as YOLOX hands them to its assigner), else converted
// from xyxy in float32 (geometry::to_cxcywh).
std::array<float, 4> gt_cxcywh_of(const Problem& p, int64_t g);
std::array<float, 4> pred_cxcywh_of(const Problem& p, int64_t i);

namespace detail {

// The class cost of a SimOTA-geometry assigner, from the C class
// probabilities p of one prior, for a GT of class l whose prediction has
// IoU u with it, never touching C values per (prior, GT) pair:
//   cost = background(p) with class l's share swapped for its target's.
struct ProbClassCost {
  // Once per prior: the cost summed over all C classes against target 0.
  double (*background)(const float* probs, int64_t num_classes);
  // One pair: `background` with the GT's class (probability p_l) swapped in.
  float (*pair)(double background, float label_prob, float iou);
  // cost >= -log(p_l) at u = 0: lets the sparse search bound the cost of a
  // prediction that misses the GT by the logits (SimOTA's one-hot BCE).
  bool at_least_minus_log_label_prob;
};

// A SimOTA flavour on mmdetection's geometry (candidates in some GT's box or
// centre region, `outside_cost` unless in the GT's box AND centre region,
// -log(u + eps) IoU cost with the assigner's `eps` parameter), with its own
// class cost, INF and negatives' max_overlaps. Its info as simota's (the
// parameters center_radius, candidate_topk, iou_weight, cls_weight, eps,
// search; results; traits) under `name`; the caller states what differs.
struct SimOtaVariant {
  const char* name;
  ProbClassCost class_cost;
  float outside_cost;      // INF
  float negative_overlap;  // max_overlaps of non-positives
  double default_eps;      // the reference's eps in -log(u + eps)
};
AssignerInfo simota_variant_info(const SimOtaVariant& variant, std::string summary, std::string reference);

}  // namespace detail
}  // namespace assignscope::assign
