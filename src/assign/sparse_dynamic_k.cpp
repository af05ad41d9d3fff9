// The sparse dynamic-k engine: positive IoUs, picks, owners, the result.
#include "assign/sparse_dynamic_k.h"

#include <algorithm>
#include <cmath>

#include "geometry/boxes.h"
#include "geometry/prior_grid.h"
#include "match/dynamic_k.h"
#include "match/torch_order.h"

namespace assignscope::assign::detail {
namespace {

bool finite4(const float* b) {
  return std::isfinite(b[0]) && std::isfinite(b[1]) && std::isfinite(b[2]) && std::isfinite(b[3]);
}

bool by_prior(const CandidatePair& a, const CandidatePair& b) { return a.prior < b.prior; }

// The extent of the column boxes (real GTs, then padding) and a cell size.
geometry::GtExtent columns_extent(const Problem& p, const std::vector<const float*>& boxes) {
  geometry::GtExtent e = geometry::gt_extent(p.gt_bboxes);
  for (size_t g = static_cast<size_t>(p.num_gts()); g < boxes.size(); ++g) {
    const float* b = boxes[g];
    e.x0 = std::min(e.x0, b[0]), e.y0 = std::min(e.y0, b[1]), e.x1 = std::max(e.x1, b[2]), e.y1 = std::max(e.y1, b[3]);
  }
  return e;
}

}  // namespace

SparseDynamicK::SparseDynamicK(const Problem& p, int64_t columns, SparseCost* cost)
    : p_(p), gts_(p.num_gts()), columns_(columns), cost_(cost) {
  ks_.assign(static_cast<size_t>(columns_), 0);
  overlapping_.resize(static_cast<size_t>(gts_));
  costed_.resize(static_cast<size_t>(gts_));
  picks_.resize(static_cast<size_t>(gts_));
}

std::optional<geometry::BoxIndex> SparseDynamicK::prediction_index(const std::vector<const float*>& boxes,
                                                                   const std::vector<char>& indexed, bool widen) const {
  const geometry::GtExtent e = columns_extent(p_, boxes);
  std::optional<geometry::BoxIndex> index(std::in_place, e.x0, e.y0, e.x1, e.y1, e.cell);
  for (int64_t i = 0; i < p_.num_priors(); ++i) {
    if (!indexed[i]) continue;
    const float* pred = &p_.pred_bboxes(i, 0);
    if (!finite4(pred)) return std::nullopt;
    const float m =
        widen ? 1e-3f + 1e-5f * (std::fabs(pred[0]) + std::fabs(pred[1]) + std::fabs(pred[2]) + std::fabs(pred[3]))
              : 0.0f;
    const float widened[4] = {pred[0] - m, pred[1] - m, pred[2] + m, pred[3] + m};
    index->insert(static_cast<int32_t>(i), widened);
  }
  return index;
}

bool SparseDynamicK::pick(int64_t g) {
  std::vector<CandidatePair>& pairs = costed_[g];
  std::sort(pairs.begin(), pairs.end(), by_prior);
  std::vector<float> costs;
  costs.reserve(pairs.size());
  for (const CandidatePair& pair : pairs) costs.push_back(pair.cost);
  picks_[g] = match::k_smallest(costs.data(), static_cast<int64_t>(costs.size()), ks_[g]);
  if (!match::boundary_tie(costs.data(), static_cast<int64_t>(costs.size()), picks_[g])) return true;
  return row_ && pick_over_row(g);
}

// GT g costed over the whole dense row (the pairs already costed reused, the
// others costed as the dense search costs them), its k cheapest taken as
// match::k_cheapest takes them there. False when a costed pair is not in the
// row (the row is not the dense search's).
bool SparseDynamicK::pick_over_row(int64_t g) {
  const std::vector<CandidatePair>& known = costed_[g];  // by prior
  std::vector<CandidatePair> full;
  full.reserve(row_->size());
  size_t at = 0;
  for (const int32_t i : *row_) {
    if (at < known.size() && known[at].prior == i) full.push_back(known[at++]);
    else full.push_back(cost_->pair(i, g, cost_->iou(i, g)));
  }
  if (at != known.size()) return false;
  std::vector<float> costs;
  costs.reserve(full.size());
  for (const CandidatePair& pair : full) costs.push_back(pair.cost);
  bool tied = false;
  const std::vector<int32_t> picks =
      match::k_cheapest(costs.data(), static_cast<int64_t>(costs.size()), ks_[g], order_, &tied);
  // Keep what the dense search keeps of the row: the pairs it reports
  // (inside) and the picks, in prior order; the picks re-indexed.
  std::vector<char> picked(full.size(), 0);
  for (int32_t v : picks) picked[v] = 1;
  std::vector<int32_t> position(full.size(), -1);
  std::vector<CandidatePair> kept;
  for (size_t v = 0; v < full.size(); ++v) {
    if (!full[v].inside && !picked[v]) continue;
    position[v] = static_cast<int32_t>(kept.size());
    kept.push_back(full[v]);
  }
  costed_[g] = std::move(kept);
  picks_[g].clear();
  for (int32_t v : picks) picks_[g].push_back(position[v]);
  if (tied) tied_.push_back(static_cast<int32_t>(g));
  return true;
}

const CandidatePair* SparseDynamicK::costed_pair(int64_t g, int32_t prior) const {
  const auto& pairs = costed_[g];
  const auto it = std::lower_bound(pairs.begin(), pairs.end(), prior,
                                   [](const CandidatePair& x, int32_t b) { return x.prior < b; });
  return it != pairs.end() && it->prior == prior ? &*it : nullptr;
}

float SparseDynamicK::exact_cost(int32_t prior, int64_t g) {
  const CandidatePair* known = g < gts_ ? costed_pair(g, prior) : nullptr;
  return known ? known->cost : cost_->pair(prior, g, cost_->iou(prior, g)).cost;
}

// (prior, picking GT) of the priors several GTs picked, by prior then GT.
std::vector<std::pair<int32_t, int32_t>> SparseDynamicK::contested() const {
  std::vector<int32_t> pickers_of(static_cast<size_t>(p_.num_priors()), 0);
  for (int64_t g = 0; g < gts_; ++g)
    for (int32_t v : picks_[g]) ++pickers_of[costed_[g][v].prior];
  std::vector<std::pair<int32_t, int32_t>> out;
  for (int64_t g = 0; g < gts_; ++g)
    for (int32_t v : picks_[g])
      if (pickers_of[costed_[g][v].prior] > 1) out.emplace_back(costed_[g][v].prior, static_cast<int32_t>(g));
  std::sort(out.begin(), out.end());
  return out;
}

void SparseDynamicK::resolve_owners(const std::vector<std::array<float, 2>>& centres, float bucket) {
  owner_.assign(static_cast<size_t>(p_.num_priors()), -1);
  for (int64_t g = 0; g < gts_; ++g)
    for (int32_t v : picks_[g]) owner_[costed_[g][v].prior] = static_cast<int32_t>(g);
  const std::vector<std::pair<int32_t, int32_t>> contested = this->contested();
  if (contested.empty()) return;
  float x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
  for (const auto& [x, y] : centres)
    x0 = std::min(x0, x), y0 = std::min(y0, y), x1 = std::max(x1, x), y1 = std::max(y1, y);
  geometry::BoxIndex index(x0, y0, x1, y1, bucket);
  for (int64_t g = 0; g < gts_; ++g) {
    const float c[4] = {centres[g][0], centres[g][1], centres[g][0], centres[g][1]};
    index.insert(static_cast<int32_t>(g), c);
  }
  std::vector<uint32_t> seen(static_cast<size_t>(gts_), 0);
  uint32_t query = 0;
  for (size_t a = 0; a < contested.size();) {
    const int32_t i = contested[a].first;
    float best = INFINITY;
    int32_t best_g = -1;
    for (; a < contested.size() && contested[a].first == i; ++a) {  // the pickers, in GT order: first minimum
      const float c = costed_pair(contested[a].second, i)->cost;
      if (best_g < 0 || c < best) best = c, best_g = contested[a].second;
    }
    const auto consider = [&](int32_t g) {
      const float c = exact_cost(i, g);
      if (c < best || (c == best && g < best_g)) best = c, best_g = g;
    };
    if (const std::optional<std::array<float, 4>> w = cost_->rival_window(i, best)) {
      index.query(w->data(), &seen, ++query, [&](int32_t g) {
        const auto& [gx, gy] = centres[g];
        if (gx >= (*w)[0] && gx <= (*w)[2] && gy >= (*w)[1] && gy <= (*w)[3]) consider(g);
      });
    } else {
      for (int32_t g = 0; g < gts_; ++g) consider(g);
    }
    for (int64_t g = gts_; g < columns_; ++g) consider(static_cast<int32_t>(g));  // padding, after every real GT
    owner_[i] = best_g;
  }
}

int64_t SparseDynamicK::owned_by_padding() const {
  return std::count_if(owner_.begin(), owner_.end(), [&](int32_t g) { return g >= gts_; });
}

Assignment SparseDynamicK::assemble(const std::vector<int64_t>& column_labels, float negative_overlap) {
  DynamicKResult r;
  r.dynamic_ks = ks_;
  r.owner = owner_;
  r.overlap.assign(owner_.size(), 0.0f);
  for (size_t i = 0; i < owner_.size(); ++i) {
    const int32_t g = owner_[i];
    if (g < 0) continue;
    const CandidatePair* pair = g < gts_ ? costed_pair(g, static_cast<int32_t>(i)) : nullptr;
    r.overlap[i] = pair ? pair->iou : cost_->iou(static_cast<int32_t>(i), g);
  }
  r.reported.resize(static_cast<size_t>(gts_));
  for (int64_t g = 0; g < gts_; ++g) {
    std::vector<CandidatePair>& pairs = costed_[g];
    for (int32_t v : picks_[g]) pairs[v].picked = true;
    for (const CandidatePair& pair : pairs)
      if (pair.inside || pair.picked) r.reported[g].push_back(pair);
  }
  Assignment out = assemble_dynamic_k(p_, std::move(r), column_labels, negative_overlap);
  for (int32_t g : tied_) out.notes.push_back(tied_column_note(g));
  return out;
}

}  // namespace assignscope::assign::detail
