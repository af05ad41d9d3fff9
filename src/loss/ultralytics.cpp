// loss.ultralytics: v8DetectionLoss, in the steps of ultralytics.h.
#include "loss/ultralytics.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "geometry/boxes.h"

namespace assignscope::loss {
namespace {

constexpr double kBoxGain = 7.5, kClsGain = 0.5, kDflGain = 1.5;

// Step 5: DFL of one positive; `logits` the 4 x R side-major distribution.
double dfl(const float* logits, int64_t R, const std::array<float, 4>& t) {
  double sum = 0.0;
  for (int side = 0; side < 4; ++side) {
    const float* row = logits + side * R;
    double mx = static_cast<double>(row[0]);
    for (int64_t k = 1; k < R; ++k) mx = std::max(mx, static_cast<double>(row[k]));
    double se = 0.0;
    for (int64_t k = 0; k < R; ++k) se += std::exp(static_cast<double>(row[k]) - mx);
    const double lse = mx + std::log(se);
    const auto tl = static_cast<int64_t>(t[static_cast<size_t>(side)]);
    const auto tr = std::min(tl + 1, R - 1);
    const float wl = static_cast<float>(tl + 1) - t[static_cast<size_t>(side)];
    const float wr = 1.0f - wl;
    sum += (lse - static_cast<double>(row[tl])) * static_cast<double>(wl) +
           (lse - static_cast<double>(row[tr])) * static_cast<double>(wr);
  }
  return sum / 4.0;
}

// Step 2 for an assignment without TAL's soft targets (another assigner):
// TAL's normalisation over each GT's positives, t = sigmoid(x)^0.5 *
// CIoU(gt, pred)^6 (pixels, clamped at 0), w = t * U / (T + 1e-9), T and U
// the largest t and CIoU among the GT's positives.
std::vector<float> derived_weights(const Problem& p, const Assignment& a) {
  const auto N = static_cast<size_t>(p.num_priors());
  const auto G = static_cast<size_t>(p.num_gts());
  std::vector<float> t(N, 0.0f), u(N, 0.0f), w(N, 0.0f), T(G, 0.0f), U(G, 0.0f);
  for (size_t i = 0; i < N; ++i) {
    const int64_t g = a.gt_inds[i] - 1;
    if (g < 0) continue;
    const auto row = static_cast<Eigen::Index>(i);
    const float ciou = std::max(geometry::ciou(&p.gt_bboxes(g, 0), &p.pred_bboxes(row, 0)), 0.0f);
    const auto s =
        static_cast<float>(sigmoid(static_cast<double>(p.cls_scores(row, p.gt_labels[static_cast<size_t>(g)]))));
    u[i] = ciou;
    t[i] = std::sqrt(s) * std::pow(ciou, 6.0f);
    T[static_cast<size_t>(g)] = std::max(T[static_cast<size_t>(g)], t[i]);
    U[static_cast<size_t>(g)] = std::max(U[static_cast<size_t>(g)], u[i]);
  }
  for (size_t i = 0; i < N; ++i) {
    const int64_t g = a.gt_inds[i] - 1;
    if (g >= 0) w[i] = t[i] * U[static_cast<size_t>(g)] / (T[static_cast<size_t>(g)] + 1e-9f);
  }
  return w;
}

Result<LossResult> compute(const Batch& batch, const LossSettings& settings) {
  LossResult r;
  // The version: as given (params.json, `--loss ultralytics+v8.4`), else
  // what the dumps record (the hooks write meta.framework_version), else 8.2.0.
  std::string version = "8.2.0";
  if (settings.params.contains("version") && settings.params["version"].is_string()) {
    version = settings.params["version"].get<std::string>();
  } else if (!batch.images.empty() && std::all_of(batch.images.begin(), batch.images.end(), [](const Problem& p) {
               return p.meta.framework == "ultralytics" && p.meta.framework_version.rfind("8.4.", 0) == 0;
             })) {
    version = "8.4.52";
    r.notes.push_back(
        fmt::format("the dump records ultralytics {}: 8.4.52's v8DetectionLoss replayed (its loss.npy "
                    "is the [3] vector (box, cls, dfl) x B); --loss ultralytics+v8.2 for 8.2.0's",
                    batch.images[0].meta.framework_version));
  }
  if (version != "8.2.0" && version != "8.4.52")
    return Status::Unsupported(
        fmt::format("loss.ultralytics: version '{}' is not replayed (8.2.0 or 8.4.52)", version));
  const bool v84 = version == "8.4.52";
  // Step 1: the head's assigner (the loss builds it with topk 10, alpha 0.5, beta 6).
  nlohmann::json assigner_params = {{"topk", 10}, {"alpha", 0.5}, {"beta", 6.0}};
  if (v84) assigner_params["stride"] = {8.0, 16.0, 32.0};
  for (const auto& [k, v] : settings.assigner_params.items()) assigner_params[k] = v;
  ASSIGNSCOPE_RETURN_IF_ERROR(head_assignment("task-aligned.ultralytics", assigner_params, batch, settings, &r));
  const size_t B = batch.images.size();
  int64_t L = 0;
  for (const Problem& p : batch.images) L = std::max(L, p.num_levels());

  // Steps 2-5 per image.
  std::vector<std::vector<double>> cls_prior(B), box_prior(B), dfl_prior(B), dfl_raw(B), ciou_prior(B), w_prior(B),
      gt_inds(B), labels(B);
  std::vector<double> dfl_targets;  // [P, 4]
  std::vector<std::array<double, 3>> level(static_cast<size_t>(L), {0.0, 0.0, 0.0});
  double w_sum = 0.0;
  for (size_t b = 0; b < B; ++b) {
    const Problem& p = batch.images[b];
    const Assignment& a = r.assignments[b];
    const auto N = static_cast<size_t>(p.num_priors());
    const int64_t C = p.num_classes();
    // TAL's own soft targets when the assignment is a task-aligned one.
    const bool tal = a.assign_metrics && a.assigner.rfind("task-aligned", 0) == 0;
    const std::vector<float> weights = tal ? *a.assign_metrics : derived_weights(p, a);
    const int64_t R = p.meta.reg_max.value_or(p.pred_dist.cols() / 4);
    if (R < 2 || p.pred_dist.cols() != 4 * R)
      return Status::InvalidInput(fmt::format("{}: pred_dist has {} columns; loss.ultralytics needs 4 x reg_max ({})",
                                              batch.source, p.pred_dist.cols(), R));
    for (auto* v : {&cls_prior[b], &box_prior[b], &dfl_prior[b], &dfl_raw[b], &ciou_prior[b], &w_prior[b], &gt_inds[b]})
      v->assign(N, 0.0);
    labels[b].assign(N, -1.0);
    for (size_t i = 0; i < N; ++i) {
      const auto row = static_cast<Eigen::Index>(i);
      const auto lv = static_cast<size_t>(p.prior_level[i]);
      const int64_t g = a.gt_inds[i] - 1;
      gt_inds[b][i] = static_cast<double>(a.gt_inds[i]);
      const int64_t label = g >= 0 ? p.gt_labels[static_cast<size_t>(g)] : -1;
      const double w = g >= 0 ? static_cast<double>(weights[i]) : 0.0;
      // Step 3.
      double cls = 0.0;
      for (int64_t c = 0; c < C; ++c)
        cls += bce_with_logits(static_cast<double>(p.cls_scores(row, c)), c == label ? w : 0.0);
      cls_prior[b][i] = cls;
      level[lv][1] += cls;
      if (g < 0) continue;
      labels[b][i] = static_cast<double>(label);
      w_prior[b][i] = w;
      w_sum += w;
      // Step 4: grid units.
      const float s = p.priors(row, 2);
      const float ax = p.priors(row, 0) / s, ay = p.priors(row, 1) / s;
      std::array<float, 4> pred{}, gt{};
      for (int k = 0; k < 4; ++k) pred[k] = p.pred_bboxes(row, k) / s, gt[k] = p.gt_bboxes(g, k) / s;
      const float ciou = geometry::ciou(pred.data(), gt.data());
      ciou_prior[b][i] = static_cast<double>(ciou);
      box_prior[b][i] = (1.0 - static_cast<double>(ciou)) * w;
      level[lv][0] += box_prior[b][i];
      // Step 5.
      const auto limit = static_cast<float>(static_cast<double>(R - 1) - 0.01);
      std::array<float, 4> t = {ax - gt[0], ay - gt[1], gt[2] - ax, gt[3] - ay};
      for (float& d : t) d = std::min(std::max(d, 0.0f), limit);
      for (float d : t) dfl_targets.push_back(static_cast<double>(d));
      dfl_raw[b][i] = dfl(&p.pred_dist(row, 0), R, t);
      dfl_prior[b][i] = dfl_raw[b][i] * w;
      level[lv][2] += dfl_prior[b][i];
    }
  }

  // Step 6.
  const double tss = static_cast<double>(static_cast<float>(std::max(w_sum, 1.0)));
  const std::array<double, 3> gains{kBoxGain, kClsGain, kDflGain};
  std::array<double, 3> items{0.0, 0.0, 0.0};
  for (const auto& l : level) {
    r.per_level.push_back({});
    for (size_t k = 0; k < 3; ++k) {
      items[k] += gains[k] * l[k] / tss;
      r.per_level.back().push_back(gains[k] * l[k] / tss);
    }
  }
  r.components = {"loss_box", "loss_cls", "loss_dfl"};
  r.total = {items[0], items[1], items[2]};
  const auto Bd = static_cast<double>(B);

  // Step 7.
  int64_t cols = batch.gt_columns;
  for (const Problem& p : batch.images) cols = std::max(cols, p.num_gts());
  std::vector<double> per_gt(B * static_cast<size_t>(cols) * 3, 0.0);
  std::vector<std::vector<double>> npos(B);
  r.per_gt.resize(B), r.per_prior.resize(B);
  for (size_t b = 0; b < B; ++b) {
    const auto G = static_cast<size_t>(batch.images[b].num_gts());
    npos[b].assign(G, 0.0);
    r.per_gt[b].assign(G, {0.0, 0.0, 0.0});
    r.per_prior[b].resize(cls_prior[b].size());
    for (size_t i = 0; i < cls_prior[b].size(); ++i) {
      const std::vector<double> terms = {kBoxGain * box_prior[b][i] / tss, kClsGain * cls_prior[b][i] / tss,
                                         kDflGain * dfl_prior[b][i] / tss};
      r.per_prior[b][i] = terms;
      const int64_t g = r.assignments[b].gt_inds[i] - 1;
      if (g < 0) continue;
      npos[b][static_cast<size_t>(g)] += 1.0;
      for (size_t k = 0; k < 3; ++k) {
        r.per_gt[b][static_cast<size_t>(g)][k] += terms[k];
        per_gt[(b * static_cast<size_t>(cols) + static_cast<size_t>(g)) * 3 + k] += terms[k];
      }
    }
  }

  const std::vector<double> item_vec = {items[0], items[1], items[2]};
  const auto P = static_cast<int64_t>(dfl_targets.size() / 4);
  r.files = {
      v84 ? vector_file("loss.npy", {items[0] * Bd, items[1] * Bd, items[2] * Bd})
          : scalar_file("loss.npy", (items[0] + items[1] + items[2]) * Bd),
      vector_file("loss_items.npy", item_vec),
      scalar_file("loss_box.npy", items[0]),
      scalar_file("loss_cls.npy", items[1]),
      scalar_file("loss_dfl.npy", items[2]),
      scalar_file("target_scores_sum.npy", tss),
      per_prior_file("loss_cls_per_prior.npy", batch, cls_prior, FileKind::kTerm, true),
      LossFile{"ciou_per_positive.npy",
               {},
               per_positive_file("", ciou_prior, r.assignments).values,
               FileKind::kIouLike},
      per_positive_file("bbox_weight_per_positive.npy", w_prior, r.assignments),
      per_positive_file("loss_box_per_positive.npy", box_prior, r.assignments),
      per_positive_file("loss_dfl_per_positive_unweighted.npy", dfl_raw, r.assignments),
      per_positive_file("loss_dfl_per_positive.npy", dfl_prior, r.assignments),
      LossFile{"dfl_targets_per_positive.npy", {P, 4}, dfl_targets, FileKind::kTerm},
      pos_inds_file(batch, r.assignments, true),
      per_prior_file("assigned_gt_inds.npy", batch, gt_inds, FileKind::kInteger, true),
      per_prior_file("assigned_labels.npy", batch, labels, FileKind::kInteger, true),
      per_prior_file("target_scores.npy", batch, w_prior, FileKind::kIouLike, true),
      LossFile{"loss_per_gt.npy", {static_cast<int64_t>(B), cols, 3}, per_gt, FileKind::kTerm},
      per_gt_file("num_pos_per_gt.npy", batch, npos, FileKind::kInteger, true),
  };
  r.files[7].shape = {static_cast<int64_t>(r.files[7].values.size())};
  return r;
}

}  // namespace

LossInfo ultralytics_loss_info() {
  LossInfo info;
  info.name = "loss.ultralytics";
  info.short_name = "ultralytics";
  info.summary = "ultralytics v8DetectionLoss: BCE class / target_scores_sum (0.5), CIoU (7.5), DFL (1.5)";
  info.reference = "ultralytics 8.2.0 / 8.4.52 v8DetectionLoss (utils/loss.py, tal.py, metrics.py)";
  info.needs = {Field::kClsScores, Field::kPredDist, Field::kGtBboxes, Field::kGtLabels};
  info.presets = {{"v8.2", "ultralytics 8.2.0: loss.npy the scalar (box + cls + dfl) x B", {{"version", "8.2.0"}}},
                  {"v8.4",
                   "ultralytics 8.4.52: loss.npy the [3] vector (box, cls, dfl) x B; the assigner with STAL",
                   {{"version", "8.4.52"}}}};
  info.compute = compute;
  return info;
}

}  // namespace assignscope::loss
