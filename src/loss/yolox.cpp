// loss.yolox: YOLOXHead.get_losses, in the steps of yolox.h.
#include "loss/yolox.h"

#include <algorithm>
#include <cmath>

#include "assign/simota.h"
#include "geometry/boxes.h"

namespace assignscope::loss {
namespace {

constexpr double kRegWeight = 5.0;

Result<LossResult> compute(const Batch& batch, const LossSettings& settings) {
  LossResult r;
  // Step 1: the head's assigner.
  ASSIGNSCOPE_RETURN_IF_ERROR(head_assignment("simota.yolox", settings.assigner_params, batch, settings, &r));
  const size_t B = batch.images.size();
  int64_t L = 0, num_gts = 0, positives = 0;
  for (const Problem& p : batch.images) L = std::max(L, p.num_levels()), num_gts += p.num_gts();

  // Steps 2-4 per image.
  std::vector<std::vector<double>> iou_prior(B), obj_prior(B), cls_prior(B), obj_targets(B), target_ious(B), gt_inds(B),
      labels(B);
  std::vector<double> per_class;  // [P, C]
  // Sums per level: iou, obj, cls.
  std::vector<std::array<double, 3>> level(static_cast<size_t>(L), {0.0, 0.0, 0.0});
  for (size_t b = 0; b < B; ++b) {
    const Problem& p = batch.images[b];
    const Assignment& a = r.assignments[b];
    const auto N = static_cast<size_t>(p.num_priors());
    const int64_t C = p.num_classes();
    for (auto* v : {&iou_prior[b], &obj_prior[b], &cls_prior[b], &obj_targets[b], &target_ious[b], &gt_inds[b]})
      v->assign(N, 0.0);
    labels[b].assign(N, -1.0);
    for (size_t i = 0; i < N; ++i) {
      const auto level_of = static_cast<size_t>(p.prior_level[i]);
      const int64_t g = a.gt_inds[i] - 1;
      const double fg = g >= 0 ? 1.0 : 0.0;
      obj_prior[b][i] = bce_with_logits(static_cast<double>(p.objectness[i]), fg);
      level[level_of][1] += obj_prior[b][i];
      gt_inds[b][i] = static_cast<double>(a.gt_inds[i]);
      if (g < 0) continue;
      ++positives;
      const int64_t label = p.gt_labels[static_cast<size_t>(g)];
      labels[b][i] = static_cast<double>(label);
      obj_targets[b][i] = 1.0;
      // Step 2: IOUloss in float32 on (cx, cy, w, h).
      const auto pred = assign::pred_cxcywh_of(p, static_cast<int64_t>(i));
      const auto gt = assign::gt_cxcywh_of(p, g);
      const float u = geometry::iou_cxcywh(pred.data(), gt.data());
      iou_prior[b][i] = 1.0 - static_cast<double>(u * u);
      level[level_of][0] += iou_prior[b][i];
      // Step 4: the class target one_hot * pred_ious_this_matching.
      const auto match_iou = static_cast<double>(geometry::iou_cxcywh(gt.data(), pred.data()));
      target_ious[b][i] = match_iou;
      double cls = 0.0;
      for (int64_t c = 0; c < C; ++c) {
        const double t = bce_with_logits(static_cast<double>(p.cls_scores(static_cast<Eigen::Index>(i), c)),
                                         c == label ? match_iou : 0.0);
        per_class.push_back(t);
        cls += t;
      }
      cls_prior[b][i] = cls;
      level[level_of][2] += cls;
    }
  }

  // Step 5: num_fg and the scalars.
  const int64_t num_fg = std::max<int64_t>(positives, 1);
  const auto fg = static_cast<double>(num_fg);
  std::array<double, 3> sums{0.0, 0.0, 0.0};
  for (const auto& l : level)
    for (size_t k = 0; k < 3; ++k) sums[k] += l[k];
  const double loss_iou = kRegWeight * sums[0] / fg, loss_obj = sums[1] / fg, loss_cls = sums[2] / fg;
  r.components = {"loss_iou", "loss_obj", "loss_cls"};
  r.total = {loss_iou, loss_obj, loss_cls};
  for (const auto& l : level) r.per_level.push_back({kRegWeight * l[0] / fg, l[1] / fg, l[2] / fg});

  // Step 6: per GT and per prior.
  std::vector<std::vector<double>> iou_gt(B), cls_gt(B), obj_gt(B), npos_gt(B);
  r.per_gt.resize(B), r.per_prior.resize(B);
  for (size_t b = 0; b < B; ++b) {
    const auto G = static_cast<size_t>(batch.images[b].num_gts());
    for (auto* v : {&iou_gt[b], &cls_gt[b], &obj_gt[b], &npos_gt[b]}) v->assign(G, 0.0);
    r.per_prior[b].resize(iou_prior[b].size());
    for (size_t i = 0; i < iou_prior[b].size(); ++i) {
      r.per_prior[b][i] = {kRegWeight * iou_prior[b][i] / fg, obj_prior[b][i] / fg, cls_prior[b][i] / fg};
      const int64_t g = r.assignments[b].gt_inds[i] - 1;
      if (g < 0) continue;
      const auto gi = static_cast<size_t>(g);
      iou_gt[b][gi] += kRegWeight * iou_prior[b][i] / fg;
      cls_gt[b][gi] += cls_prior[b][i] / fg;
      obj_gt[b][gi] += obj_prior[b][i] / fg;
      npos_gt[b][gi] += 1.0;
    }
    r.per_gt[b].resize(G);
    for (size_t g = 0; g < G; ++g) r.per_gt[b][g] = {iou_gt[b][g], obj_gt[b][g], cls_gt[b][g]};
  }

  const auto P = static_cast<int64_t>(positives);
  const int64_t C = B ? batch.images[0].num_classes() : 0;
  r.files = {
      scalar_file("loss.npy", loss_iou + loss_obj + loss_cls),
      scalar_file("loss_iou.npy", loss_iou),
      scalar_file("loss_obj.npy", loss_obj),
      scalar_file("loss_cls.npy", loss_cls),
      scalar_file("loss_l1.npy", 0.0),
      scalar_file("num_fg_per_gt.npy", fg / static_cast<double>(std::max<int64_t>(num_gts, 1))),
      scalar_file("num_fg.npy", fg, FileKind::kInteger),
      per_prior_file("loss_iou_per_prior.npy", batch, iou_prior),
      per_prior_file("loss_obj_per_prior.npy", batch, obj_prior),
      per_prior_file("loss_cls_per_prior.npy", batch, cls_prior),
      per_positive_file("loss_iou_per_positive.npy", iou_prior, r.assignments),
      per_positive_file("loss_cls_per_positive.npy", cls_prior, r.assignments),
      LossFile{"loss_cls_per_positive_class.npy", {P, C}, per_class, FileKind::kTerm},
      per_prior_file("obj_targets.npy", batch, obj_targets),
      per_prior_file("cls_target_ious.npy", batch, target_ious, FileKind::kIouLike),
      pos_inds_file(batch, r.assignments),
      per_prior_file("assigned_gt_inds.npy", batch, gt_inds, FileKind::kInteger),
      per_prior_file("assigned_labels.npy", batch, labels, FileKind::kInteger),
      per_gt_file("loss_iou_per_gt.npy", batch, iou_gt),
      per_gt_file("loss_cls_per_gt.npy", batch, cls_gt),
      per_gt_file("loss_obj_pos_per_gt.npy", batch, obj_gt),
      per_gt_file("num_pos_per_gt.npy", batch, npos_gt, FileKind::kInteger),
  };
  return r;
}

}  // namespace

LossInfo yolox_loss_info() {
  LossInfo info;
  info.name = "loss.yolox";
  info.short_name = "yolox";
  info.summary = "YOLOX: IoU loss 1 - IoU^2 (weight 5), BCE objectness, BCE class on one-hot x IoU, / num_fg";
  info.reference = "YOLOX 0.3.0 YOLOXHead.get_losses (yolo_head.py, losses.py IOUloss)";
  info.needs = {Field::kClsScores, Field::kObjectness, Field::kGtBboxes, Field::kGtLabels};
  info.compute = compute;
  return info;
}

}  // namespace assignscope::loss
