// YOLOX's SimOTA, as mmdetection and YOLOX itself compute it.
//
// simota: mmdet/models/task_modules/assigners/sim_ota_assigner.py,
//   SimOTAAssigner (commit be627c24).
// simota.yolox: yolox/models/yolo_head.py, YOLOXHead.get_assignments with
//   get_geometry_constraint and simota_matching (YOLOX 0.3.0, commit 6ddff482).
// Both in float32:
//
//   candidates   mmdet: priors whose centre lies strictly inside some GT box
//                or some GT's centre region (c -+ center_radius * stride).
//                yolox: priors inside some GT's centre square (radius
//                center_radius strides, no box test), the prior centre taken
//                as (cx / stride + 0.5) * stride.
//   scores       mmdet: p = sigmoid(cls) [* sigmoid(obj) when the dump has
//                objectness]; yolox: p = sqrt(sigmoid(cls) * sigmoid(obj)).
//   cost         with u = IoU(pred_v, gt_g):
//                  cls  = sum_c BCE(p_c, onehot(g)_c) * cls_weight   (logs >= -100)
//                  iou  = -log(u + eps) * iou_weight                 (eps 1e-7 | 1e-8)
//                  geo  = INF unless the pair is in the GT's box AND centre
//                         region (mmdet, INF 1e5) | centre square (yolox, 1e6)
//                  cost = (cls + iou) + geo
//                IoU: mmdet's bbox_overlaps on xyxy | YOLOX's bboxes_iou on
//                (cx, cy, w, h) converted in float32, without eps.
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

#include "assign/cost_table.h"
#include "assign/scores.h"
#include "cost/terms.h"
#include "geometry/boxes.h"

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

class SimOta final : public Assigner {
 public:
  SimOta(const Rules& rules, const Params& params)
      : rules_(rules),
        params_(params),
        center_radius_(static_cast<float>(params.get_float("center_radius"))),
        candidate_topk_(params.get_int("candidate_topk")),
        iou_weight_(static_cast<float>(params.get_float("iou_weight"))),
        cls_weight_(static_cast<float>(params.get_float("cls_weight"))) {}

  Assignment assign(const Problem& p) const override {
    Assignment out;
    if (p.num_gts() == 0 || p.num_priors() == 0) {
      out = nothing_to_assign(p, true);
    } else {
      out = match(p);
    }
    out.assigner = rules_.name;
    out.params = params_;
    out.cost_terms = {"cls", "iou", "geometry"};
    return out;
  }

 private:
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

  // In GT g's centre region: strictly within centre -/+ center_radius * stride.
  bool in_centre(const Problem& p, int64_t i, const std::array<float, 2>& c, int64_t g) const {
    const float* box = &p.gt_bboxes(g, 0);
    const float sx = center_radius_ * p.priors(i, 2);
    const float sy = center_radius_ * p.priors(i, rules_.one_stride_square ? 2 : 3);
    const float gx = geometry::centre_x(box), gy = geometry::centre_y(box);
    const float region[4] = {gx - sx, gy - sy, gx + sx, gy + sy};
    return geometry::strictly_inside(c[0], c[1], region);
  }

  uint8_t geometry(const Problem& p, int64_t i, const std::array<float, 2>& c, int64_t g) const {
    uint8_t flags = in_centre(p, i, c, g) ? kInCentre : 0;
    if (rules_.in_box_or_centre && geometry::strictly_inside(c[0], c[1], &p.gt_bboxes(g, 0))) flags |= kInBox;
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
      gt_cxcywh[g] = geometry::to_cxcywh(&p.gt_bboxes(g, 0));
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
      const auto pred_cxcywh = geometry::to_cxcywh(pred);
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
    if (rules_.shift_half_stride && looks_half_offset(p))
      out.notes.push_back(
          "every prior sits at (col + 0.5) * stride: YOLOX adds half a stride to its grid itself, so these points "
          "were shifted a second time; a YOLOX dump stores the grid at col * stride (x_shifts * stride)");
    return out;
  }

  Rules rules_;
  Params params_;
  float center_radius_;
  int64_t candidate_topk_;
  float iou_weight_;
  float cls_weight_;
};

std::vector<ParamSpec> simota_params(double center_radius) {
  return {
      {"center_radius", ParamType::kFloat, center_radius, "half-size of a GT's centre region, in strides", 0.0,
       std::nullopt, {}},
      {"candidate_topk", ParamType::kInt, int64_t{10}, "how many top IoUs are summed into a GT's dynamic k", 1.0,
       std::nullopt, {}},
      {"iou_weight", ParamType::kFloat, 3.0, "weight of the -log(IoU) cost", 0.0, std::nullopt, {}},
      {"cls_weight", ParamType::kFloat, 1.0, "weight of the class (BCE) cost", 0.0, std::nullopt, {}},
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
  return info;
}

}  // namespace

AssignerInfo simota_info() {
  return make_info(kMmdetection, 2.5,
                   "SimOTA (YOLOX) as in mmdetection: BCE class cost + 3 -log IoU + INF outside box-and-centre, "
                   "dynamic k",
                   "mmdetection mmdet/models/task_modules/assigners/sim_ota_assigner.py SimOTAAssigner "
                   "(commit be627c24)",
                   {{Field::kPriors}, {Field::kClsScores}, {Field::kPredBboxes}, {Field::kGtBboxes}, {Field::kGtLabels}});
}

AssignerInfo simota_yolox_info() {
  return make_info(kYolox, 1.5,
                   "YOLOX's own SimOTA: centre square only, sqrt(cls * obj) BCE, cxcywh IoU, +1e6 outside",
                   "YOLOX yolox/models/yolo_head.py YOLOXHead.get_assignments (YOLOX 0.3.0, commit 6ddff482)",
                   {{Field::kPriors},
                    {Field::kClsScores},
                    {Field::kObjectness},
                    {Field::kPredBboxes},
                    {Field::kGtBboxes},
                    {Field::kGtLabels}});
}

}  // namespace assignscope::assign
