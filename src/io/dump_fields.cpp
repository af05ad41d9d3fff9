// Field names of a dump: the known ones, the alias, the Field of each.
#include "io/dump_fields.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/suggest.h"
#include "core/text.h"

namespace assignscope::io {

const std::vector<std::string>& known_fields() {
  static const std::vector<std::string> kNames = {"priors",     "anchors",          "num_level_priors", "cls_scores",
                                                  "objectness", "pred_bboxes",      "pred_distances",   "gt_bboxes",
                                                  "gt_labels",  "gt_bboxes_ignore", "pad_gt_mask",      "pad_bbox_flag",
                                                  "gt_centers", "centerness",       "pred_dist"};
  return kNames;
}

bool is_known_field(const std::string& name) {
  const auto& k = known_fields();
  return std::find(k.begin(), k.end(), name) != k.end();
}

std::optional<Field> field_named(const std::string& name) {
  for (int i = 0; i <= static_cast<int>(Field::kPredDist); ++i) {
    const auto field = static_cast<Field>(i);
    if (name == field_name(field)) return field;
  }
  return std::nullopt;
}

// Adds a field, folding the mmyolo alias and refusing duplicates.
Status add_field(RawDump* raw, std::string name, NpyArray array, std::string origin) {
  if (name == "pad_bbox_flag") name = "pad_gt_mask";
  if (!is_known_field(name)) {
    raw->warnings.push_back(fmt::format("{}: unknown field '{}' ignored{}", origin, printable(name, 200, true),
                                        did_you_mean(name, known_fields())));
    return Status();
  }
  if (raw->fields.count(name))
    return Status::InvalidInput(fmt::format("{}: field '{}' given twice (pad_bbox_flag is pad_gt_mask)", origin, name));
  raw->fields[name] = RawField{std::move(array), std::move(origin)};
  return Status();
}

}  // namespace assignscope::io
