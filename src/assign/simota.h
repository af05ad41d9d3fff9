// YOLOX's SimOTA assigner: mmdetection's SimOTAAssigner and YOLOX's own.
#pragma once

#include "assign/assigner.h"

namespace assignscope::assign {

AssignerInfo simota_info();
AssignerInfo simota_yolox_info();

}  // namespace assignscope::assign
