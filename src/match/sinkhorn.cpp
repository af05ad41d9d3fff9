// Log-domain Sinkhorn iterations.
#include "match/sinkhorn.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/progress.h"

namespace assignscope::match {
namespace {

// torch.logsumexp in float32 over `values`: max + log(sum exp(x - max)); the
// sum is accumulated in float64 and rounded once.
float logsumexp(const std::vector<float>& values) {
  float m = -std::numeric_limits<float>::infinity();
  for (float x : values) m = std::max(m, x);
  if (!std::isfinite(m)) return m;  // all -inf (or +inf / NaN): no NaN from inf - inf
  double s = 0;
  for (float x : values) s += static_cast<double>(std::exp(x - m));
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
  std::vector<float> column(static_cast<size_t>(rows)), row(static_cast<size_t>(cols));
  for (int64_t it = 0; it < iterations; ++it) {
    progress::step("Sinkhorn iteration", it, iterations);  // for a progress line on a terminal
    for (int64_t j = 0; j < cols; ++j) {
      for (int64_t i = 0; i < rows; ++i) column[i] = m_at(i, j);
      v[j] = eps * (std::log(nu[j] + 1e-8f) - logsumexp(column)) + v[j];
    }
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < cols; ++j) row[j] = m_at(i, j);
      u[i] = eps * (std::log(mu[i] + 1e-8f) - logsumexp(row)) + u[i];
    }
  }
  progress::step("Sinkhorn iteration", iterations, iterations);
  std::vector<float> plan(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) plan[static_cast<size_t>(i * cols + j)] = std::exp(m_at(i, j));
  return plan;
}

}  // namespace assignscope::match
