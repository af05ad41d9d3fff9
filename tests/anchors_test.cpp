// Anchor boxes: from the dump's anchors field, else squares from strides.
#include <doctest/doctest.h>

#include "assign/anchors.h"
#include "test_support.h"

namespace assignscope {

TEST_CASE("anchors: squares of anchor_scale x stride centred on the priors, unless the dump has anchors") {
  Problem p = testing::row_of_four({{2, 0, 22, 8}}, {0});
  const Rows4f a = assign::anchor_boxes(p, 8.0);
  REQUIRE(a.rows() == 4);
  CHECK(a(0, 0) == -28.0f);  // 4 - 8 * 8 / 2
  CHECK(a(0, 2) == 36.0f);
  CHECK(a(3, 1) == -28.0f);
  CHECK(assign::anchor_boxes(p, 5.0)(1, 0) == -8.0f);  // 12 - 20
  const Rows4f c = assign::anchor_centres(a);
  CHECK(c(2, 0) == 20.0f);
  CHECK(c(2, 1) == 4.0f);

  p.anchors = Rows4f::Zero(4, 4);
  p.anchors.row(1) << 1, 2, 3, 4;
  p.mark(Field::kAnchors);
  CHECK(assign::anchor_boxes(p, 8.0)(1, 3) == 4.0f);
}

}  // namespace assignscope
