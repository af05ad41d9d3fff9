// DETR's one-to-one Hungarian matching: mmdetection's HungarianAssigner.
#pragma once

#include "assign/assigner.h"

namespace assignscope::assign {

AssignerInfo hungarian_info();

}  // namespace assignscope::assign
