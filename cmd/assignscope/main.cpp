// assignscope: replay, inspect and check object-detector label assignment.
//
// Dispatches on the sub-command; everything else lives in the library.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "core/suggest.h"
#include "core/text.h"

namespace assignscope::cli {

bool stdout_is_terminal() { return isatty(STDOUT_FILENO) != 0; }

ProgressLine::ProgressLine(const char* command, size_t total)
    : command_(command), shown_(total > 1 && isatty(STDERR_FILENO) != 0) {}

std::function<void(int64_t, int64_t)> ProgressLine::callback() {
  if (!shown_) return {};
  return [command = command_](int64_t done, int64_t total) {
    std::fprintf(stderr, "\rassignscope %s: %lld/%lld images", command, static_cast<long long>(done),
                 static_cast<long long>(total));
    std::fflush(stderr);
  };
}

void ProgressLine::finish() {
  if (!shown_) return;
  std::fprintf(stderr, "\r\033[K");  // back to the start, erase the line
  std::fflush(stderr);
  shown_ = false;
}

int fail(const char* command, const std::string& message, int code) {
  // One line, whatever a file or member name held.
  std::fprintf(stderr, "assignscope %s: error: %s\n", command, printable(message, SIZE_MAX, true).c_str());
  return code;
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
                   printable(batch.source + (name.empty() ? "" : " image " + name) + (side.empty() ? "" : " (" + side + ")"), SIZE_MAX, true).c_str(),
                   printable(w, SIZE_MAX, true).c_str());
      ++shown;
    }
  if (more > 0) std::fprintf(stderr, "assignscope %s: warning: %d more like these (see the JSON's \"warnings\")\n", command, more);
}

std::optional<int> parse_flags(CLI::App& app, int argc, char** argv, const char* command) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
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
};

void usage(std::FILE* out) {
  std::fprintf(out,
               "assignscope %s: replay object-detector label assignment exactly, and show it\n\n"
               "usage: assignscope <command> [options]    (assignscope <command> --help for more)\n\n"
               "commands:\n",
               ASSIGNSCOPE_VERSION);
  for (const Command& c : kCommands) std::fprintf(out, "  %-7s %s\n", c.name, c.help);
  std::fprintf(out,
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
  const std::string name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    usage(stdout);
    return 0;
  }
  if (name == "--version" || name == "version") {
    std::printf("assignscope %s\n", ASSIGNSCOPE_VERSION);
    return 0;
  }
  std::vector<std::string> names;
  for (const Command& c : kCommands) {
    names.emplace_back(c.name);
    if (name != c.name) continue;
    try {
      return c.run(argc - 1, argv + 1);
    } catch (const std::bad_alloc&) {
      return fail(c.name, "out of memory", 3);
    } catch (const std::exception& e) {
      return fail(c.name, std::string("internal error: ") + e.what(), 3);
    }
  }
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
  std::fprintf(stderr, "assignscope: error: unknown command '%s'%s; commands: %s\n", name.c_str(),
               assignscope::did_you_mean(name, names).c_str(), list.c_str());
  return 2;
}
