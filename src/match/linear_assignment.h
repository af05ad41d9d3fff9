// Rectangular linear sum assignment: the matching behind scipy's
// scipy.optimize.linear_sum_assignment, which mmdetection's HungarianAssigner
// (DETR and its descendants) calls on its float32 cost, converted to float64.
//
// Algorithm: shortest augmenting paths with dual potentials, as in Jonker &
// Volgenant, "A shortest augmenting path algorithm for dense and sparse
// linear assignment problems", Computing 38 (1987), in the rectangular form
// of Crouse, "On implementing 2D rectangular assignment algorithms", IEEE
// Trans. Aerospace and Electronic Systems 52(4) (2016), Algorithm 1 — the
// algorithm scipy (>= 1.4) implements. This is an independent
// implementation: no initialisation heuristics, one Dijkstra search per row
// of the smaller side, everything in float64.
//
// Complexity: O(r^2 c) time for r = min(rows, cols), c = max(rows, cols),
// O(rows * cols) extra memory only when rows > cols (the matrix is then
// transposed, as scipy transposes it, so that the smaller side is matched).
//
// Ties: when several assignments reach the optimum, the one returned depends
// on the search order: rows of the smaller side are inserted in index order
// and, among equally short paths, a free column is preferred, then the lowest
// column index. scipy breaks such ties by its own scan order, so on a
// matrix with several optimal assignments the two may return different ones
// (with the same total cost). When the optimum is unique both return it.
#pragma once

#include <cstdint>
#include <vector>

namespace assignscope::match {

enum class LinearAssignmentStatus {
  kSolved,
  kInvalidEntries,  // a NaN or -inf entry (scipy: "matrix contains invalid numeric entries")
  kInfeasible,      // +inf entries leave no complete matching of finite cost (scipy: "cost matrix is infeasible")
  kBadShape,        // cost.size() != rows * cols, a negative size, or a side beyond int32
};

// scipy's ValueError text for a failed status ("" for kSolved).
const char* linear_assignment_message(LinearAssignmentStatus status);

// The optimal matching between the rows and the columns of a cost matrix.
// min(rows, cols) pairs: every index of the smaller side is matched (all of
// both sides when square), the larger side keeps |rows - cols| unmatched.
// scipy's (row_ind, col_ind) are the rows r with col_of_row[r] >= 0, in
// increasing order, and col_of_row[r] for each of them.
struct LinearAssignment {
  LinearAssignmentStatus status = LinearAssignmentStatus::kSolved;
  std::vector<int32_t> col_of_row;  // [rows] matched column of each row, -1 if unmatched; empty unless solved
  std::vector<int32_t> row_of_col;  // [cols] matched row of each column, -1 if unmatched; empty unless solved
  double total_cost = 0;            // sum of the matched entries, taken over rows in index order

  bool ok() const { return status == LinearAssignmentStatus::kSolved; }
};

// Minimises the sum of cost[r * cols + c] over the matched pairs (r, c).
// `cost` is row-major [rows, cols]. +inf entries are forbidden pairs; NaN or
// -inf anywhere is refused, as scipy refuses it. 0 rows or 0 columns: solved,
// nothing matched. Never throws.
LinearAssignment linear_sum_assignment(const std::vector<double>& cost, int64_t rows, int64_t cols);

}  // namespace assignscope::match
