// TOOD's task-aligned assignment, as mmdetection, mmyolo and ultralytics
// compute it.
//
// task-aligned: mmdet/models/task_modules/assigners/task_aligned_assigner.py,
//   TaskAlignedAssigner (commit d4ccf312), with the soft targets of
//   mmdet/models/dense_heads/tood_head.py, TOODHead._get_targets_single.
// task-aligned.mmyolo: mmyolo/models/task_modules/assigners/
//   batch_task_aligned_assigner.py, BatchTaskAlignedAssigner, with
//   select_candidates_in_gts / select_highest_overlaps / yolov6_iou_calculator
//   of utils.py (mmyolo 0.6.0, commit 8c4d9dc5).
// task-aligned.ultralytics: ultralytics/utils/tal.py, TaskAlignedAssigner
//   (commit 002217d4), CIoU from ultralytics/utils/metrics.py bbox_iou
//   (commit 000df7b3).
// task-aligned.ultralytics with `stride` / `topk2`: ultralytics 8.4
//   (ultralytics/utils/tal.py of 8.4.0 - 8.4.52, huilin66/ultralytics
//   93e05552; golden cases from 8.4.101), select_candidates_in_gts (STAL) and
//   select_highest_overlaps (topk2).
// All in float32:
//
//   1. points     mmdet: the centres ((x1 + x2) / 2, (y1 + y2) / 2) of the
//                 anchors it is given (the dump's, else squares of side
//                 8 * stride, as the golden harness fed it); mmyolo,
//                 ultralytics: the prior points as stored.
//   2. inside     prior point p is inside GT g when
//                 min(px - x1, py - y1, x2 - px, y2 - py) > margin,
//                 margin 0.01 (mmdet) | 1e-9 (mmyolo, ultralytics).
//                 ultralytics 8.4 (parameter `stride` given, "STAL"): for
//                 this test only, the GT goes to (cx, cy, w, h) and back
//                 (xyxy2xywh, xywh2xyxy in float32), a side w < stride[0]
//                 replaced by stride[1] (stride[0] when there is one stride).
//   3. metric     t(p, g) = s^alpha * u^beta, s = sigmoid(logit of g's class),
//                 u = mmdet's bbox_overlaps(pred, gt) | yolov6_iou_calculator
//                 (gt, pred), union + 1e-9 | CIoU(gt, pred) clamped at 0 and
//                 only for pairs inside g (0 elsewhere, score too)
//                 (ultralytics). Powers as torch's pow(Tensor, Scalar): 1 is
//                 a copy, 0.5 a sqrt, 2 and 3 products.
//   4. top-k      per GT, the k = min(topk, N) largest metrics; where equal
//                 values at the boundary decide, in torch.topk's CPU order
//                 over the reference's row of N (match/torch_order.h);
//                 mmdet: over ALL priors, then kept only if t > 0 and inside;
//                 mmyolo, ultralytics: over t * inside, kept if inside — when
//                 fewer than k inside priors have t > 0, the rest of the k are
//                 zero-valued priors in torch's CPU order; an inside one
//                 becomes a positive with t = 0 (noted).
//   5. conflicts  a prior positive for several GTs goes to
//                 mmdet: the largest u among those GTs;
//                 mmyolo, ultralytics: the largest u over ALL GTs (argmax of
//                 the whole overlap column), which may be a GT that did not
//                 pick it. First maximum on ties (torch max / argmax).
//  5b. topk2      ultralytics 8.4 with topk2 != topk (YOLO26 one-to-one:
//                 topk 7, topk2 1): each GT keeps its topk2 final positives
//                 of largest t (torch.topk over t * mask_pos, all N priors);
//                 the rest become negatives.
//   6. soft target per GT g over its final positives, T = max t, U = max u:
//                 mmdet (TOODHead): t / (T + 10e-8) * U;
//                 mmyolo, ultralytics: t * U / (T + eps).
//   7. result     positives: g + 1, g's label, max_overlaps u(p, g),
//                 assign_metrics the soft target; mmdet also
//                 assign_metrics_raw = t(p, g). Others: 0, -1, max_overlaps
//                 -100000000.0 (mmdet) | 0 (mmyolo, ultralytics), metrics 0.
//                 G = 0 (or N = 0): all negative, max_overlaps all 0.0.
//
// A stacked batch's padding GT columns (mmyolo, ultralytics) are not
// mirrored: their boxes are zero, so their overlap with every prediction is 0
// and no point is inside them; they pick nothing (topk_mask) and, standing
// after the real GTs, never win step 5's first-maximum argmax.
//
// Work: the inside test, and for mmdet the IoU, over all (GT, prior) pairs,
// but the metric only where it can matter (mmdet: u > 0 or inside; flavours:
// inside), and nothing over C classes.
#include "assign/task_aligned.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "assign/anchors.h"
#include "assign/search_record.h"
#include "cost/terms.h"
#include "geometry/boxes.h"
#include "geometry/prior_grid.h"
#include "match/dynamic_k.h"
#include "match/torch_order.h"

namespace assignscope::assign {
namespace {

using cost::torch_pow;

constexpr double kHarnessAnchorScale = 8.0;      // side of the square anchors the golden harness built, in strides
constexpr float kToodNormEps = 10e-8f;           // TOODHead._get_targets_single's 10e-8
constexpr float kMmdetRejected = -100000000.0f;  // mmdet's -INF of overlaps_inf

enum class Overlap {
  kBboxOverlaps,  // mmdet BboxOverlaps2D(pred, gt): overlap / max(union, 1e-6)
  kYolov6,        // mmyolo yolov6_iou_calculator(gt, pred): areas clipped at 0, union + 1e-9
  kCiouClamped,   // ultralytics bbox_iou(gt, pred, CIoU=True).clamp_(0)
};

// The flavours' differences, by the step of the header they change.
struct Rules {
  const char* name;
  bool anchor_centres;         // step 1: anchor centres (mmdet) | prior points as stored
  float inside_margin;         // step 2: 0.01 (mmdet) | 1e-9
  Overlap overlap;             // step 3: which u
  bool only_inside_pairs;      // step 3: s, u and t are 0 for pairs outside the GT (ultralytics)
  bool topk_among_inside;      // step 4: top-k of t * inside (flavours) | of t over all priors (mmdet)
  bool positive_needs_metric;  // step 4: a pick must have t > 0 (mmdet) | zero-valued picks count
  bool resolve_over_all_gts;   // step 5: argmax over every GT (flavours) | among the prior's GTs (mmdet)
  bool tood_normalisation;     // step 6: t / (T + 10e-8) * U (mmdet) | t * U / (T + eps)
  float negative_overlap;      // step 7
  bool raw_metrics;            // step 7: assign_metrics_raw (mmdet)
};

constexpr Rules kMmdetection{"task-aligned", true,  0.01f, Overlap::kBboxOverlaps, false, false,
                             true,           false, true,  kMmdetNegativeOverlap,  true};
constexpr Rules kMmyolo{
    "task-aligned.mmyolo", false, 1e-9f, Overlap::kYolov6, false, true, false, true, false, 0.0f, false};
constexpr Rules kUltralytics{
    "task-aligned.ultralytics", false, 1e-9f, Overlap::kCiouClamped, true, true, false, true, false, 0.0f, false};

// ultralytics' bbox_iou(gt, pred, xywh=False, CIoU=True).clamp_(0).
float ciou_clamped(const float* gt, const float* pred) {
  const float ciou = geometry::ciou(gt, pred);
  return ciou < 0.0f ? 0.0f : ciou;  // clamp_(0); NaN stays NaN
}

// What a (GT, prior) pair contributes, as the reference holds it.
struct Pair {
  int32_t prior = 0;
  float score = 0;    // s = sigmoid(logit of the GT's class)
  float overlap = 0;  // u
  float metric = 0;   // t = s^alpha * u^beta
  bool inside = false;
  bool picked = false;  // in the GT's top-k (step 4), before conflicts
};

// One image as the steps see it: the problem, the points of step 1, and the
// boxes of step 2's inside test (the GT boxes, or ultralytics 8.4's widened ones).
struct Scene {
  const Problem& p;
  const Rows4f& points;
  Rows4f inside_boxes;  // [G, 4]
  const float* inside_box(int64_t g) const { return &inside_boxes(g, 0); }
};

// ultralytics 8.4's select_candidates_in_gts box (STAL): xyxy2xywh, sides
// below stride[0] set to stride_val, xywh2xyxy, in float32 and that order.
Rows4f stal_boxes(const Rows4f& gt, float min_side, float widened_side) {
  Rows4f out(gt.rows(), 4);
  for (int64_t g = 0; g < gt.rows(); ++g) {
    for (int axis = 0; axis < 2; ++axis) {
      const float lo = gt(g, axis), hi = gt(g, axis + 2);
      const float c = (lo + hi) / 2.0f;
      float side = hi - lo;
      if (side < min_side) side = widened_side;
      const float half = side / 2.0f;
      out(g, axis) = c - half;
      out(g, axis + 2) = c + half;
    }
  }
  return out;
}

// Orders pairs best first: larger metric, NaN above everything (torch.topk),
// then the lower prior index.
bool better(const Pair& a, const Pair& b) {
  const bool a_nan = std::isnan(a.metric), b_nan = std::isnan(b.metric);
  if (a_nan != b_nan) return a_nan;
  if (!a_nan && a.metric != b.metric) return a.metric > b.metric;
  return a.prior < b.prior;
}

bool positive_value(float t) { return t > 0.0f || std::isnan(t); }

// torch's max: NaN wins.
float max_propagating_nan(float a, float b) { return std::isnan(a) || a >= b ? a : b; }

struct Settings {
  int64_t topk;
  double alpha;
  double beta;
  float eps;
  bool stal = false;        // ultralytics 8.4: `stride` given
  float stal_min_side = 0;  // stride[0]
  float stal_side = 0;      // stride[1] (stride[0] when alone)
  int64_t topk2 = 0;        // 0: no topk2 step (null, or equal to topk)
};

Settings settings_of(const Rules& rules, const Params& params) {
  Settings s{params.get_int("topk"), params.get_float("alpha"), params.get_float("beta"),
             rules.tood_normalisation ? kToodNormEps : static_cast<float>(params.get_float("eps"))};
  if (params.has("stride") && !params.is_null("stride")) {
    const Numbers& stride = params.get_numbers("stride");
    s.stal = true;
    s.stal_min_side = static_cast<float>(stride[0]);
    s.stal_side = static_cast<float>(stride.size() > 1 ? stride[1] : stride[0]);
  }
  // `self.topk2 = topk2 or topk`; the step runs when it differs from topk.
  if (params.has("topk2") && !params.is_null("topk2") && params.get_int("topk2") != s.topk)
    s.topk2 = params.get_int("topk2");
  return s;
}

class TaskAligned final : public Assigner {
 public:
  TaskAligned(const Rules& rules, const Params& params)
      : rules_(rules), params_(params), s_(settings_of(rules, params)), sparse_search_(sparse_search(params)) {}

  Assignment assign(const Problem& p) const override {
    Assignment out;
    if (p.num_gts() == 0 || p.num_priors() == 0) {
      // Every reference returns before computing anything: all zeros.
      out = nothing_to_assign(p, false);
      out.assign_metrics = std::vector<float>(static_cast<size_t>(p.num_priors()), 0.0f);
      if (rules_.raw_metrics) out.assign_metrics_raw = out.assign_metrics;
    } else {
      out = match(p);
    }
    out.assigner = rules_.name;
    out.params = params_;
    out.cost_terms = {"metric", "score", "iou"};
    return out;
  }

 private:
  float metric_of(float score, float overlap) const { return torch_pow(score, s_.alpha) * torch_pow(overlap, s_.beta); }

  // Step 4's outcome for a pair: picked and inside (mmdet: also t > 0).
  bool is_positive(const Pair& pair) const {
    return pair.inside && pair.picked && (!rules_.positive_needs_metric || pair.metric > 0.0f);
  }

  float overlap_of(const float* gt, const float* pred) const {
    switch (rules_.overlap) {
      case Overlap::kBboxOverlaps: return geometry::iou(pred, gt);
      case Overlap::kYolov6: return geometry::iou_yolov6(gt, pred);
      case Overlap::kCiouClamped: return ciou_clamped(gt, pred);
    }
    return 0.0f;
  }

  // Steps 2 and 3 for one pair, from scratch.
  Pair evaluate(const Scene& sc, int64_t g, int64_t i) const {
    const Problem& p = sc.p;
    Pair pair;
    pair.prior = static_cast<int32_t>(i);
    const float* gt = &p.gt_bboxes(g, 0);
    pair.inside = geometry::inside(sc.points(i, 0), sc.points(i, 1), sc.inside_box(g), rules_.inside_margin);
    if (rules_.only_inside_pairs && !pair.inside) {
      pair.metric = metric_of(0.0f, 0.0f);
      return pair;
    }
    pair.overlap = overlap_of(gt, &p.pred_bboxes(i, 0));
    pair.score = cost::sigmoid_f32(p.cls_scores(i, p.gt_labels[g]));
    pair.metric = metric_of(pair.score, pair.overlap);
    return pair;
  }

  // Step 3 over one GT: the pairs that are inside it or could enter its
  // top-k, in prior order.
  std::vector<Pair> gt_pairs(const Scene& sc, int64_t g) const {
    const Problem& p = sc.p;
    std::vector<Pair> pairs;
    const float* gt = &p.gt_bboxes(g, 0);
    const float gt_area = geometry::area(gt);
    for (int64_t i = 0; i < p.num_priors(); ++i) {
      const bool inside = geometry::inside(sc.points(i, 0), sc.points(i, 1), sc.inside_box(g), rules_.inside_margin);
      if (!inside) {
        if (rules_.topk_among_inside) continue;  // t * inside is 0: only a zero-valued filler
        // mmdet ranks every prior; with u = 0 (and beta > 0) t is 0 and it never counts.
        const float* pred = &p.pred_bboxes(i, 0);
        if (s_.beta > 0.0 && geometry::iou(pred, gt, geometry::area(pred), gt_area) == 0.0f) continue;
      }
      Pair pair = evaluate(sc, g, i);
      if (inside || positive_value(pair.metric)) pairs.push_back(pair);
    }
    return pairs;
  }

  // What gt_pairs visits, found without a pass over all priors: the points
  // on per-level grids give the priors inside a GT (a rectangle query), and
  // an index of the predicted boxes those whose IoU with it is > 0 (mmdet
  // ranks those too). nullopt members: not available, pass over all priors.
  struct Search {
    std::optional<geometry::PriorGrid> grid;
    std::optional<geometry::BoxIndex> preds;
    std::vector<uint32_t> seen;
    uint32_t tag = 0;
  };

  // `*record`: which search that leaves, and why not the sparse one.
  Search make_search(const Scene& sc, SearchRecord* record) const {
    const Problem& p = sc.p;
    Search search;
    *record = search_plan(sparse_search_, p);
    if (record->path != SearchRecord::Path::kSparse) return search;
    if (!sc.inside_boxes.allFinite()) {
      *record = {SearchRecord::Path::kDense, "a GT box (as the inside test has it) is not finite"};
      return search;
    }
    search.grid = geometry::PriorGrid::of_points(sc.points, p.num_level_priors);
    if (!search.grid) *record = {SearchRecord::Path::kDense, "the priors form no grid"};
    if (!search.grid || rules_.topk_among_inside) return search;
    // mmdet also ranks priors outside the GT: only those whose prediction
    // overlaps it have t > 0, and only when beta > 0.
    if (!(s_.beta > 0.0) || !p.pred_bboxes.allFinite()) {
      search.grid.reset();
      *record = {SearchRecord::Path::kDense,
                 !(s_.beta > 0.0) ? "beta <= 0: t > 0 without overlap" : "a prediction is not finite"};
      return search;
    }
    const geometry::GtExtent e = geometry::gt_extent(p.gt_bboxes);
    search.preds.emplace(e.x0, e.y0, e.x1, e.y1, e.cell, 64);
    for (int64_t i = 0; i < p.num_priors(); ++i) search.preds->insert(static_cast<int32_t>(i), &p.pred_bboxes(i, 0));
    search.seen.assign(static_cast<size_t>(p.num_priors()), 0);
    return search;
  }

  // gt_pairs through the search structures: the same pairs, in prior order.
  std::vector<Pair> gt_pairs_searched(const Scene& sc, int64_t g, Search* search) const {
    const Problem& p = sc.p;
    std::vector<int32_t> visit;
    const float* gt = &p.gt_bboxes(g, 0);
    const float* in_box = sc.inside_box(g);
    for (const auto& level : search->grid->levels())
      search->grid->for_each_in(level, in_box[0], in_box[1], in_box[2], in_box[3], [&](int32_t i) {
        if (geometry::inside(sc.points(i, 0), sc.points(i, 1), in_box, rules_.inside_margin)) visit.push_back(i);
      });
    if (search->preds) {
      const float gt_area = geometry::area(gt);
      search->preds->query(gt, &search->seen, ++search->tag, [&](int32_t i) {
        const float* pred = &p.pred_bboxes(i, 0);
        if (geometry::iou(pred, gt, geometry::area(pred), gt_area) != 0.0f) visit.push_back(i);
      });
    }
    std::sort(visit.begin(), visit.end());
    visit.erase(std::unique(visit.begin(), visit.end()), visit.end());
    std::vector<Pair> pairs;
    for (int32_t i : visit) {
      Pair pair = evaluate(sc, g, i);
      if (pair.inside || positive_value(pair.metric)) pairs.push_back(pair);
    }
    return pairs;
  }

  // Step 5 for one prior positive for several GTs, over every GT as the
  // reference's [G, N] tables do: the largest u over all GTs (flavours) or
  // over the GTs it is positive for (mmdet), first maximum, NaN first.
  template <class FindPair, class PairOf>
  int32_t resolve_dense(int32_t num_gts, int32_t i, const FindPair& find_pair, const PairOf& pair_of) const {
    if (rules_.resolve_over_all_gts)
      return match::argmin_cost(num_gts, [&](int32_t g) { return -pair_of(g, i).overlap; });
    return match::argmin_cost(num_gts, [&](int32_t g) {
      const Pair* pair = find_pair(g, i);
      return pair && is_positive(*pair) ? -pair->overlap : -kMmdetRejected;
    });
  }

  // Step 5 without a pass over all GTs. mmdet: the GTs the prior is
  // positive for, in GT order (every other GT counts -INF). Flavours: u is 0
  // for every GT but those whose box overlaps the prediction (mmyolo) or
  // holds the prior's point (ultralytics), found through an index of GT
  // boxes; GT 0 is costed too, so that when no GT beats u = 0 the first GT
  // wins as the reference's argmax gives. A NaN anywhere: the dense rule.
  template <class FindPair, class PairOf>
  void resolve_searched(const Scene& sc, std::vector<std::pair<int32_t, int32_t>> positives,
                        const std::vector<int32_t>& gts_of_prior, const FindPair& find_pair, const PairOf& pair_of,
                        std::vector<int32_t>* owner) const {
    const Problem& p = sc.p;
    const Rows4f& points = sc.points;
    const int64_t num_gts = p.num_gts();
    std::sort(positives.begin(), positives.end());
    std::optional<geometry::BoxIndex> gts;
    std::vector<uint32_t> seen;
    uint32_t tag = 0;
    if (rules_.resolve_over_all_gts) {
      // ultralytics: u > 0 only where the point is inside (the widened box
      // under STAL); mmyolo: where the prediction overlaps the GT box.
      const Rows4f& boxes = rules_.only_inside_pairs ? sc.inside_boxes : p.gt_bboxes;
      const geometry::GtExtent e = geometry::gt_extent(boxes);
      gts.emplace(e.x0, e.y0, e.x1, e.y1, e.cell, 64);
      for (int64_t g = 0; g < num_gts; ++g) gts->insert(static_cast<int32_t>(g), &boxes(g, 0));
      seen.assign(static_cast<size_t>(num_gts), 0);
    }
    const auto nan_first_min = [](float v, int32_t g, float* best, int32_t* best_g) {
      if (v < *best || (v == *best && g < *best_g)) *best = v, *best_g = g;
    };
    for (size_t a = 0; a < positives.size();) {
      const int32_t i = positives[a].first;
      size_t b = a;
      while (b < positives.size() && positives[b].first == i) ++b;
      if (gts_of_prior[i] < 2) {
        a = b;
        continue;
      }
      bool nan = false;
      float best = 0;
      int32_t best_g = -1;
      if (!rules_.resolve_over_all_gts) {
        for (size_t c = a; c < b && !nan; ++c) {
          const float v = -pair_of(positives[c].second, i).overlap;
          nan = std::isnan(v);
          if (best_g < 0) best = v, best_g = positives[c].second;
          else nan_first_min(v, positives[c].second, &best, &best_g);
        }
      } else {
        best = -pair_of(0, i).overlap, best_g = 0;
        nan = std::isnan(best);
        const float point[4] = {points(i, 0), points(i, 1), points(i, 0), points(i, 1)};
        const float* probe = rules_.only_inside_pairs ? point : &p.pred_bboxes(i, 0);
        gts->query(probe, &seen, ++tag, [&](int32_t g) {
          const float v = -pair_of(g, i).overlap;
          nan |= std::isnan(v);
          nan_first_min(v, g, &best, &best_g);
        });
      }
      if (nan) best_g = resolve_dense(static_cast<int32_t>(num_gts), i, find_pair, pair_of);
      (*owner)[i] = best_g;
      a = b;
    }
  }

  // Step 4: marks the GT's top-k. The reference's torch.topk runs over a row
  // of all N priors: t (mmdet), t * inside (flavours), 0 for every prior not
  // in `pairs`. When the k-th value is shared with a prior left out, or
  // (flavours) the k are filled up with zero-valued priors some of which lie
  // inside the GT (they become positives), which ones depends on the order
  // torch gives equal keys: replayed as its CPU kernel orders them
  // (match/torch_order.h). Returns how many picks are inside with t = 0, and
  // in `*ordered` whether torch's order decided.
  int64_t pick_top_k(std::vector<Pair>* pairs, int64_t k, int64_t num_priors, bool* ordered) const {
    *ordered = false;
    const auto value = [&](const Pair& pair) { return rules_.topk_among_inside && !pair.inside ? 0.0f : pair.metric; };
    std::vector<Pair*> ranked;
    for (Pair& pair : *pairs)
      if (positive_value(value(pair))) ranked.push_back(&pair);
    const auto cmp = [](const Pair* a, const Pair* b) { return better(*a, *b); };
    bool tie = false;
    if (static_cast<int64_t>(ranked.size()) > k) {
      std::nth_element(ranked.begin(), ranked.begin() + (k - 1), ranked.end(), cmp);
      const float kth = ranked[static_cast<size_t>(k - 1)]->metric;
      for (auto it = ranked.begin() + k; it != ranked.end() && !tie; ++it) tie = (*it)->metric == kth;
    }
    const int64_t free_slots = k - static_cast<int64_t>(ranked.size());
    bool zero_inside = false;
    for (const Pair& pair : *pairs) zero_inside |= pair.inside && !positive_value(pair.metric);
    const bool fill = !rules_.positive_needs_metric && free_slots > 0 && zero_inside;
    if (!tie && !fill) {
      if (static_cast<int64_t>(ranked.size()) > k) ranked.resize(static_cast<size_t>(k));
      for (Pair* pair : ranked) pair->picked = true;
      return 0;
    }
    std::vector<float> row(static_cast<size_t>(num_priors), 0.0f);
    for (const Pair& pair : *pairs) row[pair.prior] = value(pair);
    std::vector<char> chosen(static_cast<size_t>(num_priors), 0);
    for (int32_t i : match::torch_topk_cpu(row, k, /*largest=*/true)) chosen[i] = 1;
    int64_t fillers = 0;
    for (Pair& pair : *pairs) {
      pair.picked = chosen[pair.prior] && (positive_value(value(pair)) || !rules_.positive_needs_metric);
      fillers += pair.picked && pair.inside && !positive_value(pair.metric);
    }
    *ordered = true;
    return fillers;
  }

  // Step 5b (ultralytics 8.4, topk2 != topk): each GT keeps the topk2 of its
  // final positives with the largest t: torch.topk over t * mask_pos of all N
  // priors. Where that leaves a choice among equal values (a tie at the
  // boundary, or fewer positives with t > 0 than topk2 while some have t = 0),
  // torch's CPU order decides, as in step 4.
  template <class PairOf>
  void keep_top_k2(int64_t num_gts, int64_t num_priors, const PairOf& pair_of, std::vector<int32_t>* owner,
                   std::vector<std::string>* notes) const {
    std::vector<std::vector<Pair>> mine(static_cast<size_t>(num_gts));
    for (int32_t i = 0; i < static_cast<int32_t>(owner->size()); ++i)
      if ((*owner)[i] >= 0) mine[(*owner)[i]].push_back(pair_of((*owner)[i], i));
    const auto k2 = static_cast<size_t>(s_.topk2);
    for (int64_t g = 0; g < num_gts; ++g) {
      std::vector<Pair>& v = mine[g];  // in prior order
      if (v.size() <= k2 && std::all_of(v.begin(), v.end(), [](const Pair& x) { return positive_value(x.metric); }))
        continue;  // every positive is among the topk2 largest, whatever the order
      std::vector<Pair*> valued;
      for (Pair& pair : v)
        if (positive_value(pair.metric)) valued.push_back(&pair);
      std::sort(valued.begin(), valued.end(), [](const Pair* a, const Pair* b) { return better(*a, *b); });
      const bool tie = valued.size() > k2 && valued[k2 - 1]->metric == valued[k2]->metric;
      const bool fill = valued.size() < k2 && valued.size() < v.size();
      std::vector<char> keep(static_cast<size_t>(num_priors), 0);
      if (!tie && !fill) {
        for (size_t r = 0; r < valued.size() && r < k2; ++r) keep[valued[r]->prior] = 1;
      } else {
        std::vector<float> row(static_cast<size_t>(num_priors), 0.0f);
        for (const Pair& pair : v) row[pair.prior] = pair.metric;
        for (int32_t i : match::torch_topk_cpu(row, s_.topk2, /*largest=*/true)) keep[i] = 1;
        notes->push_back(fmt::format(
            "GT {}: which of its positives topk2 = {} keeps depends on the order torch.topk gives equal metrics "
            "({}); replayed in PyTorch's CPU order (a CUDA run can keep others)",
            g, s_.topk2, tie ? "a tie at the boundary" : "fewer than topk2 have a positive metric"));
      }
      for (const Pair& pair : v)
        if (!keep[pair.prior]) (*owner)[pair.prior] = -1;
    }
  }

  // Steps 2-4 over every GT: the pairs it reports (inside it, or picked),
  // and the positives (a pick inside the GT; mmdet: with t > 0).
  struct Picks {
    std::vector<std::vector<Pair>> pairs;                // [G] in prior order
    std::vector<int32_t> first_gt;                       // [N] the first GT a prior is positive for, or -1
    std::vector<int32_t> gts_of_prior;                   // [N] how many GTs it is positive for
    std::vector<std::pair<int32_t, int32_t>> positives;  // (prior, GT), GT-major
  };

  Picks pick_positives(const Scene& sc, int64_t k, Search* search, Assignment* out) const {
    const int64_t num_gts = sc.p.num_gts(), num_priors = sc.p.num_priors();
    Picks r;
    r.pairs.resize(static_cast<size_t>(num_gts));
    r.first_gt.assign(static_cast<size_t>(num_priors), -1);
    r.gts_of_prior.assign(static_cast<size_t>(num_priors), 0);
    for (int64_t g = 0; g < num_gts; ++g) {
      std::vector<Pair> pairs = search->grid ? gt_pairs_searched(sc, g, search) : gt_pairs(sc, g);
      bool ordered = false;
      const int64_t fillers = pick_top_k(&pairs, k, num_priors, &ordered);
      if (fillers > 0)
        out->notes.push_back(fmt::format(
            "GT {}: fewer than k = {} inside priors have a positive metric, so its top-k takes zero-metric priors, "
            "{} of them inside it; those become positives with metric 0; which ones depends on the order torch.topk "
            "gives equal keys: replayed in PyTorch's CPU order (a CUDA run can take others)",
            g, k, fillers));
      else if (ordered)
        out->notes.push_back(fmt::format(
            "GT {}: its top-k boundary falls among equal metrics (or zero-metric priors inside it); taken in the "
            "order PyTorch's CPU topk gives equal keys (a CUDA run can take others)",
            g));
      std::vector<Pair>& kept = r.pairs[g];
      for (const Pair& pair : pairs) {
        if (!pair.inside && !pair.picked) continue;  // ranked but not picked: not reported
        kept.push_back(pair);
        if (!is_positive(pair)) continue;
        if (r.gts_of_prior[pair.prior]++ == 0) r.first_gt[pair.prior] = static_cast<int32_t>(g);
        r.positives.emplace_back(pair.prior, static_cast<int32_t>(g));
      }
    }
    return r;
  }

  Assignment match(const Problem& p) const {
    const int64_t num_gts = p.num_gts(), num_priors = p.num_priors();
    const Rows4f points = rules_.anchor_centres ? anchor_centres(anchor_boxes(p, kHarnessAnchorScale)) : p.priors;
    const Scene sc{p, points, s_.stal ? stal_boxes(p.gt_bboxes, s_.stal_min_side, s_.stal_side) : p.gt_bboxes};
    const int64_t k = std::min(s_.topk, num_priors);
    Assignment out = Assignment::Empty(num_priors, num_gts, rules_.negative_overlap, false);
    if (!rules_.positive_needs_metric && s_.topk > num_priors)
      out.notes.push_back(
          fmt::format("topk = {} exceeds the {} priors: the reference's torch.topk fails here; "
                      "replayed with k = {}",
                      s_.topk, num_priors, num_priors));

    // Steps 2-4, GT by GT.
    Search search = make_search(sc, &out.search);
    const Picks picks = pick_positives(sc, k, &search, &out);
    const auto find_pair = [&](int64_t g, int32_t prior) -> const Pair* {
      const std::vector<Pair>& v = picks.pairs[g];
      const auto it = std::lower_bound(v.begin(), v.end(), prior, [](const Pair& a, int32_t b) { return a.prior < b; });
      return it != v.end() && it->prior == prior ? &*it : nullptr;
    };
    // The pair as the reference's full [G, N] tables hold it.
    const auto pair_of = [&](int64_t g, int32_t prior) {
      const Pair* pair = find_pair(g, prior);
      return pair ? *pair : evaluate(sc, g, prior);
    };

    // Step 5: the owner of each positive prior.
    std::vector<int32_t> owner = picks.first_gt;
    const auto num_gts32 = static_cast<int32_t>(num_gts);
    if (search.grid) {
      resolve_searched(sc, picks.positives, picks.gts_of_prior, find_pair, pair_of, &owner);
    } else {
      for (int32_t i = 0; i < num_priors; ++i) {
        if (picks.gts_of_prior[i] < 2) continue;
        owner[i] = resolve_dense(num_gts32, i, find_pair, pair_of);
      }
    }

    if (s_.topk2 > 0) keep_top_k2(num_gts, num_priors, pair_of, &owner, &out.notes);

    soft_targets(p, owner, pair_of, &out);
    report_pairs(picks.pairs, &out);
    return out;
  }

  // Steps 6 and 7: each final positive's soft target from its GT's largest
  // t and u, and the result.
  template <class PairOf>
  void soft_targets(const Problem& p, const std::vector<int32_t>& owner, const PairOf& pair_of, Assignment* out) const {
    const int64_t num_gts = p.num_gts(), num_priors = p.num_priors();
    std::vector<float> metric(static_cast<size_t>(num_priors), 0.0f);
    std::vector<float> max_metric(static_cast<size_t>(num_gts), 0.0f), max_overlap(static_cast<size_t>(num_gts), 0.0f);
    std::vector<char> has_positive(static_cast<size_t>(num_gts), 0);
    for (int32_t i = 0; i < num_priors; ++i) {
      const int32_t g = owner[i];
      if (g < 0) continue;
      const Pair pair = pair_of(g, i);
      out->gt_inds[i] = g + 1;
      out->labels[i] = p.gt_labels[g];
      out->max_overlaps[i] = pair.overlap;
      metric[i] = pair.metric;
      if (!has_positive[g]) {
        max_metric[g] = pair.metric, max_overlap[g] = pair.overlap, has_positive[g] = 1;
      } else {
        max_metric[g] = max_propagating_nan(max_metric[g], pair.metric);
        max_overlap[g] = max_propagating_nan(max_overlap[g], pair.overlap);
      }
    }
    std::vector<float> soft(static_cast<size_t>(num_priors), 0.0f);
    for (int32_t i = 0; i < num_priors; ++i) {
      const int32_t g = owner[i];
      if (g < 0) continue;
      soft[i] = rules_.tood_normalisation ? metric[i] / (max_metric[g] + s_.eps) * max_overlap[g]
                                          : metric[i] * max_overlap[g] / (max_metric[g] + s_.eps);
    }
    out->assign_metrics = std::move(soft);
    if (rules_.raw_metrics) out->assign_metrics_raw = std::move(metric);
  }

  // The reported pairs, GT by GT, in prior order.
  static void report_pairs(const std::vector<std::vector<Pair>>& pairs, Assignment* out) {
    for (size_t g = 0; g < pairs.size(); ++g) {
      for (const Pair& pair : pairs[g]) {
        CandidatePair c;
        c.prior = pair.prior;
        c.gt = static_cast<int32_t>(g);
        c.cost = pair.metric;
        c.terms = {pair.metric, pair.score, pair.overlap};
        c.iou = pair.overlap;
        c.inside = pair.inside;
        c.picked = pair.picked;
        out->candidates.push_back(c);
      }
    }
  }

  Rules rules_;
  Params params_;
  Settings s_;
  bool sparse_search_;
};

std::vector<ParamSpec> tal_params(int64_t topk, double alpha, double beta, std::optional<double> eps) {
  std::vector<ParamSpec> specs = {
      {"topk",
       ParamType::kInt,
       topk,
       "how many of a GT's largest alignment metrics become its candidates",
       1.0,
       std::nullopt,
       {}},
      {"alpha",
       ParamType::kFloat,
       alpha,
       "exponent of the class score in the metric s^alpha * u^beta",
       0.0,
       std::nullopt,
       {}},
      {"beta", ParamType::kFloat, beta, "exponent of the IoU in the metric s^alpha * u^beta", 0.0, std::nullopt, {}},
  };
  if (eps)
    specs.push_back({"eps",
                     ParamType::kFloat,
                     *eps,
                     "added to a GT's largest metric when normalising the soft targets",
                     0.0,
                     std::nullopt,
                     {}});
  specs.push_back(search_param());
  return specs;
}

AssignerInfo make_info(const Rules& rules, std::vector<ParamSpec> specs, std::string summary, std::string reference) {
  AssignerInfo info;
  info.name = rules.name;
  info.summary = std::move(summary);
  info.reference = std::move(reference);
  info.params = std::move(specs);
  const Need points = rules.anchor_centres ? Need{Field::kAnchors, Field::kPriors} : Need{Field::kPriors};
  info.needs = {points, {Field::kClsScores}, {Field::kPredBboxes}, {Field::kGtBboxes}, {Field::kGtLabels}};
  info.result_files = {"assigned_gt_inds.npy", "assigned_labels.npy", "max_overlaps.npy", "assign_metrics.npy"};
  if (rules.raw_metrics) info.result_files.push_back("assign_metrics_raw.npy");
  info.make = [rules](const Params& params) { return std::make_unique<TaskAligned>(rules, params); };
  // Positives need the point inside the GT.
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

}  // namespace

AssignerInfo task_aligned_info() {
  AssignerInfo info =
      make_info(kMmdetection, tal_params(13, 1.0, 6.0, std::nullopt),
                "TOOD task alignment: top-k of s^alpha * IoU^beta over all priors, kept if the anchor centre "
                "is inside the GT",
                "mmdetection mmdet/models/task_modules/assigners/task_aligned_assigner.py TaskAlignedAssigner "
                "(commit d4ccf312); soft targets as TOODHead._get_targets_single");
  info.aliases = {"tood"};
  info.class_names = {{"TaskAlignedAssigner", ClassName::Syntax::kDict}};
  info.traits.conflict_over_all = false;  // the largest metric among the GTs that picked the prior
  info.config_ignored = {"iou_calculator"};
  info.replays = [](const Params&) { return std::vector<FrameworkRange>{{"mmdet", "3.0.0", "4", "mmdetection 3.x"}}; };
  return info;
}

AssignerInfo task_aligned_mmyolo_info() {
  AssignerInfo info = make_info(kMmyolo, tal_params(13, 1.0, 6.0, 1e-7),
                                "mmyolo's batched TAL (YOLOv6): top-k among the priors inside the GT, conflicts by "
                                "IoU over all GTs",
                                "mmyolo mmyolo/models/task_modules/assigners/batch_task_aligned_assigner.py "
                                "BatchTaskAlignedAssigner (mmyolo 0.6.0, commit 8c4d9dc5)");
  info.aliases = {"yolov6", "ppyoloe"};
  info.class_names = {{"BatchTaskAlignedAssigner", ClassName::Syntax::kAny}};
  info.traits.conflict_over_all = true;  // select_highest_overlaps: argmax IoU over all GTs
  // num_classes: the dump's; use_ciou=False is the YOLOv6 / PPYOLOE setting
  // replayed here (validate refuses True).
  info.config_ignored = {"num_classes"};
  info.replays = [](const Params&) { return std::vector<FrameworkRange>{{"mmyolo", "0.6.0", "0.7", "mmyolo 0.6"}}; };
  return info;
}

AssignerInfo task_aligned_ultralytics_info() {
  std::vector<ParamSpec> specs = tal_params(10, 0.5, 6.0, 1e-9);
  specs.insert(specs.end() - 1,
               {"stride",
                ParamType::kNumbers,
                Null{},
                "the model's strides (ultralytics 8.4's constructor argument): given, a GT side shorter than "
                "stride[0] is widened to stride[1] for the inside test (STAL); null: ultralytics before 8.4",
                0.0,
                std::nullopt,
                {},
                /*nullable=*/true});
  specs.insert(specs.end() - 1,
               {"topk2",
                ParamType::kInt,
                Null{},
                "after conflicts each GT keeps its topk2 best positives (ultralytics 8.4; null: topk2 = topk, no "
                "second top-k); YOLO26's one-to-one branch uses 1",
                1.0,
                std::nullopt,
                {},
                /*nullable=*/true});
  AssignerInfo info = make_info(kUltralytics, std::move(specs),
                                "YOLOv8's TAL: CIoU computed only inside the GT, top-k among the priors inside it, "
                                "conflicts by CIoU over all GTs; 8.4's STAL and topk2 with `stride` / `topk2`",
                                "ultralytics ultralytics/utils/tal.py TaskAlignedAssigner (8.2: commit 002217d4; "
                                "8.4: 8.4.0 f2d3aed6 - 8.4.52 93e05552, STAL and topk2), CIoU of "
                                "ultralytics/utils/metrics.py bbox_iou (commit 000df7b3)");
  info.class_names = {{"TaskAlignedAssigner", ClassName::Syntax::kCall}};
  info.traits.conflict_over_all = true;  // select_highest_overlaps: argmax CIoU over all GTs
  info.config_ignored = {"num_classes"};
  info.validate = [](const Params& p, std::vector<std::string>*) -> Status {
    if (!p.is_null("stride") && p.get_numbers("stride").empty())
      return Status::Usage("parameter stride=[]: expected the model's strides, e.g. [8, 16, 32] (or null)");
    if (!p.is_null("stride") && p.get_numbers("stride")[0] <= 0)
      return Status::Usage("parameter stride: stride[0] must be > 0 (the smallest stride)");
    if (p.is_null("stride") && !p.is_null("topk2"))
      return Status::Usage(
          "parameter topk2 is ultralytics 8.4's and needs stride (8.4 passes the model's strides); "
          "give both, e.g. --preset yolo26-o2o");
    return Status();
  };
  info.replays = [](const Params& p) {
    if (p.is_null("stride"))
      return std::vector<FrameworkRange>{
          {"ultralytics", "8.0.0", "8.4.0", "ultralytics 8.0 - 8.3 (and YOLOv10's fork)"}};
    return std::vector<FrameworkRange>{{"ultralytics", "8.4.0", "9", "ultralytics 8.4"}};
  };
  info.presets = {
      {"v8.2",
       "ultralytics 8.2 / 8.3 v8DetectionLoss: TaskAlignedAssigner(topk=10, alpha=0.5, beta=6.0) (the defaults)",
       R"({"topk": 10, "alpha": 0.5, "beta": 6.0, "stride": null, "topk2": null})",
       {"yolov8-8.2", "yolov8-8.3"}},
      {"v8.4",
       "ultralytics 8.4 v8DetectionLoss (YOLOv8, YOLO11, and YOLO26's one-to-many branch): TaskAlignedAssigner("
       "topk=10, alpha=0.5, beta=6.0, stride=[8, 16, 32]) with STAL",
       R"({"topk": 10, "alpha": 0.5, "beta": 6.0, "stride": [8, 16, 32], "topk2": null})",
       {"yolov8", "yolo11", "yolov11", "yolov9", "yolo12", "yolov12", "yolo26", "yolo26-o2m", "ultralytics"}},
      {"yolo26-o2o",
       "ultralytics 8.4 E2ELoss, YOLO26's one-to-one branch: v8DetectionLoss(tal_topk=7, tal_topk2=1)",
       R"({"topk": 7, "alpha": 0.5, "beta": 6.0, "stride": [8, 16, 32], "topk2": 1})",
       {"yolo26-o2o"}},
      {"yolov10-o2o",
       "YOLOv10 (THU-MIG/yolov10, an ultralytics 8.1 fork) v10DetectLoss one-to-one branch: "
       "v8DetectionLoss(tal_topk=1)",
       R"({"topk": 1, "alpha": 0.5, "beta": 6.0, "stride": null, "topk2": null})",
       {"yolov10-o2o"}},
      {"yolov10-o2m",
       "YOLOv10 one-to-many branch: v8DetectionLoss(tal_topk=10), the 8.1-era assigner",
       R"({"topk": 10, "alpha": 0.5, "beta": 6.0, "stride": null, "topk2": null})",
       {"yolov10", "yolov10-o2m"}},
  };
  return info;
}

}  // namespace assignscope::assign
