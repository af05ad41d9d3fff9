// Max-IoU (mmdetection's MaxIoUAssigner, RetinaNet settings) on tiny
// hand-made images: row_of_four with anchor_scale = 1, i.e. the 8 x 8 cells
// [0, 8], [8, 16], [16, 24], [24, 32] (x) by [0, 8] (y) as anchors.
#include <doctest/doctest.h>

#include "analysis/stats.h"
#include "test_support.h"

namespace assignscope {
namespace {

using testing::row_of_four;
using testing::run_assigner;
using testing::with_ignore_box;

using Sets = std::vector<std::pair<std::string, std::string>>;

Assignment max_iou(const Problem& p, Sets sets = {}) {
  sets.emplace_back("anchor_scale", "1");
  return run_assigner("max-iou", p, sets);
}

}  // namespace

TEST_CASE("max-iou: G = 0 assigns nothing") {
  const Assignment a = max_iou(row_of_four({}, {}));
  CHECK(a.gt_inds == std::vector<int64_t>(4, 0));
  CHECK(a.max_overlaps == std::vector<float>(4, 0.0f));
}

TEST_CASE("max-iou: positive from 0.5 (inclusive), negative below 0.4, ignored in between unless matched low-quality") {
  // GT 0 is anchor 1's cell (IoU 1). GT 1 [17, 31] x [0, 8] has IoU 56/120 =
  // 0.467 with anchors 2 and 3 alike: in the ignore band, and both share its
  // best IoU.
  const Problem p = row_of_four({{8, 0, 16, 8}, {17, 0, 31, 8}}, {0, 1});
  const Assignment a = max_iou(p);
  CHECK(a.gt_inds == std::vector<int64_t>{0, 1, 2, 2});  // gt_max_assign_all: both
  CHECK(a.labels == std::vector<int64_t>{-1, 0, 1, 1});
  CHECK(a.max_overlaps[0] == 0.0f);
  CHECK(a.max_overlaps[1] == 1.0f);
  CHECK(a.max_overlaps[2] == doctest::Approx(56.0 / 120.0).epsilon(1e-7));
  CHECK(a.max_overlaps[3] == a.max_overlaps[2]);
  CHECK(max_iou(p, {{"match_low_quality", "false"}}).gt_inds == std::vector<int64_t>{0, 1, -1, -1});
  CHECK(max_iou(p, {{"gt_max_assign_all", "false"}}).gt_inds == std::vector<int64_t>{0, 1, 2, -1});
  CHECK(max_iou(p, {{"min_pos_iou", "0.5"}}).gt_inds == std::vector<int64_t>{0, 1, -1, -1});

  // IoU exactly 0.5 (GT [20, 36]: 64 / 128 with anchor 3) is positive.
  const Assignment half = max_iou(row_of_four({{20, 0, 36, 8}}, {0}), {{"match_low_quality", "false"}});
  CHECK(half.max_overlaps[3] == 0.5f);
  CHECK(half.gt_inds == std::vector<int64_t>{0, 0, 0, 1});
}

TEST_CASE("max-iou: low-quality matching goes GT by GT, a later GT overwriting an earlier one") {
  // GT 1 [9, 15] lies inside anchor 1 (IoU 0.75), which GT 0 matches exactly.
  // Step 3 gives anchor 1 to GT 0 (IoU 1), low-quality matching of GT 1 then
  // takes it: GT 0 ends with nothing. max_overlaps stays the best IoU over
  // all GTs (1.0), not the assigned GT's.
  const Problem p = row_of_four({{8, 0, 16, 8}, {9, 0, 15, 8}}, {0, 1});
  const Assignment a = max_iou(p);
  CHECK(a.gt_inds == std::vector<int64_t>{0, 2, 0, 0});
  CHECK(a.max_overlaps[1] == 1.0f);
  const analysis::ImageStats s = analysis::compute_stats(p, a);
  CHECK(s.starved_gts == std::vector<int64_t>{0});
  CHECK(s.gts[0].lost_to == std::vector<std::pair<int64_t, int64_t>>{{1, 1}});
  CHECK(s.gts[1].iou.mean == doctest::Approx(0.75).epsilon(1e-7));  // its own IoU, not max_overlaps
}

TEST_CASE("max-iou: a GT overlapping no anchor takes every anchor with IoU 0 (min_pos_iou 0)") {
  const Problem p = row_of_four({{100, 100, 110, 110}}, {0});
  const Assignment a = max_iou(p);
  CHECK(a.gt_inds == std::vector<int64_t>{1, 1, 1, 1});
  CHECK(a.max_overlaps == std::vector<float>(4, 0.0f));
  REQUIRE(a.notes.size() == 1);
  CHECK(a.notes[0].find("GT 0 overlaps no anchor") != std::string::npos);
}

TEST_CASE("max-iou: anchors ignored through gt_bboxes_ignore get -1 and max_overlaps -1") {
  // Ignore box = anchor 0's cell: IoF 1 over the anchor's area.
  const Problem p = with_ignore_box(row_of_four({{8, 0, 16, 8}}, {0}), {0, 0, 8, 8});
  CHECK(max_iou(p).gt_inds == std::vector<int64_t>{0, 1, 0, 0});  // ignore_iof_thr -1: unused
  const Assignment a = max_iou(p, {{"ignore_iof_thr", "0.2"}});
  CHECK(a.gt_inds == std::vector<int64_t>{-1, 1, 0, 0});
  CHECK(a.max_overlaps[0] == -1.0f);

  // A large ignore box: IoF 1 over the anchor's area, 0.1 over its own.
  const Problem wide = with_ignore_box(row_of_four({{8, 0, 16, 8}}, {0}), {0, 0, 80, 8});
  CHECK(max_iou(wide, {{"ignore_iof_thr", "0.2"}}).gt_inds == std::vector<int64_t>{-1, -1, -1, -1});
  CHECK(max_iou(wide, {{"ignore_iof_thr", "0.2"}, {"ignore_wrt_candidates", "false"}}).gt_inds ==
        std::vector<int64_t>{0, 1, 0, 0});
}

TEST_CASE("max-iou: the registry entry's parameters are the golden params.json names") {
  const assign::AssignerInfo* info = assign::find_assigner("max-iou");
  REQUIRE(info != nullptr);
  CHECK(assign::default_params(*info).to_string() ==
        "pos_iou_thr=0.5 neg_iou_thr=0.4 min_pos_iou=0 gt_max_assign_all=true ignore_iof_thr=-1 "
        "ignore_wrt_candidates=true match_low_quality=true anchor_scale=8");
}

}  // namespace assignscope
