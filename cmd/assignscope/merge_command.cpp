// `assignscope merge`: the partials of a sharded `trend` (trend --shard I/N)
// added up. Every shard of one listing must be there exactly once, with the
// same assigner, parameters and loss; the output is byte for byte what one
// `trend` process over the same dumps writes.
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "analysis/trend.h"
#include "commands.h"
#include "io/files.h"
#include "io/memory.h"
#include "io/paths.h"
#include "render/render.h"
#include "render/trend.h"

namespace assignscope::cli {
namespace {

constexpr const char* kMergeExamples = R"EX(examples:
  assignscope merge parts/part-*.json -o trend.json       # the shards of `trend --shard I/N -o parts/part-I.json`
  assignscope merge parts/*.json -f table                 # as trend prints it
  assignscope merge parts/*.json -o trend.svg             # line charts

Every shard 0..N-1 of one listing (the same DUMPS arguments) must be given once; a missing or
repeated shard, or parts of different runs (assigner, parameters, loss, listing), is an error
that names the file. Exit codes: 0 ok, 2 bad usage or input, 3 internal error.)EX";

const OutputFormats kMergeOutputs = {
    {{".json", "json"}, {".txt", "table"}, {".csv", "csv"}, {".svg", "svg"}, {".html", "html"}}, "", ""};

// A partial file is JSON of counts: far below this.
constexpr uint64_t kMaxPartialBytes = uint64_t{1} << 30;

struct Part {
  std::string path;
  nlohmann::json run;
  nlohmann::ordered_json params;  // in the order trend wrote them
  int64_t index = 0, count = 0;
  analysis::Trend trend;
};

Result<Part> read_part(const std::string& path) {
  ASSIGNSCOPE_ASSIGN_OR_RETURN(std::string text, io::read_file_text(path, io::memory_budget(kMaxPartialBytes)));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return Status::InvalidInput(path + ": not JSON; expected a partial of `trend --shard`");
  if (!j.is_object() || !j.contains("schema") || j["schema"] != "assignscope.trend-partial/1")
    return Status::InvalidInput(
        path + ": schema: expected \"assignscope.trend-partial/1\" (written by `assignscope trend --shard I/N`)");
  const auto bad = [&path](const std::string& field, const std::string& expected) {
    return Status::InvalidInput(fmt::format("{}: {}: expected {}", path, field, expected));
  };
  if (!j.contains("run") || !j["run"].is_object()) return bad("run", "an object");
  Part p;
  p.path = path;
  p.run = j["run"];
  const nlohmann::json& shard = p.run.contains("shard") ? p.run["shard"] : nlohmann::json();
  if (!shard.is_object() || !shard.contains("index") || !shard.contains("count") ||
      !shard["index"].is_number_integer() || !shard["count"].is_number_integer() || shard["count"].get<int64_t>() < 1 ||
      shard["index"].get<int64_t>() < 0 || shard["index"].get<int64_t>() >= shard["count"].get<int64_t>())
    return bad("run.shard", "{\"index\": I, \"count\": N} with 0 <= I < N");
  p.index = shard["index"].get<int64_t>();
  p.count = shard["count"].get<int64_t>();
  for (const char* key : {"assigner", "params", "loss", "listing"})
    if (!p.run.contains(key)) return bad(std::string("run.") + key, "a value (as trend writes it)");
  if (!p.run["assigner"].is_string() || !p.run["loss"].is_string() || !p.run["params"].is_object())
    return bad("run", "assigner and loss as strings, params as an object");
  if (!j.contains("trend")) return bad("trend", "the partial's counts");
  auto trend = analysis::from_partial_json(j["trend"], path + ": trend");
  if (!trend.ok()) return Status::InvalidInput(trend.status().message());
  p.trend = std::move(*trend);
  p.params = nlohmann::ordered_json::parse(text)["run"]["params"];
  return p;
}

}  // namespace

int merge_command(int argc, char** argv) {
  CLI::App app{"Add up the partials of a sharded trend (trend --shard I/N) into the single-process result.",
               "assignscope merge"};
  std::vector<std::string> paths;
  std::string format, output;
  bool force = false;
  app.add_option("part", paths, "the partial files (globs too): every shard once")->required();
  app.add_option(
      "-f,--format", format,
      "table | csv | json | svg | html (default: table on a terminal, json otherwise; with -o, from its extension)");
  app.add_option("-o,--output", output, "write here instead of stdout (- is stdout)");
  app.add_flag("--force", force, "replace an existing output");
  app.footer(kMergeExamples);
  if (const auto done = parse_flags(app, argc, argv, "merge")) return *done;
  if (format.empty()) {
    auto chosen = format_for_output(output, kMergeOutputs);
    if (!chosen.ok()) return fail("merge", chosen.status().message(), 2);
    format = *chosen;
  }
  if (const Status st = check_choice("--format", format, {"table", "csv", "json", "svg", "html"}); !st.ok())
    return fail("merge", st.message(), 2);

  auto expanded = io::expand_paths(paths);
  if (!expanded.ok()) return fail("merge", expanded.status().message(), exit_code(expanded.status()));
  std::vector<Part> parts;
  for (const std::string& path : *expanded) {
    auto part = read_part(path);
    if (!part.ok()) return fail("merge", part.status().message(), exit_code(part.status()));
    parts.push_back(std::move(*part));
  }
  if (parts.empty()) return fail("merge", "no partial given", 2);

  // One run, every shard once.
  const Part& first = parts[0];
  nlohmann::json same = first.run;
  same.erase("shard");
  std::map<int64_t, const Part*> by_index;
  for (const Part& p : parts) {
    nlohmann::json run = p.run;
    run.erase("shard");
    for (const char* key : {"assigner", "params", "loss", "listing"})
      if (run[key] != same[key])
        return fail("merge",
                    fmt::format("{}: run.{} is {} and {}'s is {}: shards of one run only (the same DUMPS, -a, "
                                "--set and --loss)",
                                p.path, key, render::json_text(run[key], -1), first.path,
                                render::json_text(same[key], -1)),
                    2);
    if (p.count != first.count || p.trend.by != first.trend.by)
      return fail("merge",
                  fmt::format("{}: shard {}/{} by {}, and {} is shard {}/{} by {}: shards of one run only", p.path,
                              p.index, p.count, p.trend.by, first.path, first.index, first.count, first.trend.by),
                  2);
    if (!p.trend.loss_components.empty() && !first.trend.loss_components.empty() &&
        p.trend.loss_components != first.trend.loss_components)
      return fail("merge", fmt::format("{}: loss components differ from {}'s", p.path, first.path), 2);
    if (!by_index.emplace(p.index, &p).second)
      return fail("merge",
                  fmt::format("{}: shard {}/{} is given twice (also {}); each shard once", p.path, p.index, p.count,
                              by_index[p.index]->path),
                  2);
  }
  if (static_cast<int64_t>(by_index.size()) != first.count) {
    std::string missing;
    for (int64_t i = 0, shown = 0; i < first.count && shown < 10; ++i)
      if (!by_index.count(i)) missing += fmt::format("{}{}", shown++ ? ", " : "", i);
    return fail("merge",
                fmt::format("{} of {} shards given; missing shard {} (run `trend --shard I/{}` for each)",
                            by_index.size(), first.count, missing, first.count),
                2);
  }

  analysis::Trend total;
  total.by = first.trend.by;
  for (const auto& [index, p] : by_index) {
    if (total.loss_components.empty()) total.loss_components = p->trend.loss_components;
    total.add(p->trend);
  }
  const render::TrendRun run{first.run["assigner"].get<std::string>(), first.params,
                             first.run["loss"].get<std::string>()};
  const Status written = write_trend(format, output, force, run, total);
  if (!written.ok()) return fail("merge", written.message(), exit_code(written));
  if (total.failed > 0)
    return fail("merge",
                fmt::format("the shards left out {} dump{} that failed", total.failed, total.failed == 1 ? "" : "s"),
                2);
  return 0;
}

}  // namespace assignscope::cli
