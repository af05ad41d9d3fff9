// Max-IoU assignment, as mmdetection's MaxIoUAssigner computes it with
// RetinaNet's settings.
//
// max-iou: mmdet/models/task_modules/assigners/max_iou_assigner.py,
//   MaxIoUAssigner (commit d4ccf312), in float32 on anchor boxes (the dump's
//   `anchors`, else squares of anchor_scale x stride centred on the priors,
//   assign/anchors.h). With u(g, a) = IoU(GT g, anchor a) (mmdet's
//   bbox_overlaps, union clamped at 1e-6):
//
//   ignore       (ignore_iof_thr > 0 and gt_bboxes_ignore given) anchors whose
//                largest IoF with an ignore box exceeds ignore_iof_thr get
//                u = -1 for every GT. IoF is over the anchor's area
//                (ignore_wrt_candidates) or over the ignore box's.
//   per anchor   m(a) = max_g u(g, a), b(a) its first argmax
//   1.           every anchor starts ignored (-1)
//   2.           0 <= m(a) < neg_iou_thr: negative (0); with the interval
//                form neg_iou_thr = (lo, hi) (mmdet's tuple):
//                lo <= m(a) < hi, so an anchor below lo stays ignored
//   3.           m(a) >= pos_iou_thr: positive for b(a)
//   4.           (match_low_quality) for each GT g in index order whose best
//                IoU M(g) = max_a u(g, a) is >= min_pos_iou: every anchor with
//                u(g, a) == M(g) (gt_max_assign_all), else the first one,
//                goes to g, overwriting steps 2-3 and earlier GTs
//   result       labels of the assigned GTs, -1 elsewhere; max_overlaps = m(a)
//                for EVERY anchor (not the IoU with the assigned GT): -1 for
//                anchors ignored through ignore boxes; G = 0: all 0.
//
// Thresholds are compared in float32 (torch casts the Python float to the
// tensor's dtype), so u = 0.5 exactly is positive and 0.4f is the negative
// bound. Equal IoUs are decided by == and >=, never by an order.
#include "assign/max_iou.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>

#include <fmt/format.h>

#include "assign/anchors.h"
#include "assign/search_record.h"
#include "geometry/boxes.h"
#include "geometry/prior_grid.h"

namespace assignscope::assign {
namespace {

struct Settings {
  float pos_iou_thr;
  float neg_iou_lo;
  float neg_iou_hi;
  float min_pos_iou;
  bool gt_max_assign_all;
  double ignore_iof_thr;
  bool ignore_wrt_candidates;
  bool match_low_quality;
  double anchor_scale;
};

class MaxIou final : public Assigner {
 public:
  explicit MaxIou(const Params& params)
      : params_(params),
        s_{static_cast<float>(params.get_float("pos_iou_thr")),
           static_cast<float>(params.get_interval("neg_iou_thr").lo),
           static_cast<float>(params.get_interval("neg_iou_thr").hi),
           static_cast<float>(params.get_float("min_pos_iou")),
           params.get_bool("gt_max_assign_all"),
           params.get_float("ignore_iof_thr"),
           params.get_bool("ignore_wrt_candidates"),
           params.get_bool("match_low_quality"),
           params.get_float("anchor_scale")},
        sparse_search_(sparse_search(params)) {}

  Assignment assign(const Problem& p) const override {
    Assignment out;
    if (p.num_gts() == 0 || p.num_priors() == 0) {
      out = nothing_to_assign(p, false);
    } else {
      const Rows4f anchors = anchor_boxes(p, s_.anchor_scale);
      const std::vector<char> ignored = ignored_anchors(p, anchors);
      SearchRecord search = search_plan(sparse_search_, p);
      std::optional<SparseRows> sparse;
      if (search.path == SearchRecord::Path::kSparse)
        sparse = SparseRows::of(p, anchors, ignored, s_, &search.why_dense);
      if (sparse) {
        out = steps(p, &*sparse);
      } else {
        DenseRows dense(p, anchors, ignored);
        out = steps(p, &dense);
      }
      out.search = search_outcome(search, sparse.has_value());
    }
    out.assigner = "max-iou";
    out.params = params_;
    out.cost_terms = {"iou"};
    return out;
  }

 private:
  // Anchors ignored through gt_bboxes_ignore: largest IoF > ignore_iof_thr.
  std::vector<char> ignored_anchors(const Problem& p, const Rows4f& anchors) const {
    std::vector<char> ignored(static_cast<size_t>(p.num_priors()), 0);
    const auto k = static_cast<int64_t>(p.gt_bboxes_ignore.rows());
    if (!(s_.ignore_iof_thr > 0) || k == 0) return ignored;
    const auto thr = static_cast<float>(s_.ignore_iof_thr);
    std::vector<float> ignore_area(static_cast<size_t>(k));
    for (int64_t j = 0; j < k; ++j) ignore_area[j] = geometry::area(&p.gt_bboxes_ignore(j, 0));
    for (int64_t i = 0; i < p.num_priors(); ++i) {
      const float* a = &anchors(i, 0);
      const float area = geometry::area(a);
      float best = 0;
      for (int64_t j = 0; j < k; ++j) {
        const float* box = &p.gt_bboxes_ignore(j, 0);
        // iof(anchors, ignore) over the anchor's area, or iof(ignore, anchors) over the box's.
        const float v = s_.ignore_wrt_candidates ? geometry::iof(a, box, area) : geometry::iof(box, a, ignore_area[j]);
        if (j == 0 || !(v <= best)) best = v;  // torch.max: NaN wins
        if (std::isnan(best)) break;
      }
      ignored[i] = best > thr;
    }
    return ignored;
  }

  // The (GT, anchor) IoUs the steps read, GT by GT: (anchor, u), in anchor
  // order when the row lists every anchor, else in any order; an anchor a
  // row does not list has u = 0.
  using Row = std::vector<std::pair<int32_t, float>>;
  class Rows {
   public:
    virtual ~Rows() = default;
    virtual const Row& of(int64_t g) = 0;
  };

  // Every anchor, -1 where ignored: u(g, .) as the reference computes it.
  class DenseRows final : public Rows {
   public:
    DenseRows(const Problem& p, const Rows4f& anchors, const std::vector<char>& ignored)
        : p_(p), anchors_(anchors), ignored_(ignored), area_(static_cast<size_t>(p.num_priors())) {
      for (int64_t i = 0; i < p.num_priors(); ++i) area_[i] = geometry::area(&anchors(i, 0));
    }
    const Row& of(int64_t g) override {
      const float* gt = &p_.gt_bboxes(g, 0);
      const float gt_area = geometry::area(gt);
      row_.resize(static_cast<size_t>(p_.num_priors()));
      for (int32_t i = 0; i < p_.num_priors(); ++i)
        row_[i] = {i, ignored_[i] ? -1.0f : geometry::iou(gt, &anchors_(i, 0), gt_area, area_[i])};
      return row_;
    }

   private:
    const Problem& p_;
    const Rows4f& anchors_;
    const std::vector<char>& ignored_;
    std::vector<float> area_;
    Row row_;
  };

  // Only the pairs that overlap (every other pair has u = 0), found through
  // an index of the anchors per level. Needs finite boxes, no ignored anchor
  // and pos_iou_thr > 0 (so that u = 0 is never positive); nullopt, with
  // the reason in `why`, otherwise.
  class SparseRows final : public Rows {
   public:
    static std::optional<SparseRows> of(const Problem& p, const Rows4f& anchors, const std::vector<char>& ignored,
                                        const Settings& s, std::string* why) {
      const auto decline = [why](const char* reason) { return *why = reason, std::optional<SparseRows>(); };
      if (!(s.pos_iou_thr > 0)) return decline("pos_iou_thr <= 0: IoU 0 can be positive");
      if (std::find(ignored.begin(), ignored.end(), 1) != ignored.end()) return decline("ignored anchors");
      if (!anchors.allFinite() || !p.gt_bboxes.allFinite()) return decline("a box is not finite");
      const int64_t levels_total = std::accumulate(p.num_level_priors.begin(), p.num_level_priors.end(), int64_t{0});
      if (levels_total != p.num_priors()) return decline("num_level_priors does not count the anchors");
      return SparseRows(p, anchors);
    }
    const Row& of(int64_t g) override { return rows_[g]; }

   private:
    SparseRows(const Problem& p, const Rows4f& anchors) : rows_(static_cast<size_t>(p.num_gts())) {
      // One index per level, cells about an anchor's side.
      const geometry::GtExtent extent = geometry::gt_extent(p.gt_bboxes);
      std::vector<geometry::BoxIndex> index;
      std::vector<float> anchor_area(static_cast<size_t>(p.num_priors()));
      int64_t first = 0;
      for (int64_t count : p.num_level_priors) {
        double side = 0;
        for (int64_t i = first; i < first + count; ++i)
          side +=
              static_cast<double>(anchors(i, 2) - anchors(i, 0)) + static_cast<double>(anchors(i, 3) - anchors(i, 1));
        const double cell = count > 0 ? std::clamp(side / (2.0 * static_cast<double>(count)), 4.0, 4096.0) : 64.0;
        index.emplace_back(extent.x0, extent.y0, extent.x1, extent.y1, static_cast<float>(cell), 64);
        for (int64_t i = first; i < first + count; ++i) {
          anchor_area[i] = geometry::area(&anchors(i, 0));
          index.back().insert(static_cast<int32_t>(i), &anchors(i, 0));
        }
        first += count;
      }
      std::vector<uint32_t> seen(static_cast<size_t>(p.num_priors()), 0);
      for (int64_t g = 0; g < p.num_gts(); ++g) {
        const float* gt = &p.gt_bboxes(g, 0);
        const float gt_area = geometry::area(gt);
        for (const geometry::BoxIndex& level : index)
          level.query(gt, &seen, static_cast<uint32_t>(g + 1), [&](int32_t i) {
            const float u = geometry::iou(gt, &anchors(i, 0), gt_area, anchor_area[i]);
            if (u > 0) rows_[g].emplace_back(i, u);
          });
      }
    }
    std::vector<Row> rows_;
  };

  // Per anchor m(a) and b(a), per GT M(g) and its first anchor.
  struct Maxima {
    std::vector<float> max_overlap;  // [N]
    std::vector<int32_t> best_gt;    // [N]
    std::vector<float> gt_max;       // [G]
    std::vector<int64_t> gt_argmax;  // [G]
  };

  // torch.max over a dimension keeps the first maximum and lets NaN win
  // (anchors not listed: u = 0, which no GT's maximum falls below).
  static Maxima maxima(const Problem& p, Rows* rows) {
    Maxima m{std::vector<float>(static_cast<size_t>(p.num_priors()), 0.0f),
             std::vector<int32_t>(static_cast<size_t>(p.num_priors()), 0),
             std::vector<float>(static_cast<size_t>(p.num_gts()), 0.0f),
             std::vector<int64_t>(static_cast<size_t>(p.num_gts()), 0)};
    for (int64_t g = 0; g < p.num_gts(); ++g) {
      const Row& row = rows->of(g);
      if (!row.empty() && row.front().first == 0) m.gt_max[g] = row.front().second;
      for (const auto& [i, u] : row) {
        if (g == 0 || (!(u <= m.max_overlap[i]) && !std::isnan(m.max_overlap[i])))
          m.max_overlap[i] = u, m.best_gt[i] = static_cast<int32_t>(g);
        if ((!(u <= m.gt_max[g]) && !std::isnan(m.gt_max[g])) || (u == m.gt_max[g] && i < m.gt_argmax[g]))
          m.gt_max[g] = u, m.gt_argmax[g] = i;
      }
    }
    return m;
  }

  // The steps over one source of IoUs: the dense one or the sparse one.
  Assignment steps(const Problem& p, Rows* rows) const {
    const Maxima m = maxima(p, rows);
    // Steps 1-3.
    Assignment out = Assignment::Empty(p.num_priors(), p.num_gts(), 0.0f, false);
    out.max_overlaps = m.max_overlap;
    std::vector<int32_t> step3_gt(static_cast<size_t>(p.num_priors()), -1);
    for (int64_t i = 0; i < p.num_priors(); ++i) {
      const float u = m.max_overlap[i];
      out.gt_inds[i] = -1;
      if (u >= s_.neg_iou_lo && u < s_.neg_iou_hi) out.gt_inds[i] = 0;
      if (u >= s_.pos_iou_thr) out.gt_inds[i] = m.best_gt[i] + 1, step3_gt[i] = m.best_gt[i];
    }
    // Step 4: low-quality matches, GT by GT; a later GT overwrites an earlier one.
    std::vector<std::vector<int32_t>> low_quality(static_cast<size_t>(p.num_gts()));
    if (s_.match_low_quality)
      for (int64_t g = 0; g < p.num_gts(); ++g) {
        if (!(m.gt_max[g] >= s_.min_pos_iou)) continue;
        low_quality[g] = s_.gt_max_assign_all ? sharing_best(p, rows->of(g), m.gt_max[g])
                                              : std::vector<int32_t>{static_cast<int32_t>(m.gt_argmax[g])};
        for (int32_t i : low_quality[g]) out.gt_inds[i] = g + 1;
        if (m.gt_max[g] == 0.0f)
          out.notes.push_back(fmt::format(
              "GT {} overlaps no anchor (best IoU 0) and min_pos_iou is {}: low-quality matching gives it every "
              "anchor with IoU 0 that no later GT claims",
              g, s_.min_pos_iou));
      }
    for (int64_t i = 0; i < p.num_priors(); ++i)
      if (out.gt_inds[i] > 0) out.labels[i] = p.gt_labels[out.gt_inds[i] - 1];
    std::vector<char> claimed(static_cast<size_t>(p.num_priors()), 0);
    for (int64_t g = 0; g < p.num_gts(); ++g)
      report(g, rows->of(g), low_quality[g], step3_gt, &claimed, &out.candidates);
    return out;
  }

  // The anchors whose IoU with the GT equals its best, `best`, in order
  // (an anchor the row does not list has IoU 0).
  static std::vector<int32_t> sharing_best(const Problem& p, const Row& row, float best) {
    std::vector<int32_t> out;
    if (best != 0.0f) {
      for (const auto& [i, u] : row)
        if (u == best) out.push_back(i);
      std::sort(out.begin(), out.end());
      return out;
    }
    Row sorted = row;
    std::sort(sorted.begin(), sorted.end());
    size_t r = 0;
    for (int32_t i = 0; i < p.num_priors(); ++i) {
      while (r < sorted.size() && sorted[r].first < i) ++r;
      const float u = r < sorted.size() && sorted[r].first == i ? sorted[r].second : 0.0f;
      if (u == 0.0f) out.push_back(i);
    }
    return out;
  }

  // Reported pairs of GT g, in anchor order: anchors it reaches pos_iou_thr
  // with (inside), and those it claimed in step 3 or step 4 (picked; one
  // the row does not list has IoU 0). `claimed`: zeroed scratch, [N].
  void report(int64_t g, const Row& row, const std::vector<int32_t>& low_quality, const std::vector<int32_t>& step3_gt,
              std::vector<char>* claimed, std::vector<CandidatePair>* out) const {
    std::vector<char>& flag = *claimed;  // 1: claimed in step 4, 2: reported
    for (int32_t i : low_quality) flag[i] = 1;
    Row reported;
    for (const auto& [i, u] : row)
      if (u >= s_.pos_iou_thr || flag[i] || step3_gt[i] == g) reported.emplace_back(i, u), flag[i] |= 2;
    for (int32_t i : low_quality)
      if (!(flag[i] & 2)) reported.emplace_back(i, 0.0f);
    std::sort(reported.begin(), reported.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [i, u] : reported) {
      CandidatePair pair;
      pair.prior = i;
      pair.gt = static_cast<int32_t>(g);
      pair.cost = u;
      pair.terms[0] = u;
      pair.iou = u;
      pair.inside = u >= s_.pos_iou_thr;
      pair.picked = (flag[i] & 1) || step3_gt[i] == g;
      flag[i] = 0;
      out->push_back(pair);
    }
  }

  Params params_;
  Settings s_;
  bool sparse_search_;
};

std::vector<ParamSpec> max_iou_params() {
  return {
      {"pos_iou_thr",
       ParamType::kFloat,
       0.5,
       "an anchor whose best IoU reaches this is positive for that GT",
       std::nullopt,
       std::nullopt,
       {}},
      {"neg_iou_thr",
       ParamType::kInterval,
       0.4,
       "an anchor whose best IoU lies in [0, this) is negative, between the two thresholds ignored (-1); or [lo, hi] "
       "(mmdet's tuple): negative in [lo, hi), ignored below lo",
       std::nullopt,
       std::nullopt,
       {}},
      {"min_pos_iou",
       ParamType::kFloat,
       0.0,
       "low-quality matching only for GTs whose best IoU reaches this",
       std::nullopt,
       std::nullopt,
       {}},
      {"gt_max_assign_all",
       ParamType::kBool,
       true,
       "low-quality matching gives a GT every anchor sharing its best IoU (else only the first)",
       std::nullopt,
       std::nullopt,
       {}},
      {"ignore_iof_thr",
       ParamType::kFloat,
       -1.0,
       "anchors whose IoF with a gt_bboxes_ignore box exceeds this are ignored (-1); <= 0: ignore boxes unused",
       std::nullopt,
       std::nullopt,
       {}},
      {"ignore_wrt_candidates",
       ParamType::kBool,
       true,
       "IoF over the anchor's area (true) or over the ignore box's (false)",
       std::nullopt,
       std::nullopt,
       {}},
      {"match_low_quality",
       ParamType::kBool,
       true,
       "each GT also takes its best anchors, whatever their IoU",
       std::nullopt,
       std::nullopt,
       {}},
      {"anchor_scale",
       ParamType::kFloat,
       8.0,
       "side of the square anchors built from the priors, in strides (the dump's anchors field wins)",
       0.0,
       std::nullopt,
       {}},
      search_param(),
  };
}

// The settings of mmdetection's configs that use MaxIoUAssigner.
std::vector<Preset> max_iou_presets() {
  return {
      {"retinanet",
       "RetinaNet (configs/_base_/models/retinanet_r50_fpn.py): pos 0.5, neg 0.4, min_pos_iou 0",
       R"({"pos_iou_thr": 0.5, "neg_iou_thr": 0.4, "min_pos_iou": 0.0, "match_low_quality": true})",
       {}},
      {"rpn",
       "Faster R-CNN RPN (configs/_base_/models/faster-rcnn_r50_fpn.py train_cfg.rpn): pos 0.7, neg 0.3, "
       "min_pos_iou 0.3",
       R"({"pos_iou_thr": 0.7, "neg_iou_thr": 0.3, "min_pos_iou": 0.3, "match_low_quality": true})",
       {"rpn"}},
      {"rcnn",
       "Faster R-CNN RoI head (train_cfg.rcnn): pos 0.5, neg 0.5, min_pos_iou 0.5, no low-quality matches",
       R"({"pos_iou_thr": 0.5, "neg_iou_thr": 0.5, "min_pos_iou": 0.5, "match_low_quality": false})",
       {"rcnn"}},
      {"crowddet-rpn",
       "CrowdDet RPN (configs/crowddet): neg_iou_thr=(0.3, 0.7), anchors below 0.3 ignored",
       R"({"pos_iou_thr": 0.7, "neg_iou_thr": [0.3, 0.7], "min_pos_iou": 0.3, "match_low_quality": true})",
       {}},
  };
}

// neg_iou_thr above pos_iou_thr is legal (mmdet makes those anchors negative,
// then positive): a warning, not an error.
Status validate_thresholds(const Params& p, std::vector<std::string>* warnings) {
  const Interval neg = p.get_interval("neg_iou_thr");
  if (neg.hi > p.get_float("pos_iou_thr"))
    warnings->push_back(
        fmt::format("neg_iou_thr {} is above pos_iou_thr {}: anchors in between are made negative "
                    "and then positive, as mmdet does",
                    neg.hi, p.get_float("pos_iou_thr")));
  return Status();
}

}  // namespace

AssignerInfo max_iou_info() {
  AssignerInfo info;
  info.name = "max-iou";
  info.summary =
      "Max-IoU (RetinaNet): positive at IoU >= 0.5 with the best GT, negative below 0.4, ignored between; each GT "
      "also takes its best anchors";
  info.reference =
      "mmdetection mmdet/models/task_modules/assigners/max_iou_assigner.py MaxIoUAssigner (commit d4ccf312)";
  info.params = max_iou_params();
  info.needs = {{Field::kAnchors, Field::kPriors}, {Field::kGtBboxes}, {Field::kGtLabels}};
  info.result_files = {"assigned_gt_inds.npy", "assigned_labels.npy", "max_overlaps.npy"};
  info.make = [](const Params& params) { return std::make_unique<MaxIou>(params); };
  // IoU thresholds, the best GT of each anchor (always one that reaches the
  // threshold); the low-quality step gives a GT its best anchors at any IoU.
  info.traits = {CostDefinition::kNone,       /*multi_match=*/false, /*dynamic_k=*/false,    /*picks_k=*/false,
                 /*conflict_over_all=*/false, /*geometric=*/false,   /*records_pairs=*/true, /*sparse_search=*/true};
  info.aliases = {"retinanet"};
  info.class_names = {{"MaxIoUAssigner", ClassName::Syntax::kAny}};
  info.config_ignored = {"iou_calculator"};
  info.presets = max_iou_presets();
  info.validate = validate_thresholds;
  info.replays = [](const Params&) { return std::vector<FrameworkRange>{{"mmdet", "3.0.0", "4", "mmdetection 3.x"}}; };
  return info;
}

}  // namespace assignscope::assign
