// RTMDet's dynamic soft label assignment, as mmdetection and mmyolo compute it.
//
// dynamic-soft-label: mmdet/models/task_modules/assigners/
//   dynamic_soft_label_assigner.py, DynamicSoftLabelAssigner (commit 18cd2b4f).
// dynamic-soft-label.mmyolo: mmyolo/models/task_modules/assigners/
//   batch_dsl_assigner.py, BatchDynamicSoftLabelAssigner (mmyolo 0.6.0).
// Both in float32:
//
//   candidates   valid priors: centre strictly inside at least one GT
//                (min(l, t, r, b) > 0). G = 0: empty result.
//   cost         for a candidate v and GT g, with u = IoU(pred_v, gt_g):
//                  cls(v, g)    = sum_c BCE(x_vc, y_c) |y_c - sigmoid(x_vc)|^2,
//                                 y = u on g's class, 0 elsewhere
//                  iou(v, g)    = -log(u + 1e-7) * iou_weight
//                  centre(v, g) = 10^(|p_v - c_g| / stride_v - soft_center_radius)
//                  cost = cls + iou + centre      (in that order)
//   dynamic k    k_g = max(1, int(sum of the top min(topk, V) IoUs of g))
//   matching     each GT takes its k_g cheapest candidates (ties: lower index)
//   conflicts    a prior taken by several GTs goes to argmin_g cost(v, g) over
//                ALL GT columns (torch.min: first minimum)
//   result       positives: g + 1, g's label, u(v, g); others: 0, -1 and the
//                negative overlap.
//
// The flavours differ in named rules (Rules below), point by point as
// ../shared/golden/VARIANTS.md lists them:
//   1. class cost: all C classes (mmdet) or only the GT's class (mmyolo)
//   2./3. candidates: valid priors only (mmdet), or all N priors with cost
//      INF = 1e8 for priors inside no GT, so dynamic k sums IoUs over all N
//      (mmyolo)
//   5. padding GT columns of a stacked batch get a k and compete in conflicts
//      (mmyolo), or do not exist (mmdet, run image by image)
//   6. negatives' max_overlaps -1e8 (mmdet) or 0 (mmyolo, which also returns
//      the matched IoU as assign_metrics); mmdet returns early, all zeros,
//      when no prior is valid; mmyolo matches anyway.
//
// The class cost never touches C values per (prior, GT) pair: the per-prior
// background total sum_c term(x_c, 0) is computed once, and each pair only
// swaps in its GT's class (cost/terms.h).
#include "assign/dynamic_soft_label.h"

#include <algorithm>

#include <fmt/format.h>

#include "assign/cost_table.h"
#include "cost/terms.h"
#include "geometry/boxes.h"

namespace assignscope::assign {
namespace {

constexpr float kIouEps = 1e-7f;                 // EPS of both references
constexpr float kMmyoloInvalidCost = 100000000;  // mmyolo's INF for priors inside no GT

struct Rules {
  const char* name;
  bool class_cost_over_all_classes;  // 1.
  bool all_priors_are_candidates;    // 2., 3.
  bool padding_columns_compete;      // 5.
  float negative_overlap;            // 6.
  bool early_return_without_valid;   // 6.
  bool assign_metrics;               // 6.
};

constexpr Rules kMmdetection{"dynamic-soft-label", true, false, false, kMmdetNegativeOverlap, true, false};
constexpr Rules kMmyolo{"dynamic-soft-label.mmyolo", false, true, true, 0.0f, false, true};

struct Settings {
  float soft_center_radius;
  int64_t topk;
  float iou_weight;
};

class DynamicSoftLabel final : public Assigner {
 public:
  DynamicSoftLabel(const Rules& rules, const Params& params)
      : rules_(rules),
        params_(params),
        s_{static_cast<float>(params.get_float("soft_center_radius")), params.get_int("topk"),
           static_cast<float>(params.get_float("iou_weight"))} {}

  Assignment assign(const Problem& p) const override {
    const int64_t padding = rules_.padding_columns_compete ? static_cast<int64_t>(p.padding_gt_labels.size()) : 0;
    Assignment out;
    if (p.num_priors() == 0 || p.num_gts() + padding == 0) {
      out = nothing_to_assign(p, true);
    } else {
      // Step 1: candidates.
      const std::vector<char> valid = valid_priors(p);
      const bool any_valid = std::find(valid.begin(), valid.end(), 1) != valid.end();
      if (!any_valid && rules_.early_return_without_valid) {
        out = Assignment::Empty(p.num_priors(), p.num_gts(), 0.0f, true);
        out.notes.push_back(
            "no prior centre lies strictly inside any GT: the reference returns before matching "
            "(max_overlaps 0, dynamic k 0)");
      } else {
        out = match(p, valid, padding);
      }
    }
    out.assigner = rules_.name;
    out.params = params_;
    out.cost_terms = {"cls", "iou", "center"};
    if (rules_.assign_metrics) {
      std::vector<float> metrics(out.gt_inds.size(), 0.0f);
      for (size_t i = 0; i < out.gt_inds.size(); ++i)
        if (out.gt_inds[i] > 0) metrics[i] = out.max_overlaps[i];
      out.assign_metrics = std::move(metrics);
    }
    return out;
  }

 private:
  static std::vector<char> valid_priors(const Problem& p) {
    std::vector<char> valid(static_cast<size_t>(p.num_priors()), 0);
    for (int64_t i = 0; i < p.num_priors(); ++i)
      for (int64_t g = 0; g < p.num_gts() && !valid[i]; ++g)
        valid[i] = geometry::strictly_inside(p.priors(i, 0), p.priors(i, 1), &p.gt_bboxes(g, 0));
    return valid;
  }

  Assignment match(const Problem& p, const std::vector<char>& valid, int64_t padding) const {
    const int64_t num_gts = p.num_gts();
    const int64_t columns = num_gts + padding;
    const int64_t num_classes = p.num_classes();
    // GT columns: the real GTs, then padding (mmyolo). A padding label of -1
    // indexes the last class (torch indexing) but is reported as stored.
    std::vector<const float*> box(static_cast<size_t>(columns));
    std::vector<int64_t> label(static_cast<size_t>(columns));
    std::vector<int64_t> class_index(static_cast<size_t>(columns));
    for (int64_t g = 0; g < columns; ++g) {
      box[g] = g < num_gts ? &p.gt_bboxes(g, 0) : &p.padding_gt_bboxes(g - num_gts, 0);
      label[g] = g < num_gts ? p.gt_labels[g] : p.padding_gt_labels[g - num_gts];
      class_index[g] = label[g] < 0 ? label[g] + num_classes : label[g];
    }
    std::vector<int32_t> candidates;
    for (int64_t i = 0; i < p.num_priors(); ++i)
      if (valid[i] || rules_.all_priors_are_candidates) candidates.push_back(static_cast<int32_t>(i));
    detail::CostTable table(candidates, columns, num_gts);

    // Per candidate, what the class cost needs: the background total over
    // all classes (mmdet) and sigmoid/softplus of each class some column has.
    const detail::ClassSlots slots(class_index);
    std::vector<cost::Logit> logit(slots.classes.size());
    std::vector<float> gt_area(static_cast<size_t>(columns));
    for (int64_t g = 0; g < columns; ++g) gt_area[g] = geometry::area(box[g]);

    // The three cost terms of (v, g) for a candidate whose per-prior values are loaded.
    double background = 0;
    const auto terms_of = [&](int64_t v, int64_t g, float u) -> detail::Terms {
      const int32_t prior = table.prior(v);
      const cost::Logit& l = logit[slots.slot[g]];
      const float cls = rules_.class_cost_over_all_classes
                            ? cost::soft_class_cost(background, l, u)
                            : static_cast<float>(cost::soft_class_term(l, static_cast<double>(u)));
      return {cls, cost::log_iou_cost(u, s_.iou_weight, kIouEps),
              cost::soft_center_prior(p.priors(prior, 0), p.priors(prior, 1), p.priors(prior, 2),
                                      geometry::centre_x(box[g]), geometry::centre_y(box[g]), s_.soft_center_radius)};
    };
    const auto load_prior = [&](int64_t v) {
      const int32_t prior = table.prior(v);
      if (rules_.class_cost_over_all_classes)
        background = cost::soft_class_background_total(&p.cls_scores(prior, 0), num_classes);
      for (size_t k = 0; k < slots.classes.size(); ++k) logit[k] = cost::logit_terms(p.cls_scores(prior, slots.classes[k]));
    };

    // Step 2: cost of every (GT column, candidate).
    for (int64_t v = 0; v < table.num_candidates(); ++v) {
      const int32_t prior = table.prior(v);
      const float* pred = &p.pred_bboxes(prior, 0);
      const float pred_area = geometry::area(pred);
      if (valid[prior]) load_prior(v);
      for (int64_t g = 0; g < columns; ++g) {
        const float u = geometry::iou(pred, box[g], pred_area, gt_area[g]);
        if (!valid[prior]) {  // mmyolo: a prior inside no GT costs INF for every column
          table.record(g, v, u, {0, 0, 0}, kMmyoloInvalidCost, false);
          continue;
        }
        const detail::Terms t = terms_of(v, g, u);
        const bool inside = g < num_gts && geometry::strictly_inside(p.priors(prior, 0), p.priors(prior, 1), box[g]);
        table.record(g, v, u, t, t[0] + t[1] + t[2], inside);
      }
    }

    // Steps 3-5: dynamic k, each GT's cheapest candidates, conflicts.
    const match::DynamicKMatch m = table.match(s_.topk);

    // Step 6: the result. A picked prior inside no GT (mmyolo) costs INF
    // and has no cost terms of its own.
    Assignment out = table.assemble(p, m, label, rules_.negative_overlap, [&](int64_t g, int64_t v) {
      if (!valid[table.prior(v)]) return detail::Terms{0, 0, 0};
      load_prior(v);
      return terms_of(v, g, table.iou(g, v));
    });
    if (rules_.all_priors_are_candidates) note_mmyolo_quirks(table, m, num_gts, &out);
    return out;
  }

  // mmyolo: a GT takes its k cheapest priors from a sort over all priors, in
  // which those costing INF = 1e8 (inside no GT), or more (valid but far
  // away: 10^(d - 3) >= 1e8 from about 11 strides), come after the tie block
  // of equal 1e8 keys in an order torch.sort leaves open. And a padding
  // column can win a prior in a conflict.
  static void note_mmyolo_quirks(const detail::CostTable& table, const match::DynamicKMatch& m, int64_t num_gts,
                                 Assignment* out) {
    for (int64_t g = 0; g < num_gts; ++g) {
      int64_t below_inf = 0;
      for (int64_t v = 0; v < table.num_candidates(); ++v) below_inf += table.cost(g, v) < kMmyoloInvalidCost;
      if (m.dynamic_ks[g] > below_inf)
        out->notes.push_back(fmt::format(
            "GT {}: k = {} exceeds the {} priors costing less than INF = 1e8, so it also takes priors inside no "
            "GT (or far from it); which ones depends on torch.sort's order for equal keys, which this replay does "
            "not reproduce (lower prior index first)",
            g, m.dynamic_ks[g], below_inf));
    }
    int64_t to_padding = 0;
    for (int32_t owner : m.owner) to_padding += owner >= num_gts;
    if (to_padding > 0)
      out->notes.push_back(fmt::format(
          "{} prior{} went to padding GT columns in conflicts (mmyolo lets padding compete): assigned_gt_inds "
          "points past the image's real GTs there, as the reference's does",
          to_padding, to_padding == 1 ? "" : "s"));
  }

  Rules rules_;
  Params params_;
  Settings s_;
};

std::vector<ParamSpec> dsla_params() {
  return {
      {"soft_center_radius", ParamType::kFloat, 3.0, "radius r of the soft centre prior 10^(distance/stride - r)",
       std::nullopt, std::nullopt, {}},
      {"topk", ParamType::kInt, int64_t{13}, "how many top IoUs are summed into a GT's dynamic k", 1.0, std::nullopt,
       {}},
      {"iou_weight", ParamType::kFloat, 3.0, "weight of the -log(IoU) cost", 0.0, std::nullopt, {}},
  };
}

AssignerInfo make_info(const Rules& rules, std::string summary, std::string reference) {
  AssignerInfo info;
  info.name = rules.name;
  info.summary = std::move(summary);
  info.reference = std::move(reference);
  info.params = dsla_params();
  info.needs = {{Field::kPriors}, {Field::kClsScores}, {Field::kPredBboxes}, {Field::kGtBboxes}, {Field::kGtLabels}};
  info.result_files = {"assigned_gt_inds.npy", "assigned_labels.npy", "max_overlaps.npy", "dynamic_ks.npy"};
  if (rules.assign_metrics) info.result_files.push_back("assign_metrics.npy");
  info.numerics =
      "the soft centre prior 10^(d - soft_center_radius) overflows float32 to +Inf for a prior more than about 38.5 + "
      "soft_center_radius strides from a GT's centre, and so does that pair's cost";
  info.make = [rules](const Params& params) { return std::make_unique<DynamicSoftLabel>(rules, params); };
  return info;
}

}  // namespace

AssignerInfo dynamic_soft_label_info() {
  return make_info(kMmdetection,
                   "RTMDet dynamic soft label assignment: soft class cost + log-IoU + soft centre prior, dynamic k",
                   "mmdetection mmdet/models/task_modules/assigners/dynamic_soft_label_assigner.py "
                   "DynamicSoftLabelAssigner (commit 18cd2b4f)");
}

AssignerInfo dynamic_soft_label_mmyolo_info() {
  return make_info(kMmyolo,
                   "mmyolo's batched RTMDet assigner: class cost on the GT's class only, dynamic k over all priors, "
                   "INF cost outside every GT",
                   "mmyolo mmyolo/models/task_modules/assigners/batch_dsl_assigner.py BatchDynamicSoftLabelAssigner "
                   "(mmyolo 0.6.0, commit 8c4d9dc5)");
}

}  // namespace assignscope::assign
