// Box geometry in float32, evaluated in the same operation order as
// mmdetection's bbox_overlaps so that results agree to the last bit where the
// operations are correctly rounded (+, -, *, /, max, min).
//
// Boxes are xyxy: b[0] = x1, b[1] = y1, b[2] = x2, b[3] = y2.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>

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

// GIoU as mmdet's bbox_overlaps(a, b, mode='giou', is_aligned=True,
// eps=1e-6) (GIoULoss): the union and the enclosing box's area clamped at
// eps, iou - (enclose - union) / enclose.
inline float giou(const float* a, const float* b) {
  const float ov = overlap(a, b);
  const float uni = std::max(area(a) + area(b) - ov, 1e-6f);
  const float ew = std::max(std::max(a[2], b[2]) - std::min(a[0], b[0]), 0.0f);
  const float eh = std::max(std::max(a[3], b[3]) - std::min(a[1], b[1]), 0.0f);
  const float enclose = std::max(ew * eh, 1e-6f);
  return ov / uni - (enclose - uni) / enclose;
}

// CIoU as ultralytics' bbox_iou(a, b, xywh=False, CIoU=True, eps=1e-7),
// float32 in its operation order: heights + eps, union + eps, enclosing
// diagonal + eps, alpha = v / (v - iou + (1 + eps)). The argument order
// matters to the last bit (the centre distance is b's minus a's).
inline float ciou(const float* a, const float* b) {
  constexpr float kEps = 1e-7f;
  constexpr double kPi = 3.141592653589793;  // math.pi
  constexpr auto kFourOverPiSquared = static_cast<float>(4.0 / (kPi * kPi));
  constexpr auto kOnePlusEps = static_cast<float>(1.0 + 1e-7);
  const float w1 = a[2] - a[0], h1 = a[3] - a[1] + kEps;
  const float w2 = b[2] - b[0], h2 = b[3] - b[1] + kEps;
  const float inter = overlap(a, b);
  const float iou = inter / (w1 * h1 + w2 * h2 - inter + kEps);
  const float cw = std::max(a[2], b[2]) - std::min(a[0], b[0]);
  const float ch = std::max(a[3], b[3]) - std::min(a[1], b[1]);
  const float c2 = cw * cw + ch * ch + kEps;
  const float dx = b[0] + b[2] - a[0] - a[2];
  const float dy = b[1] + b[3] - a[1] - a[3];
  const float rho2 = (dx * dx + dy * dy) / 4.0f;
  const float datan = std::atan(w2 / h2) - std::atan(w1 / h1);
  const float v = kFourOverPiSquared * (datan * datan);
  const float alpha = v / (v - iou + kOnePlusEps);
  return iou - (rho2 / c2 + v * alpha);
}

// IoF as mmdet's bbox_overlaps(a, b, mode='iof', eps=1e-6): the overlap over
// the area of `a` (the first argument), overlap / max(area(a), eps).
inline float iof(const float* a, const float* b, float area_a) { return overlap(a, b) / std::max(area_a, 1e-6f); }

// IoU as mmyolo's yolov6_iou_calculator(a, b, eps=1e-9): widths, heights and
// areas clipped at 0, and eps added to the union instead of clamping it:
//   overlap / (area(a) + area(b) - overlap + 1e-9)
inline float iou_yolov6(const float* a, const float* b) {
  const float w = std::max(std::min(a[2], b[2]) - std::max(a[0], b[0]), 0.0f);
  const float h = std::max(std::min(a[3], b[3]) - std::max(a[1], b[1]), 0.0f);
  const float ov = w * h;
  const float area_a = std::max(a[2] - a[0], 0.0f) * std::max(a[3] - a[1], 0.0f);
  const float area_b = std::max(b[2] - b[0], 0.0f) * std::max(b[3] - b[1], 0.0f);
  return ov / (area_a + area_b - ov + 1e-9f);
}

// (cx, cy, w, h) of an xyxy box in float32, as YOLOX-style code converts it.
inline std::array<float, 4> to_cxcywh(const float* b) {
  return {(b[0] + b[2]) / 2.0f, (b[1] + b[3]) / 2.0f, b[2] - b[0], b[3] - b[1]};
}

// IoU of two (cx, cy, w, h) boxes as YOLOX's bboxes_iou(a, b, xyxy=False):
// corners at centre -/+ size / 2, the overlap zeroed unless tl < br on both
// axes, and no epsilon in the union (two empty boxes give 0 / 0 = NaN).
inline float iou_cxcywh(const float* a, const float* b) {
  const float tlx = std::max(a[0] - a[2] / 2, b[0] - b[2] / 2);
  const float tly = std::max(a[1] - a[3] / 2, b[1] - b[3] / 2);
  const float brx = std::min(a[0] + a[2] / 2, b[0] + b[2] / 2);
  const float bry = std::min(a[1] + a[3] / 2, b[1] + b[3] / 2);
  const float en = (tlx < brx && tly < bry) ? 1.0f : 0.0f;
  const float area_i = (brx - tlx) * (bry - tly) * en;
  return area_i / (a[2] * a[3] + b[2] * b[3] - area_i);
}

// IoU of two boxes given as (l, t, r, b) distances from the same point, as
// OTA's get_ious_and_iou_loss(box_mode="ltrb") computes it: widths clamped at
// 0, the union clamped at float32 epsilon.
inline float iou_ltrb(const float* a, const float* b) {
  constexpr float kEps = 1.1920928955078125e-07f;  // torch.finfo(torch.float32).eps
  const float area_a = std::max(a[2] - -a[0], 0.0f) * std::max(a[3] - -a[1], 0.0f);
  const float area_b = std::max(b[2] - -b[0], 0.0f) * std::max(b[3] - -b[1], 0.0f);
  const float w = std::max(std::min(a[2], b[2]) - std::max(-a[0], -b[0]), 0.0f);
  const float h = std::max(std::min(a[3], b[3]) - std::max(-a[1], -b[1]), 0.0f);
  const float inter = w * h;
  return inter / std::max(area_b + area_a - inter, kEps);
}

// (l, t, r, b) of an xyxy box seen from the point (x, y), float32:
// (x - x1, y - y1, x2 - x, y2 - y).
inline std::array<float, 4> ltrb_from(float x, float y, const float* b) {
  return {x - b[0], y - b[1], b[2] - x, b[3] - y};
}

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
