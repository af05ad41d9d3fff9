// Assignment: what an assigner decided for one image, in mmdetection's
// AssignResult conventions, plus what it considered on the way.
//
// Invariants (checked by tests):
//   gt_inds[i] == 0        prior i is negative
//   gt_inds[i] == -1       prior i is ignored
//   gt_inds[i] == g + 1    prior i is positive for GT g (0 <= g < G)
//   labels[i] == gt_labels[g] for positives, -1 elsewhere
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/params.h"

namespace assignscope {

// Sentinels the references write into max_overlaps.
inline constexpr float kMmdetNegativeOverlap = -100000000.0f;  // -INF of dsla/atss/tal

constexpr int kMaxCostTerms = 3;

// A (prior, GT) pair the assigner looked at, with the cost it ranked it by.
struct CandidatePair {
  int32_t prior = 0;
  int32_t gt = 0;
  float cost = 0;                            // the total the assigner ranks by
  std::array<float, kMaxCostTerms> terms{};  // components, named by Assignment::cost_terms
  float iou = 0;                             // IoU used by the assigner for this pair
  bool inside = false;                       // passes the assigner's geometric candidate rule
  bool picked = false;                       // chosen by this GT before conflict resolution
};

struct Assignment {
  std::string assigner;                // registry name, "dynamic-soft-label"
  Params params;

  std::vector<int64_t> gt_inds;        // [N] mmdet convention (see above)
  std::vector<int64_t> labels;         // [N]
  std::vector<float> max_overlaps;     // [N] as the reference's AssignResult.max_overlaps
  bool has_dynamic_ks = false;         // the assigner computes a dynamic k per GT
  // [G] when has_dynamic_ks (0 where never computed); mmyolo's batched
  // assigners also give padding GT columns a k: [G + padding] then.
  std::vector<int64_t> dynamic_ks;
  bool has_assign_metrics = false;     // the assigner returns a soft target per prior
  std::vector<float> assign_metrics;   // [N] when has_assign_metrics
  // OTA: the Sinkhorn transport plan [G + 1, N], background row last; empty otherwise.
  std::vector<float> transport_plan;

  std::vector<std::string> cost_terms; // names of CandidatePair::terms in use
  std::vector<CandidatePair> candidates;  // sorted by (gt, prior)

  // Human-readable remarks about this image: early returns, reference quirks.
  std::vector<std::string> notes;

  int64_t num_priors() const { return static_cast<int64_t>(gt_inds.size()); }
  int64_t num_positives() const;

  // An assignment where every prior is negative and no GT has a k.
  static Assignment Empty(int64_t num_priors, int64_t num_gts, float overlap_fill, bool with_dynamic_ks);
};

}  // namespace assignscope
