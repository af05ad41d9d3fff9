// FCOS-style centre sampling: a prior point counts as inside a GT when it is
// strictly inside the GT's centre square, clipped to the GT box. As
// mmdetection's FCOSHead._get_targets_single and o2f's
// O2FHead._get_target_single_o2o build it in float32:
//   r      = stride * center_sample_radius (a Python float, stored as float32)
//   square = (cx - r, cy - r, cx + r, cy + r), cx = (x1 + x2) / 2, ...
//   box    = (max(cx - r, x1), max(cy - r, y1), min(cx + r, x2), min(cy + r, y2))
//   inside = min(x - box x1, y - box y1, box x2 - x, box y2 - y) > 0
#pragma once

#include <algorithm>
#include <array>

#include "geometry/boxes.h"

namespace assignscope::geometry {

// The centre radius r of a level of stride `stride`, float32.
inline float centre_radius(float stride, double radius) {
  return static_cast<float>(static_cast<double>(stride) * radius);
}

// The GT's centre square of half-side `r`, clipped to the GT box `b`.
inline std::array<float, 4> centre_box(const float* b, float r) {
  const float cx = centre_x(b), cy = centre_y(b);
  return {std::max(cx - r, b[0]), std::max(cy - r, b[1]), std::min(cx + r, b[2]), std::min(cy + r, b[3])};
}

// Whether (x, y) is strictly inside the centre box of GT `b` with half-side `r`.
inline bool in_centre_box(float x, float y, const float* b, float r) {
  const std::array<float, 4> box = centre_box(b, r);
  return strictly_inside(x, y, box.data());
}

}  // namespace assignscope::geometry
