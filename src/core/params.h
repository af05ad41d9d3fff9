// Params: an assigner's typed, validated parameters with their defaults.
//
// An assigner declares its parameters as ParamSpecs; Params starts from the
// defaults and accepts values from `--set name=value` or from a stored
// result's params.json. Unknown names, wrong types and out-of-range values
// are errors that name the parameter and what was expected.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace assignscope {

// A list of closed intervals, e.g. FCOS regress ranges [[-1, 64], [64, 128]].
using Ranges = std::vector<std::pair<double, double>>;
// Python's None: the value of a nullable parameter that is not set
// (ultralytics' `topk2=None`, `stride` absent before 8.4).
struct Null {
  bool operator==(const Null&) const { return true; }
};
// A list of numbers, e.g. ultralytics' `stride=[8, 16, 32]`.
using Numbers = std::vector<double>;
// A structured value (a list of mmdet match-cost dicts), kept as compact JSON
// text after the spec's `validate` accepted it.
struct Structured {
  std::string json;
  bool operator==(const Structured& o) const { return json == o.json; }
};
using ParamValue = std::variant<int64_t, double, bool, std::string, Ranges, Null, Numbers, Structured>;

enum class ParamType {
  kInt,
  kFloat,
  kBool,
  kString,
  kRanges,
  kNumbers,     // [8, 16, 32]
  kInterval,    // a number x, or a pair [lo, hi] (mmdet's tuple form of a threshold)
  kStructured,  // any JSON value the spec's validate accepts
};

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::kFloat;
  ParamValue default_value;
  std::string help;
  std::optional<double> min;  // inclusive bounds for numbers (each element of kNumbers, kInterval)
  std::optional<double> max;
  std::vector<std::string> choices;  // allowed strings (kString)
  bool nullable = false;             // null / None is a value (the default may be Null{})
  // kStructured: checks a value and returns its canonical form, or an error
  // saying what was expected (the caller adds the parameter name).
  std::function<Result<nlohmann::json>(const nlohmann::json&)> validate = nullptr;
};

// A threshold given as a number x or an interval [lo, hi].
struct Interval {
  double lo = 0;
  double hi = 0;
  bool is_pair = false;  // given as [lo, hi] (x alone reads as lo = 0, hi = x)
};

class Params {
 public:
  Params() = default;
  explicit Params(std::vector<ParamSpec> specs);

  // `text` as typed after `--set name=`. "13", "3.0", "true", "giou",
  // "[8, 16, 32]", "None", "(0, 0.5)", "[dict(type='IoUCost', weight=1.0)]".
  Status set(const std::string& name, const std::string& text);
  Status set_json(const std::string& name, const nlohmann::json& value);
  // Every member of a params.json "params" object; all or nothing.
  Status set_all(const nlohmann::json& object);

  int64_t get_int(const std::string& name) const;
  double get_float(const std::string& name) const;  // ints are widened
  bool get_bool(const std::string& name) const;
  const std::string& get_string(const std::string& name) const;
  const Ranges& get_ranges(const std::string& name) const;
  bool is_null(const std::string& name) const;
  const Numbers& get_numbers(const std::string& name) const;  // not null
  Interval get_interval(const std::string& name) const;
  nlohmann::json get_structured(const std::string& name) const;  // the canonical JSON; null when null
  bool has(const std::string& name) const { return find(name) != nullptr; }

  const std::vector<ParamSpec>& specs() const { return specs_; }
  const ParamValue& value(const std::string& name) const;
  bool is_default(const std::string& name) const;

  nlohmann::ordered_json to_json() const;  // {"topk": 13, ...} in declaration order
  std::string to_string() const;           // "soft_center_radius=3 topk=13 iou_weight=3" (search only when not default)

 private:
  const ParamSpec* find(const std::string& name) const;
  Status check_and_store(const ParamSpec& spec, ParamValue v);
  std::vector<ParamSpec> specs_;
  std::vector<ParamValue> values_;  // parallel to specs_
};

std::string param_value_string(const ParamValue& v);
const char* param_type_name(ParamType t);

}  // namespace assignscope
