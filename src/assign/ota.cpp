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
#include <iterator>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "assign/cost_table.h"
#include "cost/terms.h"
#include "geometry/boxes.h"
#include "io/memory.h"
#include "match/dynamic_k.h"
#include "match/sinkhorn.h"

namespace assignscope::assign {
namespace {

// The dense Sinkhorn's work bound: plan entries x iterations; the sparse
// one's: entries updated x iterations. About 20 ns each: ~5 s.
constexpr double kMaxOtaWork = 268435456.0;  // 2^28

constexpr float kOutsideCost = 1000000.0f;  // 1e6 * (1 - is_in_boxes)
constexpr float kInBoxMargin = 0.01f;       // deltas.min(dim=-1).values > 0.01

// Strictly inside the GT's centre box: its centre -/+ center_radius * stride,
// clipped to the box.
bool in_centre_box(const Problem& p, int64_t i, const float* box, double center_radius) {
  const auto radius = static_cast<float>(static_cast<double>(p.priors(i, 2)) * center_radius);
  const float cx = geometry::centre_x(box), cy = geometry::centre_y(box);
  const float centre_box[4] = {std::max(cx - radius, box[0]), std::max(cy - radius, box[1]),
                               std::min(cx + radius, box[2]), std::min(cy + radius, box[3])};
  return geometry::strictly_inside(p.priors(i, 0), p.priors(i, 1), centre_box);
}

bool is_candidate(const Problem& p, int64_t i, const float* box, double center_radius) {
  return geometry::inside(p.priors(i, 0), p.priors(i, 1), box, kInBoxMargin) && in_centre_box(p, i, box, center_radius);
}

// The sparse path needs finite inputs: its search sorts the prior points,
// and its bounds assume every cost is finite, which logits within 1e30 make
// sure of (a class cost is then at most ~C * 1e30, an IoU cost ~24).
bool finite_inputs(const Problem& p) {
  return p.priors.allFinite() && (p.cls_scores.abs() <= 1e30f).all() && p.gt_bboxes.allFinite() &&
         (p.preds_from_distances ? p.pred_distances.allFinite() : p.pred_bboxes.allFinite());
}

// Each GT's candidates, priors increasing: [G + 1] starts into `prior`.
struct CandidateLists {
  std::vector<int64_t> start;
  std::vector<int32_t> prior;
  int64_t count(int64_t g) const { return start[g + 1] - start[g]; }
};

// A candidate's point lies strictly between its GT's x1 and x2 (x - x1 >
// 0.01 and x2 - x > 0.01 in float32 imply it), so with the priors sorted by
// x each GT tests only the priors in that range. Finite points only.
CandidateLists find_candidates(const Problem& p, double center_radius) {
  const int64_t n = p.num_priors();
  std::vector<int32_t> by_x(static_cast<size_t>(n));
  std::iota(by_x.begin(), by_x.end(), 0);
  std::sort(by_x.begin(), by_x.end(), [&](int32_t a, int32_t b) { return p.priors(a, 0) < p.priors(b, 0); });
  CandidateLists c;
  c.start.push_back(0);
  for (int64_t g = 0; g < p.num_gts(); ++g) {
    const float* box = &p.gt_bboxes(g, 0);
    const auto first =
        std::upper_bound(by_x.begin(), by_x.end(), box[0], [&](float x, int32_t i) { return x < p.priors(i, 0); });
    const auto last =
        std::lower_bound(first, by_x.end(), box[2], [&](int32_t i, float x) { return p.priors(i, 0) < x; });
    const size_t from = c.prior.size();
    for (auto it = first; it != last; ++it)
      if (is_candidate(p, *it, box, center_radius)) c.prior.push_back(*it);
    std::sort(c.prior.begin() + static_cast<std::ptrdiff_t>(from), c.prior.end());
    c.start.push_back(static_cast<int64_t>(c.prior.size()));
  }
  return c;
}

// The sparse Sinkhorn's entries updated per iteration: the candidates, and
// every prior for the background and for each GT without a candidate (its
// row is held in full: match/sinkhorn.h).
double sparse_entries(const CandidateLists& c, int64_t n) {
  double entries = static_cast<double>(c.prior.size()) + static_cast<double>(n);
  for (size_t g = 0; g + 1 < c.start.size(); ++g)
    if (c.count(static_cast<int64_t>(g)) == 0) entries += static_cast<double>(n);
  return entries;
}

// One (GT, prior) pair as the reference costs it.
struct Pair {
  float cost = 0;
  CostTerms terms{};
  float iou = 0;
  bool candidate = false;
};

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

  Assignment assign(const Problem& p) const override { return replay(p, /*allow_sparse=*/true, nullptr); }

  // The sparse path when every input is finite (and allowed), else the
  // dense one; both give the same result (tests/ota_test.cpp).
  Assignment replay(const Problem& p, bool allow_sparse, detail::OtaPath* path) const {
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
    const bool sparse = allow_sparse && finite_inputs(p);
    const PriorTerms t = prior_terms(p);
    const CandidateLists cand = sparse ? find_candidates(p, center_radius_) : dense_candidates(p);
    std::vector<Pair> cand_pairs;  // [candidates] in CandidateLists order
    cand_pairs.reserve(cand.prior.size());
    for (int64_t g = 0; g < g_count; ++g)
      for (int64_t e = cand.start[g]; e < cand.start[g + 1]; ++e) cand_pairs.push_back(pair(p, t, g, cand.prior[e]));
    const std::vector<float> mu = supplies(p, t, cand, cand_pairs, sparse, &out);
    const std::vector<float> nu(static_cast<size_t>(n), 1.0f);
    match::SinkhornWork work;
    std::vector<float> plan;
    if (sparse) {
      plan = match::sinkhorn_plan(penalty_cost(p, t, cand, cand_pairs), mu, nu, static_cast<float>(eps_), iterations_,
                                  &work);
    } else {
      plan = match::sinkhorn_plan(dense_cost(p, t), g_count + 1, n, mu, nu, static_cast<float>(eps_), iterations_);
      work.full_row.assign(static_cast<size_t>(g_count + 1), 1);
    }
    out.transport_plan = std::move(plan);
    decide(p, t, *out.transport_plan, cand, work.full_row, &out);
    report_pairs(p, t, *out.transport_plan, cand, cand_pairs, work.full_row, &out);
    if (path != nullptr) *path = {sparse, std::move(work)};
    return out;
  }

 private:
  // Per prior: the (l, t, r, b) of its prediction, its background cost and
  // the logits of the classes some GT has.
  struct PriorTerms {
    std::vector<std::array<float, 4>> pred_ltrb;  // [N]
    std::vector<double> background;               // [N]
    detail::ClassSlots slots;
    std::vector<cost::Logit> logit;  // [N, classes]
  };

  PriorTerms prior_terms(const Problem& p) const {
    const int64_t n = p.num_priors();
    PriorTerms t{std::vector<std::array<float, 4>>(static_cast<size_t>(n)),
                 std::vector<double>(static_cast<size_t>(n)),
                 detail::ClassSlots(p.gt_labels),
                 {}};
    const std::vector<int64_t>& classes = t.slots.classes;
    t.logit.resize(static_cast<size_t>(n) * classes.size());
    const int64_t num_classes = p.num_classes();
    std::vector<int64_t> slot_of(static_cast<size_t>(std::max<int64_t>(num_classes, 0)), -1);
    for (size_t k = 0; k < classes.size(); ++k)
      if (classes[k] >= 0 && classes[k] < num_classes) slot_of[classes[k]] = static_cast<int64_t>(k);
    for (int64_t i = 0; i < n; ++i) {
      const float px = p.priors(i, 0), py = p.priors(i, 1);
      t.pred_ltrb[i] = p.preds_from_distances ? std::array<float, 4>{p.pred_distances(i, 0), p.pred_distances(i, 1),
                                                                     p.pred_distances(i, 2), p.pred_distances(i, 3)}
                                              : geometry::ltrb_from(px, py, &p.pred_bboxes(i, 0));
      // cost::focal_background_total's sum, in its order, keeping the
      // Logit of each class some GT has rather than computing it twice.
      double total = 0;
      for (int64_t c = 0; c < num_classes; ++c) {
        const cost::Logit l = cost::logit_terms(static_cast<double>(p.cls_scores(i, c)));
        total += cost::focal_term(l, false, alpha_, gamma_);
        if (slot_of[c] >= 0) t.logit[i * classes.size() + static_cast<size_t>(slot_of[c])] = l;
      }
      t.background[i] = total;
      for (size_t k = 0; k < classes.size(); ++k)
        if (classes[k] < 0 || classes[k] >= num_classes)
          t.logit[i * classes.size() + k] = cost::logit_terms(static_cast<double>(p.cls_scores(i, classes[k])));
    }
    return t;
  }

  // Geometry and cost of one pair, float32 as the reference.
  Pair pair(const Problem& p, const PriorTerms& t, int64_t g, int64_t i) const {
    const float* box = &p.gt_bboxes(g, 0);
    Pair pr;
    pr.candidate = is_candidate(p, i, box, center_radius_);
    const auto gt_ltrb = geometry::ltrb_from(p.priors(i, 0), p.priors(i, 1), box);
    pr.iou = geometry::iou_ltrb(t.pred_ltrb[i].data(), gt_ltrb.data());
    const float cls =
        cost::focal_class_cost(t.background[i], t.logit[i * t.slots.classes.size() + t.slots.slot[g]], alpha_, gamma_);
    const float reg = reg_weight_ * -std::log(std::max(pr.iou, 1.1920928955078125e-07f));
    pr.terms = {cls, reg, pr.candidate ? 0.0f : kOutsideCost};
    pr.cost = (cls + reg) + pr.terms[2];
    return pr;
  }

  // Every pair tested (the dense path; NaN points are nobody's candidate).
  CandidateLists dense_candidates(const Problem& p) const {
    CandidateLists c;
    c.start.push_back(0);
    for (int64_t g = 0; g < p.num_gts(); ++g) {
      for (int64_t i = 0; i < p.num_priors(); ++i)
        if (is_candidate(p, i, &p.gt_bboxes(g, 0), center_radius_)) c.prior.push_back(static_cast<int32_t>(i));
      c.start.push_back(static_cast<int64_t>(c.prior.size()));
    }
    return c;
  }

  // The cost matrix [G + 1, N], background row last.
  std::vector<float> dense_cost(const Problem& p, const PriorTerms& t) const {
    const int64_t n = p.num_priors();
    const int64_t g_count = p.num_gts();
    std::vector<float> cost(static_cast<size_t>((g_count + 1) * n));
    for (int64_t g = 0; g < g_count; ++g)
      for (int64_t i = 0; i < n; ++i) cost[static_cast<size_t>(g * n + i)] = pair(p, t, g, i).cost;
    for (int64_t i = 0; i < n; ++i) cost[static_cast<size_t>(g_count * n + i)] = static_cast<float>(t.background[i]);
    return cost;
  }

  // The same matrix as listed candidates over the 1e6 penalty: a
  // non-candidate costs (cls + reg) + 1e6 >= 1e6, cls and reg being >= 0.
  match::PenaltyCost penalty_cost(const Problem& p, const PriorTerms& t, const CandidateLists& cand,
                                  const std::vector<Pair>& cand_pairs) const {
    const int64_t n = p.num_priors();
    const int64_t g_count = p.num_gts();
    match::PenaltyCost c;
    c.rows = g_count + 1;
    c.cols = n;
    c.floor = kOutsideCost;
    c.row_start = cand.start;
    c.col = cand.prior;
    c.cost.reserve(cand_pairs.size() + static_cast<size_t>(n));
    for (const Pair& pr : cand_pairs) c.cost.push_back(pr.cost);
    for (int64_t i = 0; i < n; ++i) {
      c.col.push_back(static_cast<int32_t>(i));
      c.cost.push_back(static_cast<float>(t.background[i]));
    }
    c.row_start.push_back(static_cast<int64_t>(c.col.size()));
    c.cost_at = [this, &p, &t, g_count](int64_t r, int64_t i) {
      return r == g_count ? static_cast<float>(t.background[i]) : pair(p, t, r, i).cost;
    };
    return c;
  }

  // Supplies: dynamic k from the top IoUs of candidates (out->dynamic_ks),
  // the background the rest; [G + 1]. The sparse path sums the candidates'
  // IoUs and the zeros of enough non-candidates to make up candidate_topk
  // (finite IoUs); the dense one every prior's IoU * candidate, where a NaN
  // IoU stays NaN (--allow-nonfinite).
  std::vector<float> supplies(const Problem& p, const PriorTerms& t, const CandidateLists& cand,
                              const std::vector<Pair>& cand_pairs, bool sparse, Assignment* out) const {
    const int64_t n = p.num_priors();
    const int64_t g_count = p.num_gts();
    std::vector<float> mu(static_cast<size_t>(g_count + 1));
    float supplied = 0.0f;
    for (int64_t g = 0; g < g_count; ++g) {
      std::vector<float> candidate_ious;
      if (sparse) {
        for (int64_t e = cand.start[g]; e < cand.start[g + 1]; ++e) candidate_ious.push_back(cand_pairs[e].iou);
        const int64_t zeros = std::min(candidate_topk_, n) - cand.count(g);
        if (zeros > 0) candidate_ious.resize(candidate_ious.size() + static_cast<size_t>(zeros), 0.0f);
      } else {
        candidate_ious.resize(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) {
          const Pair pr = pair(p, t, g, i);
          candidate_ious[i] = pr.iou * (pr.candidate ? 1.0f : 0.0f);
        }
      }
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
  // row makes it NaN, and with it the whole scaled row. A row not held in
  // full (full_row) is 0 off its candidates; when every row's maximum is
  // positive and finite those zeros scale to 0, never beat the first row
  // (>= 0) nor stop the scan (not NaN), and each prior scans only its
  // candidate GTs and the rows held in full.
  void decide(const Problem& p, const PriorTerms& t, const std::vector<float>& plan, const CandidateLists& cand,
              const std::vector<char>& full_row, Assignment* out) const {
    const int64_t n = p.num_priors();
    const int64_t g_count = p.num_gts();
    const int64_t rows = g_count + 1;
    std::vector<float> row_max(static_cast<size_t>(rows), 0.0f);
    std::vector<int64_t> full_rows;
    for (int64_t r = 0; r < rows; ++r) {
      const auto scan = [&](int64_t i, bool first) {
        const float x = plan[static_cast<size_t>(r * n + i)];
        if (first || std::isnan(x) || x > row_max[r]) row_max[r] = x;
        return !std::isnan(x);
      };
      if (full_row[r]) {
        full_rows.push_back(r);
        for (int64_t i = 0; i < n && scan(i, i == 0);) ++i;
      } else {
        // Zeros off the candidates (plan entries are >= 0): the maximum of
        // the candidates and 0, or their first NaN.
        row_max[r] = 0.0f;
        for (int64_t e = cand.start[r]; e < cand.start[r + 1] && scan(cand.prior[e], cand.count(r) == n && e == 0);)
          ++e;
      }
    }
    const auto scaled = [&](int64_t r, int64_t i) { return plan[static_cast<size_t>(r * n + i)] / row_max[r]; };
    const bool regular = std::all_of(row_max.begin(), row_max.end(), [](float m) { return std::isfinite(m) && m > 0; });
    const std::vector<std::vector<int32_t>> by_prior =
        regular ? candidate_gts(cand, n) : std::vector<std::vector<int32_t>>{};
    std::vector<int64_t> scan_rows;
    for (int64_t i = 0; i < n; ++i) {
      if (regular) {
        scan_rows.clear();
        std::merge(by_prior[i].begin(), by_prior[i].end(), full_rows.begin(), full_rows.end(),
                   std::back_inserter(scan_rows));
      }
      int64_t best = 0;
      float best_value = scaled(0, i);
      const auto visit = [&](int64_t r) {
        if (std::isnan(best_value)) return false;
        const float x = scaled(r, i);
        if (std::isnan(x) || x > best_value) best = r, best_value = x;
        return true;
      };
      if (regular) {
        for (size_t k = 0; k < scan_rows.size() && (scan_rows[k] == 0 || visit(scan_rows[k]));) ++k;
      } else {
        for (int64_t r = 1; r < rows && visit(r);) ++r;
      }
      if (best == g_count) continue;  // background
      out->gt_inds[i] = best + 1;
      out->labels[i] = p.gt_labels[best];
      out->max_overlaps[i] = pair(p, t, best, i).iou;
    }
  }

  // For each prior, the GTs it is a candidate of, increasing.
  static std::vector<std::vector<int32_t>> candidate_gts(const CandidateLists& cand, int64_t n) {
    std::vector<std::vector<int32_t>> by_prior(static_cast<size_t>(n));
    for (size_t g = 0; g + 1 < cand.start.size(); ++g)
      for (int64_t e = cand.start[g]; e < cand.start[g + 1]; ++e)
        by_prior[cand.prior[e]].push_back(static_cast<int32_t>(g));
    return by_prior;
  }

  // Reported pairs: a GT's candidates, and the k_g priors it ships the
  // most of its supply to (its "picks"; those that end elsewhere are lost).
  // A row not held in full with at least k_g positive candidate entries
  // picks among its candidates (its other entries are 0).
  void report_pairs(const Problem& p, const PriorTerms& t, const std::vector<float>& plan, const CandidateLists& cand,
                    const std::vector<Pair>& cand_pairs, const std::vector<char>& full_row, Assignment* out) const {
    const int64_t n = p.num_priors();
    for (int64_t g = 0; g < p.num_gts(); ++g) {
      const int64_t k = (*out->dynamic_ks)[g];
      const float* row = &plan[static_cast<size_t>(g * n)];
      std::vector<float> minus_plan;
      for (int64_t e = cand.start[g]; e < cand.start[g + 1]; ++e) minus_plan.push_back(-row[cand.prior[e]]);
      std::vector<int32_t> picks;
      if (!full_row[g] && std::count_if(minus_plan.begin(), minus_plan.end(), [](float x) { return x < 0; }) >= k) {
        for (int32_t e : match::k_smallest(minus_plan.data(), cand.count(g), k))
          picks.push_back(cand.prior[cand.start[g] + e]);
      } else {
        minus_plan.resize(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) minus_plan[i] = -row[i];
        picks = match::k_smallest(minus_plan.data(), n, k);
      }
      std::sort(picks.begin(), picks.end());
      // Candidates and picks, merged in prior order.
      auto e = cand.start[g];
      auto pick = picks.begin();
      while (e < cand.start[g + 1] || pick != picks.end()) {
        const int32_t ci = e < cand.start[g + 1] ? cand.prior[e] : std::numeric_limits<int32_t>::max();
        const int32_t pi = pick != picks.end() ? *pick : std::numeric_limits<int32_t>::max();
        const int32_t i = std::min(ci, pi);
        const Pair pr = ci == i ? cand_pairs[e++] : pair(p, t, g, i);
        CandidatePair pair_out;
        pair_out.prior = i;
        pair_out.gt = static_cast<int32_t>(g);
        pair_out.cost = pr.cost;
        pair_out.terms = pr.terms;
        pair_out.iou = pr.iou;
        pair_out.inside = pr.candidate;
        pair_out.picked = pi == i;
        if (pi == i) ++pick;
        out->candidates.push_back(pair_out);
      }
    }
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

namespace detail {

Assignment ota_replay(const Params& params, const Problem& p, bool allow_sparse, OtaPath* path) {
  return Ota(params).replay(p, allow_sparse, path);
}

}  // namespace detail

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
    // Bounded before anything is allocated, in memory and in work (about
    // 20 ns an entry update: the bound is ~5 s). The plan is (G + 1) x N
    // either way (the result and its npy copy: 8 bytes an entry). With
    // finite inputs the sparse Sinkhorn updates the candidates, the
    // background row and the rows of GTs without a candidate (found here by
    // the same search); otherwise the dense one sweeps every entry, with the
    // cost matrix and IoUs besides (24 bytes an entry).
    const auto cells = static_cast<double>(p.num_gts() + 1) * static_cast<double>(p.num_priors());
    const auto iterations = static_cast<double>(std::max<int64_t>(params.get_int("sinkhorn_iters"), 1));
    const bool sparse = finite_inputs(p);
    const double entries =
        sparse ? sparse_entries(find_candidates(p, params.get_float("center_radius")), p.num_priors()) : cells;
    const double bytes = cells * (sparse ? 8.0 : 24.0) + (sparse ? entries * 4.0 : 0.0);
    const io::MemoryBudget budget = io::available_memory();
    if (bytes > static_cast<double>(budget.bytes))
      return Status::Unsupported(fmt::format(
          "ota: its Sinkhorn plan of (G + 1) x N = {} x {} entries needs about {} MiB; more than the memory "
          "available ({} MiB, {})",
          p.num_gts() + 1, p.num_priors(), static_cast<int64_t>(bytes / (1 << 20)), budget.bytes / (1 << 20),
          budget.source));
    if (entries * iterations > kMaxOtaWork)
      return Status::Unsupported(
          sparse ? fmt::format("ota: {:.0f} plan entries an iteration updates (the candidates, the background row "
                               "and the rows of GTs without a candidate) x sinkhorn_iters {} is more than this "
                               "version runs ({:.0e}, about 5 s); lower sinkhorn_iters or split the image",
                               entries, static_cast<int64_t>(iterations), kMaxOtaWork)
                 : fmt::format("ota: (G + 1) x N x sinkhorn_iters = {} x {} x {} plan updates (non-finite inputs: the "
                               "dense Sinkhorn) is more than this version runs ({:.0e}, about 5 s); lower "
                               "sinkhorn_iters or split the image",
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
