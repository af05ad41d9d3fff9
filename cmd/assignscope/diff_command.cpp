// `assignscope diff`: compare two assignments of the same priors.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "analysis/diff.h"
#include "analysis/fail_condition.h"
#include "assign/assigner.h"
#include "commands.h"
#include "core/text.h"
#include "io/dump.h"
#include "io/files.h"
#include "render/diff.h"
#include "render/svg.h"

namespace assignscope::cli {
namespace {

constexpr const char* kDiffExamples = R"(examples:
  assignscope diff testdata/coco640-late-g12-objectness -a dynamic-soft-label -b simota
  assignscope diff DUMP -a dynamic-soft-label --set-b topk=5            # side b defaults to side a's assigner
  assignscope diff DUMP -a yolox --preset-b 0.3.0                        # two presets of one assigner
  assignscope diff DUMP --config-a cfg_a.py --config-b cfg_b.py          # two framework configs
  assignscope diff DUMP -a task-aligned -b task-aligned.mmyolo --format json | jq .summary
  assignscope diff 'dumps/*' -a simota -b simota.yolox --fail-if 'positives-jaccard<0.95'  # many dumps, one batch
  assignscope diff DUMP -a dynamic-soft-label -b simota -o flips.svg     # a picture of the priors that differ
  assignscope diff DUMP/expected/baseline mine/                          # two results of `run --format npy`
  assignscope diff old.json new.json --fail-if 'positives-jaccard<0.9' --fail-if 'starved-one-side>0'

Side a is spelled as `run` spells its assigner, with the side: -a/--assigner, --set-a, --preset-a, --config-a
(run's --set, --preset, --config and the older --a are side a's too); side b: -b/--assigner-b, --set-b,
--preset-b, --config-b (and the older --b). A side that names no assigner takes the other's (name, config,
preset; never its --set values); with neither, the dump's recorded assigner. A flag given twice warns and
the last value is used. Every DUMP (or glob) is replayed with both sides, as one batch. Without any of
these flags: two stored results, each a directory written by `assignscope run --format npy` (or a case's
expected/<label>/) or a JSON written by `assignscope run --format json --include priors`.
--fail-if keys: fractions in [0, 1] (or a percentage: 90%): positives-jaccard, positive-priors-jaccard,
jaccard-min, jaccard-mean, agreement (negatives included: 99 % for almost any two assigners, so gate on the
others); counts >= 0: starved-one-side, starved-a-only, starved-b-only, positives-a, positives-b, flips,
pos-to-neg, neg-to-pos, changed-gt, ignored-changes; operators < <= > >= == !=. A gate over a diff where
neither side has a positive is refused (exit 2): it would compare nothing.
Exit codes: 0 ok, 1 a --fail-if condition holds, 2 bad usage or input, 3 internal error.)";

// One side's selection flags as the user gave them, and how errors name them.
struct SideFlags {
  std::vector<std::string> names, presets, configs;  // every value given; the last is used
  std::string name, preset, config;
  std::vector<std::string> sets;
  char side = 'a';
  // The flags as diff spells them for this side (run's, with the side).
  std::string name_flag() const { return side == 'a' ? "-a/--assigner" : "-b/--assigner-b"; }
  std::string set_flag() const { return side == 'a' ? "--set-a" : "--set-b"; }
  std::string preset_flag() const { return side == 'a' ? "--preset-a" : "--preset-b"; }
  std::string config_flag() const { return side == 'a' ? "--config-a" : "--config-b"; }
  bool names_assigner() const { return !name.empty() || !config.empty(); }
  bool any() const { return names_assigner() || !preset.empty() || !sets.empty(); }
  // The last of each repeated flag, with a warning for every flag given more
  // than once ("-a/--assigner given 2 times (simota, atss): the last, atss, is used").
  std::vector<std::string> resolve() {
    std::vector<std::string> warnings;
    const auto last = [&](const std::vector<std::string>& given, const std::string& flag, std::string* out) {
      if (given.empty()) return;
      *out = given.back();
      if (given.size() == 1) return;
      std::string all;
      for (const std::string& v : given) all += (all.empty() ? "" : ", ") + printable(v, 60);
      warnings.push_back(fmt::format("{} given {} times ({}): the last, {}, is used", flag, given.size(), all,
                                     printable(given.back(), 60)));
    };
    last(names, name_flag(), &name);
    last(presets, preset_flag(), &preset);
    last(configs, config_flag(), &config);
    return warnings;
  }
};

// select_assigner's messages name run's flags (--preset, --config, --set);
// diff's carry the side (--preset-b). A message that does not start with a
// flag gets the side.
std::string side_message(const SideFlags& f, std::string message) {
  for (const auto& [run_flag, side_flag] :
       {std::pair{std::string("--preset"), f.preset_flag()}, std::pair{std::string("--config"), f.config_flag()}}) {
    for (size_t at = message.find(run_flag); at != std::string::npos; at = message.find(run_flag, at + 1)) {
      const size_t end = at + run_flag.size();
      const bool word = (at == 0 || message[at - 1] == ' ' || message[at - 1] == '(') &&
                        (end == message.size() || message[end] == ' ' || message[end] == ':' || message[end] == ')');
      if (word) message.replace(at, run_flag.size(), side_flag);
    }
  }
  if (message.rfind("-", 0) == 0) return message;
  if (!f.config.empty() && message.find("the dump") == std::string::npos) return f.config_flag() + " " + message;
  return fmt::format("side {}: {}", f.side, message);
}

// Short names of the two sides for the picture's legend: the assigners when
// they differ, else the parameters that do ("topk=13" / "topk=5").
std::pair<std::string, std::string> side_names(const analysis::DiffSide& a, const analysis::DiffSide& b) {
  if (a.assigner != b.assigner) return {a.assigner, b.assigner};
  const std::vector<std::string> wa = CLI::detail::split(a.params, ' '), wb = CLI::detail::split(b.params, ' ');
  std::string na, nb;
  for (size_t k = 0; k < wa.size() && k < wb.size(); ++k) {
    if (wa[k] == wb[k]) continue;
    na += (na.empty() ? "" : " ") + wa[k];
    nb += (nb.empty() ? "" : " ") + wb[k];
  }
  if (na.empty()) return {"a", "b"};
  return {na, nb};
}

}  // namespace

int diff_command(int argc, char** argv) {
  CLI::App app{
      "Compare two assignments of the same priors: two assigners or settings replayed on a dump, or two "
      "stored results.",
      "assignscope diff"};
  std::vector<std::string> paths, fail_if;
  SideFlags side_a, side_b;
  side_b.side = 'b';
  std::string format, output;
  int64_t top = 20;
  int threads = 0;
  bool force = false, allow_nonfinite = false;
  app.add_option("paths", paths,
                 "DUMP... (replayed with both sides; several or a glob are one batch), or RESULT_A RESULT_B")
      ->required();
  // Each side as `run` spells it, with the side: -a/--assigner, --set-a,
  // --preset-a, --config-a (run's --set, --preset, --config are side a's
  // too) and -b/--assigner-b, --set-b, --preset-b, --config-b. --a and --b
  // are the older spelling, kept.
  const auto every = [](CLI::Option* o) {
    return o->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  };
  every(app.add_option("-a,--assigner,--assigner-a,--a", side_a.names,
                       "side a's assigner, as run's -a: NAME[.flavour][+preset], an alias or a class name "
                       "(default: side b's)"));
  every(app.add_option("-b,--assigner-b,--b", side_b.names, "side b's assigner (default: side a's)"));
  every(app.add_option("--preset-a,--preset", side_a.presets,
                       "a named setting of side a's assigner (assignscope list NAME)"));
  every(app.add_option("--preset-b", side_b.presets, "a named setting of side b's assigner"));
  every(app.add_option("--config-a,--config", side_a.configs,
                       "side a's assigner as a framework config, or a config file"));
  every(app.add_option("--config-b", side_b.configs, "side b's assigner as a framework config, or a config file"));
  every(app.add_option("--set-a,--set", side_a.sets, "NAME=VALUE: a parameter of side a (repeatable)"));
  every(app.add_option("--set-b", side_b.sets, "NAME=VALUE: a parameter of side b (repeatable)"));
  app.add_option("--fail-if", fail_if,
                 "KEY OP NUMBER: exit 1 when it holds, e.g. 'positives-jaccard<0.9' (repeatable; keys below)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--top", top, "flipped priors the table lists per image (default 20; json lists all)");
  app.add_option("-f,--format", format,
                 "table | json | svg (default: table on a terminal, json otherwise; with -o, from its extension)")
      ->check(CLI::IsMember({"table", "json", "svg"}));
  app.add_option("-o,--output", output, "write here instead of stdout");
  app.add_option("-j,--threads", threads, "images replayed at once (default 0: one per core)")
      ->check(CLI::Range(0, 1024));
  app.add_flag("--force", force, "replace an existing output file");
  app.add_flag("--allow-nonfinite", allow_nonfinite, "replay dumps that hold NaN or Inf instead of refusing them");
  app.footer(kDiffExamples);
  if (const auto done = parse_flags(app, argc, argv, "diff")) return *done;

  if (top < 0) return fail("diff", fmt::format("--top {}: expected a number >= 0", top), 2);
  std::vector<analysis::FailCondition> conditions;
  for (const std::string& text : fail_if) {
    auto c = analysis::parse_fail_condition(text);
    if (!c.ok()) return fail("diff", c.status().message(), 2);
    conditions.push_back(std::move(c).value());
  }
  const auto ends_with = [&](const char* ext) {
    const std::string e(ext);
    return output.size() >= e.size() && output.compare(output.size() - e.size(), e.size(), e) == 0;
  };
  if (format.empty()) {
    format = output.empty()       ? (stdout_is_terminal() ? "table" : "json")
             : ends_with(".json") ? "json"
             : ends_with(".svg")  ? "svg"
                                  : "table";
  }
  for (SideFlags* side : {&side_a, &side_b})
    for (const std::string& w : side->resolve()) std::fprintf(stderr, "assignscope diff: warning: %s\n", w.c_str());
  const bool replay = side_a.any() || side_b.any();
  if (format == "svg" && !replay)
    return fail("diff",
                "--format svg draws priors and GT boxes, which stored results do not hold: diff the dump "
                "(DUMP -a NAME -b NAME)",
                2);
  if (format == "svg" && output.empty() && stdout_is_terminal())
    return fail("diff", "--format svg writes a picture: give -o FILE.svg, or pipe it", 2);

  Result<analysis::BatchDiff> diff = Status::Internal("diff: nothing computed");
  std::string picture;
  if (replay) {
    // A side that names no assigner takes the other's, with its preset
    // unless it gives its own; --set values stay with their side.
    if (!side_a.names_assigner() && side_b.names_assigner()) {
      side_a.name = side_b.name, side_a.config = side_b.config;
      if (side_a.preset.empty()) side_a.preset = side_b.preset;
    } else if (!side_b.names_assigner() && side_a.names_assigner()) {
      side_b.name = side_a.name, side_b.config = side_a.config;
      if (side_b.preset.empty()) side_b.preset = side_a.preset;
    }
    io::LoadOptions load_options;
    load_options.allow_nonfinite = allow_nonfinite;
    auto dump = io::load_dumps(paths, load_options);
    if (!dump.ok()) return fail("diff", dump.status().message(), exit_code(dump.status()));
    for (const std::string& w : dump->warnings)
      std::fprintf(stderr, "assignscope diff: warning: %s\n", printable(w, SIZE_MAX, true).c_str());
    const Batch& batch = dump->batch;
    const auto select = [&](const SideFlags& f) -> Result<AssignerSelection> {
      SelectFlags flags{f.name, f.preset, f.config, f.sets, f.name_flag(), f.set_flag()};
      auto selected = select_assigner(flags, &batch);
      if (!selected.ok()) return Status::Usage(side_message(f, selected.status().message()));
      return selected;
    };
    auto selected_a = select(side_a);
    if (!selected_a.ok()) return fail("diff", selected_a.status().message(), 2);
    auto selected_b = select(side_b);
    if (!selected_b.ok()) return fail("diff", selected_b.status().message(), 2);
    print_selection_notes("diff", *selected_a, "a");
    print_selection_notes("diff", *selected_b, "b");
    const assign::AssignerInfo* info_a = selected_a->info;
    const assign::AssignerInfo* info_b = selected_b->info;
    const Params* params_a = &selected_a->params;
    const Params* params_b = &selected_b->params;
    if (format == "svg" && batch.images.size() != 1)
      return fail("diff",
                  fmt::format("--format svg draws one image, and {} holds {}; diff them as a table or JSON",
                              batch.source, batch.images.size()),
                  2);
    // Each side with its own progress line, as run shows it.
    const auto replay_side = [&](const assign::AssignerInfo& info, const Params& params) {
      assign::BatchOptions batch_options;
      batch_options.threads = threads;
      ProgressLine progress("diff", batch.images.size());
      batch_options.progress = progress.callback();
      auto results = assign::assign_batch(info, params, batch, batch_options);
      progress.finish();
      return results;
    };
    auto a = replay_side(*info_a, *params_a);
    if (!a.ok()) return fail("diff", "side a (" + info_a->name + "): " + a.status().message(), exit_code(a.status()));
    auto b = replay_side(*info_b, *params_b);
    if (!b.ok()) return fail("diff", "side b (" + info_b->name + "): " + b.status().message(), exit_code(b.status()));
    print_replay_warnings("diff", batch, *a, "a: " + info_a->name);
    print_replay_warnings("diff", batch, *b, "b: " + info_b->name);
    diff = analysis::diff_batch(batch, *a, *b);
    if (diff.ok() && diff->a.assigner == diff->b.assigner && diff->a.params == diff->b.params)
      std::fprintf(stderr,
                   "assignscope diff: warning: sides a and b are the same assigner with the same parameters (%s%s%s): "
                   "the diff compares it with itself\n",
                   diff->a.assigner.c_str(), diff->a.params.empty() ? "" : " · ", diff->a.params.c_str());
    if (diff.ok() && format == "svg") {
      const auto names = side_names(diff->a, diff->b);
      picture = render::svg_diff(batch.images[0], (*a)[0], (*b)[0], names.first, names.second);
    }
  } else {
    if (paths.size() != 2)
      return fail("diff", "give two stored results (RESULT_A RESULT_B), or DUMP... with -a NAME and/or -b NAME", 2);
    auto a = analysis::read_result(paths[0]);
    if (!a.ok()) return fail("diff", a.status().message(), exit_code(a.status()));
    auto b = analysis::read_result(paths[1]);
    if (!b.ok()) return fail("diff", b.status().message(), exit_code(b.status()));
    std::error_code ec;
    if (std::filesystem::equivalent(paths[0], paths[1], ec) && !ec)
      std::fprintf(stderr, "assignscope diff: warning: %s and %s are the same file: the diff compares it with itself\n",
                   printable(paths[0], 200).c_str(), printable(paths[1], 200).c_str());
    diff = analysis::diff_stored(*a, *b);
  }
  if (!diff.ok()) return fail("diff", diff.status().message(), exit_code(diff.status()));

  const analysis::DiffTotals totals = analysis::totals(diff->images);
  if (!conditions.empty()) {
    const Status comparable = analysis::check_comparable(totals);
    if (!comparable.ok()) return fail("diff", comparable.message(), exit_code(comparable));
  }
  const std::vector<analysis::ConditionResult> results = analysis::evaluate(conditions, totals);
  const std::string text = format == "json"  ? render::diff_json(*diff, results).dump(1) + "\n"
                           : format == "svg" ? picture
                                             : render::diff_table(*diff, top);
  if (output.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    if (std::fflush(stdout) != 0) return fail("diff", "cannot write to stdout", 2);
  } else {
    const Status written = io::write_file_atomic(output, text, force);
    if (!written.ok()) return fail("diff", written.message(), exit_code(written));
  }
  bool any = false;
  for (const analysis::ConditionResult& r : results) {
    if (!r.holds) continue;
    any = true;
    std::fprintf(stderr, "assignscope diff: --fail-if %s holds: %s = %s\n", printable(r.condition.text, 80).c_str(),
                 r.condition.key.c_str(), fmt::format("{:.6g}", r.value).c_str());
  }
  return any ? 1 : 0;
}

}  // namespace assignscope::cli
