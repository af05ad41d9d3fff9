// Shortest augmenting path linear assignment (Jonker & Volgenant 1987,
// rectangular form of Crouse 2016). See linear_assignment.h.
//
// The matrix is "wide": r rows <= c columns. Rows are inserted one at a
// time. Each insertion runs Dijkstra over the columns on reduced costs
//   cost(i, j) - row_potential(i) - col_potential(j) >= 0,
// which are zero on every matched pair, from the new row until it reaches a
// free column (the sink). The potentials are then updated so that reduced
// costs stay non-negative and vanish along the path, and the matching is
// flipped along the path. After r insertions the matching is optimal
// (complementary slackness).
#include "match/linear_assignment.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace assignscope::match {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Solves the wide problem `cost` [num_rows, num_cols], num_rows <= num_cols.
// False when +inf entries leave some row without a finite augmenting path.
bool solve_wide(const double* cost, int32_t num_rows, int32_t num_cols, std::vector<int32_t>* col_of_row,
                std::vector<int32_t>* row_of_col) {
  std::vector<int32_t>& row_match = *col_of_row;
  std::vector<int32_t>& col_match = *row_of_col;
  row_match.assign(static_cast<size_t>(num_rows), -1);
  col_match.assign(static_cast<size_t>(num_cols), -1);

  std::vector<double> row_potential(static_cast<size_t>(num_rows), 0.0);
  std::vector<double> col_potential(static_cast<size_t>(num_cols), 0.0);
  // Per insertion: the shortest known path length to each column and the row
  // it was reached from; which columns are settled, which rows were scanned.
  std::vector<double> path_length(static_cast<size_t>(num_cols));
  std::vector<int32_t> reached_from(static_cast<size_t>(num_cols));
  std::vector<char> settled(static_cast<size_t>(num_cols));
  std::vector<int32_t> settled_cols, scanned_rows;
  settled_cols.reserve(static_cast<size_t>(num_cols));
  scanned_rows.reserve(static_cast<size_t>(num_rows));

  for (int32_t start = 0; start < num_rows; ++start) {
    std::fill(path_length.begin(), path_length.end(), kInf);
    std::fill(settled.begin(), settled.end(), 0);
    settled_cols.clear();
    scanned_rows.clear();

    int32_t row = start;
    double reach = 0;  // length of the path to the column settled last
    int32_t sink = -1;
    while (sink < 0) {
      scanned_rows.push_back(row);
      const double* cost_row = cost + static_cast<int64_t>(row) * num_cols;
      const double u = row_potential[row];
      // Relax the row's edges and find the closest unsettled column: the
      // lowest index among the closest, unless a free one is among them.
      int32_t closest = -1;
      double closest_length = kInf;
      for (int32_t col = 0; col < num_cols; ++col) {
        if (settled[col]) continue;
        const double length = reach + cost_row[col] - u - col_potential[col];
        if (length < path_length[col]) {
          path_length[col] = length;
          reached_from[col] = row;
        }
        const double best = path_length[col];
        if (best < closest_length ||
            (best == closest_length && closest >= 0 && col_match[closest] >= 0 && col_match[col] < 0)) {
          closest = col;
          closest_length = best;
        }
      }
      if (closest < 0) return false;  // every unsettled column is out of reach (+inf)
      reach = closest_length;
      settled[closest] = 1;
      settled_cols.push_back(closest);
      if (col_match[closest] < 0) sink = closest;
      else row = col_match[closest];
    }

    // New potentials: reduced costs stay >= 0 and become 0 along the path.
    row_potential[start] += reach;
    for (const int32_t r : scanned_rows)
      if (r != start) row_potential[r] += reach - path_length[row_match[r]];
    for (const int32_t c : settled_cols) col_potential[c] -= reach - path_length[c];

    // Flip the matching along the path, from the sink back to the new row.
    for (int32_t col = sink;;) {
      const int32_t r = reached_from[col];
      const int32_t previous = row_match[r];
      col_match[col] = r;
      row_match[r] = col;
      if (r == start) break;
      col = previous;
    }
  }
  return true;
}

}  // namespace

const char* linear_assignment_message(LinearAssignmentStatus status) {
  switch (status) {
    case LinearAssignmentStatus::kSolved: return "";
    case LinearAssignmentStatus::kInvalidEntries: return "matrix contains invalid numeric entries";
    case LinearAssignmentStatus::kInfeasible: return "cost matrix is infeasible";
    case LinearAssignmentStatus::kBadShape: return "the cost does not hold rows x cols entries";
  }
  return "?";
}

LinearAssignment linear_sum_assignment(const std::vector<double>& cost, int64_t rows, int64_t cols) {
  LinearAssignment out;
  constexpr int64_t kMaxSide = std::numeric_limits<int32_t>::max();
  if (rows < 0 || cols < 0 || rows > kMaxSide || cols > kMaxSide ||
      static_cast<uint64_t>(cost.size()) != static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols)) {
    out.status = LinearAssignmentStatus::kBadShape;
    return out;
  }
  for (const double x : cost) {
    if (std::isnan(x) || x == -kInf) {
      out.status = LinearAssignmentStatus::kInvalidEntries;
      return out;
    }
  }
  const auto num_rows = static_cast<int32_t>(rows);
  const auto num_cols = static_cast<int32_t>(cols);
  bool feasible;
  if (num_rows <= num_cols) {
    feasible = solve_wide(cost.data(), num_rows, num_cols, &out.col_of_row, &out.row_of_col);
  } else {
    // Tall: match every column, on the transpose.
    std::vector<double> transposed(cost.size());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        transposed[static_cast<size_t>(c * rows + r)] = cost[static_cast<size_t>(r * cols + c)];
    feasible = solve_wide(transposed.data(), num_cols, num_rows, &out.row_of_col, &out.col_of_row);
  }
  if (!feasible) {
    out.status = LinearAssignmentStatus::kInfeasible;
    out.col_of_row.clear();
    out.row_of_col.clear();
    return out;
  }
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t c = out.col_of_row[static_cast<size_t>(r)];
    if (c >= 0) out.total_cost += cost[static_cast<size_t>(r * cols + c)];
  }
  return out;
}

}  // namespace assignscope::match
