// Typed assigner parameters: parsing from text and JSON, validation.
#include "core/params.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/number.h"
#include "core/pyliteral.h"
#include "core/suggest.h"
#include "core/text.h"

namespace assignscope {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string number_string(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

}  // namespace

const char* param_type_name(ParamType t) {
  switch (t) {
    case ParamType::kInt: return "integer";
    case ParamType::kFloat: return "number";
    case ParamType::kBool: return "boolean";
    case ParamType::kString: return "string";
    case ParamType::kRanges: return "list of [low, high] pairs";
    case ParamType::kNumbers: return "list of numbers";
    case ParamType::kInterval: return "number or [low, high]";
    case ParamType::kStructured: return "structured";
  }
  return "?";
}

std::string param_value_string(const ParamValue& v) {
  struct Visitor {
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return number_string(d); }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(const Ranges& r) const {
      std::string out = "[";
      for (size_t i = 0; i < r.size(); ++i)
        out += (i ? ", [" : "[") + number_string(r[i].first) + ", " + number_string(r[i].second) + "]";
      return out + "]";
    }
    std::string operator()(const Null&) const { return "null"; }
    std::string operator()(const Numbers& n) const {
      std::string out = "[";
      for (size_t i = 0; i < n.size(); ++i) out += (i ? ", " : "") + number_string(n[i]);
      return out + "]";
    }
    std::string operator()(const Structured& s) const { return s.json; }
  };
  return std::visit(Visitor{}, v);
}

Params::Params(std::vector<ParamSpec> specs) : specs_(std::move(specs)) {
  for (const ParamSpec& s : specs_) values_.push_back(s.default_value);
}

const ParamSpec* Params::find(const std::string& name) const {
  for (const ParamSpec& s : specs_)
    if (s.name == name) return &s;
  return nullptr;
}

Status Params::check_and_store(const ParamSpec& spec, ParamValue v) {
  auto out_of_range = [&](double x) -> Status {
    if ((spec.min && x < *spec.min) || (spec.max && x > *spec.max)) {
      std::string range = spec.min && spec.max
                              ? fmt::format("between {} and {}", number_string(*spec.min), number_string(*spec.max))
                          : spec.min ? fmt::format(">= {}", number_string(*spec.min))
                                     : fmt::format("<= {}", number_string(*spec.max));
      return Status::Usage(
          fmt::format("parameter {}={}: expected a value {}", spec.name, param_value_string(v), range));
    }
    return Status();
  };
  if (auto* i = std::get_if<int64_t>(&v)) ASSIGNSCOPE_RETURN_IF_ERROR(out_of_range(static_cast<double>(*i)));
  if (auto* d = std::get_if<double>(&v)) {
    if (!std::isfinite(*d))
      return Status::Usage(fmt::format("parameter {}: expected a finite number, got {}", spec.name, *d));
    ASSIGNSCOPE_RETURN_IF_ERROR(out_of_range(*d));
  }
  if (auto* s = std::get_if<std::string>(&v)) {
    if (!spec.choices.empty() && std::find(spec.choices.begin(), spec.choices.end(), *s) == spec.choices.end()) {
      std::string list;
      for (const std::string& c : spec.choices) list += (list.empty() ? "" : ", ") + c;
      return Status::Usage(
          fmt::format("parameter {}={}: expected one of {}{}", spec.name, *s, list, did_you_mean(*s, spec.choices)));
    }
  }
  if (auto* r = std::get_if<Ranges>(&v)) {
    for (const auto& [lo, hi] : *r) {
      if (!std::isfinite(lo) || !std::isfinite(hi))
        return Status::Usage(fmt::format("parameter {}: expected finite numbers", spec.name));
      if (!(lo <= hi))
        return Status::Usage(fmt::format("parameter {}: range [{}, {}] has low > high", spec.name, number_string(lo),
                                         number_string(hi)));
      if (spec.type == ParamType::kInterval) {
        ASSIGNSCOPE_RETURN_IF_ERROR(out_of_range(lo));
        ASSIGNSCOPE_RETURN_IF_ERROR(out_of_range(hi));
      }
    }
  }
  if (auto* n = std::get_if<Numbers>(&v)) {
    for (double x : *n) {
      if (!std::isfinite(x))
        return Status::Usage(fmt::format("parameter {}: expected finite numbers, got {}", spec.name, x));
      ASSIGNSCOPE_RETURN_IF_ERROR(out_of_range(x));
    }
  }
  if (std::holds_alternative<Null>(v) && !spec.nullable)
    return Status::Usage(fmt::format("parameter {}: null (None) is not a value of it; expected {}", spec.name,
                                     param_type_name(spec.type)));
  values_[static_cast<size_t>(&spec - specs_.data())] = std::move(v);
  return Status();
}

namespace {
std::vector<std::string> names_of(const std::vector<ParamSpec>& specs) {
  std::vector<std::string> names;
  names.reserve(specs.size());
  for (const ParamSpec& s : specs) names.push_back(s.name);
  return names;
}

std::string unknown_message(const std::string& name, const std::vector<ParamSpec>& specs) {
  std::string list;
  for (const ParamSpec& s : specs) list += (list.empty() ? "" : ", ") + s.name;
  if (list.empty()) list = "none";
  return fmt::format("unknown parameter '{}'{}; this assigner takes: {}", name, did_you_mean(name, names_of(specs)),
                     list);
}
}  // namespace

Status Params::set(const std::string& name, const std::string& text) {
  const ParamSpec* spec = find(name);
  if (!spec) return Status::Usage(unknown_message(name, specs_));
  if (spec->nullable && (text == "None" || text == "null" || text == "none")) return check_and_store(*spec, Null{});
  auto bad = [&]() {
    return Status::Usage(fmt::format("parameter {}={}: expected {}", name, text, param_type_name(spec->type)));
  };
  switch (spec->type) {
    case ParamType::kInt: {
      const std::optional<int64_t> i = parse_int(text);
      if (!i) return bad();
      return check_and_store(*spec, *i);
    }
    case ParamType::kFloat: {
      const std::optional<double> d = parse_double(text);  // check_and_store says why inf or nan is refused
      if (!d) return bad();
      return check_and_store(*spec, *d);
    }
    case ParamType::kBool: {
      const std::string t = lower(text);
      if (t == "true" || t == "1" || t == "yes" || t == "on") return check_and_store(*spec, true);
      if (t == "false" || t == "0" || t == "no" || t == "off") return check_and_store(*spec, false);
      return bad();
    }
    case ParamType::kString: return check_and_store(*spec, text);
    case ParamType::kRanges:
    case ParamType::kNumbers:
    case ParamType::kInterval:
    case ParamType::kStructured: {
      ASSIGNSCOPE_ASSIGN_OR_RETURN(const nlohmann::json j, parse_python_value(text, "parameter " + name));
      return set_json(name, j);
    }
  }
  return bad();
}

Status Params::set_json(const std::string& name, const nlohmann::json& value) {
  const ParamSpec* spec = find(name);
  if (!spec) return Status::Usage(unknown_message(name, specs_));
  auto bad = [&]() {
    if (is_unevaluated(value))
      return Status::Usage(
          fmt::format("parameter {}={}: a Python name or expression, not a value; write the {} "
                      "it stands for",
                      name, printable(python_source(value), 60), param_type_name(spec->type)));
    return Status::Usage(
        fmt::format("parameter {}={}: expected {}", name, json_snippet(value), param_type_name(spec->type)));
  };
  if (value.is_null()) {
    if (spec->nullable) return check_and_store(*spec, Null{});
    return bad();
  }
  const auto number_list = [&](const nlohmann::json& a, Numbers* out) {
    if (!a.is_array()) return false;
    for (const auto& x : a) {
      if (!x.is_number() || x.is_boolean()) return false;
      out->push_back(x.get<double>());
    }
    return true;
  };
  switch (spec->type) {
    case ParamType::kInt:
      if (value.is_number_integer()) return check_and_store(*spec, value.get<int64_t>());
      if (value.is_number_float()) {
        const double d = value.get<double>();
        if (d == std::floor(d) && std::fabs(d) < 9e15) return check_and_store(*spec, static_cast<int64_t>(d));
      }
      return bad();
    case ParamType::kFloat:
      if (value.is_number()) return check_and_store(*spec, value.get<double>());
      return bad();
    case ParamType::kBool:
      if (value.is_boolean()) return check_and_store(*spec, value.get<bool>());
      if (value.is_number_integer() && (value.get<int64_t>() == 0 || value.get<int64_t>() == 1))
        return check_and_store(*spec, value.get<int64_t>() == 1);
      return bad();
    case ParamType::kString:
      if (value.is_string()) return check_and_store(*spec, value.get<std::string>());
      return bad();
    case ParamType::kRanges: {
      if (!value.is_array()) return bad();
      Ranges r;
      for (const auto& pair : value) {
        if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number() || !pair[1].is_number()) return bad();
        r.emplace_back(pair[0].get<double>(), pair[1].get<double>());
      }
      return check_and_store(*spec, std::move(r));
    }
    case ParamType::kNumbers: {
      Numbers n;
      if (!number_list(value, &n)) return bad();
      return check_and_store(*spec, std::move(n));
    }
    case ParamType::kInterval: {
      if (value.is_number() && !value.is_boolean()) return check_and_store(*spec, value.get<double>());
      Numbers n;
      if (!number_list(value, &n) || n.size() != 2) return bad();
      return check_and_store(*spec, Ranges{{n[0], n[1]}});
    }
    case ParamType::kStructured: {
      if (!spec->validate) return bad();
      auto canonical = spec->validate(value);
      if (!canonical.ok()) return Status::Usage(fmt::format("parameter {}: {}", name, canonical.status().message()));
      return check_and_store(*spec, Structured{canonical->dump()});
    }
  }
  return bad();
}

Status Params::set_all(const nlohmann::json& object) {
  if (!object.is_object()) return Status::Usage("parameters: expected a JSON object of name: value");
  Params updated = *this;  // all or nothing
  for (auto it = object.begin(); it != object.end(); ++it)
    ASSIGNSCOPE_RETURN_IF_ERROR(updated.set_json(it.key(), it.value()));
  *this = std::move(updated);
  return Status();
}

const ParamValue& Params::value(const std::string& name) const {
  const ParamSpec* spec = find(name);
  assert(spec && "parameter not declared by this assigner");
  return values_[static_cast<size_t>(spec - specs_.data())];
}

int64_t Params::get_int(const std::string& name) const { return std::get<int64_t>(value(name)); }

double Params::get_float(const std::string& name) const {
  const ParamValue& v = value(name);
  if (auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  return std::get<double>(v);
}

bool Params::get_bool(const std::string& name) const { return std::get<bool>(value(name)); }
const std::string& Params::get_string(const std::string& name) const { return std::get<std::string>(value(name)); }
const Ranges& Params::get_ranges(const std::string& name) const { return std::get<Ranges>(value(name)); }
bool Params::is_null(const std::string& name) const { return std::holds_alternative<Null>(value(name)); }
const Numbers& Params::get_numbers(const std::string& name) const { return std::get<Numbers>(value(name)); }

Interval Params::get_interval(const std::string& name) const {
  const ParamValue& v = value(name);
  if (auto* r = std::get_if<Ranges>(&v)) return {(*r)[0].first, (*r)[0].second, true};
  return {0.0, get_float(name), false};
}

nlohmann::json Params::get_structured(const std::string& name) const {
  const ParamValue& v = value(name);
  if (auto* s = std::get_if<Structured>(&v)) return nlohmann::json::parse(s->json);
  return nullptr;
}

bool Params::is_default(const std::string& name) const {
  const ParamSpec* spec = find(name);
  return spec && value(name) == spec->default_value;
}

nlohmann::ordered_json Params::to_json() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (size_t i = 0; i < specs_.size(); ++i) {
    struct Visitor {
      nlohmann::ordered_json operator()(int64_t v) const { return v; }
      nlohmann::ordered_json operator()(double v) const { return v; }
      nlohmann::ordered_json operator()(bool v) const { return v; }
      nlohmann::ordered_json operator()(const std::string& v) const { return v; }
      nlohmann::ordered_json operator()(const Ranges& r) const {
        nlohmann::ordered_json a = nlohmann::ordered_json::array();
        for (const auto& [lo, hi] : r) a.push_back({lo, hi});
        return a;
      }
      nlohmann::ordered_json operator()(const Null&) const { return nullptr; }
      nlohmann::ordered_json operator()(const Numbers& n) const { return n; }
      nlohmann::ordered_json operator()(const Structured& s) const { return nlohmann::ordered_json::parse(s.json); }
    };
    if (specs_[i].type == ParamType::kInterval && std::holds_alternative<Ranges>(values_[i])) {
      const auto& r = std::get<Ranges>(values_[i]);
      j[specs_[i].name] = {r[0].first, r[0].second};  // the pair, not a list of pairs
      continue;
    }
    j[specs_[i].name] = std::visit(Visitor{}, values_[i]);
  }
  return j;
}

std::string Params::to_string() const {
  // `search` (sparse | dense) changes how a result is found, never the
  // result: the one-line summary names it only when it is not the default.
  std::string out;
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].name == "search" && values_[i] == specs_[i].default_value) continue;
    std::string value = param_value_string(values_[i]);
    if (specs_[i].type == ParamType::kInterval && std::holds_alternative<Ranges>(values_[i]))
      value = value.substr(1, value.size() - 2);  // [lo, hi], not [[lo, hi]]
    out += (out.empty() ? "" : " ") + specs_[i].name + "=" + value;
  }
  return out;
}

}  // namespace assignscope
