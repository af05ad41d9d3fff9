// DETR's one-to-one matching, as mmdetection computes it.
//
// hungarian: mmdet/models/task_modules/assigners/hungarian_assigner.py,
//   HungarianAssigner (commit 19bceba5), with the match costs of
//   mmdet/models/task_modules/assigners/match_cost.py (commit 658c19eb):
//   FocalLossCost, BBoxL1Cost and IoUCost, as DETR-family configs combine
//   them. Every query is a candidate of every GT (the dump's priors stand
//   for DETR's queries and are not read). In float32, for query q and GT g
//   of class l:
//
//   1. Early return. G = 0: every query negative. N = 0: nothing to assign.
//      No cost is computed.
//   2. Class cost (FocalLossCost), from the query's logit x at class l only:
//        p   = sigmoid(x)
//        pos = -log(p + eps) * alpha * (1 - p)^gamma
//        neg = -log(1 - p + eps) * (1 - alpha) * p^gamma       eps = 1e-12
//        cls = (pos - neg) * cls_weight
//      (products left to right; gamma 2 is p * p, as torch's pow does it).
//   3. Box cost (BBoxL1Cost). Both boxes as (cx, cy, w, h) ('xywh') or as
//      stored (x1, y1, x2, y2) ('xyxy'), every coordinate divided by the
//      image width (x, w) or height (y, h) of meta.image_size = (h, w):
//        l1 = (((|d0| + |d1|) + |d2|) + |d3|) * l1_weight      (torch.cdist, p = 1)
//   4. IoU cost (IoUCost): iou = -GIoU(pred, gt) * iou_weight, or -IoU with
//      iou_mode 'iou'; mmdet's bbox_overlaps, union and enclosing area
//      clamped at 1e-6.
//   5. cost = (cls + l1) + iou, the float32 [N, G] sum of the stacked
//      terms, converted to float64 as scipy copies it (held transposed, as
//      scipy solves it when N > G).
//   6. Matching: the minimum-cost one-to-one matching of min(N, G) pairs,
//      scipy.optimize.linear_sum_assignment (match/linear_assignment.h). A
//      NaN or -inf cost, or +inf costs leaving no complete matching (only
//      from overflowing coordinates), make scipy raise, and mmdet with it;
//      assignscope reports no positives and a note quoting scipy's error.
//   7. Result. The query matched to GT g: g + 1 and g's label; every other
//      query: 0 and -1. mmdet's max_overlaps is None; assignscope writes the
//      plain IoU (bbox_overlaps 'iou') of the matched pair, 0.0 elsewhere.
//
// Reported pairs (cost terms cls, l1, iou; `iou` holds the plain IoU): for
// each GT its matched query (picked) and its three cheapest queries, so that
// a GT matched to a dearer query shows what it competed for. `inside` is
// false throughout: there is no geometric candidate rule.
#include "assign/hungarian.h"

#include <algorithm>
#include <array>
#include <cmath>

#include <fmt/format.h>

#include "cost/terms.h"
#include "geometry/boxes.h"
#include "match/dynamic_k.h"
#include "match/linear_assignment.h"

namespace assignscope::assign {
namespace {

constexpr const char* kName = "hungarian";
constexpr float kFocalEps = 1e-12f;   // FocalLossCost's eps, a Python float cast to float32 by torch
constexpr float kOverlapEps = 1e-6f;  // bbox_overlaps' eps
constexpr int64_t kCheapestReported = 3;

using Terms = std::array<float, kMaxCostTerms>;  // cls, l1, iou

// GIoU as mmdet's bbox_overlaps(a, b, mode='giou'): the IoU with the union
// clamped at eps, minus the enclosing box's share outside the union, the
// enclosing area also clamped at eps.
float giou(const float* a, const float* b, float area_a, float area_b) {
  const float overlap = geometry::overlap(a, b);
  const float uni = std::max(area_a + area_b - overlap, kOverlapEps);
  const float iou = overlap / uni;
  const float enclose_w = std::max(std::max(a[2], b[2]) - std::min(a[0], b[0]), 0.0f);
  const float enclose_h = std::max(std::max(a[3], b[3]) - std::min(a[1], b[1]), 0.0f);
  const float enclose = std::max(enclose_w * enclose_h, kOverlapEps);
  return iou - (enclose - uni) / enclose;
}

class Hungarian final : public Assigner {
 public:
  explicit Hungarian(const Params& params)
      : params_(params),
        cls_weight_(static_cast<float>(params.get_float("cls_weight"))),
        alpha_(static_cast<float>(params.get_float("focal_alpha"))),
        one_minus_alpha_(static_cast<float>(1.0 - params.get_float("focal_alpha"))),
        gamma_(static_cast<float>(params.get_float("focal_gamma"))),
        l1_weight_(static_cast<float>(params.get_float("l1_weight"))),
        xywh_(params.get_string("box_format") == "xywh"),
        iou_weight_(static_cast<float>(params.get_float("iou_weight"))),
        giou_(params.get_string("iou_mode") == "giou") {}

  Assignment assign(const Problem& p) const override {
    Assignment out;
    if (p.num_gts() == 0 || p.num_priors() == 0) {
      out = Assignment::Empty(p.num_priors(), p.num_gts(), 0.0f, false);
      out.notes.push_back(p.num_gts() == 0 ? "no ground truth: every query is negative" : "no queries: nothing to assign");
    } else if (!p.meta.image_size) {
      // info.check refuses such a dump; this only guards direct calls.
      out = Assignment::Empty(p.num_priors(), p.num_gts(), 0.0f, false);
      out.notes.push_back("meta.image_size is missing: the L1 cost cannot be normalised; nothing assigned");
    } else {
      out = match(p);
    }
    out.assigner = kName;
    out.params = params_;
    out.cost_terms = {"cls", "l1", "iou"};
    return out;
  }

 private:
  // x^gamma as torch's pow(tensor, scalar) evaluates it in float32: exponents
  // 0, 1, 0.5, 2 and 3 are special-cased, others go to powf.
  float power(float x) const {
    if (gamma_ == 2.0f) return x * x;
    if (gamma_ == 0.0f) return 1.0f;
    if (gamma_ == 1.0f) return x;
    if (gamma_ == 0.5f) return std::sqrt(x);
    if (gamma_ == 3.0f) return x * x * x;
    return std::pow(x, gamma_);
  }

  // FocalLossCost of one logit at the GT's class.
  float class_cost(float logit) const {
    const float prob = cost::sigmoid_f32(logit);
    const float neg = -std::log(1.0f - prob + kFocalEps) * one_minus_alpha_ * power(prob);
    const float pos = -std::log(prob + kFocalEps) * alpha_ * power(1.0f - prob);
    return (pos - neg) * cls_weight_;
  }

  // A box as BBoxL1Cost compares it: converted to (cx, cy, w, h) for 'xywh',
  // then divided by (w, h, w, h) of the image.
  std::array<float, 4> normalised(const float* box, float img_w, float img_h) const {
    const std::array<float, 4> b = xywh_ ? geometry::to_cxcywh(box) : std::array<float, 4>{box[0], box[1], box[2], box[3]};
    return {b[0] / img_w, b[1] / img_h, b[2] / img_w, b[3] / img_h};
  }

  struct Boxes {
    std::vector<std::array<float, 4>> normalised;  // for the L1 cost
    std::vector<float> area;                       // for the IoU cost
  };

  Boxes boxes_of(const Rows4f& rows, float img_w, float img_h) const {
    Boxes b;
    const auto n = static_cast<size_t>(rows.rows());
    b.normalised.resize(n);
    b.area.resize(n);
    for (Eigen::Index i = 0; i < rows.rows(); ++i) {
      b.normalised[i] = normalised(&rows(i, 0), img_w, img_h);
      b.area[i] = geometry::area(&rows(i, 0));
    }
    return b;
  }

  Terms terms_of(const Problem& p, const Boxes& preds, const Boxes& gts, int64_t q, int64_t g) const {
    const float cls = class_cost(p.cls_scores(q, p.gt_labels[g]));
    const std::array<float, 4>& a = preds.normalised[q];
    const std::array<float, 4>& b = gts.normalised[g];
    float distance = 0.0f;
    for (int c = 0; c < 4; ++c) distance += std::fabs(a[c] - b[c]);
    const float* pred = &p.pred_bboxes(q, 0);
    const float* gt = &p.gt_bboxes(g, 0);
    const float overlap = giou_ ? giou(pred, gt, preds.area[q], gts.area[g])
                                : geometry::iou(pred, gt, preds.area[q], gts.area[g]);
    return {cls, distance * l1_weight_, -overlap * iou_weight_};
  }

  static float total(const Terms& t) { return (t[0] + t[1]) + t[2]; }

  Assignment match(const Problem& p) const {
    const int64_t num_queries = p.num_priors(), num_gts = p.num_gts();
    const auto [img_h, img_w] = *p.meta.image_size;
    const auto w = static_cast<float>(img_w), h = static_cast<float>(img_h);
    const Boxes preds = boxes_of(p.pred_bboxes, w, h);
    const Boxes gts = boxes_of(p.gt_bboxes, w, h);

    // The float32 cost [N, G], held as the float64 values scipy solves on,
    // stored transposed ([G, N], GT-major): scipy solves on the transpose
    // when N > G (its rows must be the smaller side), so this is the matrix
    // it works on, without a second copy; when G > N the solver transposes
    // it back, as scipy would not have transposed.
    std::vector<double> cost(static_cast<size_t>(num_gts * num_queries));
    for (int64_t g = 0; g < num_gts; ++g)
      for (int64_t q = 0; q < num_queries; ++q)
        cost[static_cast<size_t>(g * num_queries + q)] = static_cast<double>(total(terms_of(p, preds, gts, q, g)));

    Assignment out = Assignment::Empty(num_queries, num_gts, 0.0f, false);
    const match::LinearAssignment m = match::linear_sum_assignment(cost, num_gts, num_queries);
    if (!m.ok()) {
      const bool invalid = m.status == match::LinearAssignmentStatus::kInvalidEntries;
      out.notes.push_back(fmt::format(
          "scipy's linear_sum_assignment raises ValueError: {} ({}); mmdet's HungarianAssigner fails here. "
          "Reported as no positives",
          match::linear_assignment_message(m.status),
          invalid ? "a cost is NaN or -inf" : "+inf costs leave no complete matching"));
      return out;
    }
    if (num_gts > num_queries)
      out.notes.push_back(fmt::format("{} GTs for {} queries: {} GTs stay unmatched", num_gts, num_queries,
                                      num_gts - num_queries));

    for (int64_t q = 0; q < num_queries; ++q) {
      const int32_t g = m.row_of_col[q];
      if (g < 0) continue;
      out.gt_inds[q] = g + 1;
      out.labels[q] = p.gt_labels[g];
      out.max_overlaps[q] = geometry::iou(&p.pred_bboxes(q, 0), &p.gt_bboxes(g, 0), preds.area[q], gts.area[g]);
    }

    // Reported pairs: per GT its cheapest queries and its match, by query.
    std::vector<float> gt_costs(static_cast<size_t>(num_queries));  // GT g's costs, as float32
    const int64_t cheapest = std::min(kCheapestReported, num_queries);
    for (int64_t g = 0; g < num_gts; ++g) {
      for (int64_t q = 0; q < num_queries; ++q)
        gt_costs[q] = static_cast<float>(cost[static_cast<size_t>(g * num_queries + q)]);
      std::vector<int32_t> queries = match::k_smallest(gt_costs.data(), num_queries, cheapest);
      const int32_t matched = m.col_of_row[g];
      if (matched >= 0 && std::find(queries.begin(), queries.end(), matched) == queries.end()) queries.push_back(matched);
      std::sort(queries.begin(), queries.end());
      for (const int32_t q : queries) {
        CandidatePair pair;
        pair.prior = q;
        pair.gt = static_cast<int32_t>(g);
        pair.terms = terms_of(p, preds, gts, q, g);
        pair.cost = gt_costs[q];
        pair.iou = geometry::iou(&p.pred_bboxes(q, 0), &p.gt_bboxes(g, 0), preds.area[q], gts.area[g]);
        pair.inside = false;
        pair.picked = q == matched;
        out.candidates.push_back(pair);
      }
    }
    return out;
  }

  Params params_;
  float cls_weight_;
  float alpha_;
  float one_minus_alpha_;
  float gamma_;
  float l1_weight_;
  bool xywh_;
  float iou_weight_;
  bool giou_;
};

}  // namespace

AssignerInfo hungarian_info() {
  AssignerInfo info;
  info.name = kName;
  info.summary =
      "DETR's one-to-one matching: focal class cost + L1 on normalised boxes + GIoU cost, minimum-cost "
      "assignment (scipy's linear_sum_assignment)";
  info.reference =
      "mmdetection mmdet/models/task_modules/assigners/hungarian_assigner.py HungarianAssigner (commit 19bceba5), "
      "match_cost.py FocalLossCost, BBoxL1Cost, IoUCost";
  info.params = {
      {"cls_weight", ParamType::kFloat, 2.0, "weight of the focal class cost (FocalLossCost)", 0.0, std::nullopt, {}},
      {"focal_alpha", ParamType::kFloat, 0.25, "alpha of the focal class cost", 0.0, 1.0, {}},
      {"focal_gamma", ParamType::kFloat, 2.0, "gamma of the focal class cost", 0.0, std::nullopt, {}},
      {"l1_weight", ParamType::kFloat, 5.0, "weight of the L1 cost on boxes normalised by the image size",
       0.0, std::nullopt, {}},
      {"box_format", ParamType::kString, std::string("xywh"),
       "boxes compared by the L1 cost as (cx, cy, w, h) or (x1, y1, x2, y2)", std::nullopt, std::nullopt,
       {"xywh", "xyxy"}},
      {"iou_weight", ParamType::kFloat, 2.0, "weight of the -IoU / -GIoU cost (IoUCost)", 0.0, std::nullopt, {}},
      {"iou_mode", ParamType::kString, std::string("giou"), "overlap of the IoU cost: generalised or plain IoU",
       std::nullopt, std::nullopt, {"giou", "iou"}},
  };
  info.needs = {{Field::kClsScores}, {Field::kPredBboxes}, {Field::kGtBboxes}, {Field::kGtLabels}};
  info.result_files = {"assigned_gt_inds.npy", "assigned_labels.npy", "max_overlaps.npy"};
  info.make = [](const Params& params) { return std::make_unique<Hungarian>(params); };
  info.check = [](const Params&, const Problem& p) {
    if (p.meta.image_size) return Status();
    return Status::InvalidInput(
        "meta key 'image_size' ([height, width] of the network input, in meta.json) is missing; assigner hungarian "
        "needs it to normalise the L1 cost");
  };
  return info;
}

}  // namespace assignscope::assign
