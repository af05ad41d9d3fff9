// loss.rtmdet: RTMDetHead.loss_by_feat, in the steps of rtmdet.h.
#include "loss/rtmdet.h"

#include <algorithm>
#include <cmath>

#include "geometry/boxes.h"

namespace assignscope::loss {
namespace {

constexpr double kQflBeta = 2.0;
constexpr double kClsWeight = 1.0;
constexpr double kBboxWeight = 2.0;
constexpr double kFloat32Eps = 1.1920928955078125e-07;  // weight_reduce_loss's avg_factor + eps

// Step 3: QualityFocalLoss over the C classes of prior i; `label` -1 for a
// negative.
double qfl(const Problem& p, int64_t i, int64_t label, double score) {
  double sum = 0.0;
  for (int64_t c = 0; c < p.cls_scores.cols(); ++c) {
    const auto x = static_cast<double>(p.cls_scores(i, c));
    const double s = sigmoid(x);
    if (c == label) sum += bce_with_logits(x, score) * std::pow(std::fabs(score - s), kQflBeta);
    else sum += bce_with_logits(x, 0.0) * std::pow(s, kQflBeta);
  }
  return sum;
}

Result<LossResult> compute(const Batch& batch, const LossSettings& settings) {
  LossResult r;
  // Step 1: the head's assigner.
  ASSIGNSCOPE_RETURN_IF_ERROR(head_assignment("dynamic-soft-label", settings.assigner_params, batch, settings, &r));
  const size_t B = batch.images.size();
  int64_t L = 0;
  for (const Problem& p : batch.images) L = std::max(L, p.num_levels());

  // Steps 2-4 per image: targets, QFL per prior, GIoU term per positive.
  std::vector<std::vector<double>> qfl_prior(B), bbox_prior(B), weights(B), labels(B), scores(B), gt_inds(B),
      assigned_labels(B);
  std::vector<double> cls_level(static_cast<size_t>(L), 0.0), bbox_level(static_cast<size_t>(L), 0.0);
  double metric_sum = 0.0;
  for (size_t b = 0; b < B; ++b) {
    const Problem& p = batch.images[b];
    const Assignment& a = r.assignments[b];
    const auto N = static_cast<size_t>(p.num_priors());
    qfl_prior[b].assign(N, 0.0), bbox_prior[b].assign(N, 0.0), weights[b].assign(N, 1.0);
    labels[b].assign(N, -1.0), scores[b].assign(N, 0.0), gt_inds[b].assign(N, 0.0), assigned_labels[b].assign(N, -1.0);
    for (size_t i = 0; i < N; ++i) {
      const int64_t g = a.gt_inds[i] - 1;
      const auto level = static_cast<size_t>(p.prior_level[i]);
      gt_inds[b][i] = static_cast<double>(a.gt_inds[i]);
      int64_t label = -1;
      double score = 0.0;
      if (g >= 0) {
        label = p.gt_labels[static_cast<size_t>(g)];
        const float* pred = &p.pred_bboxes(static_cast<Eigen::Index>(i), 0);
        score = static_cast<double>(geometry::iou(pred, &p.gt_bboxes(g, 0)));  // DSLA's max_overlaps
        const float giou = geometry::giou(pred, &p.gt_bboxes(g, 0));
        bbox_prior[b][i] = kBboxWeight * score * (1.0 - static_cast<double>(giou));
        bbox_level[level] += bbox_prior[b][i];
        metric_sum += score;
      }
      labels[b][i] = assigned_labels[b][i] = static_cast<double>(label);
      scores[b][i] = score;
      // An ignored prior (-1, e.g. an assigner with ignore boxes) has label_weight 0.
      weights[b][i] = a.gt_inds[i] < 0 ? 0.0 : 1.0;
      qfl_prior[b][i] = kClsWeight * weights[b][i] * qfl(p, static_cast<int64_t>(i), label, score);
      cls_level[level] += qfl_prior[b][i];
    }
  }

  // Step 5: the avg factors (float32 .item()) and the per-level reduction.
  const double avg = static_cast<double>(static_cast<float>(std::max(metric_sum, 1.0)));
  const double cls_scale = 1.0 / (1.0 + kFloat32Eps) / avg;
  std::vector<double> loss_cls(cls_level.size()), loss_bbox(bbox_level.size());
  for (size_t l = 0; l < cls_level.size(); ++l) {
    loss_cls[l] = cls_level[l] * cls_scale;
    loss_bbox[l] = bbox_level[l] * cls_scale;
  }
  double cls_sum = 0.0, bbox_sum = 0.0;
  for (size_t l = 0; l < loss_cls.size(); ++l) cls_sum += loss_cls[l], bbox_sum += loss_bbox[l];

  // Step 6: per GT and per prior, normalised like the totals.
  std::vector<std::vector<double>> cls_gt(B), bbox_gt(B), npos_gt(B);
  r.per_gt.resize(B), r.per_prior.resize(B);
  for (size_t b = 0; b < B; ++b) {
    const auto G = static_cast<size_t>(batch.images[b].num_gts());
    cls_gt[b].assign(G, 0.0), bbox_gt[b].assign(G, 0.0), npos_gt[b].assign(G, 0.0);
    r.per_prior[b].resize(qfl_prior[b].size());
    for (size_t i = 0; i < qfl_prior[b].size(); ++i) {
      r.per_prior[b][i] = {qfl_prior[b][i] * cls_scale, bbox_prior[b][i] * cls_scale};
      const int64_t g = r.assignments[b].gt_inds[i] - 1;
      if (g < 0) continue;
      cls_gt[b][static_cast<size_t>(g)] += qfl_prior[b][i] / avg;
      bbox_gt[b][static_cast<size_t>(g)] += bbox_prior[b][i] / avg;
      npos_gt[b][static_cast<size_t>(g)] += 1.0;
    }
    r.per_gt[b].resize(G);
    for (size_t g = 0; g < G; ++g) r.per_gt[b][g] = {cls_gt[b][g], bbox_gt[b][g]};
  }
  r.components = {"loss_cls", "loss_bbox"};
  r.total = {cls_sum, bbox_sum};
  for (size_t l = 0; l < loss_cls.size(); ++l) r.per_level.push_back({loss_cls[l], loss_bbox[l]});

  r.files = {
      vector_file("loss_cls.npy", loss_cls),
      vector_file("loss_bbox.npy", loss_bbox),
      scalar_file("loss_cls_sum.npy", cls_sum),
      scalar_file("loss_bbox_sum.npy", bbox_sum),
      scalar_file("loss.npy", cls_sum + bbox_sum),
      scalar_file("cls_avg_factor.npy", avg),
      scalar_file("bbox_avg_factor.npy", avg),
      per_prior_file("loss_cls_per_prior.npy", batch, qfl_prior),
      per_prior_file("loss_bbox_per_prior.npy", batch, bbox_prior),
      per_positive_file("loss_bbox_per_positive.npy", bbox_prior, r.assignments),
      pos_inds_file(batch, r.assignments),
      per_prior_file("label_weights.npy", batch, weights),
      per_prior_file("target_labels.npy", batch, labels, FileKind::kInteger),
      per_prior_file("target_scores.npy", batch, scores, FileKind::kIouLike),
      per_prior_file("assigned_gt_inds.npy", batch, gt_inds, FileKind::kInteger),
      per_prior_file("assigned_labels.npy", batch, assigned_labels, FileKind::kInteger),
      per_gt_file("loss_cls_per_gt.npy", batch, cls_gt),
      per_gt_file("loss_bbox_per_gt.npy", batch, bbox_gt),
      per_gt_file("num_pos_per_gt.npy", batch, npos_gt, FileKind::kInteger),
  };
  return r;
}

}  // namespace

LossInfo rtmdet_loss_info() {
  LossInfo info;
  info.name = "loss.rtmdet";
  info.short_name = "rtmdet";
  info.summary =
      "RTMDet: QualityFocalLoss (beta 2) on (label, IoU), GIoU loss weight 2, avg factor = sum of IoU targets";
  info.reference = "mmdetection 3.x RTMDetHead.loss_by_feat (rtmdet_head.py, gfocal_loss.py, iou_loss.py)";
  info.needs = {Field::kClsScores, Field::kGtBboxes, Field::kGtLabels};
  info.compute = compute;
  return info;
}

}  // namespace assignscope::loss
