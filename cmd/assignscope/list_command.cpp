// `assignscope list`: the registry — assigners, flavours, parameters, references.
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "assign/assigner.h"
#include "commands.h"

namespace assignscope::cli {
namespace {

std::string bounds(const ParamSpec& p) {
  if (p.min && p.max) return fmt::format(" (in [{}, {}])", *p.min, *p.max);
  if (p.min) return fmt::format(" (>= {})", *p.min);
  if (p.max) return fmt::format(" (<= {})", *p.max);
  return "";
}

std::string describe(const assign::AssignerInfo& info) {
  std::string out = fmt::format("{}\n  {}\n  reference: {}\n  needs:", info.name, info.summary, info.reference);
  for (const assign::Need& need : info.needs) out += " " + assign::need_name(need);
  out += "\n  parameters (name, type, default, meaning):\n";
  size_t width = 0;
  for (const ParamSpec& p : info.params) width = std::max(width, p.name.size());
  for (const ParamSpec& p : info.params)
    out += fmt::format("    {:<{}}  {:<8} {:<8} {}{}\n", p.name, width, param_type_name(p.type),
                       param_value_string(p.default_value), p.help, bounds(p));
  out += "  writes (--format npy):";
  for (const std::string& f : info.result_files) out += " " + f;
  return out + "\n";
}

nlohmann::ordered_json to_json(const assign::AssignerInfo& info) {
  nlohmann::ordered_json j;
  j["name"] = info.name;
  const size_t dot = info.name.find('.');
  j["family"] = info.name.substr(0, dot);
  j["flavour"] = dot == std::string::npos ? "mmdetection" : info.name.substr(dot + 1);
  j["summary"] = info.summary;
  j["reference"] = info.reference;
  nlohmann::ordered_json needs = nlohmann::ordered_json::array();
  for (const assign::Need& need : info.needs) needs.push_back(assign::need_name(need));
  j["needs"] = needs;
  const Params defaults = assign::default_params(info);
  const nlohmann::ordered_json values = defaults.to_json();
  nlohmann::ordered_json params = nlohmann::ordered_json::array();
  for (const ParamSpec& p : info.params) {
    nlohmann::ordered_json q;
    q["name"] = p.name;
    q["type"] = param_type_name(p.type);
    q["default"] = values[p.name];
    q["help"] = p.help;
    if (p.min) q["min"] = *p.min;
    if (p.max) q["max"] = *p.max;
    if (!p.choices.empty()) q["choices"] = p.choices;
    params.push_back(q);
  }
  j["params"] = params;
  j["result_files"] = info.result_files;
  return j;
}

}  // namespace

int list_command(int argc, char** argv) {
  CLI::App app{"List the assigners with their flavours, parameters, defaults and references.", "assignscope list"};
  std::string name, format = "table";
  app.add_option("name", name, "show only this assigner");
  app.add_option("-f,--format", format, "table | json")->check(CLI::IsMember({"table", "json"}));
  app.footer("examples:\n  assignscope list\n  assignscope list dynamic-soft-label\n  assignscope list --format json");
  if (const auto done = parse_flags(app, argc, argv, "list")) return *done;
  std::vector<const assign::AssignerInfo*> shown;
  if (!name.empty()) {
    const assign::AssignerInfo* info = assign::find_assigner(name);
    if (!info) return fail("list", assign::unknown_assigner(name).message(), 2);
    shown.push_back(info);
  } else {
    for (const assign::AssignerInfo& info : assign::registry()) shown.push_back(&info);
  }
  if (format == "json") {
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    for (const auto* info : shown) all.push_back(to_json(*info));
    std::printf("%s\n", all.dump(1).c_str());
    return 0;
  }
  for (size_t i = 0; i < shown.size(); ++i) std::printf("%s%s", i ? "\n" : "", describe(*shown[i]).c_str());
  return 0;
}

}  // namespace assignscope::cli
