// Seeded random scenes for the property tests: realistic images in the input
// each registered assigner reads, reproducible from (seed, kind) alone.
//
//   points    2-3 pyramid levels of point priors (strides 8, 16, 32, offset 0
//             or 0.5) over a 64-160 x 64-128 px image, class logits and
//             objectness, predicted boxes: near a GT for priors inside one,
//             a box of 1-3 strides around the point elsewhere
//   anchors   YOLOv5's layout: three levels, three anchors a cell (mmyolo's
//             COCO anchors), priors ordered level, anchor, row, col
//   queries   DETR-style: 20-100 predicted boxes anywhere, no priors
//
// Every scene has 1-8 GTs of mixed size (log-uniform 2 px to 0.8 x the
// image, so some are smaller than a stride) and C in 1-6. Some scenes add an
// identical duplicate of a GT, a GT far outside the image, or ignore boxes.
// Coordinates are continuous floats, so no two different GTs tie exactly on
// any cost; duplicates are the only exact ties, and the tests treat
// identical GTs as interchangeable.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "assign/assigner.h"
#include "core/problem.h"

namespace assignscope::testing {

enum class SceneKind { kPoints, kAnchors, kQueries };

// The input an assigner reads, from its registry entry's needs: anchors it
// cannot do without (YOLOv5), or neither priors nor anchors (the Hungarian
// matchers: queries); else prior points.
inline SceneKind scene_kind_for(const std::string& assigner) {
  const assign::AssignerInfo* info = assign::find_assigner(assigner);
  if (!info) return SceneKind::kPoints;
  bool points = false;
  for (const assign::Need& need : info->needs) {
    if (need == assign::Need{Field::kAnchors}) return SceneKind::kAnchors;
    points |= std::find(need.begin(), need.end(), Field::kPriors) != need.end();
  }
  return points ? SceneKind::kPoints : SceneKind::kQueries;
}

// splitmix64: the same stream on every platform and standard library.
class SceneRng {
 public:
  explicit SceneRng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  float uniform(float lo, float hi) {  // [lo, hi)
    const float u = static_cast<float>(next() >> 40) * (1.0f / 16777216.0f);
    return lo + (hi - lo) * u;
  }
  int integer(int lo, int hi) {  // [lo, hi]
    return lo + static_cast<int>(next() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool chance(float p) { return uniform(0, 1) < p; }
  float normal(float mean, float sd) {  // Box-Muller
    const float u1 = std::max(uniform(0, 1), 1e-7f), u2 = uniform(0, 1);
    return mean + sd * std::sqrt(-2.0f * std::log(u1)) * std::cos(6.2831853f * u2);
  }

 private:
  uint64_t state_;
};

struct Scene {
  Problem problem;
  uint64_t seed = 0;
  int outside_gt = -1;            // index of the GT placed far outside the image, or -1
  std::vector<int> duplicate_of;  // [G] index of the first identical GT (itself if none)
  std::string what;               // "seed 17: points N=252 G=5 C=3 L=3 dup outside ignore"
};

namespace detail {

inline void set_rows(Rows4f* rows, const std::vector<std::array<float, 4>>& v) {
  rows->resize(static_cast<Eigen::Index>(v.size()), 4);
  for (size_t i = 0; i < v.size(); ++i)
    for (int k = 0; k < 4; ++k) (*rows)(static_cast<Eigen::Index>(i), k) = v[i][static_cast<size_t>(k)];
}

inline bool strictly_inside(float x, float y, const std::array<float, 4>& b) {
  return x > b[0] && y > b[1] && x < b[2] && y < b[3];
}

// A GT of log-uniform size (2 px to 0.8 x the smaller side), aspect 1:2 to 2:1,
// its centre anywhere in the image.
inline std::array<float, 4> random_gt(SceneRng& rng, float width, float height) {
  const float side = std::exp(rng.uniform(std::log(2.0f), std::log(0.8f * std::min(width, height))));
  const float aspect = std::exp(rng.uniform(std::log(0.5f), std::log(2.0f)));
  const float w = side * std::sqrt(aspect), h = side / std::sqrt(aspect);
  const float cx = rng.uniform(0, width), cy = rng.uniform(0, height);
  return {cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2};
}

// A prediction near `box`: each edge moved by up to 25 % of the box's size.
inline std::array<float, 4> jitter(SceneRng& rng, const std::array<float, 4>& box) {
  const float w = box[2] - box[0], h = box[3] - box[1];
  std::array<float, 4> out = {box[0] + rng.uniform(-0.25f, 0.25f) * w, box[1] + rng.uniform(-0.25f, 0.25f) * h,
                              box[2] + rng.uniform(-0.25f, 0.25f) * w, box[3] + rng.uniform(-0.25f, 0.25f) * h};
  if (out[2] <= out[0]) std::swap(out[0], out[2]);
  if (out[3] <= out[1]) std::swap(out[1], out[3]);
  out[2] = std::max(out[2], out[0] + 0.5f);
  out[3] = std::max(out[3], out[1] + 0.5f);
  return out;
}

}  // namespace detail

// A scene of `kind` from `seed`; the same pair gives the same scene.
inline Scene random_scene(uint64_t seed, SceneKind kind) {
  SceneRng rng(seed * 0x2545f4914f6cdd1dull + static_cast<uint64_t>(kind));
  Scene s;
  s.seed = seed;
  Problem& p = s.problem;
  const int width = 32 * rng.integer(2, 5), height = 32 * rng.integer(2, 4);
  const auto fw = static_cast<float>(width), fh = static_cast<float>(height);
  p.meta.image_size = std::array<int64_t, 2>{height, width};
  const int num_classes = rng.integer(1, 6);
  p.meta.num_classes = num_classes;

  // Ground truth: mixed sizes, sometimes a duplicate, a far-away GT.
  const int num_gts = rng.integer(1, 8);
  std::vector<std::array<float, 4>> gts;
  std::vector<int64_t> labels;
  for (int g = 0; g < num_gts; ++g) {
    gts.push_back(detail::random_gt(rng, fw, fh));
    labels.push_back(rng.integer(0, num_classes - 1));
  }
  s.duplicate_of.resize(static_cast<size_t>(num_gts));
  for (int g = 0; g < num_gts; ++g) s.duplicate_of[static_cast<size_t>(g)] = g;
  bool dup = false;
  if (num_gts >= 2 && rng.chance(0.2f)) {
    const int from = rng.integer(0, num_gts - 2), to = rng.integer(from + 1, num_gts - 1);
    gts[static_cast<size_t>(to)] = gts[static_cast<size_t>(from)];
    labels[static_cast<size_t>(to)] = labels[static_cast<size_t>(from)];
    s.duplicate_of[static_cast<size_t>(to)] = from;
    dup = true;
  }
  // Far outside: beyond the image by more than the largest prior cell and
  // anchor, so no prior point, cell or anchor touches it. Never one of twins.
  if (rng.chance(0.2f)) {
    const int g = rng.integer(0, num_gts - 1);
    const bool twin = std::count_if(s.duplicate_of.begin(), s.duplicate_of.end(),
                                    [&](int d) { return d == s.duplicate_of[static_cast<size_t>(g)]; }) > 1;
    if (!twin) {
      const float x = fw + 600.0f + rng.uniform(0, 100), y = fh + 600.0f + rng.uniform(0, 100);
      gts[static_cast<size_t>(g)] = {x, y, x + rng.uniform(8, 60), y + rng.uniform(8, 60)};
      s.outside_gt = g;
    }
  }
  detail::set_rows(&p.gt_bboxes, gts);
  p.gt_labels = labels;
  p.mark(Field::kGtBboxes);
  p.mark(Field::kGtLabels);

  // Priors.
  std::vector<std::array<float, 4>> priors, anchors;
  int levels = 0;
  if (kind == SceneKind::kPoints) {
    levels = rng.integer(2, 3);
    const float offset = rng.chance(0.5f) ? 0.0f : 0.5f;
    for (int l = 0; l < levels; ++l) {
      const int stride = 8 << l;
      const int cols = width / stride, rows = height / stride;
      for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c)
          priors.push_back({(static_cast<float>(c) + offset) * static_cast<float>(stride),
                            (static_cast<float>(r) + offset) * static_cast<float>(stride), static_cast<float>(stride),
                            static_cast<float>(stride)});
      p.num_level_priors.push_back(static_cast<int64_t>(cols) * rows);
    }
  } else if (kind == SceneKind::kAnchors) {
    // mmyolo's YOLOv5 COCO anchors, (w, h) in pixels per level.
    static const float kAnchors[3][3][2] = {{{10, 13}, {16, 30}, {33, 23}},
                                            {{30, 61}, {62, 45}, {59, 119}},
                                            {{116, 90}, {156, 198}, {373, 326}}};
    levels = 3;
    for (int l = 0; l < levels; ++l) {
      const int stride = 8 << l;
      const int cols = width / stride, rows = height / stride;
      for (int a = 0; a < 3; ++a)
        for (int r = 0; r < rows; ++r)
          for (int c = 0; c < cols; ++c) {
            const float x = (static_cast<float>(c) + 0.5f) * static_cast<float>(stride);
            const float y = (static_cast<float>(r) + 0.5f) * static_cast<float>(stride);
            const float aw = kAnchors[l][a][0], ah = kAnchors[l][a][1];
            priors.push_back({x, y, static_cast<float>(stride), static_cast<float>(stride)});
            anchors.push_back({x - aw / 2, y - ah / 2, x + aw / 2, y + ah / 2});
          }
      p.num_level_priors.push_back(3 * static_cast<int64_t>(cols) * rows);
    }
  }
  const int num_priors = kind == SceneKind::kQueries ? rng.integer(20, 100) : static_cast<int>(priors.size());
  p.set_num_priors(num_priors);
  if (kind != SceneKind::kQueries) {
    detail::set_rows(&p.priors, priors);
    p.mark(Field::kPriors);
  } else {
    p.num_level_priors = {num_priors};  // one level, as the loader makes for queries
    p.levels_inferred = true;
  }
  p.prior_level = levels_from_counts(p.num_level_priors);
  if (kind == SceneKind::kAnchors) {
    detail::set_rows(&p.anchors, anchors);
    p.mark(Field::kAnchors);
  }

  // Predictions and scores: a prior inside a GT predicts near that GT, and
  // scores its class higher.
  std::vector<std::array<float, 4>> preds;
  p.cls_scores.resize(num_priors, num_classes);
  p.objectness.resize(static_cast<size_t>(num_priors));
  for (int i = 0; i < num_priors; ++i) {
    for (int c = 0; c < num_classes; ++c) p.cls_scores(i, c) = rng.normal(-4.0f, 1.5f);
    p.objectness[static_cast<size_t>(i)] = rng.normal(-2.0f, 2.0f);
    int owner = -1;
    std::array<float, 4> pred{};
    if (kind == SceneKind::kQueries) {
      owner = rng.chance(0.5f) ? rng.integer(0, num_gts - 1) : -1;
      pred = owner >= 0 ? detail::jitter(rng, gts[static_cast<size_t>(owner)]) : detail::random_gt(rng, fw, fh);
    } else {
      const float x = priors[static_cast<size_t>(i)][0], y = priors[static_cast<size_t>(i)][1];
      const float stride = priors[static_cast<size_t>(i)][2];
      std::vector<int> holders;
      for (int g = 0; g < num_gts; ++g)
        if (detail::strictly_inside(x, y, gts[static_cast<size_t>(g)])) holders.push_back(g);
      if (!holders.empty()) {
        owner = holders[static_cast<size_t>(rng.integer(0, static_cast<int>(holders.size()) - 1))];
        pred = detail::jitter(rng, gts[static_cast<size_t>(owner)]);
        // Keep the point inside its prediction, as a decoded box is.
        pred = {std::min(pred[0], x - 0.25f), std::min(pred[1], y - 0.25f), std::max(pred[2], x + 0.25f),
                std::max(pred[3], y + 0.25f)};
      } else {
        const float w = stride * rng.uniform(1, 3), h = stride * rng.uniform(1, 3);
        const float cx = x + rng.uniform(-0.3f, 0.3f) * w, cy = y + rng.uniform(-0.3f, 0.3f) * h;
        pred = {cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2};
      }
    }
    if (owner >= 0) p.cls_scores(i, labels[static_cast<size_t>(owner)]) += rng.uniform(1.0f, 7.0f);
    preds.push_back(pred);
  }
  detail::set_rows(&p.pred_bboxes, preds);
  // Centerness logits (O2F) from the objectness, drawing nothing more, so
  // that every other field of a seed's scene stays as it was.
  p.centerness.resize(p.objectness.size());
  for (size_t i = 0; i < p.objectness.size(); ++i) p.centerness[i] = 1.0f - 0.5f * p.objectness[i];
  for (Field f : {Field::kClsScores, Field::kObjectness, Field::kCenterness, Field::kPredBboxes}) p.mark(f);

  // Ignore boxes, sometimes.
  bool ignore = false;
  if (rng.chance(0.25f)) {
    std::vector<std::array<float, 4>> boxes;
    for (int k = rng.integer(1, 2); k > 0; --k) boxes.push_back(detail::random_gt(rng, fw, fh));
    detail::set_rows(&p.gt_bboxes_ignore, boxes);
    p.mark(Field::kGtBboxesIgnore);
    ignore = true;
  }
  s.what = fmt::format("seed {}: {} N={} G={} C={} L={} image {}x{}{}{}{}", seed,
                       kind == SceneKind::kPoints    ? "points"
                       : kind == SceneKind::kAnchors ? "anchors"
                                                     : "queries",
                       num_priors, num_gts, num_classes, levels, width, height, dup ? " duplicate" : "",
                       s.outside_gt >= 0 ? " outside" : "", ignore ? " ignore" : "");
  return s;
}

}  // namespace assignscope::testing
