// YOLOv7's target assignment, as mmyolo's YOLOv7Head calls it.
//
// Mirrors mmyolo/models/task_modules/assigners/batch_yolov7_assigner.py,
// BatchYOLOv7Assigner (mmyolo 0.6.0, commit 8c4d9dc5), called by
// YOLOv7Head.loss_by_feat with the GTs of YOLOv5Head.
// _convert_gt_to_norm_format and near_neighbor_thr = 0.5, in float32.
// Priors are ordered level, anchor, row, col with their anchor boxes in
// `anchors` (as yolov5); `pred_bboxes` are the boxes the reference decodes
// for each prior (xyxy), `cls_scores` and `objectness` logits.
//
//   1. columns     YOLOv5's cross-grid rule (assign/cross_grid.h) with the
//                  cell coordinates clamped to the grid: every kept
//                  (GT, anchor, offset) is one candidate column [K], in the
//                  reference's order; a prior may fill several columns.
//                  No column at all: the reference skips the image
//                  (dynamic k 0, no match).
//   2. gt boxes    rebuilt as the reference does from the normalised
//                  targets: (cx, cy, w, h) = normed * (W, H, W, H), then
//                  (cx - 0.5 w, cy - 0.5 h, cx + 0.5 w, cy + 0.5 h), which
//                  can differ from gt_bboxes by an ulp.
//   3. cost        for every GT g of the image and column v [G, K], with
//                  u = bbox_overlaps(gt_g, pred of v's prior) and
//                  y_c = sqrt(sigmoid(cls_c) * sigmoid(obj)):
//                    cls  = sum_c BCE_with_logits(log(y_c / (1 - y_c)), onehot(g)_c)
//                    cost = cls_weight * cls + iou_weight * -log(u + 1e-8)
//                  No geometry term: the columns are the candidates.
//   4. dynamic k   k_g = max(1, int(sum of the top min(candidate_topk, K)
//                  IoUs of row g)), for every GT, also one without columns
//                  of its own.
//   5. matching    each GT takes its k_g cheapest columns (torch.topk); a
//                  column taken by several GTs goes to the GT of least cost
//                  over all GTs (torch.min, first on ties).
//   6. result      every kept column is a (prior, gt) match, sorted, with
//                  its IoU: two columns of one prior kept by one GT give the
//                  same row twice (two loss terms upstream), two columns of
//                  one prior may go to two GTs. gt_inds names the lowest GT
//                  of a matched prior. candidate_priors: the prior of every
//                  column, sorted. No max_overlaps. Reported pairs: each GT
//                  with the priors of its own columns (`inside`), those it
//                  picked and those it kept, as SimOTA reports its
//                  geometric candidates and picks.
// Steps 3-5 run as a sparse search by default (assign/yolov7_search.h: the
// pairs with IoU > 0 and lower bounds of the others, no [G, K] table) or,
// with search=dense, over the reference's every-pair tables; same result.
// Copies of one prior are identical columns with equal costs: a GT's k
// boundary falling between them is harmless unless another GT also splits
// that prior's copies (golden NEW-ASSIGNERS.md); ties are taken in torch's
// CPU order over the columns in the reference's order.
#include "assign/yolov7.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "assign/cross_grid.h"
#include "assign/search_record.h"
#include "assign/yolov7_search.h"
#include "match/dynamic_k.h"

namespace assignscope::assign {
namespace {

// Step 2: GT g as the reference rebuilds it from its normalised targets.
std::array<float, 4> rebuilt_gt(const Problem& p, int64_t g) {
  const std::array<float, 4> n = normalised_gt(p, g);
  const auto img_h = static_cast<float>((*p.meta.image_size)[0]);
  const auto img_w = static_cast<float>((*p.meta.image_size)[1]);
  const float cx = n[0] * img_w, cy = n[1] * img_h, w = n[2] * img_w, h = n[3] * img_h;
  return {cx - 0.5f * w, cy - 0.5f * h, cx + 0.5f * w, cy + 0.5f * h};
}

class YoloV7 final : public Assigner {
 public:
  explicit YoloV7(const Params& params)
      : params_(params),
        prior_match_thr_(static_cast<float>(params.get_float("prior_match_thr"))),
        near_neighbor_thr_(static_cast<float>(params.get_float("near_neighbor_thr"))),
        candidate_topk_(params.get_int("candidate_topk")),
        iou_weight_(static_cast<float>(params.get_float("iou_weight"))),
        cls_weight_(static_cast<float>(params.get_float("cls_weight"))),
        sparse_search_(sparse_search(params)) {}

  Assignment assign(const Problem& p) const override {
    const int64_t num_gts = p.num_gts();
    Assignment out = Assignment::Empty(p.num_priors(), num_gts, 0.0f, /*with_dynamic_ks=*/true);
    out.assigner = "yolov7";
    out.params = params_;
    out.cost_terms = {"cls", "iou"};
    out.max_overlaps.clear();
    out.matches.emplace();
    out.match_ious.emplace();
    out.candidate_priors.emplace();
    const auto levels = yolo_grid_of(p, "yolov7");  // validated by the registry's check
    if (!levels.ok() || num_gts == 0) {
      if (num_gts == 0) out.notes.push_back("no ground truth: every prior is negative");
      return out;
    }

    // Step 1: the candidate columns.
    const std::vector<CrossGridColumn> columns =
        cross_grid_columns(p, *levels, prior_match_thr_, near_neighbor_thr_, CellIndex::kClamp).columns;
    const auto k_columns = static_cast<int64_t>(columns.size());
    for (const CrossGridColumn& c : columns) out.candidate_priors->push_back(c.prior);
    std::sort(out.candidate_priors->begin(), out.candidate_priors->end());
    if (k_columns == 0) {
      out.notes.push_back(
          "no GT has an anchor of similar shape on any level: no candidate column, the reference skips the image "
          "(dynamic k 0)");
      return out;
    }

    // Steps 2-5: the costs, dynamic k, picks and conflicts, by the sparse
    // search unless it declines (or search=dense).
    std::vector<std::array<float, 4>> gt_box(static_cast<size_t>(num_gts));
    for (int64_t g = 0; g < num_gts; ++g) gt_box[g] = rebuilt_gt(p, g);
    const detail::Yolov7Costs costs(p, columns, std::move(gt_box), cls_weight_, iou_weight_);
    SearchRecord search = search_plan(sparse_search_, p);
    std::optional<match::DynamicKMatch> sparse;
    if (search.path == SearchRecord::Path::kSparse)
      sparse = detail::yolov7_sparse_match(costs, candidate_topk_, &search.why_dense);
    const match::DynamicKMatch m = sparse ? std::move(*sparse) : detail::yolov7_dense_match(costs, candidate_topk_);
    out.search = search_outcome(search, sparse.has_value());
    out.dynamic_ks = m.dynamic_ks;

    // Step 6: the kept columns as matches, sorted, with their IoUs.
    std::vector<std::tuple<int32_t, int32_t, float>> kept;
    for (int64_t v = 0; v < k_columns; ++v)
      if (const int32_t g = m.owner[static_cast<size_t>(v)]; g >= 0)
        kept.emplace_back(columns[static_cast<size_t>(v)].prior, g, costs.iou(g, costs.slot_of_column(v)));
    std::sort(kept.begin(), kept.end());
    for (const auto& [prior, g, u] : kept) {
      out.matches->push_back({prior, g});
      out.match_ious->push_back(u);
      if (out.gt_inds[prior] == 0) out.gt_inds[prior] = g + 1, out.labels[prior] = p.gt_labels[g];
    }
    record_pairs(columns, costs, m, &out);
    note_ties(m, &out);
    return out;
  }

 private:
  // The reported pairs: each GT with the priors of its own stage-1 columns
  // (`inside`), those it picked a column of (`picked`) and those it kept (a
  // column several GTs picked goes to the cheapest GT over all, picker or
  // not), costed as the search costed them. Sorted by (gt, prior).
  static void record_pairs(const std::vector<CrossGridColumn>& columns, const detail::Yolov7Costs& costs,
                           const match::DynamicKMatch& m, Assignment* out) {
    enum Why : uint8_t { kInside, kPicked, kKept };
    std::vector<std::tuple<int32_t, int32_t, Why>> pairs;  // (gt, slot, why); slots ascend with priors
    for (size_t v = 0; v < columns.size(); ++v) {
      const int32_t s = costs.slot_of_column(static_cast<int64_t>(v));
      pairs.emplace_back(columns[v].gt, s, kInside);
      if (m.owner[v] >= 0) pairs.emplace_back(m.owner[v], s, kKept);
    }
    for (size_t g = 0; g < m.picks.size(); ++g)
      for (int32_t v : m.picks[g]) pairs.emplace_back(static_cast<int32_t>(g), costs.slot_of_column(v), kPicked);
    std::sort(pairs.begin(), pairs.end());
    for (size_t at = 0; at < pairs.size();) {
      const int32_t g = std::get<0>(pairs[at]), s = std::get<1>(pairs[at]);
      CandidatePair pair;
      pair.prior = costs.prior_of_slot(s);
      pair.gt = g;
      pair.iou = costs.iou(g, s);
      pair.cost = costs.cost(g, s, pair.iou);
      pair.terms = costs.terms(g, s, pair.iou);
      for (; at < pairs.size() && std::get<0>(pairs[at]) == g && std::get<1>(pairs[at]) == s; ++at) {
        pair.inside |= std::get<2>(pairs[at]) == kInside;
        pair.picked |= std::get<2>(pairs[at]) == kPicked;
      }
      out->candidates.push_back(pair);
    }
  }

  // A GT whose k boundary fell in a block of equal costs: harmless between
  // copies of one prior (all of them cost the same) unless another GT also
  // splits them; noted either way.
  static void note_ties(const match::DynamicKMatch& m, Assignment* out) {
    for (int32_t g : m.tied_columns)
      out->notes.push_back(fmt::format(
          "GT {}: its k-th cheapest cost is shared with columns it did not take (often copies of one prior, "
          "harmless unless another GT splits them too); taken in the order PyTorch's CPU kernel gives equal keys",
          g));
  }

  Params params_;
  float prior_match_thr_;
  float near_neighbor_thr_;
  int64_t candidate_topk_;
  float iou_weight_;
  float cls_weight_;
  bool sparse_search_;
};

// base_sizes: per level, the anchors' (w, h) in pixels, [[[12, 16], ...], ...].
Result<nlohmann::json> canonical_base_sizes(const nlohmann::json& v) {
  const auto bad = [] {
    return Status::Usage(
        "expected the anchors' (w, h) in pixels per level, e.g. [[[12, 16], [19, 36], [40, 28]], ...], or null");
  };
  if (!v.is_array() || v.empty()) return bad();
  for (const auto& level : v) {
    if (!level.is_array() || level.size() != static_cast<size_t>(kYoloAnchorsPerCell)) return bad();
    for (const auto& wh : level)
      if (!wh.is_array() || wh.size() != 2 || !wh[0].is_number() || !wh[1].is_number() || !(wh[0].get<double>() > 0) ||
          !(wh[1].get<double>() > 0))
        return bad();
  }
  return v;
}

// The recorded model settings (featmap_strides, base_sizes) against the
// dump's priors and anchors, which are what the replay reads.
Status check_recorded_settings(const Params& params, const Problem& p, const std::vector<YoloLevel>& levels) {
  if (!params.is_null("featmap_strides")) {
    const Numbers& strides = params.get_numbers("featmap_strides");
    if (strides.size() != levels.size())
      return Status::InvalidInput(
          fmt::format("yolov7: featmap_strides has {} levels, the dump's priors {}", strides.size(), levels.size()));
    for (size_t l = 0; l < levels.size(); ++l)
      if (levels[l].width > 0 && static_cast<float>(strides[l]) != levels[l].stride)
        return Status::InvalidInput(fmt::format("yolov7: featmap_strides[{}] is {}, the dump's level {} has stride {}",
                                                l, strides[l], l, levels[l].stride));
  }
  if (!params.is_null("base_sizes")) {
    const nlohmann::json sizes = params.get_structured("base_sizes");
    if (sizes.size() != levels.size())
      return Status::InvalidInput(
          fmt::format("yolov7: base_sizes has {} levels, the dump's priors {}", sizes.size(), levels.size()));
    for (size_t l = 0; l < levels.size(); ++l) {
      if (levels[l].width == 0) continue;
      for (int64_t a = 0; a < kYoloAnchorsPerCell; ++a) {
        const int64_t first = levels[l].offset + a * levels[l].height * levels[l].width;
        const auto w = static_cast<double>(p.anchors(first, 2) - p.anchors(first, 0));
        const auto h = static_cast<double>(p.anchors(first, 3) - p.anchors(first, 1));
        const double bw = sizes[l][static_cast<size_t>(a)][0].get<double>();
        const double bh = sizes[l][static_cast<size_t>(a)][1].get<double>();
        if (std::fabs(w - bw) > 1e-3 * bw || std::fabs(h - bh) > 1e-3 * bh)
          return Status::InvalidInput(
              fmt::format("yolov7: base_sizes[{}][{}] is ({}, {}), the dump's anchors of level {} anchor {} are {} x "
                          "{} px",
                          l, a, bw, bh, l, a, w, h));
      }
    }
  }
  return Status();
}

// The pairs a replay costs are (GT, column) pairs, not (prior, GT): search=
// dense builds [G, K] tables of 8 bytes a pair, bounded as assign_batch
// bounds N x G (kMaxPriorGtPairs). The sparse search builds none; its worst
// case (every GT costed over its whole row) is G x K pair costs, bounded at
// 16 times that. Past the dense bound, an image the sparse search would
// decline is refused rather than given dense tables.
constexpr int64_t kMaxSparseColumnPairs = 16 * kMaxPriorGtPairs;

Status check_pair_budget(const Params& params, const Problem& p, const std::vector<YoloLevel>& levels) {
  const int64_t num_gts = p.num_gts();
  if (num_gts == 0) return Status();
  const std::vector<CrossGridColumn> columns =
      cross_grid_columns(p, levels, static_cast<float>(params.get_float("prior_match_thr")),
                         static_cast<float>(params.get_float("near_neighbor_thr")), CellIndex::kClamp)
          .columns;
  const auto k_columns = static_cast<int64_t>(columns.size());
  if (k_columns <= kMaxPriorGtPairs / num_gts) return Status();
  const std::string size = fmt::format("G x K = {} x {} (GT, candidate column) pairs", num_gts, k_columns);
  if (!sparse_search(params))
    return Status::Unsupported(
        fmt::format("yolov7: {} is more than search=dense's tables handle ({}); the default search=sparse builds none",
                    size, kMaxPriorGtPairs));
  if (k_columns > kMaxSparseColumnPairs / num_gts)
    return Status::Unsupported(
        fmt::format("yolov7: {} is more than this version handles ({}); split the image or drop GTs", size,
                    kMaxSparseColumnPairs));
  std::vector<std::array<float, 4>> gt_box(static_cast<size_t>(num_gts));
  for (int64_t g = 0; g < num_gts; ++g) gt_box[g] = rebuilt_gt(p, g);
  const detail::Yolov7Costs costs(p, columns, std::move(gt_box), static_cast<float>(params.get_float("cls_weight")),
                                  static_cast<float>(params.get_float("iou_weight")));
  if (const std::string why = detail::yolov7_sparse_declines(costs); !why.empty())
    return Status::Unsupported(fmt::format(
        "yolov7: {} is more than the dense search's tables handle ({}), and the sparse search cannot run here ({})",
        size, kMaxPriorGtPairs, why));
  return Status();
}

}  // namespace

AssignerInfo yolov7_info() {
  AssignerInfo info;
  info.name = "yolov7";
  info.summary =
      "YOLOv7 (mmyolo): YOLOv5's cross-grid candidates (clamped to the grid), then SimOTA among them; a prior may "
      "match several GTs, or one GT twice";
  info.reference =
      "mmyolo mmyolo/models/task_modules/assigners/batch_yolov7_assigner.py BatchYOLOv7Assigner, as "
      "YOLOv7Head.loss_by_feat calls it (mmyolo 0.6.0, commit 8c4d9dc5)";
  info.params = cross_grid_params(
      "a neighbour cell is a candidate when the centre is this close to it (the P6 auxiliary head: 1.0)");
  info.params.insert(
      info.params.end(),
      {
          {"candidate_topk",
           ParamType::kInt,
           int64_t{10},
           "how many top IoUs are summed into a GT's dynamic k (config simota_candidate_topk; P6 configs: 20)",
           1.0,
           std::nullopt,
           {}},
          {"iou_weight", ParamType::kFloat, 3.0, "weight of the -log(IoU + 1e-8) cost", 0.0, std::nullopt, {}},
          {"cls_weight", ParamType::kFloat, 1.0, "weight of the class (BCE) cost", 0.0, std::nullopt, {}},
          {"num_base_priors",
           ParamType::kInt,
           int64_t{3},
           "anchors per cell (the dump's prior layout; 3 is replayed)",
           3.0,
           3.0,
           {}},
          {"featmap_strides",
           ParamType::kNumbers,
           Null{},
           "the levels' strides as the config records them; null: the dump's priors', given: checked against them",
           0.0,
           std::nullopt,
           {},
           /*nullable=*/true},
          {"base_sizes",
           ParamType::kStructured,
           Null{},
           "the anchors' (w, h) in pixels per level as the config records them; null: the dump's anchors, given: "
           "checked against them",
           std::nullopt,
           std::nullopt,
           {},
           /*nullable=*/true,
           canonical_base_sizes},
      });
  info.params.push_back(search_param());
  info.needs = {{Field::kPriors},     {Field::kAnchors},  {Field::kClsScores}, {Field::kObjectness},
                {Field::kPredBboxes}, {Field::kGtBboxes}, {Field::kGtLabels}};
  info.result_files = {"assigned_gt_inds.npy", "assigned_labels.npy", "dynamic_ks.npy",
                       "matches.npy",          "match_ious.npy",      "candidate_priors.npy"};
  info.numerics =
      "a class probability sqrt(sigmoid(cls) * sigmoid(obj)) of exactly 1 or 0 in float32 (logits beyond about "
      "+17 or -88) makes the logit log(y / (1 - y)) infinite: the class cost is +Inf, or NaN on the GT's class";
  info.make = [](const Params& params) { return std::make_unique<YoloV7>(params); };
  // Multi-match (Assignment::matches, a prior per column); each GT takes its
  // k cheapest columns, which may repeat a prior (so not k priors);
  // conflicts by the cost over all GTs; a GT without columns of its own
  // still takes others' columns: not geometric.
  info.traits = {CostDefinition::kSimOta,    /*multi_match=*/true, /*dynamic_k=*/true,     /*picks_k=*/false,
                 /*conflict_over_all=*/true, /*geometric=*/false,  /*records_pairs=*/true, /*sparse_search=*/true};
  info.check = [](const Params& params, const Problem& p) {
    if (!p.meta.image_size)
      return Status::InvalidInput(
          "yolov7: meta.image_size is missing; YOLOv7 normalises GTs by the network input size [height, width]");
    const auto levels = yolo_grid_of(p, "yolov7");
    if (!levels.ok()) return levels.status();
    ASSIGNSCOPE_RETURN_IF_ERROR(check_recorded_settings(params, p, *levels));
    return check_pair_budget(params, p, *levels);
  };
  info.bounds_own_pairs = true;
  info.class_names = {{"BatchYOLOv7Assigner", ClassName::Syntax::kAny}, {"YOLOv7Head", ClassName::Syntax::kAny, true}};
  info.config_ignored = {"num_classes"};
  info.replays = [](const Params&) { return std::vector<FrameworkRange>{{"mmyolo", "0.6.0", "0.7", "mmyolo 0.6"}}; };
  return info;
}

}  // namespace assignscope::assign
