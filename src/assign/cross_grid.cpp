// YOLOv5's cross-grid candidate rule, with or without yolov7's clamp.
#include "assign/cross_grid.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>

#include <fmt/format.h>

namespace assignscope::assign {
namespace {

// x % 1 as torch computes it for floats (the remainder takes the divisor's sign).
float frac(float x) { return x - std::floor(x); }

// The cell index of coordinate `c` on an axis of `size` cells: truncated
// toward zero (.long()), after clamping to [0, size - 1] (kClamp) or
// wrapping a negative index as torch indexing does (kWrap). None past the
// grid, or for a coordinate no integer holds (NaN, beyond int64).
std::optional<int64_t> cell_index(float c, int64_t size, CellIndex rule) {
  if (rule == CellIndex::kClamp) c = std::min(std::max(c, 0.0f), static_cast<float>(size - 1));
  if (!(std::fabs(c) < 1e18f)) return std::nullopt;
  auto i = static_cast<int64_t>(c);
  if (i < 0) i += size;
  if (i < 0 || i >= size) return std::nullopt;
  return i;
}

}  // namespace

Result<std::vector<YoloLevel>> yolo_grid_of(const Problem& p, const std::string& assigner) {
  std::vector<YoloLevel> levels;
  int64_t offset = 0;
  for (int64_t l = 0; l < p.num_levels(); ++l) {
    const int64_t count = p.num_level_priors[l];
    YoloLevel level;
    level.offset = offset;
    if (count > 0) {
      level.stride = p.priors(offset, 2);
      float max_x = 0, max_y = 0;
      for (int64_t i = offset; i < offset + count; ++i)
        max_x = std::max(max_x, p.priors(i, 0)), max_y = std::max(max_y, p.priors(i, 1));
      // A grid cannot have more columns or rows than the level has priors:
      // checked in floating point, before a conversion that would overflow
      // (a stride of 1e-30, or of 0 and a point at 0).
      const double cols = std::floor(static_cast<double>(max_x) / static_cast<double>(level.stride)) + 1;
      const double rows = std::floor(static_cast<double>(max_y) / static_cast<double>(level.stride)) + 1;
      if (!(level.stride > 0) || !(cols >= 1 && cols <= static_cast<double>(count)) ||
          !(rows >= 1 && rows <= static_cast<double>(count)))
        return Status::InvalidInput(fmt::format(
            "{}: level {} has stride {} and points up to ({}, {}): not a grid of its {} priors at (col + 0.5) * "
            "stride",
            assigner, l, level.stride, max_x, max_y, count));
      level.width = static_cast<int64_t>(cols);
      level.height = static_cast<int64_t>(rows);
      if (level.width * level.height * kYoloAnchorsPerCell != count)
        return Status::InvalidInput(fmt::format(
            "{}: level {} holds {} priors, but its points span a {} x {} grid: expected {} anchors x rows x "
            "cols = {} priors ordered anchor, row, col (points at (col + 0.5) * stride)",
            assigner, l, count, level.height, level.width, kYoloAnchorsPerCell,
            level.width * level.height * kYoloAnchorsPerCell));
    }
    levels.push_back(level);
    offset += count;
  }
  return levels;
}

std::vector<ParamSpec> cross_grid_params(const std::string& near_neighbor_help) {
  return {
      {"prior_match_thr",
       ParamType::kFloat,
       4.0,
       "largest width/height ratio between a GT and an anchor",
       1.0,
       std::nullopt,
       {}},
      {"near_neighbor_thr", ParamType::kFloat, 0.5, near_neighbor_help, 0.0, 1.0, {}},
  };
}

std::array<float, 4> normalised_gt(const Problem& p, int64_t g) {
  const float img_h = static_cast<float>((*p.meta.image_size)[0]);
  const float img_w = static_cast<float>((*p.meta.image_size)[1]);
  const float* box = &p.gt_bboxes(g, 0);
  return {((box[0] + box[2]) / 2.0f) / img_w, ((box[1] + box[3]) / 2.0f) / img_h, (box[2] - box[0]) / img_w,
          (box[3] - box[1]) / img_h};
}

CrossGridColumns cross_grid_columns(const Problem& p, const std::vector<YoloLevel>& levels, float prior_match_thr,
                                    float near_neighbor_thr, CellIndex cells) {
  CrossGridColumns out;
  if (!p.meta.image_size || p.num_gts() == 0) return out;
  // Step 1: normalised (cx, cy, w, h) of every GT.
  std::vector<std::array<float, 4>> normed(static_cast<size_t>(p.num_gts()));
  for (int64_t g = 0; g < p.num_gts(); ++g) normed[static_cast<size_t>(g)] = normalised_gt(p, g);

  // The offsets (centre, left, up, right, down), subtracted from (cx, cy).
  constexpr std::array<std::array<float, 2>, 5> kOffsets = {{{0, 0}, {1, 0}, {0, 1}, {-1, 0}, {0, -1}}};
  for (const YoloLevel& level : levels) {
    if (level.width == 0) continue;
    const auto fw = static_cast<float>(level.width), fh = static_cast<float>(level.height);
    for (size_t k = 0; k < kOffsets.size(); ++k) {
      for (int64_t a = 0; a < kYoloAnchorsPerCell; ++a) {
        const int64_t first = level.offset + a * level.height * level.width;
        const float aw = (p.anchors(first, 2) - p.anchors(first, 0)) / level.stride;
        const float ah = (p.anchors(first, 3) - p.anchors(first, 1)) / level.stride;
        for (int64_t g = 0; g < p.num_gts(); ++g) {
          const auto& n = normed[static_cast<size_t>(g)];
          const float cx = n[0] * fw, cy = n[1] * fh, w = n[2] * fw, h = n[3] * fh;
          // Step 2: shape match against the anchor, in feature-map units.
          const float rw = w / aw, rh = h / ah;
          const float ratio = std::max(std::max(rw, 1.0f / rw), std::max(rh, 1.0f / rh));
          if (!(ratio < prior_match_thr)) continue;
          // Step 3: the centre cell and its near neighbours.
          const float gx = fw - cx, gy = fh - cy;
          const std::array<bool, 5> use = {true, frac(cx) < near_neighbor_thr && cx > 1.0f,
                                           frac(cy) < near_neighbor_thr && cy > 1.0f,
                                           frac(gx) < near_neighbor_thr && gx > 1.0f,
                                           frac(gy) < near_neighbor_thr && gy > 1.0f};
          if (!use[k]) continue;
          const auto col = cell_index(cx - kOffsets[k][0] * near_neighbor_thr, level.width, cells);
          const auto row = cell_index(cy - kOffsets[k][1] * near_neighbor_thr, level.height, cells);
          if (!col || !row) {
            ++out.off_grid;
            continue;
          }
          out.columns.push_back(
              {static_cast<int32_t>(first + *row * level.width + *col), static_cast<int32_t>(g), ratio});
        }
      }
    }
  }
  return out;
}

}  // namespace assignscope::assign
