// PyTorch's CPU order for equal keys (torch_order.h).
#include "match/torch_order.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace assignscope::match {
namespace {

// TopKImpl.h's element: (value, index); the value widened to torch's
// accumulate type (double for float), which orders exactly as the float does.
using Elem = std::pair<double, int64_t>;

bool larger(const Elem& x, const Elem& y) {
  return (std::isnan(x.first) && !std::isnan(y.first)) || (x.first > y.first);
}
bool smaller(const Elem& x, const Elem& y) {
  return (!std::isnan(x.first) && std::isnan(y.first)) || (x.first < y.first);
}

std::vector<Elem> queue_of(const std::vector<float>& values) {
  std::vector<Elem> q(values.size());
  for (size_t j = 0; j < values.size(); ++j) q[j] = {static_cast<double>(values[j]), static_cast<int64_t>(j)};
  return q;
}

}  // namespace

std::vector<int32_t> torch_topk_cpu(const std::vector<float>& values, int64_t k, bool largest) {
  const auto n = static_cast<int64_t>(values.size());
  k = std::clamp<int64_t>(k, 0, n);
  std::vector<int32_t> out;
  if (k == 0) return out;
  std::vector<Elem> q = queue_of(values);
  const auto cmp = largest ? larger : smaller;
  if (k * 64 <= n) {
    std::partial_sort(q.begin(), q.begin() + k, q.end(), cmp);
  } else {
    std::nth_element(q.begin(), q.begin() + (k - 1), q.end(), cmp);
    std::sort(q.begin(), q.begin() + (k - 1), cmp);  // sorted=True: ATen sorts the first k - 1
  }
  out.reserve(static_cast<size_t>(k));
  for (int64_t j = 0; j < k; ++j) out.push_back(static_cast<int32_t>(q[j].second));
  return out;
}

std::vector<int32_t> torch_sort_cpu(const std::vector<float>& values, bool descending) {
  std::vector<Elem> q = queue_of(values);
  std::sort(q.begin(), q.end(), descending ? larger : smaller);
  std::vector<int32_t> out(q.size());
  for (size_t j = 0; j < q.size(); ++j) out[j] = static_cast<int32_t>(q[j].second);
  return out;
}

bool boundary_tie(const float* values, int64_t n, const std::vector<int32_t>& picks) {
  if (picks.empty() || static_cast<int64_t>(picks.size()) >= n) return false;
  float worst = values[picks[0]];
  for (int32_t i : picks) worst = std::max(worst, values[i]);
  // More values equal to the k-th than picks holding it: one was left out.
  int64_t picked = 0, all = 0;
  for (int32_t i : picks) picked += values[i] == worst;
  for (int64_t i = 0; i < n; ++i) all += values[i] == worst;
  return all > picked;
}

}  // namespace assignscope::match
