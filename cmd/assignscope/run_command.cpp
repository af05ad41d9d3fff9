// `assignscope run`: replay one assigner on a dump and show the result.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "assign/assigner.h"
#include "commands.h"
#include "core/parallel.h"
#include "io/dump.h"
#include "io/files.h"
#include "io/result_layout.h"
#include "loss/loss.h"
#include "render/loss.h"
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
  assignscope run 'dumps/*' -a simota -o gts.csv                                 # a bad dump is reported, the rest written (exit 2)
  assignscope run DUMP -a simota -o assignment.svg                               # a picture: GT boxes, positives per pyramid level
  assignscope run DUMP -a simota -o gt11.svg --gt 11                             # zoomed on GT 11: its grid, candidates, lost priors
  assignscope run 'dumps/*' -a simota -o one.svg --image 2 --region 0,0,320,320  # one image of a batch, one region
  assignscope run DUMP -a simota --loss rtmdet                                   # RTMDet's loss under SimOTA's assignment
  assignscope run DUMP --loss yolox --format npy -o OUT                          # the head's own assigner; `check OUT` replays it
  assignscope run 'dumps/*' -a simota --shard 3/8 -o gts-3.csv                   # every 8th dump from the 4th: one array task's share

DUMP is a directory of <field>.npy files (+ meta.json), an .npz, a .json, or a directory of
one-image dumps (a batch); see docs/format.md. Several DUMPs (or a quoted glob) are replayed as
one batch whose statistics aggregate across them; one that cannot be read or replayed is reported
(a line each) and left out, the rest written, and the exit code is 2 (--fail-fast: stop at the first,
write nothing). Exit codes: 0 ok, 2 bad usage or input, 3 internal error.)EX";

const OutputFormats kRunOutputs = {{{".json", "json"}, {".txt", "table"}, {".csv", "csv"}, {".svg", "svg"}}, "npy", ""};

// What keep-going mode could not do: one line each, printed as it happens.
struct Failures {
  int count = 0;   // dumps (or members of a directory of dumps) and images left out
  int unread = 0;  // of which dumps that could not be read
  int code = 0;    // the highest exit code among them
  void add(const Status& st, bool read) {
    fail("run", st.message(), exit_code(st));
    ++count;
    if (read) ++unread;
    code = std::max(code, exit_code(st));
  }
  // "1 dump could not be read", "2 dumps could not be read and 1 image could not be replayed".
  std::string summary() const {
    const int replayed = count - unread;
    std::string out;
    if (unread > 0) out = fmt::format("{} dump{} could not be read", unread, unread == 1 ? "" : "s");
    if (replayed > 0)
      out += fmt::format("{}{} image{} could not be replayed", out.empty() ? "" : " and ", replayed,
                         replayed == 1 ? "" : "s");
    return out;
  }
};

// --keep-going: every dump read on its own (a directory of dumps member by
// member), one that fails reported and left out. The batch is named as
// io::load_dumps names it when nothing fails.
// Most candidate pairs `--include candidates` renders: ~270 MB of JSON objects.
constexpr size_t kMaxJsonCandidates = size_t{1} << 18;

io::LoadedDump load_each(const std::vector<std::string>& patterns, const io::LoadOptions& options, Failures* failures,
                         int* dumps) {
  std::vector<std::string> paths;
  for (const std::string& pattern : patterns) {
    auto expanded = io::expand_paths({pattern});
    if (!expanded.ok()) failures->add(expanded.status(), true);
    else paths.insert(paths.end(), expanded->begin(), expanded->end());
  }
  io::LoadedDump out;
  const bool several = paths.size() + static_cast<size_t>(failures->count) > 1;
  out.batch.source = several         ? fmt::format("{} dumps", paths.size() + static_cast<size_t>(failures->count))
                     : paths.empty() ? ""
                                     : paths[0];
  out.batch.is_batch = several;
  const auto add = [&](io::LoadedDump one, const std::string& prefix) {
    for (Problem& p : one.batch.images) {
      if (!prefix.empty()) p.name = one.batch.is_batch ? prefix + "/" + (p.name.empty() ? "?" : p.name) : prefix;
      out.batch.images.push_back(std::move(p));
    }
    if (!several) {  // exactly load_dump's batch
      out.batch.source = one.batch.source;
      out.batch.is_batch = one.batch.is_batch;
      out.batch.gt_columns = one.batch.gt_columns;
    }
    for (std::string& w : one.warnings) out.warnings.push_back(std::move(w));
  };
  for (const std::string& path : paths) {
    ++*dumps;
    const std::vector<std::string> members = io::dump_dir_members(path);
    if (members.empty()) {
      auto one = io::load_dump(path, options);
      if (!one.ok()) failures->add(one.status(), true);
      else add(std::move(one).value(), several ? path : "");
      continue;
    }
    // A directory of one-image dumps, as io::load_dump reads it, a member at a time.
    io::LoadedDump dir;
    dir.batch.source = path;
    dir.batch.is_batch = true;
    for (const std::string& member : members) {
      auto one = io::load_dump(member, options);
      if (one.ok() && one->batch.is_batch)
        one = Status::InvalidInput(
            fmt::format("{}: is itself a batch; a directory of dumps must hold one-image dumps", member));
      if (!one.ok()) {
        failures->add(one.status(), true);
        continue;
      }
      Problem p = std::move(one->batch.images[0]);
      p.name = std::filesystem::path(member).filename().string();
      dir.batch.gt_columns = std::max(dir.batch.gt_columns, p.num_gts());
      dir.batch.images.push_back(std::move(p));
      for (std::string& w : one->warnings) dir.warnings.push_back(std::move(w));
    }
    add(std::move(dir), several ? path : "");
  }
  if (several)
    for (const Problem& p : out.batch.images) out.batch.gt_columns = std::max(out.batch.gt_columns, p.num_gts());
  return out;
}

// --keep-going: each image replayed on its own (as assign_batch replays
// them: the results are the same), one that cannot be replayed reported and
// dropped from the batch, its error in `errors`.
std::vector<Assignment> assign_each(const assign::AssignerInfo& info, const Params& params, Batch* batch,
                                    const assign::BatchOptions& options, std::vector<Status>* errors) {
  const size_t n = batch->images.size();
  std::vector<Result<std::vector<Assignment>>> replays(n, Status::Internal("not replayed"));
  parallel_for(
      n, options.threads,
      [&](size_t i) {
        Batch one;
        one.source = batch->source;
        one.is_batch = batch->is_batch;
        one.gt_columns = batch->gt_columns;
        one.images.push_back(std::move(batch->images[i]));
        assign::BatchOptions single;
        single.threads = 1;
        replays[i] = assign::assign_batch(info, params, one, single);
        batch->images[i] = std::move(one.images[0]);
      },
      [&](size_t finished) {
        if (options.progress) options.progress(static_cast<int64_t>(finished), static_cast<int64_t>(n));
      });
  std::vector<Assignment> results;
  std::vector<Problem> kept;
  for (size_t i = 0; i < n; ++i) {
    if (!replays[i].ok()) {
      errors->push_back(replays[i].status());
      continue;
    }
    results.push_back(std::move(replays[i]->front()));
    kept.push_back(std::move(batch->images[i]));
  }
  batch->images = std::move(kept);
  return results;
}

// Everything `run` reads from its command line, and what it settles from it.
struct RunFlags {
  std::string assigner_name, preset, config, format, output, include, csv_name, loss_head, shard;
  std::vector<std::string> dump_paths, sets;
  bool force = false, allow_nonfinite = false, keep_going = false, fail_fast = false;
  int threads = 0;
  render::CsvTable csv_table = render::CsvTable::kGts;  // from --csv
  render::JsonOptions json_options;                     // from --include
  SvgViewFlags svg_flags;                               // --gt, --region, --image
  render::SvgView svg_view;                             // from them
};

void add_run_flags(CLI::App& app, RunFlags& f) {
  app.add_option(
         "dump", f.dump_paths,
         "the dump(s): directory, .npz, .json, a directory of one-image dumps, or a glob; several are one batch")
      ->required();
  app.add_option("-a,--assigner", f.assigner_name,
                 "assigner[.flavour][+preset], an alias (rtmdet, yolox, yolov8, yolo26, detr) or a reference class "
                 "name (see `assignscope list`); default: what the dump's meta.json records");
  app.add_option("--preset", f.preset,
                 "a named setting of the assigner from a real config (yolo26-o2o, v8.4, rpn, ...)");
  app.add_option("--config", f.config,
                 "the assigner's framework config as written: \"dict(type='DynamicSoftLabelAssigner', topk=13)\", "
                 "\"TaskAlignedAssigner(topk=10, alpha=0.5, beta=6.0)\", JSON, or a config file");
  app.add_option("--set", f.sets, "NAME=VALUE: override a parameter (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("-f,--format", f.format,
                 "table | json | csv | npy | svg (default: table on a terminal, json otherwise; with -o, from its "
                 "extension: .json .txt .csv .svg, none: npy)");
  app.add_option("--csv", f.csv_name,
                 "which CSV: gts (one row per GT, the default), images (one row per image), positives (one row per "
                 "positive prior), lost (one row per GT and the GT that took its picks)");
  app.add_option("-o,--output", f.output, "write here instead of stdout (- is stdout; a directory for --format npy)");
  app.add_option("--include", f.include, "json extras, comma-separated: priors (per-prior arrays), candidates");
  app.add_option("-j,--threads", f.threads, "images replayed at once (default 0: one per core)")
      ->check(CLI::Range(0, 1024));
  app.add_option("--loss", f.loss_head,
                 "HEAD: the loss that head computes under the assignment (rtmdet, yolox, ultralytics); without -a, "
                 "under the head's own assigner. Per GT, per level and in total; npy: the golden loss files");
  app.add_option("--shard", f.shard,
                 "I/N: only every N-th dump of the whole listing (directories of dumps opened), from the I-th "
                 "(0-based): one task's part of an epoch (docs/sharding.md)");
  app.add_flag("--force", f.force, "replace an existing output");
  CLI::Option* keep_going_flag = app.add_flag(
      "-k,--keep-going", f.keep_going,
      "a dump or image that fails is reported and left out; the rest are replayed and written, exit 2 (the default "
      "with several dumps, a glob or a directory of dumps)");
  app.add_flag("--fail-fast", f.fail_fast,
               "stop at the first dump or image that fails and write nothing (the default for one dump)")
      ->excludes(keep_going_flag);
  app.add_flag("--allow-nonfinite", f.allow_nonfinite, "replay inputs that hold NaN or Inf instead of refusing them");
  add_svg_view_flags(app, f.svg_flags);
  app.footer(kRunExamples);
}

// The output format (-f, --csv, else -o's extension), the CSV table and the
// JSON extras, and what each format needs.
Status settle_run_flags(RunFlags& f) {
  if (!f.format.empty())
    ASSIGNSCOPE_RETURN_IF_ERROR(check_choice("--format", f.format, {"table", "json", "csv", "npy", "svg"}));
  if (!f.csv_name.empty()) {
    ASSIGNSCOPE_RETURN_IF_ERROR(check_choice("--csv", f.csv_name, render::csv_table_names()));
    f.csv_table = *render::csv_table(f.csv_name);
    if (f.format.empty() && output_is_stdout(f.output)) f.format = "csv";
  }
  if (f.format.empty()) {
    ASSIGNSCOPE_ASSIGN_OR_RETURN(f.format, format_for_output(f.output, kRunOutputs));
  }
  if (!f.csv_name.empty() && f.format != "csv")
    return Status::Usage(fmt::format("--csv {} applies to --format csv, and the output is {}", f.csv_name, f.format));
  if (f.format == "npy" && output_is_stdout(f.output))
    return Status::Usage("--format npy writes a directory of .npy files: give -o DIR");
  if (f.format == "svg" && output_is_stdout(f.output) && stdout_is_terminal())
    return Status::Usage("--format svg writes a picture: give -o FILE.svg, or pipe it");
  ASSIGNSCOPE_ASSIGN_OR_RETURN(f.svg_view, settle_svg_view(f.svg_flags, f.format));
  if (!f.loss_head.empty()) {
    if (auto head = loss::choose_loss(f.loss_head); !head.ok()) return head.status();
    if (f.format == "svg") return Status::Usage("--loss writes a table, json, csv or npy; not svg");
    if (!f.csv_name.empty()) return Status::Usage("--loss writes one CSV (a row per GT); --csv does not apply");
    if (!f.include.empty()) return Status::Usage("--include does not apply to --loss");
  }
  if (f.include.empty()) return Status();
  if (f.format != "json") return Status::Usage("--include applies to --format json");
  for (const std::string& item : CLI::detail::split(f.include, ',')) {
    if (item == "priors") f.json_options.per_prior = true;
    else if (item == "candidates") f.json_options.candidates = true;
    else return Status::Usage(fmt::format("--include {}: expected priors and/or candidates", item));
  }
  return Status();
}

// Reads the dumps into `loaded`: all or nothing, or (keep-going, the default
// for several dumps) each on its own with failures reported. An exit code
// when there is nothing to replay.
std::optional<int> load_run(RunFlags& f, io::LoadedDump* loaded, Failures* failures) {
  if (!f.shard.empty()) {  // this shard's dumps, each on its own
    auto shard = parse_shard(f.shard);
    if (!shard.ok()) return fail("run", shard.status().message(), 2);
    auto listing = io::dump_units(f.dump_paths);
    if (!listing.ok()) return fail("run", listing.status().message(), exit_code(listing.status()));
    f.dump_paths = shard_of(*listing, *shard);
    if (f.dump_paths.empty())
      return fail("run",
                  fmt::format("--shard {}: the listing has {} dump{}, none of them in shard {}", f.shard,
                              listing->size(), listing->size() == 1 ? "" : "s", shard->index),
                  2);
  }
  io::LoadOptions load_options;
  load_options.allow_nonfinite = f.allow_nonfinite;
  // Several dumps keep going by default: one bad dump does not discard the
  // good ones (reported, left out, exit 2 at the end).
  const bool several_dumps = f.dump_paths.size() > 1 || f.dump_paths[0].find_first_of("*?[") != std::string::npos ||
                             !io::dump_dir_members(f.dump_paths[0]).empty();
  if (!f.fail_fast && several_dumps) f.keep_going = true;
  int dumps = 0;
  if (f.keep_going) {
    *loaded = load_each(f.dump_paths, load_options, failures, &dumps);
    if (loaded->batch.images.empty() && failures->count > 0)
      return fail("run", "nothing left to replay: " + failures->summary() + " (above)", std::max(failures->code, 2));
  } else {
    auto dump = io::load_dumps(f.dump_paths, load_options);
    if (!dump.ok()) return fail("run", dump.status().message(), exit_code(dump.status()));
    *loaded = std::move(dump).value();
  }
  for (const std::string& w : loaded->warnings)
    std::fprintf(stderr, "assignscope run: warning: %s\n", render::for_terminal(w).c_str());
  return std::nullopt;
}

// Replays the batch into `results`, each image on its own unless --fail-fast
// (an image that fails is then reported and dropped). An exit code when no
// image could be replayed.
std::optional<int> replay_run(RunFlags& f, const AssignerSelection& selected, Batch& batch,
                              std::vector<Assignment>* results, Failures* failures) {
  assign::BatchOptions batch_options;
  batch_options.threads = f.threads;
  ProgressLine progress("run", batch.images.size());
  batch_options.progress = progress.callback();
  if (!f.fail_fast && batch.images.size() > 1) f.keep_going = true;  // a stacked batch's images, too
  if (f.keep_going) {
    std::vector<Status> errors;
    *results = assign_each(*selected.info, selected.params, &batch, batch_options, &errors);
    progress.finish();
    for (const Status& st : errors) failures->add(st, false);
    if (results->empty() && !errors.empty())
      return fail("run", "nothing left to write: no image could be replayed (above)", std::max(failures->code, 2));
  } else {
    auto replayed = assign::assign_batch(*selected.info, selected.params, batch, batch_options);
    progress.finish();
    if (!replayed.ok()) return fail("run", replayed.status().message(), exit_code(replayed.status()));
    *results = std::move(replayed).value();
  }
  print_replay_warnings("run", batch, *results);
  return std::nullopt;
}

// --include candidates renders every recorded pair as a JSON object (about
// 1 KB each in memory before the text is written): bounded like the inputs.
Status check_json_candidates(const std::vector<Assignment>& results) {
  size_t pairs = 0;
  for (const Assignment& a : results) pairs += a.candidates.size();
  if (pairs <= kMaxJsonCandidates) return Status();
  return Status::Usage(fmt::format(
      "--include candidates: the replay recorded {} candidate pairs, more than a JSON report holds ({}); pick the "
      "images that matter (one dump each), or use --csv positives",
      pairs, kMaxJsonCandidates));
}

// Writes the results in the chosen format: the exit code (2 when dumps or
// images were left out).
int write_run(const RunFlags& f, const assign::AssignerInfo& info, const Batch& batch,
              const std::vector<Assignment>& results, const Failures& failures) {
  Status written;
  if (f.format == "npy") {
    // A stored result is what `check` replays from the dumps it records:
    // one with dumps or images left out would not replay to itself.
    if (failures.count > 0)
      return fail("run",
                  fmt::format("--format npy stores a result for `check`, which replays every dump it names: {} "
                              "(above), so nothing was written; fix or drop them, or write json/csv",
                              failures.summary()),
                  std::max(failures.code, 2));
    // The dumps as replayed (a glob's matches), recorded relative to DIR.
    auto replayed_paths = io::expand_paths(f.dump_paths);
    if (!replayed_paths.ok()) return fail("run", replayed_paths.status().message(), exit_code(replayed_paths.status()));
    auto files = io::npy_layout(batch, results, info.reference, {*replayed_paths, f.output});
    if (!files.ok()) return fail("run", files.status().message(), exit_code(files.status()));
    written = io::write_directory_atomic(f.output, *files, f.force);
  } else {
    const std::string text = f.format == "json" ? render::json_text(render::json(batch, results, f.json_options)) + "\n"
                             : f.format == "csv" ? render::csv(batch, results, f.csv_table)
                             : f.format == "svg" ? render::svg(batch, results, f.svg_view)
                                                 : render::table(batch, results);
    written = io::write_file_atomic(f.output.empty() ? "-" : f.output, text, f.force);
  }
  if (!written.ok()) return fail("run", written.message(), exit_code(written));
  if (failures.count > 0)
    return fail("run",
                fmt::format("{} (above) and {} left out; the output holds the other {} image{}", failures.summary(),
                            failures.count == 1 ? "is" : "are", batch.images.size(),
                            batch.images.size() == 1 ? "" : "s"),
                std::max(failures.code, 2));
  return 0;
}

// --loss HEAD: the head's loss under `results` (nullptr: its own assigner),
// written in the chosen format; npy as the golden loss layout with a
// params.json that `check` replays. The exit code.
int write_loss(const RunFlags& f, const Batch& batch, const std::vector<Assignment>* results,
               const std::string& assigner, const Failures& failures) {
  const loss::LossChoice choice = *loss::choose_loss(f.loss_head);  // checked with the flags
  const loss::LossInfo* head = choice.info;
  loss::LossSettings settings;
  settings.params = choice.params;
  settings.assignments = results;
  settings.assigner = assigner;
  auto computed = loss::compute_loss(*head, batch, settings);
  if (!computed.ok()) return fail("run", computed.status().message(), exit_code(computed.status()));
  const loss::LossResult& r = *computed;
  for (const std::string& n : r.notes)
    std::fprintf(stderr, "assignscope run: note: %s\n", render::for_terminal(n).c_str());
  Status written;
  if (f.format == "npy") {
    if (failures.count > 0)
      return fail("run",
                  fmt::format("--format npy stores a result for `check`, which replays every dump it names: {} "
                              "(above), so nothing was written",
                              failures.summary()),
                  std::max(failures.code, 2));
    auto replayed_paths = io::expand_paths(f.dump_paths);
    if (!replayed_paths.ok()) return fail("run", replayed_paths.status().message(), exit_code(replayed_paths.status()));
    // params.json as run writes it for the assignment (the dumps relative to
    // DIR), then the loss's own keys.
    auto layout = io::npy_layout(batch, r.assignments, head->reference, {*replayed_paths, f.output});
    if (!layout.ok()) return fail("run", layout.status().message(), exit_code(layout.status()));
    nlohmann::ordered_json params;
    for (const io::NamedBytes& nb : *layout)
      if (nb.name == "params.json")
        params = nlohmann::ordered_json::parse(std::string(nb.bytes.begin(), nb.bytes.end()), nullptr, false);
    if (!params.is_object()) return fail("run", "internal: params.json of the layout is not an object", 3);
    params["loss"] = head->name;
    params["head"] = head->reference;
    params["assigner_params"] = params["params"];
    params["params"] = nlohmann::ordered_json(choice.params);  // the preset's ({"version": "8.4.52"}), else {}
    std::vector<io::NamedBytes> files = loss::npy_files(r);
    nlohmann::ordered_json names = nlohmann::ordered_json::array();
    for (const io::NamedBytes& nb : files) names.push_back(nb.name);
    params["files"] = names;
    const std::string text = params.dump(1) + "\n";
    files.push_back({"params.json", std::vector<unsigned char>(text.begin(), text.end())});
    written = io::write_directory_atomic(f.output, files, f.force);
  } else {
    const std::string text = f.format == "json"  ? render::json_text(render::loss_json(batch, r)) + "\n"
                             : f.format == "csv" ? render::loss_csv(batch, r)
                                                 : render::loss_table(batch, r);
    written = io::write_file_atomic(f.output.empty() ? "-" : f.output, text, f.force);
  }
  if (!written.ok()) return fail("run", written.message(), exit_code(written));
  if (failures.count > 0)
    return fail("run", fmt::format("{} (above) and left out", failures.summary()), std::max(failures.code, 2));
  return 0;
}

}  // namespace

int run_command(int argc, char** argv) {
  CLI::App app{"Replay an assigner on a dump and show the matching.", "assignscope run"};
  RunFlags flags;
  add_run_flags(app, flags);
  if (const auto done = parse_flags(app, argc, argv, "run")) return *done;
  if (const Status settled = settle_run_flags(flags); !settled.ok()) return fail("run", settled.message(), 2);

  Failures failures;
  io::LoadedDump loaded;
  if (const auto done = load_run(flags, &loaded, &failures)) return *done;
  Batch& batch = loaded.batch;
  if (!flags.loss_head.empty() && flags.assigner_name.empty() && flags.preset.empty() && flags.config.empty() &&
      flags.sets.empty())
    return write_loss(flags, batch, nullptr, "", failures);  // the head's own assigner
  auto selected = select_assigner({flags.assigner_name, flags.preset, flags.config, flags.sets}, &batch);
  if (!selected.ok()) return fail("run", selected.status().message(), 2);
  print_selection_notes("run", *selected);
  std::vector<Assignment> results;
  if (const auto done = replay_run(flags, *selected, batch, &results, &failures)) return *done;
  if (const Status view = render::check_svg_view(batch, flags.svg_view); !view.ok())
    return fail("run", view.message(), 2);
  if (flags.json_options.candidates)
    if (const Status bounded = check_json_candidates(results); !bounded.ok()) return fail("run", bounded.message(), 2);
  if (!flags.loss_head.empty()) return write_loss(flags, batch, &results, selected->info->name, failures);
  return write_run(flags, *selected->info, batch, results, failures);
}

}  // namespace assignscope::cli
