// loss.rtmdet on a scene computed by hand (golden LOSSES.md "Toys, by hand",
// loss-toy-rtmdet): 32 x 32, one GT [4, 4, 20, 20] of class 1.
#include <doctest/doctest.h>

#include <cmath>

#include "loss/loss.h"
#include "test_support.h"

namespace assignscope {
namespace {

// Stride-8 priors at (0..24, 0..24), stride-16 at (0, 16); offset 0. The
// four stride-8 priors inside the GT predict IoU 1, 1, 1 and 0.8 boxes, the
// stride-16 prior inside it IoU 0.391; logits 0 there for class 1, -20
// everywhere else.
Batch toy() {
  std::vector<std::array<float, 4>> priors, preds;
  std::vector<std::vector<float>> logits;
  for (int s : {8, 16})
    for (int y = 0; y < 32; y += s)
      for (int x = 0; x < 32; x += s) {
        const auto fx = static_cast<float>(x), fy = static_cast<float>(y), fs = static_cast<float>(s);
        priors.push_back({fx, fy, fs, fs});
        preds.push_back({fx - 2, fy - 2, fx + 2, fy + 2});
        logits.push_back({-20.0f, -20.0f});
      }
  for (int i : {5, 6, 9}) preds[static_cast<size_t>(i)] = {4, 4, 20, 20}, logits[static_cast<size_t>(i)][1] = 0.0f;
  preds[10] = {4, 4, 20, 24}, logits[10][1] = 0.0f;
  preds[19] = {8, 8, 24, 24}, logits[19][1] = 0.0f;
  Batch batch;
  batch.images.push_back(testing::make_problem(priors, preds, logits, {{4, 4, 20, 20}}, {1}));
  Problem& p = batch.images[0];
  p.num_level_priors = {16, 4};
  p.prior_level.assign(20, 0);
  for (size_t i = 16; i < 20; ++i) p.prior_level[i] = 1;
  return batch;
}

}  // namespace

TEST_CASE("loss.rtmdet: the hand-computed toy (QFL = ln2 |IoU - 0.5|^2, avg factor 3.8)") {
  const loss::LossInfo* head = loss::find_loss("rtmdet");
  REQUIRE(head != nullptr);
  auto r = loss::compute_loss(*head, toy(), {});
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  // DSLA: k = int(1 + 1 + 1 + 0.8 + 0.391) = 4: the four stride-8 priors.
  CHECK(r->assignments[0].num_positives() == 4);
  for (size_t i : {5, 6, 9, 10}) CHECK(r->assignments[0].gt_inds[i] == 1);
  const double ln2 = std::log(2.0), eps = 1.1920928955078125e-07, avg = 3.8;
  // Positives: BCE(0, IoU) = ln 2, |IoU - sigmoid(0)|^2 = 0.25 (IoU 1) or
  // 0.09 (IoU 0.8); the stride-16 negative ln 2 * 0.25; the -20 logits
  // ~1e-26 each.
  const loss::LossFile* cls = r->file("loss_cls.npy");
  const loss::LossFile* bbox = r->file("loss_bbox.npy");
  REQUIRE(cls != nullptr);
  REQUIRE(bbox != nullptr);
  CHECK(cls->values[0] == doctest::Approx((3 * 0.25 + 0.09) * ln2 / (1 + eps) / avg).epsilon(1e-6));
  CHECK(cls->values[1] == doctest::Approx(0.25 * ln2 / (1 + eps) / avg).epsilon(1e-6));
  // GIoU loss 2 * 0.8 * (1 - 0.8) at the IoU 0.8 prior, 0 at IoU 1; none at level 1.
  CHECK(bbox->values[0] == doctest::Approx(2 * 0.8 * 0.2 / (1 + eps) / avg).epsilon(1e-6));
  CHECK(bbox->values[1] == 0.0);
  CHECK(r->file("cls_avg_factor.npy")->values[0] == doctest::Approx(avg).epsilon(1e-7));
  // Per GT: the positives' terms / avg factor; the negative belongs to no GT.
  CHECK(r->per_gt[0][0][0] == doctest::Approx((3 * 0.25 + 0.09) * ln2 / avg).epsilon(1e-6));
  CHECK(r->file("num_pos_per_gt.npy")->values[0] == 4.0);
}

TEST_CASE("loss registry: short and registry names, did-you-mean for a typo") {
  CHECK(loss::find_loss("loss.rtmdet") == loss::find_loss("rtmdet"));
  CHECK(loss::find_loss("rtmdett") == nullptr);
  const Status st = loss::unknown_loss("rtmdett");
  CHECK(st.kind() == ErrorKind::kUsage);
  CHECK(st.message().find("did you mean 'rtmdet'") != std::string::npos);
}

}  // namespace assignscope
