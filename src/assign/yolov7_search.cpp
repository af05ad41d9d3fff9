// yolov7's SimOTA stage, dense and sparse (see the header).
#include "assign/yolov7_search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "assign/cost_table.h"
#include "assign/scores.h"
#include "cost/terms.h"
#include "geometry/boxes.h"
#include "geometry/prior_grid.h"
#include "match/torch_order.h"

namespace assignscope::assign::detail {
namespace {

constexpr float kIouEps = 1e-8f;  // -torch.log(pair_wise_iou + 1e-8)

bool finite_box(const float* b) {
  return std::isfinite(b[0]) && std::isfinite(b[1]) && std::isfinite(b[2]) && std::isfinite(b[3]);
}

}  // namespace

Yolov7Costs::Yolov7Costs(const Problem& p, const std::vector<CrossGridColumn>& columns,
                         std::vector<std::array<float, 4>> gt_boxes, float cls_weight, float iou_weight)
    : p_(p), iou_weight_(iou_weight), gt_boxes_(std::move(gt_boxes)) {
  for (const auto& box : gt_boxes_) gt_areas_.push_back(geometry::area(box.data()));
  // The distinct candidate priors (slots), ascending, and each column's.
  for (const CrossGridColumn& c : columns) priors_.push_back(c.prior);
  std::sort(priors_.begin(), priors_.end());
  priors_.erase(std::unique(priors_.begin(), priors_.end()), priors_.end());
  columns_of_slot_.resize(priors_.size());
  for (size_t v = 0; v < columns.size(); ++v) {
    const auto s =
        static_cast<int32_t>(std::lower_bound(priors_.begin(), priors_.end(), columns[v].prior) - priors_.begin());
    slot_of_column_.push_back(s);
    columns_of_slot_[static_cast<size_t>(s)].push_back(static_cast<int32_t>(v));
  }
  // The class cost of each slot at each distinct GT label, from the
  // prior's y_c = sqrt(sigmoid(cls_c) * sigmoid(obj)) over all C classes.
  const ClassSlots labels(p.gt_labels);
  classes_ = labels.classes;
  label_slot_ = labels.slot;
  const int64_t num_classes = p.num_classes();
  const size_t width = classes_.size();
  cls_.resize(priors_.size() * width);
  std::vector<float> probs(static_cast<size_t>(num_classes));
  const float zero_iou_cost = iou_cost(0.0f);
  zero_iou_gt_.assign(width, std::numeric_limits<float>::infinity());
  zero_iou_slot_.assign(priors_.size(), std::numeric_limits<float>::infinity());
  for (size_t s = 0; s < priors_.size(); ++s) {
    const int32_t prior = priors_[s];
    pred_areas_.push_back(geometry::area(&p.pred_bboxes(prior, 0)));
    const float obj = objectness_probability(p, prior);
    for (int64_t c = 0; c < num_classes; ++c) probs[c] = std::sqrt(class_probability(p, prior, c) * obj);
    const double background = cost::bce_logit_prob_background_total(probs.data(), num_classes);
    for (size_t l = 0; l < width; ++l) {
      const float cls = cls_weight * cost::bce_logit_prob_class_cost(background, probs[classes_[l]]);
      cls_[s * width + l] = cls;
      finite_ = finite_ && std::isfinite(cls);
      // float addition is monotone: min(cls) + c = min(cls + c).
      zero_iou_gt_[l] = std::min(zero_iou_gt_[l], cls);
      zero_iou_slot_[s] = std::min(zero_iou_slot_[s], cls);
    }
  }
  for (float& b : zero_iou_gt_) b += zero_iou_cost;
  for (float& b : zero_iou_slot_) b += zero_iou_cost;
}

const float* Yolov7Costs::pred_box(int32_t s) const { return &p_.pred_bboxes(priors_[static_cast<size_t>(s)], 0); }

float Yolov7Costs::iou(int64_t g, int32_t s) const {
  return geometry::iou(gt_boxes_[static_cast<size_t>(g)].data(), pred_box(s), gt_areas_[static_cast<size_t>(g)],
                       pred_areas_[static_cast<size_t>(s)]);
}

float Yolov7Costs::iou_cost(float iou) const { return iou_weight_ * cost::log_iou_cost(iou, 1.0f, kIouEps); }

match::DynamicKMatch yolov7_dense_match(const Yolov7Costs& costs, int64_t topk) {
  const int64_t num_gts = costs.num_gts(), k_columns = costs.num_columns();
  // [G, K] IoUs and costs, computed once per distinct prior (its columns
  // are identical).
  std::vector<float> iou(static_cast<size_t>(num_gts * k_columns)), cost(iou.size());
  for (int32_t s = 0; s < costs.num_slots(); ++s)
    for (int64_t g = 0; g < num_gts; ++g) {
      const float u = costs.iou(g, s), c = costs.cost(g, s, u);
      for (int32_t v : costs.columns_of_slot(s)) {
        const size_t at = static_cast<size_t>(g * k_columns + v);
        iou[at] = u;
        cost[at] = c;
      }
    }
  return match::dynamic_k_matching(cost.data(), iou.data(), num_gts, num_gts, k_columns, topk);
}

namespace {

// The sparse search's state: the positive IoUs, by GT and by slot.
class SparseSearch {
 public:
  explicit SparseSearch(const Yolov7Costs& costs)
      : c_(costs), by_gt_(static_cast<size_t>(costs.num_gts())), by_slot_(static_cast<size_t>(costs.num_slots())) {}

  // Why it cannot run, or "".
  std::string declines() const {
    if (!c_.finite_class_costs())
      return "yolov7: a class cost is not finite (a score of exactly 0 or 1 in float32), ordered as torch orders "
             "Inf and NaN";
    for (int64_t g = 0; g < c_.num_gts(); ++g)
      if (!finite_box(c_.gt_box(g).data()) || !(geometry::area(c_.gt_box(g).data()) > 0))
        return "yolov7: a GT box has no area or is not finite";
    for (int32_t s = 0; s < c_.num_slots(); ++s)
      if (!finite_box(c_.pred_box(s))) return "yolov7: a predicted box is not finite";
    return "";
  }

  // Every (GT, slot) pair with IoU > 0, through an index of the predicted boxes.
  void find_overlaps(const Problem& p) {
    float x0 = c_.gt_box(0)[0], y0 = c_.gt_box(0)[1], x1 = c_.gt_box(0)[2], y1 = c_.gt_box(0)[3];
    for (int64_t g = 1; g < c_.num_gts(); ++g) {
      const auto& b = c_.gt_box(g);
      x0 = std::min(x0, b[0]), y0 = std::min(y0, b[1]), x1 = std::max(x1, b[2]), y1 = std::max(y1, b[3]);
    }
    geometry::BoxIndex index(x0, y0, x1, y1, geometry::gt_extent(p.gt_bboxes).cell);
    for (int32_t s = 0; s < c_.num_slots(); ++s) index.insert(s, c_.pred_box(s));
    std::vector<uint32_t> seen(static_cast<size_t>(c_.num_slots()), 0);
    for (int64_t g = 0; g < c_.num_gts(); ++g) {
      auto& found = by_gt_[static_cast<size_t>(g)];
      index.query(c_.gt_box(g).data(), &seen, static_cast<uint32_t>(g + 1), [&](int32_t s) {
        const float u = c_.iou(g, s);
        if (u > 0) found.emplace_back(s, u);
      });
      std::sort(found.begin(), found.end());
      for (const auto& [s, u] : found) by_slot_[static_cast<size_t>(s)].emplace_back(static_cast<int32_t>(g), u);
    }
  }

  // k = max(1, int(sum of the top `topk` IoUs of the GT's columns)).
  int64_t dynamic_k(int64_t g, int64_t topk) const {
    std::vector<float> ious;
    for (const auto& [s, u] : by_gt_[static_cast<size_t>(g)]) ious.insert(ious.end(), c_.columns_of_slot(s).size(), u);
    return match::dynamic_k(std::move(ious), topk);
  }

  // GT g's k cheapest columns, cheapest first, as the dense search picks them.
  // A k boundary among the copies of one slot only (every column of the
  // k-th cost is a copy of it) chooses copies, not priors: the copies the
  // dense search takes matter only when another GT also picks that slot.
  // Such a GT is given its cheapest copies for now and `deferred` names the
  // slot (else -1); `row_picks` picks it as the dense search does later.
  std::vector<int32_t> pick(int64_t g, int64_t k, std::vector<int32_t>* tied, int32_t* deferred) {
    *deferred = -1;
    std::vector<std::pair<int32_t, float>> sub;  // (column, cost) of its overlapping slots
    for (const auto& [s, u] : by_gt_[static_cast<size_t>(g)]) {
      const float cost = c_.cost(g, s, u);
      for (int32_t v : c_.columns_of_slot(s)) sub.emplace_back(v, cost);
    }
    if (static_cast<int64_t>(sub.size()) >= k) {
      std::sort(sub.begin(), sub.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      std::vector<float> costs;
      for (const auto& [v, cost] : sub) costs.push_back(cost);
      const std::vector<int32_t> at = match::k_smallest(costs.data(), static_cast<int64_t>(costs.size()), k);
      // Every column left out costs at least the bound: strictly above the
      // k-th, and no tie at the boundary among the costed ones.
      const float kth = costs[static_cast<size_t>(at.back())];
      if (kth < c_.zero_iou_bound_of_gt(g)) {
        std::vector<int32_t> picks;
        for (int32_t i : at) picks.push_back(sub[static_cast<size_t>(i)].first);
        if (!match::boundary_tie(costs.data(), static_cast<int64_t>(costs.size()), at)) return picks;
        int32_t slot = c_.slot_of_column(picks.back());
        for (const auto& [v, cost] : sub)
          if (cost == kth && c_.slot_of_column(v) != slot) slot = -1;
        if (slot >= 0) {
          tied->push_back(static_cast<int32_t>(g));
          *deferred = slot;
          return picks;
        }
      }
    }
    return row_picks(g, k, tied);
  }

  // GT g's k cheapest columns over its whole row, as the dense search picks them.
  std::vector<int32_t> row_picks(int64_t g, int64_t k, std::vector<int32_t>* tied) {
    ++rows_costed_;
    // The whole row, picked as the dense search picks it: IoU 0 but for
    // the overlapping slots (every pair with IoU > 0 was found).
    std::vector<float> row(static_cast<size_t>(c_.num_columns()));
    const float zero_iou = c_.iou_cost(0.0f);
    for (int64_t v = 0; v < c_.num_columns(); ++v)
      row[static_cast<size_t>(v)] = c_.cls(g, c_.slot_of_column(v)) + zero_iou;
    for (const auto& [s, u] : by_gt_[static_cast<size_t>(g)]) {
      const float cost = c_.cost(g, s, u);
      for (int32_t v : c_.columns_of_slot(s)) row[static_cast<size_t>(v)] = cost;
    }
    bool is_tied = false;
    std::vector<int32_t> picks =
        match::k_cheapest(row.data(), c_.num_columns(), k, match::TieOrder::kTorchTopk, &is_tied);
    if (is_tied) tied->push_back(static_cast<int32_t>(g));
    return picks;
  }

  int64_t rows_costed() const { return rows_costed_; }

  // The GT of least cost for slot s over all GTs, first on ties (torch.min).
  int32_t cheapest_gt(int32_t s) const {
    int32_t best = -1;
    float best_cost = 0;
    for (const auto& [g, u] : by_slot_[static_cast<size_t>(s)]) {
      const float cost = c_.cost(g, s, u);
      if (best < 0 || cost < best_cost) best = g, best_cost = cost;
    }
    // The GTs it does not overlap cost at least the bound.
    if (best >= 0 && best_cost < c_.zero_iou_bound_of_slot(s)) return best;
    std::vector<float> column(static_cast<size_t>(c_.num_gts()));
    const float zero_iou = c_.iou_cost(0.0f);
    for (int64_t g = 0; g < c_.num_gts(); ++g) column[static_cast<size_t>(g)] = c_.cls(g, s) + zero_iou;
    for (const auto& [g, u] : by_slot_[static_cast<size_t>(s)]) column[static_cast<size_t>(g)] = c_.cost(g, s, u);
    return match::argmin_cost(static_cast<int32_t>(c_.num_gts()),
                              [&](int32_t g) { return column[static_cast<size_t>(g)]; });
  }

 private:
  const Yolov7Costs& c_;
  std::vector<std::vector<std::pair<int32_t, float>>> by_gt_;    // [G] (slot, IoU > 0), by slot
  std::vector<std::vector<std::pair<int32_t, float>>> by_slot_;  // [S] (GT, IoU > 0), by GT
  int64_t rows_costed_ = 0;
};

}  // namespace

std::string yolov7_sparse_declines(const Yolov7Costs& costs) { return SparseSearch(costs).declines(); }

std::optional<match::DynamicKMatch> yolov7_sparse_match(const Yolov7Costs& costs, int64_t topk, std::string* why_dense,
                                                        Yolov7SparseStats* stats) {
  Yolov7SparseStats counted;
  const Problem& p = costs.problem();
  SparseSearch search(costs);
  if (std::string why = search.declines(); !why.empty()) {
    *why_dense = std::move(why);
    return std::nullopt;
  }
  search.find_overlaps(p);
  const int64_t num_gts = costs.num_gts(), k_columns = costs.num_columns();
  match::DynamicKMatch m;
  m.owner.assign(static_cast<size_t>(k_columns), -1);
  std::vector<uint8_t> times_taken(static_cast<size_t>(k_columns), 0);  // up to 2
  std::vector<int32_t> deferred(static_cast<size_t>(num_gts));
  for (int64_t g = 0; g < num_gts; ++g) {
    m.dynamic_ks.push_back(search.dynamic_k(g, topk));
    m.picks.push_back(search.pick(g, m.dynamic_ks.back(), &m.tied_columns, &deferred[static_cast<size_t>(g)]));
  }
  // A deferred GT's copies matter when another GT picks its slot too: then
  // it picks over its whole row (its slots stay the same, only copies move).
  std::vector<int32_t> picker(static_cast<size_t>(costs.num_slots()), -1);  // a GT, or -2: several
  for (int64_t g = 0; g < num_gts; ++g)
    for (int32_t v : m.picks[static_cast<size_t>(g)]) {
      int32_t& who = picker[static_cast<size_t>(costs.slot_of_column(v))];
      who = who == -1 || who == g ? static_cast<int32_t>(g) : -2;
    }
  std::vector<int32_t> retied;  // already noted
  for (int64_t g = 0; g < num_gts; ++g) {
    const int32_t s = deferred[static_cast<size_t>(g)];
    if (s >= 0 && picker[static_cast<size_t>(s)] == -2)
      m.picks[static_cast<size_t>(g)] = search.row_picks(g, m.dynamic_ks[static_cast<size_t>(g)], &retied);
    else if (s >= 0) ++counted.copies_chosen;
  }
  counted.rows_costed = search.rows_costed();
  if (stats) *stats = counted;
  for (int64_t g = 0; g < num_gts; ++g)
    for (int32_t v : m.picks[static_cast<size_t>(g)])
      m.owner[v] = static_cast<int32_t>(g), times_taken[v] = times_taken[v] ? 2 : 1;
  for (int64_t v = 0; v < k_columns; ++v)
    if (times_taken[static_cast<size_t>(v)] > 1) m.owner[v] = search.cheapest_gt(costs.slot_of_column(v));
  return m;
}

}  // namespace assignscope::assign::detail
