// Dynamic k and partial top-k selection.
#include "match/dynamic_k.h"

#include "match/torch_order.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace assignscope::match {

namespace {
// Strict weak orders that put NaN after every number, as torch.topk treats
// NaN as the largest value: NaN inputs (--allow-nonfinite), or YOLOX's IoU of two
// empty boxes (0 / 0).
bool greater_nan_first(float a, float b) {
  if (std::isnan(a)) return !std::isnan(b);
  return !std::isnan(b) && a > b;
}
}  // namespace

int64_t dynamic_k(std::vector<float> values, int64_t topk) {
  const auto n = static_cast<int64_t>(values.size());
  const int64_t take = std::min(topk, n);
  if (take <= 0) return 1;
  std::partial_sort(values.begin(), values.begin() + take, values.end(), greater_nan_first);
  float sum = 0.0f;
  for (int64_t i = 0; i < take; ++i) sum += values[static_cast<size_t>(i)];
  if (!(sum >= 1.0f)) return 1;  // also NaN: Tensor.int() of NaN, clamped, is 1
  // Tensor.int() truncates toward zero.
  return static_cast<int64_t>(std::min(sum, 1e9f));
}

namespace {
constexpr int64_t kSmallK = 32;  // up to here, one insertion pass beats nth_element
}  // namespace

std::vector<int32_t> k_smallest(const float* cost, int64_t n, int64_t k) {
  // (cost, index) order with NaN after every number.
  const auto less = [cost](int32_t a, int32_t b) {
    const float ca = cost[a], cb = cost[b];
    const bool na = std::isnan(ca), nb = std::isnan(cb);
    if (na || nb) return na == nb ? a < b : nb;
    return ca < cb || (ca == cb && a < b);
  };
  k = std::clamp<int64_t>(k, 0, n);
  if (k > 0 && k <= kSmallK && n > 4 * k) {
    // Small k (ATSS's 9, a dynamic k): one pass keeping the best k sorted;
    // most entries lose to the current k-th and cost one comparison. The
    // order is a strict total order, so the result is the same set and
    // order as selecting and sorting.
    std::vector<int32_t> best;
    best.reserve(static_cast<size_t>(k) + 1);
    for (int32_t i = 0; i < static_cast<int32_t>(n); ++i) {
      if (static_cast<int64_t>(best.size()) == k && !less(i, best.back())) continue;
      best.insert(std::upper_bound(best.begin(), best.end(), i, less), i);
      if (static_cast<int64_t>(best.size()) > k) best.pop_back();
    }
    return best;
  }
  std::vector<int32_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  std::nth_element(idx.begin(), idx.begin() + k, idx.end(), less);
  idx.resize(static_cast<size_t>(k));
  std::sort(idx.begin(), idx.end(), less);
  return idx;
}

std::vector<int32_t> k_cheapest(const float* cost, int64_t n, int64_t k, TieOrder order, bool* tied) {
  std::vector<int32_t> picks = k_smallest(cost, n, k);
  *tied = boundary_tie(cost, n, picks);
  if (!*tied) return picks;
  const std::vector<float> column(cost, cost + n);
  picks = order == TieOrder::kTorchTopk ? torch_topk_cpu(column, k, /*largest=*/false)
                                        : torch_sort_cpu(column, /*descending=*/false);
  picks.resize(static_cast<size_t>(k));
  // Cheapest first, as k_smallest orders them, for the reports.
  std::sort(picks.begin(), picks.end(),
            [&](int32_t a, int32_t b) { return cost[a] < cost[b] || (!(cost[b] < cost[a]) && a < b); });
  return picks;
}

DynamicKMatch dynamic_k_matching(const float* cost_gv, const float* iou_gv, int64_t columns, int64_t picking,
                                 int64_t num_candidates, int64_t topk, TieOrder order) {
  DynamicKMatch m;
  const int64_t v_count = num_candidates;
  m.dynamic_ks.resize(static_cast<size_t>(columns));
  for (int64_t g = 0; g < columns; ++g) {
    const float* row = iou_gv + g * v_count;
    m.dynamic_ks[g] = dynamic_k(std::vector<float>(row, row + v_count), topk);
  }
  m.owner.assign(static_cast<size_t>(v_count), -1);
  std::vector<uint8_t> times_taken(static_cast<size_t>(v_count), 0);  // up to 2
  m.picks.resize(static_cast<size_t>(picking));
  for (int64_t g = 0; g < picking; ++g) {
    bool tied = false;
    m.picks[g] = k_cheapest(cost_gv + g * v_count, v_count, m.dynamic_ks[g], order, &tied);
    if (tied) m.tied_columns.push_back(static_cast<int32_t>(g));
    for (int32_t v : m.picks[g]) m.owner[v] = static_cast<int32_t>(g), times_taken[v] = times_taken[v] ? 2 : 1;
  }
  for (int64_t v = 0; v < v_count; ++v) {
    if (times_taken[v] > 1)
      m.owner[v] = argmin_cost(static_cast<int32_t>(columns), [&](int32_t g) { return cost_gv[g * v_count + v]; });
  }
  return m;
}

}  // namespace assignscope::match
