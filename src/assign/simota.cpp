// YOLOX's SimOTA, as mmdetection and YOLOX itself compute it.
//
// simota: mmdet/models/task_modules/assigners/sim_ota_assigner.py,
//   SimOTAAssigner (commit be627c24).
// simota.yolox: yolox/models/yolo_head.py, YOLOXHead.get_assignments with
//   get_geometry_constraint and simota_matching (YOLOX main since a4152a5,
//   Dec 2022, commit 6ddff482; its __version__ still reads 0.3.0), and with
//   geometry="box-or-center" the 0.3.0 release (tag 0.3.0, 4197784, the PyPI
//   package): get_in_boxes_info and dynamic_k_matching, mmdet's geometry
//   (box OR centre region, radius 2.5, +1e5 unless box AND centre) on the
//   shifted centres, everything else as main.
// Both in float32:
//
//   candidates   mmdet: priors whose centre lies strictly inside some GT box
//                or some GT's centre region (c -+ center_radius * stride).
//                yolox: priors inside some GT's centre square (radius
//                center_radius strides, no box test), the prior centre taken
//                as (cx / stride + 0.5) * stride; the 0.3.0 release: box OR
//                square, corners c -+ 0.5 * wh.
//   scores       mmdet: p = sigmoid(cls) [* sigmoid(obj) when the dump has
//                objectness]; yolox: p = sqrt(sigmoid(cls) * sigmoid(obj)).
//   cost         with u = IoU(pred_v, gt_g):
//                  cls  = sum_c BCE(p_c, onehot(g)_c) * cls_weight   (logs >= -100)
//                  iou  = -log(u + eps) * iou_weight                 (eps 1e-7 | 1e-8)
//                  geo  = INF unless the pair is in the GT's box AND centre
//                         region (mmdet, INF 1e5) | centre square (yolox, 1e6)
//                  cost = (cls + iou) + geo
//                IoU: mmdet's bbox_overlaps on xyxy | YOLOX's bboxes_iou on
//                (cx, cy, w, h), without eps: as the dump gives them
//                (meta.box_format "cxcywh"), else converted in float32.
//   dynamic k    k_g = max(1, int(sum of the top min(candidate_topk, V) IoUs))
//   matching     each GT takes its k_g cheapest candidates, conflicts go to
//                the cheapest GT over all GTs (same step as dynamic soft label)
//   result       positives: g + 1, g's label, u; others: 0, -1 and
//                -100000.0 (mmdet) | 0.0 (yolox).
//
// The class cost is a per-prior background total over C classes plus a
// correction at the GT's class (cost/terms.h), never C values per pair. When
// a GT's k exceeds its in-box-and-centre candidates, its remaining picks have
// cost INF + c, quantised to 1/128 (1e5) or 1/16 (1e6) by float32: the sums
// are formed in float32 in the references' order so that those picks agree.
#include "assign/simota.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "assign/cost_table.h"
#include "assign/scores.h"
#include "cost/terms.h"
#include "geometry/boxes.h"
#include "geometry/prior_grid.h"
#include "match/torch_order.h"

namespace assignscope::assign {
namespace {

struct Rules {
  const char* name;
  bool in_box_or_centre;     // candidate region: box OR centre region (mmdet), centre square only (yolox)
  bool one_stride_square;    // the centre region uses one stride for both axes (yolox's expanded_strides)
  bool shift_half_stride;    // prior centre (cx / stride + 0.5) * stride (yolox)
  bool cxcywh_iou;           // YOLOX's bboxes_iou (no eps) instead of mmdet's bbox_overlaps
  float iou_eps;             // in -log(u + eps)
  bool sqrt_score;           // p = sqrt(sigmoid(cls) * sigmoid(obj)) (yolox)
  float outside_cost;        // INF added to pairs outside the geometry
  float negative_overlap;    // max_overlaps of non-positives
};

constexpr Rules kMmdetection{"simota", true, false, false, false, 1e-7f, false, 100000.0f, -100000.0f};
constexpr Rules kYolox{"simota.yolox", false, true, true, true, 1e-8f, true, 1000000.0f, 0.0f};

// Where a prior stands relative to one GT.
enum Geometry : uint8_t { kInCentre = 1, kInBox = 2 };

// YOLOX's (cx, cy, w, h): as the dump stored them (box_format "cxcywh", as
// YOLOX hands them to its assigner), else converted from xyxy in float32.
std::array<float, 4> gt_cxcywh_of(const Problem& p, int64_t g) {
  if (p.gt_cxcywh.rows() > 0) return {p.gt_cxcywh(g, 0), p.gt_cxcywh(g, 1), p.gt_cxcywh(g, 2), p.gt_cxcywh(g, 3)};
  return geometry::to_cxcywh(&p.gt_bboxes(g, 0));
}
std::array<float, 4> pred_cxcywh_of(const Problem& p, int64_t i) {
  if (p.pred_cxcywh.rows() > 0)
    return {p.pred_cxcywh(i, 0), p.pred_cxcywh(i, 1), p.pred_cxcywh(i, 2), p.pred_cxcywh(i, 3)};
  return geometry::to_cxcywh(&p.pred_bboxes(i, 0));
}

class SimOta final : public Assigner {
 public:
  SimOta(const Rules& rules, const Params& params)
      : rules_(with_geometry(rules, params)),
        params_(params),
        center_radius_(static_cast<float>(params.get_float("center_radius"))),
        candidate_topk_(params.get_int("candidate_topk")),
        iou_weight_(static_cast<float>(params.get_float("iou_weight"))),
        cls_weight_(static_cast<float>(params.get_float("cls_weight"))),
        sparse_search_(sparse_search(params)) {}

  Assignment assign(const Problem& p) const override {
    Assignment out;
    if (p.num_gts() == 0 || p.num_priors() == 0) {
      out = nothing_to_assign(p, true);
    } else {
      std::optional<Assignment> sparse;
      if (sparse_search_ && geometry::sparse_search_range(p)) sparse = match_sparse(p);
      out = sparse ? std::move(*sparse) : match(p);
    }
    out.assigner = rules_.name;
    out.params = params_;
    out.cost_terms = {"cls", "iou", "geometry"};
    return out;
  }

 private:
  // After a match: YOLOX's own grid is at col * stride.
  void note_half_offset(const Problem& p, Assignment* out) const {
    if (rules_.shift_half_stride && looks_half_offset(p))
      out->notes.push_back(
          "every prior sits at (col + 0.5) * stride: YOLOX adds half a stride to its grid itself, so these points "
          "were shifted a second time; a YOLOX dump stores the grid at col * stride (x_shifts * stride)");
  }

  // Every prior point at (col + 0.5) * stride (an offset-0.5 generator).
  static bool looks_half_offset(const Problem& p) {
    for (int64_t i = 0; i < p.num_priors(); ++i) {
      const float s = p.priors(i, 2);
      const float fx = p.priors(i, 0) / s, fy = p.priors(i, 1) / s;
      if (fx - std::floor(fx) != 0.5f || fy - std::floor(fy) != 0.5f) return false;
    }
    return p.num_priors() > 0;
  }

  // The point a prior stands for.
  std::array<float, 2> centre(const Problem& p, int64_t i) const {
    if (!rules_.shift_half_stride) return {p.priors(i, 0), p.priors(i, 1)};
    const float s = p.priors(i, 2);
    return {(p.priors(i, 0) / s + 0.5f) * s, (p.priors(i, 1) / s + 0.5f) * s};
  }

  // The 0.3.0 release's geometry on the yolox flavour: box or centre square,
  // INF 1e5 (get_in_boxes_info).
  static Rules with_geometry(Rules rules, const Params& params) {
    if (params.has("geometry") && params.get_string("geometry") == "box-or-center")
      rules.in_box_or_centre = true, rules.outside_cost = 100000.0f;
    return rules;
  }

  // In GT g's centre region: strictly within centre -/+ center_radius * stride.
  bool in_centre(const Problem& p, int64_t i, const std::array<float, 2>& c, int64_t g) const {
    const float sx = center_radius_ * p.priors(i, 2);
    const float sy = center_radius_ * p.priors(i, rules_.one_stride_square ? 2 : 3);
    float gx, gy;
    if (rules_.cxcywh_iou) {
      const auto b = gt_cxcywh_of(p, g);
      gx = b[0], gy = b[1];
    } else {
      gx = geometry::centre_x(&p.gt_bboxes(g, 0)), gy = geometry::centre_y(&p.gt_bboxes(g, 0));
    }
    const float region[4] = {gx - sx, gy - sy, gx + sx, gy + sy};
    return geometry::strictly_inside(c[0], c[1], region);
  }

  // The box of the in-box test: mmdet's xyxy, YOLOX's corners c -+ 0.5 * wh.
  std::array<float, 4> box_for_inside(const Problem& p, int64_t g) const {
    if (!rules_.cxcywh_iou) return {p.gt_bboxes(g, 0), p.gt_bboxes(g, 1), p.gt_bboxes(g, 2), p.gt_bboxes(g, 3)};
    const auto b = gt_cxcywh_of(p, g);
    return {b[0] - 0.5f * b[2], b[1] - 0.5f * b[3], b[0] + 0.5f * b[2], b[1] + 0.5f * b[3]};
  }

  uint8_t geometry(const Problem& p, int64_t i, const std::array<float, 2>& c, int64_t g) const {
    uint8_t flags = in_centre(p, i, c, g) ? kInCentre : 0;
    if (rules_.in_box_or_centre && geometry::strictly_inside(c[0], c[1], box_for_inside(p, g).data())) flags |= kInBox;
    return flags;
  }

  // No geometry penalty: in box and centre region (mmdet), in the square (yolox).
  bool penalty_free(uint8_t flags) const {
    return rules_.in_box_or_centre ? flags == (kInCentre | kInBox) : flags == kInCentre;
  }

  // The class probabilities the reference feeds to its BCE, as float32.
  void probabilities(const Problem& p, int32_t prior, std::vector<float>* probs) const {
    const bool with_obj = p.has(Field::kObjectness);
    const float obj = with_obj ? objectness_probability(p, prior) : 1.0f;
    for (int64_t c = 0; c < p.num_classes(); ++c) {
      const float cls = class_probability(p, prior, c);
      (*probs)[c] = rules_.sqrt_score ? std::sqrt(cls * obj) : (with_obj ? cls * obj : cls);
    }
  }

  Assignment match(const Problem& p) const {
    const int64_t num_gts = p.num_gts();
    // Candidates: in some GT's box or centre region; their geometry per GT.
    std::vector<int32_t> candidates;
    std::vector<uint8_t> geo;  // [V, G]
    std::vector<uint8_t> flags(static_cast<size_t>(num_gts));
    for (int64_t i = 0; i < p.num_priors(); ++i) {
      const auto c = centre(p, i);
      bool any = false;
      for (int64_t g = 0; g < num_gts; ++g) any |= (flags[g] = geometry(p, i, c, g)) != 0;
      if (!any) continue;
      candidates.push_back(static_cast<int32_t>(i));
      geo.insert(geo.end(), flags.begin(), flags.end());
    }
    if (candidates.empty()) {
      Assignment out = Assignment::Empty(p.num_priors(), num_gts, 0.0f, true);
      out.notes.push_back(rules_.in_box_or_centre
                              ? "no prior lies in any GT box or centre region: the reference returns before "
                                "matching (max_overlaps 0, dynamic k 0)"
                              : "no prior lies in any GT's centre square: YOLOX's get_assignments fails here "
                                "(top-k of an empty cost row); reported as no positives");
      return out;
    }
    detail::CostTable table(candidates, num_gts, num_gts);

    // GT-side values, once.
    std::vector<float> gt_area(static_cast<size_t>(num_gts));
    std::vector<std::array<float, 4>> gt_cxcywh(static_cast<size_t>(num_gts));
    for (int64_t g = 0; g < num_gts; ++g) {
      gt_area[g] = geometry::area(&p.gt_bboxes(g, 0));
      gt_cxcywh[g] = gt_cxcywh_of(p, g);
    }

    std::vector<float> probs(static_cast<size_t>(p.num_classes()));
    double background = 0;
    const auto load_prior = [&](int64_t v) {
      probabilities(p, table.prior(v), &probs);
      background = cost::bce_prob_background_total(probs.data(), p.num_classes());
    };
    const auto iou_of = [&](int64_t v, int64_t g) {
      const float* pred = &p.pred_bboxes(table.prior(v), 0);
      if (!rules_.cxcywh_iou) return geometry::iou(pred, &p.gt_bboxes(g, 0), geometry::area(pred), gt_area[g]);
      const auto pred_cxcywh = pred_cxcywh_of(p, table.prior(v));
      return geometry::iou_cxcywh(gt_cxcywh[g].data(), pred_cxcywh.data());
    };
    const auto terms_of = [&](int64_t v, int64_t g, float u) -> detail::Terms {
      const float cls = cost::bce_prob_class_cost(background, probs[p.gt_labels[g]]) * cls_weight_;
      const float iou = cost::log_iou_cost(u, 1.0f, rules_.iou_eps) * iou_weight_;
      return {cls, iou, penalty_free(geo[static_cast<size_t>(v * num_gts + g)]) ? 0.0f : rules_.outside_cost};
    };
    const auto total = [](const detail::Terms& t) { return (t[0] + t[1]) + t[2]; };

    // Cost of every (GT, candidate).
    for (int64_t v = 0; v < table.num_candidates(); ++v) {
      load_prior(v);
      for (int64_t g = 0; g < num_gts; ++g) {
        const float u = iou_of(v, g);
        const detail::Terms t = terms_of(v, g, u);
        table.record(g, v, u, t, total(t), t[2] == 0.0f);
      }
    }

    const match::DynamicKMatch m = table.match(candidate_topk_);
    Assignment out = table.assemble(p, m, p.gt_labels, rules_.negative_overlap, [&](int64_t g, int64_t v) {
      load_prior(v);
      return terms_of(v, g, table.iou(g, v));
    });
    note_half_offset(p, &out);
    return out;
  }

  // The same result as the dense search below, costing only the pairs that
  // can matter. Needs point priors on per-level grids (equal x and y
  // strides), finite inputs and GTs of positive area; nullopt otherwise.
  //
  // A pair outside the GT's geometry costs at least INF (1e5 | 1e6) and one
  // inside it less (cls + iou stays far below INF: checked), so a GT whose
  // penalty-free priors number k or more picks among them alone. A GT with
  // fewer takes the rest from the other candidates, ordered by
  // (cls + iou) + INF: exact costs for those whose prediction overlaps the
  // GT, and, for the others (u = 0), a per-class order of all candidates by
  // their cost at u = 0, walked from the cheapest. A prior several GTs pick
  // goes to the cheapest GT over all GTs: only GTs whose geometry holds the
  // prior can undercut a penalty-free cost; otherwise every GT is costed.
  std::optional<Assignment> match_sparse(const Problem& p) const {
    const std::optional<geometry::PriorGrid> grid = geometry::PriorGrid::of(p);
    if (!grid) return std::nullopt;
    const int64_t num_gts = p.num_gts(), num_priors = p.num_priors(), num_classes = p.num_classes();
    const auto finite4 = [](const float* b) {
      return std::isfinite(b[0]) && std::isfinite(b[1]) && std::isfinite(b[2]) && std::isfinite(b[3]);
    };
    for (int64_t i = 0; i < num_priors; ++i)
      if (p.priors(i, 3) != p.priors(i, 2)) return std::nullopt;
    // (cls + iou) must stay below INF: each BCE term is at most 100.
    const double max_inside = 100.0 * static_cast<double>(num_classes) * static_cast<double>(cls_weight_) +
                              static_cast<double>(cost::log_iou_cost(0.0f, 1.0f, rules_.iou_eps) * iou_weight_);
    if (!(max_inside < 0.5 * static_cast<double>(rules_.outside_cost))) return std::nullopt;
    std::vector<float> gt_area(static_cast<size_t>(num_gts));
    std::vector<std::array<float, 4>> gt_cxcywh(static_cast<size_t>(num_gts));
    float bx0 = INFINITY, by0 = INFINITY, bx1 = -INFINITY, by1 = -INFINITY;
    double area_sum = 0;
    for (int64_t g = 0; g < num_gts; ++g) {
      const float* box = &p.gt_bboxes(g, 0);
      if (!finite4(box) || p.gt_labels[g] < 0 || p.gt_labels[g] >= num_classes) return std::nullopt;
      gt_area[g] = geometry::area(box);
      gt_cxcywh[g] = gt_cxcywh_of(p, g);
      if (!(gt_area[g] > 0) || !(gt_cxcywh[g][2] * gt_cxcywh[g][3] > 0)) return std::nullopt;
      bx0 = std::min(bx0, box[0]), by0 = std::min(by0, box[1]);
      bx1 = std::max(bx1, box[2]), by1 = std::max(by1, box[3]);
      area_sum += static_cast<double>(gt_area[g]);
    }

    // Step 1: each GT's geometry over the priors near it; candidates.
    struct Near {
      int32_t prior;
      uint8_t flags;
    };
    std::vector<std::vector<Near>> near(static_cast<size_t>(num_gts));  // by prior; flags != 0
    std::vector<char> valid(static_cast<size_t>(num_priors), 0);
    for (int64_t g = 0; g < num_gts; ++g) {
      const float* box = &p.gt_bboxes(g, 0);
      const float gx = geometry::centre_x(box), gy = geometry::centre_y(box);
      for (const auto& level : grid->levels()) {
        // A superset of the box and the centre region (yolox: of its square
        // around the shifted centres, about half a stride off).
        const float s = level.stride, r = center_radius_ * s * 1.01f + 0.01f * s;
        const float shift = rules_.shift_half_stride ? 0.5f * s : 0.0f;
        float x0 = gx - r - shift, y0 = gy - r - shift, x1 = gx + r, y1 = gy + r;
        // The box (yolox: its corners c -+ 0.5 * wh, an ulp from xyxy;
        // widened), as seen from the stored points: YOLOX tests the point
        // plus half a stride, so the window reaches half a stride further
        // left and up.
        const float m = 1e-3f + 1e-5f * (std::fabs(box[0]) + std::fabs(box[1]) + std::fabs(box[2]) + std::fabs(box[3]));
        if (rules_.in_box_or_centre) x0 = std::min(x0, box[0] - shift - m), y0 = std::min(y0, box[1] - shift - m),
                                     x1 = std::max(x1, box[2] + m), y1 = std::max(y1, box[3] + m);
        grid->for_each_in(level, x0, y0, x1, y1, [&](int32_t i) {
          const uint8_t flags = geometry(p, i, centre(p, i), g);
          if (flags == 0) return;
          near[g].push_back({i, flags});
          valid[i] = 1;
        });
      }
      std::sort(near[g].begin(), near[g].end(), [](const Near& a, const Near& b) { return a.prior < b.prior; });
    }
    if (std::find(valid.begin(), valid.end(), 1) == valid.end()) return std::nullopt;  // the dense path's note

    // Step 2: positive IoUs per GT through an index of the candidates'
    // predictions (boxes widened a little: YOLOX's cxcywh round trip can
    // move an edge by an ulp); dynamic k.
    const float cell = static_cast<float>(std::clamp(std::sqrt(area_sum / static_cast<double>(num_gts)), 16.0, 256.0));
    geometry::BoxIndex index(bx0, by0, bx1, by1, cell);
    std::vector<std::array<float, 4>> pred_cxcywh(static_cast<size_t>(num_priors));
    std::vector<float> pred_area(static_cast<size_t>(num_priors), 0.0f);
    for (int64_t i = 0; i < num_priors; ++i) {
      if (!valid[i]) continue;
      const float* pred = &p.pred_bboxes(i, 0);
      if (!finite4(pred)) return std::nullopt;
      pred_area[i] = geometry::area(pred);
      pred_cxcywh[i] = pred_cxcywh_of(p, i);
      const float m = 1e-3f + 1e-5f * (std::fabs(pred[0]) + std::fabs(pred[1]) + std::fabs(pred[2]) + std::fabs(pred[3]));
      const float widened[4] = {pred[0] - m, pred[1] - m, pred[2] + m, pred[3] + m};
      index.insert(static_cast<int32_t>(i), widened);
    }
    const auto iou_with = [&](int32_t i, int64_t g) {
      if (!rules_.cxcywh_iou) return geometry::iou(&p.pred_bboxes(i, 0), &p.gt_bboxes(g, 0), pred_area[i], gt_area[g]);
      return geometry::iou_cxcywh(gt_cxcywh[g].data(), pred_cxcywh[i].data());
    };
    std::vector<uint32_t> seen(static_cast<size_t>(num_priors), 0);
    std::vector<int64_t> ks(static_cast<size_t>(num_gts));
    std::vector<std::vector<std::pair<int32_t, float>>> overlapping(static_cast<size_t>(num_gts));
    std::vector<float> ious;
    bool nonfinite = false;
    for (int64_t g = 0; g < num_gts; ++g) {
      ious.clear();
      index.query(&p.gt_bboxes(g, 0), &seen, static_cast<uint32_t>(g + 1), [&](int32_t i) {
        const float u = iou_with(i, g);
        if (std::isnan(u)) nonfinite = true;
        if (u > 0) ious.push_back(u), overlapping[g].emplace_back(i, u);
      });
      ks[g] = match::dynamic_k(ious, candidate_topk_);
    }
    if (nonfinite) return std::nullopt;

    // Per-prior class totals, on demand; the pair cost as the dense search forms it.
    std::vector<double> background(static_cast<size_t>(num_priors), std::nan(""));
    std::vector<float> probs(static_cast<size_t>(num_classes));
    const auto background_of = [&](int32_t i) {
      double& bg = background[i];
      if (std::isnan(bg)) {
        probabilities(p, i, &probs);
        bg = cost::bce_prob_background_total(probs.data(), num_classes);
        if (!std::isfinite(bg)) nonfinite = true, bg = 0;
      }
      return bg;
    };
    const bool with_obj = p.has(Field::kObjectness);
    const auto prob_of = [&](int32_t i, int64_t c) {
      const float obj = with_obj ? objectness_probability(p, i) : 1.0f;
      const float cls = class_probability(p, i, c);
      const float q = rules_.sqrt_score ? std::sqrt(cls * obj) : (with_obj ? cls * obj : cls);
      if (!std::isfinite(q)) nonfinite = true;
      return q;
    };
    const auto pair_of = [&](int32_t i, int64_t g, float u, uint8_t flags) {
      CandidatePair pair;
      pair.prior = i;
      pair.gt = static_cast<int32_t>(g);
      pair.iou = u;
      const float cls = cost::bce_prob_class_cost(background_of(i), prob_of(i, p.gt_labels[g])) * cls_weight_;
      const float iou = cost::log_iou_cost(u, 1.0f, rules_.iou_eps) * iou_weight_;
      pair.inside = penalty_free(flags);
      pair.terms = {cls, iou, pair.inside ? 0.0f : rules_.outside_cost};
      pair.cost = (pair.terms[0] + pair.terms[1]) + pair.terms[2];
      return pair;
    };
    // The cost of candidate i for a GT of class c whose prediction misses it
    // (u = 0): (cls + iou(0)) + INF.
    std::vector<int32_t> candidates;
    for (int64_t i = 0; i < num_priors; ++i)
      if (valid[i]) candidates.push_back(static_cast<int32_t>(i));
    const float miss_iou = cost::log_iou_cost(0.0f, 1.0f, rules_.iou_eps) * iou_weight_;
    const auto miss_cost = [&](int32_t i, int64_t c) {
      const float cls = cost::bce_prob_class_cost(background_of(i), prob_of(i, c)) * cls_weight_;
      return (cls + miss_iou) + rules_.outside_cost;
    };
    // The m cheapest candidates at u = 0 for class c, by (cost, prior). The
    // class cost is at least BCE(p, 1) = -log p with p <= sigmoid(x) (times
    // an objectness probability; YOLOX: p <= sqrt(sigmoid(x))), so costing
    // the m candidates of highest logit gives a bound on the m-th cheapest,
    // and only logits above the matching threshold can reach it.
    std::vector<std::vector<float>> negated_logits(static_cast<size_t>(num_classes));
    const auto cheapest_misses = [&](int64_t c, int64_t m) {
      std::vector<std::pair<float, int32_t>> found;
      const auto v_count = static_cast<int64_t>(candidates.size());
      m = std::min(m, v_count);
      const auto take_all = [&]() {
        for (int32_t i : candidates) found.emplace_back(miss_cost(i, c), i);
      };
      if (p.cls_probs.size() > 0 || cls_weight_ <= 0) {
        take_all();
      } else {
        std::vector<float>& neg = negated_logits[static_cast<size_t>(c)];
        if (neg.empty())
          for (int32_t i : candidates) neg.push_back(-p.cls_scores(i, c));
        std::vector<int32_t> top = match::k_smallest(neg.data(), v_count, m);
        std::vector<char> costed_v(static_cast<size_t>(v_count), 0);
        float worst = -INFINITY;
        for (int32_t v : top) {
          found.emplace_back(miss_cost(candidates[v], c), candidates[v]);
          worst = std::max(worst, found.back().first);
          costed_v[v] = 1;
        }
        // Others need -log p * cls_weight <= worst - INF - iou(0) (with margins).
        const double room = (static_cast<double>(worst) - static_cast<double>(rules_.outside_cost) -
                             static_cast<double>(miss_iou)) / static_cast<double>(cls_weight_) + 0.05;
        const double scale = rules_.sqrt_score ? 0.5 : 1.0;  // -log p >= scale * softplus(-x)
        const double softplus_max = room / scale;
        if (softplus_max >= 99.0) {
          for (int64_t v = 0; v < v_count; ++v)
            if (!costed_v[v]) found.emplace_back(miss_cost(candidates[v], c), candidates[v]);
        } else if (softplus_max > 0) {
          // softplus(-x) <= s  <=>  x >= -log(expm1(s)); a margin for float32.
          const double threshold = -std::log(std::expm1(softplus_max)) - 1e-3;
          for (int64_t v = 0; v < v_count; ++v)
            if (!costed_v[v] && -static_cast<double>(neg[v]) >= threshold)
              found.emplace_back(miss_cost(candidates[v], c), candidates[v]);
        }
      }
      const auto m_end = found.begin() + std::min<int64_t>(m, static_cast<int64_t>(found.size()));
      std::partial_sort(found.begin(), m_end, found.end());
      found.erase(m_end, found.end());
      return found;
    };

    // Step 3: each GT's k cheapest.
    std::vector<std::vector<CandidatePair>> costed(static_cast<size_t>(num_gts));  // [G] by prior
    std::vector<std::vector<int32_t>> picks(static_cast<size_t>(num_gts));
    std::vector<uint32_t> tag_of(static_cast<size_t>(num_priors), 0);
    std::vector<float> costs;
    for (int64_t g = 0; g < num_gts; ++g) {
      const uint32_t tag = static_cast<uint32_t>(g + 1);
      std::vector<CandidatePair>& pairs = costed[g];
      std::vector<float> iou_near;
      // Penalty-free pairs (the report's "inside") and, in the fallback, the rest.
      int64_t free = 0;
      size_t o = 0;
      auto& over = overlapping[g];
      std::sort(over.begin(), over.end());
      for (const Near& n : near[g]) {
        while (o < over.size() && over[o].first < n.prior) ++o;
        const float u = o < over.size() && over[o].first == n.prior ? over[o].second : 0.0f;
        if (!penalty_free(n.flags)) continue;
        pairs.push_back(pair_of(n.prior, g, u, n.flags));
        tag_of[n.prior] = tag;
        ++free;
      }
      if (free < ks[g]) {
        // Overlapping candidates outside the geometry: exact costs.
        for (const auto& [i, u] : over) {
          if (tag_of[i] == tag) continue;
          tag_of[i] = tag;
          pairs.push_back(pair_of(i, g, u, geometry(p, i, centre(p, i), g)));
        }
        // The others, cheapest first at u = 0: the first (k - free) untagged suffice.
        // Ask for a few more than needed; if tagged ones crowd them out, ask for more.
        const int64_t need = ks[g] - free;
        const auto total = static_cast<int64_t>(candidates.size());
        std::vector<int32_t> rest;
        for (int64_t m = need + 8;; m = std::min(2 * m, total)) {
          rest.clear();
          for (const auto& [c, i] : cheapest_misses(p.gt_labels[g], m)) {
            if (static_cast<int64_t>(rest.size()) == need) break;
            if (tag_of[i] != tag) rest.push_back(i);
          }
          if (static_cast<int64_t>(rest.size()) == need || m >= total) break;
        }
        for (int32_t i : rest) pairs.push_back(pair_of(i, g, 0.0f, geometry(p, i, centre(p, i), g)));
      }
      std::sort(pairs.begin(), pairs.end(), [](const CandidatePair& x, const CandidatePair& y) { return x.prior < y.prior; });
      costs.clear();
      for (const CandidatePair& pair : pairs) costs.push_back(pair.cost);
      picks[g] = match::k_smallest(costs.data(), static_cast<int64_t>(costs.size()), ks[g]);
      // A k-th cost shared with a candidate left out (common in the INF + c
      // block, quantised to 1/128): the dense path replays torch's order.
      if (match::boundary_tie(costs.data(), static_cast<int64_t>(costs.size()), picks[g])) return std::nullopt;
    }
    if (nonfinite) return std::nullopt;

    // Step 4: owners.
    std::vector<int32_t> owner(static_cast<size_t>(num_priors), -1);
    std::vector<int32_t> pickers_of(static_cast<size_t>(num_priors), 0);
    for (int64_t g = 0; g < num_gts; ++g)
      for (int32_t v : picks[g]) {
        const int32_t i = costed[g][v].prior;
        ++pickers_of[i];
        owner[i] = static_cast<int32_t>(g);
      }
    const auto costed_pair = [&](int64_t g, int32_t i) -> const CandidatePair* {
      const auto& pairs = costed[g];
      const auto it = std::lower_bound(pairs.begin(), pairs.end(), i,
                                       [](const CandidatePair& x, int32_t b) { return x.prior < b; });
      return it != pairs.end() && it->prior == i ? &*it : nullptr;
    };
    const auto exact_cost = [&](int32_t i, int64_t g) {
      const CandidatePair* known = costed_pair(g, i);
      return known ? known->cost : pair_of(i, g, iou_with(i, g), geometry(p, i, centre(p, i), g)).cost;
    };
    std::vector<std::pair<int32_t, int32_t>> contested;
    for (int64_t g = 0; g < num_gts; ++g)
      for (int32_t v : picks[g])
        if (pickers_of[costed[g][v].prior] > 1) contested.emplace_back(costed[g][v].prior, static_cast<int32_t>(g));
    std::sort(contested.begin(), contested.end());
    const float bucket = grid->levels().back().stride;
    geometry::BoxIndex centres(bx0, by0, bx1, by1, bucket);
    for (int64_t g = 0; g < num_gts; ++g) {
      const float c[4] = {gt_cxcywh[g][0], gt_cxcywh[g][1], gt_cxcywh[g][0], gt_cxcywh[g][1]};
      centres.insert(static_cast<int32_t>(g), c);
    }
    std::vector<uint32_t> gt_seen(static_cast<size_t>(num_gts), 0);
    uint32_t query = 0;
    for (size_t a = 0; a < contested.size();) {
      const int32_t i = contested[a].first;
      size_t b = a;
      float best = INFINITY;
      int32_t best_g = -1;
      for (; b < contested.size() && contested[b].first == i; ++b) {
        const float c = costed_pair(contested[b].second, i)->cost;
        if (best_g < 0 || c < best) best = c, best_g = contested[b].second;
      }
      const auto consider = [&](int32_t g) {
        const float c = exact_cost(i, g);
        if (c < best || (c == best && g < best_g)) best = c, best_g = g;
      };
      if (best < rules_.outside_cost) {
        // Only a GT whose centre region holds the prior can cost less than INF.
        const float s = p.priors(i, 2);
        const float reach = center_radius_ * s * 1.01f + 0.51f * s;
        const float px = p.priors(i, 0), py = p.priors(i, 1);
        const float area[4] = {px - reach, py - reach, px + reach + 0.5f * s, py + reach + 0.5f * s};
        centres.query(area, &gt_seen, ++query, consider);
      } else {
        for (int32_t g = 0; g < num_gts; ++g) consider(g);
      }
      owner[i] = best_g;
      a = b;
    }
    if (nonfinite) return std::nullopt;

    // Step 5: the result, as CostTable::assemble makes it.
    Assignment out = Assignment::Empty(num_priors, num_gts, rules_.negative_overlap, true);
    out.dynamic_ks = ks;
    for (int64_t i = 0; i < num_priors; ++i) {
      const int32_t g = owner[i];
      if (g < 0) continue;
      out.gt_inds[i] = g + 1;
      out.labels[i] = p.gt_labels[g];
      const CandidatePair* pair = costed_pair(g, static_cast<int32_t>(i));
      out.max_overlaps[i] = pair ? pair->iou : iou_with(static_cast<int32_t>(i), g);
    }
    for (int64_t g = 0; g < num_gts; ++g) {
      std::vector<CandidatePair>& pairs = costed[g];
      for (int32_t v : picks[g]) pairs[v].picked = true;
      for (const CandidatePair& pair : pairs)
        if (pair.inside || pair.picked) out.candidates.push_back(pair);
    }
    note_half_offset(p, &out);
    return out;
  }

  Rules rules_;
  Params params_;
  float center_radius_;
  int64_t candidate_topk_;
  float iou_weight_;
  float cls_weight_;
  bool sparse_search_;
};

std::vector<ParamSpec> simota_params(double center_radius) {
  return {
      {"center_radius", ParamType::kFloat, center_radius, "half-size of a GT's centre region, in strides", 0.0,
       std::nullopt, {}},
      {"candidate_topk", ParamType::kInt, int64_t{10}, "how many top IoUs are summed into a GT's dynamic k", 1.0,
       std::nullopt, {}},
      {"iou_weight", ParamType::kFloat, 3.0, "weight of the -log(IoU) cost", 0.0, std::nullopt, {}},
      {"cls_weight", ParamType::kFloat, 1.0, "weight of the class (BCE) cost", 0.0, std::nullopt, {}},
      search_param(),
  };
}

AssignerInfo make_info(const Rules& rules, double center_radius, std::string summary, std::string reference,
                       std::vector<Need> needs) {
  AssignerInfo info;
  info.name = rules.name;
  info.summary = std::move(summary);
  info.reference = std::move(reference);
  info.params = simota_params(center_radius);
  info.needs = std::move(needs);
  info.result_files = {"assigned_gt_inds.npy", "assigned_labels.npy", "max_overlaps.npy", "dynamic_ks.npy"};
  if (rules.cxcywh_iou)
    info.numerics =
        "YOLOX's bboxes_iou has no epsilon: a zero-area GT and a zero-area prediction give IoU 0 / 0 = NaN, and "
        "NaN costs; the positive's IoU, (matching_matrix * ious).sum(0), is NaN wherever its prior has a NaN IoU";
  info.make = [rules](const Params& params) { return std::make_unique<SimOta>(rules, params); };
  // As dynamic-soft-label: k cheapest priors per GT, conflicts by the cost
  // over all GTs; outside the geometry costs INF, which a GT still takes
  // when it has fewer than k priors inside: not geometric.
  info.traits = {CostDefinition::kSimOta, /*multi_match=*/false, /*dynamic_k=*/true, /*picks_k=*/true,
                 /*conflict_over_all=*/true, /*geometric=*/false, /*records_pairs=*/true, /*sparse_search=*/true};
  return info;
}

}  // namespace

AssignerInfo simota_info() {
  AssignerInfo info = make_info(
      kMmdetection, 2.5,
      "SimOTA (YOLOX) as in mmdetection: BCE class cost + 3 -log IoU + INF outside box-and-centre, dynamic k",
      "mmdetection mmdet/models/task_modules/assigners/sim_ota_assigner.py SimOTAAssigner (commit be627c24)",
      {{Field::kPriors}, {Field::kClsScores}, {Field::kPredBboxes}, {Field::kGtBboxes}, {Field::kGtLabels}});
  info.aliases = {"yolox-mmdet"};
  info.class_names = {{"SimOTAAssigner", ClassName::Syntax::kAny}};
  info.config_ignored = {"iou_calculator"};
  info.replays = [](const Params&) {
    return std::vector<FrameworkRange>{{"mmdet", "3.0.0", "4", "mmdetection 3.x"}};
  };
  return info;
}

AssignerInfo simota_yolox_info() {
  AssignerInfo info = make_info(
      kYolox, 1.5,
      "YOLOX's own SimOTA: centre square only, sqrt(cls * obj) BCE, cxcywh IoU, +1e6 outside (the 0.3.0 release: "
      "geometry=box-or-center)",
      "YOLOX yolox/models/yolo_head.py YOLOXHead.get_assignments (main, commit 6ddff482; the 0.3.0 release, tag "
      "4197784, with geometry=box-or-center)",
      {{Field::kPriors},
       {Field::kClsScores},
       {Field::kObjectness},
       {Field::kPredBboxes},
       {Field::kGtBboxes},
       {Field::kGtLabels}});
  info.params.insert(info.params.end() - 1,
                     {"geometry", ParamType::kString, std::string("center"),
                      "center: get_geometry_constraint (YOLOX main since Dec 2022), a prior is a candidate in a "
                      "GT's centre square, +1e6 outside it; box-or-center: get_in_boxes_info (the 0.3.0 release, "
                      "pip's yolox 0.3.0), in the GT box or the square, +1e5 unless in both",
                      std::nullopt, std::nullopt, {"center", "box-or-center"}});
  info.aliases = {"yolox"};
  info.presets = {
      {"main", "YOLOX main since a4152a5 (Dec 2022): get_geometry_constraint, center_radius 1.5 (the defaults)",
       R"({"geometry": "center", "center_radius": 1.5, "candidate_topk": 10})", {"yolox-main"}},
      {"0.3.0", "the YOLOX 0.3.0 release (tag 4197784, pip): get_in_boxes_info, center_radius 2.5, +1e5",
       R"({"geometry": "box-or-center", "center_radius": 2.5, "candidate_topk": 10})", {"yolox-0.3.0"}},
  };
  // Both report __version__ 0.3.0; the hook records which code it found.
  info.replays = [](const Params& p) {
    if (p.get_string("geometry") == "box-or-center")
      return std::vector<FrameworkRange>{{"yolox", "0.1.0", "0.3.1", "YOLOX 0.1 - 0.3.0 releases (get_in_boxes_info)"}};
    return std::vector<FrameworkRange>{{"yolox", "0.3.0", "", "YOLOX main since Dec 2022 (get_geometry_constraint)"}};
  };
  return info;
}

}  // namespace assignscope::assign
