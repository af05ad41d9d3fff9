// RTMDet's dynamic soft label assigner (mmdetection DynamicSoftLabelAssigner).
#pragma once

#include "assign/assigner.h"

namespace assignscope::assign {

AssignerInfo dynamic_soft_label_info();

}  // namespace assignscope::assign
