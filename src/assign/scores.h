// Class and objectness probabilities as the probability-consuming references
// (SimOTA, task-aligned) receive them: sigmoid of the logits in float32, or
// the dump's own probabilities when it stored probabilities.
#pragma once

#include <cstdint>

#include "core/problem.h"
#include "cost/terms.h"

namespace assignscope::assign {

inline float class_probability(const Problem& p, int64_t prior, int64_t c) {
  return p.cls_probs.size() > 0 ? p.cls_probs(prior, c) : cost::sigmoid_f32(p.cls_scores(prior, c));
}

inline float objectness_probability(const Problem& p, int64_t prior) {
  return !p.objectness_probs.empty() ? p.objectness_probs[prior] : cost::sigmoid_f32(p.objectness[prior]);
}

}  // namespace assignscope::assign
