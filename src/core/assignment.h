// Assignment: what an assigner decided for one image, in mmdetection's
// AssignResult conventions, plus what it considered on the way.
//
// Invariants (checked by tests):
//   gt_inds[i] == 0        prior i is negative
//   gt_inds[i] == -1       prior i is ignored
//   gt_inds[i] == g + 1    prior i is positive for GT g (0 <= g < G)
//   labels[i] == gt_labels[g] for positives, -1 elsewhere
// Assigners where one prior may serve several GTs (YOLOv5, YOLOv7) also carry
// `matches`; gt_inds then names the lowest-index GT of each matched prior.
// mmyolo's batched flavours can, as their references do, hand a prior to a
// padding GT column of a stacked batch (g >= G; with zero padding boxes this
// does not happen), and then say so in `notes`.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/params.h"

namespace assignscope {

// Sentinels the references write into max_overlaps.
inline constexpr float kMmdetNegativeOverlap = -100000000.0f;  // -INF of dsla/atss/tal

constexpr int kMaxCostTerms = 3;
using CostTerms = std::array<float, kMaxCostTerms>;  // named by Assignment::cost_terms

// A (prior, GT) pair the assigner looked at, with the cost it ranked it by.
struct CandidatePair {
  int32_t prior = 0;
  int32_t gt = 0;
  float cost = 0;       // the total the assigner ranks by
  CostTerms terms{};    // components, named by Assignment::cost_terms
  float iou = 0;        // IoU used by the assigner for this pair
  bool inside = false;  // passes the assigner's geometric candidate rule
  bool picked = false;  // chosen by this GT before conflict resolution
};

// One (prior, GT) match of a multi-match assigner.
struct Match {
  int32_t prior = 0;
  int32_t gt = 0;
  bool operator==(const Match& o) const { return prior == o.prior && gt == o.gt; }
};

// Which search produced a result, for the assigners with a `search`
// parameter (assign/assigner.h search_param): the sparse one, or the dense
// one and why (asked for, or the sparse one declined the image). Kept in
// memory only (tests check it): no output writes it.
struct SearchRecord {
  enum class Path { kNone, kSparse, kDense };  // kNone: the assigner has one search only
  Path path = Path::kNone;
  std::string why_dense;  // with kDense: "search=dense" or the sparse search's reason to decline
};

struct Assignment {
  std::string assigner;  // registry name, "dynamic-soft-label"
  Params params;

  std::vector<int64_t> gt_inds;  // [N] mmdet convention (see above)
  std::vector<int64_t> labels;   // [N]
  // [N] as the reference's AssignResult.max_overlaps; empty for assigners
  // that measure no overlap (FCOS, YOLOv5): reports then show none.
  std::vector<float> max_overlaps;

  // Results only some assigners have (each written as <name>.npy):
  // per-GT dynamic k, 0 where never computed; mmyolo's batched assigners also
  // give padding GT columns a k ([G + padding] then).
  std::optional<std::vector<int64_t>> dynamic_ks;
  std::optional<std::vector<float>> assign_metrics;      // [N] soft targets (normalised, for TAL)
  std::optional<std::vector<float>> assign_metrics_raw;  // [N] TAL's raw alignment metric
  std::optional<std::vector<float>> transport_plan;      // [G + 1, N] OTA's plan, background row last
  std::optional<std::vector<float>> bbox_targets;        // [N, 4] FCOS's and O2F's (l, t, r, b) targets
  std::optional<std::vector<float>> soft_labels;         // [N] O2F's soft class targets (1 for a GT's best)
  std::optional<std::vector<float>> soft_weights;        // [N] O2F's weights of those targets
  std::optional<std::vector<Match>> matches;             // multi-match assigners, sorted (prior, gt)
  // yolov7: matches keeps duplicate rows (two candidate columns of one prior
  // matched to one GT, two loss terms), each with its IoU here, and the
  // prior of every candidate column, sorted, with multiplicity.
  std::optional<std::vector<float>> match_ious;          // [M] aligned with matches
  std::optional<std::vector<int64_t>> candidate_priors;  // [K]

  std::vector<std::string> cost_terms;    // names of CandidatePair::terms in use
  std::vector<CandidatePair> candidates;  // sorted by (gt, prior)

  // Human-readable remarks about this image: early returns, reference quirks.
  std::vector<std::string> notes;
  // Remarks the commands also print on stderr: where the reference computes
  // NaN or Inf from finite inputs and what the replay reports instead
  // (assign/finite_reports.h).
  std::vector<std::string> warnings;

  SearchRecord search;

  int64_t num_priors() const { return static_cast<int64_t>(gt_inds.size()); }
  int64_t num_positives() const;

  // An assignment where every prior is negative; with_dynamic_ks gives every
  // GT a k of 0.
  static Assignment Empty(int64_t num_priors, int64_t num_gts, float overlap_fill, bool with_dynamic_ks);
};

}  // namespace assignscope
