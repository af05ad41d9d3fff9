// One-to-Few label assignment (O2F, CVPR 2023): strongwolf/o2f
// O2FHead._get_target_single_o2o.
#pragma once

#include <cstdint>

#include "assign/assigner.h"

namespace assignscope::assign {

AssignerInfo o2f_info();

// The soft-label factor t of the ambiguous positives at `epoch` (0-based) of
// a `max_epoch`-epoch schedule, as O2FHead.ff computes it in Python floats:
// (0.2 - 0.6) / (max_epoch - 1) * epoch + 0.6, so 0.6 at epoch 0 and 0.2 at
// the last epoch. Needs max_epoch >= 2.
double o2f_soft_label_t(int64_t epoch, int64_t max_epoch);

}  // namespace assignscope::assign
