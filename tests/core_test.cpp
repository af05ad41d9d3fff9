// The vocabulary: Params (typed, validated, defaults), Status, suggestions,
// the registry.
#include <algorithm>
#include <stdexcept>
#include <vector>

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "assign/assigner.h"
#include "core/parallel.h"
#include "core/params.h"
#include "core/status.h"
#include "core/suggest.h"

namespace assignscope {
namespace {

Params sample() {
  return Params({
      {"topk", ParamType::kInt, int64_t{13}, "k", 1.0, std::nullopt, {}},
      {"radius", ParamType::kFloat, 3.0, "r", std::nullopt, std::nullopt, {}},
      {"weight", ParamType::kFloat, 3.0, "w", 0.0, 10.0, {}},
      {"center_sampling", ParamType::kBool, false, "c", std::nullopt, std::nullopt, {}},
      {"mode", ParamType::kString, std::string("iou"), "m", std::nullopt, std::nullopt, {"iou", "giou"}},
      {"ranges", ParamType::kRanges, Ranges{{-1, 64}, {64, 1e8}}, "r", std::nullopt, std::nullopt, {}},
  });
}

}  // namespace

TEST_CASE("params: defaults, and values from --set text") {
  Params p = sample();
  CHECK(p.get_int("topk") == 13);
  CHECK(p.get_float("radius") == 3.0);
  CHECK(p.is_default("topk"));
  CHECK(p.set("topk", "5").ok());
  CHECK(p.get_int("topk") == 5);
  CHECK_FALSE(p.is_default("topk"));
  CHECK(p.set("radius", "2.5").ok());
  CHECK(p.get_float("radius") == 2.5);
  CHECK(p.set("radius", "-1e-1").ok());
  CHECK(p.set("center_sampling", "true").ok());
  CHECK(p.get_bool("center_sampling"));
  CHECK(p.set("mode", "giou").ok());
  CHECK(p.set("ranges", "[[0, 32], [32, 1e8]]").ok());
  CHECK(p.get_ranges("ranges").size() == 2);
  CHECK(p.to_string() ==
        "topk=5 radius=-0.1 weight=3 center_sampling=true mode=giou ranges=[[0, 32], [32, 100000000]]");
}

TEST_CASE("params: every bad value is a usage error naming the parameter and what was expected") {
  Params p = sample();
  struct Bad {
    const char* name;
    const char* text;
    const char* says;
  };
  for (const Bad& b : {Bad{"topk", "5.5", "expected integer"}, Bad{"topk", "0", ">= 1"}, Bad{"topk", "", "integer"},
                       Bad{"radius", "abc", "expected number"}, Bad{"radius", "nan", "finite"},
                       Bad{"weight", "11", "between 0 and 10"}, Bad{"center_sampling", "maybe", "boolean"},
                       Bad{"mode", "gio", "did you mean 'giou'"}, Bad{"ranges", "[[64, 0]]", "low > high"},
                       Bad{"ranges", "[1, 2]", "pairs"}}) {
    CAPTURE(b.name);
    CAPTURE(b.text);
    const Status st = p.set(b.name, b.text);
    CHECK(st.kind() == ErrorKind::kUsage);
    CHECK(st.message().find(b.name) != std::string::npos);
    CHECK(st.message().find(b.says) != std::string::npos);
  }
  CHECK(p.get_int("topk") == 13);  // failed sets change nothing
}

TEST_CASE("params: unknown names are errors with a suggestion and the list") {
  Params p = sample();
  const Status st = p.set("tpok", "3");
  CHECK(st.kind() == ErrorKind::kUsage);
  CHECK(st.message().find("unknown parameter 'tpok'") != std::string::npos);
  CHECK(st.message().find("did you mean 'topk'") != std::string::npos);
  CHECK(st.message().find("radius") != std::string::npos);
}

TEST_CASE("params: values from params.json") {
  Params p = sample();
  CHECK(p.set_all(nlohmann::json::parse(R"({"topk": 9, "radius": 1, "center_sampling": true,
                                              "ranges": [[-1, 64], [64, 100000000.0]]})"))
            .ok());
  CHECK(p.get_int("topk") == 9);
  CHECK(p.get_float("radius") == 1.0);                   // an int where a float is expected
  CHECK(p.set_json("topk", nlohmann::json(13.0)).ok());  // an integral float where an int is expected
  CHECK_FALSE(p.set_json("topk", nlohmann::json(13.5)).ok());
  CHECK_FALSE(p.set_json("mode", nlohmann::json(3)).ok());
  CHECK_FALSE(p.set_all(nlohmann::json::parse(R"({"topk": 9, "extra": 1})")).ok());
  CHECK(
      p.to_json().dump() ==
      R"({"topk":13,"radius":1.0,"weight":3.0,"center_sampling":true,"mode":"iou","ranges":[[-1.0,64.0],[64.0,100000000.0]]})");
}

TEST_CASE("status: kinds map to the documented exit codes") {
  CHECK(exit_code(Status()) == 0);
  CHECK(exit_code(Status::Usage("x")) == 2);
  CHECK(exit_code(Status::InvalidInput("x")) == 2);
  CHECK(exit_code(Status::Corrupt("x")) == 2);
  CHECK(exit_code(Status::Unsupported("x")) == 2);
  CHECK(exit_code(Status::Io("x")) == 2);
  CHECK(exit_code(Status::Internal("x")) == 3);
  CHECK(Status::Corrupt("truncated").WithContext("a.npy").message() == "a.npy: truncated");
  Result<int> r = Status::Io("gone");
  CHECK_FALSE(r.ok());
  CHECK(r.status().message() == "gone");
}

TEST_CASE("suggest: close names only") {
  CHECK(edit_distance("kitten", "sitting") == 3);
  const std::vector<std::string> names = {"dynamic-soft-label", "simota", "atss"};
  CHECK(closest_name("dynamic-soft-lable", names) == "dynamic-soft-label");
  CHECK(closest_name("simtoa", names) == "simota");
  CHECK(closest_name("hungarian", names).empty());
}

TEST_CASE("registry: every assigner is complete and reachable by name") {
  CHECK_FALSE(assign::registry().empty());
  for (const assign::AssignerInfo& info : assign::registry()) {
    CAPTURE(info.name);
    CHECK(assign::find_assigner(info.name) == &info);
    CHECK_FALSE(info.summary.empty());
    CHECK_FALSE(info.reference.empty());
    CHECK_FALSE(info.result_files.empty());
    CHECK(info.make != nullptr);
    CHECK(info.make(assign::default_params(info)) != nullptr);
  }
  CHECK(assign::find_assigner("dynamic-soft-label") != nullptr);
  CHECK(assign::find_assigner("nope") == nullptr);
  CHECK(assign::unknown_assigner("dynamic-soft-lable").message().find("did you mean 'dynamic-soft-label'") !=
        std::string::npos);
}

TEST_CASE("parallel_for: every index exactly once on any thread count, progress counts up, errors come back") {
  for (int threads : {1, 2, 3, 0}) {
    CAPTURE(threads);
    std::vector<int> hits(100, 0);
    std::vector<size_t> progress;
    parallel_for(
        hits.size(), threads, [&](size_t i) { ++hits[i]; }, [&](size_t finished) { progress.push_back(finished); });
    CHECK(std::count(hits.begin(), hits.end(), 1) == 100);
    REQUIRE(progress.size() == 100);
    for (size_t k = 0; k < progress.size(); ++k) CHECK(progress[k] == k + 1);
  }
  CHECK(worker_count(0, 0) == 1);
  CHECK(worker_count(8, 3) == 3);
  CHECK(worker_count(2, 100) == 2);
  parallel_for(0, 2, [](size_t) { FAIL("no work to do"); });
  CHECK_THROWS_AS(parallel_for(50, 2,
                               [](size_t i) {
                                 if (i == 7) throw std::runtime_error("image 7");
                               }),
                  std::runtime_error);
}

}  // namespace assignscope
