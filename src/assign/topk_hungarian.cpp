// DDQ-DETR's dense-query matching, as mmdetection computes it.
//
// topk-hungarian: mmdet/models/task_modules/assigners/topk_hungarian_assigner.py,
//   TopkHungarianAssigner (commit cfd5d3a9, blob e48f092a; unchanged since
//   2dbf307a, "Add the DDQ algorithm"), a TaskAlignedAssigner subclass, as
//   DDQAuxLoss._get_target_single (mmdet/models/losses/ddq_detr_aux_loss.py)
//   calls it for DDQDETRHead's dense queries and normalises its metrics; the
//   costs of match_cost.py (cost/match_costs.h). Every query is a candidate
//   of every GT (the dump's priors are not read). In float32, for query q
//   and GT g of class l:
//
//   1. Early return. G = 0: every query negative, max_overlaps and metrics
//      0 (the reference returns gt_inds 0; DDQAuxLoss does not even call
//      it). N = 0: nothing to assign.
//   2. Scores. DDQDETRHead hands the assigner s = sigmoid(logit) (a "probs"
//      dump's probabilities are s as given), and the costs receive s as
//      pred_instances.scores.
//   3. Cost (cls + reg) + iou, [N, G]: cls_cost FocalLossCost(weight 2.0),
//      which applies its own sigmoid to s: the focal cost is computed on
//      sigmoid(sigmoid(logit)), DDQ's double sigmoid; reg_cost
//      BBoxL1Cost(weight 5.0, box_format 'xyxy', its default), boxes divided
//      by (W, H, W, H) of meta.image_size; iou_cost IoUCost('giou', 2.0).
//      Any cost dict of match_cost.h may take any of the three places.
//   4. Matching. k = min(topk, int(N / G)); every GT column repeated k
//      times, GT-major (column j belongs to GT j / k), and scipy's
//      linear_sum_assignment on that [N, G * k] float64 copy of the cost
//      (match/linear_assignment.h; held as [G * k, N], the transpose scipy
//      solves on). G * k <= N, so every GT gets exactly k queries; the
//      copies of a GT are interchangeable, so which copy a query takes
//      changes nothing. k = 0 (N < G): nothing matched (mmdet: labels None).
//      A NaN / -inf cost, or +inf costs leaving no complete matching, make
//      scipy raise: reported as no positives, with a note.
//   5. Metric. t = s(q, l)^alpha * IoU(q, g)^beta, the plain IoU of
//      BboxOverlaps2D (overlap / max(union, 1e-6)); powers as torch's pow.
//   6. Result. The query matched to column j: j / k + 1 and that GT's
//      label; max_overlaps its IoU and assign_metrics_raw its t (the
//      reference's [M] arrays over the matched queries, scattered to [N]).
//      Every other query: 0, -1, 0.0, 0.0.
//   7. Soft target (assign_metrics), as DDQAuxLoss builds it per GT over its
//      queries: t / (max t + 10e-8) * max IoU; 0 elsewhere.
//
// Unlike hungarian: k queries per GT, not one; the L1 cost on xyxy boxes by
// default; the class scores reach the focal cost already sigmoided; results
// carry IoUs and metrics.
//
// Reported pairs (cost terms cls, l1, iou; `iou` holds the plain IoU): for
// each GT its k + 2 cheapest queries and its matched queries (picked), so
// that a GT matched to dearer queries shows what it competed for. `inside`
// is false throughout: there is no geometric candidate rule.
#include "assign/topk_hungarian.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "cost/match_costs.h"
#include "cost/terms.h"
#include "geometry/boxes.h"
#include "match/dynamic_k.h"
#include "match/linear_assignment.h"

namespace assignscope::assign {
namespace {

using cost::MatchCost;
using cost::MatchCostType;
using Json = nlohmann::json;

constexpr const char* kName = "topk-hungarian";
constexpr float kNormEps = 10e-8f;  // DDQAuxLoss._get_target_single's 10e-8
constexpr int64_t kExtraReported = 2;

const char* const kCostParams[] = {"cls_cost", "reg_cost", "iou_cost"};

std::vector<MatchCost> costs_of(const Params& p) {
  std::vector<MatchCost> out;
  for (const char* name : kCostParams) out.push_back(cost::match_cost_of(p.get_structured(name)));
  return out;
}

bool needs_image_size(const std::vector<MatchCost>& costs) {
  return std::any_of(costs.begin(), costs.end(), [](const MatchCost& c) { return c.type == MatchCostType::kBBoxL1; });
}

// k = min(topk, int(N / G)); G > 0.
int64_t queries_per_gt(int64_t topk, int64_t num_queries, int64_t num_gts) {
  return std::min(topk, num_queries / num_gts);
}

// torch's max(): a NaN wins.
float max_propagating_nan(float a, float b) { return std::isnan(a) || std::isnan(b) ? a + b : std::max(a, b); }

class TopkHungarian final : public Assigner {
 public:
  explicit TopkHungarian(const Params& params)
      : params_(params),
        topk_(params.get_int("topk")),
        costs_(costs_of(params)),
        alpha_(params.get_float("alpha")),
        beta_(params.get_float("beta")) {}

  Assignment assign(const Problem& p) const override {
    const int64_t num_queries = p.num_priors(), num_gts = p.num_gts();
    Assignment out = Assignment::Empty(num_queries, num_gts, 0.0f, false);
    out.assign_metrics = std::vector<float>(static_cast<size_t>(num_queries), 0.0f);
    out.assign_metrics_raw = std::vector<float>(static_cast<size_t>(num_queries), 0.0f);
    if (num_gts == 0 || num_queries == 0) {
      out.notes.push_back(num_gts == 0 ? "no ground truth: every query is negative" : "no queries: nothing to assign");
    } else if (needs_image_size(costs_) && !p.meta.image_size) {
      // info.check refuses such a dump; this only guards direct calls.
      out.notes.push_back("meta.image_size is missing: the L1 cost cannot be normalised; nothing assigned");
    } else {
      match(p, &out);
    }
    out.assigner = kName;
    out.params = params_;
    out.cost_terms = {"cls", "l1", "iou"};
    return out;
  }

 private:
  void match(const Problem& p, Assignment* out) const {
    const int64_t num_queries = p.num_priors(), num_gts = p.num_gts();
    const int64_t k = queries_per_gt(topk_, num_queries, num_gts);
    out->notes.push_back(
        fmt::format("k = min(topk {}, int(N / G) = int({} / {}) = {}) = {}: each GT is matched to "
                    "exactly {} {}",
                    topk_, num_queries, num_gts, num_queries / num_gts, k, k, k == 1 ? "query" : "queries"));

    // s: what DDQDETRHead hands the assigner, sigmoid(logit).
    MatrixRf scores;
    if (p.meta.scores == ScoreKind::kProbs && p.cls_probs.size() == p.cls_scores.size()) {
      scores = p.cls_probs;
    } else {
      scores.resize(p.cls_scores.rows(), p.cls_scores.cols());
      for (Eigen::Index i = 0; i < scores.size(); ++i) scores.data()[i] = cost::sigmoid_f32(p.cls_scores.data()[i]);
    }
    const cost::MatchCostEvaluator costs(costs_, scores, p);
    std::vector<float> gt_costs(static_cast<size_t>(num_gts * num_queries));  // [G, N] float32
    for (int64_t g = 0; g < num_gts; ++g)
      for (int64_t q = 0; q < num_queries; ++q)
        gt_costs[static_cast<size_t>(g * num_queries + q)] = costs.pair(q, g).total;

    std::vector<int32_t> owner(static_cast<size_t>(num_queries), -1);
    if (k > 0) {
      // Every GT's row repeated k times: the [N, G * k] matrix scipy is
      // given, held as its transpose [G * k, N].
      const int64_t rows = num_gts * k;
      std::vector<double> cost(static_cast<size_t>(rows * num_queries));
      for (int64_t j = 0; j < rows; ++j)
        for (int64_t q = 0; q < num_queries; ++q)
          cost[static_cast<size_t>(j * num_queries + q)] =
              static_cast<double>(gt_costs[static_cast<size_t>((j / k) * num_queries + q)]);
      const match::LinearAssignment m = match::linear_sum_assignment(cost, rows, num_queries);
      if (!m.ok()) {
        const bool invalid = m.status == match::LinearAssignmentStatus::kInvalidEntries;
        out->notes.push_back(fmt::format(
            "scipy's linear_sum_assignment raises ValueError: {} ({}); mmdet's TopkHungarianAssigner fails here. "
            "Reported as no positives",
            match::linear_assignment_message(m.status),
            invalid ? "a cost is NaN or -inf" : "+inf costs leave no complete matching"));
      } else {
        for (int64_t q = 0; q < num_queries; ++q)
          if (m.row_of_col[q] >= 0) owner[q] = static_cast<int32_t>(m.row_of_col[q] / k);
      }
    } else {
      out->notes.push_back(fmt::format("{} queries for {} GTs: k = 0, no query is matched (mmdet returns labels None)",
                                       num_queries, num_gts));
    }

    // Results, metrics and the per-GT soft targets.
    const auto plain_iou = [&](int64_t q, int64_t g) {
      return geometry::iou(&p.pred_bboxes(q, 0), &p.gt_bboxes(g, 0));
    };
    std::vector<float>& raw = *out->assign_metrics_raw;
    std::vector<float> max_metric(static_cast<size_t>(num_gts), 0.0f), max_iou(static_cast<size_t>(num_gts), 0.0f);
    std::vector<char> seen(static_cast<size_t>(num_gts), 0);
    for (int64_t q = 0; q < num_queries; ++q) {
      const int32_t g = owner[q];
      if (g < 0) continue;
      const int64_t label = p.gt_labels[g];
      const float iou = plain_iou(q, g);
      const float metric = cost::torch_pow(scores(q, label), alpha_) * cost::torch_pow(iou, beta_);
      out->gt_inds[q] = g + 1;
      out->labels[q] = label;
      out->max_overlaps[q] = iou;
      raw[q] = metric;
      max_metric[g] = seen[g] ? max_propagating_nan(max_metric[g], metric) : metric;
      max_iou[g] = seen[g] ? max_propagating_nan(max_iou[g], iou) : iou;
      seen[g] = 1;
    }
    std::vector<float>& soft = *out->assign_metrics;
    for (int64_t q = 0; q < num_queries; ++q)
      if (const int32_t g = owner[q]; g >= 0) soft[q] = raw[q] / (max_metric[g] + kNormEps) * max_iou[g];

    // Reported pairs: per GT its k + 2 cheapest queries and its matches, by query.
    const int64_t cheapest = std::min(k + kExtraReported, num_queries);
    for (int64_t g = 0; g < num_gts; ++g) {
      const float* row = gt_costs.data() + g * num_queries;
      std::vector<int32_t> queries = match::k_smallest(row, num_queries, cheapest);
      for (int64_t q = 0; q < num_queries; ++q)
        if (owner[q] == g && std::find(queries.begin(), queries.end(), q) == queries.end())
          queries.push_back(static_cast<int32_t>(q));
      std::sort(queries.begin(), queries.end());
      for (const int32_t q : queries) {
        CandidatePair pair;
        pair.prior = q;
        pair.gt = static_cast<int32_t>(g);
        pair.terms = costs.pair(q, g).terms;
        pair.cost = row[q];
        pair.iou = plain_iou(q, g);
        pair.inside = false;
        pair.picked = owner[q] == g;
        out->candidates.push_back(pair);
      }
    }
  }

  Params params_;
  int64_t topk_;
  std::vector<MatchCost> costs_;
  double alpha_;
  double beta_;
};

// A cost parameter: one cost dict, canonical, defaulting to `dict`.
ParamSpec cost_param(const char* name, const Json& dict, const std::string& help) {
  const auto canonical = cost::canonical_match_cost(dict);
  return {name,
          ParamType::kStructured,
          Structured{canonical.ok() ? canonical->dump() : "null"},
          help,
          std::nullopt,
          std::nullopt,
          {},
          /*nullable=*/false,
          [](const Json& v) { return cost::canonical_match_cost(v); }};
}

}  // namespace

AssignerInfo topk_hungarian_info() {
  AssignerInfo info;
  info.name = kName;
  info.summary =
      "DDQ-DETR's dense queries: each GT matched to k = min(topk, N / G) queries by one linear assignment over "
      "GT columns repeated k times (focal cost on sigmoid scores + L1 + GIoU); TOOD-style soft targets";
  info.reference =
      "mmdetection mmdet/models/task_modules/assigners/topk_hungarian_assigner.py TopkHungarianAssigner (commit "
      "cfd5d3a9); soft targets as mmdet/models/losses/ddq_detr_aux_loss.py DDQAuxLoss._get_target_single";
  info.params = {
      {"topk",
       ParamType::kInt,
       int64_t{4},
       "queries matched to each GT, at most int(N / G) (DDQDETRHead's aux_num_pos)",
       1.0,
       std::nullopt,
       {}},
      cost_param("cls_cost", Json{{"type", "FocalLossCost"}, {"weight", 2.0}},
                 "class cost, a match-cost dict; FocalLossCost applies its sigmoid to the already sigmoided scores"),
      cost_param("reg_cost", Json{{"type", "BBoxL1Cost"}, {"weight", 5.0}},
                 "box cost, a match-cost dict (BBoxL1Cost: boxes divided by the image size; 'xyxy' by default)"),
      cost_param("iou_cost", Json{{"type", "IoUCost"}, {"iou_mode", "giou"}, {"weight", 2.0}},
                 "overlap cost, a match-cost dict"),
      {"alpha",
       ParamType::kFloat,
       1.0,
       "exponent of the class score in the metric s^alpha * IoU^beta",
       0.0,
       std::nullopt,
       {}},
      {"beta", ParamType::kFloat, 6.0, "exponent of the IoU in the metric s^alpha * IoU^beta", 0.0, std::nullopt, {}},
  };
  info.needs = {{Field::kClsScores}, {Field::kPredBboxes}, {Field::kGtBboxes}, {Field::kGtLabels}};
  info.result_files = {"assigned_gt_inds.npy", "assigned_labels.npy", "max_overlaps.npy", "assign_metrics.npy",
                       "assign_metrics_raw.npy"};
  info.make = [](const Params& params) { return std::make_unique<TopkHungarian>(params); };
  // k queries per GT by one linear assignment over the GT columns repeated k times.
  info.traits = {
      CostDefinition::kTopkHungarian, /*multi_match=*/false, /*dynamic_k=*/false,    /*picks_k=*/false,
      /*conflict_over_all=*/false,    /*geometric=*/false,   /*records_pairs=*/true, /*sparse_search=*/false};
  info.check = [](const Params& params, const Problem& p) -> Status {
    if (needs_image_size(costs_of(params)) && !p.meta.image_size)
      return Status::InvalidInput(
          "meta key 'image_size' ([height, width] of the network input, in meta.json) is missing; assigner "
          "topk-hungarian needs it to normalise the L1 cost (BBoxL1Cost)");
    const int64_t n = p.num_priors(), g = p.num_gts();
    if (n > 0 && g > 0) {
      const int64_t k = queries_per_gt(params.get_int("topk"), n, g);
      if (k > 0 && n > kMaxPriorGtPairs / (g * k))
        return Status::Unsupported(fmt::format(
            "N x G x k = {} x {} x {} cost entries (the GT columns repeated k times) is more than this version "
            "handles ({}); lower topk or split the image",
            n, g, k, kMaxPriorGtPairs));
    }
    return Status();
  };
  info.class_names = {{"TopkHungarianAssigner", ClassName::Syntax::kAny}};
  info.config_ignored = {"iou_calculator"};
  info.aliases = {"ddq-aux"};
  info.presets = {
      {"ddq",
       "DDQ-DETR as configured (configs/ddq/ddq-detr-4scale_r50_8xb2-12e_coco.py): DDQDETRHead's aux_num_pos = 4, "
       "alpha 1, beta 6, the assigner's default costs",
       R"({"topk": 4})",
       {}},
      {"topk8",
       "DDQAuxLoss's own default train_cfg (topk=8), used when it is built without one",
       R"({"topk": 8})",
       {"ddq-aux-default"}},
  };
  info.replays = [](const Params&) { return std::vector<FrameworkRange>{{"mmdet", "3.1.0", "4", "mmdetection 3.1+"}}; };
  return info;
}

}  // namespace assignscope::assign
