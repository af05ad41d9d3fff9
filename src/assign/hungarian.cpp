// DETR's one-to-one matching, as mmdetection computes it.
//
// hungarian: mmdet/models/task_modules/assigners/hungarian_assigner.py,
//   HungarianAssigner (commit 19bceba5), with the match costs of
//   mmdet/models/task_modules/assigners/match_cost.py (commit 658c19eb;
//   cost/match_costs.h): FocalLossCost, ClassificationCost, BBoxL1Cost and
//   IoUCost, as DETR-family configs list them. Every query is a candidate of
//   every GT (the dump's priors stand for DETR's queries and are not read).
//
// The costs. `match_costs`, mmdet's own list (dicts with the reference's
// argument names, defaults as mmdet's classes have them), defines them when
// given. Otherwise the flat keys do, in the order class, L1, IoU, each cost
// only when its weight is not 0 (a cost that is absent weighs 0):
//   cls_weight, cls_cost   FocalLossCost(weight, alpha=focal_alpha,
//                          gamma=focal_gamma) for 'focal', ClassificationCost
//                          (weight) for 'softmax'
//   l1_weight, box_format  BBoxL1Cost(weight, box_format)
//   iou_weight, iou_mode   IoUCost(weight, iou_mode)
// Given both, every flat key must be at its default or say what the list
// says (validate: a usage error naming both otherwise), and results carry
// the flat keys as the list sets them.
//
// In float32, for query q and GT g:
//   1. Early return. G = 0: every query negative. N = 0: nothing to assign.
//      No cost is computed.
//   2. Each cost of the list (cost/match_costs.h), reading the query's row of
//      cls_scores (logits; FocalLossCost takes their sigmoid at g's class,
//      ClassificationCost the softmax over the whole row — C + 1 columns
//      with a softmax head's "no object" column — at g's class), the
//      predicted box and g's box; BBoxL1Cost divides by meta.image_size.
//   3. cost = ((c0 + c1) + c2) + ..., in list order (torch.stack(costs).sum(0)),
//      the float32 [N, G] matrix converted to float64 as scipy copies it
//      (held transposed, as scipy solves it when N > G).
//   4. Matching: the minimum-cost one-to-one matching of min(N, G) pairs,
//      scipy.optimize.linear_sum_assignment (match/linear_assignment.h). A
//      NaN or -inf cost, or +inf costs leaving no complete matching (only
//      from overflowing coordinates), make scipy raise, and mmdet with it;
//      assignscope reports no positives and a note quoting scipy's error.
//   5. Result. The query matched to GT g: g + 1 and g's label; every other
//      query: 0 and -1. mmdet's max_overlaps is None; assignscope writes the
//      plain IoU (bbox_overlaps 'iou') of the matched pair, 0.0 elsewhere.
//
// Reported pairs (cost terms cls, l1, iou — each the sum of the list's costs
// of that kind; `iou` holds the plain IoU): for each GT its matched query
// (picked) and its three cheapest queries, so that a GT matched to a dearer
// query shows what it competed for. `inside` is false throughout: there is
// no geometric candidate rule.
#include "assign/hungarian.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "cost/match_costs.h"
#include "geometry/boxes.h"
#include "match/dynamic_k.h"
#include "match/linear_assignment.h"

namespace assignscope::assign {
namespace {

using cost::MatchCost;
using cost::MatchCostType;
using Json = nlohmann::json;

constexpr const char* kName = "hungarian";
constexpr int64_t kCheapestReported = 3;

// The costs the flat keys describe: class, L1, IoU, each when its weight is not 0.
std::vector<MatchCost> flat_costs(const Params& p) {
  std::vector<MatchCost> out;
  if (p.get_float("cls_weight") != 0.0) {
    MatchCost c;
    c.type = p.get_string("cls_cost") == "softmax" ? MatchCostType::kClassification : MatchCostType::kFocalLoss;
    c.weight = p.get_float("cls_weight");
    c.alpha = p.get_float("focal_alpha");
    c.gamma = p.get_float("focal_gamma");
    out.push_back(c);
  }
  if (p.get_float("l1_weight") != 0.0) {
    MatchCost c;
    c.type = MatchCostType::kBBoxL1;
    c.weight = p.get_float("l1_weight");
    c.xywh = p.get_string("box_format") == "xywh";
    out.push_back(c);
  }
  if (p.get_float("iou_weight") != 0.0) {
    MatchCost c;
    c.type = MatchCostType::kIoU;
    c.weight = p.get_float("iou_weight");
    c.giou = p.get_string("iou_mode") == "giou";
    out.push_back(c);
  }
  return out;
}

// The costs replayed: match_costs when given, else the flat keys'.
std::vector<MatchCost> costs_of(const Params& p) {
  if (!p.is_null("match_costs")) return cost::match_costs_of(p.get_structured("match_costs"));
  return flat_costs(p);
}

bool has_cost(const std::vector<MatchCost>& costs, MatchCostType type) {
  return std::any_of(costs.begin(), costs.end(), [&](const MatchCost& c) { return c.type == type; });
}

// What a match-cost list says of one flat key: its value, or nothing when
// only the default agrees (the key's cost is absent, or the list holds two
// costs of its kind), and where that comes from, for messages.
struct FlatView {
  const char* key;
  std::optional<Json> value;
  std::string source;
};

std::vector<FlatView> flat_view(const std::vector<MatchCost>& costs) {
  std::vector<FlatView> out;
  const char* const kinds[] = {"class cost (FocalLossCost or ClassificationCost)", "BBoxL1Cost", "IoUCost"};
  for (int term = 0; term < 3; ++term) {
    std::vector<const MatchCost*> found;
    for (const MatchCost& c : costs)
      if (cost::match_cost_term(c.type) == term) found.push_back(&c);
    const std::string source = found.empty()      ? fmt::format("match_costs has no {}", kinds[term])
                               : found.size() > 1 ? fmt::format("match_costs has {} of {}", found.size(), kinds[term])
                                                  : "match_costs has " + cost::describe(*found[0]);
    const MatchCost* c = found.size() == 1 ? found[0] : nullptr;
    const auto value = [&](auto v) { return c ? std::optional<Json>(Json(v)) : std::nullopt; };
    const std::optional<Json> weight = found.empty() ? std::optional<Json>(0.0) : value(c ? c->weight : 0.0);
    const bool focal = c && c->type == MatchCostType::kFocalLoss;
    if (term == 0) {
      out.push_back({"cls_weight", weight, source});
      out.push_back({"cls_cost", value(focal ? "focal" : "softmax"), source});
      out.push_back({"focal_alpha", focal ? value(c->alpha) : std::nullopt, source});
      out.push_back({"focal_gamma", focal ? value(c->gamma) : std::nullopt, source});
    } else if (term == 1) {
      out.push_back({"l1_weight", weight, source});
      out.push_back({"box_format", value(c && c->xywh ? "xywh" : "xyxy"), source});
    } else {
      out.push_back({"iou_weight", weight, source});
      out.push_back({"iou_mode", value(c && c->giou ? "giou" : "iou"), source});
    }
  }
  return out;
}

bool agrees(const Params& p, const FlatView& f) {
  if (!f.value) return false;
  const ParamValue& v = p.value(f.key);
  if (const auto* s = std::get_if<std::string>(&v)) return f.value->is_string() && f.value->get<std::string>() == *s;
  return f.value->is_number() && p.get_float(f.key) == f.value->get<double>();
}

// Rules between the parameters (AssignerInfo::validate).
Status validate(const Params& p, std::vector<std::string>* warnings) {
  if (p.is_null("match_costs")) {
    if (flat_costs(p).empty())
      return Status::Usage(
          "parameters cls_weight, l1_weight and iou_weight are all 0: no match cost is left "
          "(mmdet's HungarianAssigner needs at least one)");
    const bool cls = p.get_float("cls_weight") != 0.0;
    const bool focal = cls && p.get_string("cls_cost") == "focal";
    const auto unused = [&](const char* key, bool used, const char* why) {
      if (!used && !p.is_default(key))
        warnings->push_back(fmt::format("{}={} has no effect: {}", key, param_value_string(p.value(key)), why));
    };
    unused("cls_cost", cls, "cls_weight is 0");
    unused("focal_alpha", focal, "the class cost is not focal (cls_cost=softmax or cls_weight=0)");
    unused("focal_gamma", focal, "the class cost is not focal (cls_cost=softmax or cls_weight=0)");
    unused("box_format", p.get_float("l1_weight") != 0.0, "l1_weight is 0");
    unused("iou_mode", p.get_float("iou_weight") != 0.0, "iou_weight is 0");
    return Status();
  }
  for (const FlatView& f : flat_view(costs_of(p))) {
    if (p.is_default(f.key) || agrees(p, f)) continue;
    return Status::Usage(fmt::format(
        "parameters {}={} and match_costs disagree: {}; match_costs, when given, defines the costs: drop {} or make "
        "it agree",
        f.key, param_value_string(p.value(f.key)), f.source, f.key));
  }
  return Status();
}

// The parameters a result carries: with match_costs, the flat keys as it sets them.
Params effective_params(Params p) {
  if (p.is_null("match_costs")) return p;
  for (const FlatView& f : flat_view(costs_of(p))) {
    if (!f.value) continue;
    const Status st = p.set_json(f.key, *f.value);
    assert(st.ok() && "a validated cost's arguments are valid flat values");
    (void)st;
  }
  return p;
}

class Hungarian final : public Assigner {
 public:
  explicit Hungarian(const Params& params) : params_(effective_params(params)), costs_(costs_of(params)) {}

  Assignment assign(const Problem& p) const override {
    Assignment out;
    if (p.num_gts() == 0 || p.num_priors() == 0) {
      out = Assignment::Empty(p.num_priors(), p.num_gts(), 0.0f, false);
      out.notes.push_back(p.num_gts() == 0 ? "no ground truth: every query is negative"
                                           : "no queries: nothing to assign");
    } else if (costs_.empty()) {
      // validate refuses such parameters; this only guards direct calls.
      out = Assignment::Empty(p.num_priors(), p.num_gts(), 0.0f, false);
      out.notes.push_back("no match cost (every weight 0): nothing assigned");
    } else if (has_cost(costs_, MatchCostType::kBBoxL1) && !p.meta.image_size) {
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
  Assignment match(const Problem& p) const {
    const int64_t num_queries = p.num_priors(), num_gts = p.num_gts();
    const cost::MatchCostEvaluator costs(costs_, p.cls_scores, p);

    // The float32 cost [N, G], held as the float64 values scipy solves on,
    // stored transposed ([G, N], GT-major): scipy solves on the transpose
    // when N > G (its rows must be the smaller side), so this is the matrix
    // it works on, without a second copy; when G > N the solver transposes
    // it back, as scipy would not have transposed.
    std::vector<double> cost(static_cast<size_t>(num_gts * num_queries));
    for (int64_t g = 0; g < num_gts; ++g)
      for (int64_t q = 0; q < num_queries; ++q)
        cost[static_cast<size_t>(g * num_queries + q)] = static_cast<double>(costs.pair(q, g).total);

    Assignment out = Assignment::Empty(num_queries, num_gts, 0.0f, false);
    const match::LinearAssignment m = match::linear_sum_assignment(cost, num_gts, num_queries);
    if (!m.ok()) {
      const bool invalid = m.status == match::LinearAssignmentStatus::kInvalidEntries;
      out.notes.push_back(
          fmt::format("scipy's linear_sum_assignment raises ValueError: {} ({}); mmdet's HungarianAssigner fails here. "
                      "Reported as no positives",
                      match::linear_assignment_message(m.status),
                      invalid ? "a cost is NaN or -inf" : "+inf costs leave no complete matching"));
      return out;
    }
    if (num_gts > num_queries)
      out.notes.push_back(
          fmt::format("{} GTs for {} queries: {} GTs stay unmatched", num_gts, num_queries, num_gts - num_queries));

    const auto plain_iou = [&](int64_t q, int64_t g) {
      return geometry::iou(&p.pred_bboxes(q, 0), &p.gt_bboxes(g, 0));
    };
    for (int64_t q = 0; q < num_queries; ++q) {
      const int32_t g = m.row_of_col[q];
      if (g < 0) continue;
      out.gt_inds[q] = g + 1;
      out.labels[q] = p.gt_labels[g];
      out.max_overlaps[q] = plain_iou(q, g);
    }

    // Reported pairs: per GT its cheapest queries and its match, by query.
    std::vector<float> gt_costs(static_cast<size_t>(num_queries));  // GT g's costs, as float32
    const int64_t cheapest = std::min(kCheapestReported, num_queries);
    for (int64_t g = 0; g < num_gts; ++g) {
      for (int64_t q = 0; q < num_queries; ++q)
        gt_costs[q] = static_cast<float>(cost[static_cast<size_t>(g * num_queries + q)]);
      std::vector<int32_t> queries = match::k_smallest(gt_costs.data(), num_queries, cheapest);
      const int32_t matched = m.col_of_row[g];
      if (matched >= 0 && std::find(queries.begin(), queries.end(), matched) == queries.end())
        queries.push_back(matched);
      std::sort(queries.begin(), queries.end());
      for (const int32_t q : queries) {
        CandidatePair pair;
        pair.prior = q;
        pair.gt = static_cast<int32_t>(g);
        pair.terms = costs.pair(q, g).terms;
        pair.cost = gt_costs[q];
        pair.iou = plain_iou(q, g);
        pair.inside = false;
        pair.picked = q == matched;
        out.candidates.push_back(pair);
      }
    }
    return out;
  }

  Params params_;
  std::vector<MatchCost> costs_;
};

// A preset's match_costs, as a config writes them.
std::string match_costs_preset(const std::string& list) { return R"({"match_costs": )" + list + "}"; }

std::vector<ParamSpec> hungarian_params() {
  return {
      {"cls_weight", ParamType::kFloat, 2.0, "weight of the class cost (0: none)", 0.0, std::nullopt, {}},
      {"cls_cost",
       ParamType::kString,
       std::string("focal"),
       "class cost: focal (FocalLossCost, sigmoid of the logit) or softmax (ClassificationCost: -softmax over the "
       "row, C + 1 columns with a softmax head's \"no object\" column)",
       std::nullopt,
       std::nullopt,
       {"focal", "softmax"}},
      {"focal_alpha", ParamType::kFloat, 0.25, "alpha of the focal class cost", 0.0, 1.0, {}},
      {"focal_gamma", ParamType::kFloat, 2.0, "gamma of the focal class cost", 0.0, std::nullopt, {}},
      {"l1_weight",
       ParamType::kFloat,
       5.0,
       "weight of the L1 cost on boxes normalised by the image size (0: none)",
       0.0,
       std::nullopt,
       {}},
      {"box_format",
       ParamType::kString,
       std::string("xywh"),
       "boxes compared by the L1 cost as (cx, cy, w, h) or (x1, y1, x2, y2)",
       std::nullopt,
       std::nullopt,
       {"xywh", "xyxy"}},
      {"iou_weight",
       ParamType::kFloat,
       2.0,
       "weight of the -IoU / -GIoU cost (IoUCost; 0: none)",
       0.0,
       std::nullopt,
       {}},
      {"iou_mode",
       ParamType::kString,
       std::string("giou"),
       "overlap of the IoU cost: generalised or plain IoU",
       std::nullopt,
       std::nullopt,
       {"giou", "iou"}},
      {"match_costs",
       ParamType::kStructured,
       Null{},
       "mmdet's own cost list, [dict(type='ClassificationCost', weight=1.0), dict(type='BBoxL1Cost', weight=5.0, "
       "box_format='xywh'), dict(type='IoUCost', iou_mode='giou', weight=2.0)] (FocalLossCost, ClassificationCost, "
       "BBoxL1Cost, IoUCost; mmdet's defaults); when given it defines the costs, and the keys above must agree or "
       "stay default",
       std::nullopt,
       std::nullopt,
       {},
       /*nullable=*/true,
       [](const Json& v) { return cost::canonical_match_cost_list(v); }},
  };
}

// What a dump must hold for these costs: the image size for BBoxL1Cost, sigmoid
// logits (no "no object" column) for FocalLossCost, logits for
// ClassificationCost.
Status check_costs_fit_dump(const Params& params, const Problem& p) {
  const std::vector<MatchCost> costs = costs_of(params);
  if (has_cost(costs, MatchCostType::kBBoxL1) && !p.meta.image_size)
    return Status::InvalidInput(
        "meta key 'image_size' ([height, width] of the network input, in meta.json) is missing; assigner hungarian "
        "needs it to normalise the L1 cost (BBoxL1Cost)");
  if (p.background_column && has_cost(costs, MatchCostType::kFocalLoss))
    return Status::InvalidInput(fmt::format(
        "field 'cls_scores' has C + 1 = {} columns with meta num_classes = {}: a softmax head's scores with a "
        "\"no object\" column, but hungarian's class cost is FocalLossCost, which takes sigmoid logits [N, C]; "
        "replay a softmax head with ClassificationCost (-a detr)",
        p.cls_scores.cols(), p.num_classes()));
  if (p.meta.scores == ScoreKind::kProbs && has_cost(costs, MatchCostType::kClassification))
    return Status::InvalidInput(
        "meta key 'scores' is \"probs\", but ClassificationCost takes the softmax of the head's logits; dump the "
        "logits (meta.scores \"logits\") to replay it");
  return Status();
}

// The match costs of mmdetection's DETR-family configs, and single-cost checks.
std::vector<Preset> hungarian_presets() {
  return {
      {"detr",
       "DETR (configs/detr/detr_r50_8xb2-150e_coco.py): ClassificationCost 1.0 (softmax over C + 1 columns), "
       "BBoxL1Cost 5.0 on (cx, cy, w, h), IoUCost giou 2.0",
       match_costs_preset(R"([{"type": "ClassificationCost", "weight": 1.0},
           {"type": "BBoxL1Cost", "weight": 5.0, "box_format": "xywh"},
           {"type": "IoUCost", "iou_mode": "giou", "weight": 2.0}])"),
       {"detr"}},
      {"deformable-detr",
       "Deformable DETR, DINO, DDQ-DETR's one-to-one matching (configs/deformable_detr, configs/dino): "
       "FocalLossCost 2.0, BBoxL1Cost 5.0 on (cx, cy, w, h), IoUCost giou 2.0 (the flat defaults)",
       match_costs_preset(R"([{"type": "FocalLossCost", "weight": 2.0},
           {"type": "BBoxL1Cost", "weight": 5.0, "box_format": "xywh"},
           {"type": "IoUCost", "iou_mode": "giou", "weight": 2.0}])"),
       {"deformable-detr", "dino"}},
      {"iou-only",
       "IoUCost(iou_mode='iou') alone: no published config, a single-cost check (golden hungarian-costs-*)",
       match_costs_preset(R"([{"type": "IoUCost", "iou_mode": "iou"}])"),
       {}},
      {"focal-only",
       "FocalLossCost(weight=2.0) alone: no published config, a single-cost check (golden "
       "hungarian-costs-*)",
       match_costs_preset(R"([{"type": "FocalLossCost", "weight": 2.0}])"),
       {}},
  };
}

}  // namespace

AssignerInfo hungarian_info() {
  AssignerInfo info;
  info.name = kName;
  info.summary =
      "DETR's one-to-one matching: class cost (focal, or softmax over C + 1 columns) + L1 on normalised boxes + "
      "GIoU cost, minimum-cost assignment (scipy's linear_sum_assignment)";
  info.reference =
      "mmdetection mmdet/models/task_modules/assigners/hungarian_assigner.py HungarianAssigner (commit 19bceba5), "
      "match_cost.py FocalLossCost, ClassificationCost, BBoxL1Cost, IoUCost (commit 658c19eb)";
  info.params = hungarian_params();
  info.needs = {{Field::kClsScores}, {Field::kPredBboxes}, {Field::kGtBboxes}, {Field::kGtLabels}};
  info.result_files = {"assigned_gt_inds.npy", "assigned_labels.npy", "max_overlaps.npy"};
  info.make = [](const Params& params) { return std::make_unique<Hungarian>(params); };
  // One query per GT by a linear assignment over every (query, GT) cost.
  info.traits = {CostDefinition::kHungarian,  /*multi_match=*/false, /*dynamic_k=*/false,    /*picks_k=*/false,
                 /*conflict_over_all=*/false, /*geometric=*/false,   /*records_pairs=*/true, /*sparse_search=*/false};
  info.check = check_costs_fit_dump;
  info.validate = validate;
  info.accepts_background_column = true;
  info.class_names = {{"HungarianAssigner", ClassName::Syntax::kAny}};
  info.presets = hungarian_presets();
  info.replays = [](const Params&) { return std::vector<FrameworkRange>{{"mmdet", "3.0.0", "4", "mmdetection 3.x"}}; };
  return info;
}

}  // namespace assignscope::assign
