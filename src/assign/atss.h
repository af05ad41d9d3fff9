// ATSS, adaptive training sample selection: mmdetection's ATSSAssigner and
// mmyolo's BatchATSSAssigner.
#pragma once

#include "assign/assigner.h"

namespace assignscope::assign {

AssignerInfo atss_info();
AssignerInfo atss_mmyolo_info();

}  // namespace assignscope::assign
