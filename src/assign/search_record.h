// Which search an assigner with a `search` parameter ran (core/assignment.h
// SearchRecord): the plan before the sparse search is tried, and the record
// after it.
#pragma once

#include "core/assignment.h"
#include "core/problem.h"
#include "geometry/prior_grid.h"

namespace assignscope::assign {

// Sparse when asked for and the image's coordinates are in its range
// (geometry::sparse_search_range); dense, and why, otherwise.
inline SearchRecord search_plan(bool sparse_asked, const Problem& p) {
  SearchRecord plan;
  plan.path = SearchRecord::Path::kSparse;
  if (!sparse_asked) plan = {SearchRecord::Path::kDense, "search=dense"};
  else if (!geometry::sparse_search_range(p))
    plan = {SearchRecord::Path::kDense, "coordinates not finite or beyond +-1e18"};
  return plan;
}

// The record once the planned search ran: a sparse search that gave no
// result fell back to the dense one, for the reason it left in why_dense
// (every decline names one: tests check it).
inline SearchRecord search_outcome(SearchRecord plan, bool sparse_gave_result) {
  if (plan.path == SearchRecord::Path::kSparse && !sparse_gave_result) plan.path = SearchRecord::Path::kDense;
  return plan;
}

}  // namespace assignscope::assign
