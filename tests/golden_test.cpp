// Golden replays: every stored reference result whose assigner exists must
// replay exactly, from ../shared/golden (when present; it is in CI) and from
// the copies in testdata/.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>

#include "analysis/check.h"
#include "test_support.h"

namespace assignscope {
namespace {

struct Replayed {
  int64_t cases = 0, match = 0, skipped = 0;
};

Replayed replay_all(const std::string& root) {
  Replayed r;
  auto cases = analysis::find_checkable({root});
  REQUIRE_MESSAGE(cases.ok(), cases.status().message());
  for (const std::string& c : *cases) {
    auto results = analysis::check_path(c, {});
    REQUIRE_MESSAGE(results.ok(), results.status().message());
    ++r.cases;
    for (const analysis::ResultCheck& rc : *results) {
      CAPTURE(rc.case_name);
      CAPTURE(rc.label);
      CHECK_MESSAGE(rc.verdict != analysis::Verdict::kDiffer, rc.detail);
      CHECK_MESSAGE(rc.verdict != analysis::Verdict::kError, rc.detail);
      if (rc.verdict == analysis::Verdict::kMatch) {
        ++r.match;
        for (const analysis::FileCheck& f : rc.files) CHECK_MESSAGE(f.compared, f.file);
      }
      if (rc.verdict == analysis::Verdict::kSkipped) ++r.skipped;
    }
  }
  std::printf("golden replay of %s: %lld results replayed exactly, %lld skipped (assigner not in assignscope), "
              "%lld cases\n",
              root.c_str(), static_cast<long long>(r.match), static_cast<long long>(r.skipped),
              static_cast<long long>(r.cases));
  return r;
}

}  // namespace

TEST_CASE("golden: the reference cases copied into testdata replay exactly") {
  const Replayed r = replay_all(testing::source_path("testdata/golden"));
  // The 16 toy cases hold 63 results of every assigner; the demo dump 6.
  CHECK(r.match >= 63);
  CHECK(r.skipped == 0);  // every assigner the golden cases name exists
  const Replayed demo = replay_all(testing::source_path("testdata/coco640-late-g12-objectness"));
  CHECK(demo.match >= 6);
  CHECK(demo.skipped == 0);
}

TEST_CASE("golden: every case in ../shared/golden replays exactly") {
  const std::string root = ASSIGNSCOPE_SHARED_GOLDEN;
  if (!std::filesystem::is_directory(root)) {
    std::printf("golden: %s is absent; the full replay did not run\n", root.c_str());
    return;
  }
  const Replayed r = replay_all(root);
  // dynamic-soft-label 20 (16 single images, the batch, .npz and .json), its
  // mmyolo flavour 5, simota 19, simota.yolox 5, ota 3, atss 20, atss.mmyolo
  // 5, task-aligned 19, its mmyolo flavour 5 and ultralytics flavour 4,
  // max-iou 19, fcos 6, yolov5 4, hungarian 11: 145.
  CHECK(r.match >= 145);
  CHECK(r.skipped == 0);
}

}  // namespace assignscope
