// DDQ-DETR's dense-query matching: mmdetection's TopkHungarianAssigner.
#pragma once

#include "assign/assigner.h"

namespace assignscope::assign {

AssignerInfo topk_hungarian_info();

}  // namespace assignscope::assign
