// `assignscope trend`'s outputs (docs/cli.md "trend"): one row per training
// step as a table, CSV (one row per step × group: all, COCO size, size over
// the finest stride, level), JSON (schema assignscope.trend/1), SVG line
// charts and an HTML page of them all. All of them are functions of the exact Trend (analysis/trend.h),
// so a merged run prints the bytes of a single-process run.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/trend.h"

namespace assignscope::render {

// What was replayed: the assigner's label and parameters, the loss head
// ("" without --loss).
struct TrendRun {
  std::string assigner;
  nlohmann::ordered_json params = nlohmann::ordered_json::object();
  std::string loss;
};

nlohmann::ordered_json trend_json(const TrendRun& run, const analysis::Trend& trend);
std::string trend_csv(const TrendRun& run, const analysis::Trend& trend);
std::string trend_table(const TrendRun& run, const analysis::Trend& trend);
std::string trend_svg(const TrendRun& run, const analysis::Trend& trend);
// One offline page (no script, no request): the per-step table, the charts,
// the zero-positive rates by size and the tracked GTs.
std::string trend_html(const TrendRun& run, const analysis::Trend& trend);

// The derived values every output shows for a step.
struct StepView {
  double positives_per_gt = 0;  // 0 without GTs
  double k_mean = -1;           // -1: no dynamic k
  double zero_rate = 0;
  double iou_mean = -1;  // -1: no measured IoU
  std::vector<double> level_share;
  std::vector<double> loss_mean;  // per component, over the images with a loss
};
StepView step_view(const analysis::TrendStep& s);
double zero_rate(const analysis::SizeGroup& g);  // starved / gts, 0 without GTs

// A tracked GT over the steps where its image was seen (images seen at two
// steps or more), its first step's values in `first`.
struct TrackRow {
  std::string image_id;
  size_t gt = 0;
  const analysis::TrackedGt* first = nullptr;
  bool box_changes = false;
  std::vector<std::pair<int64_t, const analysis::TrackedGt*>> points;  // (step, the GT there)
};
std::vector<TrackRow> track_rows(const analysis::Trend& trend);

}  // namespace assignscope::render
