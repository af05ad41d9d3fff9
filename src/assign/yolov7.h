// YOLOv7's two-stage assignment (mmyolo BatchYOLOv7Assigner): YOLOv5's
// cross-grid candidates, then SimOTA among them.
#pragma once

#include "assign/assigner.h"

namespace assignscope::assign {

AssignerInfo yolov7_info();

}  // namespace assignscope::assign
