// `assignscope bench`: time an assigner on a loaded dump, in-process.
//
// Loading is timed once and reported apart. Each image is replayed once to
// warm up (and to check the dump against the assigner), then `--repeat`
// times on one thread, each replay timed alone: median, min and max per
// image. With several images the whole batch is also timed with
// `--threads` workers, against one (the two alternating), for the speed-up. Peak memory is the
// process's high-water mark (VmHWM), loading included.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "assign/assigner.h"
#include "commands.h"
#include "core/parallel.h"
#include "io/dump.h"
#include "io/files.h"
#include "render/render.h"

namespace assignscope::cli {
namespace {

constexpr const char* kBenchExamples = R"(examples:
  assignscope bench testdata/coco640-late-g12-objectness -a dynamic-soft-label
  assignscope bench DUMP -a simota --repeat 50 --format json
  assignscope bench 'dumps/*' -a task-aligned --threads 2      # batch time on 2 threads vs 1

Times are wall-clock milliseconds of the assigner alone (the replay of one image, statistics and
output excluded); loading is reported separately. Exit codes: 0 ok, 2 bad usage or input.)";

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct Spread {
  double median = 0, min = 0, max = 0;
};

Spread spread_of(std::vector<double> v) {
  Spread s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
  s.min = v.front();
  s.max = v.back();
  return s;
}

// The high-water mark of this process's resident memory. VmHWM belongs to
// the address space exec made, whereas getrusage's ru_maxrss also keeps the
// peak of the image the process ran before exec: started from a large
// parent (a Python harness), it would report the parent's size.
double peak_rss_mib() {
  if (std::FILE* status = std::fopen("/proc/self/status", "r")) {
    char line[256];
    long long kib = -1;
    while (std::fgets(line, sizeof line, status))
      if (std::sscanf(line, "VmHWM: %lld kB", &kib) == 1) break;
    std::fclose(status);
    if (kib >= 0) return static_cast<double>(kib) / 1024.0;
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux: kilobytes
}

// `repeat` whole-batch replays on one thread and on `threads` workers,
// alternated so that both timings see the same machine: on a shared one,
// other work comes and goes, and timing all one-thread replays first would
// let it fall on one side only.
Result<std::pair<Spread, Spread>> time_batch(const assign::AssignerInfo& info, const Params& params, const Batch& batch,
                                             int threads, int repeat) {
  assign::BatchOptions one, many;
  one.threads = 1;
  many.threads = threads;
  std::vector<double> one_times, many_times;
  for (int r = 0; r < repeat; ++r) {
    for (const assign::BatchOptions* options : {&one, &many}) {
      const Clock::time_point start = Clock::now();
      auto results = assign::assign_batch(info, params, batch, *options);
      (options == &one ? one_times : many_times).push_back(ms_since(start));
      if (!results.ok()) return results.status();
    }
  }
  return std::make_pair(spread_of(one_times), spread_of(many_times));
}

// What bench measured.
struct BenchTimes {
  double load_ms = 0;
  std::vector<Spread> per_image;  // one assigner->assign() of each image, `repeat` times
  double single_total = 0;        // sum of the per-image medians
  int workers = 1;
  std::optional<Spread> batch_one, batch_many;  // the whole batch on 1 and on `workers` threads
  double peak_rss_mib = 0;
};

// Times each image's replay `repeat` times on one assigner instance.
Result<std::vector<Spread>> time_images(const assign::Assigner& assigner, const Batch& batch, int repeat) {
  std::vector<Spread> per_image;
  ProgressLine progress("bench", batch.images.size());
  const auto report = progress.callback();
  for (size_t b = 0; b < batch.images.size(); ++b) {
    std::vector<double> times;
    for (int r = 0; r < repeat; ++r) {
      const Clock::time_point start = Clock::now();
      const Assignment a = assigner.assign(batch.images[b]);
      times.push_back(ms_since(start));
      if (a.num_priors() != batch.images[b].num_priors()) return Status::Internal("internal: wrong result size");
    }
    per_image.push_back(spread_of(times));
    if (report) report(static_cast<int64_t>(b + 1), static_cast<int64_t>(batch.images.size()));
  }
  progress.finish();
  return per_image;
}

std::string bench_json(const AssignerSelection& s, const Batch& batch, int repeat, const BenchTimes& t) {
  nlohmann::ordered_json j;
  j["schema"] = "assignscope.bench/1";
  j["assigner"] = s.info->name;
  j["params"] = s.params.to_json();
  j["source"] = batch.source;
  j["repeat"] = repeat;
  j["load_ms"] = t.load_ms;
  nlohmann::ordered_json images = nlohmann::ordered_json::array();
  for (size_t b = 0; b < batch.images.size(); ++b) {
    const Problem& p = batch.images[b];
    images.push_back({{"name", p.name},
                      {"num_priors", p.num_priors()},
                      {"num_gts", p.num_gts()},
                      {"num_classes", p.num_classes()},
                      {"median_ms", t.per_image[b].median},
                      {"min_ms", t.per_image[b].min},
                      {"max_ms", t.per_image[b].max}});
  }
  j["images"] = std::move(images);
  j["sum_of_medians_ms"] = t.single_total;
  if (t.batch_one) {
    j["batch"] = {{"threads", t.workers},
                  {"one_thread_ms", t.batch_one->median},
                  {"threads_ms", t.batch_many->median},
                  {"speedup", t.batch_one->median / std::max(t.batch_many->median, 1e-9)},
                  {"one_thread_min_ms", t.batch_one->min},
                  {"threads_min_ms", t.batch_many->min}};
  }
  j["peak_rss_mib"] = t.peak_rss_mib;
  return render::json_text(j) + "\n";
}

std::string bench_table(const AssignerSelection& s, const Batch& batch, int repeat, const BenchTimes& t) {
  std::string text = fmt::format("{} · {} image{} · {} timed replay{} each\n",
                                 render::for_terminal(s.info->name + " · " + s.params.to_string()), batch.images.size(),
                                 batch.images.size() == 1 ? "" : "s", repeat, repeat == 1 ? "" : "s");
  text += fmt::format("load {:.1f} ms\n", t.load_ms);
  text += fmt::format("  {:>5} {:>7} {:>6} {:>5} {:>11} {:>9} {:>9}  {}\n", "image", "N", "G", "C", "median ms",
                      "min ms", "max ms", "name");
  for (size_t b = 0; b < batch.images.size(); ++b) {
    const Problem& p = batch.images[b];
    text += fmt::format("  {:>5} {:>7} {:>6} {:>5} {:>11.3f} {:>9.3f} {:>9.3f}  {}\n", b, p.num_priors(), p.num_gts(),
                        p.num_classes(), t.per_image[b].median, t.per_image[b].min, t.per_image[b].max,
                        render::for_terminal(p.name));
  }
  if (batch.images.size() > 1) text += fmt::format("sum of medians {:.3f} ms\n", t.single_total);
  if (t.batch_one)
    text += fmt::format("whole batch: {:.3f} ms on 1 thread, {:.3f} ms on {} threads ({:.2f}x)\n", t.batch_one->median,
                        t.batch_many->median, t.workers, t.batch_one->median / std::max(t.batch_many->median, 1e-9));
  text += fmt::format("peak memory {:.1f} MiB\n", t.peak_rss_mib);
  return text;
}

}  // namespace

int bench_command(int argc, char** argv) {
  CLI::App app{"Time an assigner on a dump, in-process.", "assignscope bench"};
  std::vector<std::string> dump_paths, sets;
  std::string assigner_name, preset, config, format, output;
  int repeat = 20, threads = 0;
  bool force = false;
  app.add_option("dump", dump_paths, "the dump(s), as for `run`")->required();
  app.add_option("-a,--assigner", assigner_name,
                 "assigner[.flavour][+preset], alias or class name to time (see `assignscope list`); default: the "
                 "dump's meta.assigner");
  app.add_option("--preset", preset, "a named setting of the assigner (see `assignscope list NAME`)");
  app.add_option("--config", config, "the assigner's framework config as written, or a config file");
  app.add_option("--set", sets, "NAME=VALUE: override a parameter (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("-n,--repeat", repeat, "timed replays of each image (default 20)")->check(CLI::Range(1, 1000000));
  app.add_option("-j,--threads", threads, "workers for the whole-batch timing (default 0: one per core)")
      ->check(CLI::Range(0, 1024));
  app.add_option("-f,--format", format,
                 "table | json (default: table on a terminal, json otherwise; with -o, from its extension: .json, "
                 ".txt)");
  app.add_option("-o,--output", output, "write here instead of stdout (- is stdout)");
  app.add_flag("--force", force, "replace an existing output");
  app.footer(kBenchExamples);
  if (const auto done = parse_flags(app, argc, argv, "bench")) return *done;

  if (!format.empty()) {
    const Status st = check_choice("--format", format, {"table", "json"});
    if (!st.ok()) return fail("bench", st.message(), 2);
  } else {
    auto inferred = format_for_output(output, {{{".json", "json"}, {".txt", "table"}}, "", "json"});
    if (!inferred.ok()) return fail("bench", inferred.status().message(), 2);
    format = *inferred;
  }

  BenchTimes t;
  const Clock::time_point load_start = Clock::now();
  auto dump = io::load_dumps(dump_paths);
  t.load_ms = ms_since(load_start);
  if (!dump.ok()) return fail("bench", dump.status().message(), exit_code(dump.status()));
  const Batch& batch = dump->batch;
  auto selected = select_assigner({assigner_name, preset, config, sets}, &batch);
  if (!selected.ok()) return fail("bench", selected.status().message(), 2);
  print_selection_notes("bench", *selected);
  const assign::AssignerInfo& info = *selected->info;
  const Params& params = selected->params;

  // Warm-up, and the checks assign_batch makes before any replay.
  assign::BatchOptions one_thread;
  auto warm = assign::assign_batch(info, params, batch, one_thread);
  if (!warm.ok()) return fail("bench", warm.status().message(), exit_code(warm.status()));

  const std::unique_ptr<assign::Assigner> assigner = info.make(params);
  auto per_image = time_images(*assigner, batch, repeat);
  if (!per_image.ok()) return fail("bench", per_image.status().message(), 3);
  t.per_image = std::move(per_image).value();
  for (const Spread& s : t.per_image) t.single_total += s.median;

  t.workers = static_cast<int>(worker_count(threads, batch.images.size()));
  if (batch.images.size() > 1 && t.workers > 1) {
    auto timed = time_batch(info, params, batch, t.workers, repeat);
    if (!timed.ok()) return fail("bench", timed.status().message(), 2);
    t.batch_one = timed->first;
    t.batch_many = timed->second;
  }
  t.peak_rss_mib = peak_rss_mib();

  const std::string text =
      format == "json" ? bench_json(*selected, batch, repeat, t) : bench_table(*selected, batch, repeat, t);
  const Status written = io::write_file_atomic(output.empty() ? "-" : output, text, force);
  return written.ok() ? 0 : fail("bench", written.message(), exit_code(written));
}

}  // namespace assignscope::cli
