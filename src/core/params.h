// Params: an assigner's typed, validated parameters with their defaults.
//
// An assigner declares its parameters as ParamSpecs; Params starts from the
// defaults and accepts values from `--set name=value` or from a stored
// result's params.json. Unknown names, wrong types and out-of-range values
// are errors that name the parameter and what was expected.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"

namespace assignscope {

// A list of closed intervals, e.g. FCOS regress ranges [[-1, 64], [64, 128]].
using Ranges = std::vector<std::pair<double, double>>;
using ParamValue = std::variant<int64_t, double, bool, std::string, Ranges>;

enum class ParamType { kInt, kFloat, kBool, kString, kRanges };

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::kFloat;
  ParamValue default_value;
  std::string help;
  std::optional<double> min;          // inclusive bounds for numbers
  std::optional<double> max;
  std::vector<std::string> choices;   // allowed strings (kString)
};

class Params {
 public:
  Params() = default;
  explicit Params(std::vector<ParamSpec> specs);

  // `text` as typed after `--set name=`. "13", "3.0", "true", "giou".
  Status set(const std::string& name, const std::string& text);
  Status set_json(const std::string& name, const nlohmann::json& value);
  // Every member of a params.json "params" object; all or nothing.
  Status set_all(const nlohmann::json& object);

  int64_t get_int(const std::string& name) const;
  double get_float(const std::string& name) const;   // ints are widened
  bool get_bool(const std::string& name) const;
  const std::string& get_string(const std::string& name) const;
  const Ranges& get_ranges(const std::string& name) const;

  const std::vector<ParamSpec>& specs() const { return specs_; }
  const ParamValue& value(const std::string& name) const;
  bool is_default(const std::string& name) const;

  nlohmann::ordered_json to_json() const;  // {"topk": 13, ...} in declaration order
  std::string to_string() const;         // "soft_center_radius=3 topk=13 iou_weight=3" (search only when not default)

 private:
  const ParamSpec* find(const std::string& name) const;
  Status check_and_store(const ParamSpec& spec, ParamValue v);
  std::vector<ParamSpec> specs_;
  std::vector<ParamValue> values_;       // parallel to specs_
};

std::string param_value_string(const ParamValue& v);
const char* param_type_name(ParamType t);

}  // namespace assignscope
