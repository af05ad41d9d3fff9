// `assignscope report`: one self-contained, offline, interactive HTML file of
// an assignment, or of two side by side (render/report.h).
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "assign/assigner.h"
#include "commands.h"
#include "io/dump.h"
#include "io/files.h"
#include "loss/loss.h"
#include "render/render.h"
#include "render/report.h"

namespace assignscope::cli {
namespace {

constexpr const char* kReportExamples = R"EX(examples:
  assignscope report testdata/coco640-late-g12-objectness -a dynamic-soft-label -o report.html
  assignscope report dumps/ultralytics-r0-p123-one2one-s00000200 -o report.html      # no -a: what the hook recorded
  assignscope report DUMP -a simota -o simota.html                                    # as run spells it: -a, --preset, --config, --set
  assignscope report testdata/batch/dirs-b2 -a dynamic-soft-label -o batch.html        # a batch: an image navigator
  assignscope report DUMP -a dynamic-soft-label -b simota -o diff.html                 # diff mode: two assigners side by side
  assignscope report DUMP -a dynamic-soft-label --set-b topk=5 -o topk.html            # ... or two settings of one
  assignscope report DUMP -a simota --loss rtmdet -o loss.html                         # with RTMDet's loss per GT and per prior

The page needs no network and no file beside it: the image, the data, the script and the style are
inlined. Hover a prior for its index, level, IoU, the GT it went to and every cost term of its
candidate pairs; click a GT box (or a table row) for its candidates, top-k picks, positives and the
priors it lost, and to whom. Any flag of side b (-b, --preset-b, --config-b, --set-b) turns on the diff
mode; a side that names no assigner takes the other's. Exit codes: 0 ok, 2 bad usage or input,
3 internal error.)EX";

struct ReportFlags {
  std::vector<std::string> dump_paths, sets_a, sets_b;
  std::string name_a, preset_a, config_a, name_b, preset_b, config_b, output, loss_head;
  bool force = false, allow_nonfinite = false;
  int threads = 0;
  bool diff() const { return !name_b.empty() || !preset_b.empty() || !config_b.empty() || !sets_b.empty(); }
};

void add_report_flags(CLI::App& app, ReportFlags& f) {
  app.add_option(
         "dump", f.dump_paths,
         "the dump(s): directory, .npz, .json, a directory of one-image dumps, or a glob; several are one batch")
      ->required();
  app.add_option("-a,--assigner", f.name_a,
                 "assigner[.flavour][+preset], an alias or a reference class name (as run's -a); default: what the "
                 "dump's meta.json records");
  app.add_option("--preset,--preset-a", f.preset_a, "a named setting of the assigner (assignscope list NAME)");
  app.add_option("--config,--config-a", f.config_a, "the assigner as a framework config, or a config file");
  app.add_option("--set,--set-a", f.sets_a, "NAME=VALUE: override a parameter (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("-b,--assigner-b", f.name_b, "diff mode: side b's assigner (default: side a's)");
  app.add_option("--preset-b", f.preset_b, "diff mode: a named setting of side b's assigner");
  app.add_option("--config-b", f.config_b, "diff mode: side b's assigner as a framework config");
  app.add_option("--set-b", f.sets_b, "diff mode: NAME=VALUE, a parameter of side b (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("-o,--output", f.output, "the HTML file to write (.html or .htm)")->required();
  app.add_option("--loss", f.loss_head,
                 "HEAD: also the loss that head computes under each side's assignment (rtmdet, yolox, ultralytics): "
                 "per-GT columns, per-prior values in the tooltip, the image's total");
  app.add_option("-j,--threads", f.threads, "images replayed at once (default 0: one per core)")
      ->check(CLI::Range(0, 1024));
  app.add_flag("--force", f.force, "replace an existing output");
  app.add_flag("--allow-nonfinite", f.allow_nonfinite, "replay inputs that hold NaN or Inf instead of refusing them");
  app.footer(kReportExamples);
}

Status check_output(const std::string& output) {
  const auto ends_with = [&](const std::string& e) {
    return output.size() > e.size() && output.compare(output.size() - e.size(), e.size(), e) == 0;
  };
  if (output_is_stdout(output)) {
    if (stdout_is_terminal()) return Status::Usage("-o -: the report is an HTML page; give -o FILE.html, or pipe it");
    return Status();
  }
  if (!ends_with(".html") && !ends_with(".htm"))
    return Status::Usage(fmt::format("-o {}: the report is an HTML page; expected a name ending in .html", output));
  return Status();
}

}  // namespace

int report_command(int argc, char** argv) {
  CLI::App app{"Write one self-contained interactive HTML report of an assignment (or of two, side by side).",
               "assignscope report"};
  ReportFlags f;
  add_report_flags(app, f);
  if (const auto done = parse_flags(app, argc, argv, "report")) return *done;
  if (const Status st = check_output(f.output); !st.ok()) return fail("report", st.message(), 2);
  loss::LossChoice head;
  if (!f.loss_head.empty()) {
    auto chosen = loss::choose_loss(f.loss_head);
    if (!chosen.ok()) return fail("report", "--loss: " + chosen.status().message(), 2);
    head = *chosen;
  }

  io::LoadOptions load_options;
  load_options.allow_nonfinite = f.allow_nonfinite;
  auto dump = io::load_dumps(f.dump_paths, load_options);
  if (!dump.ok()) return fail("report", dump.status().message(), exit_code(dump.status()));
  for (const std::string& w : dump->warnings)
    std::fprintf(stderr, "assignscope report: warning: %s\n", render::for_terminal(w).c_str());
  const Batch& batch = dump->batch;

  // A side that names no assigner takes the other's (as diff does).
  const bool a_names = !f.name_a.empty() || !f.config_a.empty(), b_names = !f.name_b.empty() || !f.config_b.empty();
  if (f.diff() && !b_names) f.name_b = f.name_a, f.config_b = f.config_a;
  if (f.diff() && !a_names && b_names) f.name_a = f.name_b, f.config_a = f.config_b;
  auto selected_a = select_assigner({f.name_a, f.preset_a, f.config_a, f.sets_a}, &batch);
  if (!selected_a.ok()) return fail("report", selected_a.status().message(), 2);
  print_selection_notes("report", *selected_a, f.diff() ? "a" : "");
  auto results_a = replay_with_progress("report", *selected_a, batch, f.threads);
  if (!results_a.ok()) return fail("report", results_a.status().message(), exit_code(results_a.status()));
  print_replay_warnings("report", batch, *results_a, f.diff() ? "a: " + selected_a->info->name : "");

  // The head's loss under one side's assignment.
  const auto loss_of = [&](const AssignerSelection& selection,
                           const std::vector<Assignment>& results) -> Result<loss::LossResult> {
    loss::LossSettings settings;
    settings.params = head.params;
    settings.assignments = &results;
    settings.assigner = selection.info->name;
    return loss::compute_loss(*head.info, batch, settings);
  };
  Result<loss::LossResult> loss_a = Status::Internal("unset"), loss_b = Status::Internal("unset");
  if (head.info) {
    loss_a = loss_of(*selected_a, *results_a);
    if (!loss_a.ok()) return fail("report", loss_a.status().message(), exit_code(loss_a.status()));
  }
  render::ReportSide side_a{selected_a->label, &*results_a, head.info ? &*loss_a : nullptr}, side_b;
  Result<std::vector<Assignment>> results_b = std::vector<Assignment>{};
  if (f.diff()) {
    auto selected_b =
        select_assigner({f.name_b, f.preset_b, f.config_b, f.sets_b, "-b/--assigner-b", "--set-b"}, &batch);
    if (!selected_b.ok()) return fail("report", "side b: " + selected_b.status().message(), 2);
    print_selection_notes("report", *selected_b, "b");
    if (selected_b->label == selected_a->label && selected_b->params.to_json() == selected_a->params.to_json())
      std::fprintf(stderr,
                   "assignscope report: warning: sides a and b are the same assigner with the same parameters (%s): "
                   "the diff compares it with itself\n",
                   render::for_terminal(selected_a->label).c_str());
    results_b = replay_with_progress("report", *selected_b, batch, f.threads);
    if (!results_b.ok()) return fail("report", results_b.status().message(), exit_code(results_b.status()));
    print_replay_warnings("report", batch, *results_b, "b: " + selected_b->info->name);
    if (head.info) {
      loss_b = loss_of(*selected_b, *results_b);
      if (!loss_b.ok()) return fail("report", "side b: " + loss_b.status().message(), exit_code(loss_b.status()));
    }
    side_b = {selected_b->label, &*results_b, head.info ? &*loss_b : nullptr};
  }
  const std::string page = render::report_html(batch, side_a, side_b);
  const Status written = io::write_file_atomic(output_is_stdout(f.output) ? "-" : f.output, page, f.force);
  if (!written.ok()) return fail("report", written.message(), exit_code(written));
  return 0;
}

}  // namespace assignscope::cli
