// The order PyTorch's CPU kernels give equal keys, where a reference's
// result depends on it (a top-k boundary falling inside a block of equal
// values: zero alignment metrics, mmyolo's INF = 1e8 block, symmetric costs).
//
// torch.topk (aten/src/ATen/native/TopKImpl.h, topk_impl_loop, torch 1.13 -
// 2.x) builds a vector of (value, index) pairs in index order and runs
// libstdc++'s std::partial_sort over the first k when k * 64 <= n, else
// std::nth_element at k - 1 and std::sort of the first k - 1, comparing
// values only (NaN above everything for largest, below for smallest).
// torch.sort with stable=False (SortingKernel.cpp) is std::sort of the same
// pairs. The replay runs the same libstdc++ algorithms on the same sequence,
// so it reproduces the CPU result exactly (checked on 1840 real ultralytics
// metric rows and 680 mmyolo cost columns, docs/integrations.md). CUDA
// kernels order ties differently; a dump taken on a GPU can differ there.
#pragma once

#include <cstdint>
#include <vector>

namespace assignscope::match {

// The indices torch.topk(values, k, largest, sorted=True) returns on CPU, in its order.
std::vector<int32_t> torch_topk_cpu(const std::vector<float>& values, int64_t k, bool largest);

// The permutation torch.sort(values, descending, stable=False) returns on CPU.
std::vector<int32_t> torch_sort_cpu(const std::vector<float>& values, bool descending);

// Whether the k smallest of `values` (by value) are not determined by value
// alone: the k-th smallest equals a value outside the first k. `picks` are
// the indices chosen, k of them.
bool boundary_tie(const float* values, int64_t n, const std::vector<int32_t>& picks);

}  // namespace assignscope::match
