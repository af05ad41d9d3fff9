// Choosing the assigner and its parameters from the flags (-a, --preset,
// --config, --set) or from what a dump records, shared by run, diff, bench.
#include <cstdio>
#include <set>

#include <fmt/format.h>

#include "assign/assigner.h"
#include "assign/config.h"
#include "commands.h"
#include "core/number.h"
#include "core/text.h"

namespace assignscope::cli {

Result<Params> params_from_sets(const assign::AssignerInfo& info, const std::vector<std::string>& sets,
                                const std::string& flag) {
  Params params = assign::default_params(info);
  ASSIGNSCOPE_RETURN_IF_ERROR(apply_sets(info, sets, flag, &params, nullptr));
  return params;
}

Status apply_sets(const assign::AssignerInfo& info, const std::vector<std::string>& sets, const std::string& flag,
                  Params* params, std::vector<std::string>* warnings) {
  std::set<std::string> seen;
  for (const std::string& s : sets) {
    const size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      return Status::Usage(fmt::format("{} {}: expected NAME=VALUE, e.g. {} topk=5", flag, s, flag));
    if (!seen.insert(s.substr(0, eq)).second && warnings)
      warnings->push_back(fmt::format("{} sets {} more than once; the last value ({}) is used", flag, s.substr(0, eq),
                                      s.substr(eq + 1)));
    const Status st = params->set(s.substr(0, eq), s.substr(eq + 1));
    if (!st.ok()) return Status::Usage(flag + ": " + st.message() + " (" + info.name + ")");
  }
  return Status();
}

Result<AssignerSelection> select_assigner(const SelectFlags& flags, const Batch* batch) {
  AssignerSelection out;
  assign::AssignerChoice choice;
  nlohmann::json given = nlohmann::json::object();  // parameters from a config or the dump
  std::string given_from;
  if (!flags.config.empty()) {
    ASSIGNSCOPE_ASSIGN_OR_RETURN(assign::ConfigChoice cc, assign::assigner_from_config(flags.config));
    choice = cc.choice;
    given = std::move(cc.params);
    given_from = "--config";
    out.notes = std::move(cc.notes);
    if (!flags.name.empty()) {
      auto named = assign::resolve_assigner(flags.name);
      if (!named.ok()) return Status::Usage(flags.name_flag + ": " + named.status().message());
      if (named->info != choice.info)
        return Status::Usage(fmt::format("{} {} and --config (a {} config) name different assigners; give one",
                                         flags.name_flag, flags.name, choice.info->name));
      choice.preset = named->preset;
    }
  } else if (!flags.name.empty()) {
    auto named = assign::resolve_assigner(flags.name);
    if (!named.ok()) return Status::Usage(flags.name_flag + ": " + named.status().message());
    choice = *named;
  } else {
    // What the dump says replays it (written by tools/python/assignscope_hooks.py).
    std::set<std::pair<std::string, std::string>> recorded;
    if (batch)
      for (const Problem& p : batch->images) recorded.insert({p.meta.assigner, p.meta.assigner_params});
    if (recorded.size() != 1 || recorded.begin()->first.empty())
      return Status::Usage(fmt::format(
          "name an assigner with {} (see `assignscope list`), or paste its framework config with --config{}",
          flags.name_flag, recorded.size() > 1 ? "; the dumps record different assigners or parameters" : ""));
    auto named = assign::resolve_assigner(recorded.begin()->first);
    if (!named.ok()) return Status::Usage("the dump's meta.assigner: " + named.status().message());
    choice = *named;
    if (!recorded.begin()->second.empty()) {
      given = nlohmann::json::parse(recorded.begin()->second, nullptr, false);
      given_from = "the dump's meta.assigner_params";
    }
    out.notes.push_back(fmt::format("replaying {} as the dump records", choice.label()));
  }
  if (!flags.preset.empty()) {
    auto preset = assign::find_preset(*choice.info, flags.preset);
    if (!preset.ok()) return Status::Usage("--preset: " + preset.status().message());
    if (choice.preset && choice.preset != *preset)
      return Status::Usage(
          fmt::format("--preset {} and {} {} name different presets", flags.preset, flags.name_flag, flags.name));
    choice.preset = *preset;
  }
  out.info = choice.info;
  out.label = choice.label();
  out.params = assign::choice_params(choice);
  if (!given.empty()) {
    const Status st = out.params.set_all(given);
    if (!st.ok()) return Status::Usage(given_from + ": " + st.message() + " (" + choice.info->name + ")");
  }
  ASSIGNSCOPE_RETURN_IF_ERROR(apply_sets(*choice.info, flags.sets, flags.set_flag, &out.params, &out.warnings));
  ASSIGNSCOPE_RETURN_IF_ERROR(assign::validate_params(*choice.info, out.params, &out.warnings));
  if (batch) {
    std::set<std::string> said;
    for (const Problem& p : batch->images) {
      const std::string w = assign::version_warning(*choice.info, out.params, p.meta);
      if (!w.empty() && said.insert(w).second) out.warnings.push_back(w);
      if ((p.meta.dtype == "float16" || p.meta.dtype == "bfloat16") && said.insert("dtype " + p.meta.dtype).second)
        out.warnings.push_back(fmt::format(
            "the framework ran this assigner on {} inputs; the replay computes in float32, as the references do on "
            "CPU, so values near a decision can round the other way",
            p.meta.dtype));
    }
  }
  return out;
}

void print_selection_notes(const char* command, const AssignerSelection& selection, const std::string& side) {
  const std::string prefix = side.empty() ? "" : side + ": ";
  for (const std::string& n : selection.notes)
    std::fprintf(stderr, "assignscope %s: note: %s%s\n", command, prefix.c_str(), printable(n, 400, true).c_str());
  for (const std::string& w : selection.warnings)
    std::fprintf(stderr, "assignscope %s: warning: %s%s\n", command, prefix.c_str(), printable(w, 400, true).c_str());
}

Result<Shard> parse_shard(const std::string& text) {
  const size_t slash = text.find('/');
  const auto i = slash == std::string::npos ? std::nullopt : parse_int(text.substr(0, slash));
  const auto n = slash == std::string::npos ? std::nullopt : parse_int(text.substr(slash + 1));
  if (!i || !n || *n < 1 || *n > (int64_t{1} << 20) || *i < 0 || *i >= *n)
    return Status::Usage(fmt::format("--shard {}: expected I/N with 0 <= I < N (0-based), e.g. --shard 0/8", text));
  return Shard{*i, *n};
}

std::vector<std::string> shard_of(const std::vector<std::string>& listing, const Shard& shard) {
  std::vector<std::string> out;
  for (size_t i = static_cast<size_t>(shard.index); i < listing.size(); i += static_cast<size_t>(shard.count))
    out.push_back(listing[i]);
  return out;
}

Result<std::vector<Assignment>> replay_with_progress(const char* command, const AssignerSelection& selection,
                                                     const Batch& batch, int threads) {
  assign::BatchOptions options;
  options.threads = threads;
  ProgressLine progress(command, batch.images.size());
  options.progress = progress.callback();
  auto results = assign::assign_batch(*selection.info, selection.params, batch, options);
  progress.finish();
  return results;
}

}  // namespace assignscope::cli
