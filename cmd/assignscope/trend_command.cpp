// `assignscope trend`: assignment through training. Every dump is read,
// replayed and reduced to counts on its own (bounded memory for any number
// of dumps), grouped by training step (analysis/trend.h); `--shard I/N`
// does every N-th dump and writes a partial that `assignscope merge`
// (merge_command.cpp) adds up to the bytes of a single-process run.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "analysis/stats.h"
#include "analysis/trend.h"
#include "assign/assigner.h"
#include "commands.h"
#include "core/number.h"
#include "core/parallel.h"
#include "io/dump.h"
#include "io/files.h"
#include "loss/loss.h"
#include "render/render.h"
#include "render/trend.h"

namespace assignscope::cli {
namespace {

constexpr const char* kTrendExamples = R"EX(examples:
  assignscope trend testdata/trend-series -a dynamic-soft-label                 # the bundled series: the cold start
  assignscope trend 'dumps/step-*' --loss rtmdet                                # no -a: what the hooks recorded; with the head's loss
  assignscope trend dumps -a simota -o trend.csv                                # one row per step x group (all, COCO size, size/stride, level)
  assignscope trend dumps -a simota -o trend.svg                                # line charts
  assignscope trend dumps -a simota -o trend.html                               # one offline page: tables and charts
  assignscope trend dumps -a simota --shard 3/8 -o part-3.json                  # shard 3 of 8: a partial for `assignscope merge`
  assignscope merge part-*.json -o trend.json                                   # the same bytes as one process over all dumps

DUMPS are dumps, globs, or directories of them (step-000500/<image>/ ...: every dump below, up
to 4 levels down), read one at a time. A dump's step is its meta.json "step" (written by
tools/python/assignscope_hooks.py), else the last number named in its path (step-000500,
iter_2000); --by epoch groups by meta.json "epoch" (or epoch_12/). Dumps that record an
"image_id" have their first GTs followed across steps. A dump that cannot be read or replayed
is reported (a line each) and left out, the rest counted, and the exit code is 2. --shard I/N
takes every N-th dump from the I-th (0-based) of the whole listing, so N shards over the same
arguments cover every dump once; docs/sharding.md runs them as a Slurm job array.
Exit codes: 0 ok, 2 bad usage or input, 3 internal error.)EX";

const OutputFormats kTrendOutputs = {
    {{".json", "json"}, {".txt", "table"}, {".csv", "csv"}, {".svg", "svg"}, {".html", "html"}}, "", ""};

struct TrendFlags {
  std::vector<std::string> dump_paths, sets;
  std::string assigner_name, preset, config, format, output, loss_head, by = "step", shard;
  bool force = false, allow_nonfinite = false, fail_fast = false;
  int threads = 0;
};

// FNV-1a 64 of the whole listing: shards of different listings do not merge.
std::string listing_fingerprint(const std::vector<std::string>& units) {
  uint64_t h = 1469598103934665603ull;
  for (const std::string& u : units) {
    for (unsigned char c : u) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xffu) * 1099511628211ull;  // a separator no path holds
  }
  return fmt::format("{:016x}", h);
}

// One dump: read, replayed, reduced into `out`. Invalid input for a dump
// whose recorded assigner is not the one replayed (without -a).
Status add_dump(const std::string& path, const TrendFlags& f, const AssignerSelection& selection,
                const std::string& recorded, const loss::LossChoice& head, analysis::Trend* out) {
  io::LoadOptions options;
  options.allow_nonfinite = f.allow_nonfinite;
  ASSIGNSCOPE_ASSIGN_OR_RETURN(io::LoadedDump dump, io::load_dump(path, options));
  Batch& batch = dump.batch;
  if (!recorded.empty())
    for (const Problem& p : batch.images)
      if (p.meta.assigner + p.meta.assigner_params != recorded)
        return Status::InvalidInput(
            fmt::format("{}: records assigner {}{}; the trend replays what the first dump records; name one with -a",
                        path, p.meta.assigner.empty() ? "(none)" : p.meta.assigner,
                        p.meta.assigner_params.empty() ? "" : " " + p.meta.assigner_params));
  std::vector<int64_t> steps;
  for (const Problem& p : batch.images) {
    ASSIGNSCOPE_ASSIGN_OR_RETURN(int64_t step, analysis::training_step(p.meta, path, f.by));
    steps.push_back(step);
  }
  assign::BatchOptions one_thread;
  ASSIGNSCOPE_ASSIGN_OR_RETURN(std::vector<Assignment> results,
                               assign::assign_batch(*selection.info, selection.params, batch, one_thread));
  out->dumps += 1;
  for (size_t i = 0; i < batch.images.size(); ++i) {
    Problem& p = batch.images[i];
    const analysis::ImageStats stats = analysis::compute_stats(p, results[i]);
    const std::string source = batch.is_batch ? path + "/" + (p.name.empty() ? std::to_string(i) : p.name) : path;
    std::vector<double> components;
    if (head.info) {  // the head's loss over this image alone
      Batch one;
      one.source = source;
      one.gt_columns = p.num_gts();
      one.images.push_back(p);
      const std::vector<Assignment> assignment{results[i]};
      loss::LossSettings settings;
      settings.params = head.params;
      settings.assignments = &assignment;
      settings.assigner = selection.info->name;
      ASSIGNSCOPE_ASSIGN_OR_RETURN(loss::LossResult r, loss::compute_loss(*head.info, one, settings));
      if (out->loss_components.empty()) out->loss_components = r.components;
      components = r.total;
    }
    analysis::add_image(out, steps[i], p.meta.image_id, source, p, results[i], stats,
                        head.info ? &components : nullptr);
  }
  return Status();
}

}  // namespace

Status write_trend(const std::string& format, const std::string& output, bool force, const render::TrendRun& run,
                   const analysis::Trend& trend) {
  std::string text;
  if (format == "json") text = render::json_text(render::trend_json(run, trend)) + "\n";
  else if (format == "csv") text = render::trend_csv(run, trend);
  else if (format == "svg") text = render::trend_svg(run, trend);
  else if (format == "html") text = render::trend_html(run, trend);
  else text = render::trend_table(run, trend);
  return io::write_file_atomic(output_is_stdout(output) ? "-" : output, text, force);
}

int trend_command(int argc, char** argv) {
  CLI::App app{"Assignment through training: per training step, how the assigner treated the GTs of the dumps.",
               "assignscope trend"};
  TrendFlags f;
  app.add_option("dump", f.dump_paths, "dumps, globs or directories of dumps (read one at a time)")->required();
  app.add_option("-a,--assigner", f.assigner_name,
                 "assigner[.flavour][+preset], an alias or a reference class name (as run's -a); default: what the "
                 "dumps' meta.json records");
  app.add_option("--preset", f.preset, "a named setting of the assigner (assignscope list NAME)");
  app.add_option("--config", f.config, "the assigner as a framework config, or a config file");
  app.add_option("--set", f.sets, "NAME=VALUE: override a parameter (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--loss", f.loss_head,
                 "HEAD: also the loss that head computes under the assignment, each image on its own (rtmdet, yolox, "
                 "ultralytics); the mean per image of each component");
  app.add_option("--by", f.by, "what groups the dumps: step (meta.json \"step\", default) or epoch");
  app.add_option(
      "-f,--format", f.format,
      "table | csv | json | svg | html | partial (default: table on a terminal, json otherwise; with -o, from its "
      "extension; with --shard, partial)");
  app.add_option("-o,--output", f.output, "write here instead of stdout (- is stdout)");
  app.add_option("--shard", f.shard, "I/N: only every N-th dump from the I-th (0-based): a partial for merge");
  app.add_option("-j,--threads", f.threads, "dumps replayed at once (default 0: one per core)")
      ->check(CLI::Range(0, 1024));
  app.add_flag("--force", f.force, "replace an existing output");
  app.add_flag("--fail-fast", f.fail_fast, "stop at the first dump that fails and write nothing");
  app.add_flag("--allow-nonfinite", f.allow_nonfinite, "replay inputs that hold NaN or Inf instead of refusing them");
  app.footer(kTrendExamples);
  if (const auto done = parse_flags(app, argc, argv, "trend")) return *done;

  // Flags.
  if (const Status st = check_choice("--by", f.by, {"step", "epoch"}); !st.ok()) return fail("trend", st.message(), 2);
  Shard shard;
  if (!f.shard.empty()) {
    auto parsed = parse_shard(f.shard);
    if (!parsed.ok()) return fail("trend", parsed.status().message(), 2);
    shard = *parsed;
  }
  if (f.format.empty()) {
    if (!f.shard.empty()) f.format = "partial";
    else {
      auto fmt_ = format_for_output(f.output, kTrendOutputs);
      if (!fmt_.ok()) return fail("trend", fmt_.status().message(), 2);
      f.format = *fmt_;
    }
  }
  if (const Status st = check_choice("--format", f.format, {"table", "csv", "json", "svg", "html", "partial"});
      !st.ok())
    return fail("trend", st.message(), 2);
  loss::LossChoice head;
  if (!f.loss_head.empty()) {
    auto chosen = loss::choose_loss(f.loss_head);
    if (!chosen.ok()) return fail("trend", "--loss: " + chosen.status().message(), 2);
    head = *chosen;
  }
  std::error_code ec;  // before the long part; devices and pipes (/dev/null) are written in place
  if (!output_is_stdout(f.output) && !f.force &&
      (std::filesystem::is_regular_file(f.output, ec) || std::filesystem::is_directory(f.output, ec)))
    return fail("trend", f.output + ": exists; not overwriting it (pass --force to replace it)", 2);

  // The dumps, and this shard's among them.
  auto listed = io::dump_units(f.dump_paths);
  if (!listed.ok()) return fail("trend", listed.status().message(), exit_code(listed.status()));
  const std::vector<std::string>& all = *listed;
  if (all.empty()) return fail("trend", "no dump given", 2);
  const std::vector<std::string> units = shard_of(all, shard);

  // The assigner: named, or what the first dump of the whole listing records
  // (the same for every shard).
  std::string recorded;
  Result<AssignerSelection> selection = Status::Internal("unset");
  if (f.assigner_name.empty() && f.config.empty() && f.preset.empty()) {
    io::LoadOptions options;
    options.allow_nonfinite = f.allow_nonfinite;
    auto first = io::load_dump(all[0], options);
    if (!first.ok()) return fail("trend", first.status().message(), exit_code(first.status()));
    selection = select_assigner({f.assigner_name, f.preset, f.config, f.sets}, &first->batch);
    if (selection.ok())
      recorded = first->batch.images.empty()
                     ? ""
                     : first->batch.images[0].meta.assigner + first->batch.images[0].meta.assigner_params;
  } else {
    selection = select_assigner({f.assigner_name, f.preset, f.config, f.sets}, nullptr);
  }
  if (!selection.ok()) return fail("trend", selection.status().message(), 2);
  print_selection_notes("trend", *selection);

  // Every dump on its own, reduced into the total under a lock: the sums are
  // exact, so the order does not matter.
  analysis::Trend total;
  total.by = f.by;
  std::mutex lock;
  std::vector<std::pair<size_t, Status>> failures;
  std::atomic<bool> stop{false};
  {
    ProgressLine progress("trend", units.size(), "dump");
    const auto report = progress.callback();
    parallel_for(
        units.size(), f.threads,
        [&](size_t i) {
          if (stop) return;
          analysis::Trend one;
          one.by = f.by;
          const Status st = add_dump(units[i], f, *selection, recorded, head, &one);
          std::lock_guard<std::mutex> hold(lock);
          if (!st.ok()) {
            failures.emplace_back(i, st);
            if (f.fail_fast) stop = true;
            return;
          }
          if (total.loss_components.empty()) total.loss_components = one.loss_components;
          total.add(one);
        },
        [&](size_t done) {
          if (report) report(static_cast<int64_t>(done), static_cast<int64_t>(units.size()));
        });
    progress.finish();
  }
  std::sort(failures.begin(), failures.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  int code = 0;
  for (size_t k = 0; k < failures.size(); ++k) {
    code = std::max(code, exit_code(failures[k].second));
    if (k < 10)
      std::fprintf(stderr, "assignscope trend: error: %s\n",
                   render::for_terminal(failures[k].second.message()).c_str());
  }
  if (failures.size() > 10)
    std::fprintf(stderr, "assignscope trend: ... and %zu more dumps failed\n", failures.size() - 10);
  if (!failures.empty() && (f.fail_fast || failures.size() == units.size()))
    return fail("trend",
                failures.size() == units.size() ? "no dump could be replayed; nothing written"
                                                : "--fail-fast: stopped at a dump that failed; nothing written",
                std::max(code, 2));
  total.failed = static_cast<int64_t>(failures.size());

  render::TrendRun run{selection->label, selection->params.to_json(), head.label};
  Status written;
  if (f.format == "partial") {
    nlohmann::ordered_json out;
    out["schema"] = "assignscope.trend-partial/1";
    out["run"] = {{"assigner", run.assigner},
                  {"params", run.params},
                  {"loss", run.loss},
                  {"shard", {{"index", shard.index}, {"count", shard.count}}},
                  {"listing", {{"dumps", all.size()}, {"fingerprint", listing_fingerprint(all)}}}};
    out["trend"] = analysis::to_partial_json(total);
    written =
        io::write_file_atomic(output_is_stdout(f.output) ? "-" : f.output, render::json_text(out) + "\n", f.force);
  } else {
    written = write_trend(f.format, f.output, f.force, run, total);
  }
  if (!written.ok()) return fail("trend", written.message(), exit_code(written));
  if (!failures.empty())
    return fail("trend",
                fmt::format("{} of {} dumps failed (above) and were left out; the output counts the other {}",
                            failures.size(), units.size(), units.size() - failures.size()),
                std::max(code, 2));
  return 0;
}

}  // namespace assignscope::cli
