// OTA: optimal-transport label assignment with Sinkhorn iterations.
#pragma once

#include "assign/assigner.h"

namespace assignscope::assign {

AssignerInfo ota_info();

}  // namespace assignscope::assign
