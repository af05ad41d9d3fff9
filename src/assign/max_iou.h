// Max-IoU assignment (RetinaNet, Faster R-CNN's RPN): mmdetection's MaxIoUAssigner.
#pragma once

#include "assign/assigner.h"

namespace assignscope::assign {

AssignerInfo max_iou_info();

}  // namespace assignscope::assign
