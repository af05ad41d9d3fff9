// Entropic optimal transport by Sinkhorn-Knopp iterations in the log domain.
//
// Solves  min_pi <pi, C> - eps * H(pi)  s.t.  pi 1 = mu, pi^T 1 = nu
// (Cuturi 2013), as OTA's SinkhornDistance runs it (Ge et al. 2021, §3.3):
// potentials u = v = 1 at the start, then `iterations` rounds of
//   v_j <- eps * (log(nu_j + 1e-8) - logsumexp_i M_ij) + v_j
//   u_i <- eps * (log(mu_i + 1e-8) - logsumexp_j M_ij) + u_i
// with M_ij = (-C_ij + u_i + v_j) / eps, and the plan pi = exp(M).
// Every logsumexp subtracts its maximum first, so a small eps or a cost of
// 1e6 never overflows. The arithmetic is float32 in the reference's order,
// ((-C + u) + v) / eps, because that is what the reference computes: where a
// row's costs are all near 1e6 (a GT with no candidate), its potential u
// grows to ~1e6, float32 spacing there is 0.0625 (0.625 after / eps), and
// the reference's plan misses that row's supply (row sums 0.79 for 1 in a
// golden case); a float64 solve would meet it and differ from the reference
// by up to 35% there (docs/assigners.md). Sums of exp are accumulated in
// float64.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace assignscope::match {

// cost: [rows, cols] row-major; mu: [rows] supplies; nu: [cols] demands.
// Returns the plan [rows, cols].
std::vector<float> sinkhorn_plan(const std::vector<float>& cost, int64_t rows, int64_t cols,
                                 const std::vector<float>& mu, const std::vector<float>& nu, float eps,
                                 int64_t iterations);

// The same iterations over a cost matrix most of whose entries are a
// penalty: per row, the entries `listed` (OTA: a GT's candidates; the
// background row lists every prior), and every other entry costs at least
// `floor` (OTA's 1e6). Such an entry sits ~1e7 below its row's and column's
// maximum in M, its exponential underflows to exactly 0 in float32, and it
// changes no logsumexp, no potential and no plan entry; the sparse solve
// skips it, and returns the plan of sinkhorn_plan above bit for bit:
//   - a logsumexp over the listed entries (plus the rows held in full) is
//     the full one when the largest value a skipped entry can take,
//     ((-floor + u) + v) / eps with the largest u and v in play (float32
//     rounding is monotone, so this bounds every skipped entry), is at least
//     110 below the maximum taken: exp of that is 0 in float32, so the
//     skipped terms add exact zeros to the same float64 sum, in the same
//     order, and none of them is the maximum;
//   - where that test fails (a GT with no candidate, whose u climbs to
//     ~1e6; a NaN), the row is held in full from then on (its costs from
//     cost_at), or the one column is done over every row: the plain path,
//     entry for entry.
struct PenaltyCost {
  int64_t rows = 0, cols = 0;
  float floor = 0;                                 // every entry not listed costs at least this; every cost is finite
  std::vector<int64_t> row_start;                  // [rows + 1]: row r lists entries row_start[r] .. row_start[r + 1]
  std::vector<int32_t> col;                        // [listed] their columns, increasing within a row
  std::vector<float> cost;                         // [listed] their costs
  std::function<float(int64_t, int64_t)> cost_at;  // the cost of any entry, listed or not
};

// What the sparse solve did: for tests and the decision's shortcuts.
struct SinkhornWork {
  int64_t listed = 0;               // listed entries
  std::vector<char> full_row;       // [rows] held in full (their plan row computed in full too)
  int64_t full_column_updates = 0;  // column updates that fell back to every row
  int64_t entry_updates = 0;        // M entries evaluated over all the iterations
};

std::vector<float> sinkhorn_plan(const PenaltyCost& cost, const std::vector<float>& mu, const std::vector<float>& nu,
                                 float eps, int64_t iterations, SinkhornWork* work);

}  // namespace assignscope::match
