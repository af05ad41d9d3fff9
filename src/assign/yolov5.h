// YOLOv5's multi-match target assignment (mmyolo YOLOv5Head).
#pragma once

#include "assign/assigner.h"

namespace assignscope::assign {

AssignerInfo yolov5_info();

}  // namespace assignscope::assign
