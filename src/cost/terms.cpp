// Cost terms in the references' arithmetic.
#include "cost/terms.h"

#include <cmath>
#include <limits>

namespace assignscope::cost {

float soft_center_prior(float px, float py, float stride, float cx, float cy, float radius) {
  const float dx = px - cx;
  const float dy = py - cy;
  const float distance = std::sqrt(dx * dx + dy * dy) / stride;
  return std::pow(10.0f, distance - radius);
}

float log_iou_cost(float iou, float weight, float eps) { return -std::log(iou + eps) * weight; }

Logit logit_terms(double x) {
  const double e = std::exp(-std::fabs(x));  // in (0, 1]: no overflow
  Logit l;
  l.x = x;
  l.sigmoid = x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
  l.softplus = std::fmax(x, 0.0) + std::log1p(e);
  return l;
}

double soft_class_term(const Logit& l, double y) {
  const double scale = y - l.sigmoid;
  return (l.softplus - l.x * y) * scale * scale;
}

// soft_class_background_total: cost/class_totals.cpp.

float soft_class_cost(double background_total, const Logit& label_logit, float iou) {
  return static_cast<float>(background_total - soft_class_term(label_logit, 0.0) +
                            soft_class_term(label_logit, static_cast<double>(iou)));
}

namespace {
// fmax(v, -100) (F.binary_cross_entropy's clamp) inline: libm's fmax is a
// call per class. A NaN gives -100, as fmax does.
double clamp_log(double v) { return v >= -100.0 ? v : -100.0; }
}  // namespace

double bce_prob(double p, bool target) { return target ? -clamp_log(std::log(p)) : -clamp_log(std::log1p(-p)); }

namespace {
// A one-hot BCE summed over the classes, from the sum of every class's
// background term: swap the label's background term for its target term.
template <double (*Bce)(double, bool)>
double background_total_of(const float* probs, int64_t num_classes) {
  double total = 0;
  for (int64_t c = 0; c < num_classes; ++c) total += Bce(static_cast<double>(probs[c]), false);
  return total;
}
template <double (*Bce)(double, bool)>
float one_hot_cost(double background_total, float label_prob) {
  const auto p = static_cast<double>(label_prob);
  return static_cast<float>(background_total - Bce(p, false) + Bce(p, true));
}
}  // namespace

double bce_prob_background_total(const float* probs, int64_t num_classes) {
  return background_total_of<bce_prob>(probs, num_classes);
}

float bce_prob_class_cost(double background_total, float label_prob) {
  return one_hot_cost<bce_prob>(background_total, label_prob);
}

double bce_logit_prob(double y, bool target) {
  if (y == 0.0 || (y == 1.0 && target)) return std::numeric_limits<double>::quiet_NaN();
  if (y == 1.0) return std::numeric_limits<double>::infinity();
  return target ? -std::log(y) : -std::log1p(-y);
}

double bce_logit_prob_background_total(const float* probs, int64_t num_classes) {
  return background_total_of<bce_logit_prob>(probs, num_classes);
}

float bce_logit_prob_class_cost(double background_total, float label_prob) {
  return one_hot_cost<bce_logit_prob>(background_total, label_prob);
}

double focal_term(const Logit& l, bool target, double alpha, double gamma) {
  const double bce = target ? l.softplus - l.x : l.softplus;  // softplus(-x) = softplus(x) - x
  const double one_minus_pt = target ? 1.0 - l.sigmoid : l.sigmoid;
  const double alpha_t = alpha < 0 ? 1.0 : (target ? alpha : 1.0 - alpha);
  // gamma = 2 (the default): a square, as torch computes (x ** 2) too.
  return alpha_t * bce * (gamma == 2.0 ? one_minus_pt * one_minus_pt : std::pow(one_minus_pt, gamma));
}

double focal_background_total(const float* logits, int64_t num_classes, double alpha, double gamma) {
  double total = 0;
  for (int64_t c = 0; c < num_classes; ++c)
    total += focal_term(logit_terms(static_cast<double>(logits[c])), false, alpha, gamma);
  return total;
}

float focal_class_cost(double background_total, const Logit& label_logit, double alpha, double gamma) {
  return static_cast<float>(background_total - focal_term(label_logit, false, alpha, gamma) +
                            focal_term(label_logit, true, alpha, gamma));
}

float sigmoid_f32(float x) { return 1.0f / (1.0f + std::exp(-x)); }

float torch_pow(float x, double e) {
  if (e == 0.0) return 1.0f;
  if (e == 1.0) return x;
  if (e == 0.5) return std::sqrt(x);
  if (e == -0.5) return 1.0f / std::sqrt(x);
  if (e == -1.0) return 1.0f / x;
  if (e == 2.0) return x * x;
  if (e == 3.0) return x * x * x;
  if (e == -2.0) return 1.0f / (x * x);
  return static_cast<float>(std::pow(static_cast<double>(x), e));
}

}  // namespace assignscope::cost
