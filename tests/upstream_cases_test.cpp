// The frameworks' own unit tests as replay cases: testdata/upstream holds the
// inputs of mmdetection 3.3.0's and mmyolo 0.6.0's assigner unit tests (no
// GT, no priors, ignore boxes, all-zero priors, tuple thresholds, DETR's
// softmax column, padded batches, ...), each with the result the real
// reference class returned on them (tools/make_upstream_cases.py, run once
// against the real frameworks). Every stored result must replay exactly: none
// may differ, error or be skipped, and every file it stores must be compared.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <set>
#include <string>

#include "analysis/check.h"
#include "test_support.h"

namespace assignscope {
namespace {

// What tools/make_upstream_cases.py wrote: 32 cases holding 37 results.
constexpr int64_t kUpstreamCases = 32;
constexpr int64_t kUpstreamResults = 37;

}  // namespace

TEST_CASE("upstream: the inputs of mmdetection's and mmyolo's assigner unit tests replay exactly") {
  const std::string root = testing::source_path("testdata/upstream");
  REQUIRE_MESSAGE(std::filesystem::is_directory(root), root << " is missing (tools/make_upstream_cases.py)");
  auto cases = analysis::find_checkable({root});
  REQUIRE_MESSAGE(cases.ok(), cases.status().message());
  int64_t replayed_cases = 0, match = 0, results = 0;
  std::set<std::string> assigners;
  for (const std::string& c : *cases) {
    auto checked = analysis::check_path(c, {});
    REQUIRE_MESSAGE(checked.ok(), checked.status().message());
    ++replayed_cases;
    for (const analysis::ResultCheck& rc : *checked) {
      CAPTURE(rc.case_name);
      CAPTURE(rc.label);
      ++results;
      CHECK_MESSAGE(rc.verdict == analysis::Verdict::kMatch, analysis::verdict_name(rc.verdict) << ": " << rc.detail);
      if (rc.verdict != analysis::Verdict::kMatch) continue;
      ++match;
      assigners.insert(rc.assigner);
      for (const analysis::FileCheck& f : rc.files) CHECK_MESSAGE(f.compared, f.file << ": " << f.detail);
    }
  }
  std::printf("upstream: %lld of %lld results from the frameworks' unit tests replayed exactly, %lld cases\n",
              static_cast<long long>(match), static_cast<long long>(results), static_cast<long long>(replayed_cases));
  CHECK(replayed_cases >= kUpstreamCases);
  CHECK(match >= kUpstreamResults);
  CHECK(match == results);
  // Every assigner whose upstream tests could be fed to a dump is among them.
  for (const char* name : {"atss", "atss.mmyolo", "dynamic-soft-label", "dynamic-soft-label.mmyolo", "simota",
                           "task-aligned", "task-aligned.mmyolo", "max-iou", "hungarian", "topk-hungarian"}) {
    CAPTURE(name);
    CHECK(assigners.count(name) == 1);
  }
}

}  // namespace assignscope
