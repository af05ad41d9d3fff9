// Dynamic-k matching (OTA / SimOTA / RTMDet): how many priors each GT takes,
// which ones, and who keeps a prior that several GTs took.
#pragma once

#include <cstdint>
#include <vector>

namespace assignscope::match {

// k = max(1, int(sum of the largest min(topk, n) values)), the sum taken in
// float32 from the largest value down, as mmdet's
// `torch.topk(ious, k, dim=0)[0].sum(0).int().clamp(min=1)` evaluates it (a
// reduction across rows). YOLOX and OTA sum along a row (`.sum(1)`), whose
// order may differ; that can change k only for a sum within an ulp of an
// integer, which no golden case has.
// `values` is taken by value: it is partially reordered.
int64_t dynamic_k(std::vector<float> values, int64_t topk);

// Indices of the k smallest of `cost[0..n)`, ordered by (cost, index).
// Partial selection, not a full sort. Requires k <= n.
std::vector<int32_t> k_smallest(const float* cost, int64_t n, int64_t k);

// The matching step shared by SimOTA and the dynamic soft label assigners,
// over a dense table of candidate priors:
//   k_g = dynamic_k(IoU row g, topk)                          every column g
//   each of the first `picking` columns takes its k_g cheapest candidates
//   a candidate taken by several columns goes to the column with the lowest
//   cost over ALL columns (torch.min), which need not be one that took it
// Columns past `picking` (mmyolo's padded GTs) get a k and compete in
// conflicts but take nothing.
// Equal costs at a column's k boundary are taken in the order the
// reference's CPU kernel gives them (match/torch_order.h): torch.topk(cost,
// k, largest=False) over the candidates (mmdet, YOLOX), or the first k of
// torch.sort over them (mmyolo).
enum class TieOrder { kTorchTopk, kTorchSort };
struct DynamicKMatch {
  std::vector<int64_t> dynamic_ks;          // [columns]
  std::vector<std::vector<int32_t>> picks;  // [picking] candidate indices, cheapest first
  std::vector<int32_t> owner;               // [V] column that keeps the candidate, -1 none
  std::vector<int32_t> tied_columns;        // columns whose k boundary fell in a block of equal costs
};
DynamicKMatch dynamic_k_matching(const float* cost_gv, const float* iou_gv, int64_t columns, int64_t picking,
                                 int64_t num_candidates, int64_t topk, TieOrder order = TieOrder::kTorchTopk);

// A column's k cheapest of cost[0..n): by value, and where the k-th value
// is shared with a candidate left out, in torch's CPU order. `tied` says so.
std::vector<int32_t> k_cheapest(const float* cost, int64_t n, int64_t k, TieOrder order, bool* tied);

// First index of the minimum of cost_of(0..num_gts) — torch.min's argmin,
// which returns the first NaN when there is one.
template <class CostOf>
int32_t argmin_cost(int32_t num_gts, const CostOf& cost_of) {
  int32_t best = 0;
  float best_cost = cost_of(0);
  if (best_cost != best_cost) return 0;
  for (int32_t g = 1; g < num_gts; ++g) {
    const float c = cost_of(g);
    if (c != c) return g;
    if (c < best_cost) best_cost = c, best = g;
  }
  return best;
}

}  // namespace assignscope::match
