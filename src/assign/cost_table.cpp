// The cost table of the dynamic-k assigners and the assembly of a result.
#include "assign/cost_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace assignscope::assign::detail {
namespace {

// A GT's reported pairs are kept in prior order.
std::vector<CandidatePair>::iterator lower_bound_prior(std::vector<CandidatePair>* pairs, int32_t prior) {
  return std::lower_bound(pairs->begin(), pairs->end(), prior,
                          [](const CandidatePair& a, int32_t b) { return a.prior < b; });
}

}  // namespace

ClassSlots::ClassSlots(const std::vector<int64_t>& column_labels) : classes(column_labels) {
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  slot.reserve(column_labels.size());
  for (int64_t label : column_labels)
    slot.push_back(static_cast<size_t>(std::lower_bound(classes.begin(), classes.end(), label) - classes.begin()));
}

CostTable::CostTable(std::vector<int32_t> candidates, int64_t columns, int64_t real_gts)
    : candidates_(std::move(candidates)), columns_(columns), real_gts_(real_gts) {
  iou_.resize(static_cast<size_t>(columns_ * num_candidates()));
  cost_.resize(iou_.size());
  reported_.resize(static_cast<size_t>(real_gts_));
}

void CostTable::record(int64_t g, int64_t v, float iou, const Terms& terms, float cost, bool inside) {
  iou_[at(g, v)] = iou;
  cost_[at(g, v)] = cost;
  if (!inside || g >= real_gts_) return;
  CandidatePair pair;
  pair.prior = candidates_[v];
  pair.gt = static_cast<int32_t>(g);
  pair.iou = iou;
  pair.terms = terms;
  pair.cost = cost;
  pair.inside = true;
  reported_[g].push_back(pair);  // candidates are costed in prior order
}

match::DynamicKMatch CostTable::match(int64_t topk, match::TieOrder order) const {
  return match::dynamic_k_matching(cost_.data(), iou_.data(), columns_, real_gts_, num_candidates(), topk, order);
}

Assignment assemble_dynamic_k(const Problem& problem, DynamicKResult result, const std::vector<int64_t>& column_labels,
                              float negative_overlap) {
  Assignment out = Assignment::Empty(problem.num_priors(), problem.num_gts(), negative_overlap, true);
  out.dynamic_ks = std::move(result.dynamic_ks);
  for (size_t i = 0; i < result.owner.size(); ++i) {
    const int32_t g = result.owner[i];
    if (g < 0) continue;
    out.gt_inds[i] = g + 1;
    out.labels[i] = column_labels[g];
    out.max_overlaps[i] = result.overlap[i];
  }
  for (std::vector<CandidatePair>& pairs : result.reported)
    out.candidates.insert(out.candidates.end(), pairs.begin(), pairs.end());
  return out;
}

Assignment CostTable::assemble(const Problem& problem, const match::DynamicKMatch& m,
                               const std::vector<int64_t>& column_labels, float negative_overlap,
                               const std::function<Terms(int64_t, int64_t)>& terms_of) const {
  DynamicKResult r;
  r.dynamic_ks = m.dynamic_ks;  // [columns]
  r.owner.assign(static_cast<size_t>(problem.num_priors()), -1);
  r.overlap.assign(r.owner.size(), 0.0f);
  for (int64_t v = 0; v < num_candidates(); ++v) {
    const int32_t g = m.owner[v];
    if (g < 0) continue;
    const int32_t prior = candidates_[v];
    r.owner[prior] = g;
    float overlap = iou(g, v);
    for (int64_t c = 0; c < columns_; ++c)
      if (std::isnan(iou(c, v))) overlap = std::numeric_limits<float>::quiet_NaN();
    r.overlap[prior] = overlap;
  }
  r.reported.resize(static_cast<size_t>(real_gts_));
  for (int64_t g = 0; g < real_gts_; ++g) {
    std::vector<CandidatePair>& pairs = r.reported[g];
    pairs = reported_[g];
    for (int32_t v : m.picks[g]) {
      auto it = lower_bound_prior(&pairs, candidates_[v]);
      if (it == pairs.end() || it->prior != candidates_[v]) {
        CandidatePair pair;
        pair.prior = candidates_[v];
        pair.gt = static_cast<int32_t>(g);
        pair.iou = iou(g, v);
        pair.terms = terms_of(g, v);
        pair.cost = cost(g, v);
        it = pairs.insert(it, pair);
      }
      it->picked = true;
    }
  }
  Assignment out = assemble_dynamic_k(problem, std::move(r), column_labels, negative_overlap);
  for (int32_t g : m.tied_columns) out.notes.push_back(tied_column_note(g));
  return out;
}

std::string tied_column_note(int32_t g) {
  return fmt::format(
      "GT {}: its k-th cheapest cost is shared with candidates it did not take; taken in the order PyTorch's CPU "
      "kernel gives equal keys, as the reference run on a CPU does (a CUDA run can take others)",
      g);
}

}  // namespace assignscope::assign::detail
