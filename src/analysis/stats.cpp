// Per-GT, per-level and per-image statistics of one assignment.
#include "analysis/stats.h"

#include <algorithm>
#include <map>
#include <set>

namespace assignscope::analysis {

ImageStats compute_stats(const Problem& problem, const Assignment& a) {
  ImageStats s;
  s.num_priors = a.num_priors();
  s.num_gts = problem.num_gts();
  s.has_overlaps = !a.max_overlaps.empty() || a.num_priors() == 0;
  const int64_t num_levels = problem.num_levels();
  const auto level_of = [&](int64_t prior) -> int64_t { return problem.prior_level[prior]; };

  s.gts.resize(static_cast<size_t>(s.num_gts));
  for (int64_t g = 0; g < s.num_gts; ++g) {
    GtStats& gs = s.gts[g];
    gs.index = g;
    gs.label = problem.gt_labels[g];
    for (int c = 0; c < 4; ++c) gs.box[c] = problem.gt_bboxes(g, c);
    if (a.dynamic_ks) gs.dynamic_k = (*a.dynamic_ks)[g];
    gs.positives_per_level.assign(static_cast<size_t>(num_levels), 0);
    gs.iou_min = 0;
  }

  // Candidates, picks and losses from the pairs the assigner recorded.
  // With multi-match results a picked pair that is a match is kept, not
  // lost, even when gt_inds names another GT for its prior.
  std::vector<std::map<int64_t, int64_t>> lost_to(static_cast<size_t>(s.num_gts));
  std::set<std::pair<int64_t, int64_t>> matched;
  if (a.matches)
    for (const Match& m : *a.matches) matched.insert({m.prior, m.gt});
  for (const CandidatePair& pair : a.candidates) {
    GtStats& gs = s.gts[pair.gt];
    if (pair.inside) ++gs.candidates;
    if (!pair.picked) continue;
    ++gs.picked;
    if (matched.count({pair.prior, pair.gt}) != 0) continue;
    const int64_t owner = a.gt_inds[pair.prior] - 1;  // -1: negative (kBackground), -2: ignored
    if (owner != pair.gt && owner >= kBackground) {
      ++gs.lost;
      ++lost_to[pair.gt][owner];
    }
  }
  if (a.transport_plan) {
    const int64_t n = s.num_priors;
    for (int64_t g = 0; g < s.num_gts; ++g) {
      double mass = 0;
      for (int64_t i = 0; i < n; ++i) mass += static_cast<double>((*a.transport_plan)[static_cast<size_t>(g * n + i)]);
      s.gts[g].plan_mass = mass;
    }
  }
  for (int64_t g = 0; g < s.num_gts; ++g) {
    auto& v = s.gts[g].lost_to;
    v.assign(lost_to[g].begin(), lost_to[g].end());
    std::stable_sort(v.begin(), v.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
  }

  // Positives.
  s.levels.resize(static_cast<size_t>(num_levels));
  for (int64_t l = 0; l < num_levels; ++l) {
    s.levels[l].level = l;
    s.levels[l].priors = problem.num_level_priors[l];
  }
  std::vector<double> iou_sum(static_cast<size_t>(s.num_gts), 0.0);
  const auto add_positive = [&](int64_t prior, int64_t g, double iou) {
    GtStats& gs = s.gts[g];
    if (gs.positives == 0) {
      gs.iou_min = gs.iou_max = iou;
    } else {
      gs.iou_min = std::min(gs.iou_min, iou);
      gs.iou_max = std::max(gs.iou_max, iou);
    }
    ++gs.positives;
    iou_sum[g] += iou;
    const int64_t l = level_of(prior);
    ++gs.positives_per_level[l];
    ++s.levels[l].positives;
  };
  // A positive's IoU with its own GT: the recorded pair's when there is one
  // (max-iou's max_overlaps is the best IoU over all GTs, which after
  // low-quality matching can be another GT's), else max_overlaps.
  std::vector<float> own_iou = a.max_overlaps;
  if (!own_iou.empty())  // empty: the assigner measures no IoU (fcos, yolov5)
    for (const CandidatePair& c : a.candidates)
      if (a.gt_inds[c.prior] == c.gt + 1) own_iou[c.prior] = c.iou;
  for (int64_t i = 0; i < s.num_priors; ++i) {
    const int64_t gi = a.gt_inds[i];
    if (gi == 0) {
      ++s.negatives;
    } else if (gi < 0) {
      ++s.ignored;
    } else {
      ++s.positives;
      if (gi > s.num_gts) {
        ++s.to_padding;  // a padding column: no GT of this image
      } else if (!a.matches) {
        add_positive(i, gi - 1, own_iou.empty() ? 0.0 : static_cast<double>(own_iou[i]));
      }
    }
  }
  if (a.matches) {
    // A prior serving several GTs counts for each; the IoU is the pair's.
    std::map<std::pair<int64_t, int64_t>, float> pair_iou;
    for (const CandidatePair& c : a.candidates) pair_iou[{c.prior, c.gt}] = c.iou;
    s.matches = static_cast<int64_t>(a.matches->size());
    std::map<int64_t, int64_t> per_prior;
    for (const Match& m : *a.matches) {
      const auto it = pair_iou.find({m.prior, m.gt});
      add_positive(m.prior, m.gt, it == pair_iou.end() ? 0.0 : static_cast<double>(it->second));
      ++per_prior[m.prior];
    }
    for (const auto& [prior, count] : per_prior) s.priors_serving_several += count > 1;
  }
  for (int64_t g = 0; g < s.num_gts; ++g) {
    GtStats& gs = s.gts[g];
    if (gs.positives > 0) gs.iou_mean = iou_sum[g] / static_cast<double>(gs.positives);
    if (gs.starved()) s.starved_gts.push_back(g);
    for (int64_t l = 0; l < num_levels; ++l)
      if (gs.positives_per_level[l] > 0) ++s.levels[l].gts_served;
  }
  return s;
}

}  // namespace assignscope::analysis
