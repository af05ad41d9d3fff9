// RTMDet's dynamic soft label assignment, as mmdetection computes it.
//
// Mirrors mmdet/models/task_modules/assigners/dynamic_soft_label_assigner.py
// (DynamicSoftLabelAssigner, commit 18cd2b4f) in float32:
//
//   candidates   priors whose centre lies strictly inside at least one GT
//                (min(l, t, r, b) > 0): the "valid" priors V. No valid prior,
//                or G = 0: empty result, max_overlaps 0, dynamic k 0.
//   cost         for every valid prior v and GT g, with u = IoU(pred_v, gt_g):
//                  cls(v, g)    = sum_c BCE(x_vc, y_c) |y_c - sigmoid(x_vc)|^2,
//                                 y = u on g's class, 0 elsewhere
//                  iou(v, g)    = -log(u + 1e-7) * iou_weight
//                  centre(v, g) = 10^(|p_v - c_g| / stride_v - soft_center_radius)
//                  cost = cls + iou + centre      (in that order, float32)
//   dynamic k    k_g = max(1, int(sum of the top min(topk, |V|) IoUs of g over V))
//   matching     each GT takes its k_g cheapest valid priors (ties: lower index)
//   conflicts    a prior taken by several GTs goes to argmin_g cost(v, g) over
//                ALL GTs, including GTs that did not take it (torch.min: first
//                minimum); a GT can end with no positive.
//   result       positives: gt_inds = g + 1, label of g, max_overlaps = u(v, g);
//                every other prior: 0, -1, -100000000.0.
//
// The class cost never touches C values per (prior, GT) pair: the per-prior
// background total sum_c term(x_c, 0) is computed once, and each pair only
// swaps in its GT's class (cost/terms.h).
#include "assign/dynamic_soft_label.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cost/terms.h"
#include "geometry/boxes.h"
#include "match/dynamic_k.h"

namespace assignscope::assign {
namespace {

constexpr float kIouEps = 1e-7f;  // EPS of the reference

struct Settings {
  float soft_center_radius;
  int64_t topk;
  float iou_weight;
};

// Dense costs over (GT, valid prior), GT-major so that each GT's column of
// candidates is contiguous for its top-k.
struct CostTable {
  int64_t num_valid = 0;
  std::vector<float> iou;   // [G, V]
  std::vector<float> cost;  // [G, V]
  float at(const std::vector<float>& m, int64_t g, int64_t v) const {
    return m[static_cast<size_t>(g * num_valid + v)];
  }
};

class DynamicSoftLabel final : public Assigner {
 public:
  explicit DynamicSoftLabel(const Params& params)
      : params_(params),
        s_{static_cast<float>(params.get_float("soft_center_radius")), params.get_int("topk"),
           static_cast<float>(params.get_float("iou_weight"))} {}

  Assignment assign(const Problem& p) const override {
    const int64_t num_priors = p.num_priors();
    const int64_t num_gts = p.num_gts();
    Assignment out;
    if (num_gts == 0 || num_priors == 0) {
      out = Assignment::Empty(num_priors, num_gts, 0.0f, true);
      out.notes.push_back(num_gts == 0 ? "no ground truth: every prior is negative"
                                       : "no priors: nothing to assign");
    } else {
      // Step 1: candidates.
      const std::vector<int32_t> valid = valid_priors(p);
      if (valid.empty()) {
        out = Assignment::Empty(num_priors, num_gts, 0.0f, true);
        out.notes.push_back(
            "no prior centre lies strictly inside any GT: the reference returns before matching "
            "(max_overlaps 0, dynamic k 0)");
      } else {
        out = match(p, valid);
      }
    }
    out.assigner = "dynamic-soft-label";
    out.params = params_;
    out.cost_terms = {"cls", "iou", "center"};
    return out;
  }

 private:
  static std::vector<int32_t> valid_priors(const Problem& p) {
    std::vector<int32_t> valid;
    for (int64_t i = 0; i < p.num_priors(); ++i) {
      for (int64_t g = 0; g < p.num_gts(); ++g) {
        if (geometry::strictly_inside(p.priors(i, 0), p.priors(i, 1), &p.gt_bboxes(g, 0))) {
          valid.push_back(static_cast<int32_t>(i));
          break;
        }
      }
    }
    return valid;
  }

  // Cost terms of one (prior, GT) pair; `background_total` is the prior's
  // sum_c term(x_c, 0), `label_logit` its logit of the GT's class.
  std::array<float, 3> terms(const Problem& p, int64_t prior, int64_t gt, float iou, double background_total,
                             const cost::Logit& label_logit) const {
    const float* box = &p.gt_bboxes(gt, 0);
    return {cost::soft_class_cost(background_total, label_logit, iou),
            cost::log_iou_cost(iou, s_.iou_weight, kIouEps),
            cost::soft_center_prior(p.priors(prior, 0), p.priors(prior, 1), p.priors(prior, 2),
                                    geometry::centre_x(box), geometry::centre_y(box), s_.soft_center_radius)};
  }

  static float total(const std::array<float, 3>& t) { return t[0] + t[1] + t[2]; }

  // A GT's reported pairs are kept in prior order.
  static CandidatePair* find_pair(std::vector<CandidatePair>* pairs, int32_t prior) {
    auto it = std::lower_bound(pairs->begin(), pairs->end(), prior,
                               [](const CandidatePair& a, int32_t b) { return a.prior < b; });
    return it != pairs->end() && it->prior == prior ? &*it : nullptr;
  }
  static CandidatePair* insert_pair(std::vector<CandidatePair>* pairs, const CandidatePair& pair) {
    auto it = std::lower_bound(pairs->begin(), pairs->end(), pair.prior,
                               [](const CandidatePair& a, int32_t b) { return a.prior < b; });
    return &*pairs->insert(it, pair);
  }

  Assignment match(const Problem& p, const std::vector<int32_t>& valid) const {
    const int64_t num_priors = p.num_priors();
    const int64_t num_gts = p.num_gts();
    const auto num_valid = static_cast<int64_t>(valid.size());
    const int64_t num_classes = p.num_classes();

    // Step 2: cost of every (GT, valid prior). Per prior, the background
    // class total and the sigmoid/softplus of each class some GT has.
    std::vector<int64_t> classes = p.gt_labels;  // the distinct GT classes
    std::sort(classes.begin(), classes.end());
    classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
    const auto num_gt_classes = static_cast<int64_t>(classes.size());
    std::vector<int64_t> class_slot(static_cast<size_t>(num_gts));  // [G] -> index into classes
    for (int64_t g = 0; g < num_gts; ++g)
      class_slot[g] = std::lower_bound(classes.begin(), classes.end(), p.gt_labels[g]) - classes.begin();
    std::vector<double> background(valid.size());                                       // [V]
    std::vector<cost::Logit> gt_class_logit(static_cast<size_t>(num_valid * num_gt_classes));  // [V, classes]
    const auto logit_of = [&](int64_t v, int64_t g) -> const cost::Logit& {
      return gt_class_logit[static_cast<size_t>(v * num_gt_classes + class_slot[g])];
    };
    std::vector<float> gt_area(static_cast<size_t>(num_gts));  // [G]
    for (int64_t g = 0; g < num_gts; ++g) gt_area[g] = geometry::area(&p.gt_bboxes(g, 0));
    CostTable table;
    table.num_valid = num_valid;
    table.iou.resize(static_cast<size_t>(num_gts * num_valid));
    table.cost.resize(table.iou.size());
    // The pairs worth reporting are recorded as they are costed: those inside
    // their GT now, picked ones outside it in step 6. By GT, in prior order.
    std::vector<std::vector<CandidatePair>> reported(static_cast<size_t>(num_gts));
    const auto make_pair = [&](int64_t v, int64_t g, const std::array<float, 3>& t, bool inside) {
      CandidatePair pair;
      pair.prior = valid[v];
      pair.gt = static_cast<int32_t>(g);
      pair.iou = table.at(table.iou, g, v);
      pair.terms = t;
      pair.cost = table.at(table.cost, g, v);
      pair.inside = inside;
      return pair;
    };
    for (int64_t v = 0; v < num_valid; ++v) {
      const int32_t prior = valid[v];
      background[v] = cost::soft_class_background_total(&p.cls_scores(prior, 0), num_classes);
      for (int64_t k = 0; k < num_gt_classes; ++k)
        gt_class_logit[static_cast<size_t>(v * num_gt_classes + k)] = cost::logit_terms(p.cls_scores(prior, classes[k]));
      const float* pred = &p.pred_bboxes(prior, 0);
      const float pred_area = geometry::area(pred);
      for (int64_t g = 0; g < num_gts; ++g) {
        const float u = geometry::iou(pred, &p.gt_bboxes(g, 0), pred_area, gt_area[g]);
        const size_t at = static_cast<size_t>(g * num_valid + v);
        table.iou[at] = u;
        const std::array<float, 3> t = terms(p, prior, g, u, background[v], logit_of(v, g));
        table.cost[at] = total(t);
        if (geometry::strictly_inside(p.priors(prior, 0), p.priors(prior, 1), &p.gt_bboxes(g, 0)))
          reported[g].push_back(make_pair(v, g, t, true));
      }
    }

    // Step 3: dynamic k of every GT.
    Assignment out = Assignment::Empty(num_priors, num_gts, kMmdetNegativeOverlap, true);
    for (int64_t g = 0; g < num_gts; ++g) {
      const auto first = table.iou.begin() + g * num_valid;
      out.dynamic_ks[g] = match::dynamic_k(std::vector<float>(first, first + num_valid), s_.topk);
    }

    // Step 4: each GT takes its k cheapest valid priors.
    std::vector<int32_t> owner(valid.size(), -1);     // [V] GT, when taken once
    std::vector<uint8_t> times_taken(valid.size(), 0);  // [V] how many GTs took it, up to 2
    std::vector<std::vector<int32_t>> picks(static_cast<size_t>(num_gts));
    for (int64_t g = 0; g < num_gts; ++g) {
      picks[g] = match::k_smallest(&table.cost[static_cast<size_t>(g * num_valid)], num_valid, out.dynamic_ks[g]);
      for (int32_t v : picks[g]) owner[v] = static_cast<int32_t>(g), times_taken[v] = times_taken[v] ? 2 : 1;
    }

    // Step 5: a prior taken by several GTs goes to its cheapest GT overall.
    for (int64_t v = 0; v < num_valid; ++v) {
      if (times_taken[v] > 1)
        owner[v] = match::argmin_cost(static_cast<int32_t>(num_gts), [&](int32_t g) { return table.at(table.cost, g, v); });
    }

    // Step 6: the result, and the pairs worth reporting (inside or picked).
    // The reference reads the IoU back as (matching_row * iou_row).sum(), so a
    // NaN anywhere in the prior's IoU row (--allow-nonfinite) makes it NaN.
    for (int64_t v = 0; v < num_valid; ++v) {
      if (owner[v] < 0) continue;
      const int32_t prior = valid[v];
      out.gt_inds[prior] = owner[v] + 1;
      out.labels[prior] = p.gt_labels[owner[v]];
      float overlap = table.at(table.iou, owner[v], v);
      for (int64_t g = 0; g < num_gts; ++g)
        if (std::isnan(table.at(table.iou, g, v))) overlap = std::numeric_limits<float>::quiet_NaN();
      out.max_overlaps[prior] = overlap;
    }
    for (int64_t g = 0; g < num_gts; ++g) {
      for (int32_t v : picks[g]) {
        CandidatePair* pair = find_pair(&reported[g], valid[v]);
        if (!pair) {  // picked from outside the GT: costed again, once
          const auto t = terms(p, valid[v], g, table.at(table.iou, g, v), background[v], logit_of(v, g));
          pair = insert_pair(&reported[g], make_pair(v, g, t, false));
        }
        pair->picked = true;
      }
      out.candidates.insert(out.candidates.end(), reported[g].begin(), reported[g].end());
    }
    return out;
  }

  Params params_;
  Settings s_;
};

}  // namespace

AssignerInfo dynamic_soft_label_info() {
  AssignerInfo info;
  info.name = "dynamic-soft-label";
  info.summary = "RTMDet dynamic soft label assignment: soft class cost + log-IoU + soft centre prior, dynamic k";
  info.reference =
      "mmdetection mmdet/models/task_modules/assigners/dynamic_soft_label_assigner.py "
      "DynamicSoftLabelAssigner (commit 18cd2b4f)";
  info.params = {
      {"soft_center_radius", ParamType::kFloat, 3.0,
       "radius r of the soft centre prior 10^(distance/stride - r)", std::nullopt, std::nullopt, {}},
      {"topk", ParamType::kInt, int64_t{13}, "how many top IoUs are summed into a GT's dynamic k", 1.0,
       std::nullopt, {}},
      {"iou_weight", ParamType::kFloat, 3.0, "weight of the -log(IoU) cost", 0.0, std::nullopt, {}},
  };
  info.needs = {Field::kPriors, Field::kClsScores, Field::kPredBboxes, Field::kGtBboxes, Field::kGtLabels};
  info.result_files = {"assigned_gt_inds.npy", "assigned_labels.npy", "max_overlaps.npy", "dynamic_ks.npy"};
  info.make = [](const Params& params) { return std::make_unique<DynamicSoftLabel>(params); };
  return info;
}

}  // namespace assignscope::assign
