// FCOS target assignment (mmdetection FCOSHead).
#pragma once

#include "assign/assigner.h"

namespace assignscope::assign {

AssignerInfo fcos_info();

}  // namespace assignscope::assign
