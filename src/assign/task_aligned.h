// TOOD's task-aligned assigner: mmdetection's TaskAlignedAssigner, mmyolo's
// BatchTaskAlignedAssigner and ultralytics' (YOLOv8) TaskAlignedAssigner.
#pragma once

#include "assign/assigner.h"

namespace assignscope::assign {

AssignerInfo task_aligned_info();
AssignerInfo task_aligned_mmyolo_info();
AssignerInfo task_aligned_ultralytics_info();

}  // namespace assignscope::assign
