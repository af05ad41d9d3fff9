// `assignscope trend` and `assignscope merge` end to end: the outputs on the
// bundled series, shards merged to the single-process bytes, and the errors.
#include <doctest/doctest.h>

#include <filesystem>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/files.h"

#include "test_support.h"

namespace assignscope {
namespace {

const std::string kSeries = "testdata/trend-series";

nlohmann::json parse(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

// One line on stderr, exit 2, holding every keyword.
void check_usage_error(const testing::CliRun& r, const std::vector<std::string>& keywords) {
  CAPTURE(r.err);
  CHECK(r.exit_code == 2);
  CHECK(testing::count_lines(r.err) == 1);
  for (const std::string& k : keywords) CHECK(r.err.find(k) != std::string::npos);
}

}  // namespace

TEST_CASE("cli: trend on the bundled series, as JSON, with the loss") {
  const auto r = testing::run_cli("trend " + kSeries + " -a dynamic-soft-label --loss rtmdet -f json");
  CAPTURE(r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json j = parse(r.out);
  CHECK(j["schema"] == "assignscope.trend/1");
  CHECK(j["assigner"] == "dynamic-soft-label");
  CHECK(j["params"]["topk"] == 13);
  CHECK(j["loss"] == "loss.rtmdet");
  CHECK(j["dumps"] == 18);
  REQUIRE(j["steps"].size() == 6);
  const nlohmann::json& first = j["steps"][0];
  CHECK(first["step"] == 0);
  CHECK(first["images"] == 3);
  CHECK(first["gts"] == 38);
  CHECK(first["dynamic_k"]["mean"] == 1.0);
  // The counts agree with each other.
  int64_t histogram = 0, weighted = 0;
  for (size_t i = 0; i < first["positives_per_gt_histogram"].size(); ++i) {
    histogram += first["positives_per_gt_histogram"][i].get<int64_t>();
    weighted += static_cast<int64_t>(i) * first["positives_per_gt_histogram"][i].get<int64_t>();
  }
  CHECK(histogram == 38);
  CHECK(weighted == first["positives"].get<int64_t>());  // no GT has 16 or more positives at step 0
  CHECK(first["zero_positive"]["starved"] == first["positives_per_gt_histogram"][0]);
  int64_t by_size = 0, starved = 0;
  for (const auto& [name, g] : first["zero_positive"]["coco"].items()) by_size += g["gts"].get<int64_t>();
  for (const auto& [name, g] : first["zero_positive"]["relative"].items()) starved += g["starved"].get<int64_t>();
  CHECK(by_size == 38);
  CHECK(starved == first["zero_positive"]["starved"].get<int64_t>());
  int64_t level_positives = 0;
  for (const auto& l : first["levels"]) level_positives += l["positives"].get<int64_t>();
  CHECK(level_positives == first["positives"].get<int64_t>());
  CHECK(first["loss"]["images"] == 3);
  CHECK(first["loss"]["loss_cls"].get<double>() > 0);
  CHECK(first["loss"]["loss_bbox"].get<double>() > j["steps"][5]["loss"]["loss_bbox"].get<double>());
  // The same GT across steps: ids recorded by the series' meta.json.
  REQUIRE(j["tracked"].size() >= 3);
  CHECK(j["tracked"][0]["image_id"] == "synthetic-000001");
  CHECK(j["tracked"][0]["steps"].size() == 6);
}

TEST_CASE("cli: trend's table, CSV and SVG") {
  const auto table = testing::run_cli("trend " + kSeries + " -f table");  // no -a: what the dumps record
  CAPTURE(table.err);
  REQUIRE(table.exit_code == 0);
  CHECK(table.err.find("replaying dynamic-soft-label as the dump records") != std::string::npos);
  CHECK(table.out.rfind("dynamic-soft-label over 18 images at 6 steps\n", 0) == 0);
  CHECK(table.out.find("dynamic k (GTs per k)") != std::string::npos);
  CHECK(table.out.find("       0  1:38\n") != std::string::npos);
  CHECK(table.out.find("synthetic-000001 GT 0") != std::string::npos);

  const auto csv = testing::run_cli("trend " + kSeries + " -a simota -f csv");
  REQUIRE(csv.exit_code == 0);
  CHECK(csv.out.rfind("step,group,images,gts,positives,positives_per_gt,starved,zero_positive_rate,", 0) == 0);
  // Per step: all, 3 COCO sizes, 6 relative sizes, 3 levels.
  CHECK(testing::count_lines(csv.out) == 1 + 6 * (1 + 3 + 6 + 3));
  CHECK(csv.out.find("\n4000,relative:<0.5,") != std::string::npos);

  testing::TempDir tmp;
  const auto svg = testing::run_cli("trend " + kSeries + " -a simota --loss rtmdet -o " + tmp.path("t.svg"));
  REQUIRE(svg.exit_code == 0);
  const std::string text = testing::read_text(tmp.path("t.svg"));
  CHECK(text.rfind("<svg ", 0) == 0);
  for (const char* chart :
       {"positives per GT and dynamic k", "GTs with no positive, by COCO size", "mean IoU of the positives",
        "share of the positives per level", "loss.rtmdet, mean per image"}) {
    const std::string title = chart;
    CAPTURE(title);
    CHECK(text.find(std::string("data-title=\"") + chart) != std::string::npos);
  }
  // One point per step on the positives line.
  const size_t line = text.find("data-name=\"positives per GT\"");
  REQUIRE(line != std::string::npos);
  const std::string series = text.substr(line, text.find("</g>", line) - line);
  size_t points = 0;
  for (size_t at = series.find("<circle"); at != std::string::npos; at = series.find("<circle", at + 1)) ++points;
  CHECK(points == 6);
}

TEST_CASE("cli: trend -o page.html is one offline page of the tables and charts") {
  testing::TempDir tmp;
  const auto r = testing::run_cli("trend " + kSeries + " -a simota -o " + tmp.path("trend.html"));
  CAPTURE(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string page = testing::read_text(tmp.path("trend.html"));
  CHECK(page.rfind("<!doctype html>", 0) == 0);
  CHECK(page.find("content=\"default-src 'none'; style-src 'unsafe-inline'\"") != std::string::npos);
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find(" src=") == std::string::npos);  // nothing to fetch
  CHECK(page.find(" href=") == std::string::npos);
  CHECK(page.find("<table id=\"steps\">") != std::string::npos);
  CHECK(page.find("<table id=\"sizes\">") != std::string::npos);
  CHECK(page.find("<table id=\"tracked\">") != std::string::npos);
  CHECK(page.find("<svg ") != std::string::npos);
  // The browser test (tests/browser) opens it in Chromium and reads its cells.
}

TEST_CASE("cli: trend --shard I/N partials merge to the single-process bytes") {
  testing::TempDir tmp;
  for (const std::string format : {"json", "csv", "table", "svg"}) {
    CAPTURE(format);
    const auto single = testing::run_cli("trend " + kSeries + " -a dynamic-soft-label --loss rtmdet -f " + format);
    REQUIRE(single.exit_code == 0);
    for (int n : {1, 2, 5, 7}) {
      CAPTURE(n);
      std::string parts;
      for (int i = 0; i < n; ++i) {
        const std::string part = tmp.path(fmt::format("{}-{}-{}.json", format, n, i));
        const auto r =
            testing::run_cli(fmt::format("trend {} -a dynamic-soft-label --loss rtmdet --shard {}/{} -j {} -o {}",
                                         kSeries, i, n, 1 + i % 2, part));
        CAPTURE(r.err);
        REQUIRE(r.exit_code == 0);
        parts = " " + part + parts;  // merged in reverse order
      }
      const auto merged = testing::run_cli("merge" + parts + " -f " + format);
      CAPTURE(merged.err);
      REQUIRE(merged.exit_code == 0);
      CHECK(merged.out == single.out);
    }
  }
}

TEST_CASE("cli: merge refuses a missing, repeated or foreign shard, one line, exit 2") {
  testing::TempDir tmp;
  const auto shard = [&](const std::string& args, const std::string& name) {
    const auto r = testing::run_cli("trend " + kSeries + " " + args + " -o " + tmp.path(name));
    CAPTURE(r.err);
    REQUIRE(r.exit_code == 0);
    return tmp.path(name);
  };
  const std::string p0 = shard("-a simota --shard 0/3", "p0.json"), p1 = shard("-a simota --shard 1/3", "p1.json"),
                    p2 = shard("-a simota --shard 2/3", "p2.json");
  check_usage_error(testing::run_cli("merge " + p0 + " " + p2), {"2 of 3 shards", "missing shard 1"});
  check_usage_error(testing::run_cli("merge " + p0 + " " + p1 + " " + p1 + " " + p2), {"p1.json", "given twice"});
  const std::string other = shard("-a simota --set center_radius=2.0 --shard 1/3", "other.json");
  check_usage_error(testing::run_cli("merge " + p0 + " " + other + " " + p2), {"other.json", "run.params"});
  const std::string loss = shard("-a simota --loss rtmdet --shard 1/3", "loss.json");
  check_usage_error(testing::run_cli("merge " + p0 + " " + loss + " " + p2), {"loss.json", "run.loss"});
  const std::string fewer = shard("-a simota --shard 1/3 " + kSeries + "/step-000000", "fewer.json");
  check_usage_error(testing::run_cli("merge " + p0 + " " + fewer + " " + p2), {"fewer.json", "run.listing"});
  const std::string four = shard("-a simota --shard 1/4", "four.json");
  check_usage_error(testing::run_cli("merge " + p0 + " " + four + " " + p2), {"four.json", "1/4"});
  // Files that are not partials.
  const auto write = [&](const std::string& name, const std::string& text) {
    REQUIRE(io::write_file_atomic(tmp.path(name), text, true).ok());
    return tmp.path(name);
  };
  check_usage_error(testing::run_cli("merge " + write("text.json", "not json")), {"text.json", "not JSON"});
  check_usage_error(testing::run_cli("merge " + write("result.json", "{\"schema\": \"assignscope.trend/1\"}")),
                    {"result.json", "assignscope.trend-partial/1"});
  nlohmann::json spoiled = parse(testing::read_text(p1));
  spoiled["trend"]["steps"][0]["iou_sum"] = "00";
  check_usage_error(testing::run_cli("merge " + p0 + " " + write("spoiled.json", spoiled.dump()) + " " + p2),
                    {"spoiled.json", "steps[0].iou_sum", "hex"});
  check_usage_error(testing::run_cli("merge " + tmp.path("absent-*.json")), {"absent-*.json"});
}

TEST_CASE("cli: trend's bad flags and inputs are one line, exit 2") {
  for (const char* bad : {"0/0", "3/3", "-1/2", "1", "a/b", "1/2/3"}) {
    CAPTURE(bad);
    check_usage_error(testing::run_cli("trend " + kSeries + " -a simota --shard " + std::string(bad)),
                      {"--shard", "0 <= I < N"});
  }
  check_usage_error(testing::run_cli("trend " + kSeries + " --by iteration"), {"--by"});
  check_usage_error(testing::run_cli("trend " + kSeries + " --loss rtmdett"), {"did you mean 'rtmdet'"});
  check_usage_error(testing::run_cli("trend " + kSeries + " -a simota -f npy"), {"--format"});
  check_usage_error(testing::run_cli("trend " + kSeries + " -a nosuch"), {"nosuch"});
  // A dump with no step: reported, and nothing is left to count.
  const auto no_step = testing::run_cli("trend testdata/coco640-late-g12-objectness -a simota -f json");
  CHECK(no_step.exit_code == 2);
  CHECK(no_step.err.find("no training step") != std::string::npos);
  CHECK(no_step.out.empty());
  // With others that have one: left out, the rest counted, exit 2.
  const auto mixed =
      testing::run_cli("trend " + kSeries + "/step-000000 testdata/coco640-late-g12-objectness -a simota -f json");
  CHECK(mixed.exit_code == 2);
  const nlohmann::json j = parse(mixed.out);
  CHECK(j["dumps"] == 3);
  CHECK(j["failed"] == 1);
  // --fail-fast writes nothing.
  const auto fast = testing::run_cli("trend testdata/coco640-late-g12-objectness " + kSeries +
                                     "/step-000000 -a simota --fail-fast -j 1 -f json");
  CHECK(fast.exit_code == 2);
  CHECK(fast.out.empty());
  // An existing output is kept.
  testing::TempDir tmp;
  REQUIRE(io::write_file_atomic(tmp.path("mine.json"), std::string("keep"), true).ok());
  check_usage_error(testing::run_cli("trend " + kSeries + " -a simota -o " + tmp.path("mine.json")), {"--force"});
  CHECK(testing::read_text(tmp.path("mine.json")) == "keep");
  CHECK(testing::run_cli("trend " + kSeries + " -a simota -f csv -o /dev/null").exit_code ==
        0);  // a device: written in place
}

}  // namespace assignscope

namespace assignscope {

TEST_CASE("cli: run --shard I/N replays every N-th dump, and the shards' rows are the whole run's") {
  const auto whole = testing::run_cli("run '" + kSeries + "/step-*/*' -a simota -f csv");  // the 18 dumps
  REQUIRE(whole.exit_code == 0);
  std::multiset<std::string> rows, sharded;
  const auto add_rows = [](const std::string& csv, std::multiset<std::string>* into) {
    std::istringstream in(csv);
    std::string line;
    std::getline(in, line);                                                    // the header
    while (std::getline(in, line)) into->insert(line.substr(line.find(',')));  // less the image's index in its batch
  };
  add_rows(whole.out, &rows);
  REQUIRE(rows.size() == 6 * 38);  // a row per GT: 38 GTs at each of the 6 steps
  for (int i = 0; i < 3; ++i) {
    const auto part = testing::run_cli(fmt::format("run {} -a simota -f csv --shard {}/3", kSeries, i));
    CAPTURE(part.err);
    REQUIRE(part.exit_code == 0);
    add_rows(part.out, &sharded);
  }
  CHECK(sharded == rows);
  check_usage_error(testing::run_cli("run " + kSeries + " -a simota --shard 3/3"), {"--shard", "0 <= I < N"});
  check_usage_error(testing::run_cli("run testdata/coco640-late-g12-objectness -a simota --shard 1/2"),
                    {"--shard 1/2", "1 dump", "none of them in shard 1"});
}

}  // namespace assignscope
