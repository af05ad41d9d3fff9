// Statistics of an assignment for people: per GT, per level, per class, per
// COCO scale, per image and per batch. Computed from the Problem and the
// Assignment alone, for every assigner.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/assignment.h"
#include "core/problem.h"

namespace assignscope::analysis {

// lost_to's key for priors that ended negative (OTA's background row).
inline constexpr int64_t kBackground = -1;

// COCO's object scales by box area: small < 32², medium < 96², large.
enum class Scale { kSmall = 0, kMedium = 1, kLarge = 2 };
inline constexpr int kNumScales = 3;
const char* scale_name(Scale s);  // "small", "medium", "large"
Scale coco_scale(double area);

// min / mean / max of some values; empty when there were none.
struct Summary {
  int64_t count = 0;
  double min = 0, mean = 0, max = 0;
  void add(double v);
  void finish();  // turns the running sum into the mean
  bool empty() const { return count == 0; }

 private:
  double sum_ = 0;
};

struct GtStats {
  int64_t index = 0;
  int64_t label = 0;
  std::array<float, 4> box{};
  double area = 0;  // (x2 - x1) * (y2 - y1), 0 for inverted boxes
  Scale scale = Scale::kSmall;
  int64_t dynamic_k = -1;  // -1: the assigner has no dynamic k
  int64_t candidates = 0;  // pairs passing the assigner's geometric rule
  int64_t picked = 0;      // priors this GT chose before conflict resolution
  int64_t positives = 0;   // priors assigned to it in the end (multi-match: its matches)
  int64_t lost = 0;        // picked priors that went to another GT (or, OTA, to the background)
  std::vector<std::pair<int64_t, int64_t>> lost_to;  // (other GT or kBackground, count), most first
  double plan_mass = -1;  // OTA: the transport plan's mass shipped from this GT; -1 without a plan
  // IoU (as the assigner measured it) of the positives with this GT; empty
  // when none, and absent when the assigner measures none
  // (ImageStats::has_overlaps).
  Summary iou;
  // The assigner's cost of its positives (CandidatePair::cost) and of each
  // cost term (ImageStats::cost_terms), over the positives whose pair the
  // assigner recorded.
  Summary cost;
  std::vector<Summary> terms;
  // Distance from each positive's prior point to the GT's centre, in that
  // prior's strides; empty when the dump has no point priors.
  Summary centre_distance;
  // Σ of the positives' soft targets (assign_metrics), when the assigner
  // writes them (task-aligned, atss.mmyolo).
  std::optional<double> soft_target_sum;
  std::vector<int64_t> positives_per_level;  // [L]
  bool starved() const { return positives == 0; }
};

struct LevelStats {
  int64_t level = 0;
  int64_t priors = 0;
  int64_t positives = 0;
  int64_t gts_served = 0;  // GTs with at least one positive on this level
  double positives_per_gt() const {
    return gts_served > 0 ? static_cast<double>(positives) / static_cast<double>(gts_served) : 0.0;
  }
};

// GTs, their positives and the starved among them, for one class or scale.
struct GroupStats {
  int64_t gts = 0;
  int64_t positives = 0;
  int64_t starved = 0;
  void add(const GroupStats& o) { gts += o.gts, positives += o.positives, starved += o.starved; }
};

struct ImageStats {
  int64_t num_priors = 0;
  int64_t num_gts = 0;
  bool has_overlaps = true;  // false: the assigner measures no IoU (FCOS, YOLOv5)
  int64_t positives = 0;
  int64_t negatives = 0;
  int64_t ignored = 0;
  std::vector<int64_t> starved_gts;
  // Multi-match assigners (YOLOv5's matches): -1 otherwise.
  int64_t matches = -1;  // (prior, GT) matches
  int64_t priors_serving_several = 0;
  // Positives that went to a stacked batch's padding GT columns (mmyolo's
  // batched assigners let padding compete in conflicts).
  int64_t to_padding = 0;
  std::vector<std::string> cost_terms;  // the assigner's, naming GtStats::terms
  std::vector<GtStats> gts;
  std::vector<LevelStats> levels;
  std::map<int64_t, GroupStats> classes;        // by GT label
  std::array<GroupStats, kNumScales> scales{};  // by COCO scale of the GT
};

ImageStats compute_stats(const Problem& problem, const Assignment& assignment);

// A prior GT `gt` picked (CandidatePair::picked) that went elsewhere: to GT
// `winner`, or to the background (kBackground). GtStats::lost and lost_to
// count these. With multi-match results a picked pair that is a match is
// kept, not lost, even when gt_inds names another GT for its prior.
struct LostPick {
  int64_t prior = 0;
  int64_t gt = 0;
  int64_t winner = kBackground;
};
// In the order of Assignment::candidates.
std::vector<LostPick> lost_picks(const Assignment& assignment);

// A batch (or several dumps replayed together): every image's statistics and
// their totals.
struct BatchStats {
  std::vector<ImageStats> images;
  int64_t gts = 0, positives = 0, negatives = 0, ignored = 0, starved = 0, to_padding = 0;
  std::map<int64_t, GroupStats> classes;
  std::array<GroupStats, kNumScales> scales{};
  // Per level, summed over the images when they all have the same number of
  // levels; empty otherwise. gts_served counts (image, GT) pairs.
  std::vector<LevelStats> levels;
};

BatchStats compute_batch_stats(const Batch& batch, const std::vector<Assignment>& results);

}  // namespace assignscope::analysis
