// Log-domain Sinkhorn iterations.
#include "match/sinkhorn.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace assignscope::match {
namespace {

// torch.logsumexp in float32: max + log(sum exp(x - max)); the sum is
// accumulated in float64 and rounded once.
template <class At>
float logsumexp(int64_t n, const At& at) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t k = 0; k < n; ++k) m = std::max(m, at(k));
  if (!std::isfinite(m)) return m;  // all -inf (or +inf / NaN): no NaN from inf - inf
  double s = 0;
  for (int64_t k = 0; k < n; ++k) s += static_cast<double>(std::exp(at(k) - m));
  return std::log(static_cast<float>(s)) + m;
}

}  // namespace

std::vector<float> sinkhorn_plan(const std::vector<float>& cost, int64_t rows, int64_t cols,
                                 const std::vector<float>& mu, const std::vector<float>& nu, float eps,
                                 int64_t iterations) {
  std::vector<float> u(static_cast<size_t>(rows), 1.0f), v(static_cast<size_t>(cols), 1.0f);
  const auto m_at = [&](int64_t i, int64_t j) {
    return ((-cost[static_cast<size_t>(i * cols + j)] + u[i]) + v[j]) / eps;
  };
  for (int64_t it = 0; it < iterations; ++it) {
    for (int64_t j = 0; j < cols; ++j) {
      const float lse = logsumexp(rows, [&](int64_t i) { return m_at(i, j); });
      v[j] = eps * (std::log(nu[j] + 1e-8f) - lse) + v[j];
    }
    for (int64_t i = 0; i < rows; ++i) {
      const float lse = logsumexp(cols, [&](int64_t j) { return m_at(i, j); });
      u[i] = eps * (std::log(mu[i] + 1e-8f) - lse) + u[i];
    }
  }
  std::vector<float> plan(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) plan[static_cast<size_t>(i * cols + j)] = std::exp(m_at(i, j));
  return plan;
}

}  // namespace assignscope::match
