// ATSS (Zhang et al., "Bridging the Gap Between Anchor-based and Anchor-free
// Detection via Adaptive Training Sample Selection", CVPR 2020, Alg. 1), as
// mmdetection and mmyolo compute it.
//
// atss: mmdet/models/task_modules/assigners/atss_assigner.py, ATSSAssigner
//   (commit adc8ffa5), without DDOD's cost (alpha = None).
// atss.mmyolo: mmyolo/models/task_modules/assigners/batch_atss_assigner.py,
//   BatchATSSAssigner (mmyolo 0.6.0, commit 8c4d9dc5), YOLOv6's warm-up
//   assigner.
// Both in float32, on anchor boxes (the dump's `anchors`, else squares of
// anchor_scale x stride centred on the priors, assign/anchors.h):
//
//   candidates   for each GT and each level, the topk anchors whose centre is
//                nearest the GT's centre (float32 Euclidean distance; ties:
//                lower index, the golden cases hold none at a boundary)
//   threshold    thr_g = mean + std of the IoUs (anchor, GT) of g's L x topk
//                candidates, std unbiased (torch.std)
//   positives    candidates with IoU >= thr_g (mmdet) | > thr_g (mmyolo) whose
//                anchor centre lies inside the GT: min(l, t, r, b) > margin
//   conflicts    an anchor positive for several GTs goes to the highest IoU:
//                among those GTs (mmdet) | over all GT columns (mmyolo)
//   result       positives: g + 1, g's label, IoU(anchor, g); others: 0 (-1
//                ignored), -1, -100000000.0 (mmdet) | 0.0 (mmyolo).
//
// The flavours differ in named rules (Rules below), point by point as
// ../shared/golden/VARIANTS.md lists them:
//   1. anchors: mmyolo builds squares of 5 x stride inside the assigner; both
//      take anchor_scale (8 for mmdet's harness, 5 for mmyolo)
//   2. threshold: IoU >= thr (mmdet) or IoU > thr (mmyolo)
//   3. inside margin: 0.01 (mmdet) or 1e-9 (mmyolo)
//   4. conflicts: argmax IoU among the GTs the anchor is positive for (mmdet)
//      or over ALL GT columns, padding included (mmyolo), which can hand an
//      anchor to a GT it was no candidate of
//   5. a level with fewer than topk priors (none included): mmdet takes
//      them all; mmyolo fails (torch.where shape mismatch), and the replay
//      takes them all with a note. A level of exactly one prior does not
//      fail in mmyolo: the broadcast makes its one-hot count topk, so it is
//      no candidate and its IoU enters the statistics as 0; the replay does
//      the same.
//   6. results: mmyolo writes 0 for negatives' max_overlaps and returns the
//      soft label as assign_metrics: IoU(prediction, assigned GT) by
//      yolov6_iou_calculator (1.0 when the dump has no predictions)
//   7. gt_bboxes_ignore (mmdet only, ignore_iof_thr > 0): anchors whose IoF
//      with some ignore box exceeds the threshold are marked -1 and moved to
//      distance 1e8; they stay candidates where a level runs out of others,
//      and then can still become positive.
#include "assign/atss.h"

#include <algorithm>
#include <optional>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "assign/anchors.h"
#include "assign/search_record.h"
#include "geometry/boxes.h"
#include "geometry/prior_grid.h"
#include "match/dynamic_k.h"
#include "match/torch_order.h"

namespace assignscope::assign {
namespace {

constexpr float kIgnoredDistance = 100000000.0f;  // mmdet's INF for ignored anchors

struct Rules {
  const char* name;
  bool strict_threshold;            // 2.
  float inside_margin;              // 3.
  bool conflicts_over_all_columns;  // 4.
  bool short_level_fails;           // 5.
  bool mmyolo_results;              // 6.
  bool ignore_boxes;                // 7.
};

constexpr Rules kMmdetection{"atss", false, 0.01f, false, false, false, true};
constexpr Rules kMmyolo{"atss.mmyolo", true, 1e-9f, true, true, true, false};

// mean + std of the candidate IoUs, as torch evaluates
// candidate_overlaps.mean(0) + candidate_overlaps.std(0) in float32:
//   mean  the float32 sum divided by n in float32; torch adds in float32 in
//         blocks whose order depends on the tensor's layout and the CPU's
//         vector width, so the sum is taken in float64 here and rounded once
//         (it agrees to an ulp; the golden cases hold no candidate that close
//         to its threshold)
//   std   sqrt of the unbiased variance, which torch accumulates in float64
//         (Welford) and rounds once; NaN for one value (0 / 0)
struct Threshold {
  float mean = 0, std = 0, value = 0;
};

Threshold mean_plus_std(const std::vector<float>& x) {
  const auto n = static_cast<int64_t>(x.size());
  Threshold t;
  if (n == 0) {
    t.mean = t.std = t.value = std::numeric_limits<float>::quiet_NaN();
    return t;
  }
  double sum = 0;
  for (float v : x) sum += static_cast<double>(v);
  t.mean = static_cast<float>(sum) / static_cast<float>(n);
  const double mean = sum / static_cast<double>(n);
  double m2 = 0;
  for (float v : x) m2 += (static_cast<double>(v) - mean) * (static_cast<double>(v) - mean);
  const double var = n > 1 ? m2 / static_cast<double>(n - 1) : std::numeric_limits<double>::quiet_NaN();
  t.std = static_cast<float>(std::sqrt(var));
  t.value = t.mean + t.std;
  return t;
}

// ||anchor centre - GT centre|| in float32: (dx^2 + dy^2).sqrt().
float centre_distance(float ax, float ay, float gx, float gy) {
  const float dx = ax - gx, dy = ay - gy;
  return std::sqrt(dx * dx + dy * dy);
}

// First index of the largest value; NaN counts as the largest (torch.max /
// torch.argmax over a dimension).
template <class ValueOf>
int64_t first_argmax(int64_t n, const ValueOf& value_of) {
  int64_t best = 0;
  float best_value = value_of(0);
  for (int64_t j = 1; j < n && !std::isnan(best_value); ++j) {
    const float v = value_of(j);
    if (!(v <= best_value)) best_value = v, best = j;
  }
  return best;
}

class Atss final : public Assigner {
 public:
  Atss(const Rules& rules, const Params& params)
      : rules_(rules),
        params_(params),
        topk_(params.get_int("topk")),
        anchor_scale_(params.get_float("anchor_scale")),
        ignore_iof_thr_(rules.ignore_boxes ? params.get_float("ignore_iof_thr") : -1.0),
        sparse_search_(sparse_search(params)) {}

  Assignment assign(const Problem& p) const override {
    Assignment out;
    if (p.num_gts() == 0 || p.num_priors() == 0) {
      out = nothing_to_assign(p, false);
      if (rules_.mmyolo_results) out.assign_metrics = std::vector<float>(static_cast<size_t>(p.num_priors()), 0.0f);
    } else {
      out = match(p);
    }
    out.assigner = rules_.name;
    out.params = params_;
    out.cost_terms = {"distance", "iou_threshold"};
    return out;
  }

 private:
  // 7. Anchors whose largest IoF (overlap / anchor area) with an ignore box
  // exceeds ignore_iof_thr.
  std::vector<char> ignored_anchors(const Problem& p, const Rows4f& anchors) const {
    std::vector<char> ignored(static_cast<size_t>(p.num_priors()), 0);
    const auto k = static_cast<int64_t>(p.gt_bboxes_ignore.rows());
    if (!rules_.ignore_boxes || !(ignore_iof_thr_ > 0) || k == 0) return ignored;
    const auto thr = static_cast<float>(ignore_iof_thr_);
    for (int64_t i = 0; i < p.num_priors(); ++i) {
      const float* a = &anchors(i, 0);
      const float area = geometry::area(a);
      const int64_t best =
          first_argmax(k, [&](int64_t j) { return geometry::iof(a, &p.gt_bboxes_ignore(j, 0), area); });
      ignored[i] = geometry::iof(a, &p.gt_bboxes_ignore(best, 0), area) > thr;
    }
    return ignored;
  }

  // The anchors as the steps see them: boxes, centres, the ignored ones (7.)
  // and the areas.
  struct AnchorSet {
    Rows4f boxes, centres;
    std::vector<char> ignored;
    std::vector<float> area;
    float iou(int64_t i, const float* box) const {
      return geometry::iou(&boxes(i, 0), box, area[i], geometry::area(box));
    }
  };

  // Scratch reused over the GTs.
  struct Scratch {
    std::vector<float> distance;  // a level's anchor distances to the GT centre
    std::vector<int32_t> near_j;
    std::vector<float> near_d;
    std::vector<float> candidate_iou;
  };

  AnchorSet anchor_set(const Problem& p) const {
    AnchorSet a;
    a.boxes = anchor_boxes(p, anchor_scale_);
    a.centres = anchor_centres(a.boxes);
    a.ignored = ignored_anchors(p, a.boxes);
    a.area.resize(static_cast<size_t>(p.num_priors()));
    for (int64_t i = 0; i < p.num_priors(); ++i) a.area[i] = geometry::area(&a.boxes(i, 0));
    return a;
  }

  // GT column c: a real GT, then mmyolo's padding columns.
  static const float* column_box(const Problem& p, int64_t c) {
    return c < p.num_gts() ? &p.gt_bboxes(c, 0) : &p.padding_gt_bboxes(c - p.num_gts(), 0);
  }

  Assignment match(const Problem& p) const {
    const int64_t num_priors = p.num_priors();
    const int64_t num_gts = p.num_gts();
    const AnchorSet a = anchor_set(p);

    const float negative_overlap = rules_.mmyolo_results ? 0.0f : kMmdetNegativeOverlap;
    Assignment out = Assignment::Empty(num_priors, num_gts, negative_overlap, false);
    for (int64_t i = 0; i < num_priors; ++i)
      if (a.ignored[i]) out.gt_inds[i] = -1;
    note_short_levels(p, &out);

    // The anchor centres on per-level grids (and no ignored anchor): each
    // level's nearest anchors are searched around the GT's centre.
    std::optional<geometry::PriorGrid> grid;
    out.search = search_plan(sparse_search_, p);
    if (out.search.path == SearchRecord::Path::kSparse) {
      if (std::find(a.ignored.begin(), a.ignored.end(), 1) != a.ignored.end())
        out.search = {SearchRecord::Path::kDense, "anchors ignored by gt_bboxes_ignore (distance 1e8)"};
      else grid = geometry::PriorGrid::of_points(a.centres, p.num_level_priors);
      if (out.search.path == SearchRecord::Path::kSparse && !grid)
        out.search = {SearchRecord::Path::kDense, "the priors form no grid"};
    }

    // Steps 1-3 per GT: candidates, threshold, positives.
    std::vector<std::vector<int32_t>> positive_for(static_cast<size_t>(num_priors));  // GTs, ascending
    Scratch scratch;
    for (int64_t g = 0; g < num_gts; ++g) {
      std::vector<CandidatePair> pairs;
      std::vector<char> counts;  // 5. false for a one-prior level's prior in mmyolo
      gt_candidates(p, a, grid ? &*grid : nullptr, g, &scratch, &pairs, &counts, &out);
      select_positives(&pairs, counts, &scratch, &positive_for);
      std::sort(pairs.begin(), pairs.end(),
                [](const CandidatePair& x, const CandidatePair& y) { return x.prior < y.prior; });
      out.candidates.insert(out.candidates.end(), pairs.begin(), pairs.end());
    }

    // Step 4: conflicts, and the result.
    resolve_conflicts(p, a, positive_for, &out);
    if (rules_.mmyolo_results) soft_labels(p, &out);
    return out;
  }

  // Step 1 on level l for GT g, centre (gx, gy): its k nearest anchors,
  // level-relative, by (distance, index) (torch's CPU order where the k-th
  // distance is shared with an anchor left out); their distances in
  // s->distance. `start`: the level's first prior.
  std::vector<int32_t> nearest_on_level(const Problem& p, const AnchorSet& a, const geometry::PriorGrid* grid,
                                        int64_t g, int64_t l, int64_t start, float gx, float gy, Scratch* s,
                                        Assignment* out) const {
    const int64_t size = p.num_level_priors[l];
    const int64_t k = std::min(topk_, size);
    std::vector<float>& distance = s->distance;
    distance.resize(static_cast<size_t>(size));
    std::vector<int32_t> nearest;
    bool tied = false;
    const auto level_distances = [&]() {
      for (int64_t j = 0; j < size; ++j) {
        const int64_t i = start + j;
        distance[j] = a.ignored[i] ? kIgnoredDistance : centre_distance(a.centres(i, 0), a.centres(i, 1), gx, gy);
      }
    };
    if (grid && std::isfinite(gx) && std::isfinite(gy)) {
      nearest = nearest_on_grid(grid->levels()[static_cast<size_t>(l)], *grid, a.centres, gx, gy, k, &s->near_j,
                                &s->near_d, &tied);
      for (size_t n = 0; n < nearest.size(); ++n) distance[nearest[n]] = s->near_d[n];
    } else {
      level_distances();
      nearest = match::k_smallest(distance.data(), size, k);
      tied = match::boundary_tie(distance.data(), size, nearest);
    }
    if (tied) {
      // The k-th nearest distance is shared with an anchor left out (a GT
      // centre midway between anchors): torch.topk's CPU order decides.
      level_distances();
      nearest = match::torch_topk_cpu(distance, k, /*largest=*/false);
      std::sort(nearest.begin(), nearest.end(), [&](int32_t x, int32_t y) {
        return distance[x] < distance[y] || (!(distance[y] < distance[x]) && x < y);
      });
      out->notes.push_back(fmt::format(
          "GT {} level {}: its {}-th nearest anchor distance is shared with an anchor left out; taken in the order "
          "PyTorch's CPU topk gives equal keys, as the reference run on a CPU does (a CUDA run can take others)",
          g, l, k));
    }
    if (rules_.ignore_boxes && !nearest.empty() && distance[nearest.back()] == kIgnoredDistance)
      note_ignored_candidates(g, l, size, k, distance, out);
    return nearest;
  }

  // Step 1 for GT g: its candidates over all levels, with distance, IoU and
  // the inside test, and in `counts` whether each counts (5.).
  void gt_candidates(const Problem& p, const AnchorSet& a, const geometry::PriorGrid* grid, int64_t g, Scratch* s,
                     std::vector<CandidatePair>* pairs, std::vector<char>* counts, Assignment* out) const {
    const float* gt = &p.gt_bboxes(g, 0);
    const float gx = geometry::centre_x(gt), gy = geometry::centre_y(gt);
    int64_t start = 0;
    for (int64_t l = 0; l < p.num_levels(); ++l) {
      const int64_t size = p.num_level_priors[l];
      const std::vector<int32_t> nearest = nearest_on_level(p, a, grid, g, l, start, gx, gy, s, out);
      const bool one_prior_level = rules_.short_level_fails && size == 1 && topk_ > 1;
      for (int32_t j : nearest) {
        CandidatePair pair;
        pair.prior = static_cast<int32_t>(start + j);
        pair.gt = static_cast<int32_t>(g);
        pair.cost = s->distance[j];
        pair.terms[0] = s->distance[j];
        pair.iou = one_prior_level ? 0.0f : a.iou(pair.prior, gt);
        pair.inside = geometry::inside(a.centres(pair.prior, 0), a.centres(pair.prior, 1), gt, rules_.inside_margin);
        pairs->push_back(pair);
        counts->push_back(!one_prior_level);
      }
      start += size;
    }
  }

  // Steps 2 and 3 for one GT's candidates: thr_g, and the positives among
  // them (picked, and their GT added to positive_for).
  void select_positives(std::vector<CandidatePair>* pairs, const std::vector<char>& counts, Scratch* s,
                        std::vector<std::vector<int32_t>>* positive_for) const {
    s->candidate_iou.clear();
    for (const CandidatePair& pair : *pairs) s->candidate_iou.push_back(pair.iou);
    const Threshold thr = mean_plus_std(s->candidate_iou);
    for (size_t c = 0; c < pairs->size(); ++c) {
      CandidatePair& pair = (*pairs)[c];
      pair.terms[1] = thr.value;
      const bool passes = rules_.strict_threshold ? pair.iou > thr.value : pair.iou >= thr.value;
      pair.picked = passes && pair.inside && counts[c];
      if (pair.picked) (*positive_for)[pair.prior].push_back(pair.gt);
    }
  }

  // mmyolo's argmax over every column (4.) goes through an index of the GT
  // boxes when all are finite: only GTs overlapping the anchor have IoU > 0.
  std::optional<geometry::BoxIndex> gt_box_index(const Problem& p) const {
    const int64_t num_gts = p.num_gts();
    bool finite_gts = true;
    for (int64_t g = 0; g < num_gts; ++g)
      for (int c = 0; c < 4; ++c) finite_gts &= std::isfinite(p.gt_bboxes(g, c));
    if (!(rules_.conflicts_over_all_columns && sparse_search_ && geometry::sparse_search_range(p) && finite_gts &&
          num_gts > 0))
      return std::nullopt;
    const geometry::GtExtent e = geometry::gt_extent(p.gt_bboxes);
    std::optional<geometry::BoxIndex> index(std::in_place, e.x0, e.y0, e.x1, e.y1, e.cell);
    for (int64_t g = 0; g < num_gts; ++g) index->insert(static_cast<int32_t>(g), &p.gt_bboxes(g, 0));
    return index;
  }

  // Step 4: each positive anchor's owner (the highest IoU among its GTs, or
  // over all columns), and the result's indices, labels and overlaps.
  void resolve_conflicts(const Problem& p, const AnchorSet& a, const std::vector<std::vector<int32_t>>& positive_for,
                         Assignment* out) const {
    const int64_t num_gts = p.num_gts();
    const int64_t padding = rules_.conflicts_over_all_columns ? static_cast<int64_t>(p.padding_gt_labels.size()) : 0;
    const std::optional<geometry::BoxIndex> gt_index = gt_box_index(p);
    std::vector<uint32_t> gt_seen(static_cast<size_t>(num_gts), 0);
    uint32_t query = 0;
    const auto argmax_all_columns = [&](int64_t i) -> int64_t {
      if (!gt_index) return first_argmax(num_gts + padding, [&](int64_t c) { return a.iou(i, column_box(p, c)); });
      int64_t best = 0;
      float best_u = a.iou(i, column_box(p, 0));
      gt_index->query(&a.boxes(i, 0), &gt_seen, ++query, [&](int32_t g) {
        const float u = a.iou(i, column_box(p, g));
        if (u > best_u || (u == best_u && g < best)) best_u = u, best = g;
      });
      for (int64_t c = num_gts; c < num_gts + padding; ++c) {
        const float u = a.iou(i, column_box(p, c));
        if (u > best_u) best_u = u, best = c;
      }
      return best;
    };
    int64_t to_padding = 0;
    for (int64_t i = 0; i < p.num_priors(); ++i) {
      const std::vector<int32_t>& gts = positive_for[i];
      if (gts.empty()) continue;
      int64_t owner = gts[0];
      if (gts.size() > 1 && rules_.conflicts_over_all_columns) {
        owner = argmax_all_columns(i);
      } else if (gts.size() > 1) {
        const auto n = static_cast<int64_t>(gts.size());
        owner = gts[static_cast<size_t>(first_argmax(n, [&](int64_t j) { return a.iou(i, &p.gt_bboxes(gts[j], 0)); }))];
      }
      out->gt_inds[i] = owner + 1;
      if (owner < num_gts) {
        out->labels[i] = p.gt_labels[owner];
      } else {
        out->labels[i] = p.padding_gt_labels[owner - num_gts];
        ++to_padding;
      }
      out->max_overlaps[i] = a.iou(i, column_box(p, owner));
    }
    if (to_padding > 0)
      out->notes.push_back(fmt::format(
          "{} prior(s) positive for several GTs went to a padding column, whose box overlaps their anchor more than "
          "any real GT's: mmyolo's select_highest_overlaps takes the argmax over every column; assigned_gt_inds "
          "then names the padding column (> G)",
          to_padding));
  }

  // 6. The soft label: IoU(prediction, assigned GT) as yolov6_iou_calculator.
  static void soft_labels(const Problem& p, Assignment* out) {
    std::vector<float> metrics(static_cast<size_t>(p.num_priors()), 0.0f);
    const bool with_preds = p.has(Field::kPredBboxes);
    for (int64_t i = 0; i < p.num_priors(); ++i) {
      if (out->gt_inds[i] <= 0) continue;
      metrics[i] = with_preds ? geometry::iou_yolov6(column_box(p, out->gt_inds[i] - 1), &p.pred_bboxes(i, 0)) : 1.0f;
    }
    if (!with_preds)
      out->notes.push_back(
          "no predicted boxes: the soft label (assign_metrics) of every positive is 1.0, as "
          "BatchATSSAssigner gives without pred_bboxes");
    out->assign_metrics = std::move(metrics);
  }

  // The k anchors of `level` nearest (gx, gy), by (distance, index) as
  // k_smallest orders them: squares around the centre grow until the k-th
  // nearest inside lies closer than the square's half-side, so that every
  // anchor outside is strictly further. Level-relative indices; their
  // distances in `*dist`.
  static std::vector<int32_t> nearest_on_grid(const geometry::PriorGrid::Level& level, const geometry::PriorGrid& grid,
                                              const Rows4f& centres, float gx, float gy, int64_t k,
                                              std::vector<int32_t>* js, std::vector<float>* dist, bool* tied) {
    const float step = level.cols > 1 ? level.xs[1] - level.xs[0] : level.rows > 1 ? level.ys[1] - level.ys[0] : 1.0f;
    float half = step * (std::sqrt(static_cast<float>(k)) / 2.0f + 1.0f);
    for (;;) {
      js->clear();
      std::vector<float> d;
      const bool all = gx - half <= level.xs.front() && gx + half >= level.xs.back() && gy - half <= level.ys.front() &&
                       gy + half >= level.ys.back();
      grid.for_each_in(level, gx - half, gy - half, gx + half, gy + half, [&](int32_t i) {
        js->push_back(static_cast<int32_t>(i - level.first));
        d.push_back(centre_distance(centres(i, 0), centres(i, 1), gx, gy));
      });
      if (static_cast<int64_t>(js->size()) >= k || all) {
        const std::vector<int32_t> pick = match::k_smallest(d.data(), static_cast<int64_t>(d.size()), k);
        if (all || pick.empty() || d[pick.back()] < half * (1.0f - 1e-5f)) {
          // Every anchor outside the square is strictly further: a tie at the
          // k-th distance lies inside it.
          *tied = match::boundary_tie(d.data(), static_cast<int64_t>(d.size()), pick);
          std::vector<int32_t> out;
          dist->clear();
          for (int32_t n : pick) out.push_back((*js)[n]), dist->push_back(d[n]);
          return out;
        }
      }
      half *= 2.0f;
    }
  }

  // 5. mmyolo fails on a level with fewer than topk priors, none included
  // (a [B, G, 0] top-k against the [B, G, topk] padding mask), but not on a
  // level of one.
  void note_short_levels(const Problem& p, Assignment* out) const {
    if (!rules_.short_level_fails) return;
    for (int64_t l = 0; l < p.num_levels(); ++l) {
      const int64_t size = p.num_level_priors[l];
      if (size >= topk_) continue;
      if (size == 0)
        out->notes.push_back(fmt::format(
            "level {} has no priors, fewer than topk = {}: mmyolo's BatchATSSAssigner fails there (torch.where "
            "shape mismatch in select_topk_candidates); the replay skips the level, as mmdetection does",
            l, topk_));
      else if (size == 1)
        out->notes.push_back(fmt::format(
            "level {} has a single prior: mmyolo's one-hot of its top-{} broadcast counts it {} times, so it is no "
            "GT's candidate and enters each GT's IoU mean and std as 0; the replay does the same",
            l, topk_, topk_));
      else
        out->notes.push_back(fmt::format(
            "level {} has {} priors, fewer than topk = {}: mmyolo's BatchATSSAssigner fails there (torch.where shape "
            "mismatch in select_topk_candidates); the replay takes all {} as candidates, as mmdetection does",
            l, size, topk_, size));
    }
  }

  // 7. A GT whose top-k on a level reaches ignored anchors (distance 1e8):
  // when more of them are tied than it takes, torch.topk's order decides.
  static void note_ignored_candidates(int64_t g, int64_t level, int64_t size, int64_t k,
                                      const std::vector<float>& distance, Assignment* out) {
    const auto at_inf = std::count(distance.begin(), distance.begin() + size, kIgnoredDistance);
    const int64_t finite = size - at_inf;
    if (at_inf > k - finite)
      out->notes.push_back(fmt::format(
          "GT {}: level {} has {} anchors that are not ignored, fewer than topk = {}; the remaining candidates are "
          "ignored anchors at distance 1e8, all tied, and which of them torch.topk returns is not specified (the "
          "replay takes the lowest indices)",
          g, level, finite, k));
  }

  Rules rules_;
  Params params_;
  int64_t topk_;
  double anchor_scale_;
  double ignore_iof_thr_;
  bool sparse_search_;
};

AssignerInfo make_info(const Rules& rules, std::vector<ParamSpec> specs, std::string summary, std::string reference,
                       std::vector<Need> needs) {
  AssignerInfo info;
  info.name = rules.name;
  info.summary = std::move(summary);
  info.reference = std::move(reference);
  info.params = std::move(specs);
  info.params.push_back(search_param());
  info.needs = std::move(needs);
  info.result_files = {"assigned_gt_inds.npy", "assigned_labels.npy", "max_overlaps.npy"};
  if (rules.mmyolo_results) info.result_files.push_back("assign_metrics.npy");
  info.numerics =
      "a GT with a single candidate has an IoU threshold of mean + std with torch.std's unbiased n - 1 = 0: NaN, which "
      "no candidate passes";
  info.make = [rules](const Params& params) { return std::make_unique<Atss>(rules, params); };
  // Positives need the centre inside the GT.
  info.traits = {CostDefinition::kNone,
                 /*multi_match=*/false,
                 /*dynamic_k=*/false,
                 /*picks_k=*/false,
                 /*conflict_over_all=*/std::nullopt,  // per flavour, below
                 /*geometric=*/true,
                 /*records_pairs=*/true,
                 /*sparse_search=*/true};
  return info;
}

ParamSpec topk_param() {
  return {"topk", ParamType::kInt, int64_t{9}, "candidates per level: the anchors nearest the GT's centre",
          1.0,    std::nullopt,    {}};
}

ParamSpec anchor_scale_param(double scale) {
  return {"anchor_scale",
          ParamType::kFloat,
          scale,
          "side of the square anchors built from the priors, in strides (the dump's anchors field wins)",
          0.0,
          std::nullopt,
          {}};
}

}  // namespace

AssignerInfo atss_info() {
  AssignerInfo info = make_info(
      kMmdetection,
      {topk_param(),
       {"ignore_iof_thr",
        ParamType::kFloat,
        -1.0,
        "anchors whose IoF with a gt_bboxes_ignore box exceeds this are ignored (-1); <= 0: ignore boxes unused",
        std::nullopt,
        std::nullopt,
        {}},
       anchor_scale_param(8.0)},
      "ATSS: per level the topk anchors nearest each GT's centre, positive when IoU >= mean + std and centre in "
      "the GT",
      "mmdetection mmdet/models/task_modules/assigners/atss_assigner.py ATSSAssigner (commit adc8ffa5)",
      {{Field::kAnchors, Field::kPriors}, {Field::kGtBboxes}, {Field::kGtLabels}});
  info.class_names = {{"ATSSAssigner", ClassName::Syntax::kAny}};
  info.traits.conflict_over_all = false;  // the largest IoU among the GTs that picked the anchor
  info.config_ignored = {"iou_calculator"};
  info.replays = [](const Params&) { return std::vector<FrameworkRange>{{"mmdet", "3.0.0", "4", "mmdetection 3.x"}}; };
  return info;
}

AssignerInfo atss_mmyolo_info() {
  AssignerInfo info =
      make_info(kMmyolo, {topk_param(), anchor_scale_param(5.0)},
                "mmyolo's batched ATSS (YOLOv6 warm-up): IoU > mean + std, centre eps 1e-9, conflicts by argmax "
                "IoU over all GTs, soft label = prediction IoU",
                "mmyolo mmyolo/models/task_modules/assigners/batch_atss_assigner.py BatchATSSAssigner "
                "(mmyolo 0.6.0, commit 8c4d9dc5)",
                {{Field::kAnchors, Field::kPriors}, {Field::kGtBboxes}, {Field::kGtLabels}});
  info.accepts_zero_stride_priors = true;  // its anchors are priors * 2.5 strides: zero-size ones
  info.class_names = {{"BatchATSSAssigner", ClassName::Syntax::kAny}};
  info.traits.conflict_over_all = true;  // select_highest_overlaps: argmax IoU over all GTs
  info.config_ignored = {"num_classes", "iou_calculator"};
  info.replays = [](const Params&) { return std::vector<FrameworkRange>{{"mmyolo", "0.6.0", "0.7", "mmyolo 0.6"}}; };
  return info;
}

}  // namespace assignscope::assign
