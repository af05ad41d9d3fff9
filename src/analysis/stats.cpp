// Per-GT, per-level, per-class, per-scale, per-image and per-batch
// statistics of assignments.
#include "analysis/stats.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <numeric>

namespace assignscope::analysis {

const char* scale_name(Scale s) {
  switch (s) {
    case Scale::kSmall: return "small";
    case Scale::kMedium: return "medium";
    case Scale::kLarge: return "large";
  }
  return "?";
}

Scale coco_scale(double area) {
  if (area < 32.0 * 32.0) return Scale::kSmall;
  if (area < 96.0 * 96.0) return Scale::kMedium;
  return Scale::kLarge;
}

void Summary::add(double v) {
  if (count == 0) {
    min = max = v;
  } else {
    min = std::min(min, v);
    max = std::max(max, v);
  }
  ++count;
  sum_ += v;
}

void Summary::finish() { mean = count > 0 ? sum_ / static_cast<double>(count) : 0.0; }

namespace {

// The GTs' own values: index, label, box, area and scale, dynamic k; the
// counters sized for the levels and cost terms.
void init_gts(const Problem& problem, const Assignment& a, ImageStats* s) {
  s->gts.resize(static_cast<size_t>(s->num_gts));
  for (int64_t g = 0; g < s->num_gts; ++g) {
    GtStats& gs = s->gts[g];
    gs.index = g;
    gs.label = problem.gt_labels[g];
    for (int c = 0; c < 4; ++c) gs.box[c] = problem.gt_bboxes(g, c);
    const auto coord = [&](int c) { return static_cast<double>(gs.box[c]); };
    const double w = std::max(0.0, coord(2) - coord(0));
    const double h = std::max(0.0, coord(3) - coord(1));
    gs.area = w * h;
    gs.scale = coco_scale(gs.area);
    if (a.dynamic_ks) gs.dynamic_k = (*a.dynamic_ks)[g];
    gs.positives_per_level.assign(static_cast<size_t>(problem.num_levels()), 0);
    gs.terms.resize(a.cost_terms.size());
    if (a.assign_metrics && !a.matches) gs.soft_target_sum = 0.0;
  }
}

// The recorded pair of (prior, gt), for the positives' IoU and cost: a
// binary search over the pairs in (gt, prior) order, the order the
// assigners record them in (an index puts them in order otherwise).
// No hash map: the pairs can number millions.
class RecordedPairs {
 public:
  explicit RecordedPairs(const std::vector<CandidatePair>& pairs) : pairs_(pairs) {
    if (std::is_sorted(pairs_.begin(), pairs_.end(), gt_prior_less)) return;
    order_.resize(pairs_.size());
    std::iota(order_.begin(), order_.end(), size_t{0});
    std::stable_sort(order_.begin(), order_.end(),
                     [&](size_t i, size_t j) { return gt_prior_less(pairs_[i], pairs_[j]); });
  }

  const CandidatePair* find(int64_t prior, int64_t g) const {
    size_t lo = 0, hi = pairs_.size();
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      const CandidatePair& c = at(mid);
      if (c.gt < g || (c.gt == g && c.prior < prior)) lo = mid + 1;
      else hi = mid;
    }
    return lo < pairs_.size() && at(lo).gt == g && at(lo).prior == prior ? &at(lo) : nullptr;
  }

 private:
  static bool gt_prior_less(const CandidatePair& x, const CandidatePair& y) {
    return x.gt != y.gt ? x.gt < y.gt : x.prior < y.prior;
  }
  const CandidatePair& at(size_t k) const { return pairs_[order_.empty() ? k : order_[k]]; }

  const std::vector<CandidatePair>& pairs_;
  std::vector<size_t> order_;  // empty: the pairs are in order
};

// Candidates and picks from the pairs the assigner recorded, losses from
// lost_picks.
void count_picks_and_losses(const Assignment& a, ImageStats* s) {
  for (const CandidatePair& pair : a.candidates) {
    GtStats& gs = s->gts[pair.gt];
    if (pair.inside) ++gs.candidates;
    if (pair.picked) ++gs.picked;
  }
  std::vector<std::map<int64_t, int64_t>> lost_to(static_cast<size_t>(s->num_gts));
  for (const LostPick& lost : lost_picks(a)) {
    ++s->gts[lost.gt].lost;
    ++lost_to[lost.gt][lost.winner];
  }
  for (int64_t g = 0; g < s->num_gts; ++g) {
    auto& v = s->gts[g].lost_to;
    v.assign(lost_to[g].begin(), lost_to[g].end());
    std::stable_sort(v.begin(), v.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
  }
}

// OTA: each GT's row sum of the transport plan [G, N].
void add_plan_mass(const Assignment& a, ImageStats* s) {
  if (!a.transport_plan) return;
  const int64_t n = s->num_priors;
  for (int64_t g = 0; g < s->num_gts; ++g) {
    double mass = 0;
    for (int64_t i = 0; i < n; ++i) mass += static_cast<double>((*a.transport_plan)[static_cast<size_t>(g * n + i)]);
    s->gts[g].plan_mass = mass;
  }
}

// Adds positive `prior` of GT g to g's IoU, cost, centre distance, soft
// target and level counts.
void add_positive(const Problem& problem, const Assignment& a, const RecordedPairs& pairs, int64_t prior, int64_t g,
                  ImageStats* s) {
  GtStats& gs = s->gts[g];
  const CandidatePair* pair = pairs.find(prior, g);
  if (s->has_overlaps) {
    // The recorded pair's IoU is the IoU with this GT; max_overlaps can be
    // another GT's (max-iou's low-quality matches) and does not exist for
    // a multi-match result.
    if (pair) gs.iou.add(static_cast<double>(pair->iou));
    else if (!a.matches) gs.iou.add(static_cast<double>(a.max_overlaps[prior]));
  }
  if (pair) {
    gs.cost.add(static_cast<double>(pair->cost));
    for (size_t t = 0; t < gs.terms.size(); ++t) gs.terms[t].add(static_cast<double>(pair->terms[t]));
  }
  if (problem.has(Field::kPriors) && problem.priors(prior, 2) > 0) {
    const auto at = [&](int c) { return static_cast<double>(problem.priors(prior, c)); };
    const auto coord = [&](int c) { return static_cast<double>(gs.box[c]); };
    const double dx = at(0) - (coord(0) + coord(2)) / 2.0, dy = at(1) - (coord(1) + coord(3)) / 2.0;
    gs.centre_distance.add(std::sqrt(dx * dx + dy * dy) / at(2));
  }
  if (gs.soft_target_sum) *gs.soft_target_sum += static_cast<double>((*a.assign_metrics)[prior]);
  ++gs.positives;
  const int64_t l = problem.prior_level[prior];
  ++gs.positives_per_level[l];
  ++s->levels[l].positives;
}

// Positives, negatives and ignored priors, and each positive to its GT (with
// multi-match results every match: a prior serving several GTs counts for
// each).
void count_positives(const Problem& problem, const Assignment& a, ImageStats* s) {
  const int64_t num_levels = problem.num_levels();
  s->levels.resize(static_cast<size_t>(num_levels));
  for (int64_t l = 0; l < num_levels; ++l) {
    s->levels[l].level = l;
    s->levels[l].priors = problem.num_level_priors[l];
  }
  const RecordedPairs pairs(a.candidates);
  for (int64_t i = 0; i < s->num_priors; ++i) {
    const int64_t gi = a.gt_inds[i];
    if (gi == 0) {
      ++s->negatives;
    } else if (gi < 0) {
      ++s->ignored;
    } else {
      ++s->positives;
      if (gi > s->num_gts) {
        ++s->to_padding;  // a padding column: no GT of this image
      } else if (!a.matches) {
        add_positive(problem, a, pairs, i, gi - 1, s);
      }
    }
  }
  if (!a.matches) return;
  s->matches = static_cast<int64_t>(a.matches->size());
  std::map<int64_t, int64_t> per_prior;  // distinct GTs (yolov7 repeats a row per candidate column)
  std::set<std::pair<int64_t, int64_t>> seen;
  for (const Match& m : *a.matches) {
    add_positive(problem, a, pairs, m.prior, m.gt, s);
    if (seen.insert({m.prior, m.gt}).second) ++per_prior[m.prior];
  }
  for (const auto& [prior, count] : per_prior) s->priors_serving_several += count > 1;
}

// The GTs' means, the starved GTs, the GTs served per level, and the per-class
// and per-scale groups.
void finish_gts(ImageStats* s) {
  for (int64_t g = 0; g < s->num_gts; ++g) {
    GtStats& gs = s->gts[g];
    gs.iou.finish();
    gs.cost.finish();
    for (Summary& t : gs.terms) t.finish();
    gs.centre_distance.finish();
    if (gs.starved()) s->starved_gts.push_back(g);
    for (size_t l = 0; l < s->levels.size(); ++l)
      if (gs.positives_per_level[l] > 0) ++s->levels[l].gts_served;
    const GroupStats one{1, gs.positives, gs.starved() ? 1 : 0};
    s->classes[gs.label].add(one);
    s->scales[static_cast<size_t>(gs.scale)].add(one);
  }
}

}  // namespace

std::vector<LostPick> lost_picks(const Assignment& a) {
  std::set<std::pair<int64_t, int64_t>> matched;
  if (a.matches)
    for (const Match& m : *a.matches) matched.insert({m.prior, m.gt});
  std::vector<LostPick> lost;
  for (const CandidatePair& pair : a.candidates) {
    if (!pair.picked || matched.count({pair.prior, pair.gt}) != 0) continue;
    const int64_t owner = a.gt_inds[pair.prior] - 1;  // -1: negative (kBackground), -2: ignored
    if (owner != pair.gt && owner >= kBackground) lost.push_back({pair.prior, pair.gt, owner});
  }
  return lost;
}

ImageStats compute_stats(const Problem& problem, const Assignment& a) {
  ImageStats s;
  s.num_priors = a.num_priors();
  s.num_gts = problem.num_gts();
  s.has_overlaps = !a.max_overlaps.empty() || a.num_priors() == 0;
  s.cost_terms = a.cost_terms;
  init_gts(problem, a, &s);
  count_picks_and_losses(a, &s);
  add_plan_mass(a, &s);
  count_positives(problem, a, &s);
  finish_gts(&s);
  return s;
}

BatchStats compute_batch_stats(const Batch& batch, const std::vector<Assignment>& results) {
  BatchStats out;
  bool same_levels = true;
  for (size_t b = 0; b < results.size(); ++b) {
    ImageStats s = compute_stats(batch.images[b], results[b]);
    out.gts += s.num_gts;
    out.positives += s.positives;
    out.negatives += s.negatives;
    out.ignored += s.ignored;
    out.starved += static_cast<int64_t>(s.starved_gts.size());
    out.to_padding += s.to_padding;
    for (const auto& [label, group] : s.classes) out.classes[label].add(group);
    for (int k = 0; k < kNumScales; ++k) out.scales[k].add(s.scales[k]);
    if (b == 0) {
      out.levels = s.levels;
    } else if (same_levels && s.levels.size() == out.levels.size()) {
      for (size_t l = 0; l < s.levels.size(); ++l) {
        out.levels[l].priors += s.levels[l].priors;
        out.levels[l].positives += s.levels[l].positives;
        out.levels[l].gts_served += s.levels[l].gts_served;
      }
    } else {
      same_levels = false;
    }
    out.images.push_back(std::move(s));
  }
  if (!same_levels) out.levels.clear();
  return out;
}

}  // namespace assignscope::analysis
