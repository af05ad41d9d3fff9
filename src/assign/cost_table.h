// What the dynamic-k assigners (dynamic soft label, SimOTA and their
// flavours) share around the matching step: a dense table of (GT column,
// candidate prior) costs and IoUs, the pairs worth reporting, and turning a
// match into an Assignment.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/assignment.h"
#include "core/problem.h"
#include "match/dynamic_k.h"

namespace assignscope::assign::detail {

using Terms = CostTerms;

// The distinct classes of a set of GT columns, and each column's slot among
// them: per-prior values needed for "the GT's class" (a logit, a
// probability) are computed once per (prior, distinct class), not per pair.
struct ClassSlots {
  explicit ClassSlots(const std::vector<int64_t>& column_labels);
  std::vector<int64_t> classes;  // distinct, sorted
  std::vector<size_t> slot;      // [columns] index into classes
};

// What a dynamic-k match decided, by prior, whichever search found it: the
// input of the one assembly of a result.
struct DynamicKResult {
  std::vector<int64_t> dynamic_ks;                   // [columns]
  std::vector<int32_t> owner;                        // [N] the GT column keeping the prior, -1 none
  std::vector<float> overlap;                        // [N] the owner's IoU where owned
  std::vector<std::vector<CandidatePair>> reported;  // [real GTs] pairs to report, in prior order
};

// The Assignment of a match. Positives: gt_inds = column + 1, the column's
// label, `overlap`. Other priors: `negative_overlap`. Candidates: the
// reported pairs, GT by GT.
Assignment assemble_dynamic_k(const Problem& problem, DynamicKResult result, const std::vector<int64_t>& column_labels,
                              float negative_overlap);

// The note of a GT whose k-th cheapest cost was shared with candidates it did
// not take (torch's CPU order decided), dense and sparse alike.
std::string tied_column_note(int32_t g);

class CostTable {
 public:
  // `candidates`: the prior index of each candidate (V of them); `columns`:
  // GT columns, the `real_gts` first and then any padding columns.
  CostTable(std::vector<int32_t> candidates, int64_t columns, int64_t real_gts);

  int64_t num_candidates() const { return static_cast<int64_t>(candidates_.size()); }
  int64_t columns() const { return columns_; }
  int32_t prior(int64_t v) const { return candidates_[v]; }

  // Records the costed pair (column g, candidate v). Pairs of real GTs that
  // pass the assigner's geometric rule (`inside`) are kept for the reports.
  void record(int64_t g, int64_t v, float iou, const Terms& terms, float cost, bool inside);

  float iou(int64_t g, int64_t v) const { return iou_[at(g, v)]; }
  float cost(int64_t g, int64_t v) const { return cost_[at(g, v)]; }

  match::DynamicKMatch match(int64_t topk, match::TieOrder order = match::TieOrder::kTorchTopk) const;

  // The Assignment of a match. Positives: gt_inds = column + 1, the column's
  // label, the IoU with it — NaN when the prior's IoU row holds a NaN, as the
  // references' (matching * ious).sum() gives. Other priors: `negative_overlap`.
  // Reported pairs: those recorded inside their GT, plus picked pairs outside
  // it, costed on demand by `terms_of(g, v)` (rare: no second sweep).
  Assignment assemble(const Problem& problem, const match::DynamicKMatch& m, const std::vector<int64_t>& column_labels,
                      float negative_overlap, const std::function<Terms(int64_t, int64_t)>& terms_of) const;

 private:
  size_t at(int64_t g, int64_t v) const { return static_cast<size_t>(g * num_candidates() + v); }

  std::vector<int32_t> candidates_;  // [V]
  int64_t columns_;
  int64_t real_gts_;
  std::vector<float> iou_;                            // [columns, V]
  std::vector<float> cost_;                           // [columns, V]
  std::vector<std::vector<CandidatePair>> reported_;  // [real GTs], in prior order
};

}  // namespace assignscope::assign::detail
