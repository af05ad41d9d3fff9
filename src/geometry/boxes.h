// Box geometry in float32, evaluated in the same operation order as
// mmdetection's bbox_overlaps so that results agree to the last bit where the
// operations are correctly rounded (+, -, *, /, max, min).
//
// Boxes are xyxy: b[0] = x1, b[1] = y1, b[2] = x2, b[3] = y2.
#pragma once

#include <algorithm>

namespace assignscope::geometry {

// (x2 - x1) * (y2 - y1); negative for inverted boxes, as mmdet computes it.
inline float area(const float* b) { return (b[2] - b[0]) * (b[3] - b[1]); }

// Intersection area, clamped at zero per side.
inline float overlap(const float* a, const float* b) {
  const float w = std::max(std::min(a[2], b[2]) - std::max(a[0], b[0]), 0.0f);
  const float h = std::max(std::min(a[3], b[3]) - std::max(a[1], b[1]), 0.0f);
  return w * h;
}

// IoU as mmdet's bbox_overlaps(a, b, mode='iou', eps=1e-6):
//   overlap / max(area(a) + area(b) - overlap, eps)
// `area_a`, `area_b` are passed in because callers reuse them across pairs.
inline float iou(const float* a, const float* b, float area_a, float area_b) {
  const float ov = overlap(a, b);
  const float uni = std::max(area_a + area_b - ov, 1e-6f);
  return ov / uni;
}

inline float iou(const float* a, const float* b) { return iou(a, b, area(a), area(b)); }

// Centre ((x1 + x2) / 2, (y1 + y2) / 2) as float32.
inline float centre_x(const float* b) { return (b[0] + b[2]) / 2.0f; }
inline float centre_y(const float* b) { return (b[1] + b[3]) / 2.0f; }

// The references' inside test: min(x - x1, y - y1, x2 - x, y2 - y) > margin,
// with margin 0 (dynamic soft label, SimOTA), 0.01 (ATSS, TAL) or 1e-9.
// Written as four comparisons so that a NaN coordinate makes the point not
// inside, as torch's NaN-propagating min does.
inline bool inside(float x, float y, const float* b, float margin) {
  return x - b[0] > margin && y - b[1] > margin && b[2] - x > margin && b[3] - y > margin;
}

inline bool strictly_inside(float x, float y, const float* b) { return inside(x, y, b, 0.0f); }

}  // namespace assignscope::geometry
