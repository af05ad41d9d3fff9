// loss.yolox: YOLOX 0.3.0 YOLOXHead.get_losses (yolox/models/yolo_head.py,
// yolox/models/losses.py IOUloss; commit 6ddff482), use_l1 False.
//
//   1. assign     the head's assigner, `simota.yolox`, on the dump, or the
//                 assignment given (`run -a NAME --loss yolox`).
//   2. IoU        per positive, in float32 from the (cx, cy, w, h) pred and
//                 its GT (corners c -+ wh / 2, union + 1e-16):
//                 loss_iou term 1 - IoU^2.
//   3. objectness per prior: BCEWithLogits(obj, 1 at positives else 0).
//   4. class      per positive: sum over C of BCEWithLogits(x_c,
//                 one_hot(GT class) * IoU), IoU =
//                 pred_ious_this_matching, SimOTA's bboxes_iou(gt, pred) in
//                 float32; no class loss on negatives.
//   5. reduce     num_fg = max(positives in the batch, 1); loss_iou = 5 sum /
//                 num_fg, loss_obj, loss_cls = sum / num_fg; loss = their
//                 sum (+ loss_l1 = 0); num_fg_per_gt = num_fg / max(G, 1).
//   6. per GT     (derived) each GT's positives' terms, weighted and
//                 normalised; loss_obj_pos_per_gt its positives' objectness.
// Shapes: [N] (batch [B, N]), per positive [P], per GT [G] ([B, Gmax]).
#pragma once

#include "loss/loss.h"

namespace assignscope::loss {

LossInfo yolox_loss_info();

}  // namespace assignscope::loss
