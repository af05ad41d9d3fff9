// An assigner chosen by a framework config as people paste it.
//
//   dict(type='DynamicSoftLabelAssigner', topk=13)                    mmdet / mmyolo
//   train_cfg=dict(assigner=dict(type='TaskAlignedAssigner', topk=13), alpha=1, beta=6)
//   TaskAlignedAssigner(topk=10, num_classes=80, alpha=0.5, beta=6.0)  ultralytics
//   {"type": "MaxIoUAssigner", "pos_iou_thr": 0.7, "neg_iou_thr": [0.3, 0.7]}
//   configs/rtmdet/rtmdet_s_8xb32-300e_coco.py                        a whole config file
//
// The reference class (the dict's `type`, or the called name) picks the
// registry entry (ClassName in assigner.h: mmdet's dict(type=
// 'TaskAlignedAssigner') is `task-aligned`, ultralytics' constructor call
// `task-aligned.ultralytics`); its keyword arguments become parameters under
// the reference's own names. Arguments that never change the result
// (num_classes, iou_calculator=BboxOverlaps2D) are accepted and noted; any
// other unknown key, a wrong type or a Python name left unresolved is a
// one-line usage error naming the key.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "assign/assigner.h"
#include "core/status.h"

namespace assignscope::assign {

struct ConfigChoice {
  AssignerChoice choice;           // no preset: a config states its values
  nlohmann::json params;           // {name: value} to set on the defaults
  std::string where;               // "train_cfg.assigner", "" when the text was the assigner itself
  std::vector<std::string> notes;  // what was taken from around it or ignored, and why
};

// `text` is the config itself, or the path of a file holding it.
Result<ConfigChoice> assigner_from_config(const std::string& text);

}  // namespace assignscope::assign
