// One-to-Few label assignment (Li et al., "One-to-Few Label Assignment for
// End-to-End Dense Detection", CVPR 2023), as the paper's code computes it.
//
// Mirrors strongwolf/o2f o2f_head.py, O2FHead.get_targets ->
// O2FHead._get_target_single_o2o (commit 72473678), with mmdetection 2.x's
// bbox_overlaps and distance2bbox (v2.25.0). All in float32, per image of N
// priors, G GTs and V valid priors (those inside at least one GT):
//
//   1. quality   prob [N, G] = sigmoid(cls)[n, label_g] * sigmoid(centerness)[n],
//                IoU [N, G] = bbox_overlaps(pred_n, gt_g), the prediction
//                decoded as (x - l, y - t, x + r, y + b) (the dump's
//                pred_bboxes, or its pred_distances decoded so at load),
//                quality = prob ** (1 - poto_alpha) * IoU ** poto_alpha
//                (torch's pow(Tensor, Scalar), cost/terms.h).
//   2. inside    center_sampling: the prior point strictly inside the GT's
//                centre square, centre -+ strides[level] *
//                center_sample_radius, clipped to the GT box
//                (geometry/centre_sampling.h); otherwise strictly inside the
//                GT box. Quality and IoU are 0 outside. No regress-range
//                test: the one-to-one target ignores regress_ranges.
//   3. top-k     per GT, k = min(#valid priors with IoU > 0 for it, o2f_topk)
//                (IoU > 0 only counts inside it); torch.topk of its quality
//                column over the V valid rows, ties in torch's CPU order
//                (match/torch_order.h); the picks enter the matching matrix
//                [V, G] with their quality.
//   4. conflicts each valid prior goes to the first GT of largest matching
//                value (torch.max over its row, NaN winning), and is positive
//                where that value is > 0.
//   5. soft      per GT over its positives [P_g]: the one of largest quality
//                (the first of torch.sort(descending)) gets soft label 1 and
//                weight max_soft_weight; each other positive gets
//                prob / max(prob of the other positives) * t and weight
//                soft_weight, t = o2f_soft_label_t(epoch, max_epoch)
//                (multiplied as float32, as a tensor times a Python float).
//   6. result    positives: g + 1, g's label, bbox_targets (l, t, r, b) of the
//                point to g in pixels (not divided by the stride); others 0,
//                -1, zeros. No max_overlaps: the reference returns none.
//
// G = 0: the reference fails (it returns two values where get_targets
// unpacks four); replayed as every prior negative, with a note.
//
// Work: the inside test over every (GT, prior) pair, quality only inside,
// and per GT one top-k over the V valid rows.
#include "assign/o2f.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "cost/terms.h"
#include "geometry/boxes.h"
#include "geometry/centre_sampling.h"
#include "match/torch_order.h"

namespace assignscope::assign {
namespace {

constexpr double kMaxT = 0.6;  // O2FHead.__init__'s max_t
constexpr double kMinT = 0.2;  // and min_t

// A (prior, GT) pair with the prior inside the GT (step 2).
struct Pair {
  int32_t prior = 0;
  float prob = 0;
  float iou = 0;
  float quality = 0;
  bool picked = false;  // in the GT's top-k with a quality that can win (step 3)
};

// The pair of GT column `pairs` (in prior order) at `prior`; it exists.
Pair& pair_at(std::vector<Pair>& pairs, int32_t prior) {
  return *std::lower_bound(pairs.begin(), pairs.end(), prior, [](const Pair& a, int32_t b) { return a.prior < b; });
}

// torch.max over a row: the first largest value, a NaN winning outright.
struct RowMax {
  float value = 0.0f;
  int32_t gt = -1;
  bool nan = false;
  void offer(float v, int32_t g) {
    if (nan) return;
    if (std::isnan(v)) {
      nan = true, gt = g;
    } else if (v > value) {
      value = v, gt = g;
    }
  }
  bool positive() const { return !nan && gt >= 0; }
};

class O2f final : public Assigner {
 public:
  explicit O2f(const Params& params)
      : params_(params),
        topk_(params.get_int("o2f_topk")),
        alpha_(params.get_float("poto_alpha")),
        center_sampling_(params.get_bool("center_sampling")),
        radius_(params.get_float("center_sample_radius")),
        strides_(params.get_numbers("strides")),
        soft_weight_(static_cast<float>(params.get_float("soft_weight"))),
        max_soft_weight_(static_cast<float>(params.get_float("max_soft_weight"))),
        epoch_(params.is_null("epoch") ? std::nullopt : std::optional<int64_t>(params.get_int("epoch"))),
        max_epoch_(params.get_int("max_epoch")) {}

  Assignment assign(const Problem& p) const override {
    const int64_t n = p.num_priors(), g_count = p.num_gts();
    Assignment out = Assignment::Empty(n, g_count, 0.0f, false);
    out.assigner = "o2f";
    out.params = params_;
    out.cost_terms = {"quality", "prob", "iou"};
    out.max_overlaps.clear();
    out.bbox_targets = std::vector<float>(static_cast<size_t>(n * 4), 0.0f);
    out.soft_labels = std::vector<float>(static_cast<size_t>(n), 0.0f);
    out.soft_weights = std::vector<float>(static_cast<size_t>(n), 0.0f);
    if (g_count == 0) {
      out.notes.push_back(
          "no ground truth: the reference fails here (_get_target_single_o2o returns two values where get_targets "
          "unpacks four); replayed as every prior negative");
      return out;
    }
    if (n == 0) {
      out.notes.push_back("no priors: nothing to assign");
      return out;
    }
    note_stride_mismatch(p, &out);
    const double t = soft_label_t(p, &out);

    // Steps 1-2: [G] columns of the pairs inside each GT, in prior order.
    std::vector<std::vector<Pair>> pairs = inside_pairs(p);
    // The valid priors [V], ascending, and each prior's row among them.
    std::vector<int32_t> row(static_cast<size_t>(n), -1), valid;
    for (const auto& column : pairs)
      for (const Pair& pair : column) row[pair.prior] = 0;
    for (int32_t i = 0; i < n; ++i)
      if (row[i] == 0) row[i] = static_cast<int32_t>(valid.size()), valid.push_back(i);

    // Steps 3-4: each GT's top-k, and the row maxima of the matching matrix.
    std::vector<RowMax> best(static_cast<size_t>(n));
    pick_top_k(p, valid, row, &pairs, &best, &out.notes);

    // Step 5-6: the positives, GT by GT in prior order, and their targets.
    std::vector<std::vector<int32_t>> positives(static_cast<size_t>(g_count));
    for (int32_t i = 0; i < n; ++i) {
      if (!best[i].positive()) continue;
      const int32_t g = best[i].gt;
      positives[g].push_back(i);
      out.gt_inds[i] = g + 1;
      out.labels[i] = p.gt_labels[g];
      const auto d = geometry::ltrb_from(p.priors(i, 0), p.priors(i, 1), &p.gt_bboxes(g, 0));
      std::copy(d.begin(), d.end(), out.bbox_targets->begin() + i * 4);
    }
    for (int32_t g = 0; g < g_count; ++g) soft_targets(g, positives[g], t, &pairs[g], &out);
    report_pairs(pairs, &out);
    return out;
  }

 private:
  // The soft-label factor t of this image's epoch: `epoch` when given, else
  // the dump's meta.json "epoch" (the hooks record the runner's, 0-based;
  // the result's params then show it), else 0. info.check refused an epoch
  // past the schedule.
  double soft_label_t(const Problem& p, Assignment* out) const {
    int64_t epoch = 0;
    if (epoch_) {
      epoch = *epoch_;
    } else if (p.meta.epoch) {
      epoch = *p.meta.epoch;
      static_cast<void>(out->params.set_json("epoch", epoch));  // in range: info.check refused others
      out->notes.push_back(fmt::format("epoch {} from the dump's meta.json (--set epoch=N to replay another)", epoch));
    }
    return o2f_soft_label_t(epoch, max_epoch_);
  }

  // The centre radius of a prior's level: strides[level] * radius, as the
  // reference takes it from self.strides (not from the prior).
  float radius_of(int32_t level) const {
    return geometry::centre_radius(static_cast<float>(strides_[static_cast<size_t>(level)]), radius_);
  }

  bool inside(const Problem& p, int64_t i, const float* gt) const {
    const float x = p.priors(i, 0), y = p.priors(i, 1);
    return center_sampling_ ? geometry::in_centre_box(x, y, gt, radius_of(p.prior_level[i]))
                            : geometry::strictly_inside(x, y, gt);
  }

  // Steps 1-2 over the pairs inside each GT.
  std::vector<std::vector<Pair>> inside_pairs(const Problem& p) const {
    std::vector<std::vector<Pair>> pairs(static_cast<size_t>(p.num_gts()));
    for (int64_t g = 0; g < p.num_gts(); ++g) {
      const float* gt = &p.gt_bboxes(g, 0);
      const float gt_area = geometry::area(gt);
      for (int64_t i = 0; i < p.num_priors(); ++i) {
        if (!inside(p, i, gt)) continue;
        Pair pair;
        pair.prior = static_cast<int32_t>(i);
        pair.prob = cost::sigmoid_f32(p.cls_scores(i, p.gt_labels[g])) * cost::sigmoid_f32(p.centerness[i]);
        const float* pred = &p.pred_bboxes(i, 0);
        pair.iou = geometry::iou(pred, gt, geometry::area(pred), gt_area);
        pair.quality = cost::torch_pow(pair.prob, 1.0 - alpha_) * cost::torch_pow(pair.iou, alpha_);
        pairs[g].push_back(pair);
      }
    }
    return pairs;
  }

  // Steps 3-4: per GT, the k best of its quality column over the valid rows
  // [V] (0 where the prior is not inside it), offered to the row maxima.
  void pick_top_k(const Problem& p, const std::vector<int32_t>& valid, const std::vector<int32_t>& row,
                  std::vector<std::vector<Pair>>* pairs, std::vector<RowMax>* best,
                  std::vector<std::string>* notes) const {
    std::vector<float> column(valid.size());
    for (int32_t g = 0; g < p.num_gts(); ++g) {
      std::vector<Pair>& gt_pairs = (*pairs)[g];
      std::fill(column.begin(), column.end(), 0.0f);
      int64_t with_iou = 0;
      for (const Pair& pair : gt_pairs) {
        column[row[pair.prior]] = pair.quality;
        with_iou += pair.iou > 0.0f;
      }
      const int64_t k = std::min(with_iou, topk_);
      const std::vector<int32_t> picks = match::torch_topk_cpu(column, k, /*largest=*/true);
      if (k > 0 && column[picks.back()] > 0.0f) {
        std::vector<float> negated(column.size());
        std::transform(column.begin(), column.end(), negated.begin(), [](float v) { return -v; });
        if (match::boundary_tie(negated.data(), static_cast<int64_t>(negated.size()), picks))
          notes->push_back(fmt::format(
              "GT {}: its top-{} boundary falls among equal qualities; taken in the order PyTorch's CPU topk gives "
              "equal keys (a CUDA run can take others)",
              g, k));
      }
      for (int32_t r : picks) {
        const float v = column[r];
        if (!(v > 0.0f || std::isnan(v))) continue;  // a zero entry never wins a row
        const int32_t prior = valid[r];
        pair_at(gt_pairs, prior).picked = true;
        (*best)[prior].offer(v, g);
      }
    }
  }

  // Step 5 for GT g's positives (in prior order).
  void soft_targets(int32_t g, const std::vector<int32_t>& positives, double t_epoch, std::vector<Pair>* gt_pairs,
                    Assignment* out) const {
    if (positives.empty()) return;
    std::vector<float> quality, prob;
    for (int32_t i : positives) {
      const Pair& pair = pair_at(*gt_pairs, i);
      quality.push_back(pair.quality);
      prob.push_back(pair.prob);
    }
    const std::vector<int32_t> order = match::torch_sort_cpu(quality, /*descending=*/true);
    if (order.size() > 1 && quality[order[0]] == quality[order[1]])
      out->notes.push_back(fmt::format(
          "GT {}: its two best positives have equal quality; the soft label 1 goes to the one PyTorch's CPU sort "
          "puts first (prior {})",
          g, positives[order[0]]));
    if (order.size() > 1) {
      float max_prob = prob[order[1]];
      for (size_t j = 2; j < order.size(); ++j) {
        const float v = prob[order[j]];
        if (std::isnan(max_prob)) break;
        if (std::isnan(v) || v > max_prob) max_prob = v;
      }
      const auto t = static_cast<float>(t_epoch);
      for (size_t j = 1; j < order.size(); ++j) {
        const int32_t i = positives[order[j]];
        (*out->soft_labels)[i] = prob[order[j]] / max_prob * t;
        (*out->soft_weights)[i] = soft_weight_;
      }
    }
    const int32_t top = positives[order[0]];
    (*out->soft_labels)[top] = 1.0f;
    (*out->soft_weights)[top] = max_soft_weight_;
  }

  // The reference takes the centre radius from strides[level]: say so where
  // the priors' own stride differs.
  void note_stride_mismatch(const Problem& p, Assignment* out) const {
    if (!center_sampling_) return;
    int64_t first = 0;
    for (int64_t level = 0; level < p.num_levels(); ++level) {
      const int64_t count = p.num_level_priors[static_cast<size_t>(level)];
      if (count > 0 && static_cast<double>(p.priors(first, 2)) != strides_[static_cast<size_t>(level)])
        out->notes.push_back(fmt::format(
            "level {}: its priors have stride {} but strides[{}] = {}; the centre square uses strides[{}], as "
            "the reference does",
            level, p.priors(first, 2), level, strides_[static_cast<size_t>(level)], level));
      first += count;
    }
  }

  // The reported pairs: every pair inside a GT, GT by GT in prior order,
  // ranked by quality (cost terms quality, prob, IoU).
  static void report_pairs(const std::vector<std::vector<Pair>>& pairs, Assignment* out) {
    for (size_t g = 0; g < pairs.size(); ++g)
      for (const Pair& pair : pairs[g])
        out->candidates.push_back({pair.prior, static_cast<int32_t>(g), pair.quality,
                                   CostTerms{pair.quality, pair.prob, pair.iou}, pair.iou, /*inside=*/true,
                                   pair.picked});
  }

  Params params_;
  int64_t topk_;
  double alpha_;
  bool center_sampling_;
  double radius_;
  Numbers strides_;
  float soft_weight_;
  float max_soft_weight_;
  std::optional<int64_t> epoch_;  // null: the dump's meta.json epoch, else 0
  int64_t max_epoch_;
};

}  // namespace

double o2f_soft_label_t(int64_t epoch, int64_t max_epoch) {
  return (kMinT - kMaxT) / static_cast<double>(max_epoch - 1) * static_cast<double>(epoch) + kMaxT;
}

// O2FHead's arguments and the schedule, under the reference's names.
static std::vector<ParamSpec> o2f_params() {
  return {
      {"o2f_topk",
       ParamType::kInt,
       int64_t{7},
       "how many of a GT's highest-quality points it takes at most",
       1.0,
       std::nullopt,
       {}},
      {"poto_alpha", ParamType::kFloat, 0.8, "IoU exponent of the quality prob^(1 - a) * IoU^a", 0.0, 1.0, {}},
      {"center_sampling",
       ParamType::kBool,
       true,
       "inside means inside the GT's centre square instead of the GT",
       std::nullopt,
       std::nullopt,
       {}},
      {"center_sample_radius",
       ParamType::kFloat,
       1.5,
       "half-side of the centre square, in strides",
       0.0,
       std::nullopt,
       {}},
      {"strides",
       ParamType::kNumbers,
       Numbers{8, 16, 32, 64, 128},
       "the head's strides, one per level: the centre square's stride (the priors' own stride is not read)",
       1.0,
       std::nullopt,
       {}},
      {"soft_weight",
       ParamType::kFloat,
       0.4,
       "loss weight of a GT's positives other than its best",
       0.0,
       std::nullopt,
       {}},
      {"max_soft_weight", ParamType::kFloat, 1.0, "loss weight of a GT's best positive", 0.0, std::nullopt, {}},
      {"epoch",
       ParamType::kInt,
       Null{},
       "the training epoch, 0-based as the runner counts (head_hook sets it): t = 0.6 at epoch 0 down to 0.2 at "
       "max_epoch - 1; None: the dump's meta.json epoch, else 0",
       0.0,
       std::nullopt,
       {},
       /*nullable=*/true},
      {"max_epoch", ParamType::kInt, int64_t{12}, "epochs of the schedule (12: 1x, 36: 3x)", 2.0, std::nullopt, {}},
  };
}

AssignerInfo o2f_info() {
  AssignerInfo info;
  info.name = "o2f";
  info.summary =
      "One-to-Few: each GT's top-k quality prob^0.2 * IoU^0.8 among centre-sampled points; the best gets label 1, "
      "the others soft labels that fade with the epoch";
  info.reference =
      "strongwolf/o2f o2f_head.py O2FHead.get_targets / _get_target_single_o2o (commit 72473678); mmdetection 2.x "
      "bbox_overlaps, distance2bbox (v2.25.0)";
  info.params = o2f_params();
  info.needs = {{Field::kPriors},     {Field::kClsScores}, {Field::kCenterness},
                {Field::kPredBboxes}, {Field::kGtBboxes},  {Field::kGtLabels}};
  info.result_files = {"assigned_gt_inds.npy", "assigned_labels.npy", "bbox_targets.npy", "soft_labels.npy",
                       "soft_weights.npy"};
  info.make = [](const Params& params) { return std::make_unique<O2f>(params); };
  info.numerics =
      "with poto_alpha = 1 the quality ignores prob, and a GT whose other positives all have prob 0 (saturated "
      "logits) divides 0 by 0 in its soft labels";
  // Top-k of the quality per GT among the points inside it; a prior several
  // GTs picked goes to the largest quality among those GTs.
  info.traits = {CostDefinition::kNone,       /*multi_match=*/false, /*dynamic_k=*/false,    /*picks_k=*/false,
                 /*conflict_over_all=*/false, /*geometric=*/true,    /*records_pairs=*/true, /*sparse_search=*/false};
  info.check = [](const Params& params, const Problem& p) {
    const int64_t max_epoch = params.get_int("max_epoch");
    if (params.is_null("epoch") && p.meta.epoch && (*p.meta.epoch < 0 || *p.meta.epoch > max_epoch - 1))
      return Status::InvalidInput(fmt::format(
          "meta.json field 'epoch' is {}; o2f expected 0 to max_epoch - 1 = {} (the schedule's length: --set "
          "max_epoch=N, or --set epoch=N)",
          *p.meta.epoch, max_epoch - 1));
    const auto strides = static_cast<int64_t>(params.get_numbers("strides").size());
    if (p.num_levels() > strides && p.num_priors() > 0)
      return Status::Usage(
          fmt::format("o2f: the image has {} pyramid levels{} but strides has {}; pass one stride per level, e.g. "
                      "--set strides=[8,16,32]",
                      p.num_levels(), p.levels_inferred ? " (inferred from the strides)" : "", strides));
    return Status();
  };
  info.validate = [](const Params& p, std::vector<std::string>*) -> Status {
    if (p.get_numbers("strides").empty())
      return Status::Usage("parameter strides=[]: expected the head's strides, e.g. [8, 16, 32, 64, 128]");
    const int64_t max_epoch = p.get_int("max_epoch");
    const int64_t epoch = p.is_null("epoch") ? 0 : p.get_int("epoch");
    if (epoch > max_epoch - 1)
      return Status::Usage(
          fmt::format("parameter epoch={} is past the schedule: epochs count from 0 to max_epoch - 1 = {}", epoch,
                      max_epoch - 1));
    return Status();
  };
  info.class_names = {{"O2FHead", ClassName::Syntax::kAny, /*head=*/true}};
  info.replays = [](const Params&) {
    return std::vector<FrameworkRange>{{"mmdet", "2.20.0", "3", "mmdetection 2.x (strongwolf/o2f)"}};
  };
  return info;
}

}  // namespace assignscope::assign
