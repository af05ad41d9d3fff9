// Assignment through training (`assignscope trend`): images grouped by
// their training step, and per step the statistics of how the assigner
// treated their GTs: positives per GT and their histogram, the dynamic-k
// histogram, zero-positive (starved) rates by COCO size and by size relative
// to the finest stride, the IoU of the positives, each level's share of the
// positives, picks lost in conflicts, and the head's loss components.
//
// Everything a step holds is a count or an ExactSum, so two Trends made
// over different parts of the same dumps add to exactly the Trend of all of
// them, in any order: threads, `--shard I/N` partials and `merge` give the
// bytes of a single-process run. The partial format (assignscope.trend-
// partial/1) is this state as JSON.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/stats.h"
#include "core/assignment.h"
#include "core/exact_sum.h"
#include "core/problem.h"
#include "core/status.h"

namespace assignscope::analysis {

// Histogram bins of per-GT counts (positives, dynamic k): 0, 1, ..., 15, 16+.
inline constexpr int kCountBins = 17;
// IoU of positives: [0, 0.1), ..., [0.9, 1].
inline constexpr int kIouBins = 10;
// A GT's shorter side over the finest prior stride of its dump:
// < 0.5, [0.5, 1), [1, 2), [2, 4), [4, 8), >= 8. Below 1 a GT can fall
// between the finest grid's points.
inline constexpr int kRelativeBins = 6;
const char* relative_bin_name(int bin);  // "<0.5", "0.5-1", ..., ">=8"
int relative_bin(double side_over_stride);

// GTs, their positives and the starved (zero-positive) among them.
struct SizeGroup {
  int64_t gts = 0, positives = 0, starved = 0;
  void add(const SizeGroup& o) { gts += o.gts, positives += o.positives, starved += o.starved; }
};

// One training step's totals over its images.
struct TrendStep {
  int64_t images = 0, gts = 0, positives = 0, starved = 0;
  int64_t lost_picks = 0;  // picks that went to another GT (or the background)
  int64_t gts_losing = 0;  // GTs that lost at least one pick
  std::array<int64_t, kCountBins> positives_histogram{};
  int64_t k_gts = 0, k_sum = 0;  // GTs with a dynamic k, and its sum
  std::array<int64_t, kCountBins> k_histogram{};
  int64_t iou_count = 0;  // positives whose IoU the assigner measured
  ExactSum iou_sum;
  std::array<int64_t, kIouBins> iou_histogram{};
  std::array<SizeGroup, kNumScales> coco{};
  std::array<SizeGroup, kRelativeBins> relative{};
  int64_t relative_unknown = 0;          // GTs of dumps without point priors (no stride)
  std::vector<int64_t> level_positives;  // [L], the longest of the images'
  int64_t loss_images = 0;               // images whose loss was computed
  std::vector<ExactSum> loss;            // [K] Σ over those images of each component

  void add(const TrendStep& o);
};

// One GT of a tracked image at one step.
struct TrackedGt {
  int64_t label = 0;
  std::array<float, 4> box{};
  int64_t dynamic_k = -1;  // -1: none
  int64_t positives = 0;
  double iou_mean = -1;  // -1: no positive with a measured IoU
};
// A tracked image at one step: where it came from (the smallest source name
// wins when an image appears twice at a step) and its first GTs.
struct TrackedImage {
  std::string source;
  std::vector<TrackedGt> gts;
};

struct Trend {
  std::string by = "step";                   // what groups the images: "step" or "epoch"
  std::vector<std::string> loss_components;  // empty without a loss
  std::map<int64_t, TrendStep> steps;
  // image_id → step → the image there. Only the kTrackedImages smallest ids,
  // their first kTrackedGts GTs: a bounded set that merges exactly.
  std::map<std::string, std::map<int64_t, TrackedImage>> tracked;
  int64_t dumps = 0;   // dumps replayed
  int64_t failed = 0;  // dumps left out (they could not be read or replayed)

  // Adds another part of the same run (same `by` and loss components).
  void add(const Trend& other);
};

inline constexpr size_t kTrackedImages = 8;
inline constexpr size_t kTrackedGts = 32;

// One image's contribution: its statistics under the assignment, and the
// head's loss components for it alone when `loss` is given ([K], in
// trend->loss_components' order). `image_id` "" : not tracked.
void add_image(Trend* trend, int64_t step, const std::string& image_id, const std::string& source,
               const Problem& problem, const Assignment& assignment, const ImageStats& stats,
               const std::vector<double>* loss);

// The step (or epoch, by == "epoch") an image belongs to: the dump's
// meta.step / meta.epoch, else a number in its path ("step-000500/",
// "iter_2000", "epoch_12/"; the last such part). Invalid input when neither.
Result<int64_t> training_step(const Meta& meta, const std::string& path, const std::string& by);

// The finest stride among a problem's point priors; 0 when it has none.
double finest_stride(const Problem& problem);

// The partial format: the whole state, exact (sums as hex), plus what the
// caller adds under "run" (assigner, shard) for merge to check.
nlohmann::ordered_json to_partial_json(const Trend& trend);
// `origin` names the file in errors (corrupt: a field, and what was expected).
Result<Trend> from_partial_json(const nlohmann::json& j, const std::string& origin);

}  // namespace assignscope::analysis
