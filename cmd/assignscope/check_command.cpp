// `assignscope check`: replay stored results and compare them.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "analysis/check.h"
#include "commands.h"
#include "core/number.h"
#include "core/parallel.h"
#include "core/text.h"

namespace assignscope::cli {
namespace {

constexpr const char* kCheckExamples = R"(examples:
  assignscope check ../shared/golden/coco640-late-g40      # one case: every expected/<label>/
  assignscope check testdata                               # every case below, at any depth
  assignscope check ../shared/golden --allow-skipped       # the corpus holds results of pending families
  assignscope check DUMP --tolerance 1e-4                  # looser float tolerance for every float file
  assignscope check DUMP --tolerance max_overlaps=1e-4,1e-6 --tolerance assign_metrics=1e-3
  assignscope check OUTDIR                                 # a result written by `run --format npy -o OUTDIR`
  assignscope check my-suite/ --update                     # accept the replays: rewrite the differing results

A case is a dump with an expected/<label>/ folder per stored result; each result's params.json names the
assigner and parameters to replay (a result directory of its own also the dumps, relative to itself).
Integer files must match exactly; floats within |a - b| <= ABS + REL * |b| (default REL 1e-5, ABS 1e-6;
OTA transport plans REL 1e-3; the sentinels 0, -1, -1e5, -1e8 exactly).
The last line starts PASS or FAIL and says what was compared. Exit codes: 0 results were compared and all
match (or were updated), 1 some differ, 2 bad usage or input, a result that cannot be replayed, a skipped
result (an assigner assignscope does not have) without --allow-skipped, or nothing compared.)";

// Parses one --tolerance: "REL", "REL,ABS", or "FILE=REL[,ABS]" (FILE with
// or without .npy). False when malformed.
bool parse_tolerance(const std::string& text, analysis::CheckOptions* options) {
  const size_t eq = text.find('=');
  std::string file, rule = text;
  if (eq != std::string::npos) {
    file = text.substr(0, eq);
    rule = text.substr(eq + 1);
    if (file.empty()) return false;
    if (file.size() < 4 || file.compare(file.size() - 4, 4, ".npy") != 0) file += ".npy";
  }
  const auto parts = CLI::detail::split(rule, ',');
  if (parts.empty() || parts.size() > 2) return false;
  analysis::Tolerance t;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::optional<double> v = parse_double(parts[i], NumberCheck::kFiniteInRange);
    if (!v || !(*v >= 0)) return false;
    (i == 0 ? t.rtol : t.atol) = *v;
  }
  if (file.empty()) options->tolerance = t;
  else options->file_tolerance[file] = t;
  return true;
}

}  // namespace

int check_command(int argc, char** argv) {
  CLI::App app{"Replay stored results and compare them with the stored values.", "assignscope check"};
  std::vector<std::string> paths, tolerances;
  bool quiet = false, allow_nonfinite = false, update = false, allow_skipped = false;
  int threads = 0;
  app.add_option("paths", paths, "case directories, result directories, or directories holding them (at any depth)")
      ->required();
  app.add_option("--tolerance", tolerances,
                 "REL[,ABS] for every float file, or FILE=REL[,ABS] for one (repeatable; default 1e-5,1e-6, "
                 "transport plans 1e-3,1e-6)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_flag("--update", update,
               "rewrite the stored files of differing results with the replay (each result "
               "all or nothing)");
  app.add_flag("--allow-skipped", allow_skipped,
               "pass although some results were skipped (an assigner or head loss assignscope does not have)");
  app.add_option("-j,--threads", threads, "cases checked at once (default 0: one per core)")
      ->check(CLI::Range(0, 1024));
  app.add_flag("-q,--quiet", quiet, "print only results that do not match, and the summary");
  app.add_flag("--allow-nonfinite", allow_nonfinite, "replay inputs that hold NaN or Inf");
  app.footer(kCheckExamples);
  if (const auto done = parse_flags(app, argc, argv, "check")) return *done;

  analysis::CheckOptions options;
  options.allow_nonfinite = allow_nonfinite;
  options.update = update;
  for (const std::string& t : tolerances)
    if (!parse_tolerance(t, &options))
      return fail("check",
                  fmt::format("--tolerance {}: expected REL, REL,ABS or FILE=REL[,ABS], non-negative numbers", t), 2);

  auto search = analysis::search_suite(paths);
  if (!search.ok()) return fail("check", search.status().message(), exit_code(search.status()));
  const std::vector<std::string>& found = search->checkable;
  // Cases are checked on all cores, printed in order.
  std::vector<Result<std::vector<analysis::ResultCheck>>> checked(found.size(),
                                                                  Status::Internal("check: case not checked"));
  {
    ProgressLine progress("check", found.size());
    const auto report = progress.callback();
    parallel_for(
        found.size(), threads, [&](size_t i) { checked[i] = analysis::check_path(found[i], options); },
        [&](size_t finished) {
          if (report) report(static_cast<int64_t>(finished), static_cast<int64_t>(found.size()));
        });
    progress.finish();
  }
  std::vector<analysis::ResultCheck> all;
  for (auto& results : checked) {
    if (!results.ok()) return fail("check", results.status().message(), exit_code(results.status()));
    for (analysis::ResultCheck& r : *results) {
      const bool bad = r.verdict == analysis::Verdict::kDiffer || r.verdict == analysis::Verdict::kError ||
                       (r.verdict == analysis::Verdict::kSkipped && !allow_skipped);
      if (!quiet || bad || r.verdict == analysis::Verdict::kUpdated) {
        std::string replayed;  // a result directory's dumps: say which were replayed
        if (r.from_params && !r.dumps.empty()) {
          replayed = "replayed ";
          const size_t shown = r.dumps.size() > 4 ? 3 : r.dumps.size();  // a long list: the first 3
          for (size_t i = 0; i < shown; ++i) replayed += (i ? ", " : "") + r.dumps[i];
          if (shown < r.dumps.size()) replayed += fmt::format(" and {} more", r.dumps.size() - shown);
        }
        std::string line = fmt::format("{:<6} {} {}", analysis::verdict_name(r.verdict), r.case_name, r.label);
        if (r.verdict == analysis::Verdict::kMatch) {
          line += fmt::format(" ({} image{}, {} positives", r.images, r.images == 1 ? "" : "s", r.positives);
          for (const analysis::FileCheck& f : r.files)
            if (!f.compared) line += fmt::format("; {} not compared", f.file);
          if (!replayed.empty()) line += "; " + replayed;
          line += ")";
        } else {
          line += ": " + r.detail;
          if (!replayed.empty() && r.verdict != analysis::Verdict::kSkipped) line += " (" + replayed + ")";
        }
        std::printf("%s\n", printable(line, SIZE_MAX, true).c_str());
      }
      all.push_back(std::move(r));
    }
  }
  const analysis::CheckTotals t = analysis::totals(all);
  const std::string summary = analysis::summary_line(t, static_cast<int64_t>(found.size()), *search, allow_skipped);
  std::printf("%s\n", printable(summary, SIZE_MAX, true).c_str());
  std::fflush(stdout);
  return analysis::run_verdict(t, allow_skipped).exit_code;
}

}  // namespace assignscope::cli
