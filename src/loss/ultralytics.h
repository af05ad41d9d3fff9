// loss.ultralytics: ultralytics v8DetectionLoss (ultralytics/utils/loss.py,
// BboxLoss, bbox_iou of metrics.py, bbox2dist of tal.py), 8.2.0
// (c7cad832) and 8.4.52 (93e05552), with the default hyper-parameters box
// 7.5, cls 0.5, dfl 1.5 and reg_max 16.
//
//   1. assign     the head's assigner, `task-aligned.ultralytics` (topk 10,
//                 alpha 0.5, beta 6; 8.4: stride [8, 16, 32], STAL), or the
//                 assignment given (`run -a NAME --loss ultralytics`).
//   2. targets    per prior: w = the normalised align metric at positives
//                 (target_scores, one-hot over C), 0 elsewhere; for an
//                 assignment without one, TAL's normalisation over each
//                 GT's positives (sigmoid^0.5 CIoU^6, t U / (T + 1e-9));
//                 target_scores_sum = max(sum of w, 1) (float32).
//   3. class      per prior: sum over C of BCEWithLogits(x_c, one_hot * w).
//   4. box        per positive, in grid units (pixels / stride): CIoU(pred,
//                 GT) in float32; term (1 - CIoU) w.
//   5. DFL        per positive: t = ltrb of the GT from the anchor point,
//                 clamped to [0, reg_max - 1.01]; per side CE(logits,
//                 floor t) (floor t + 1 - t) + CE(logits, floor t + 1) (t -
//                 floor t), mean over the 4 sides; term DFL w.
//   6. reduce     box 7.5, cls 0.5, dfl 1.5 x sum / target_scores_sum (box and
//                 dfl 0 without positives); loss = (box + cls + dfl) B (8.2,
//                 scalar) | (box, cls, dfl) B (8.4, [3]).
//   7. per GT     (derived) [B, Gmax, 3]: each GT's positives' terms, weighted
//                 and normalised; a negative's class loss belongs to no GT.
// Shapes always carry the batch: [B, N], per positive [P] ([P, 2] pos_inds).
#pragma once

#include "loss/loss.h"

namespace assignscope::loss {

LossInfo ultralytics_loss_info();

}  // namespace assignscope::loss
