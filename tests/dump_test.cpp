// Loading dumps (io/dump.h): every container and layout gives the same Problem;
// batches, directories of dumps, paths that are not dumps. Containers and
// validation have their own tests (dump_containers_test, dump_validation_test).
#include <doctest/doctest.h>

#include <filesystem>

#include "io/dump.h"
#include "io/npy.h"
#include "test_support.h"

namespace assignscope {
namespace {

using testing::source_path;

Problem load_one(const std::string& rel, const io::LoadOptions& options = {}) {
  auto d = io::load_dump(source_path(rel), options);
  REQUIRE_MESSAGE(d.ok(), d.status().message());
  REQUIRE(d->batch.images.size() == 1);
  CHECK_FALSE(d->batch.is_batch);
  return d->batch.images[0];
}

void check_same(const Problem& a, const Problem& b, float tol = 0.0f) {
  REQUIRE(a.num_priors() == b.num_priors());
  CHECK(a.num_classes() == b.num_classes());
  CHECK(a.num_gts() == b.num_gts());
  CHECK(a.gt_labels == b.gt_labels);
  CHECK(a.num_level_priors == b.num_level_priors);
  CHECK((a.priors - b.priors).abs().maxCoeff() <= tol);
  CHECK((a.cls_scores - b.cls_scores).abs().maxCoeff() <= tol);
  CHECK((a.pred_bboxes - b.pred_bboxes).abs().maxCoeff() <= tol);
  CHECK((a.gt_bboxes - b.gt_bboxes).abs().maxCoeff() <= tol);
}

const char* kBase = "testdata/golden/toy-two-overlapping-gts";

}  // namespace

TEST_CASE("dump: every container holds the same image") {
  const Problem base = load_one(kBase);
  CHECK(base.num_priors() == 80);
  CHECK(base.num_classes() == 3);
  CHECK(base.num_gts() == 2);
  CHECK(base.num_level_priors == std::vector<int64_t>{64, 16});
  CHECK_FALSE(base.levels_inferred);
  CHECK(base.prior_level[63] == 0);
  CHECK(base.prior_level[64] == 1);
  CHECK(base.meta.image_size == std::array<int64_t, 2>{64, 64});
  CHECK(base.has(Field::kClsScores));
  CHECK_FALSE(base.has(Field::kAnchors));
  for (const char* rel : {"testdata/containers/stored.npz", "testdata/containers/deflate.npz",
                          "testdata/containers/dump.json", "testdata/containers/odd-layouts"}) {
    CAPTURE(rel);
    check_same(load_one(rel), base);
  }
}

TEST_CASE("dump: pred_distances are decoded around the prior centre") {
  const Problem base = load_one(kBase);
  const Problem d = load_one("testdata/containers/distances");
  CHECK(d.preds_from_distances);
  CHECK(d.has(Field::kPredBboxes));
  CHECK(d.has(Field::kPredDistances));
  check_same(d, base, 1e-5f);
}

TEST_CASE("dump: probabilities are turned into logits") {
  const Problem base = load_one(kBase);
  const Problem p = load_one("testdata/containers/probs");
  CHECK(p.meta.scores == ScoreKind::kProbs);
  CHECK((p.cls_scores - base.cls_scores).abs().maxCoeff() < 1e-4f);
}

TEST_CASE("dump: unknown fields are warned about, not fatal, and meta.json is optional") {
  auto d = io::load_dump(source_path("testdata/containers/extra-field"));
  REQUIRE(d.ok());
  REQUIRE(d->warnings.size() == 1);
  CHECK(d->warnings[0].find("img_ids") != std::string::npos);
  CHECK_FALSE(d->batch.images[0].meta.image_size.has_value());
}

TEST_CASE("dump: a golden case directory stands for its single .json / .npz") {
  const Problem p = load_one("testdata/golden/toy-single-gt");
  CHECK(p.num_priors() == 80);
  CHECK(p.num_gts() == 1);
}

TEST_CASE("dump: levels are inferred from strides when num_level_priors is absent, and [G, 1] labels load") {
  const Problem p = load_one("testdata/golden/toy-anchors-field");
  CHECK(p.levels_inferred);
  CHECK(p.num_level_priors.size() == 2);
  CHECK(p.has(Field::kAnchors));
  CHECK(p.num_gts() == static_cast<int64_t>(p.gt_labels.size()));
}

TEST_CASE("dump: a stacked batch with padding and a directory of dumps are the same batch") {
  auto stacked = io::load_dump(source_path("testdata/batch/stacked-b2"));
  auto dirs = io::load_dump(source_path("testdata/batch/dirs-b2"));
  REQUIRE(stacked.ok());
  REQUIRE(dirs.ok());
  for (const auto* d : {&stacked.value(), &dirs.value()}) {
    CHECK(d->batch.is_batch);
    REQUIRE(d->batch.images.size() == 2);
    CHECK(d->batch.gt_columns == 2);
  }
  CHECK(dirs->batch.images[0].name == "img0-two-overlapping");
  CHECK(stacked->batch.images[1].name == "1");
  const Problem first = load_one(kBase);
  const Problem second = load_one("testdata/golden/toy-gt-edge-on-prior-centres");
  for (const auto* d : {&stacked.value(), &dirs.value()}) {
    check_same(d->batch.images[0], first);
    check_same(d->batch.images[1], second);
  }
}

TEST_CASE("dump: --allow-nonfinite lets NaN through") {
  io::LoadOptions options;
  options.allow_nonfinite = true;
  const Problem p = load_one("testdata/bad/nan-logit", options);
  CHECK(std::isnan(p.cls_scores(5, 1)));
}

TEST_CASE("dump: hidden directories (an interrupted write's temp dir) are not batch images") {
  testing::TempDir tmp;
  namespace fs = std::filesystem;
  fs::copy(source_path("testdata/batch/dirs-b2"), tmp.path("b"), fs::copy_options::recursive);
  fs::create_directories(tmp.path("b/.assignscope-1.tmpdir"));
  auto d = io::load_dump(tmp.path("b"));
  REQUIRE_MESSAGE(d.ok(), d.status().message());
  CHECK(d->batch.images.size() == 2);
}

TEST_CASE("dump: --allow-nonfinite warns that NaN replays are unchecked") {
  io::LoadOptions options;
  options.allow_nonfinite = true;
  auto d = io::load_dump(source_path("testdata/bad/nan-logit"), options);
  REQUIRE(d.ok());
  REQUIRE(d->warnings.size() == 1);
  CHECK(d->warnings[0].find("1 non-finite values") != std::string::npos);
}

TEST_CASE("dump: paths that are not dumps") {
  CHECK(io::load_dump(source_path("testdata/nope")).status().kind() == ErrorKind::kIo);
  CHECK(io::load_dump(source_path("testdata/golden/toy-empty-gt/priors.npy")).status().kind() == ErrorKind::kUsage);
  CHECK(io::load_dump(source_path("CMakeLists.txt")).status().kind() == ErrorKind::kUsage);
}

}  // namespace assignscope
