// The rectangular linear assignment solver: hand cases, every small shape
// against brute force over all assignments, large matrices against an
// independent O(n^3) Hungarian on the padded square matrix and against the
// optimality certificate (no negative cycle in the residual graph).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "match/linear_assignment.h"

namespace assignscope {
namespace {

using match::linear_sum_assignment;
using match::LinearAssignment;
using match::LinearAssignmentStatus;

constexpr double kInf = std::numeric_limits<double>::infinity();

// min(rows, cols) pairs, each index of the smaller side matched once, the
// two directions consistent, and total_cost their sum.
void check_is_matching(const LinearAssignment& a, const std::vector<double>& cost, int64_t rows, int64_t cols) {
  REQUIRE(a.ok());
  REQUIRE(a.col_of_row.size() == static_cast<size_t>(rows));
  REQUIRE(a.row_of_col.size() == static_cast<size_t>(cols));
  int64_t pairs = 0;
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t c = a.col_of_row[r];
    if (c < 0) continue;
    REQUIRE(c < cols);
    REQUIRE(a.row_of_col[c] == r);
    ++pairs;
    total += cost[static_cast<size_t>(r * cols + c)];
  }
  for (int64_t c = 0; c < cols; ++c)
    if (a.row_of_col[c] >= 0) REQUIRE(a.col_of_row[a.row_of_col[c]] == c);
  CHECK(pairs == std::min(rows, cols));
  CHECK(a.total_cost == total);
}

// Every assignment of the smaller side into the larger one, by recursion:
// the minimum total, how many assignments reach it (within `tie`), and one.
struct BruteForce {
  double best = kInf;
  int64_t optima = 0;
  std::vector<int32_t> best_col_of_row;
};

BruteForce brute_force(const std::vector<double>& cost, int64_t rows, int64_t cols, double tie) {
  const bool wide = rows <= cols;
  const int64_t small = wide ? rows : cols, large = wide ? cols : rows;
  const auto at = [&](int64_t s, int64_t l) {
    return wide ? cost[static_cast<size_t>(s * cols + l)] : cost[static_cast<size_t>(l * cols + s)];
  };
  BruteForce out;
  std::vector<int32_t> pick(static_cast<size_t>(small));
  std::vector<char> used(static_cast<size_t>(large), 0);
  std::vector<double> totals;
  std::vector<std::vector<int32_t>> picks;
  const auto recurse = [&](const auto& self, int64_t s, double total) -> void {
    if (s == small) {
      totals.push_back(total);
      picks.push_back(pick);
      return;
    }
    for (int64_t l = 0; l < large; ++l) {
      if (used[l]) continue;
      used[l] = 1;
      pick[s] = static_cast<int32_t>(l);
      self(self, s + 1, total + at(s, l));
      used[l] = 0;
    }
  };
  recurse(recurse, 0, 0.0);
  size_t arg = 0;
  for (size_t k = 0; k < totals.size(); ++k)
    if (totals[k] < totals[arg]) arg = k;
  out.best = totals[arg];
  for (const double t : totals) out.optima += t <= out.best + tie;
  out.best_col_of_row.assign(static_cast<size_t>(rows), -1);
  for (int64_t s = 0; s < small; ++s) {
    if (wide) out.best_col_of_row[s] = picks[arg][s];
    else out.best_col_of_row[picks[arg][s]] = static_cast<int32_t>(s);
  }
  return out;
}

// The classic O(n^3) Hungarian method on a square matrix (potentials on
// rows and columns, one Dijkstra-like phase per row with a slack array
// shifted by each step's delta; 1-based with a virtual column 0). Written
// independently of the solver under test. Returns the optimal total.
double square_hungarian_total(const std::vector<double>& a, int n) {
  std::vector<double> u(n + 1, 0.0), v(n + 1, 0.0);
  std::vector<int> owner(n + 1, 0), way(n + 1, 0);  // owner[j]: row of column j
  for (int i = 1; i <= n; ++i) {
    owner[0] = i;
    int j0 = 0;
    std::vector<double> slack(n + 1, kInf);
    std::vector<char> used(n + 1, 0);
    do {
      used[j0] = 1;
      const int i0 = owner[j0];
      double delta = kInf;
      int j1 = 0;
      for (int j = 1; j <= n; ++j) {
        if (used[j]) continue;
        const double cur =
            a[static_cast<size_t>(i0 - 1) * static_cast<size_t>(n) + static_cast<size_t>(j - 1)] - u[i0] - v[j];
        if (cur < slack[j]) slack[j] = cur, way[j] = j0;
        if (slack[j] < delta) delta = slack[j], j1 = j;
      }
      for (int j = 0; j <= n; ++j) {
        if (used[j]) {
          u[owner[j]] += delta;
          v[j] -= delta;
        } else {
          slack[j] -= delta;
        }
      }
      j0 = j1;
    } while (owner[j0] != 0);
    do {
      const int j1 = way[j0];
      owner[j0] = owner[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  double total = 0;
  for (int j = 1; j <= n; ++j)
    total += a[static_cast<size_t>(owner[j] - 1) * static_cast<size_t>(n) + static_cast<size_t>(j - 1)];
  return total;
}

// The rectangular optimum through the square method: pad the short side
// with zero-cost dummies (a row matched to a dummy column is unmatched).
double padded_hungarian_total(const std::vector<double>& cost, int64_t rows, int64_t cols) {
  const int n = static_cast<int>(std::max(rows, cols));
  std::vector<double> square(static_cast<size_t>(n) * static_cast<size_t>(n), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) square[static_cast<size_t>(r * n + c)] = cost[static_cast<size_t>(r * cols + c)];
  return square_hungarian_total(square, n);
}

// Optimality certificate: a matching of maximum size is of minimum cost iff
// the residual graph of the flow network source -> rows -> cols -> sink has no
// negative cycle. Bellman-Ford from every node at distance 0; an improvement
// larger than `tol` after |V| rounds means a negative cycle.
bool has_negative_cycle(const std::vector<double>& cost, int64_t rows, int64_t cols, const LinearAssignment& a,
                        double tol) {
  struct Edge {
    int64_t from, to;
    double w;
  };
  const int64_t source = rows + cols, sink = rows + cols + 1, nodes = rows + cols + 2;
  std::vector<Edge> edges;
  for (int64_t r = 0; r < rows; ++r) {
    const bool matched = a.col_of_row[r] >= 0;
    edges.push_back(matched ? Edge{r, source, 0.0} : Edge{source, r, 0.0});
    for (int64_t c = 0; c < cols; ++c) {
      const double w = cost[static_cast<size_t>(r * cols + c)];
      if (a.col_of_row[r] == c) edges.push_back({rows + c, r, -w});
      else if (w < kInf) edges.push_back({r, rows + c, w});
    }
  }
  for (int64_t c = 0; c < cols; ++c)
    edges.push_back(a.row_of_col[c] >= 0 ? Edge{sink, rows + c, 0.0} : Edge{rows + c, sink, 0.0});
  std::vector<double> dist(static_cast<size_t>(nodes), 0.0);
  for (int64_t round = 0; round <= nodes; ++round) {
    bool changed = false;
    for (const Edge& e : edges) {
      if (dist[e.from] + e.w < dist[e.to] - tol) {
        dist[e.to] = dist[e.from] + e.w;
        changed = true;
      }
    }
    if (!changed) return false;
  }
  return true;
}

std::vector<double> random_matrix(std::mt19937_64& rng, int64_t rows, int64_t cols, bool integers) {
  std::uniform_real_distribution<double> uniform(-10.0, 10.0);
  std::uniform_int_distribution<int> small_ints(0, 3);
  std::vector<double> m(static_cast<size_t>(rows * cols));
  for (double& x : m) x = integers ? small_ints(rng) : static_cast<double>(static_cast<float>(uniform(rng)));
  return m;
}

}  // namespace

TEST_CASE("linear assignment: empty sides are solved with nothing matched") {
  const LinearAssignment none = linear_sum_assignment({}, 0, 0);
  CHECK(none.ok());
  CHECK(none.col_of_row.empty());
  CHECK(none.row_of_col.empty());
  const LinearAssignment no_rows = linear_sum_assignment({}, 0, 3);
  CHECK(no_rows.ok());
  CHECK(no_rows.row_of_col == std::vector<int32_t>{-1, -1, -1});
  const LinearAssignment no_cols = linear_sum_assignment({}, 2, 0);
  CHECK(no_cols.ok());
  CHECK(no_cols.col_of_row == std::vector<int32_t>{-1, -1});
  CHECK(no_cols.total_cost == 0.0);
}

TEST_CASE("linear assignment: scipy's documented example") {
  // scipy.optimize.linear_sum_assignment docstring: cost [[4, 1, 3], [2, 0, 5],
  // [3, 2, 2]] -> col_ind [1, 0, 2], total 5 (the only assignment of cost 5:
  // the other five permutations cost 6, 9, 9, 10 and 11).
  const std::vector<double> cost = {4, 1, 3, 2, 0, 5, 3, 2, 2};
  const LinearAssignment a = linear_sum_assignment(cost, 3, 3);
  check_is_matching(a, cost, 3, 3);
  CHECK(a.col_of_row == std::vector<int32_t>{1, 0, 2});
  CHECK(a.row_of_col == std::vector<int32_t>{1, 0, 2});
  CHECK(a.total_cost == 5.0);
}

TEST_CASE("linear assignment: rectangular, wide and tall, where greedy fails") {
  // Row 0 is cheapest at column 1 (1), row 1 cheapest at column 1 too (2).
  // The six assignments: (c1, c0) 10, (c0, c1) 12, (c2, c1) 9, (c2, c0) 16,
  // (c1, c2) 31, (c0, c2) 40: the optimum 9 gives row 0 its dearest-but-one.
  const std::vector<double> wide = {10, 1, 7, 9, 2, 30};
  const LinearAssignment a = linear_sum_assignment(wide, 2, 3);
  check_is_matching(a, wide, 2, 3);
  CHECK(a.col_of_row == std::vector<int32_t>{2, 1});
  CHECK(a.row_of_col == std::vector<int32_t>{-1, 1, 0});
  CHECK(a.total_cost == 9.0);
  // The transpose [3, 2]: the same pairs seen from the other side.
  const std::vector<double> tall = {10, 9, 1, 2, 7, 30};
  const LinearAssignment t = linear_sum_assignment(tall, 3, 2);
  check_is_matching(t, tall, 3, 2);
  CHECK(t.col_of_row == std::vector<int32_t>{-1, 1, 0});
  CHECK(t.row_of_col == std::vector<int32_t>{2, 1});
  CHECK(t.total_cost == 9.0);
}

TEST_CASE("linear assignment: +inf entries are forbidden pairs, infeasible when they leave no matching") {
  const std::vector<double> crossed = {kInf, 1, 1, kInf};
  const LinearAssignment a = linear_sum_assignment(crossed, 2, 2);
  check_is_matching(a, crossed, 2, 2);
  CHECK(a.col_of_row == std::vector<int32_t>{1, 0});

  // A wide matrix may have a column of +inf: that column stays unmatched.
  const std::vector<double> wide_col = {kInf, 5, 1, kInf, 2, 3};
  const LinearAssignment w = linear_sum_assignment(wide_col, 2, 3);
  check_is_matching(w, wide_col, 2, 3);
  CHECK(w.col_of_row == std::vector<int32_t>{2, 1});  // 1 + 2 = 3 beats 5 + 3 = 8

  // ... but not a row of +inf (every row of the smaller side must be matched).
  const LinearAssignment r = linear_sum_assignment({kInf, kInf, kInf, 1, 2, 3}, 2, 3);
  CHECK(r.status == LinearAssignmentStatus::kInfeasible);
  CHECK(r.col_of_row.empty());
  CHECK(std::string(match::linear_assignment_message(r.status)) == "cost matrix is infeasible");
  // Tall: a column of +inf cannot be matched.
  const LinearAssignment t = linear_sum_assignment({1, kInf, 2, kInf, 3, kInf}, 3, 2);
  CHECK(t.status == LinearAssignmentStatus::kInfeasible);
  // Two rows that can only use the same column.
  const LinearAssignment shared = linear_sum_assignment({1, kInf, kInf, 2, kInf, kInf}, 2, 3);
  CHECK(shared.status == LinearAssignmentStatus::kInfeasible);
}

TEST_CASE("linear assignment: NaN and -inf are refused as scipy refuses them") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const auto& shape : {std::pair<int64_t, int64_t>{2, 3}, {3, 2}, {2, 2}}) {
    const int64_t rows = shape.first, cols = shape.second;
    CAPTURE(rows);
    CAPTURE(cols);
    for (const double bad : {nan, -kInf}) {
      std::vector<double> cost(static_cast<size_t>(rows * cols), 1.0);
      cost.back() = bad;
      const LinearAssignment a = linear_sum_assignment(cost, rows, cols);
      CHECK(a.status == LinearAssignmentStatus::kInvalidEntries);
      CHECK_FALSE(a.ok());
      CHECK(a.col_of_row.empty());
      CHECK(std::string(match::linear_assignment_message(a.status)) == "matrix contains invalid numeric entries");
    }
  }
}

TEST_CASE("linear assignment: a cost that is not rows x cols is refused") {
  CHECK(linear_sum_assignment({1, 2, 3}, 2, 2).status == LinearAssignmentStatus::kBadShape);
  CHECK(linear_sum_assignment({}, -1, 0).status == LinearAssignmentStatus::kBadShape);
  CHECK(linear_sum_assignment({}, int64_t{1} << 32, 0).status == LinearAssignmentStatus::kBadShape);
}

TEST_CASE("linear assignment: negative costs and a constant added to a row do not change the matching") {
  std::mt19937_64 rng(7);
  const std::vector<double> cost = random_matrix(rng, 5, 8, false);
  std::vector<double> shifted = cost;
  for (int64_t c = 0; c < 8; ++c) shifted[static_cast<size_t>(2 * 8 + c)] -= 1000.0;  // row 2: all negative
  const LinearAssignment a = linear_sum_assignment(cost, 5, 8);
  const LinearAssignment b = linear_sum_assignment(shifted, 5, 8);
  check_is_matching(a, cost, 5, 8);
  check_is_matching(b, shifted, 5, 8);
  CHECK(a.col_of_row == b.col_of_row);
  CHECK(b.total_cost == doctest::Approx(a.total_cost - 1000.0).epsilon(1e-12));
}

TEST_CASE("linear assignment: every shape up to 7 x 7 against brute force") {
  // Continuous float32-valued entries: the optimum is unique (checked by the
  // brute force) and must be found exactly. Entries in {0, 1, 2, 3}: many
  // optimal assignments, so only the total is compared.
  std::mt19937_64 rng(20240601);
  int64_t trials = 0, unique = 0, tied = 0;
  for (int64_t rows = 1; rows <= 7; ++rows) {
    for (int64_t cols = 1; cols <= 7; ++cols) {
      CAPTURE(rows);
      CAPTURE(cols);
      const int per_shape = rows * cols <= 20 ? 80 : 50;
      for (int trial = 0; trial < per_shape; ++trial) {
        const bool integers = trial % 3 == 2;
        const std::vector<double> cost = random_matrix(rng, rows, cols, integers);
        const LinearAssignment a = linear_sum_assignment(cost, rows, cols);
        check_is_matching(a, cost, rows, cols);
        const BruteForce bf = brute_force(cost, rows, cols, 1e-9);
        ++trials;
        if (integers) {
          CHECK(a.total_cost == bf.best);  // small integers: exact in float64
          tied += bf.optima > 1;
          continue;
        }
        CHECK(a.total_cost == doctest::Approx(bf.best).epsilon(1e-12));
        if (bf.optima == 1) {
          ++unique;
          CHECK(a.col_of_row == bf.best_col_of_row);
        }
      }
    }
  }
  MESSAGE("brute force: " << trials << " trials, " << unique << " with a unique optimum matched exactly, " << tied
                          << " integer matrices with several optima");
  CHECK(trials > 3000);
  CHECK(unique > 1500);
  CHECK(tied > 300);
}

TEST_CASE("linear assignment: 3 x 6 and 6 x 3 are transposes of each other") {
  std::mt19937_64 rng(36);
  for (int trial = 0; trial < 500; ++trial) {
    const std::vector<double> wide = random_matrix(rng, 3, 6, false);
    std::vector<double> tall(wide.size());
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 6; ++c)
        tall[static_cast<size_t>(c) * 3 + static_cast<size_t>(r)] =
            wide[static_cast<size_t>(r) * 6 + static_cast<size_t>(c)];
    const LinearAssignment w = linear_sum_assignment(wide, 3, 6);
    const LinearAssignment t = linear_sum_assignment(tall, 6, 3);
    check_is_matching(w, wide, 3, 6);
    check_is_matching(t, tall, 6, 3);
    CHECK(w.col_of_row == t.row_of_col);
    CHECK(w.total_cost == doctest::Approx(t.total_cost).epsilon(1e-12));
    CHECK(w.total_cost == doctest::Approx(brute_force(wide, 3, 6, 1e-9).best).epsilon(1e-12));
  }
}

TEST_CASE("linear assignment: large matrices against the padded square Hungarian and the residual graph") {
  std::mt19937_64 rng(300100);
  struct Shape {
    int64_t rows, cols;
    bool integers;
  };
  for (const Shape s : {Shape{300, 100, false}, Shape{100, 300, false}, Shape{150, 150, false}, Shape{300, 100, true},
                        Shape{120, 200, true}}) {
    CAPTURE(s.rows);
    CAPTURE(s.cols);
    CAPTURE(s.integers);
    const std::vector<double> cost = random_matrix(rng, s.rows, s.cols, s.integers);
    const LinearAssignment a = linear_sum_assignment(cost, s.rows, s.cols);
    check_is_matching(a, cost, s.rows, s.cols);
    const double reference = padded_hungarian_total(cost, s.rows, s.cols);
    if (s.integers) CHECK(a.total_cost == reference);
    else CHECK(a.total_cost == doctest::Approx(reference).epsilon(1e-12));
    CHECK_FALSE(has_negative_cycle(cost, s.rows, s.cols, a, 1e-9));
  }
}

TEST_CASE("linear assignment: the residual-graph certificate catches a suboptimal matching") {
  // Guards the certificate used above: the greedy matching of the
  // rectangular hand case (cost 10 > 9) has a negative cycle.
  const std::vector<double> wide = {10, 1, 7, 9, 2, 30};
  LinearAssignment greedy;
  greedy.col_of_row = {1, 0};
  greedy.row_of_col = {1, 0, -1};
  CHECK(has_negative_cycle(wide, 2, 3, greedy, 1e-9));
  CHECK_FALSE(has_negative_cycle(wide, 2, 3, linear_sum_assignment(wide, 2, 3), 1e-9));
}

}  // namespace assignscope
