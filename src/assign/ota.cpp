// OTA: label assignment as optimal transport (Ge et al., CVPR 2021), as the
// paper's code computes it.
//
// Mirrors Megvii-BaseDetection/OTA playground/detection/coco/
// ota.res50.fpn.coco.800size.1x/fcos.py, FCOS.get_ground_truth and
// SinkhornDistance (commit 2c85b4d0), with cvpods' Shift2BoxTransform and
// sigmoid_focal_loss. All in float32, as the reference:
//
//   geometry     a prior point p is a candidate of GT g when it lies inside
//                the box by more than 0.01 (min(l, t, r, b) > 0.01) AND
//                strictly inside the centre box [max(c - r, x1y1),
//                min(c + r, x2y2)], r = center_radius * stride
//   cost         supplier g (a GT), demander p (a prior), u = IoU of the
//                predicted and GT boxes as (l, t, r, b) distances from p:
//                  C_gp = sum_c focal(x_pc, onehot(g)_c)
//                         + reg_weight * -log(max(u, eps_f32))
//                         + 1e6 unless p is a candidate of g
//                background supplier: C_bg,p = sum_c focal(x_pc, 0)
//   supplies     mu_g = max(1, int(sum of the top candidate_topk of
//                u * candidate over all priors)); mu_bg = N - sum_g mu_g;
//                every prior demands nu_p = 1
//   plan         pi = Sinkhorn(mu, nu, C), eps sinkhorn_eps, sinkhorn_iters
//                log-domain iterations from u = v = 1 (match/sinkhorn.h)
//   decision     each row of pi divided by its own maximum (NaN when the
//                row holds a NaN, as torch.max); each prior goes to the row
//                with the largest value (the first on a tie, and the first
//                NaN if any, as torch.max); the background row means negative
//   result       positives: g + 1, g's label, u(g, p); others 0, -1, 0.0;
//                dynamic k = mu_g; transport_plan = pi (background row last)
//
// The focal class cost over C classes is the per-prior background cost plus
// a correction at the GT's class (cost/terms.h), never C values per pair.
#include "assign/ota.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "assign/cost_table.h"
#include "cost/terms.h"
#include "geometry/boxes.h"
#include "io/memory.h"
#include "match/dynamic_k.h"
#include "match/sinkhorn.h"

namespace assignscope::assign {
namespace {

// The dense Sinkhorn's work bound: plan entries x iterations.
constexpr double kMaxOtaWork = 268435456.0;  // 2^28

constexpr float kOutsideCost = 1000000.0f;  // 1e6 * (1 - is_in_boxes)
constexpr float kInBoxMargin = 0.01f;       // deltas.min(dim=-1).values > 0.01

class Ota final : public Assigner {
 public:
  explicit Ota(const Params& params)
      : params_(params),
        center_radius_(params.get_float("center_radius")),
        candidate_topk_(params.get_int("candidate_topk")),
        reg_weight_(static_cast<float>(params.get_float("reg_weight"))),
        eps_(params.get_float("sinkhorn_eps")),
        iterations_(params.get_int("sinkhorn_iters")),
        alpha_(params.get_float("focal_alpha")),
        gamma_(params.get_float("focal_gamma")) {}

  Assignment assign(const Problem& p) const override {
    const int64_t n = p.num_priors();
    const int64_t g_count = p.num_gts();
    Assignment out = Assignment::Empty(n, g_count, 0.0f, true);
    out.assigner = "ota";
    out.params = params_;
    out.cost_terms = {"cls", "reg", "geometry"};
    if (n == 0) {
      out.notes.push_back("no priors: nothing to assign");
      return out;
    }
    const Costs c = costs(p);
    const std::vector<float> mu = supplies(p, c, &out);
    const std::vector<float> nu(static_cast<size_t>(n), 1.0f);
    const std::vector<float> plan =
        match::sinkhorn_plan(c.cost, g_count + 1, n, mu, nu, static_cast<float>(eps_), iterations_);
    out.transport_plan = plan;
    decide(p, plan, c, &out);
    report_pairs(p, plan, c, &out);
    return out;
  }

 private:
  // The geometry and the cost of every (GT, prior) pair, [G, N] row-major,
  // and the cost matrix [G + 1, N], background row last.
  struct Costs {
    std::vector<float> cost;       // [G + 1, N]
    std::vector<float> iou;        // [G, N]
    std::vector<char> candidate;   // [G, N]
    std::vector<CostTerms> terms;  // [G, N]
  };

  // Geometry and cost: per prior its point, the (l, t, r, b) of its
  // prediction, the background cost and the logits of the classes some GT
  // has; then every pair.
  Costs costs(const Problem& p) const {
    const int64_t n = p.num_priors();
    const int64_t g_count = p.num_gts();
    std::vector<std::array<float, 4>> pred_ltrb(static_cast<size_t>(n));
    std::vector<double> background(static_cast<size_t>(n));
    const detail::ClassSlots slots(p.gt_labels);
    const std::vector<int64_t>& classes = slots.classes;
    std::vector<cost::Logit> logit(static_cast<size_t>(n) * classes.size());
    for (int64_t i = 0; i < n; ++i) {
      const float px = p.priors(i, 0), py = p.priors(i, 1);
      pred_ltrb[i] = p.preds_from_distances ? std::array<float, 4>{p.pred_distances(i, 0), p.pred_distances(i, 1),
                                                                   p.pred_distances(i, 2), p.pred_distances(i, 3)}
                                            : geometry::ltrb_from(px, py, &p.pred_bboxes(i, 0));
      background[i] = cost::focal_background_total(&p.cls_scores(i, 0), p.num_classes(), alpha_, gamma_);
      for (size_t k = 0; k < classes.size(); ++k)
        logit[i * classes.size() + k] = cost::logit_terms(static_cast<double>(p.cls_scores(i, classes[k])));
    }

    Costs c;
    c.cost.resize(static_cast<size_t>((g_count + 1) * n));
    c.iou.resize(static_cast<size_t>(g_count * n));
    c.candidate.resize(static_cast<size_t>(g_count * n));
    c.terms.resize(static_cast<size_t>(g_count * n));
    for (int64_t g = 0; g < g_count; ++g) {
      const float* box = &p.gt_bboxes(g, 0);
      for (int64_t i = 0; i < n; ++i) {
        const size_t at = static_cast<size_t>(g * n + i);
        const float px = p.priors(i, 0), py = p.priors(i, 1);
        c.candidate[at] = geometry::inside(px, py, box, kInBoxMargin) && in_centre_box(p, i, box);
        const auto gt_ltrb = geometry::ltrb_from(px, py, box);
        c.iou[at] = geometry::iou_ltrb(pred_ltrb[i].data(), gt_ltrb.data());
        const float cls =
            cost::focal_class_cost(background[i], logit[i * classes.size() + slots.slot[g]], alpha_, gamma_);
        const float reg = reg_weight_ * -std::log(std::max(c.iou[at], 1.1920928955078125e-07f));
        c.terms[at] = {cls, reg, c.candidate[at] ? 0.0f : kOutsideCost};
        c.cost[at] = (cls + reg) + c.terms[at][2];
      }
    }
    for (int64_t i = 0; i < n; ++i) c.cost[static_cast<size_t>(g_count * n + i)] = static_cast<float>(background[i]);
    return c;
  }

  // Supplies: dynamic k from the top IoUs of candidates (out->dynamic_ks),
  // the background the rest; [G + 1].
  std::vector<float> supplies(const Problem& p, const Costs& c, Assignment* out) const {
    const int64_t n = p.num_priors();
    const int64_t g_count = p.num_gts();
    std::vector<float> mu(static_cast<size_t>(g_count + 1));
    float supplied = 0.0f;
    for (int64_t g = 0; g < g_count; ++g) {
      std::vector<float> candidate_ious(static_cast<size_t>(n));
      // ious * is_in_boxes.float(): a NaN IoU stays NaN (--allow-nonfinite).
      for (int64_t i = 0; i < n; ++i) candidate_ious[i] = c.iou[g * n + i] * (c.candidate[g * n + i] ? 1.0f : 0.0f);
      (*out->dynamic_ks)[g] = match::dynamic_k(std::move(candidate_ious), candidate_topk_);
      mu[g] = static_cast<float>((*out->dynamic_ks)[g]);
      supplied += static_cast<float>((*out->dynamic_ks)[g]);
    }
    mu[g_count] = static_cast<float>(n) - supplied;
    if (mu[g_count] < 0)
      out->notes.push_back(fmt::format(
          "the GTs' supplies ({:g}) exceed the {} priors: the background's supply is negative, its log NaN, and "
          "the plan NaN throughout, in the reference as here",
          supplied, n));
    return mu;
  }

  // Decision: each row scaled to a maximum of 1, then each prior to its
  // largest row. The maximum is torch's pi.max(dim=1): a NaN anywhere in the
  // row makes it NaN, and with it the whole scaled row.
  static void decide(const Problem& p, const std::vector<float>& plan, const Costs& c, Assignment* out) {
    const int64_t n = p.num_priors();
    const int64_t g_count = p.num_gts();
    const int64_t rows = g_count + 1;
    std::vector<float> row_max(static_cast<size_t>(rows), 0.0f);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < n; ++i) {
        const float x = plan[static_cast<size_t>(r * n + i)];
        if (i == 0 || std::isnan(x) || x > row_max[r]) row_max[r] = x;
        if (std::isnan(x)) break;
      }
    const auto scaled = [&](int64_t r, int64_t i) { return plan[static_cast<size_t>(r * n + i)] / row_max[r]; };
    for (int64_t i = 0; i < n; ++i) {
      int64_t best = 0;
      for (int64_t r = 1; r < rows && !std::isnan(scaled(best, i)); ++r)
        if (std::isnan(scaled(r, i)) || scaled(r, i) > scaled(best, i)) best = r;
      if (best == g_count) continue;  // background
      out->gt_inds[i] = best + 1;
      out->labels[i] = p.gt_labels[best];
      out->max_overlaps[i] = c.iou[static_cast<size_t>(best * n + i)];
    }
  }

  // Reported pairs: a GT's candidates, and the k_g priors it ships the
  // most of its supply to (its "picks"; those that end elsewhere are lost).
  static void report_pairs(const Problem& p, const std::vector<float>& plan, const Costs& c, Assignment* out) {
    const int64_t n = p.num_priors();
    for (int64_t g = 0; g < p.num_gts(); ++g) {
      std::vector<float> minus_plan(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) minus_plan[i] = -plan[static_cast<size_t>(g * n + i)];
      std::vector<char> picked(static_cast<size_t>(n), 0);
      for (int32_t i : match::k_smallest(minus_plan.data(), n, (*out->dynamic_ks)[g])) picked[i] = 1;
      for (int64_t i = 0; i < n; ++i) {
        const size_t at = static_cast<size_t>(g * n + i);
        if (!c.candidate[at] && !picked[i]) continue;
        CandidatePair pair;
        pair.prior = static_cast<int32_t>(i);
        pair.gt = static_cast<int32_t>(g);
        pair.cost = c.cost[at];
        pair.terms = c.terms[at];
        pair.iou = c.iou[at];
        pair.inside = c.candidate[at] != 0;
        pair.picked = picked[i] != 0;
        out->candidates.push_back(pair);
      }
    }
  }

  // Strictly inside the GT's centre box: its centre -/+ center_radius * stride,
  // clipped to the box.
  bool in_centre_box(const Problem& p, int64_t i, const float* box) const {
    const auto radius = static_cast<float>(static_cast<double>(p.priors(i, 2)) * center_radius_);
    const float cx = geometry::centre_x(box), cy = geometry::centre_y(box);
    const float centre_box[4] = {std::max(cx - radius, box[0]), std::max(cy - radius, box[1]),
                                 std::min(cx + radius, box[2]), std::min(cy + radius, box[3])};
    return geometry::strictly_inside(p.priors(i, 0), p.priors(i, 1), centre_box);
  }

  Params params_;
  double center_radius_;
  int64_t candidate_topk_;
  float reg_weight_;
  double eps_;
  int64_t iterations_;
  double alpha_;
  double gamma_;
};

}  // namespace

AssignerInfo ota_info() {
  AssignerInfo info;
  info.name = "ota";
  info.summary = "OTA: optimal transport from GTs and background to priors, Sinkhorn plan, dynamic k supplies";
  info.reference =
      "Megvii-BaseDetection/OTA playground/detection/coco/ota.res50.fpn.coco.800size.1x/fcos.py "
      "FCOS.get_ground_truth + SinkhornDistance (commit 2c85b4d0)";
  info.params = {
      {"center_radius",
       ParamType::kFloat,
       2.5,
       "half-size of a GT's centre box, in strides (hard-coded 2.5 upstream)",
       0.0,
       std::nullopt,
       {}},
      {"candidate_topk",
       ParamType::kInt,
       int64_t{20},
       "how many top candidate IoUs are summed into a GT's supply",
       1.0,
       std::nullopt,
       {}},
      {"reg_weight", ParamType::kFloat, 1.5, "weight of the -log(IoU) cost", 0.0, std::nullopt, {}},
      {"sinkhorn_eps", ParamType::kFloat, 0.1, "entropic regularisation of the transport", 1e-6, std::nullopt, {}},
      {"sinkhorn_iters", ParamType::kInt, int64_t{50}, "Sinkhorn iterations", 0.0, 100000.0, {}},
      {"focal_alpha", ParamType::kFloat, 0.25, "focal loss alpha (< 0: no alpha weighting)", std::nullopt, 1.0, {}},
      {"focal_gamma", ParamType::kFloat, 2.0, "focal loss gamma", 0.0, std::nullopt, {}},
  };
  info.needs = {{Field::kPriors}, {Field::kClsScores}, {Field::kPredBboxes}, {Field::kGtBboxes}, {Field::kGtLabels}};
  info.result_files = {"assigned_gt_inds.npy", "assigned_labels.npy", "max_overlaps.npy", "dynamic_ks.npy",
                       "transport_plan.npy"};
  info.numerics =
      "when the GTs' supplies (at least 1 each) add up to more than the N priors, the background's supply is "
      "negative, its log NaN, and the Sinkhorn plan NaN throughout (each prior then goes to the first GT)";
  info.make = [](const Params& params) { return std::make_unique<Ota>(params); };
  // A transport plan decides, not picks: each prior goes where its plan
  // column is largest; every prior has a cost to every GT. Dense only.
  info.traits = {CostDefinition::kOta,        /*multi_match=*/false, /*dynamic_k=*/true,     /*picks_k=*/false,
                 /*conflict_over_all=*/false, /*geometric=*/false,   /*records_pairs=*/true, /*sparse_search=*/false};
  info.check = [](const Params& params, const Problem& p) {
    // The plan is dense, (G + 1) x N, and Sinkhorn sweeps it twice per
    // iteration: bounded before anything is allocated (about 24 bytes an
    // entry: cost, IoUs, plan, the result and its npy copy), and in work
    // (entries x iterations, about 20 ns each here: the bound is ~5 s).
    const auto cells = static_cast<double>(p.num_gts() + 1) * static_cast<double>(p.num_priors());
    const auto iterations = static_cast<double>(std::max<int64_t>(params.get_int("sinkhorn_iters"), 1));
    const io::MemoryBudget budget = io::available_memory();
    if (cells * 24.0 > static_cast<double>(budget.bytes))
      return Status::Unsupported(fmt::format(
          "ota: its dense Sinkhorn plan of (G + 1) x N = {} x {} entries needs about {} MiB; more than the memory "
          "available ({} MiB, {})",
          p.num_gts() + 1, p.num_priors(), static_cast<int64_t>(cells * 24.0 / (1 << 20)), budget.bytes / (1 << 20),
          budget.source));
    if (cells * iterations > kMaxOtaWork)
      return Status::Unsupported(fmt::format(
          "ota: (G + 1) x N x sinkhorn_iters = {} x {} x {} plan updates is more than this version runs ({:.0e}, "
          "about 5 s); lower sinkhorn_iters or split the image",
          p.num_gts() + 1, p.num_priors(), static_cast<int64_t>(iterations), kMaxOtaWork));
    const int64_t topk = params.get_int("candidate_topk");
    if (p.num_priors() > 0 && p.num_priors() < topk)
      return Status::Usage(fmt::format(
          "ota: {} priors is fewer than candidate_topk = {}; the reference fails there (torch.topk with k out of "
          "range): pass --set candidate_topk=N with N <= {}",
          p.num_priors(), topk, p.num_priors()));
    return Status();
  };
  info.aliases = {"ota-paper"};
  // The paper's code is not a versioned framework: no version to warn about.
  info.replays = [](const Params&) { return std::vector<FrameworkRange>{}; };
  return info;
}

}  // namespace assignscope::assign
