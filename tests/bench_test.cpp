// `assignscope bench`: what it reports and how it fails. Times themselves
// are not asserted (they depend on the machine); their order is.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace assignscope {

using testing::run_cli;

TEST_CASE("bench: per-image spread, batch speed-up and peak memory in the documented JSON") {
  const auto r = run_cli("bench testdata/batch/dirs-b2 -a dynamic-soft-label -n 3 -j 2 -f json");
  REQUIRE(r.exit_code == 0);
  const nlohmann::json j = nlohmann::json::parse(r.out);
  CHECK(j["schema"] == "assignscope.bench/1");
  CHECK(j["assigner"] == "dynamic-soft-label");
  CHECK(j["repeat"] == 3);
  REQUIRE(j["images"].size() == 2);
  CHECK(j["images"][1]["name"] == "img1-edge-on-centres");
  CHECK(j["images"][0]["num_priors"] == 80);
  for (const auto& img : j["images"]) {
    CHECK(img["min_ms"].get<double>() > 0);
    CHECK(img["min_ms"].get<double>() <= img["median_ms"].get<double>());
    CHECK(img["median_ms"].get<double>() <= img["max_ms"].get<double>());
  }
  CHECK(j["batch"]["threads"] == 2);
  CHECK(j["batch"]["speedup"].get<double>() > 0);
  CHECK(j["batch"]["one_thread_min_ms"].get<double>() <= j["batch"]["one_thread_ms"].get<double>());
  CHECK(j["batch"]["threads_min_ms"].get<double>() <= j["batch"]["threads_ms"].get<double>());
  CHECK(j["load_ms"].get<double>() > 0);
  CHECK(j["peak_rss_mib"].get<double>() > 1);
}

TEST_CASE("bench: a single image has no batch timing, and the table says what was timed") {
  const auto r = run_cli("bench testdata/golden/toy-single-gt -a simota -n 2 -f table");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("simota · ") == 0);
  CHECK(r.out.find("1 image · 2 timed replays each") != std::string::npos);
  CHECK(r.out.find("whole batch") == std::string::npos);
  CHECK(r.out.find("peak memory") != std::string::npos);
  CHECK(testing::count_lines(r.out) == 5);  // title, load, header, the image, peak memory
}

TEST_CASE("bench: bad usage and bad input exit 2 with one line") {
  for (const char* args :
       {"bench testdata/golden/toy-single-gt -a simota -n 0", "bench testdata/golden/toy-single-gt -a simtoa",
        "bench testdata/golden/toy-single-gt -a simota --set topk=3", "bench testdata/nope -a simota",
        "bench testdata/golden/toy-single-gt -a yolov5"}) {
    CAPTURE(args);
    const auto r = run_cli(args);
    CHECK(r.exit_code == 2);
    CHECK(testing::count_lines(r.err) == 1);
  }
}

}  // namespace assignscope
