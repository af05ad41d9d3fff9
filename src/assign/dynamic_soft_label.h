// RTMDet's dynamic soft label assigner: mmdetection's DynamicSoftLabelAssigner
// and mmyolo's BatchDynamicSoftLabelAssigner.
#pragma once

#include "assign/assigner.h"

namespace assignscope::assign {

AssignerInfo dynamic_soft_label_info();
AssignerInfo dynamic_soft_label_mmyolo_info();

}  // namespace assignscope::assign
