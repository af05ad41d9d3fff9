// OTA: optimal-transport label assignment with Sinkhorn iterations.
#pragma once

#include "assign/assigner.h"
#include "match/sinkhorn.h"

namespace assignscope::assign {

AssignerInfo ota_info();

namespace detail {

// Which Sinkhorn a replay ran: the sparse one (match/sinkhorn.h's
// PenaltyCost: candidates over the 1e6 penalty), which `assign` takes when
// every input is finite, or the dense one. Both give the same result.
struct OtaPath {
  bool sparse = false;
  match::SinkhornWork work;  // sparse: what it updated; dense: every row full
};

// The replay with the sparse path allowed or not; for tests.
Assignment ota_replay(const Params& params, const Problem& p, bool allow_sparse, OtaPath* path);

}  // namespace detail
}  // namespace assignscope::assign
