// Framework configs as pasted: find the assigner, map its arguments (config.h).
#include "assign/config.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "core/pyliteral.h"
#include "core/suggest.h"
#include "core/text.h"
#include "io/files.h"
#include "io/memory.h"

namespace assignscope::assign {
namespace {

using Json = nlohmann::json;

// "mmdet.DynamicSoftLabelAssigner" -> "DynamicSoftLabelAssigner".
std::string class_of(const Json& node) {
  if (!node.is_object() || !node.contains("type") || !node["type"].is_string()) return "";
  std::string t = node["type"].get<std::string>();
  if (const size_t dot = t.rfind('.'); dot != std::string::npos) t = t.substr(dot + 1);
  return t;
}

const ClassName* class_entry(const AssignerInfo& info, const std::string& cls) {
  for (const ClassName& c : info.class_names)
    if (c.name == cls) return &c;
  return nullptr;
}

const AssignerInfo* info_for_class(const std::string& cls, bool call_syntax) {
  const AssignerInfo* any = nullptr;
  for (const AssignerInfo& info : registry())
    for (const ClassName& c : info.class_names) {
      if (c.name != cls) continue;
      const bool fits = c.syntax == ClassName::Syntax::kAny || (c.syntax == ClassName::Syntax::kCall) == call_syntax;
      if (fits) return &info;
      if (!any) any = &info;
    }
  return any;
}

bool names_assigner(const Json& node) {
  const std::string cls = class_of(node);
  return !cls.empty() && info_for_class(cls, is_python_call(node)) != nullptr;
}

struct Found {
  std::string path;  // "train_cfg.assigner"
  const Json* node;
  const Json* parent;  // the object holding it (train_cfg), or null
};

// Every assigner in a config value: objects whose `type` is a known assigner
// class, or that sit under a key named `assigner` / `initial_assigner`.
void collect(const Json& node, const std::string& path, const Json* parent, int depth, std::vector<Found>* out) {
  if (depth > 64) return;
  if (node.is_object()) {
    if (names_assigner(node) ||
        (!path.empty() &&
         (path == "assigner" || (path.size() > 9 && path.compare(path.size() - 9, 9, ".assigner") == 0)) &&
         node.contains("type"))) {
      out->push_back({path, &node, parent});
      return;
    }
    for (auto it = node.begin(); it != node.end(); ++it)
      collect(it.value(), path.empty() ? it.key() : path + "." + it.key(), &node, depth + 1, out);
  } else if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i) collect(node[i], fmt::format("{}[{}]", path, i), parent, depth + 1, out);
  }
}

std::vector<std::string> known_classes() {
  std::vector<std::string> out;
  for (const AssignerInfo& info : registry())
    for (const ClassName& c : info.class_names)
      if (std::find(out.begin(), out.end(), c.name) == out.end()) out.push_back(c.name);
  return out;
}

// The config text as given, or the file it names.
Result<std::pair<std::string, std::string>> config_text(const std::string& text) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool looks_like_code = text.find_first_of("(={[\n") != std::string::npos;
  if (!looks_like_code && fs::is_regular_file(text, ec)) {
    // A config file is kilobytes; a budget keeps a mistaken path (a dataset) from being read whole.
    auto body = io::read_file_text(text, io::MemoryBudget{uint64_t{16} << 20, "the size a config file may have"});
    if (!body.ok()) return Status::Usage("--config " + body.status().message());
    return std::make_pair(std::move(body).value(), text);
  }
  if (!looks_like_code)
    return Status::Usage(
        fmt::format("--config {}: neither a config (dict(type=...), {{...}}, Class(...)) nor a "
                    "file",
                    printable(text, 80)));
  return std::make_pair(text, std::string("--config"));
}

// Is `value` what an ignored key must hold ("use_ciou=False" form)?
Status check_ignored(const std::string& spec, const std::string& key, const Json& value, const std::string& cls,
                     const std::string& origin, std::vector<std::string>* notes) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos) {
    if (key == "iou_calculator") {
      const std::string calc = value.is_object() ? class_of(value) : value.is_string() ? value.get<std::string>() : "";
      // BboxOverlaps2D(scale=1., dtype=None): any other scale or dtype changes the IoUs.
      bool defaults = true;
      if (value.is_object())
        for (auto it = value.begin(); it != value.end(); ++it)
          if (it.key() != "type" && !(it.key() == "scale" && it.value() == 1) &&
              !(it.key() == "dtype" && it.value().is_null()))
            defaults = false;
      if (calc.find("BboxOverlaps2D") == std::string::npos || !defaults)
        return Status::Usage(fmt::format("{}: {}(iou_calculator={}): only BboxOverlaps2D (the default) is replayed",
                                         origin, cls, printable(json_snippet(value), 60)));
    }
    notes->push_back(fmt::format("{}={} does not change the assignment: not used", key,
                                 is_unevaluated(value) ? python_source(value) : json_snippet(value)));
    return Status();
  }
  const Json wanted = Json::parse(spec.substr(eq + 1));
  if (value != wanted)
    return Status::Usage(fmt::format("{}: {}({}={}): only {}={} is replayed", origin, cls, key,
                                     printable(json_snippet(value), 60), key, wanted.dump()));
  return Status();
}

}  // namespace

Result<ConfigChoice> assigner_from_config(const std::string& given) {
  ASSIGNSCOPE_ASSIGN_OR_RETURN(auto source, config_text(given));
  const auto& [text, origin] = source;
  ASSIGNSCOPE_ASSIGN_OR_RETURN(auto module, parse_python_module(text, origin));

  // The value to search: a lone expression, a lone assignment, or the module.
  Json root;
  if (module.size() == 1) root = Json(module.begin().value());
  else root = Json(module);
  std::string root_name = module.size() == 1 && module.begin().key() != "$value" ? module.begin().key() : "";

  std::vector<Found> found;
  collect(root, root_name, nullptr, 0, &found);
  if (found.empty()) {
    // A dict with an unknown type: say which classes are known.
    std::vector<Found> typed;
    const std::string cls = class_of(root);
    if (!cls.empty())
      return Status::Usage(fmt::format("{}: {} is not an assigner assignscope replays{}; known: {}", origin, cls,
                                       did_you_mean(cls, known_classes()), fmt::join(known_classes(), ", ")));
    return Status::Usage(
        fmt::format("{}: no assigner found (a dict(type='...Assigner', ...) or a "
                    "TaskAlignedAssigner(...) call); known classes: {}",
                    origin, fmt::join(known_classes(), ", ")));
  }
  // Prefer `assigner` over `initial_assigner` (TOOD's warm-up); otherwise one only.
  std::vector<Found> main;
  for (const Found& f : found)
    if (f.path.find("initial_assigner") == std::string::npos) main.push_back(f);
  if (main.empty()) main = found;
  if (main.size() > 1) {
    std::string list;
    for (const Found& f : main) list += fmt::format("{}{} ({})", list.empty() ? "" : ", ", f.path, class_of(*f.node));
    return Status::Usage(fmt::format("{}: holds {} assigners: {}; paste the one to replay", origin, main.size(), list));
  }
  const Found& pick = main[0];
  const Json& node = *pick.node;
  const std::string cls = class_of(node);
  const bool call = is_python_call(node);
  ConfigChoice out;
  out.where = pick.path;
  out.choice.info = info_for_class(cls, call);
  if (!out.choice.info)
    return Status::Usage(fmt::format("{}: {} is not an assigner assignscope replays{}; known: {}", origin, cls,
                                     did_you_mean(cls, known_classes()), fmt::join(known_classes(), ", ")));
  for (const Found& f : found)
    if (&f != &pick && f.path.find("initial_assigner") != std::string::npos)
      out.notes.push_back(fmt::format("{} ({}) is the warm-up assigner of the first epochs; replayed: {}", f.path,
                                      class_of(*f.node), pick.path.empty() ? cls : pick.path));
  const AssignerInfo& info = *out.choice.info;
  const auto is_param = [&](const std::string& key) {
    return std::any_of(info.params.begin(), info.params.end(), [&](const ParamSpec& p) { return p.name == key; });
  };
  out.params = Json::object();
  const ClassName* entry = class_entry(info, cls);
  const bool head = entry && entry->head;
  std::vector<std::string> head_ignored;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string& key = it.key();
    if (key == "type" || key == "$call") continue;
    if (key == "$args")
      return Status::Usage(fmt::format("{}: {}(...) with positional arguments: write them as name=value", origin, cls));
    if (is_param(key)) {
      out.params[key] = it.value();
      continue;
    }
    const auto ignored = std::find_if(info.config_ignored.begin(), info.config_ignored.end(),
                                      [&](const std::string& s) { return s.substr(0, s.find('=')) == key; });
    if (ignored != info.config_ignored.end()) {
      ASSIGNSCOPE_RETURN_IF_ERROR(check_ignored(*ignored, key, it.value(), cls, origin, &out.notes));
      continue;
    }
    if (head) {
      head_ignored.push_back(key);
      continue;
    }
    std::vector<std::string> names;
    for (const ParamSpec& p : info.params) names.push_back(p.name);
    return Status::Usage(fmt::format("{}: {}({}=...): not an argument assignscope replays for {}{}; its parameters: {}",
                                     origin, cls, key, info.name, did_you_mean(key, names), fmt::join(names, ", ")));
  }
  if (!head_ignored.empty())
    out.notes.push_back(fmt::format("{} arguments that do not change the assignment, not used: {}", cls,
                                    fmt::join(head_ignored, ", ")));
  // Arguments the reference's caller passes beside the assigner dict: TOOD's
  // and DDQ's train_cfg carry alpha and beta for assign().
  if (pick.parent && pick.parent->is_object()) {
    for (auto it = pick.parent->begin(); it != pick.parent->end(); ++it)
      if (is_param(it.key()) && !out.params.contains(it.key()) && !it.value().is_object()) {
        out.params[it.key()] = it.value();
        out.notes.push_back(fmt::format("{}={} taken from beside the assigner (the head passes it to assign())",
                                        it.key(), json_snippet(it.value())));
      }
  }
  return out;
}

}  // namespace assignscope::assign
