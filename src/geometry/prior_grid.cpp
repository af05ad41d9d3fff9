// Prior grids and the box index.
#include "geometry/prior_grid.h"

#include <cmath>

namespace assignscope::geometry {

namespace {

std::optional<PriorGrid::Level> level_of(const Rows4f& points, int64_t first, int64_t count) {
  PriorGrid::Level level;
  level.first = first;
  if (count <= 0) return std::nullopt;
  const float y0 = points(first, 1);
  while (level.cols < count && points(first + level.cols, 1) == y0) ++level.cols;
  if (level.cols == 0 || count % level.cols != 0) return std::nullopt;  // a NaN y holds no row
  level.rows = count / level.cols;
  for (int64_t c = 0; c < level.cols; ++c) level.xs.push_back(points(first + c, 0));
  for (int64_t r = 0; r < level.rows; ++r) level.ys.push_back(points(first + r * level.cols, 1));
  const auto increasing = [](const std::vector<float>& v) {
    for (size_t i = 0; i < v.size(); ++i)
      if (!std::isfinite(v[i]) || (i > 0 && !(v[i - 1] < v[i]))) return false;
    return true;
  };
  if (!increasing(level.xs) || !increasing(level.ys)) return std::nullopt;
  for (int64_t r = 0; r < level.rows; ++r)
    for (int64_t c = 0; c < level.cols; ++c) {
      const int64_t i = first + r * level.cols + c;
      if (points(i, 0) != level.xs[c] || points(i, 1) != level.ys[r]) return std::nullopt;
    }
  return level;
}

}  // namespace

std::optional<PriorGrid> PriorGrid::of_points(const Rows4f& points, const std::vector<int64_t>& level_counts) {
  PriorGrid grid;
  int64_t first = 0;
  for (int64_t count : level_counts) {
    if (first + count > points.rows()) return std::nullopt;
    std::optional<Level> level = level_of(points, first, count);
    if (!level) return std::nullopt;
    grid.levels_.push_back(std::move(*level));
    first += count;
  }
  if (first != points.rows()) return std::nullopt;
  return grid;
}

std::optional<PriorGrid> PriorGrid::of(const Problem& p) {
  if (p.priors.rows() != p.num_priors()) return std::nullopt;
  std::optional<PriorGrid> grid = of_points(p.priors, p.num_level_priors);
  if (!grid) return std::nullopt;
  for (Level& level : grid->levels_) {
    level.stride = p.priors(level.first, 2);
    if (!(level.stride > 0) || !std::isfinite(level.stride)) return std::nullopt;
    for (int64_t i = level.first; i < level.first + level.rows * level.cols; ++i)
      if (p.priors(i, 2) != level.stride) return std::nullopt;
  }
  return grid;
}

bool sparse_search_range(const Problem& p) {
  static constexpr float kLimit = 1e18f;
  const auto ok = [](const auto& a) { return a.size() == 0 || (a.allFinite() && (a.abs() <= kLimit).all()); };
  return ok(p.priors) && ok(p.anchors) && ok(p.pred_bboxes) && ok(p.gt_bboxes) && ok(p.gt_bboxes_ignore) &&
         ok(p.padding_gt_bboxes) && ok(p.gt_centers) && ok(p.gt_cxcywh) && ok(p.pred_cxcywh);
}

bool PriorGrid::covers_all(float x0, float y0, float x1, float y1) const {
  for (const Level& l : levels_)
    if (x0 > l.xs.front() || x1 < l.xs.back() || y0 > l.ys.front() || y1 < l.ys.back()) return false;
  return true;
}

int64_t PriorGrid::count_in(float x0, float y0, float x1, float y1) const {
  int64_t n = 0;
  for (const Level& l : levels_) {
    const auto c = (std::upper_bound(l.xs.begin(), l.xs.end(), x1) - std::lower_bound(l.xs.begin(), l.xs.end(), x0));
    const auto r = (std::upper_bound(l.ys.begin(), l.ys.end(), y1) - std::lower_bound(l.ys.begin(), l.ys.end(), y0));
    if (c > 0 && r > 0) n += static_cast<int64_t>(c) * static_cast<int64_t>(r);
  }
  return n;
}

int64_t centre_inside_pairs(const Problem& p) {
  int64_t n = 0;
  if (p.priors.rows() != p.num_priors()) return 0;  // no priors (anchors only, DETR queries)
  const std::optional<PriorGrid> grid = sparse_search_range(p) ? PriorGrid::of(p) : std::nullopt;
  for (int64_t g = 0; g < p.num_gts(); ++g) {
    const float* b = &p.gt_bboxes(g, 0);
    if (grid) {
      n += grid->count_in(b[0], b[1], b[2], b[3]);
      continue;
    }
    for (int64_t i = 0; i < p.num_priors(); ++i) {
      const float x = p.priors(i, 0), y = p.priors(i, 1);
      n += (x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3]) ? 1 : 0;
    }
  }
  return n;
}

GtExtent gt_extent(const Rows4f& gt_bboxes) {
  GtExtent e{INFINITY, INFINITY, -INFINITY, -INFINITY, 0.0f};
  double side = 0;
  for (Eigen::Index g = 0; g < gt_bboxes.rows(); ++g) {
    const float* b = &gt_bboxes(g, 0);
    e.x0 = std::min(e.x0, b[0]), e.y0 = std::min(e.y0, b[1]), e.x1 = std::max(e.x1, b[2]), e.y1 = std::max(e.y1, b[3]);
    side += std::max(0.0, static_cast<double>(b[2] - b[0])) + std::max(0.0, static_cast<double>(b[3] - b[1]));
  }
  e.cell = static_cast<float>(std::clamp(side / (2.0 * static_cast<double>(gt_bboxes.rows())), 16.0, 256.0));
  return e;
}

BoxIndex::BoxIndex(float x0, float y0, float x1, float y1, float cell, int64_t max_cells)
    : x0_(x0), y0_(y0), cell_(cell), max_cells_(max_cells) {
  // At most kMaxSide cells a side, whatever the extent (a GT 1e7 px away
  // would otherwise ask for billions): the cells grow instead.
  constexpr double kMaxSide = 1024;
  const auto dx0 = static_cast<double>(x0), dy0 = static_cast<double>(y0), dx1 = static_cast<double>(x1),
             dy1 = static_cast<double>(y1);
  const double extent = std::max(dx1 - dx0, dy1 - dy0);
  if (!(extent / static_cast<double>(cell_) <= kMaxSide)) cell_ = static_cast<float>(extent / kMaxSide) * 1.001f;
  if (!(cell_ > 0) || !std::isfinite(cell_)) cell_ = 1.0f;
  const auto c = static_cast<double>(cell_);
  nx_ = std::max<int64_t>(1, static_cast<int64_t>(std::ceil((dx1 - dx0) / c)) + 1);
  ny_ = std::max<int64_t>(1, static_cast<int64_t>(std::ceil((dy1 - dy0) / c)) + 1);
  nx_ = std::min<int64_t>(nx_, static_cast<int64_t>(kMaxSide) + 2);
  ny_ = std::min<int64_t>(ny_, static_cast<int64_t>(kMaxSide) + 2);
  cells_.resize(static_cast<size_t>(nx_ * ny_));
}

bool BoxIndex::cell_range(const float* box, int64_t* cx0, int64_t* cy0, int64_t* cx1, int64_t* cy1) const {
  // Cell of a coordinate, clamped to the grid; a box wholly outside it on
  // some side overlaps nothing indexed there.
  const auto cell_of = [&](float v, float origin, int64_t n) {
    const double c = std::floor((static_cast<double>(v) - static_cast<double>(origin)) / static_cast<double>(cell_));
    return static_cast<int64_t>(std::clamp(c, -1.0, static_cast<double>(n)));
  };
  *cx0 = cell_of(box[0], x0_, nx_), *cx1 = cell_of(box[2], x0_, nx_);
  *cy0 = cell_of(box[1], y0_, ny_), *cy1 = cell_of(box[3], y0_, ny_);
  if (*cx1 < 0 || *cy1 < 0 || *cx0 >= nx_ || *cy0 >= ny_ || *cx0 > *cx1 || *cy0 > *cy1) return false;
  *cx0 = std::max<int64_t>(*cx0, 0), *cy0 = std::max<int64_t>(*cy0, 0);
  *cx1 = std::min(*cx1, nx_ - 1), *cy1 = std::min(*cy1, ny_ - 1);
  return true;
}

void BoxIndex::insert(int32_t id, const float* box) {
  int64_t cx0, cy0, cx1, cy1;
  if (!cell_range(box, &cx0, &cy0, &cx1, &cy1)) return;
  if ((cx1 - cx0 + 1) * (cy1 - cy0 + 1) > max_cells_) {
    large_.push_back(id);
    return;
  }
  for (int64_t cy = cy0; cy <= cy1; ++cy)
    for (int64_t cx = cx0; cx <= cx1; ++cx) cells_[static_cast<size_t>(cy * nx_ + cx)].push_back(id);
}

}  // namespace assignscope::geometry
