#include "assign/finite_reports.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace assignscope::assign {
namespace {

bool all_finite(const float* v, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(v[i])) return false;
  return true;
}

bool inputs_finite(const Problem& p) {
  for (const Rows4f* rows : {&p.priors, &p.anchors, &p.pred_bboxes, &p.gt_bboxes, &p.gt_bboxes_ignore})
    if (!all_finite(rows->data(), static_cast<size_t>(rows->size()))) return false;
  return all_finite(p.cls_scores.data(), static_cast<size_t>(p.cls_scores.size())) &&
         all_finite(p.objectness.data(), p.objectness.size());
}

// Replaces NaN by `nan_as`; counts what it replaced.
int64_t fix_values(std::vector<float>* v, float nan_as) {
  int64_t n = 0;
  for (float& x : *v)
    if (!std::isfinite(x))
      x = std::isnan(x) ? nan_as : (x > 0 ? std::numeric_limits<float>::max() : -std::numeric_limits<float>::max()),
      ++n;
  return n;
}

// A cost: NaN ranks above every number in torch's sorts, as +Inf does.
int64_t fix_cost(float* x) {
  if (std::isfinite(*x)) return 0;
  *x = std::isnan(*x) || *x > 0 ? std::numeric_limits<float>::max() : -std::numeric_limits<float>::max();
  return 1;
}

bool has_nonfinite(const Assignment& a) {
  if (!all_finite(a.max_overlaps.data(), a.max_overlaps.size())) return true;
  for (const auto* v : {&a.assign_metrics, &a.assign_metrics_raw, &a.transport_plan, &a.bbox_targets, &a.soft_labels})
    if (*v && !all_finite((*v)->data(), (*v)->size())) return true;
  for (const CandidatePair& c : a.candidates)
    if (!std::isfinite(c.iou) || !std::isfinite(c.cost) || !all_finite(c.terms.data(), c.terms.size())) return true;
  return false;
}

}  // namespace

void make_reports_finite(const Problem& problem, const std::string& why, Assignment* out) {
  if (!has_nonfinite(*out) || !inputs_finite(problem)) return;
  int64_t overlaps = fix_values(&out->max_overlaps, 0.0f);
  for (auto* v :
       {&out->assign_metrics, &out->assign_metrics_raw, &out->transport_plan, &out->bbox_targets, &out->soft_labels})
    if (*v) overlaps += fix_values(&**v, 0.0f);
  int64_t ious = 0, costs = 0;
  for (CandidatePair& c : out->candidates) {
    if (std::isnan(c.iou)) c.iou = 0.0f, ++ious;
    int64_t fixed = fix_cost(&c.cost);
    for (float& t : c.terms) fixed += fix_cost(&t);
    costs += fixed > 0;
  }
  std::string what;
  const auto add = [&](int64_t n, const char* text) {
    if (n > 0) what += fmt::format("{}{} {}", what.empty() ? "" : ", ", n, text);
  };
  add(overlaps, "per-prior value(s) (max_overlaps, soft targets, plan) NaN -> 0");
  add(ious, "pair IoU(s) NaN -> 0");
  add(costs, "pair cost(s) NaN/Inf -> 3.4e38 (ranked last, as torch ranks them)");
  out->warnings.push_back(
      fmt::format("the reference computes NaN or Inf here from finite inputs ({}); reported as: {}; "
                  "the assignment follows the reference's handling of them",
                  why.empty() ? "see docs/assigners.md, Numerics" : why, what));
}

}  // namespace assignscope::assign
