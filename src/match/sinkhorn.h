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
#include <vector>

namespace assignscope::match {

// cost: [rows, cols] row-major; mu: [rows] supplies; nu: [cols] demands.
// Returns the plan [rows, cols].
std::vector<float> sinkhorn_plan(const std::vector<float>& cost, int64_t rows, int64_t cols,
                                 const std::vector<float>& mu, const std::vector<float>& nu, float eps,
                                 int64_t iterations);

}  // namespace assignscope::match
