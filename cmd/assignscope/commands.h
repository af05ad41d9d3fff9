// The sub-commands of the assignscope tool. Each parses its own flags with
// CLI11, calls the library, prints, and returns an exit code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/assignment.h"
#include "core/params.h"
#include "core/problem.h"
#include "core/status.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI
namespace assignscope::assign {
struct AssignerInfo;
}
namespace assignscope::render {
struct SvgView;
struct TrendRun;
}  // namespace assignscope::render
namespace assignscope::analysis {
struct Trend;
}

namespace assignscope::cli {

int run_command(int argc, char** argv);
int check_command(int argc, char** argv);
int list_command(int argc, char** argv);
int diff_command(int argc, char** argv);
int bench_command(int argc, char** argv);
int report_command(int argc, char** argv);
int trend_command(int argc, char** argv);
int merge_command(int argc, char** argv);

// Shared helpers of the sub-commands.
bool stdout_is_terminal();
// Prints "assignscope <command>: error: <message>" to stderr, returns `code`.
int fail(const char* command, const std::string& message, int code);

// Prints each image's replay warnings (Assignment::warnings) as
// "assignscope <command>: warning: <source>[ image <name>][ (<side>)]: ...",
// at most 10 lines and a count of the rest.
void print_replay_warnings(const char* command, const Batch& batch, const std::vector<Assignment>& results,
                           const std::string& side = "");

// "assignscope <command>: 12/64 images · 8 s" on stderr, redrawn in place
// while the work lasts, when stderr is a terminal: after half a second, then
// five times a second, so a long single image shows its elapsed time, and
// the step a long loop inside the replay reports (core/progress.h: "·
// Sinkhorn iteration 1200 of 100000"). Nothing otherwise.
class ProgressLine {
 public:
  ProgressLine(const char* command, size_t total, const char* unit = "image");
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  // For BatchOptions::progress (items done, total); empty when no line is shown.
  std::function<void(int64_t, int64_t)> callback();
  void finish();  // stops and clears the line

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A usage error naming `flag`, with a "did you mean", unless `value` is one
// of `choices`.
Status check_choice(const std::string& flag, const std::string& value, const std::vector<std::string>& choices);

// What `-o PATH` means when --format is not given. No -o, `-`, or this
// process's stdout (/dev/stdout): stdout's default, table on a terminal,
// json otherwise; another terminal: table; a device or pipe (/dev/null):
// json; a known extension (exactly: `.json`, not `.JSON`): its format; an
// existing directory, a trailing `/` or a name without a file-type extension
// (`result`, `expected/simota.yolox`, `max-iou+ignore-iof0.2`): `directory`;
// a file-type extension that is not known (`x.png`, `result.JSON`, `r.npy`):
// a usage error, with a "did you mean".
struct OutputFormats {
  std::vector<std::pair<std::string, std::string>> extensions;  // {".json", "json"}, ...
  std::string directory;     // the format written as a directory ("npy"), "" when none is
  std::string no_extension;  // without a directory format: the format of a file without extension
};
Result<std::string> format_for_output(const std::string& output, const OutputFormats& formats);
// No -o, `-`, or a path that is this process's stdout.
bool output_is_stdout(const std::string& output);

// Parses a sub-command's flags. Returns the exit code when the command ends
// here (0 after --help, 2 on a flag error, printed), or nullopt to go on.
std::optional<int> parse_flags(CLI::App& app, int argc, char** argv, const char* command);

// `NAME=VALUE` overrides as given to `flag` ("--set", "--set-a"); usage
// errors name the flag or the assigner; a name set twice is a warning (the
// last value wins).
Status apply_sets(const assign::AssignerInfo& info, const std::vector<std::string>& sets, const std::string& flag,
                  Params* params, std::vector<std::string>* warnings);

// The assigner a command replays: from `-a NAME` (a registry name, an alias,
// a class name, NAME+PRESET), `--preset`, `--config` (a framework config as
// written), else what the dump's meta records; then `--set`s. Warnings: odd
// parameter combinations, a dump from a framework version these parameters
// do not replay, float16 inputs.
struct SelectFlags {
  std::string name, preset, config;
  std::vector<std::string> sets;
  std::string name_flag = "-a/--assigner", set_flag = "--set";
};
struct AssignerSelection {
  const assign::AssignerInfo* info = nullptr;
  Params params;
  std::string label;               // "task-aligned.ultralytics+yolo26-o2o"
  std::vector<std::string> notes;  // what a config or the dump decided
  std::vector<std::string> warnings;
};
Result<AssignerSelection> select_assigner(const SelectFlags& flags, const Batch* batch);
// Its notes and warnings on stderr ("assignscope run: note: ...").
void print_selection_notes(const char* command, const AssignerSelection& selection, const std::string& side = "");
// The selection replayed over the batch on `threads` workers, with the
// command's progress line on stderr (diff's sides, report's).
Result<std::vector<Assignment>> replay_with_progress(const char* command, const AssignerSelection& selection,
                                                     const Batch& batch, int threads);

// The assigner's default parameters with `NAME=VALUE` overrides.
Result<Params> params_from_sets(const assign::AssignerInfo& info, const std::vector<std::string>& sets,
                                const std::string& flag);

// --shard I/N (run, trend): every N-th dump of the whole listing from the
// I-th (0-based), so N shards over the same arguments cover each dump once.
struct Shard {
  int64_t index = 0, count = 1;
};
Result<Shard> parse_shard(const std::string& text);  // usage error naming --shard
std::vector<std::string> shard_of(const std::vector<std::string>& listing, const Shard& shard);

// trend's and merge's outputs: table, csv, json, svg or html of `trend`, to
// `output` (- : stdout) (trend_command.cpp).
Status write_trend(const std::string& format, const std::string& output, bool force, const render::TrendRun& run,
                   const analysis::Trend& trend);

// --gt I, --region x1,y1,x2,y2, --image K: what `run -f svg` and `diff -f
// svg` draw (svg_view_flags.cpp). Given with another format: a usage error.
struct SvgViewFlags {
  int64_t gt = -1, image = -1;
  std::string region;
  bool gt_given = false, image_given = false;  // set by settle_svg_view
  CLI::Option* gt_option = nullptr;
  CLI::Option* image_option = nullptr;
};
void add_svg_view_flags(CLI::App& app, SvgViewFlags& flags);
// The view, or a usage error when the flags are given with a format that is not svg.
Result<render::SvgView> settle_svg_view(SvgViewFlags& flags, const std::string& format);

}  // namespace assignscope::cli
