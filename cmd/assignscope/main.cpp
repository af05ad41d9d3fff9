// assignscope: replay, inspect and check object-detector label assignment.
//
// Dispatches on the sub-command; everything else lives in the library.
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "assign/assigner.h"
#include "assignscope/revision.h"
#include "assignscope/version.h"
#include "commands.h"
#include "core/progress.h"
#include "core/suggest.h"
#include "render/render.h"

namespace assignscope::cli {

bool stdout_is_terminal() { return isatty(STDOUT_FILENO) != 0; }

// The line is drawn by one thread only, which wakes every kTick: the
// callback and the replay's steps (core/progress.h) just store numbers, so a
// replay never waits for the terminal. Nothing is drawn for work that ends
// within kDelay.
struct ProgressLine::State {
  std::string command;
  std::string unit;
  std::atomic<int64_t> done{0}, total{0};
  std::mutex mutex;
  std::condition_variable wake;
  bool stop = false;
  bool drawn = false;
  std::thread ticker;
};

namespace {

constexpr auto kDelay = std::chrono::milliseconds(500);
constexpr auto kTick = std::chrono::milliseconds(200);

std::string progress_text(const std::string& command, const std::string& unit, int64_t done, int64_t total,
                          double seconds) {
  std::string text =
      fmt::format("assignscope {}: {}/{} {}{} · {:.0f} s", command, done, total, unit, total == 1 ? "" : "s", seconds);
  const progress::StepReport step = progress::current_step();
  if (step.what != nullptr && step.done < step.total)
    text += fmt::format(" · {} {} of {}", step.what, step.done, step.total);
  return text;
}

}  // namespace

ProgressLine::ProgressLine(const char* command, size_t total, const char* unit) {
  if (isatty(STDERR_FILENO) == 0) return;
  state_ = std::make_unique<State>();
  state_->command = command;
  state_->unit = unit;
  state_->total = static_cast<int64_t>(total);
  progress::enable_steps(true);
  State* s = state_.get();
  s->ticker = std::thread([s] {
    const auto start = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lock(s->mutex);
    if (s->wake.wait_for(lock, kDelay, [s] { return s->stop; })) return;
    do {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const std::string text = progress_text(s->command, s->unit, s->done.load(), s->total.load(), seconds);
      std::fprintf(stderr, "\r%s\033[K", text.c_str());
      std::fflush(stderr);
      s->drawn = true;
    } while (!s->wake.wait_for(lock, kTick, [s] { return s->stop; }));
  });
}

ProgressLine::~ProgressLine() { finish(); }

std::function<void(int64_t, int64_t)> ProgressLine::callback() {
  if (!state_) return {};
  State* s = state_.get();
  return [s](int64_t done, int64_t total) {
    s->done.store(done);
    s->total.store(total);
  };
}

void ProgressLine::finish() {
  if (!state_) return;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stop = true;
  }
  state_->wake.notify_all();
  state_->ticker.join();
  if (state_->drawn) {
    std::fprintf(stderr, "\r\033[K");  // back to the start, erase the line
    std::fflush(stderr);
  }
  progress::enable_steps(false);
  state_.reset();
}

int fail(const char* command, const std::string& message, int code) {
  // One line, whatever a file or member name held.
  std::fprintf(stderr, "assignscope %s: error: %s\n", command, render::for_terminal(message).c_str());
  return code;
}

Status check_choice(const std::string& flag, const std::string& value, const std::vector<std::string>& choices) {
  if (std::find(choices.begin(), choices.end(), value) != choices.end()) return Status();
  std::string list;
  for (size_t i = 0; i < choices.size(); ++i)
    list += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  return Status::Usage(
      fmt::format("{} {}: unknown value{}; expected {}", flag, value, did_you_mean(value, choices), list));
}

namespace {

// The kind of thing an existing path is, through symbolic links; kNone when
// nothing is there.
enum class PathKind { kNone, kStdout, kTerminal, kStream, kDirectory, kFile };

PathKind path_kind(const std::string& path) {
  if (path.empty() || path == "-") return PathKind::kStdout;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return PathKind::kNone;
  struct stat out {};
  if (::fstat(STDOUT_FILENO, &out) == 0 && out.st_dev == st.st_dev && out.st_ino == st.st_ino) return PathKind::kStdout;
  if (S_ISDIR(st.st_mode)) return PathKind::kDirectory;
  if (S_ISREG(st.st_mode)) return PathKind::kFile;
  if (S_ISCHR(st.st_mode)) {
    // A terminal (/dev/tty) gets the table. Only character devices are
    // opened to ask: opening a named pipe could end its reader's input.
    const int fd = ::open(path.c_str(), O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    const bool tty = fd >= 0 && isatty(fd) != 0;
    if (fd >= 0) ::close(fd);
    if (tty) return PathKind::kTerminal;
  }
  return PathKind::kStream;
}

// A file-type extension, as opposed to the rest of a result directory's name
// after a dot (`simota.yolox`, `max-iou+ignore-iof0.2`, `v8.4`,
// `task-aligned.ultralytics+yolo26-o2o`): letters and digits, at least one
// letter, and not an assigner flavour.
bool file_like_extension(const std::string& ext) {
  if (ext.size() < 2 || ext.size() > 6) return false;
  bool letter = false;
  for (size_t i = 1; i < ext.size(); ++i) {
    const auto c = static_cast<unsigned char>(ext[i]);
    if (!std::isalnum(c)) return false;
    letter = letter || std::isalpha(c);
  }
  if (!letter) return false;
  for (const assign::AssignerInfo& info : assign::registry()) {
    const size_t dot = info.name.find('.');
    if (dot != std::string::npos && info.name.compare(dot, std::string::npos, ext) == 0) return false;
  }
  return true;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

bool output_is_stdout(const std::string& output) { return path_kind(output) == PathKind::kStdout; }

Result<std::string> format_for_output(const std::string& output, const OutputFormats& formats) {
  switch (path_kind(output)) {
    case PathKind::kStdout: return std::string(stdout_is_terminal() ? "table" : "json");
    case PathKind::kTerminal: return std::string("table");
    case PathKind::kStream: return std::string("json");
    case PathKind::kDirectory:
      if (!formats.directory.empty()) return formats.directory;
      return Status::Usage(output + ": is a directory; expected a file name");
    case PathKind::kNone:
    case PathKind::kFile: break;
  }
  std::vector<std::string> known;  // ".json", ".txt (table)", ...
  for (const auto& [ext, format] : formats.extensions)
    known.push_back(ext.substr(1) == format ? ext : fmt::format("{} ({})", ext, format));
  std::string list;
  for (size_t i = 0; i < known.size(); ++i)
    list += (i == 0 ? "" : i + 1 == known.size() && formats.directory.empty() ? " or " : ", ") + known[i];
  if (!formats.directory.empty()) list += ", no extension for a directory of ." + formats.directory + " files";
  const std::string hint = fmt::format("-o {}: ", output);
  const std::string tail = fmt::format("; use {}, or give --format", list);
  if (output.back() == '/') {
    if (!formats.directory.empty()) return formats.directory;
    return Status::Usage(hint + "names a directory; expected a file name" + tail);
  }
  const std::string name = std::filesystem::path(output).filename().string();
  const size_t dot = name.rfind('.');
  const std::string ext = dot == std::string::npos || dot == 0 ? "" : name.substr(dot);
  for (const auto& [known_ext, format] : formats.extensions)
    if (ext == known_ext) return format;
  std::vector<std::string> exts;
  for (const auto& [known_ext, format] : formats.extensions) {
    exts.push_back(known_ext);
    if (lower(ext) == known_ext)
      return Status::Usage(fmt::format("{}'{}' is not an extension assignscope writes (did you mean '{}'?){}", hint,
                                       ext, known_ext, tail));
  }
  if (!ext.empty() && (file_like_extension(ext) || formats.directory.empty()))
    return Status::Usage(
        fmt::format("{}'{}' is not an extension assignscope writes{}{}", hint, ext, did_you_mean(ext, exts), tail));
  if (!formats.directory.empty()) return formats.directory;
  return formats.no_extension;
}

void print_replay_warnings(const char* command, const Batch& batch, const std::vector<Assignment>& results,
                           const std::string& side) {
  constexpr int kMaxLines = 10;
  int shown = 0, more = 0;
  for (size_t i = 0; i < results.size() && i < batch.images.size(); ++i)
    for (const std::string& w : results[i].warnings) {
      if (shown == kMaxLines) {
        ++more;
        continue;
      }
      const std::string& name = batch.images[i].name;
      std::fprintf(stderr, "assignscope %s: warning: %s: %s\n", command,
                   render::for_terminal(batch.source + (name.empty() ? "" : " image " + name) +
                                        (side.empty() ? "" : " (" + side + ")"))
                       .c_str(),
                   render::for_terminal(w).c_str());
      ++shown;
    }
  if (more > 0)
    std::fprintf(stderr, "assignscope %s: warning: %d more like these (see the JSON's \"warnings\")\n", command, more);
}

namespace {

// "unknown flag --tpok (did you mean '--topk'?)" for each argument CLI11 did
// not take; "" when there is none.
std::string unknown_arguments(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* o : app.get_options()) {
    for (const std::string& n : o->get_lnames()) names.push_back("--" + n);
    for (const std::string& n : o->get_snames()) names.push_back("-" + n);
  }
  std::string out;
  for (const std::string& arg : app.remaining()) {
    std::string what;
    if (arg.size() > 1 && arg[0] == '-') {
      const std::string flag = arg.substr(0, arg.find('='));
      what = "unknown flag " + flag + did_you_mean(flag, names);
    } else {
      what = "unexpected argument '" + arg + "'";
    }
    out += (out.empty() ? "" : "; ") + what;
  }
  return out;
}

}  // namespace

std::optional<int> parse_flags(CLI::App& app, int argc, char** argv, const char* command) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ExtrasError& e) {
    std::string what = unknown_arguments(app);
    if (what.empty()) what = e.what();
    return fail(command, what + " (see assignscope " + command + " --help)", 2);
  } catch (const CLI::ParseError& e) {
    return fail(command, std::string(e.what()) + " (see assignscope " + command + " --help)", 2);
  }
  return std::nullopt;
}

namespace {

struct Command {
  const char* name;
  const char* help;
  int (*run)(int argc, char** argv);
};

constexpr Command kCommands[] = {
    {"run", "replay an assigner on a dump and show the matching (table, json, csv, npy, svg)", run_command},
    {"check", "replay stored results (golden cases, your own) and compare them", check_command},
    {"list", "list the assigners, their flavours, parameters and references", list_command},
    {"diff", "compare two assigners, settings or stored results on the same priors", diff_command},
    {"bench", "time an assigner on a dump, in-process: per image, per batch, peak memory", bench_command},
    {"report", "write one self-contained interactive HTML report (hover, click a GT, diff, batches)", report_command},
    {"trend", "assignment through training: per step, positives, dynamic k, starved GTs, IoU, loss", trend_command},
    {"merge", "add up the partials of a sharded trend (trend --shard I/N) into one result", merge_command},
};

void usage(std::FILE* out) {
  std::fprintf(out,
               "assignscope %s: replay object-detector label assignment exactly, and show it\n\n"
               "usage: assignscope <command> [options]    (assignscope help <command> for its flags and examples)\n"
               "       assignscope --version | -V\n\n"
               "commands:\n",
               ASSIGNSCOPE_VERSION);
  for (const Command& c : kCommands) std::fprintf(out, "  %-7s %s\n", c.name, c.help);
  std::fprintf(
      out,
      "\nexamples:\n"
      "  assignscope run testdata/coco640-late-g12-objectness --assigner dynamic-soft-label\n"
      "  assignscope run DUMP --assigner dynamic-soft-label --set topk=5 --format json -o result.json\n"
      "  assignscope check ../shared/golden --allow-skipped\n"
      "  assignscope list\n\n"
      "exit codes: 0 ok, 1 a check found differences or a diff --fail-if held, 2 bad usage or input, 3 internal "
      "error\n");
}

}  // namespace
}  // namespace assignscope::cli

int main(int argc, char** argv) {
  using namespace assignscope::cli;
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  std::string name = argv[1];
  std::vector<char*> args(argv + 1, argv + argc);  // the command's argv: its name, then its flags
  if (name == "help" && argc > 2) {
    // `assignscope help run` is `assignscope run --help`.
    name = argv[2];
    static char help_flag[] = "--help";
    args = {argv[2], help_flag};
  } else if (name == "-h" || name == "--help" || name == "help") {
    usage(stdout);
    return 0;
  }
  if (name == "--version" || name == "-V" || name == "version") {
    std::printf("assignscope %s (%s)\n", ASSIGNSCOPE_VERSION, ASSIGNSCOPE_REVISION);
    return 0;
  }
  std::vector<std::string> names;
  for (const Command& c : kCommands) {
    names.emplace_back(c.name);
    if (name != c.name) continue;
    try {
      return c.run(static_cast<int>(args.size()), args.data());
    } catch (const std::bad_alloc&) {
      // What an input implies is checked against budgets before allocating;
      // past them, a machine with less memory than the input needs is the
      // input's limit, not a bug (exit 2).
      return fail(c.name,
                  "out of memory: the input needs more than this machine (or ulimit -v) gives; "
                  "split it (docs/reliability.md)",
                  2);
    } catch (const std::exception& e) {
      return fail(c.name, std::string("internal error: ") + e.what(), 3);
    }
  }
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
  const bool flag = !name.empty() && name[0] == '-';
  std::fprintf(stderr, "assignscope: error: unknown %s '%s'%s; commands: %s (assignscope --help)\n",
               flag ? "flag" : "command", assignscope::render::for_terminal(name).c_str(),
               flag ? "" : assignscope::did_you_mean(name, names).c_str(), list.c_str());
  return 2;
}
