// `assignscope diff`: compare two assignments of the same priors.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "analysis/diff.h"
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
  assignscope diff testdata/coco640-late-g12-objectness --a dynamic-soft-label --b simota
  assignscope diff DUMP --a dynamic-soft-label --set-b topk=5           # --b defaults to --a's assigner
  assignscope diff DUMP --a task-aligned --b task-aligned.mmyolo --format json | jq .summary
  assignscope diff 'dumps/*' --a simota --b simota.yolox --fail-if 'agreement<0.999'   # many dumps, one batch
  assignscope diff DUMP --a dynamic-soft-label --b simota -o flips.svg  # a picture of the priors that differ
  assignscope diff DUMP/expected/baseline mine/                          # two results of `run --format npy`
  assignscope diff old.json new.json --fail-if 'agreement<0.99' --fail-if 'starved-one-side>0'

With --a/--b/--set-a/--set-b: every DUMP (or glob) is replayed with both sides, as one batch. Without
them: two stored results, each a directory written by `assignscope run --format npy` (or a case's
expected/<label>/) or a JSON written by `assignscope run --format json --include priors`.
--fail-if keys: agreement (0..1, or a percentage: 99%), flips, pos-to-neg, neg-to-pos, changed-gt,
ignored-changes, starved-one-side, jaccard-min, jaccard-mean; operators < <= > >= == !=.
Exit codes: 0 ok, 1 a --fail-if condition holds, 2 bad usage or input, 3 internal error.)";

// "--b: unknown ..." unless the message names a flag already ("--set-b: ...").
std::string with_flag(const std::string& flag, const std::string& message) {
  return message.rfind("--", 0) == 0 ? message : flag + ": " + message;
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
  CLI::App app{"Compare two assignments of the same priors: two assigners or settings replayed on a dump, or two "
               "stored results.",
               "assignscope diff"};
  std::vector<std::string> paths, sets_a, sets_b, fail_if;
  std::string a_name, b_name, format, output;
  int64_t top = 20;
  int threads = 0;
  bool force = false, allow_nonfinite = false;
  app.add_option("paths", paths, "DUMP... (with --a/--b; several or a glob are one batch), or RESULT_A RESULT_B")
      ->required();
  app.add_option("--a", a_name, "assigner[.flavour] of side a, replayed on DUMP (default: --b's)");
  app.add_option("--b", b_name, "assigner[.flavour] of side b (default: --a's)");
  app.add_option("--set-a", sets_a, "NAME=VALUE: a parameter of side a (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--set-b", sets_b, "NAME=VALUE: a parameter of side b (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--fail-if", fail_if, "KEY OP NUMBER: exit 1 when it holds, e.g. 'agreement<0.99' (repeatable)")
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
  const bool replay = !a_name.empty() || !b_name.empty() || !sets_a.empty() || !sets_b.empty();
  if (format == "svg" && !replay)
    return fail("diff",
                "--format svg draws priors and GT boxes, which stored results do not hold: diff the dump "
                "(DUMP --a NAME --b NAME)",
                2);
  if (format == "svg" && output.empty() && stdout_is_terminal())
    return fail("diff", "--format svg writes a picture: give -o FILE.svg, or pipe it", 2);

  Result<analysis::BatchDiff> diff = Status::Internal("diff: nothing computed");
  std::string picture;
  if (replay) {
    if (a_name.empty() && b_name.empty())
      return fail("diff", "--set-a/--set-b need --a or --b naming the assigner", 2);
    if (a_name.empty()) a_name = b_name;
    if (b_name.empty()) b_name = a_name;
    io::LoadOptions load_options;
    load_options.allow_nonfinite = allow_nonfinite;
    auto dump = io::load_dumps(paths, load_options);
    if (!dump.ok()) return fail("diff", dump.status().message(), exit_code(dump.status()));
    for (const std::string& w : dump->warnings)
      std::fprintf(stderr, "assignscope diff: warning: %s\n", printable(w, SIZE_MAX, true).c_str());
    const Batch& batch = dump->batch;
    SelectFlags flags_a{a_name, "", "", sets_a, "--a", "--set-a"};
    SelectFlags flags_b{b_name, "", "", sets_b, "--b", "--set-b"};
    auto selected_a = select_assigner(flags_a, &batch);
    if (!selected_a.ok()) return fail("diff", with_flag("--a", selected_a.status().message()), 2);
    auto selected_b = select_assigner(flags_b, &batch);
    if (!selected_b.ok()) return fail("diff", with_flag("--b", selected_b.status().message()), 2);
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
    if (!a.ok()) return fail("diff", "--a " + info_a->name + ": " + a.status().message(), exit_code(a.status()));
    auto b = replay_side(*info_b, *params_b);
    if (!b.ok()) return fail("diff", "--b " + info_b->name + ": " + b.status().message(), exit_code(b.status()));
    print_replay_warnings("diff", batch, *a, "a: " + info_a->name);
    print_replay_warnings("diff", batch, *b, "b: " + info_b->name);
    diff = analysis::diff_batch(batch, *a, *b);
    if (diff.ok() && format == "svg") {
      const auto names = side_names(diff->a, diff->b);
      picture = render::svg_diff(batch.images[0], (*a)[0], (*b)[0], names.first, names.second);
    }
  } else {
    if (paths.size() != 2)
      return fail("diff",
                  "give two stored results (RESULT_A RESULT_B), or one DUMP with --a NAME and/or --b NAME", 2);
    auto a = analysis::read_result(paths[0]);
    if (!a.ok()) return fail("diff", a.status().message(), exit_code(a.status()));
    auto b = analysis::read_result(paths[1]);
    if (!b.ok()) return fail("diff", b.status().message(), exit_code(b.status()));
    diff = analysis::diff_stored(*a, *b);
  }
  if (!diff.ok()) return fail("diff", diff.status().message(), exit_code(diff.status()));

  const std::vector<analysis::ConditionResult> results =
      analysis::evaluate(conditions, analysis::totals(diff->images));
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
    std::fprintf(stderr, "assignscope diff: --fail-if %s holds: %s = %s\n",
                 printable(r.condition.text, 80).c_str(), r.condition.key.c_str(),
                 fmt::format("{:.6g}", r.value).c_str());
  }
  return any ? 1 : 0;
}

}  // namespace assignscope::cli
