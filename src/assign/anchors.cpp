// Anchor boxes from the dump or from the priors' strides.
#include "assign/anchors.h"

namespace assignscope::assign {

Rows4f anchor_boxes(const Problem& p, double anchor_scale) {
  if (p.has(Field::kAnchors)) return p.anchors;
  Rows4f a(p.num_priors(), 4);
  for (int64_t i = 0; i < p.num_priors(); ++i) {
    const auto half = static_cast<float>(static_cast<double>(p.priors(i, 2)) * anchor_scale / 2.0);
    a.row(i) << p.priors(i, 0) - half, p.priors(i, 1) - half, p.priors(i, 0) + half, p.priors(i, 1) + half;
  }
  return a;
}

Rows4f anchor_centres(const Rows4f& anchors) {
  Rows4f c = Rows4f::Zero(anchors.rows(), 4);
  for (Eigen::Index i = 0; i < anchors.rows(); ++i) {
    c(i, 0) = (anchors(i, 0) + anchors(i, 2)) / 2.0f;
    c(i, 1) = (anchors(i, 1) + anchors(i, 3)) / 2.0f;
  }
  return c;
}

}  // namespace assignscope::assign
