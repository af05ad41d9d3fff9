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
#include "loss/loss.h"
#include "render/diff.h"
#include "render/loss.h"
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
  assignscope diff 'dumps/*' -a simota -b atss -o f.svg --image 1 --gt 3  # image 1 of the batch, zoomed on its GT 3
  assignscope diff DUMP/expected/baseline mine/                          # two results of `run --format npy`
  assignscope diff DUMP -a dynamic-soft-label -b simota --loss rtmdet    # how RTMDet's loss moves, per GT
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
  if (message.rfind('-', 0) == 0) return message;
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

// Everything `diff` reads from its command line.
struct DiffFlags {
  std::vector<std::string> paths, fail_if;
  SideFlags side_a, side_b;
  std::string format, output, loss_head;
  int64_t top = 20;
  int threads = 0;
  bool force = false, allow_nonfinite = false;
  SvgViewFlags svg_flags;    // --gt, --region, --image
  render::SvgView svg_view;  // from them
  DiffFlags() { side_b.side = 'b'; }
  bool replay() const { return side_a.any() || side_b.any(); }
};

void add_diff_flags(CLI::App& app, DiffFlags& f) {
  app.add_option("paths", f.paths,
                 "DUMP... (replayed with both sides; several or a glob are one batch), or RESULT_A RESULT_B")
      ->required();
  // Each side as `run` spells it, with the side: -a/--assigner, --set-a,
  // --preset-a, --config-a (run's --set, --preset, --config are side a's
  // too) and -b/--assigner-b, --set-b, --preset-b, --config-b. --a and --b
  // are the older spelling, kept.
  const auto every = [](CLI::Option* o) {
    return o->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  };
  every(app.add_option("-a,--assigner,--assigner-a,--a", f.side_a.names,
                       "side a's assigner, as run's -a: NAME[.flavour][+preset], an alias or a class name "
                       "(default: side b's)"));
  every(app.add_option("-b,--assigner-b,--b", f.side_b.names, "side b's assigner (default: side a's)"));
  every(app.add_option("--preset-a,--preset", f.side_a.presets,
                       "a named setting of side a's assigner (assignscope list NAME)"));
  every(app.add_option("--preset-b", f.side_b.presets, "a named setting of side b's assigner"));
  every(app.add_option("--config-a,--config", f.side_a.configs,
                       "side a's assigner as a framework config, or a config file"));
  every(app.add_option("--config-b", f.side_b.configs, "side b's assigner as a framework config, or a config file"));
  every(app.add_option("--set-a,--set", f.side_a.sets, "NAME=VALUE: a parameter of side a (repeatable)"));
  every(app.add_option("--set-b", f.side_b.sets, "NAME=VALUE: a parameter of side b (repeatable)"));
  app.add_option("--fail-if", f.fail_if,
                 "KEY OP NUMBER: exit 1 when it holds, e.g. 'positives-jaccard<0.9' (repeatable; keys below)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--top", f.top, "flipped priors the table lists per image (default 20; json lists all)");
  app.add_option("-f,--format", f.format,
                 "table | json | svg (default: table on a terminal, json otherwise; with -o, from its extension)")
      ->check(CLI::IsMember({"table", "json", "svg"}));
  app.add_option("-o,--output", f.output, "write here instead of stdout");
  app.add_option("--loss", f.loss_head,
                 "HEAD: show how that head's loss (rtmdet, yolox, ultralytics) moves from side a's assignment to side "
                 "b's: in total, per level, per GT (table or json; DUMP... only)");
  app.add_option("-j,--threads", f.threads, "images replayed at once (default 0: one per core)")
      ->check(CLI::Range(0, 1024));
  app.add_flag("--force", f.force, "replace an existing output file");
  app.add_flag("--allow-nonfinite", f.allow_nonfinite, "replay dumps that hold NaN or Inf instead of refusing them");
  add_svg_view_flags(app, f.svg_flags);
  app.footer(kDiffExamples);
}

// The output format (from -f, else -o's extension, else the terminal), the
// last of each repeated side flag, and what an SVG needs.
Status settle_diff_flags(DiffFlags& f) {
  const auto ends_with = [&](const char* ext) {
    const std::string e(ext);
    return f.output.size() >= e.size() && f.output.compare(f.output.size() - e.size(), e.size(), e) == 0;
  };
  if (f.format.empty()) {
    f.format = f.output.empty()     ? (stdout_is_terminal() ? "table" : "json")
               : ends_with(".json") ? "json"
               : ends_with(".svg")  ? "svg"
                                    : "table";
  }
  for (SideFlags* side : {&f.side_a, &f.side_b})
    for (const std::string& w : side->resolve()) std::fprintf(stderr, "assignscope diff: warning: %s\n", w.c_str());
  if (f.format == "svg" && !f.replay())
    return Status::Usage(
        "--format svg draws priors and GT boxes, which stored results do not hold: diff the dump "
        "(DUMP -a NAME -b NAME)");
  if (f.format == "svg" && f.output.empty() && stdout_is_terminal())
    return Status::Usage("--format svg writes a picture: give -o FILE.svg, or pipe it");
  ASSIGNSCOPE_ASSIGN_OR_RETURN(f.svg_view, settle_svg_view(f.svg_flags, f.format));
  if (!f.loss_head.empty()) {
    if (auto head = loss::choose_loss(f.loss_head); !head.ok()) return head.status();
    if (f.format == "svg") return Status::Usage("--loss writes a table or json; not svg");
    if (!f.replay())
      return Status::Usage("--loss computes the loss from the dump: give DUMP... with -a NAME and/or -b NAME");
  }
  return Status();
}

// What the two sides gave: the diff, and its picture when -f svg.
struct DiffOutcome {
  analysis::BatchDiff diff;
  std::string picture;
  std::string loss_text;  // --loss: the loss diff, as the format asks
};

// A side that names no assigner takes the other's, with its preset unless it
// gives its own; --set values stay with their side.
void share_assigner(DiffFlags& f) {
  if (!f.side_a.names_assigner() && f.side_b.names_assigner()) {
    f.side_a.name = f.side_b.name, f.side_a.config = f.side_b.config;
    if (f.side_a.preset.empty()) f.side_a.preset = f.side_b.preset;
  } else if (!f.side_b.names_assigner() && f.side_a.names_assigner()) {
    f.side_b.name = f.side_a.name, f.side_b.config = f.side_a.config;
    if (f.side_b.preset.empty()) f.side_b.preset = f.side_a.preset;
  }
}

// One side's assigner and parameters, its errors naming the side's flags.
Result<AssignerSelection> select_side(const SideFlags& f, const Batch& batch) {
  SelectFlags flags{f.name, f.preset, f.config, f.sets, f.name_flag(), f.set_flag()};
  auto selected = select_assigner(flags, &batch);
  if (!selected.ok()) return Status::Usage(side_message(f, selected.status().message()));
  return selected;
}

// Replays one side over the batch, with its own progress line as run shows it.
Result<std::vector<Assignment>> replay_side(const AssignerSelection& s, const Batch& batch, int threads, char side) {
  auto results = replay_with_progress("diff", s, batch, threads);
  if (!results.ok()) return results.status().WithContext(fmt::format("side {} ({})", side, s.info->name));
  return results;
}

// DUMP... replayed with both sides.
Result<DiffOutcome> diff_replayed(DiffFlags& f) {
  share_assigner(f);
  io::LoadOptions load_options;
  load_options.allow_nonfinite = f.allow_nonfinite;
  ASSIGNSCOPE_ASSIGN_OR_RETURN(io::LoadedDump dump, io::load_dumps(f.paths, load_options));
  for (const std::string& w : dump.warnings)
    std::fprintf(stderr, "assignscope diff: warning: %s\n", printable(w, SIZE_MAX, true).c_str());
  const Batch& batch = dump.batch;
  ASSIGNSCOPE_ASSIGN_OR_RETURN(const AssignerSelection selected_a, select_side(f.side_a, batch));
  ASSIGNSCOPE_ASSIGN_OR_RETURN(const AssignerSelection selected_b, select_side(f.side_b, batch));
  print_selection_notes("diff", selected_a, "a");
  print_selection_notes("diff", selected_b, "b");
  ASSIGNSCOPE_RETURN_IF_ERROR(render::check_svg_view(batch, f.svg_view));
  ASSIGNSCOPE_ASSIGN_OR_RETURN(const std::vector<Assignment> a, replay_side(selected_a, batch, f.threads, 'a'));
  ASSIGNSCOPE_ASSIGN_OR_RETURN(const std::vector<Assignment> b, replay_side(selected_b, batch, f.threads, 'b'));
  print_replay_warnings("diff", batch, a, "a: " + selected_a.info->name);
  print_replay_warnings("diff", batch, b, "b: " + selected_b.info->name);
  DiffOutcome out;
  ASSIGNSCOPE_ASSIGN_OR_RETURN(out.diff, analysis::diff_batch(batch, a, b));
  if (out.diff.a.assigner == out.diff.b.assigner && out.diff.a.params == out.diff.b.params)
    std::fprintf(stderr,
                 "assignscope diff: warning: sides a and b are the same assigner with the same parameters (%s%s%s): "
                 "the diff compares it with itself\n",
                 out.diff.a.assigner.c_str(), out.diff.a.params.empty() ? "" : " · ", out.diff.a.params.c_str());
  if (!f.loss_head.empty()) {
    const loss::LossChoice choice = *loss::choose_loss(f.loss_head);  // checked with the flags
    const loss::LossInfo* head = choice.info;
    loss::LossSettings sa, sb;
    sa.params = sb.params = choice.params;
    sa.assignments = &a, sa.assigner = selected_a.info->name;
    sb.assignments = &b, sb.assigner = selected_b.info->name;
    auto la = loss::compute_loss(*head, batch, sa);
    if (!la.ok()) return la.status().WithContext("side a");
    auto lb = loss::compute_loss(*head, batch, sb);
    if (!lb.ok()) return lb.status().WithContext("side b");
    out.loss_text = f.format == "json" ? render::loss_diff_json(batch, *la, *lb).dump(1) + "\n"
                                       : render::loss_diff_table(batch, *la, *lb);
  }
  if (f.format == "svg") {
    const auto names = side_names(out.diff.a, out.diff.b);
    out.picture = render::svg_diff(batch, a, b, names.first, names.second, f.svg_view);
  }
  return out;
}

// RESULT_A RESULT_B: two stored results.
Result<DiffOutcome> diff_results(const DiffFlags& f) {
  if (f.paths.size() != 2)
    return Status::Usage("give two stored results (RESULT_A RESULT_B), or DUMP... with -a NAME and/or -b NAME");
  ASSIGNSCOPE_ASSIGN_OR_RETURN(const analysis::StoredAssignments a, analysis::read_result(f.paths[0]));
  ASSIGNSCOPE_ASSIGN_OR_RETURN(const analysis::StoredAssignments b, analysis::read_result(f.paths[1]));
  std::error_code ec;
  if (std::filesystem::equivalent(f.paths[0], f.paths[1], ec) && !ec)
    std::fprintf(stderr, "assignscope diff: warning: %s and %s are the same file: the diff compares it with itself\n",
                 printable(f.paths[0], 200).c_str(), printable(f.paths[1], 200).c_str());
  DiffOutcome out;
  ASSIGNSCOPE_ASSIGN_OR_RETURN(out.diff, analysis::diff_stored(a, b));
  return out;
}

// Writes the diff as table / JSON / SVG and reports the --fail-if conditions
// that hold: the exit code.
int report_diff(const DiffFlags& f, const DiffOutcome& out, const std::vector<analysis::FailCondition>& conditions) {
  const analysis::DiffTotals totals = analysis::totals(out.diff.images);
  if (!conditions.empty()) {
    const Status comparable = analysis::check_comparable(totals);
    if (!comparable.ok()) return fail("diff", comparable.message(), exit_code(comparable));
  }
  const std::vector<analysis::ConditionResult> results = analysis::evaluate(conditions, totals);
  const std::string text = !out.loss_text.empty() ? out.loss_text
                           : f.format == "json"   ? render::diff_json(out.diff, results).dump(1) + "\n"
                           : f.format == "svg"    ? out.picture
                                                  : render::diff_table(out.diff, f.top);
  if (f.output.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    if (std::fflush(stdout) != 0) return fail("diff", "cannot write to stdout", 2);
  } else {
    const Status written = io::write_file_atomic(f.output, text, f.force);
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

}  // namespace

int diff_command(int argc, char** argv) {
  CLI::App app{
      "Compare two assignments of the same priors: two assigners or settings replayed on a dump, or two "
      "stored results.",
      "assignscope diff"};
  DiffFlags flags;
  add_diff_flags(app, flags);
  if (const auto done = parse_flags(app, argc, argv, "diff")) return *done;
  if (flags.top < 0) return fail("diff", fmt::format("--top {}: expected a number >= 0", flags.top), 2);
  std::vector<analysis::FailCondition> conditions;
  for (const std::string& text : flags.fail_if) {
    auto c = analysis::parse_fail_condition(text);
    if (!c.ok()) return fail("diff", c.status().message(), 2);
    conditions.push_back(std::move(c).value());
  }
  if (const Status settled = settle_diff_flags(flags); !settled.ok()) return fail("diff", settled.message(), 2);
  Result<DiffOutcome> out = flags.replay() ? diff_replayed(flags) : diff_results(flags);
  if (!out.ok()) return fail("diff", out.status().message(), exit_code(out.status()));
  return report_diff(flags, *out, conditions);
}

}  // namespace assignscope::cli
