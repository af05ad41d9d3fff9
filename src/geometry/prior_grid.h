// Point priors laid out as mmdet's MlvlPointGenerator lays them out: per
// level, `rows` rows of `cols` points, row-major, every row with the same x
// coordinates and every column with the same y. Found by checking every
// prior, never assumed: a dump whose priors are ordered otherwise has no
// grid, and the assigners then search all priors.
//
// With a grid, "the priors of a level whose centre lies in a rectangle" is two
// binary searches, so an assigner can visit only the priors near a GT
// instead of all N for every GT.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/problem.h"

namespace assignscope::geometry {

class PriorGrid {
 public:
  struct Level {
    int64_t first = 0;  // index of the level's first prior
    int64_t cols = 0, rows = 0;
    float stride = 0;           // the level's stride (column 2 of its priors)
    std::vector<float> xs, ys;  // strictly increasing centre coordinates
  };

  // The grid of `problem`'s priors, or nullopt when they do not form one
  // (or hold a non-finite value or a stride <= 0).
  static std::optional<PriorGrid> of(const Problem& problem);
  // The same for other points per prior (e.g. anchor centres, columns 0
  // and 1) with the problem's level counts; `stride` is then 0.
  static std::optional<PriorGrid> of_points(const Rows4f& points, const std::vector<int64_t>& level_counts);

  const std::vector<Level>& levels() const { return levels_; }

  // Calls f(prior) for each prior of `level` whose centre (x, y) satisfies
  // x0 <= x <= x1 and y0 <= y <= y1, row by row (ascending prior index).
  template <class F>
  void for_each_in(const Level& level, float x0, float y0, float x1, float y1, F&& f) const {
    const auto c0 = std::lower_bound(level.xs.begin(), level.xs.end(), x0) - level.xs.begin();
    const auto c1 = std::upper_bound(level.xs.begin(), level.xs.end(), x1) - level.xs.begin();
    const auto r0 = std::lower_bound(level.ys.begin(), level.ys.end(), y0) - level.ys.begin();
    const auto r1 = std::upper_bound(level.ys.begin(), level.ys.end(), y1) - level.ys.begin();
    for (auto r = r0; r < r1; ++r)
      for (auto c = c0; c < c1; ++c) f(static_cast<int32_t>(level.first + r * level.cols + c));
  }

  // Does the rectangle hold every prior of every level?
  bool covers_all(float x0, float y0, float x1, float y1) const;

  // How many priors, over all levels, have their centre in the closed
  // rectangle: for_each_in's visits, counted in O(levels log cols).
  int64_t count_in(float x0, float y0, float x1, float y1) const;

 private:
  std::vector<Level> levels_;
};

// Whether an image's coordinates (priors, anchors, predicted, GT, ignore and
// padding boxes, GT centres) are finite and within +-1e18, the range the
// sparse searches are built for: beyond it a box's area overflows float32
// (w * h > 3.4e38), IoUs turn Inf / NaN, and only the dense search follows
// the reference's arithmetic. Outside it the assigners search densely.
bool sparse_search_range(const Problem& p);

// How many (prior, GT) pairs have the prior's centre inside the GT box
// (closed: an upper bound of every assigner's centre-inside rule), counted
// through the grid when the priors form one, else pair by pair; 0 for an
// image without priors.
int64_t centre_inside_pairs(const Problem& p);

// The extent of a set of GT boxes (xyxy) and a cell size for a BoxIndex over
// it: the GTs' mean side, clamped to [16, 256] px. G must be >= 1.
struct GtExtent {
  float x0, y0, x1, y1;
  float cell;
};
GtExtent gt_extent(const Rows4f& gt_bboxes);

// An index of boxes (xyxy) over a uniform grid of cells: which boxes may
// overlap a query rectangle. Boxes covering many cells are kept in one list
// that every query scans. Query results are a superset: callers test each.
class BoxIndex {
 public:
  // Cells cover [x0, x1] x [y0, y1]; parts of boxes outside it are never queried.
  BoxIndex(float x0, float y0, float x1, float y1, float cell, int64_t max_cells = 16);
  void insert(int32_t id, const float* box);
  // Calls f(id) once per box that may overlap `box`. `seen` is scratch
  // sized by the caller to the largest id + 1; `tag` must differ between calls.
  template <class F>
  void query(const float* box, std::vector<uint32_t>* seen, uint32_t tag, F&& f) const {
    for (int32_t id : large_)
      if ((*seen)[id] != tag) (*seen)[id] = tag, f(id);
    int64_t cx0, cy0, cx1, cy1;
    if (!cell_range(box, &cx0, &cy0, &cx1, &cy1)) return;
    for (int64_t cy = cy0; cy <= cy1; ++cy)
      for (int64_t cx = cx0; cx <= cx1; ++cx)
        for (int32_t id : cells_[static_cast<size_t>(cy * nx_ + cx)])
          if ((*seen)[id] != tag) (*seen)[id] = tag, f(id);
  }

 private:
  bool cell_range(const float* box, int64_t* cx0, int64_t* cy0, int64_t* cx1, int64_t* cy1) const;

  float x0_, y0_, cell_;
  int64_t nx_, ny_;
  int64_t max_cells_;  // a box covering more cells goes to large_
  std::vector<std::vector<int32_t>> cells_;
  std::vector<int32_t> large_;
};

}  // namespace assignscope::geometry
