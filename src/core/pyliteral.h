// Python literals as people paste them from framework configs, read into JSON.
//
// mmdetection / mmyolo configs are Python files of assignments whose values
// are literals: `assigner=dict(type='DynamicSoftLabelAssigner', topk=13)`,
// `neg_iou_thr=(0, 0.5)`, `[dict(type='FocalLossCost', weight=2.0), ...]`;
// ultralytics users write constructor calls:
// `TaskAlignedAssigner(topk=10, num_classes=80, alpha=0.5, beta=6.0)`. This
// reads that subset of Python, and JSON too (true/false/null are accepted as
// well as True/False/None):
//
//   value   := dict(k=v, ...) | {k: v, ...} | [v, ...] | (v, ...) | 'str' | "str"
//            | number | True | False | None | name | Name(args) | -value | value op value
//   module  := (name = value | import ... | from ... import ... | blank)*
//
// into JSON values: dict(...) and {...} are objects, lists and tuples arrays;
// a call `Name(a, k=v)` is the object {"type": "Name", "k": v, "$call": true}
// (positional arguments under "$args"); a name that is not bound by an earlier
// assignment is {"$name": "num_classes"}; arithmetic on numbers is evaluated
// (`max_epochs - 20`), on anything else it is {"$expr": "<source text>"}.
// Names assigned earlier in a module are replaced by their values, as Python
// would, so `tal_topk = 10` then `dict(topk=tal_topk)` reads 10.
//
// Errors name the line and column and what was expected; nothing is
// executed, and input depth and size are bounded.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace assignscope {

// One expression: `dict(type='ATSSAssigner', topk=9)`, or `name = expr`
// (the value of the assignment). `origin` names the text in messages.
Result<nlohmann::json> parse_python_value(const std::string& text, const std::string& origin);

// A config file: its top-level assignments as an object name -> value, in
// the order they appear (a later assignment of the same name wins). Import
// lines are skipped; any other statement is an error naming its line.
Result<nlohmann::ordered_json> parse_python_module(const std::string& text, const std::string& origin);

// Helpers for the JSON forms above.
bool is_python_name(const nlohmann::json& v);        // {"$name": ...}
bool is_python_call(const nlohmann::json& v);        // an object with "$call": true
bool is_unevaluated(const nlohmann::json& v);        // a name or an {"$expr": ...}
std::string python_source(const nlohmann::json& v);  // the name or expression as written

}  // namespace assignscope
