// Cost terms shared by the cost-based assigners (dynamic soft label, SimOTA,
// OTA), each in the float32 operation order of its reference.
#pragma once

#include <cstdint>

namespace assignscope::cost {

// Soft centre prior of RTMDet (mmdet DynamicSoftLabelAssigner):
//   10 ^ (|p - c| / stride - radius)
// with the distance sqrt(dx^2 + dy^2) evaluated in float32. Overflows to +inf
// for priors far from the GT, as the reference does.
float soft_center_prior(float px, float py, float stride, float cx, float cy, float radius);

// IoU cost: -log(iou + eps) * weight, float32 (mmdet dsla: eps 1e-7).
float log_iou_cost(float iou, float weight, float eps);

// What the soft class cost needs of one logit x, from one exp and one log1p:
// sigmoid(x) and softplus(x) = BCE(x, 0); PyTorch's
// binary_cross_entropy_with_logits(x, y) = max(x, 0) - x*y + log1p(exp(-|x|))
// = softplus(x) - x*y.
struct Logit {
  double x = 0;
  double sigmoid = 0.5;
  double softplus = 0;
};
Logit logit_terms(double x);

// One class's share of the soft (quality-focal) class cost of RTMDet:
//   BCE(x, y) * |y - sigmoid(x)|^2
double soft_class_term(const Logit& l, double y);
inline double soft_class_term(double x, double y) { return soft_class_term(logit_terms(x), y); }

// The soft class cost of a prior summed over all C classes, with soft target
// y = iou on the GT's class and 0 elsewhere, without touching C values per
// (prior, GT) pair:
//   sum_c term(x_c, y_c) = background_total - term(x_l, 0) + term(x_l, iou)
// where background_total = sum_c term(x_c, 0) is computed once per prior and
// the GT class's Logit once per (prior, class). The background total's
// float32 terms, summation order and vector paths: cost/class_totals.h.
double soft_class_background_total(const float* logits, int64_t num_classes);
float soft_class_cost(double background_total, const Logit& label_logit, float iou);

// SimOTA's class cost: BCE of probabilities p against a one-hot target,
// summed over C classes, as F.binary_cross_entropy computes it (both logs
// clamped at -100):
//   sum_c BCE(p_c, y_c) = background_total - bce(p_l, 0) + bce(p_l, 1)
// with background_total = sum_c bce(p_c, 0) = sum_c -max(log(1 - p_c), -100).
double bce_prob(double p, bool target);
double bce_prob_background_total(const float* probs, int64_t num_classes);
float bce_prob_class_cost(double background_total, float label_prob);

// mmyolo BatchYOLOv7Assigner's class cost: BCE_with_logits of the logit
// log(y / (1 - y)) of a probability y against a one-hot target, summed over
// C classes, i.e. -log(y) (target 1) and -log(1 - y) (target 0), without
// F.binary_cross_entropy's clamp at -100. A y of exactly 1 in float32 makes
// the logit +inf: the term is +inf for target 0 and NaN (0 * inf) for
// target 1; a y of 0 makes it NaN for both, as torch computes them.
//   sum_c = background_total - bce_logit_prob(y_l, 0) + bce_logit_prob(y_l, 1)
double bce_logit_prob(double y, bool target);
double bce_logit_prob_background_total(const float* probs, int64_t num_classes);
float bce_logit_prob_class_cost(double background_total, float label_prob);

// Sigmoid focal loss of one logit against a 0/1 target (Lin et al. 2017,
// eq. 5), as fvcore / cvpods' sigmoid_focal_loss computes it:
//   BCE(x, t) * (1 - p_t)^gamma * alpha_t,  p_t = p if t else 1 - p,
//   alpha_t = alpha if t else 1 - alpha (no alpha factor when alpha < 0).
// OTA's class cost is its sum over C classes against a one-hot target:
//   background_total - focal(x_l, 0) + focal(x_l, 1),
// with background_total = sum_c focal(x_c, 0), which is also OTA's cost of
// the background row.
double focal_term(const Logit& l, bool target, double alpha, double gamma);
double focal_background_total(const float* logits, int64_t num_classes, double alpha, double gamma);
float focal_class_cost(double background_total, const Logit& label_logit, double alpha, double gamma);

// float32 sigmoid as PyTorch's CPU kernel computes it: 1 / (1 + exp(-x)).
float sigmoid_f32(float x);

// x ** e as torch's pow(Tensor, Scalar) computes it for float32: exponent 0
// fills 1, 1 copies, 0.5 / -0.5 / -1 are sqrt, rsqrt, reciprocal, 2 / 3 / -2
// products; anything else std::pow (rounded once to float32 here; torch's
// vectorised kernel is within an ulp of it).
float torch_pow(float x, double e);

}  // namespace assignscope::cost
