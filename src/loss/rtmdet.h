// loss.rtmdet: mmdetection 3.x RTMDetHead.loss_by_feat
// (mmdet/models/dense_heads/rtmdet_head.py, losses/gfocal_loss.py,
// losses/iou_loss.py, losses/utils.py; commit cfd5d3a9), as the RTMDet
// configs build it: QualityFocalLoss(beta 2, loss_weight 1), GIoULoss(eps
// 1e-6, loss_weight 2), DynamicSoftLabelAssigner(topk 13).
//
//   1. assign     the head's assigner, `dynamic-soft-label`, on the dump
//                 (predictions are the decoded boxes, priors offset 0), or
//                 the assignment given (`run -a NAME --loss rtmdet`).
//   2. targets    per prior: label = the GT's class at positives, background
//                 elsewhere; label_weight 1 (0 for an ignored prior); score = assign_metric =
//                 IoU(pred, GT) in float32 (DSLA's max_overlaps) at
//                 positives, 0 elsewhere.
//   3. QFL        per prior, over C classes: BCE(x, 0) sigmoid(x)^2, at a
//                 positive's GT class BCE(x, score) |score - sigmoid(x)|^2.
//   4. GIoU       per positive: 2 score (1 - GIoU(pred, GT)) (union and
//                 enclosing area at least 1e-6).
//   5. reduce     per level l over all images: sum / (1 + eps_f32) /
//                 avg_factor, avg_factor = max(sum of scores, 1) (float32);
//                 a level without positives has loss_bbox 0.
//   6. per GT     (derived) the GT's positives' terms / avg_factor; a
//                 negative's class loss belongs to no GT.
// Shapes: [N] (batch [B, N]), per positive [P], per GT [G] ([B, Gmax]),
// per level [L].
#pragma once

#include "loss/loss.h"

namespace assignscope::loss {

LossInfo rtmdet_loss_info();

}  // namespace assignscope::loss
