// Log-domain Sinkhorn iterations.
#include "match/sinkhorn.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/progress.h"

namespace assignscope::match {
namespace {

// exp(x) is 0 in float32 for every x at or below this: e^-110 is ~1e-48,
// far under half the least float denormal (7e-46).
constexpr float kUnderflow = -110.0f;

// torch.logsumexp in float32 over `values`: max + log(sum exp(x - max)); the
// sum is accumulated in float64 and rounded once. A term whose exp is 0
// (x - max <= -110) is not computed: adding it would change nothing.
float logsumexp(const std::vector<float>& values) {
  // One value x: log(exp(x - x)) + x = 0 + x (+ 0 turns -0 into +0, as there).
  if (values.size() == 1 && std::isfinite(values[0])) return values[0] + 0.0f;
  float m = -std::numeric_limits<float>::infinity();
  for (float x : values) m = std::max(m, x);
  if (!std::isfinite(m)) return m;  // all -inf (or +inf / NaN): no NaN from inf - inf
  double s = 0;
  for (float x : values) {
    const float d = x - m;
    if (!(d <= kUnderflow)) s += static_cast<double>(std::exp(d));  // a NaN is added
  }
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

namespace {

// The largest of `values`, NaN when one of them is NaN.
float max_or_nan(const std::vector<float>& values, const std::vector<char>* skip) {
  float m = -std::numeric_limits<float>::infinity();
  bool nan = false;
  if (skip == nullptr) {
    for (float x : values) nan |= std::isnan(x), m = std::max(m, x);  // no branch: vectorised
  } else {
    for (size_t i = 0; i < values.size(); ++i)
      if (!(*skip)[i]) nan |= std::isnan(values[i]), m = std::max(m, values[i]);
  }
  return nan ? std::numeric_limits<float>::quiet_NaN() : m;
}

// True when exp of every skipped entry, bounded above by `bound`, adds an
// exact 0 next to the maximum m taken (false for a NaN or an infinity).
bool skipped_underflow(float bound, float m) { return std::isfinite(m) && bound - m <= kUnderflow; }

// The sparse solve's state: potentials, the rows held in full, and the
// listed entries by column (rows increasing) for the column updates.
class PenaltySolve {
 public:
  PenaltySolve(const PenaltyCost& c, float eps, SinkhornWork* work)
      : c_(c),
        eps_(eps),
        work_(work),
        u_(static_cast<size_t>(c.rows), 1.0f),
        v_(static_cast<size_t>(c.cols), 1.0f),
        full_(static_cast<size_t>(c.rows)) {
    work_->listed = static_cast<int64_t>(c.col.size());
    work_->full_row.assign(static_cast<size_t>(c.rows), 0);
    col_start_.assign(static_cast<size_t>(c.cols + 1), 0);
    for (int32_t j : c.col) ++col_start_[static_cast<size_t>(j) + 1];
    for (int64_t j = 0; j < c.cols; ++j) col_start_[j + 1] += col_start_[j];
    col_row_.resize(c.col.size());
    col_cost_.resize(c.col.size());
    std::vector<int64_t> next(col_start_.begin(), col_start_.end() - 1);
    for (int64_t r = 0; r < c.rows; ++r)
      for (int64_t e = c.row_start[r]; e < c.row_start[r + 1]; ++e) {
        const auto at = static_cast<size_t>(next[c.col[e]]++);
        col_row_[at] = static_cast<int32_t>(r);
        col_cost_[at] = c.cost[e];
      }
    // A row listing every column (OTA's background) is held in full at once.
    for (int64_t r = 0; r < c.rows; ++r)
      if (c.row_start[r + 1] - c.row_start[r] == c.cols) hold_in_full(r);
  }

  // log(nu + 1e-8) per column, log(mu + 1e-8) per row: the same float32
  // values as computed in every update.
  void column_updates(const std::vector<float>& log_nu) {
    const float u_max = max_or_nan(u_, &work_->full_row);  // over the rows not held in full
    const size_t held = full_rows_.size();
    if (held_t_.size() != held * static_cast<size_t>(c_.cols)) {
      // The held rows' costs by column, for a contiguous pass per column.
      held_t_.resize(held * static_cast<size_t>(c_.cols));
      for (size_t h = 0; h < held; ++h)
        for (int64_t j = 0; j < c_.cols; ++j) held_t_[static_cast<size_t>(j) * held + h] = full_[full_rows_[h]][j];
    }
    std::vector<float> held_u(held), held_values(held), listed_values;
    std::vector<int64_t> listed_rows;
    for (size_t h = 0; h < held; ++h) held_u[h] = u_[full_rows_[h]];
    for (int64_t j = 0; j < c_.cols; ++j) {
      const float vj = v_[j];
      const float* hc = &held_t_[static_cast<size_t>(j) * held];
      for (size_t h = 0; h < held; ++h) held_values[h] = ((-hc[h] + held_u[h]) + vj) / eps_;
      listed_values.clear(), listed_rows.clear();
      for (int64_t e = col_start_[j]; e < col_start_[j + 1]; ++e)
        if (!work_->full_row[col_row_[e]]) {
          listed_values.push_back(m_at(col_cost_[e], col_row_[e], j));
          listed_rows.push_back(col_row_[e]);
        }
      const size_t count = held + listed_values.size();
      work_->entry_updates += static_cast<int64_t>(count);
      const float held_max = max_or_nan(held_values, nullptr), listed_max = max_or_nan(listed_values, nullptr);
      const float m = std::max(held_max, listed_max);
      const bool all_rows = static_cast<int64_t>(count) == c_.rows;
      const bool exact = !std::isnan(held_max) && !std::isnan(listed_max) &&
                         (all_rows ? std::isfinite(m) : skipped_underflow(((-c_.floor + u_max) + vj) / eps_, m));
      float lse = 0;
      if (!exact) {
        // The plain path over every row of this column.
        ++work_->full_column_updates;
        std::vector<float> values(static_cast<size_t>(c_.rows));
        for (int64_t r = 0; r < c_.rows; ++r) values[r] = m_at(cost_of(r, j), r, j);
        work_->entry_updates += c_.rows;
        lse = logsumexp(values);
      } else if (count == 1) {
        lse = m + 0.0f;  // log(exp(0)) + m
      } else {
        // exp(x - m) summed in row order (held and listed rows merged),
        // the terms that are exactly 0 left out.
        double sum = 0;
        const auto add = [&](float x) {
          const float d = x - m;
          if (d > kUnderflow) sum += static_cast<double>(std::exp(d));
        };
        size_t l = 0;
        for (size_t h = 0; h < held; ++h) {
          for (; l < listed_rows.size() && listed_rows[l] < full_rows_[h]; ++l) add(listed_values[l]);
          add(held_values[h]);
        }
        for (; l < listed_rows.size(); ++l) add(listed_values[l]);
        lse = std::log(static_cast<float>(sum)) + m;
      }
      v_[j] = eps_ * (log_nu[j] - lse) + vj;
    }
  }

  void row_updates(const std::vector<float>& log_mu) {
    const float v_max = max_or_nan(v_, nullptr);
    std::vector<float> values;
    for (int64_t r = 0; r < c_.rows; ++r) {
      values.clear();
      if (!work_->full_row[r]) {
        for (int64_t e = c_.row_start[r]; e < c_.row_start[r + 1]; ++e)
          values.push_back(m_at(c_.cost[e], r, c_.col[e]));
        if (!skipped_underflow(((-c_.floor + u_[r]) + v_max) / eps_, max_or_nan(values, nullptr))) hold_in_full(r);
      }
      if (work_->full_row[r]) {
        values.resize(static_cast<size_t>(c_.cols));
        const float* cost = full_[r].data();
        const float ur = u_[r];
        for (int64_t j = 0; j < c_.cols; ++j) values[j] = ((-cost[j] + ur) + v_[j]) / eps_;
      }
      work_->entry_updates += static_cast<int64_t>(values.size());
      u_[r] = eps_ * (log_mu[r] - logsumexp(values)) + u_[r];
    }
  }

  // pi = exp(M); a row's skipped entries are exactly 0 when their bound
  // underflows, and computed otherwise (the row then counts as full).
  std::vector<float> plan() {
    const float v_max = max_or_nan(v_, nullptr);
    std::vector<float> pi(static_cast<size_t>(c_.rows * c_.cols), 0.0f);
    for (int64_t r = 0; r < c_.rows; ++r) {
      float* row = &pi[static_cast<size_t>(r * c_.cols)];
      if (!work_->full_row[r] && !(((-c_.floor + u_[r]) + v_max) / eps_ <= kUnderflow)) hold_in_full(r);
      if (work_->full_row[r]) {
        for (int64_t j = 0; j < c_.cols; ++j) row[j] = std::exp(m_at(full_[r][j], r, j));
      } else {
        for (int64_t e = c_.row_start[r]; e < c_.row_start[r + 1]; ++e)
          row[c_.col[e]] = std::exp(m_at(c_.cost[e], r, c_.col[e]));
      }
    }
    return pi;
  }

 private:
  // M = ((-C + u) + v) / eps, the reference's float32 order.
  float m_at(float cost, int64_t r, int64_t j) const { return ((-cost + u_[r]) + v_[j]) / eps_; }

  float cost_of(int64_t r, int64_t j) const { return work_->full_row[r] ? full_[r][j] : c_.cost_at(r, j); }

  void hold_in_full(int64_t r) {
    std::vector<float>& row = full_[r];
    row.resize(static_cast<size_t>(c_.cols));
    for (int64_t j = 0; j < c_.cols; ++j) row[j] = c_.cost_at(r, j);
    for (int64_t e = c_.row_start[r]; e < c_.row_start[r + 1]; ++e) row[c_.col[e]] = c_.cost[e];
    work_->full_row[r] = 1;
    full_rows_.insert(std::upper_bound(full_rows_.begin(), full_rows_.end(), r), r);
  }

  const PenaltyCost& c_;
  float eps_;
  SinkhornWork* work_;
  std::vector<float> u_, v_;
  std::vector<std::vector<float>> full_;  // [rows] the costs of rows held in full, else empty
  std::vector<int64_t> full_rows_;        // rows held in full, increasing
  std::vector<float> held_t_;             // [cols, held rows] their costs by column
  std::vector<int64_t> col_start_;        // [cols + 1] listed entries by column
  std::vector<int32_t> col_row_;
  std::vector<float> col_cost_;
};

}  // namespace

std::vector<float> sinkhorn_plan(const PenaltyCost& cost, const std::vector<float>& mu, const std::vector<float>& nu,
                                 float eps, int64_t iterations, SinkhornWork* work) {
  std::vector<float> log_mu(mu.size()), log_nu(nu.size());
  for (size_t r = 0; r < mu.size(); ++r) log_mu[r] = std::log(mu[r] + 1e-8f);
  for (size_t j = 0; j < nu.size(); ++j) log_nu[j] = std::log(nu[j] + 1e-8f);
  const auto has_nan = [](const std::vector<float>& x) {
    return std::any_of(x.begin(), x.end(), [](float y) { return std::isnan(y); });
  };
  if (iterations >= 2 && (has_nan(log_mu) || has_nan(log_nu))) {
    // A negative supply or demand (OTA: the GTs' supplies beyond N): with
    // every cost finite, the first round leaves that row's u (or column's v)
    // NaN; the second turns every v NaN (each column's sum meets the NaN,
    // its maximum over the other rows is finite) and every u +inf or NaN
    // (a logsumexp of NaNs alone is -inf); the plan is NaN throughout, as
    // the plain iterations compute it.
    work->listed = static_cast<int64_t>(cost.col.size());
    work->full_row.assign(static_cast<size_t>(cost.rows), 1);
    return std::vector<float>(static_cast<size_t>(cost.rows * cost.cols), std::numeric_limits<float>::quiet_NaN());
  }
  PenaltySolve solve(cost, eps, work);
  for (int64_t it = 0; it < iterations; ++it) {
    progress::step("Sinkhorn iteration", it, iterations);
    solve.column_updates(log_nu);
    solve.row_updates(log_mu);
  }
  progress::step("Sinkhorn iteration", iterations, iterations);
  return solve.plan();
}

}  // namespace assignscope::match
