// `assignscope run`: replay one assigner on a dump and show the result.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "assign/assigner.h"
#include "commands.h"
#include "core/text.h"
#include "io/dump.h"
#include "io/files.h"
#include "render/render.h"
#include "render/svg.h"

namespace assignscope::cli {
namespace {

constexpr const char* kRunExamples = R"EX(examples:
  assignscope run testdata/coco640-late-g12-objectness --assigner dynamic-soft-label
  assignscope run DUMP -a yolo26-o2o                                             # an alias: task-aligned.ultralytics+yolo26-o2o
  assignscope run DUMP --config "dict(type='DynamicSoftLabelAssigner', topk=13)" # the config as written in mmdet
  assignscope run DUMP --config configs/rtmdet/rtmdet_s_8xb32-300e_coco.py       # ... or the config file
  assignscope run dumps/ultralytics-r0-p123-one2one-s00000200                     # no -a: what the hook recorded
  assignscope run DUMP -a dynamic-soft-label --set topk=5 --format json -o result.json
  assignscope run DUMP -a dynamic-soft-label --format json --include candidates | jq '.images[0].gts'
  assignscope run DUMP -a dynamic-soft-label --format npy -o DUMP/expected/mine   # check later with `assignscope check DUMP`
  assignscope run DUMP -a task-aligned --format csv -o gts.csv                   # per-GT statistics for pandas
  assignscope run 'dumps/*' -a simota --threads 2 --format table                 # many dumps: one batch, all cores
  assignscope run DUMP -a simota -o assignment.svg                               # a picture: GT boxes, positives per pyramid level

DUMP is a directory of <field>.npy files (+ meta.json), an .npz, a .json, or a directory of
one-image dumps (a batch); see docs/format.md. Several DUMPs (or a quoted glob) are replayed as
one batch whose statistics aggregate across them. Exit codes: 0 ok, 2 bad usage or input, 3 internal error.)EX";

std::string infer_format(const std::string& output) {
  if (output.empty()) return stdout_is_terminal() ? "table" : "json";
  const auto ends_with = [&](const char* ext) {
    const std::string e(ext);
    return output.size() >= e.size() && output.compare(output.size() - e.size(), e.size(), e) == 0;
  };
  if (ends_with(".json")) return "json";
  if (ends_with(".txt")) return "table";
  if (ends_with(".csv")) return "csv";
  if (ends_with(".svg")) return "svg";
  return "npy";
}

}  // namespace

int run_command(int argc, char** argv) {
  CLI::App app{"Replay an assigner on a dump and show the matching.", "assignscope run"};
  std::string assigner_name, preset, config, format, output, include;
  std::vector<std::string> dump_paths, sets;
  bool force = false, allow_nonfinite = false;
  int threads = 0;
  app.add_option("dump", dump_paths,
                 "the dump(s): directory, .npz, .json, a directory of one-image dumps, or a glob; several are one batch")
      ->required();
  app.add_option("-a,--assigner", assigner_name,
                 "assigner[.flavour][+preset], an alias (rtmdet, yolox, yolov8, yolo26, detr) or a reference class "
                 "name (see `assignscope list`); default: what the dump's meta.json records");
  app.add_option("--preset", preset, "a named setting of the assigner from a real config (yolo26-o2o, v8.4, rpn, ...)");
  app.add_option("--config", config,
                 "the assigner's framework config as written: \"dict(type='DynamicSoftLabelAssigner', topk=13)\", "
                 "\"TaskAlignedAssigner(topk=10, alpha=0.5, beta=6.0)\", JSON, or a config file");
  app.add_option("--set", sets, "NAME=VALUE: override a parameter (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("-f,--format", format,
                 "table | json | csv | npy | svg (default: table on a terminal, json otherwise; with -o, from its extension)")
      ->check(CLI::IsMember({"table", "json", "csv", "npy", "svg"}));
  app.add_option("-o,--output", output, "write here instead of stdout (a directory for --format npy)");
  app.add_option("--include", include, "json extras, comma-separated: priors (per-prior arrays), candidates");
  app.add_option("-j,--threads", threads, "images replayed at once (default 0: one per core)")
      ->check(CLI::Range(0, 1024));
  app.add_flag("--force", force, "replace an existing output");
  app.add_flag("--allow-nonfinite", allow_nonfinite, "replay inputs that hold NaN or Inf instead of refusing them");
  app.footer(kRunExamples);
  if (const auto done = parse_flags(app, argc, argv, "run")) return *done;

  if (format.empty()) format = infer_format(output);
  if (format == "npy" && output.empty()) return fail("run", "--format npy needs -o DIR", 2);
  if (format == "svg" && output.empty() && stdout_is_terminal())
    return fail("run", "--format svg writes a picture: give -o FILE.svg, or pipe it", 2);
  render::JsonOptions json_options;
  if (!include.empty()) {
    if (format != "json") return fail("run", "--include applies to --format json", 2);
    for (const std::string& item : CLI::detail::split(include, ',')) {
      if (item == "priors") json_options.per_prior = true;
      else if (item == "candidates") json_options.candidates = true;
      else return fail("run", fmt::format("--include {}: expected priors and/or candidates", item), 2);
    }
  }

  io::LoadOptions load_options;
  load_options.allow_nonfinite = allow_nonfinite;
  auto dump = io::load_dumps(dump_paths, load_options);
  if (!dump.ok()) return fail("run", dump.status().message(), exit_code(dump.status()));
  for (const std::string& w : dump->warnings)
    std::fprintf(stderr, "assignscope run: warning: %s\n", printable(w, SIZE_MAX, true).c_str());
  auto selected = select_assigner({assigner_name, preset, config, sets}, &dump->batch);
  if (!selected.ok()) return fail("run", selected.status().message(), 2);
  print_selection_notes("run", *selected);
  const assign::AssignerInfo* info = selected->info;
  const Params& params = selected->params;

  assign::BatchOptions batch_options;
  batch_options.threads = threads;
  ProgressLine progress("run", dump->batch.images.size());
  batch_options.progress = progress.callback();
  auto results = assign::assign_batch(*info, params, dump->batch, batch_options);
  progress.finish();
  if (!results.ok()) return fail("run", results.status().message(), exit_code(results.status()));
  print_replay_warnings("run", dump->batch, *results);

  Status written;
  if (format == "npy") {
    // The dumps as replayed (a glob's matches), recorded relative to DIR.
    auto replayed = io::expand_paths(dump_paths);
    if (!replayed.ok()) return fail("run", replayed.status().message(), exit_code(replayed.status()));
    auto files = render::npy_layout(dump->batch, *results, info->reference, {*replayed, output});
    if (!files.ok()) return fail("run", files.status().message(), exit_code(files.status()));
    written = io::write_directory_atomic(output, *files, force);
  } else {
    const std::string text = format == "json"  ? render::json(dump->batch, *results, json_options).dump(1) + "\n"
                             : format == "csv" ? render::csv(dump->batch, *results)
                             : format == "svg" ? render::svg(dump->batch, *results)
                                               : render::table(dump->batch, *results);
    if (output.empty()) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      return std::fflush(stdout) == 0 ? 0 : fail("run", "cannot write to stdout", 2);
    }
    written = io::write_file_atomic(output, text, force);
  }
  if (!written.ok()) return fail("run", written.message(), exit_code(written));
  return 0;
}

}  // namespace assignscope::cli
