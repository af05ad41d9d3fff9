// DAMO-YOLO's AlignOTA, as ZeroHead calls it.
//
// align-ota: damo/base_models/core/ota_assigner.py, AlignOTAAssigner
//   (tinyvision/DAMO-YOLO commit 319572ee), called by
//   damo/base_models/heads/zero_head.py ZeroHead.get_target_single with
//   AlignOTAAssigner(center_radius=2.5, cls_weight=1.0, iou_weight=3.0) and
//   assign()'s eps=1e-7. In float32:
//
//   scores       p = the probabilities the head hands over: ZeroHead applies
//                the sigmoid itself, so a dump holds them (meta.scores
//                "probs"); a dump of logits is read through sigmoid, as
//                ZeroHead computes them.
//   candidates   as simota: centre strictly inside some GT box or some GT's
//                centre region (c -+ center_radius * stride); none (or G = 0):
//                empty result, max_overlaps 0, dynamic k 0.
//   cost         with u = IoU(pred_v, gt_g) (bbox_overlaps, eps 1e-6):
//                  cls  = sum_c BCE(p_c, y_c) |y_c - p_c|^2 * cls_weight,
//                         y = u on g's class, 0 elsewhere  (simota: y one-hot,
//                         no |y - p|^2 factor)
//                  iou  = -log(u + eps) * iou_weight
//                  geo  = 1e8 unless in the GT's box AND centre region
//                         (simota: 1e5)
//                  cost = (cls + iou) + geo
//   dynamic k    k_g = max(1, int(sum of the top min(candidate_topk, V) IoUs))
//   matching     each GT takes its k_g cheapest candidates; a prior taken by
//                several goes to the cheapest GT over all GTs (torch.min)
//   result       positives: g + 1, g's label, u; others: 0, -1, -1e8
//                (max_overlaps = -INF, simota -1e5).
//
// Everything but the class cost, INF and the eps parameter is SimOTA's
// engine (assign/simota.cpp, dense and sparse search alike). With INF = 1e8,
// float32 spaces the costs of pairs outside the geometry 8 apart: a GT whose
// k exceeds its in-box-and-centre priors takes the rest from mostly equal
// keys, in torch.topk's order (replayed on the dense search, declined by
// the sparse one).
#include "assign/align_ota.h"

#include <algorithm>
#include <cmath>

#include "assign/simota.h"
#include "cost/terms.h"

namespace assignscope::assign {

double detail::quality_focal_prob_term(double p, double y) {
  const double bce = -((1.0 - y) * std::fmax(std::log1p(-p), -100.0) + y * std::fmax(std::log(p), -100.0));
  const double scale = y - p;
  return bce * scale * scale;
}

double detail::quality_focal_prob_background(const float* probs, int64_t num_classes) {
  double total = 0;
  for (int64_t c = 0; c < num_classes; ++c) total += quality_focal_prob_term(static_cast<double>(probs[c]), 0.0);
  return total;
}

float detail::quality_focal_prob_pair(double background, float label_prob, float iou) {
  const auto p = static_cast<double>(label_prob);
  return static_cast<float>(background - quality_focal_prob_term(p, 0.0) +
                            quality_focal_prob_term(p, static_cast<double>(iou)));
}

AssignerInfo align_ota_info() {
  // The class cost at u = 0 is the background total, below -log p_l: no
  // logit bound for the sparse search's misses.
  const detail::SimOtaVariant variant{"align-ota",
                                      {detail::quality_focal_prob_background, detail::quality_focal_prob_pair, false},
                                      100000000.0f,
                                      kMmdetNegativeOverlap,
                                      1e-7};
  AssignerInfo info = detail::simota_variant_info(
      variant,
      "DAMO-YOLO's AlignOTA: SimOTA's geometry and dynamic k with a quality-focal class cost on probabilities, "
      "+1e8 outside box-and-centre",
      "DAMO-YOLO damo/base_models/core/ota_assigner.py AlignOTAAssigner as ZeroHead.get_target_single calls it "
      "(commit 319572ee)");
  for (ParamSpec& spec : info.params)
    if (spec.name == "cls_weight") spec.help = "weight of the quality-focal class cost";
  info.aliases = {"damo-yolo"};
  info.class_names = {{"AlignOTAAssigner", ClassName::Syntax::kAny}};
  info.replays = [](const Params&) {
    return std::vector<FrameworkRange>{{"damo-yolo", "", "", "DAMO-YOLO (commit 319572ee)"}};
  };
  // SimOTA's traits (its engine), with a cost of its own: the class term
  // is a quality-focal cost, the geometry term 1e8.
  info.traits.cost = CostDefinition::kAlignOta;
  return info;
}

}  // namespace assignscope::assign
