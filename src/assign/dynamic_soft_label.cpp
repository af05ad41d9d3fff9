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
#include <array>

#include <fmt/format.h>

#include <cmath>
#include <optional>

#include "assign/cost_table.h"
#include "assign/search_record.h"
#include "assign/sparse_dynamic_k.h"
#include "cost/terms.h"
#include "geometry/boxes.h"
#include "geometry/prior_grid.h"
#include "match/torch_order.h"

namespace assignscope::assign {
namespace {

constexpr float kIouEps = 1e-7f;  // EPS of both references

// The point the soft centre prior measures from for GT column g: the dump's
// gt_centers (mmdet centres each GT on its mask's centre of mass when the
// GT instances carry masks, RTMDet-Ins) when given, else the box centre.
std::array<float, 2> gt_centre(const Problem& p, int64_t g) {
  if (g < p.gt_centers.rows()) return {p.gt_centers(g, 0), p.gt_centers(g, 1)};
  const float* box = g < p.num_gts() ? &p.gt_bboxes(g, 0) : &p.padding_gt_bboxes(g - p.num_gts(), 0);
  return {geometry::centre_x(box), geometry::centre_y(box)};
}
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
           static_cast<float>(params.get_float("iou_weight"))},
        sparse_search_(sparse_search(params)) {}

  Assignment assign(const Problem& p) const override {
    const int64_t padding = rules_.padding_columns_compete ? static_cast<int64_t>(p.padding_gt_labels.size()) : 0;
    Assignment out;
    if (p.num_priors() == 0 || p.num_gts() + padding == 0) {
      out = nothing_to_assign(p, true);
    } else {
      // Step 1: candidates.
      SearchRecord search = search_plan(sparse_search_, p);
      std::optional<Assignment> sparse;
      if (search.path == SearchRecord::Path::kSparse) sparse = match_sparse(p, padding, &search.why_dense);
      if (sparse) {
        out = std::move(*sparse);
      } else {
        const std::vector<char> valid = valid_priors(p);
        const bool any_valid = std::find(valid.begin(), valid.end(), 1) != valid.end();
        out = !any_valid && rules_.early_return_without_valid ? no_valid_prior(p) : match(p, valid, padding);
      }
      out.search = search_outcome(search, sparse.has_value());
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
  static Assignment no_valid_prior(const Problem& p) {
    Assignment out = Assignment::Empty(p.num_priors(), p.num_gts(), 0.0f, true);
    out.notes.push_back(
        "no prior centre lies strictly inside any GT: the reference returns before matching "
        "(max_overlaps 0, dynamic k 0)");
    return out;
  }

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
      const std::array<float, 2> c = gt_centre(p, g);
      return {cls, cost::log_iou_cost(u, s_.iou_weight, kIouEps),
              cost::soft_center_prior(p.priors(prior, 0), p.priors(prior, 1), p.priors(prior, 2), c[0], c[1],
                                      s_.soft_center_radius)};
    };
    const auto load_prior = [&](int64_t v) {
      const int32_t prior = table.prior(v);
      if (rules_.class_cost_over_all_classes)
        background = cost::soft_class_background_total(&p.cls_scores(prior, 0), num_classes);
      for (size_t k = 0; k < slots.classes.size(); ++k)
        logit[k] = cost::logit_terms(static_cast<double>(p.cls_scores(prior, slots.classes[k])));
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
    // mmyolo takes each GT's k cheapest from torch.sort over all priors; mmdet torch.topk over the valid ones.
    const match::DynamicKMatch m = table.match(s_.topk, rules_.all_priors_are_candidates ? match::TieOrder::kTorchSort
                                                                                         : match::TieOrder::kTorchTopk);

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

  // The same result as match(), costing only the (prior, GT) pairs that can
  // matter (detail::SparseDynamicK). Needs point priors on per-level grids
  // and finite inputs; nullopt, with the reason in `why`, otherwise.
  //
  // Every cost term is >= 0 (up to rounding), and the centre term of a prior
  // whose centre is more than R strides from the GT's centre on either axis
  // exceeds 10^(R - soft_center_radius). So a GT's k cheapest priors are found
  // among those within a square of half-side R strides (plus those inside
  // it, which the report needs anyway): once the k-th cheapest there costs
  // less than the bound for R, no prior outside can enter, and ties cannot
  // reorder anything (strict bound). Otherwise R grows until the square
  // holds every prior. Dynamic k needs the positive IoUs only. A prior
  // several GTs pick goes to the cheapest GT over all GTs, again bounded by
  // the centre term.
  std::optional<Assignment> match_sparse(const Problem& p, int64_t padding, std::string* why) const;

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
            "GT (or far from it); which ones depends on torch.sort's order for equal keys: replayed in PyTorch's CPU "
            "order (a CUDA run can take others)",
            g, m.dynamic_ks[g], below_inf));
    }
    int64_t to_padding = 0;
    for (int32_t owner : m.owner) to_padding += owner >= num_gts;
    if (to_padding > 0) out->notes.push_back(padding_note(to_padding));
  }

  static std::string padding_note(int64_t to_padding) {
    return fmt::format(
        "{} prior{} went to padding GT columns in conflicts (mmyolo lets padding compete): assigned_gt_inds "
        "points past the image's real GTs there, as the reference's does",
        to_padding, to_padding == 1 ? "" : "s");
  }

  class Sparse;

  Rules rules_;
  Params params_;
  Settings s_;
  bool sparse_search_;
};

// Dynamic soft label's side of the sparse search: its pair cost, its
// candidates per GT and its lower bound, the centre term.
class DynamicSoftLabel::Sparse final : public detail::SparseCost {
 public:
  Sparse(const DynamicSoftLabel& a, const Problem& p, int64_t padding)
      : a_(a), p_(p), num_gts_(p.num_gts()), columns_(p.num_gts() + padding), engine_(p, columns_, this) {}

  std::optional<Assignment> run(std::string* why) {
    const auto decline = [why](const char* reason) { return *why = reason, std::optional<Assignment>(); };
    grid_ = geometry::PriorGrid::of(p_);
    if (!grid_) return decline("the priors form no grid");
    if (const char* reason = load_columns()) return decline(reason);
    // Step 1: each GT's inside priors; valid = inside some GT.
    find_inside();
    if (std::find(valid_.begin(), valid_.end(), 1) == valid_.end()) {
      if (a_.rules_.early_return_without_valid) return no_valid_prior(p_);
      return decline("no prior inside any GT (mmyolo matches anyway)");
    }
    if (!a_.rules_.all_priors_are_candidates) {  // match()'s candidates, in its order
      std::vector<int32_t> row;
      for (size_t i = 0; i < valid_.size(); ++i)
        if (valid_[i]) row.push_back(static_cast<int32_t>(i));
      engine_.dense_row(std::move(row), match::TieOrder::kTorchTopk);
    }
    // Step 2: positive IoUs and dynamic k (mmyolo's k sums IoUs over all priors).
    std::vector<char> indexed = valid_;
    if (a_.rules_.all_priors_are_candidates) indexed.assign(indexed.size(), 1);
    pred_area_.assign(indexed.size(), 0.0f);
    for (size_t i = 0; i < indexed.size(); ++i)
      if (indexed[i]) pred_area_[i] = geometry::area(&p_.pred_bboxes(static_cast<int64_t>(i), 0));
    const auto iou_of = [this](int64_t g) {  // iou(i, g), with what it reads per column hoisted
      const float *pred = p_.pred_bboxes.data(), *area = pred_area_.data(), *box = box_of_[g];
      return [pred, area, box, box_area = gt_area_[g]](int32_t i) {
        return geometry::iou(pred + 4 * static_cast<int64_t>(i), box, area[i], box_area);
      };
    };
    if (!engine_.positive_ious(box_of_, indexed, valid_, a_.s_.topk, false, iou_of))
      return decline("a prediction is not finite, or an IoU NaN");
    // Step 3: each GT's k cheapest.
    background_.assign(valid_.size(), std::nan(""));
    in_set_.assign(valid_.size(), 0), overlaps_tag_.assign(valid_.size(), 0), iou_of_.assign(valid_.size(), 0.0f);
    for (int64_t g = 0; g < num_gts_; ++g)
      if (const char* reason = pick(g)) return decline(reason);
    if (nonfinite_logit_) return decline("a logit or a class cost is not finite");
    // Step 4: owners.
    std::vector<std::array<float, 2>> centres;
    for (int64_t g = 0; g < num_gts_; ++g) centres.push_back(gt_centre(p_, g));
    engine_.resolve_owners(centres, grid_->levels().back().stride);
    if (nonfinite_logit_) return decline("a logit or a class cost is not finite");
    // Step 5: the result.
    Assignment out = engine_.assemble(label_of_, a_.rules_.negative_overlap);
    if (const int64_t to_padding = engine_.owned_by_padding(); to_padding > 0)
      out.notes.push_back(padding_note(to_padding));
    return out;
  }

  float iou(int32_t i, int64_t g) override {
    return geometry::iou(&p_.pred_bboxes(i, 0), box_of_[g], pred_area_[i], gt_area_[g]);
  }

  CandidatePair pair(int32_t i, int64_t g, float u) override { return pair_of(i, g, u, false); }

  // Any other GT costs at least the bound of its centre distance: only GTs
  // whose centre lies within reach can win.
  std::optional<std::array<float, 4>> rival_window(int32_t i, float best) override {
    const float reach =
        static_cast<float>(radius_for(static_cast<double>(best)) * static_cast<double>(p_.priors(i, 2)));
    if (!std::isfinite(reach)) return std::nullopt;
    const float px = p_.priors(i, 0), py = p_.priors(i, 1);
    return std::array<float, 4>{px - reach, py - reach, px + reach, py + reach};
  }

 private:
  // GT columns as match() forms them: the real GTs, then mmyolo's padding;
  // the reason when one is not finite or its class out of range.
  const char* load_columns() {
    const int64_t num_classes = p_.num_classes();
    box_of_.resize(static_cast<size_t>(columns_));
    label_of_.resize(static_cast<size_t>(columns_)), class_of_.resize(static_cast<size_t>(columns_));
    gt_area_.resize(static_cast<size_t>(columns_));
    for (int64_t g = 0; g < columns_; ++g) {
      const float* b = g < num_gts_ ? &p_.gt_bboxes(g, 0) : &p_.padding_gt_bboxes(g - num_gts_, 0);
      box_of_[g] = b;
      label_of_[g] = g < num_gts_ ? p_.gt_labels[g] : p_.padding_gt_labels[g - num_gts_];
      class_of_[g] = label_of_[g] < 0 ? label_of_[g] + num_classes : label_of_[g];
      gt_area_[g] = geometry::area(b);
      if (!(std::isfinite(b[0]) && std::isfinite(b[1]) && std::isfinite(b[2]) && std::isfinite(b[3])))
        return "a GT box is not finite";
      if (class_of_[g] < 0 || class_of_[g] >= num_classes) return "a GT class is out of range";
      if (const auto c = gt_centre(p_, g); !std::isfinite(c[0]) || !std::isfinite(c[1]))
        return "a GT centre is not finite";
    }
    return nullptr;
  }

  void find_inside() {
    inside_.resize(static_cast<size_t>(num_gts_));
    valid_.assign(static_cast<size_t>(p_.num_priors()), 0);
    for (int64_t g = 0; g < num_gts_; ++g) {
      const float* box = &p_.gt_bboxes(g, 0);
      for (const auto& level : grid_->levels())
        grid_->for_each_in(level, box[0], box[1], box[2], box[3], [&](int32_t i) {
          if (!geometry::strictly_inside(p_.priors(i, 0), p_.priors(i, 1), box)) return;
          inside_[g].push_back(i);
          valid_[i] = 1;
        });
    }
  }

  // The pair cost as match() forms it; per-prior class totals on demand.
  CandidatePair pair_of(int32_t i, int64_t g, float u, bool is_inside) {
    const bool all_classes = a_.rules_.class_cost_over_all_classes;
    double& bg = background_[i];
    if (all_classes && std::isnan(bg)) {
      bg = cost::soft_class_background_total(&p_.cls_scores(i, 0), p_.num_classes());
      if (!std::isfinite(bg)) nonfinite_logit_ = true, bg = 0;
    }
    const float x = p_.cls_scores(i, class_of_[g]);
    if (!std::isfinite(x)) nonfinite_logit_ = true;
    const std::array<float, 2> c = gt_centre(p_, g);
    CandidatePair out;
    out.prior = i;
    out.gt = static_cast<int32_t>(g);
    out.iou = u;
    const cost::Logit logit = cost::logit_terms(static_cast<double>(x));
    out.terms = {all_classes ? cost::soft_class_cost(bg, logit, u)
                             : static_cast<float>(cost::soft_class_term(logit, static_cast<double>(u))),
                 cost::log_iou_cost(u, a_.s_.iou_weight, kIouEps),
                 cost::soft_center_prior(p_.priors(i, 0), p_.priors(i, 1), p_.priors(i, 2), c[0], c[1],
                                         a_.s_.soft_center_radius)};
    out.cost = out.terms[0] + out.terms[1] + out.terms[2];
    out.inside = is_inside;
    return out;
  }

  // Lower bounds on the cost of a valid prior: cls >= 0 (up to rounding);
  // iou = -log(u + 1e-7) * w is >= 0, and is the constant -log(1e-7) * w
  // when the prediction misses the GT (u = 0); centre = 10^(d - radius)
  // where d, in strides, exceeds r outside a square of half-side r. The
  // margins cover float32 rounding.
  double miss_cost() const {
    return static_cast<double>(cost::log_iou_cost(0.0f, a_.s_.iou_weight, kIouEps)) * (1 - 1e-5) - 0.01;
  }
  double radius_for(double cost_bound) const {  // outside this square, cost > cost_bound
    return static_cast<double>(a_.s_.soft_center_radius) + 2e-3 + std::log10(std::max(cost_bound, 0.0) + 0.01);
  }

  // GT g's k cheapest. Its inside priors are costed (the report needs them);
  // the k-th cheapest so far, T, bounds the search: another prior can only
  // enter within the square of radius_for(T), and only if its prediction
  // overlaps the GT unless T reaches the miss cost. Without k priors yet,
  // squares grow until they hold k. The reason when the dense search must
  // decide.
  const char* pick(int64_t g) {
    const uint32_t tag = static_cast<uint32_t>(g + 1);
    for (const auto& [i, u] : engine_.overlapping(g)) overlaps_tag_[i] = tag, iou_of_[i] = u;
    for (int32_t i : inside_[g]) add(g, i, true);
    float t = kth_cost(g);
    for (double r = std::max(static_cast<double>(a_.s_.soft_center_radius) + 1.0, 1.0); std::isinf(t); r *= 2.0) {
      const bool all = add_square(g, r, false);  // fewer than k so far (r > 0 grows)
      t = kth_cost(g);
      if (all) break;
    }
    if (!std::isinf(t)) add_square(g, radius_for(static_cast<double>(t)), static_cast<double>(t) < miss_cost());
    if (!engine_.pick(g))
      return "a GT's k-th cost is shared with a prior left out, under mmyolo (all priors are candidates: torch's "
             "order over them)";
    // mmyolo: a k-th cheapest at INF or more takes priors inside no GT (or
    // far away) in an order only match() replays.
    if (a_.rules_.all_priors_are_candidates &&
        (static_cast<int64_t>(engine_.picked(g)) < engine_.k(g) || !(engine_.last_pick_cost(g) < kMmyoloInvalidCost)))
      return "mmyolo: a GT's k-th cheapest costs INF or more";
    return nullptr;
  }

  void add(int64_t g, int32_t i, bool is_inside) {
    const uint32_t tag = static_cast<uint32_t>(g + 1);
    in_set_[i] = tag;
    engine_.costed(g).push_back(pair_of(i, g, overlaps_tag_[i] == tag ? iou_of_[i] : 0.0f, is_inside));
  }

  float kth_cost(int64_t g) {
    const std::vector<CandidatePair>& pairs = engine_.costed(g);
    const int64_t k = engine_.k(g);
    if (static_cast<int64_t>(pairs.size()) < k) return INFINITY;
    costs_.clear();
    for (const CandidatePair& pair : pairs) costs_.push_back(pair.cost);
    std::nth_element(costs_.begin(), costs_.begin() + (k - 1), costs_.end());
    return costs_[static_cast<size_t>(k - 1)];
  }

  // Adds the valid priors within r strides of g's centre (only those whose
  // prediction overlaps g with `overlapping_only`); whether the square
  // covered every prior.
  bool add_square(int64_t g, double r, bool overlapping_only) {
    const uint32_t tag = static_cast<uint32_t>(g + 1);
    const std::array<float, 2> c = gt_centre(p_, g);
    bool all = true;
    for (const auto& level : grid_->levels()) {
      const float half = static_cast<float>(r * static_cast<double>(level.stride));
      all &= grid_->covers_all(c[0] - half, c[1] - half, c[0] + half, c[1] + half);
      grid_->for_each_in(level, c[0] - half, c[1] - half, c[0] + half, c[1] + half, [&](int32_t i) {
        if (valid_[i] && in_set_[i] != tag && (!overlapping_only || overlaps_tag_[i] == tag)) add(g, i, false);
      });
    }
    return all;
  }

  const DynamicSoftLabel& a_;
  const Problem& p_;
  int64_t num_gts_, columns_;
  detail::SparseDynamicK engine_;
  std::optional<geometry::PriorGrid> grid_;
  std::vector<const float*> box_of_;             // [columns]
  std::vector<int64_t> label_of_, class_of_;     // [columns]
  std::vector<float> gt_area_;                   // [columns]
  std::vector<std::vector<int32_t>> inside_;     // [G]
  std::vector<char> valid_;                      // [N] inside some GT
  std::vector<float> pred_area_;                 // [N]
  std::vector<double> background_;               // [N] NaN until computed
  std::vector<uint32_t> in_set_, overlaps_tag_;  // [N] GT g + 1: costed for g, overlapping g
  std::vector<float> iou_of_;                    // [N] IoU with the GT of overlaps_tag_
  std::vector<float> costs_;
  bool nonfinite_logit_ = false;
};

std::optional<Assignment> DynamicSoftLabel::match_sparse(const Problem& p, int64_t padding, std::string* why) const {
  Sparse search(*this, p, padding);
  return search.run(why);
}

std::vector<ParamSpec> dsla_params() {
  return {
      {"soft_center_radius",
       ParamType::kFloat,
       3.0,
       "radius r of the soft centre prior 10^(distance/stride - r)",
       std::nullopt,
       std::nullopt,
       {}},
      {"topk",
       ParamType::kInt,
       int64_t{13},
       "how many top IoUs are summed into a GT's dynamic k",
       1.0,
       std::nullopt,
       {}},
      {"iou_weight", ParamType::kFloat, 3.0, "weight of the -log(IoU) cost", 0.0, std::nullopt, {}},
      search_param(),
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
  // Each GT picks its k cheapest priors; a prior picked twice goes to its
  // cheapest GT over all GTs. Far priors only cost more: not geometric.
  info.traits = {CostDefinition::kSoftLabel, /*multi_match=*/false, /*dynamic_k=*/true,     /*picks_k=*/true,
                 /*conflict_over_all=*/true, /*geometric=*/false,   /*records_pairs=*/true, /*sparse_search=*/true};
  return info;
}

}  // namespace

AssignerInfo dynamic_soft_label_info() {
  AssignerInfo info = make_info(kMmdetection,
                                "RTMDet dynamic soft label assignment: soft class cost + log-IoU + soft centre prior, "
                                "dynamic k",
                                "mmdetection mmdet/models/task_modules/assigners/dynamic_soft_label_assigner.py "
                                "DynamicSoftLabelAssigner (commit 18cd2b4f); centres from the dump's gt_centers "
                                "(mask centre of mass, RTMDet-Ins) when given");
  info.aliases = {"rtmdet", "rtmdet-ins"};
  info.class_names = {{"DynamicSoftLabelAssigner", ClassName::Syntax::kAny}};
  info.config_ignored = {"iou_calculator"};
  info.replays = [](const Params&) { return std::vector<FrameworkRange>{{"mmdet", "3.0.0", "4", "mmdetection 3.x"}}; };
  return info;
}

AssignerInfo dynamic_soft_label_mmyolo_info() {
  AssignerInfo info = make_info(kMmyolo,
                                "mmyolo's batched RTMDet assigner: class cost on the GT's class only, dynamic k over "
                                "all priors, INF cost outside every GT",
                                "mmyolo mmyolo/models/task_modules/assigners/batch_dsl_assigner.py "
                                "BatchDynamicSoftLabelAssigner (mmyolo 0.6.0, commit 8c4d9dc5)");
  info.aliases = {"rtmdet-mmyolo"};
  // Its padding columns read the class scores at their labels (torch
  // indexing: -1 is the last class); any other label fails in the reference.
  info.check = [](const Params&, const Problem& p) -> Status {
    const int64_t c = p.num_classes();
    for (size_t j = 0; j < p.padding_gt_labels.size(); ++j) {
      const int64_t label = p.padding_gt_labels[j];
      if (c > 0 && (label < -c || label >= c))
        return Status::InvalidInput(fmt::format(
            "gt_labels of padding row {} is {}: mmyolo's BatchDynamicSoftLabelAssigner reads the class scores at "
            "padding labels too, and needs one in [-C, C) = [{}, {})",
            p.num_gts() + static_cast<int64_t>(j), label, -c, c));
    }
    return Status();
  };
  info.class_names = {{"BatchDynamicSoftLabelAssigner", ClassName::Syntax::kAny}};
  // batch_iou only changes how the IoUs are computed, not their values.
  info.config_ignored = {"num_classes", "iou_calculator", "batch_iou"};
  info.replays = [](const Params&) { return std::vector<FrameworkRange>{{"mmyolo", "0.6.0", "0.7", "mmyolo 0.6"}}; };
  return info;
}

}  // namespace assignscope::assign
