// `assignscope check`: replay stored results and compare them.
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "analysis/check.h"
#include "commands.h"

namespace assignscope::cli {
namespace {

constexpr const char* kCheckExamples = R"(examples:
  assignscope check ../shared/golden/coco640-late-g40      # one case: every expected/<label>/
  assignscope check ../shared/golden testdata/golden      # every case under these directories
  assignscope check DUMP --tolerance 1e-4                  # looser float tolerance
  assignscope check OUTDIR                                 # a result written by `run --format npy -o OUTDIR`

A case is a dump with an expected/<label>/ folder per stored result; each result's params.json names the
assigner and parameters to replay. Integer files must match exactly; floats within
|a - b| <= ABS + REL * |b| (default REL 1e-5, ABS 1e-6; OTA transport plans REL 1e-3; the sentinels
0, -1, -1e5, -1e8 exactly).
Exit codes: 0 all compared results match, 1 some differ, 2 bad usage or input.)";

}  // namespace

int check_command(int argc, char** argv) {
  CLI::App app{"Replay stored results and compare them with the stored values.", "assignscope check"};
  std::vector<std::string> paths;
  std::string tolerance;
  bool quiet = false, allow_nonfinite = false;
  app.add_option("paths", paths, "case directories, result directories, or directories holding them")
      ->required();
  app.add_option("--tolerance", tolerance,
                 "REL[,ABS]: one float tolerance for every file (default per file: 1e-5,1e-6; transport plans 1e-3,1e-6)");
  app.add_flag("-q,--quiet", quiet, "print only results that do not match, and the summary");
  app.add_flag("--allow-nonfinite", allow_nonfinite, "replay inputs that hold NaN or Inf");
  app.footer(kCheckExamples);
  if (const auto done = parse_flags(app, argc, argv, "check")) return *done;

  analysis::CheckOptions options;
  options.allow_nonfinite = allow_nonfinite;
  if (!tolerance.empty()) {
    const auto parts = CLI::detail::split(tolerance, ',');
    try {
      size_t used = 0;
      analysis::Tolerance t;
      t.rtol = std::stod(parts[0], &used);
      if (used != parts[0].size()) throw std::invalid_argument(parts[0]);
      if (parts.size() == 2) {
        t.atol = std::stod(parts[1], &used);
        if (used != parts[1].size()) throw std::invalid_argument(parts[1]);
      }
      if (parts.size() > 2 || !(t.rtol >= 0) || !(t.atol >= 0)) throw std::invalid_argument(tolerance);
      options.tolerance = t;
    } catch (const std::exception&) {
      return fail("check", fmt::format("--tolerance {}: expected REL or REL,ABS, non-negative numbers", tolerance), 2);
    }
  }

  auto found = analysis::find_checkable(paths);
  if (!found.ok()) return fail("check", found.status().message(), exit_code(found.status()));
  std::vector<analysis::ResultCheck> all;
  for (const std::string& path : *found) {
    auto results = analysis::check_path(path, options);
    if (!results.ok()) return fail("check", results.status().message(), exit_code(results.status()));
    for (analysis::ResultCheck& r : *results) {
      if (!quiet || r.verdict == analysis::Verdict::kDiffer || r.verdict == analysis::Verdict::kError) {
        std::string line = fmt::format("{:<6} {} {}", analysis::verdict_name(r.verdict), r.case_name, r.label);
        if (r.verdict == analysis::Verdict::kMatch) {
          line += fmt::format(" ({} image{}, {} positives", r.images, r.images == 1 ? "" : "s", r.positives);
          for (const analysis::FileCheck& f : r.files)
            if (!f.compared) line += fmt::format("; {} not compared", f.file);
          line += ")";
        } else {
          line += ": " + r.detail;
        }
        std::printf("%s\n", line.c_str());
      }
      all.push_back(std::move(r));
    }
  }
  const analysis::CheckTotals t = analysis::totals(all);
  std::string skipped;
  for (const std::string& a : t.skipped_assigners) skipped += (skipped.empty() ? "" : ", ") + a;
  std::printf("checked %zu results in %zu case%s: %lld match, %lld differ, %lld errors, %lld skipped%s\n",
              all.size(), found->size(), found->size() == 1 ? "" : "s", static_cast<long long>(t.match), static_cast<long long>(t.differ),
              static_cast<long long>(t.errors), static_cast<long long>(t.skipped),
              skipped.empty() ? "" : (" (not in assignscope yet: " + skipped + ")").c_str());
  std::fflush(stdout);
  if (t.errors) return 2;
  return t.differ ? 1 : 0;
}

}  // namespace assignscope::cli
