// Assignment helpers.
#include "core/assignment.h"

#include <algorithm>

namespace assignscope {

int64_t Assignment::num_positives() const {
  return std::count_if(gt_inds.begin(), gt_inds.end(), [](int64_t g) { return g > 0; });
}

Assignment Assignment::Empty(int64_t num_priors, int64_t num_gts, float overlap_fill, bool with_dynamic_ks) {
  Assignment a;
  a.gt_inds.assign(static_cast<size_t>(num_priors), 0);
  a.labels.assign(static_cast<size_t>(num_priors), -1);
  a.max_overlaps.assign(static_cast<size_t>(num_priors), overlap_fill);
  if (with_dynamic_ks) a.dynamic_ks = std::vector<int64_t>(static_cast<size_t>(num_gts), 0);
  return a;
}

}  // namespace assignscope
