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

std::string versions(const assign::AssignerInfo& info, const Params& params) {
  std::string out;
  for (const assign::FrameworkRange& r : assign::replayed_versions(info, params))
    out += (out.empty() ? "" : "; ") + r.text;
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string describe(const assign::AssignerInfo& info) {
  std::string out = fmt::format("{}\n  {}\n  reference: {}\n", info.name, info.summary, info.reference);
  const std::string replays = versions(info, assign::default_params(info));
  if (!replays.empty()) out += fmt::format("  replays: {} (with the defaults)\n", replays);
  std::vector<std::string> names = info.aliases;
  for (const assign::ClassName& c : info.class_names)
    names.push_back(c.name + (c.syntax == assign::ClassName::Syntax::kCall   ? " (a constructor call)"
                              : c.syntax == assign::ClassName::Syntax::kDict ? " (a config dict's type)"
                                                                             : ""));
  if (!names.empty()) out += fmt::format("  also named: {}\n", join(names));
  if (!info.presets.empty()) {
    out += "  presets (-a " + info.name + "+NAME, or --preset NAME):\n";
    for (const assign::Preset& preset : info.presets) {
      const assign::AssignerChoice choice{&info, &preset};
      const std::string v = versions(info, assign::choice_params(choice));
      out += fmt::format("    {}: {}{}{}\n", preset.name, preset.summary, v.empty() ? "" : "; replays " + v,
                         preset.aliases.empty() ? "" : "; aliases " + join(preset.aliases));
    }
  }
  out += "  needs:";
  for (const assign::Need& need : info.needs) out += " " + assign::need_name(need);
  out += "\n  parameters (name, type, default, meaning):\n";
  size_t width = 0, type_width = 8;
  for (const ParamSpec& p : info.params) {
    width = std::max(width, p.name.size());
    type_width = std::max(type_width, std::string(param_type_name(p.type)).size());
  }
  for (const ParamSpec& p : info.params)
    out += fmt::format("    {:<{}}  {:<{}} {:<8} {}{}\n", p.name, width, param_type_name(p.type), type_width,
                       param_value_string(p.default_value), p.help, bounds(p));
  out += "  writes (--format npy):";
  for (const std::string& f : info.result_files) out += " " + f;
  return out + "\n";
}

nlohmann::ordered_json to_json(const assign::AssignerInfo& info) {
  nlohmann::ordered_json j;
  j["name"] = info.name;
  j["family"] = info.family();
  j["flavour"] = info.flavour();
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
  const auto ranges = [](const std::vector<assign::FrameworkRange>& rs) {
    nlohmann::ordered_json a = nlohmann::ordered_json::array();
    for (const assign::FrameworkRange& r : rs)
      a.push_back({{"framework", r.framework}, {"min", r.min}, {"max", r.max}, {"text", r.text}});
    return a;
  };
  j["replays"] = ranges(assign::replayed_versions(info, defaults));
  j["aliases"] = info.aliases;
  nlohmann::ordered_json classes = nlohmann::ordered_json::array();
  for (const assign::ClassName& c : info.class_names)
    classes.push_back({{"name", c.name},
                       {"syntax", c.syntax == assign::ClassName::Syntax::kCall   ? "call"
                                  : c.syntax == assign::ClassName::Syntax::kDict ? "dict"
                                                                                 : "any"}});
  j["class_names"] = classes;
  nlohmann::ordered_json presets = nlohmann::ordered_json::array();
  for (const assign::Preset& preset : info.presets) {
    const assign::AssignerChoice choice{&info, &preset};
    presets.push_back({{"name", preset.name},
                       {"summary", preset.summary},
                       {"params", nlohmann::ordered_json::parse(preset.params)},
                       {"aliases", preset.aliases},
                       {"replays", ranges(assign::replayed_versions(info, assign::choice_params(choice)))}});
  }
  j["presets"] = presets;
  return j;
}

}  // namespace

int list_command(int argc, char** argv) {
  CLI::App app{"List the assigners with their flavours, parameters, defaults and references.", "assignscope list"};
  std::string name, format = "table";
  app.add_option("name", name, "show only this assigner");
  app.add_option("-f,--format", format, "table | json")->check(CLI::IsMember({"table", "json"}));
  app.footer(
      "examples:\n  assignscope list\n  assignscope list dynamic-soft-label\n  assignscope list yolov8        # an "
      "alias: "
      "its assigner, presets and the framework versions each replays\n  assignscope list --format json");
  if (const auto done = parse_flags(app, argc, argv, "list")) return *done;
  std::vector<const assign::AssignerInfo*> shown;
  if (!name.empty()) {
    auto choice = assign::resolve_assigner(name);  // aliases and class names too
    if (!choice.ok()) return fail("list", choice.status().message(), 2);
    shown.push_back(choice->info);
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
