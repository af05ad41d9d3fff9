// The sparse search of the dynamic-k assigners (SimOTA, dynamic soft label
// and their flavours): the result CostTable gives after costing every
// (candidate, GT column) pair, from the pairs that can matter only.
//
// The engine owns what does not depend on the assigner's cost:
//   positive IoUs  each column's IoUs > 0, through an index of the predicted
//                  boxes over the GTs' extent, and its dynamic k (zero IoUs
//                  add nothing to the top-k sum)
//   picks          each GT's k cheapest among the pairs its assigner costed;
//                  when the k-th cost is shared with a pair left out, torch's
//                  order for equal keys decides over the dense search's
//                  whole row: that GT's row is costed in full (dense_row) and
//                  ordered as the dense search orders it, else declined
//   owners         a prior several GTs picked goes to the cheapest column
//                  over ALL columns (first minimum): the GTs the assigner's
//                  lower bound leaves in reach, found through an index of the
//                  GT centres, then every padding column
//   result         CostTable's assembly (assemble_dynamic_k)
// The assigner supplies its pair cost, the window its lower bound leaves for
// rivals, and the search that costs each GT's candidates (SparseCost).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "assign/cost_table.h"
#include "core/assignment.h"
#include "core/problem.h"
#include "geometry/prior_grid.h"
#include "match/dynamic_k.h"

namespace assignscope::assign::detail {

// What an assigner's sparse search supplies to the engine.
class SparseCost {
 public:
  virtual ~SparseCost() = default;
  // IoU of prior i's prediction with GT column g, as the dense search has it.
  virtual float iou(int32_t prior, int64_t column) = 0;
  // The pair costed as the dense search costs it (`inside`: the report's rule).
  virtual CandidatePair pair(int32_t prior, int64_t column, float iou) = 0;
  // A window (xyxy, closed) holding the centre of every real GT that can
  // cost `prior` less than `best` (the assigner's lower bound), or nullopt
  // when any GT can.
  virtual std::optional<std::array<float, 4>> rival_window(int32_t prior, float best) = 0;
};

using Overlaps = std::vector<std::pair<int32_t, float>>;  // (prior, IoU > 0)

class SparseDynamicK {
 public:
  // `columns`: the real GTs, then padding columns (mmyolo's stacked batch:
  // they get a k and compete for contested priors, but pick nothing).
  SparseDynamicK(const Problem& p, int64_t columns, SparseCost* cost);

  // Positive IoUs and dynamic k (top `topk`) of each column, `boxes[g]`
  // xyxy, against the predictions of the priors with indexed[i] (their boxes
  // widened by a float32 margin when `widen`: a cxcywh round trip can move an
  // edge by an ulp). A real GT keeps its overlapping priors with kept[i].
  // False when an indexed prediction is not finite or an IoU is NaN.
  // `column_iou(g)` gives a function of the prior equal to the assigner's
  // SparseCost::iou(prior, g), made once per column and passed so that it is
  // inlined with what it reads hoisted: mmyolo indexes all N predictions,
  // and a virtual call per found pair cost dynamic-soft-label.mmyolo 4% more
  // instructions on coco640-mid-g100, 13% on crowd640-g300. The overload
  // without it calls SparseCost::iou.
  template <class ColumnIou>
  bool positive_ious(const std::vector<const float*>& boxes, const std::vector<char>& indexed,
                     const std::vector<char>& kept, int64_t topk, bool widen, const ColumnIou& column_iou) {
    const std::optional<geometry::BoxIndex> index = prediction_index(boxes, indexed, widen);
    if (!index) return false;
    std::vector<uint32_t> seen(static_cast<size_t>(p_.num_priors()), 0);
    std::vector<float> ious;
    bool nan = false;
    for (int64_t g = 0; g < columns_; ++g) {
      ious.clear();
      const auto iou = column_iou(g);
      index->query(boxes[g], &seen, static_cast<uint32_t>(g + 1), [&](int32_t i) {
        const float u = iou(i);
        if (std::isnan(u)) nan = true;
        if (!(u > 0)) return;
        ious.push_back(u);
        if (g < gts_ && kept[i]) overlapping_[g].emplace_back(i, u);
      });
      ks_[g] = match::dynamic_k(ious, topk);
    }
    return !nan;
  }
  bool positive_ious(const std::vector<const float*>& boxes, const std::vector<char>& indexed,
                     const std::vector<char>& kept, int64_t topk, bool widen) {
    return positive_ious(boxes, indexed, kept, topk, widen,
                         [this](int64_t g) { return [this, g](int32_t i) { return cost_->iou(i, g); }; });
  }
  int64_t k(int64_t g) const { return ks_[g]; }
  const std::vector<int64_t>& ks() const { return ks_; }
  // GT g's overlapping kept priors, in index order (as found).
  Overlaps& overlapping(int64_t g) { return overlapping_[g]; }

  // GT g's costed pairs: its assigner's search adds them, in any order.
  std::vector<CandidatePair>& costed(int64_t g) { return costed_[g]; }
  // The dense search's candidates (prior indices, in its order) and how it
  // orders equal costs: a GT whose k-th cost is shared with a pair left out
  // is then costed over this whole row and picks as the dense search does.
  void dense_row(std::vector<int32_t> row, match::TieOrder order) { row_ = std::move(row), order_ = order; }
  // GT g's k cheapest costed pairs (pairs by prior from then on); false when
  // the k-th cost is shared with a pair left out and there is no dense row
  // (mmyolo's dynamic soft label: all priors are its candidates). Costing a
  // tied GT's row takes O(row) time and memory, at most the dense search's
  // share for that GT, so any number of tied GTs is searched this way (a
  // crowd of tiny GTs under AlignOTA's INF = 1e8 has thousands).
  bool pick(int64_t g);
  // How many GT g picked, and the cost of its k-th cheapest (the last).
  size_t picked(int64_t g) const { return picks_[g].size(); }
  float last_pick_cost(int64_t g) const { return costed_[g][picks_[g].back()].cost; }

  // Owners of the picked priors; a contested one goes to the cheapest
  // column (see above). centres[g]: the point rival_window bounds, per GT.
  void resolve_owners(const std::vector<std::array<float, 2>>& centres, float bucket);
  // How many priors went to padding columns.
  int64_t owned_by_padding() const;

  // The Assignment, as CostTable::assemble makes it.
  Assignment assemble(const std::vector<int64_t>& column_labels, float negative_overlap);

 private:
  // An index of the predictions of the priors with indexed[i] over the
  // columns' extent (see positive_ious); nullopt when one is not finite.
  std::optional<geometry::BoxIndex> prediction_index(const std::vector<const float*>& boxes,
                                                     const std::vector<char>& indexed, bool widen) const;
  const CandidatePair* costed_pair(int64_t g, int32_t prior) const;
  bool pick_over_row(int64_t g);
  float exact_cost(int32_t prior, int64_t g);
  std::vector<std::pair<int32_t, int32_t>> contested() const;

  const Problem& p_;
  int64_t gts_, columns_;
  SparseCost* cost_;
  std::vector<int64_t> ks_;                         // [columns]
  std::vector<Overlaps> overlapping_;               // [G]
  std::vector<std::vector<CandidatePair>> costed_;  // [G]
  std::vector<std::vector<int32_t>> picks_;         // [G] positions in costed_[g], cheapest first
  std::vector<int32_t> owner_;                      // [N] column or -1
  std::optional<std::vector<int32_t>> row_;         // dense_row: the dense search's candidates
  match::TieOrder order_ = match::TieOrder::kTorchTopk;
  std::vector<int32_t> tied_;  // GTs picked over the row at a tie, in order
};

}  // namespace assignscope::assign::detail
