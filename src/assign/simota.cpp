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
#include "assign/search_record.h"
#include "assign/sparse_dynamic_k.h"
#include "assign/scores.h"
#include "cost/terms.h"
#include "geometry/boxes.h"
#include "geometry/prior_grid.h"
#include "match/torch_order.h"

namespace assignscope::assign {

std::array<float, 4> gt_cxcywh_of(const Problem& p, int64_t g) {
  if (p.gt_cxcywh.rows() > 0) return {p.gt_cxcywh(g, 0), p.gt_cxcywh(g, 1), p.gt_cxcywh(g, 2), p.gt_cxcywh(g, 3)};
  return geometry::to_cxcywh(&p.gt_bboxes(g, 0));
}

std::array<float, 4> pred_cxcywh_of(const Problem& p, int64_t i) {
  if (p.pred_cxcywh.rows() > 0)
    return {p.pred_cxcywh(i, 0), p.pred_cxcywh(i, 1), p.pred_cxcywh(i, 2), p.pred_cxcywh(i, 3)};
  return geometry::to_cxcywh(&p.pred_bboxes(i, 0));
}

namespace {

// SimOTA's class cost: sum_c BCE(p_c, onehot(l)_c), logs clamped at -100.
float bce_pair(double background, float label_prob, float) { return cost::bce_prob_class_cost(background, label_prob); }
constexpr detail::ProbClassCost kOneHotBce{cost::bce_prob_background_total, bce_pair, true};

struct Rules {
  const char* name;
  detail::ProbClassCost class_cost;  // cls = class_cost.pair(...) * cls_weight
  bool in_box_or_centre;             // candidate region: box OR centre region (mmdet), centre square only (yolox)
  bool one_stride_square;            // the centre region uses one stride for both axes (yolox's expanded_strides)
  bool shift_half_stride;            // prior centre (cx / stride + 0.5) * stride (yolox)
  bool cxcywh_iou;                   // YOLOX's bboxes_iou (no eps) instead of mmdet's bbox_overlaps
  float iou_eps;                     // in -log(u + eps)
  bool sqrt_score;                   // p = sqrt(sigmoid(cls) * sigmoid(obj)) (yolox)
  float outside_cost;                // INF added to pairs outside the geometry
  float negative_overlap;            // max_overlaps of non-positives
};

constexpr Rules kMmdetection{"simota", kOneHotBce, true, false, false, false, 1e-7f, false, 100000.0f, -100000.0f};
constexpr Rules kYolox{"simota.yolox", kOneHotBce, false, true, true, true, 1e-8f, true, 1000000.0f, 0.0f};

// Where a prior stands relative to one GT.
enum Geometry : uint8_t { kInCentre = 1, kInBox = 2 };

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
      SearchRecord search = search_plan(sparse_search_, p);
      std::optional<Assignment> sparse;
      if (search.path == SearchRecord::Path::kSparse) sparse = match_sparse(p, &search.why_dense);
      out = sparse ? std::move(*sparse) : match(p);
      out.search = search_outcome(search, sparse.has_value());
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
  // A variant's eps parameter (simota_variant_info), as torch adds it: in float32.
  static Rules with_geometry(Rules rules, const Params& params) {
    if (params.has("geometry") && params.get_string("geometry") == "box-or-center")
      rules.in_box_or_centre = true, rules.outside_cost = 100000.0f;
    if (params.has("eps")) rules.iou_eps = static_cast<float>(params.get_float("eps"));
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

  // The class probabilities the reference feeds to its class cost, as float32.
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
      background = rules_.class_cost.background(probs.data(), p.num_classes());
    };
    const auto iou_of = [&](int64_t v, int64_t g) {
      const float* pred = &p.pred_bboxes(table.prior(v), 0);
      if (!rules_.cxcywh_iou) return geometry::iou(pred, &p.gt_bboxes(g, 0), geometry::area(pred), gt_area[g]);
      const auto pred_cxcywh = pred_cxcywh_of(p, table.prior(v));
      return geometry::iou_cxcywh(gt_cxcywh[g].data(), pred_cxcywh.data());
    };
    const auto terms_of = [&](int64_t v, int64_t g, float u) -> detail::Terms {
      const float cls = rules_.class_cost.pair(background, probs[p.gt_labels[g]], u) * cls_weight_;
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

  // The same result as match(), costing only the pairs that can matter
  // (detail::SparseDynamicK). Needs point priors on per-level grids (equal x
  // and y strides), finite inputs and GTs of positive area; nullopt, with
  // the reason in `why`, otherwise.
  //
  // A pair outside the GT's geometry costs at least INF (1e5 | 1e6) and one
  // inside it less (cls + iou stays far below INF: checked), so a GT whose
  // penalty-free priors number k or more picks among them alone. A GT with
  // fewer takes the rest from the other candidates, ordered by
  // (cls + iou) + INF: exact costs for those whose prediction overlaps the
  // GT, and, for the others (u = 0), a per-class order of all candidates by
  // their cost at u = 0, walked from the cheapest. A prior several GTs pick
  // goes to the cheapest GT over all GTs: only GTs whose centre region holds
  // the prior can undercut a penalty-free cost; otherwise every GT is costed.
  std::optional<Assignment> match_sparse(const Problem& p, std::string* why) const;

  class Sparse;

  Rules rules_;
  Params params_;
  float center_radius_;
  int64_t candidate_topk_;
  float iou_weight_;
  float cls_weight_;
  bool sparse_search_;
};

// SimOTA's side of the sparse search: its pair cost, its candidates per GT
// and its lower bound for rivals.
class SimOta::Sparse final : public detail::SparseCost {
 public:
  Sparse(const SimOta& a, const Problem& p) : a_(a), p_(p), num_gts_(p.num_gts()), engine_(p, p.num_gts(), this) {}

  std::optional<Assignment> run(std::string* why) {
    const auto decline = [why](const char* reason) { return *why = reason, std::optional<Assignment>(); };
    grid_ = geometry::PriorGrid::of(p_);
    if (!grid_) return decline("the priors form no grid");
    if (const char* reason = check_inputs()) return decline(reason);
    // Step 1: each GT's geometry over the priors near it; candidates.
    find_near();
    if (candidates_.empty()) return decline("no prior in any GT's geometry (the dense search's note)");
    engine_.dense_row(candidates_, match::TieOrder::kTorchTopk);  // match()'s candidates, in its order
    // Step 2: positive IoUs and dynamic k.
    load_predictions();
    std::vector<const float*> boxes(static_cast<size_t>(num_gts_));
    for (int64_t g = 0; g < num_gts_; ++g) boxes[g] = &p_.gt_bboxes(g, 0);
    const auto iou_of = [this](int64_t g) { return [this, g](int32_t i) { return iou(i, g); }; };  // Sparse is final
    if (!engine_.positive_ious(boxes, valid_, valid_, a_.candidate_topk_, true, iou_of))
      return decline("a prediction is not finite, or an IoU NaN");
    // Step 3: each GT's k cheapest.
    tag_of_.assign(static_cast<size_t>(p_.num_priors()), 0);
    for (int64_t g = 0; g < num_gts_; ++g) {
      cost_candidates(g);
      if (!engine_.pick(g))
        return decline("a GT's k-th cost is shared with a candidate left out and there is no dense row");
    }
    if (nonfinite_) return decline("a class probability or its cost is not finite");
    // Step 4: owners.
    std::vector<std::array<float, 2>> centres;
    for (const auto& b : gt_cxcywh_) centres.push_back({b[0], b[1]});
    engine_.resolve_owners(centres, grid_->levels().back().stride);
    if (nonfinite_) return decline("a class probability or its cost is not finite");
    // Step 5: the result.
    Assignment out = engine_.assemble(p_.gt_labels, a_.rules_.negative_overlap);
    a_.note_half_offset(p_, &out);
    return out;
  }

  float iou(int32_t i, int64_t g) override {
    if (!a_.rules_.cxcywh_iou)
      return geometry::iou(&p_.pred_bboxes(i, 0), &p_.gt_bboxes(g, 0), pred_area_[i], gt_area_[g]);
    return geometry::iou_cxcywh(gt_cxcywh_[g].data(), pred_cxcywh_[i].data());
  }

  CandidatePair pair(int32_t i, int64_t g, float u) override {
    return pair_of(i, g, u, a_.geometry(p_, i, a_.centre(p_, i), g));
  }

  // Below INF only a GT whose centre region holds the prior's point (yolox:
  // shifted by up to half a stride) can undercut `best`.
  std::optional<std::array<float, 4>> rival_window(int32_t i, float best) override {
    if (!(best < a_.rules_.outside_cost)) return std::nullopt;
    const float s = p_.priors(i, 2);
    const float reach = a_.center_radius_ * s * 1.01f + 0.51f * s;
    const float px = p_.priors(i, 0), py = p_.priors(i, 1);
    return std::array<float, 4>{px - reach, py - reach, px + reach + 0.5f * s, py + reach + 0.5f * s};
  }

 private:
  struct Near {
    int32_t prior;
    uint8_t flags;
  };

  // Equal strides, (cls + iou) below INF (each class's term is at most 100:
  // a BCE with logs clamped at -100, times at most 1 for AlignOTA),
  // finite GTs of positive area with labels in range; the reason otherwise.
  const char* check_inputs() {
    const int64_t num_classes = p_.num_classes();
    for (int64_t i = 0; i < p_.num_priors(); ++i)
      if (p_.priors(i, 3) != p_.priors(i, 2)) return "priors with unequal x and y strides";
    const double max_inside = 100.0 * static_cast<double>(num_classes) * static_cast<double>(a_.cls_weight_) +
                              static_cast<double>(cost::log_iou_cost(0.0f, 1.0f, a_.rules_.iou_eps) * a_.iou_weight_);
    if (!(max_inside < 0.5 * static_cast<double>(a_.rules_.outside_cost))) return "cls + iou can reach INF";
    gt_area_.resize(static_cast<size_t>(num_gts_));
    gt_cxcywh_.resize(static_cast<size_t>(num_gts_));
    for (int64_t g = 0; g < num_gts_; ++g) {
      const float* box = &p_.gt_bboxes(g, 0);
      if (!p_.gt_bboxes.row(g).allFinite()) return "a GT box is not finite";
      if (p_.gt_labels[g] < 0 || p_.gt_labels[g] >= num_classes) return "a GT label is out of range";
      gt_area_[g] = geometry::area(box);
      gt_cxcywh_[g] = gt_cxcywh_of(p_, g);
      if (!(gt_area_[g] > 0) || !(gt_cxcywh_[g][2] * gt_cxcywh_[g][3] > 0)) return "a GT of zero area";
    }
    return nullptr;
  }

  // Each GT's priors with some geometry (near_, by prior), the candidates.
  void find_near() {
    near_.resize(static_cast<size_t>(num_gts_));
    valid_.assign(static_cast<size_t>(p_.num_priors()), 0);
    for (int64_t g = 0; g < num_gts_; ++g) {
      const float* box = &p_.gt_bboxes(g, 0);
      const float gx = geometry::centre_x(box), gy = geometry::centre_y(box);
      for (const auto& level : grid_->levels()) {
        // A superset of the box and the centre region (yolox: of its square
        // around the shifted centres, about half a stride off).
        const float s = level.stride, r = a_.center_radius_ * s * 1.01f + 0.01f * s;
        const float shift = a_.rules_.shift_half_stride ? 0.5f * s : 0.0f;
        float x0 = gx - r - shift, y0 = gy - r - shift, x1 = gx + r, y1 = gy + r;
        // The box (yolox: its corners c -+ 0.5 * wh, an ulp from xyxy;
        // widened), as seen from the stored points: YOLOX tests the point
        // plus half a stride, so the window reaches half a stride further
        // left and up.
        const float m = 1e-3f + 1e-5f * (std::fabs(box[0]) + std::fabs(box[1]) + std::fabs(box[2]) + std::fabs(box[3]));
        if (a_.rules_.in_box_or_centre)
          x0 = std::min(x0, box[0] - shift - m), y0 = std::min(y0, box[1] - shift - m), x1 = std::max(x1, box[2] + m),
          y1 = std::max(y1, box[3] + m);
        grid_->for_each_in(level, x0, y0, x1, y1, [&](int32_t i) {
          const uint8_t flags = a_.geometry(p_, i, a_.centre(p_, i), g);
          if (flags == 0) return;
          near_[g].push_back({i, flags});
          valid_[i] = 1;
        });
      }
      std::sort(near_[g].begin(), near_[g].end(), [](const Near& x, const Near& y) { return x.prior < y.prior; });
    }
    for (int64_t i = 0; i < p_.num_priors(); ++i)
      if (valid_[i]) candidates_.push_back(static_cast<int32_t>(i));
  }

  void load_predictions() {
    pred_area_.assign(static_cast<size_t>(p_.num_priors()), 0.0f);
    pred_cxcywh_.resize(static_cast<size_t>(p_.num_priors()));
    for (int32_t i : candidates_)
      pred_area_[i] = geometry::area(&p_.pred_bboxes(i, 0)), pred_cxcywh_[i] = pred_cxcywh_of(p_, i);
    background_.assign(static_cast<size_t>(p_.num_priors()), std::nan(""));
    probs_.resize(static_cast<size_t>(p_.num_classes()));
    negated_logits_.resize(static_cast<size_t>(p_.num_classes()));
    all_misses_.resize(static_cast<size_t>(p_.num_classes()));
  }

  // Per-prior class totals, on demand.
  double background_of(int32_t i) {
    double& bg = background_[i];
    if (std::isnan(bg)) {
      a_.probabilities(p_, i, &probs_);
      bg = a_.rules_.class_cost.background(probs_.data(), p_.num_classes());
      if (!std::isfinite(bg)) nonfinite_ = true, bg = 0;
    }
    return bg;
  }

  float prob_of(int32_t i, int64_t c) {
    const bool with_obj = p_.has(Field::kObjectness);
    const float obj = with_obj ? objectness_probability(p_, i) : 1.0f;
    const float cls = class_probability(p_, i, c);
    const float q = a_.rules_.sqrt_score ? std::sqrt(cls * obj) : (with_obj ? cls * obj : cls);
    if (!std::isfinite(q)) nonfinite_ = true;
    return q;
  }

  // The pair cost as the dense search forms it.
  CandidatePair pair_of(int32_t i, int64_t g, float u, uint8_t flags) {
    CandidatePair out;
    out.prior = i;
    out.gt = static_cast<int32_t>(g);
    out.iou = u;
    const float cls = a_.rules_.class_cost.pair(background_of(i), prob_of(i, p_.gt_labels[g]), u) * a_.cls_weight_;
    const float iou_term = cost::log_iou_cost(u, 1.0f, a_.rules_.iou_eps) * a_.iou_weight_;
    out.inside = a_.penalty_free(flags);
    out.terms = {cls, iou_term, out.inside ? 0.0f : a_.rules_.outside_cost};
    out.cost = (out.terms[0] + out.terms[1]) + out.terms[2];
    return out;
  }

  float miss_iou() const { return cost::log_iou_cost(0.0f, 1.0f, a_.rules_.iou_eps) * a_.iou_weight_; }

  // The cost of candidate i for a GT of class c whose prediction misses it
  // (u = 0): (cls + iou(0)) + INF.
  float miss_cost(int32_t i, int64_t c) {
    const float cls = a_.rules_.class_cost.pair(background_of(i), prob_of(i, c), 0.0f) * a_.cls_weight_;
    return (cls + miss_iou()) + a_.rules_.outside_cost;
  }

  // Whether the class cost bounds the miss costs by the logits (see
  // cheapest_misses): not with probabilities given, no class cost, or a
  // class cost not above -log p (AlignOTA's).
  bool logit_bound() const {
    return p_.cls_probs.size() == 0 && a_.cls_weight_ > 0 && a_.rules_.class_cost.at_least_minus_log_label_prob;
  }

  // Every candidate's cost at u = 0 for class c, by (cost, prior): costed
  // once per class (without a logit bound every candidate must be costed).
  const std::vector<std::pair<float, int32_t>>& all_misses(int64_t c) {
    std::vector<std::pair<float, int32_t>>& all = all_misses_[static_cast<size_t>(c)];
    if (all.empty()) {
      all.reserve(candidates_.size());
      for (int32_t i : candidates_) all.emplace_back(miss_cost(i, c), i);
      std::sort(all.begin(), all.end());
    }
    return all;
  }

  // The m cheapest candidates at u = 0 for class c, by (cost, prior), with
  // a logit bound: the class cost is at least BCE(p, 1) = -log p with
  // p <= sigmoid(x) (times an objectness probability; YOLOX: p <=
  // sqrt(sigmoid(x))), so costing the m candidates of highest logit gives a
  // bound on the m-th cheapest, and only logits above the matching
  // threshold can reach it.
  std::vector<std::pair<float, int32_t>> cheapest_misses(int64_t c, int64_t m) {
    std::vector<std::pair<float, int32_t>> found;
    const auto v_count = static_cast<int64_t>(candidates_.size());
    m = std::min(m, v_count);
    std::vector<float>& neg = negated_logits_[static_cast<size_t>(c)];
    if (neg.empty())
      for (int32_t i : candidates_) neg.push_back(-p_.cls_scores(i, c));
    std::vector<int32_t> top = match::k_smallest(neg.data(), v_count, m);
    std::vector<char> costed_v(static_cast<size_t>(v_count), 0);
    float worst = -INFINITY;
    for (int32_t v : top) {
      found.emplace_back(miss_cost(candidates_[v], c), candidates_[v]);
      worst = std::max(worst, found.back().first);
      costed_v[v] = 1;
    }
    add_logits_above(c, worst, costed_v, &found);
    const auto m_end = found.begin() + std::min<int64_t>(m, static_cast<int64_t>(found.size()));
    std::partial_sort(found.begin(), m_end, found.end());
    found.erase(m_end, found.end());
    return found;
  }

  // The candidates not costed yet whose logit can still reach `worst`:
  // -log p * cls_weight <= worst - INF - iou(0) (with margins).
  void add_logits_above(int64_t c, float worst, const std::vector<char>& costed_v,
                        std::vector<std::pair<float, int32_t>>* found) {
    const std::vector<float>& neg = negated_logits_[static_cast<size_t>(c)];
    const double room =
        (static_cast<double>(worst) - static_cast<double>(a_.rules_.outside_cost) - static_cast<double>(miss_iou())) /
            static_cast<double>(a_.cls_weight_) +
        0.05;
    const double scale = a_.rules_.sqrt_score ? 0.5 : 1.0;  // -log p >= scale * softplus(-x)
    const double softplus_max = room / scale;
    if (!(softplus_max > 0)) return;
    // softplus(-x) <= s  <=>  x >= -log(expm1(s)); a margin for float32.
    const bool all = softplus_max >= 99.0;
    const double threshold = all ? 0.0 : -std::log(std::expm1(softplus_max)) - 1e-3;
    for (size_t v = 0; v < neg.size(); ++v)
      if (!costed_v[v] && (all || -static_cast<double>(neg[v]) >= threshold))
        found->emplace_back(miss_cost(candidates_[v], c), candidates_[v]);
  }

  // GT g's costed pairs: its penalty-free priors (the report's "inside")
  // and, when they are fewer than k, the cheapest of the rest.
  void cost_candidates(int64_t g) {
    const uint32_t tag = static_cast<uint32_t>(g + 1);
    std::vector<CandidatePair>& pairs = engine_.costed(g);
    detail::Overlaps& over = engine_.overlapping(g);
    std::sort(over.begin(), over.end());
    int64_t free = 0;
    size_t o = 0;
    for (const Near& n : near_[g]) {
      while (o < over.size() && over[o].first < n.prior) ++o;
      const float u = o < over.size() && over[o].first == n.prior ? over[o].second : 0.0f;
      if (!a_.penalty_free(n.flags)) continue;
      pairs.push_back(pair_of(n.prior, g, u, n.flags));
      tag_of_[n.prior] = tag;
      ++free;
    }
    if (free >= engine_.k(g)) return;
    // Overlapping candidates outside the geometry: exact costs.
    for (const auto& [i, u] : over) {
      if (tag_of_[i] == tag) continue;
      tag_of_[i] = tag;
      pairs.push_back(pair(i, g, u));
    }
    for (int32_t i : cheapest_untagged(g, engine_.k(g) - free)) pairs.push_back(pair(i, g, 0.0f));
  }

  // The others, cheapest first at u = 0: the first `need` untagged suffice,
  // plus the next when it costs what the last of them costs, so that the
  // engine sees a tie at the GT's k boundary (torch's order over the dense
  // search's row decides it; common with AlignOTA's INF = 1e8, spacing 8 in
  // float32). With a logit bound, ask for a few more than needed, and for
  // more if tagged ones crowd them out; without one, walk the class's whole
  // sorted list.
  std::vector<int32_t> cheapest_untagged(int64_t g, int64_t need) {
    const int64_t c = p_.gt_labels[g];
    std::vector<int32_t> rest;
    if (!logit_bound()) {
      first_untagged(all_misses(c), g, need, &rest);
      return rest;
    }
    const auto total = static_cast<int64_t>(candidates_.size());
    for (int64_t m = need + 8;; m = std::min(2 * m, total))
      if (first_untagged(cheapest_misses(c, m), g, need, &rest) || m >= total) return rest;
  }

  // The first `need` of `misses` not costed for GT g yet, and the one after
  // them when it costs what the last of them costs; true when `misses` held
  // that one (equal or not).
  bool first_untagged(const std::vector<std::pair<float, int32_t>>& misses, int64_t g, int64_t need,
                      std::vector<int32_t>* rest) const {
    const uint32_t tag = static_cast<uint32_t>(g + 1);
    rest->clear();
    float last = 0;
    for (const auto& [c, i] : misses) {
      if (tag_of_[i] == tag) continue;
      if (static_cast<int64_t>(rest->size()) >= need) {
        if (c == last) rest->push_back(i);
        return true;
      }
      rest->push_back(i);
      last = c;
    }
    return false;
  }

  const SimOta& a_;
  const Problem& p_;
  int64_t num_gts_;
  detail::SparseDynamicK engine_;
  std::optional<geometry::PriorGrid> grid_;
  std::vector<float> gt_area_;
  std::vector<std::array<float, 4>> gt_cxcywh_;
  std::vector<std::vector<Near>> near_;  // [G] by prior; flags != 0
  std::vector<char> valid_;              // [N] in some GT's geometry
  std::vector<int32_t> candidates_;      // the valid priors
  std::vector<float> pred_area_;
  std::vector<std::array<float, 4>> pred_cxcywh_;
  std::vector<double> background_;  // [N] NaN until computed
  std::vector<float> probs_;
  std::vector<std::vector<float>> negated_logits_;                  // [C] over the candidates, on demand
  std::vector<std::vector<std::pair<float, int32_t>>> all_misses_;  // [C] sorted, on demand (no logit bound)
  std::vector<uint32_t> tag_of_;                                    // [N] GT g + 1 once costed for g
  bool nonfinite_ = false;
};

std::optional<Assignment> SimOta::match_sparse(const Problem& p, std::string* why) const {
  Sparse search(*this, p);
  return search.run(why);
}

std::vector<ParamSpec> simota_params(double center_radius) {
  return {
      {"center_radius",
       ParamType::kFloat,
       center_radius,
       "half-size of a GT's centre region, in strides",
       0.0,
       std::nullopt,
       {}},
      {"candidate_topk",
       ParamType::kInt,
       int64_t{10},
       "how many top IoUs are summed into a GT's dynamic k",
       1.0,
       std::nullopt,
       {}},
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
  info.traits = {CostDefinition::kSimOta,    /*multi_match=*/false, /*dynamic_k=*/true,     /*picks_k=*/true,
                 /*conflict_over_all=*/true, /*geometric=*/false,   /*records_pairs=*/true, /*sparse_search=*/true};
  return info;
}

}  // namespace

AssignerInfo simota_info() {
  AssignerInfo info =
      make_info(kMmdetection, 2.5,
                "SimOTA (YOLOX) as in mmdetection: BCE class cost + 3 -log IoU + INF outside box-and-centre, dynamic k",
                "mmdetection mmdet/models/task_modules/assigners/sim_ota_assigner.py SimOTAAssigner (commit be627c24)",
                {{Field::kPriors}, {Field::kClsScores}, {Field::kPredBboxes}, {Field::kGtBboxes}, {Field::kGtLabels}});
  info.aliases = {"yolox-mmdet"};
  info.class_names = {{"SimOTAAssigner", ClassName::Syntax::kAny}};
  info.config_ignored = {"iou_calculator"};
  info.replays = [](const Params&) { return std::vector<FrameworkRange>{{"mmdet", "3.0.0", "4", "mmdetection 3.x"}}; };
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
                     {"geometry",
                      ParamType::kString,
                      std::string("center"),
                      "center: get_geometry_constraint (YOLOX main since Dec 2022), a prior is a candidate in a "
                      "GT's centre square, +1e6 outside it; box-or-center: get_in_boxes_info (the 0.3.0 release, "
                      "pip's yolox 0.3.0), in the GT box or the square, +1e5 unless in both",
                      std::nullopt,
                      std::nullopt,
                      {"center", "box-or-center"}});
  info.aliases = {"yolox"};
  info.presets = {
      {"main",
       "YOLOX main since a4152a5 (Dec 2022): get_geometry_constraint, center_radius 1.5 (the defaults)",
       R"({"geometry": "center", "center_radius": 1.5, "candidate_topk": 10})",
       {"yolox-main"}},
      {"0.3.0",
       "the YOLOX 0.3.0 release (tag 4197784, pip): get_in_boxes_info, center_radius 2.5, +1e5",
       R"({"geometry": "box-or-center", "center_radius": 2.5, "candidate_topk": 10})",
       {"yolox-0.3.0"}},
  };
  // Both report __version__ 0.3.0; the hook records which code it found.
  info.replays = [](const Params& p) {
    if (p.get_string("geometry") == "box-or-center")
      return std::vector<FrameworkRange>{{"yolox", "0.1.0", "0.3.1", "YOLOX 0.1 - 0.3.0 releases (get_in_boxes_info)"}};
    return std::vector<FrameworkRange>{{"yolox", "0.3.0", "", "YOLOX main since Dec 2022 (get_geometry_constraint)"}};
  };
  return info;
}

AssignerInfo detail::simota_variant_info(const SimOtaVariant& variant, std::string summary, std::string reference) {
  Rules rules = kMmdetection;
  rules.name = variant.name;
  rules.class_cost = variant.class_cost;
  rules.outside_cost = variant.outside_cost;
  rules.negative_overlap = variant.negative_overlap;
  rules.iou_eps = static_cast<float>(variant.default_eps);
  AssignerInfo info =
      make_info(rules, 2.5, std::move(summary), std::move(reference),
                {{Field::kPriors}, {Field::kClsScores}, {Field::kPredBboxes}, {Field::kGtBboxes}, {Field::kGtLabels}});
  info.params.insert(info.params.end() - 1, {"eps",
                                             ParamType::kFloat,
                                             variant.default_eps,
                                             "added to the IoU in the -log(IoU + eps) cost (an assign() argument)",
                                             0.0,
                                             std::nullopt,
                                             {}});
  return info;
}

}  // namespace assignscope::assign
