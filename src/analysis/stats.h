// Statistics of an assignment for people: per GT, per level, per image.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "core/assignment.h"
#include "core/problem.h"

namespace assignscope::analysis {

// lost_to's key for priors that ended negative (OTA's background row).
inline constexpr int64_t kBackground = -1;

struct GtStats {
  int64_t index = 0;
  int64_t label = 0;
  std::array<float, 4> box{};
  int64_t dynamic_k = -1;      // -1: the assigner has no dynamic k
  int64_t candidates = 0;      // pairs passing the assigner's geometric rule
  int64_t picked = 0;          // priors this GT chose before conflict resolution
  int64_t positives = 0;       // priors assigned to it in the end (multi-match: its matches)
  int64_t lost = 0;            // picked priors that went to another GT (or, OTA, to the background)
  std::vector<std::pair<int64_t, int64_t>> lost_to;  // (other GT or kBackground, count), most first
  double plan_mass = -1;       // OTA: the transport plan's mass shipped from this GT; -1 without a plan
  // IoU (as the assigner measured it) of the positives; 0 when none, and
  // meaningless when the assigner measures none (ImageStats::has_overlaps).
  double iou_min = 0, iou_mean = 0, iou_max = 0;
  std::vector<int64_t> positives_per_level;  // [L]
  bool starved() const { return positives == 0; }
};

struct LevelStats {
  int64_t level = 0;
  int64_t priors = 0;
  int64_t positives = 0;
  int64_t gts_served = 0;     // GTs with at least one positive on this level
};

struct ImageStats {
  int64_t num_priors = 0;
  int64_t num_gts = 0;
  bool has_overlaps = true;  // false: the assigner measures no IoU (FCOS, YOLOv5)
  int64_t positives = 0;
  int64_t negatives = 0;
  int64_t ignored = 0;
  std::vector<int64_t> starved_gts;
  // Multi-match assigners (YOLOX's matches): -1 otherwise.
  int64_t matches = -1;              // (prior, GT) matches
  int64_t priors_serving_several = 0;
  // Positives that went to a stacked batch's padding GT columns (mmyolo's
  // batched assigners let padding compete in conflicts).
  int64_t to_padding = 0;
  std::vector<GtStats> gts;
  std::vector<LevelStats> levels;
};

ImageStats compute_stats(const Problem& problem, const Assignment& assignment);

}  // namespace assignscope::analysis
