// The fields a dump may hold, by the names its files and keys give them
// (docs/format.md): core's Field of each name, and mmyolo's pad_bbox_flag
// read as pad_gt_mask.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/problem.h"
#include "core/status.h"
#include "io/raw_dump.h"

namespace assignscope::io {

// Every name a container may use for a field, the alias included.
const std::vector<std::string>& known_fields();
bool is_known_field(const std::string& name);

// The Field a (folded) name stands for; nullopt for a name that is none.
std::optional<Field> field_named(const std::string& name);

// Adds a field to `raw`, folding the mmyolo alias and refusing duplicates;
// an unknown name is a warning ("did you mean") and is left out.
Status add_field(RawDump* raw, std::string name, NpyArray array, std::string origin);

}  // namespace assignscope::io
