// FCOS target assignment, as mmdetection's FCOSHead computes it.
//
// Mirrors mmdet/models/dense_heads/fcos_head.py, FCOSHead.get_targets and
// _get_targets_single (commit cfd5d3a9; unchanged since fa77be29), in float32.
// Prior points are the heads' own (MlvlPointGenerator, offset 0.5 in mmdet
// 3.x); level i of num_level_priors uses regress_ranges[i], and its stride is
// the priors' stride column.
//
//   1. inside    (l, t, r, b) = (x - x1, y - y1, x2 - x, y2 - y) to the GT
//                box; the point is inside when min(l, t, r, b) > 0, strictly.
//                With center_sampling, "inside" is instead strictly inside
//                the centre box (cx -+ r, cy -+ r), r = stride *
//                center_sample_radius, clipped to the GT box.
//   2. range     max(l, t, r, b) to the full GT box lies in the prior's
//                level range [lo, hi], both ends inclusive.
//   3. winner    every GT failing 1. or 2. gets the area INF = 1e8, the
//                others their area (x2 - x1) * (y2 - y1); the smallest wins,
//                an exact tie to the lowest GT index (torch.min), and a
//                minimum equal to INF means background. So an area of 1e8
//                or more never beats a GT that is no candidate (its INF),
//                yet wins where every GT is a candidate (e.g. G = 1).
//   4. result    positives: g + 1, g's label, bbox_targets = (l, t, r, b)
//                to g (divided by the stride with norm_on_bbox); others 0,
//                -1, (0, 0, 0, 0). FCOS never ignores; it measures no IoU, so
//                max_overlaps is empty.
//
// There is no fallback: a GT that is nobody's candidate gets no positive
// (sub-stride GTs with no point inside, thin strips whose interior points
// sit on the wrong level, GTs whose points all go to smaller GTs).
#include "assign/fcos.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "assign/search_record.h"
#include "geometry/boxes.h"
#include "geometry/centre_sampling.h"
#include "geometry/prior_grid.h"

namespace assignscope::assign {
namespace {

constexpr float kInf = 100000000.0f;  // INF of fcos_head.py

class Fcos final : public Assigner {
 public:
  explicit Fcos(const Params& params)
      : params_(params),
        center_sampling_(params.get_bool("center_sampling")),
        radius_(params.get_float("center_sample_radius")),
        ranges_(params.get_ranges("regress_ranges")),
        norm_on_bbox_(params.get_bool("norm_on_bbox")),
        sparse_search_(sparse_search(params)) {}

  Assignment assign(const Problem& p) const override {
    const int64_t n = p.num_priors(), g_count = p.num_gts();
    Assignment out = Assignment::Empty(n, g_count, 0.0f, false);
    out.assigner = "fcos";
    out.params = params_;
    out.cost_terms = {"area", "max_distance", "min_distance"};
    out.max_overlaps.clear();
    std::vector<float> targets(static_cast<size_t>(n * 4), 0.0f);
    if (g_count == 0) out.notes.push_back("no ground truth: every prior is negative");

    std::vector<float> area(static_cast<size_t>(g_count));
    for (int64_t g = 0; g < g_count; ++g) area[g] = geometry::area(&p.gt_bboxes(g, 0));

    out.search = search_plan(sparse_search_, p);
    const std::optional<geometry::PriorGrid> grid =
        out.search.path == SearchRecord::Path::kSparse ? geometry::PriorGrid::of(p) : std::nullopt;
    if (out.search.path == SearchRecord::Path::kSparse && !grid)
      out.search = {SearchRecord::Path::kDense, "the priors form no grid"};
    if (grid) {
      assign_on_grid(p, *grid, area, &out, &targets);
      out.bbox_targets = std::move(targets);
      return out;
    }
    for (int64_t i = 0; i < n; ++i) {
      const float x = p.priors(i, 0), y = p.priors(i, 1), stride = p.priors(i, 2);
      const auto& [lo, hi] = ranges_[static_cast<size_t>(p.prior_level[i])];
      // Step 3 as mmdet's areas.min(dim=1) over the row with INF filled in.
      float min_area = kInf;
      int64_t best = -1;
      for (int64_t g = 0; g < g_count; ++g) {
        const float* box = &p.gt_bboxes(g, 0);
        const auto d = geometry::ltrb_from(x, y, box);
        const bool inside = center_sampling_ ? in_centre_box(x, y, stride, box) : geometry::strictly_inside(x, y, box);
        bool in_range = false;
        if (inside) {
          const float max_d = std::max(std::max(d[0], d[1]), std::max(d[2], d[3]));
          in_range = max_d >= static_cast<float>(lo) && max_d <= static_cast<float>(hi);
          CandidatePair pair;
          pair.prior = static_cast<int32_t>(i);
          pair.gt = static_cast<int32_t>(g);
          pair.cost = area[g];
          pair.terms = {area[g], max_d, std::min(std::min(d[0], d[1]), std::min(d[2], d[3]))};
          pair.inside = pair.picked = in_range;
          out.candidates.push_back(pair);
        }
        const float a = in_range ? area[g] : kInf;
        if (best < 0 || a < min_area) min_area = a, best = g;  // strict: the first minimum
      }
      if (best < 0 || min_area == kInf) continue;
      out.gt_inds[i] = best + 1;
      out.labels[i] = p.gt_labels[best];
      const auto d = geometry::ltrb_from(x, y, &p.gt_bboxes(best, 0));
      for (int k = 0; k < 4; ++k) targets[static_cast<size_t>(i * 4 + k)] = norm_on_bbox_ ? d[k] / stride : d[k];
    }
    // Reported pairs by (GT, prior), as every assigner keeps them.
    std::stable_sort(out.candidates.begin(), out.candidates.end(),
                     [](const CandidatePair& a, const CandidatePair& b) { return a.gt < b.gt; });
    out.bbox_targets = std::move(targets);
    return out;
  }

 private:
  // Strictly inside the centre box (cx -+ r, cy -+ r) clipped to the GT,
  // r = stride * center_sample_radius, as mmdet builds it in float32.
  bool in_centre_box(float x, float y, float stride, const float* box) const {
    return geometry::in_centre_box(x, y, box, geometry::centre_radius(stride, radius_));
  }

  // The same result, visiting only the priors inside each GT's box (a
  // superset of its centre box): through the prior grid, GT by GT. A prior
  // no GT holds gets INF from every GT, so stays background; for the others
  // step 3 runs over the GTs that hold it, every other GT counting INF.
  void assign_on_grid(const Problem& p, const geometry::PriorGrid& grid, const std::vector<float>& area,
                      Assignment* out, std::vector<float>* targets) const {
    const int64_t g_count = p.num_gts();
    std::vector<std::vector<std::pair<int32_t, float>>> held_by(static_cast<size_t>(p.num_priors()));  // (g, a_g)
    for (int64_t g = 0; g < g_count; ++g) {
      const float* box = &p.gt_bboxes(g, 0);
      for (const auto& level : grid.levels())
        grid.for_each_in(level, box[0], box[1], box[2], box[3], [&](int32_t i) {
          const float x = p.priors(i, 0), y = p.priors(i, 1), stride = p.priors(i, 2);
          const bool inside =
              center_sampling_ ? in_centre_box(x, y, stride, box) : geometry::strictly_inside(x, y, box);
          if (!inside) return;
          const auto& [lo, hi] = ranges_[static_cast<size_t>(p.prior_level[i])];
          const auto d = geometry::ltrb_from(x, y, box);
          const float max_d = std::max(std::max(d[0], d[1]), std::max(d[2], d[3]));
          const bool in_range = max_d >= static_cast<float>(lo) && max_d <= static_cast<float>(hi);
          CandidatePair pair;
          pair.prior = i;
          pair.gt = static_cast<int32_t>(g);
          pair.cost = area[g];
          pair.terms = {area[g], max_d, std::min(std::min(d[0], d[1]), std::min(d[2], d[3]))};
          pair.inside = pair.picked = in_range;
          out->candidates.push_back(pair);
          held_by[i].emplace_back(static_cast<int32_t>(g), in_range ? area[g] : kInf);
        });
      // This GT's pairs in prior order (levels are visited in order, rows within).
    }
    for (int64_t i = 0; i < p.num_priors(); ++i) {
      const auto& gts = held_by[i];
      if (gts.empty()) continue;
      // torch.min over the row: GTs not holding the prior count INF; the
      // first minimum wins. held_by is in GT order.
      float min_area = static_cast<int64_t>(gts.size()) < g_count ? kInf : gts[0].second;
      int64_t best = static_cast<int64_t>(gts.size()) < g_count ? -1 : gts[0].first;
      for (const auto& [g, a] : gts) {
        if (a < min_area) min_area = a, best = g;
      }
      if (best < 0 || min_area == kInf) continue;
      // Ties with INF-area GTs of lower index than `best` cannot occur:
      // min_area < INF here, or every GT holds the prior.
      out->gt_inds[i] = best + 1;
      out->labels[i] = p.gt_labels[best];
      const float x = p.priors(i, 0), y = p.priors(i, 1), stride = p.priors(i, 2);
      const auto d = geometry::ltrb_from(x, y, &p.gt_bboxes(best, 0));
      for (int k = 0; k < 4; ++k) (*targets)[static_cast<size_t>(i * 4 + k)] = norm_on_bbox_ ? d[k] / stride : d[k];
    }
  }

  Params params_;
  bool center_sampling_;
  double radius_;
  Ranges ranges_;
  bool norm_on_bbox_;
  bool sparse_search_;
};

}  // namespace

AssignerInfo fcos_info() {
  AssignerInfo info;
  info.name = "fcos";
  info.summary =
      "FCOS: points inside a GT (or its centre box) whose max distance fits the level's range; smallest GT wins";
  info.reference =
      "mmdetection mmdet/models/dense_heads/fcos_head.py FCOSHead.get_targets / _get_targets_single "
      "(commit cfd5d3a9)";
  info.params = {
      {"center_sampling",
       ParamType::kBool,
       false,
       "inside means inside the GT's centre box instead of the GT",
       std::nullopt,
       std::nullopt,
       {}},
      {"center_sample_radius",
       ParamType::kFloat,
       1.5,
       "half-size of the centre box, in strides",
       0.0,
       std::nullopt,
       {}},
      {"regress_ranges",
       ParamType::kRanges,
       Ranges{{-1, 64}, {64, 128}, {128, 256}, {256, 512}, {512, 100000000.0}},
       "per level, the [low, high] range of a point's largest distance to the GT (both ends inclusive)",
       std::nullopt,
       std::nullopt,
       {}},
      {"norm_on_bbox",
       ParamType::kBool,
       false,
       "bbox_targets divided by the level's stride",
       std::nullopt,
       std::nullopt,
       {}},
      search_param(),
  };
  info.needs = {{Field::kPriors}, {Field::kGtBboxes}, {Field::kGtLabels}};
  info.result_files = {"assigned_gt_inds.npy", "assigned_labels.npy", "bbox_targets.npy"};
  info.make = [](const Params& params) { return std::make_unique<Fcos>(params); };
  // Points inside a GT (or its centre box); the smallest GT wins.
  info.traits = {CostDefinition::kNone,       /*multi_match=*/false, /*dynamic_k=*/false,    /*picks_k=*/false,
                 /*conflict_over_all=*/false, /*geometric=*/true,    /*records_pairs=*/true, /*sparse_search=*/true};
  info.check = [](const Params& params, const Problem& p) {
    const auto ranges = static_cast<int64_t>(params.get_ranges("regress_ranges").size());
    if (p.num_levels() != ranges && p.num_priors() > 0)
      return Status::Usage(fmt::format(
          "fcos: the image has {} pyramid levels{} but regress_ranges has {}; pass one [low, high] per level, "
          "e.g. --set regress_ranges=[[-1,64],[64,128],[128,1e8]]",
          p.num_levels(), p.levels_inferred ? " (inferred from the strides)" : "", ranges));
    return Status();
  };
  info.class_names = {{"FCOSHead", ClassName::Syntax::kAny, /*head=*/true}};
  info.replays = [](const Params&) { return std::vector<FrameworkRange>{{"mmdet", "3.0.0", "4", "mmdetection 3.x"}}; };
  return info;
}

}  // namespace assignscope::assign
