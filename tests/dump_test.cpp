// Loading dumps: every container and layout gives the same Problem; batches;
// one broken dump per error kind gives a one-line error naming file and field.
#include <doctest/doctest.h>

#include <filesystem>

#include <zlib.h>

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

TEST_CASE("dump: each broken dump gives one line naming the file, the field and what was expected") {
  struct Bad {
    const char* rel;
    ErrorKind kind;
    std::vector<const char*> says;
  };
  const std::vector<Bad> cases = {
      {"truncated-npy", ErrorKind::kCorrupt, {"cls_scores.npy", "truncated", "960"}},
      {"bad-magic", ErrorKind::kCorrupt, {"priors.npy", "magic"}},
      {"bad-header", ErrorKind::kCorrupt, {"priors.npy", "header", "shope"}},
      {"unsupported-dtype", ErrorKind::kUnsupported, {"cls_scores.npy", "<c8", "supported"}},
      {"shape-mismatch", ErrorKind::kInvalidInput, {"cls_scores.npy", "(79, 3)", "N = 80", "priors.npy"}},
      {"boxes-not-4", ErrorKind::kInvalidInput, {"gt_bboxes.npy", "(2, 3)", "[G, 4]"}},
      {"labels-count", ErrorKind::kInvalidInput, {"gt_labels.npy", "G = 2"}},
      {"label-out-of-range", ErrorKind::kInvalidInput, {"gt_labels.npy", "gt_labels[1] is 3", "[0, 3)"}},
      {"label-negative", ErrorKind::kInvalidInput, {"gt_labels[0] is -1"}},
      {"label-fractional", ErrorKind::kInvalidInput, {"gt_labels[1] is 1.5", "integer"}},
      {"nan-logit", ErrorKind::kInvalidInput, {"cls_scores.npy", "cls_scores[5, 1] is nan", "--allow-nonfinite"}},
      {"inf-gt", ErrorKind::kInvalidInput, {"gt_bboxes[1, 2] is inf"}},
      {"inverted-gt", ErrorKind::kInvalidInput, {"gt_bboxes[0, 0]", "x2 < x1", "(x1, y1, x2, y2)"}},
      {"zero-stride", ErrorKind::kInvalidInput, {"priors[7, 0]", "stride must be > 0"}},
      {"level-sum", ErrorKind::kInvalidInput, {"num_level_priors", "sums to 79", "N = 80"}},
      {"meta-version", ErrorKind::kInvalidInput, {"meta.json", "version", "expected 1"}},
      {"meta-num-classes", ErrorKind::kInvalidInput, {"num_classes", "80", "C = 3"}},
      {"probs-out-of-range", ErrorKind::kInvalidInput, {"cls_scores[0, 0]", "[0, 1]"}},
      {"bad-meta-json", ErrorKind::kCorrupt, {"meta.json", "not valid JSON", "line 1"}},
      {"bad-json.json", ErrorKind::kCorrupt, {"bad-json.json", "not valid JSON"}},
      {"nan-token.json", ErrorKind::kCorrupt, {"nan-token.json", "NaN and Infinity are not JSON"}},
      {"ragged.json", ErrorKind::kInvalidInput, {"ragged.json:gt_bboxes[1]", "ragged", "expected 4"}},
      {"truncated.npz", ErrorKind::kCorrupt, {"truncated.npz"}},
      {"crc.npz", ErrorKind::kCorrupt, {"crc.npz:", "CRC"}},
      {"not-a-zip.npz", ErrorKind::kCorrupt, {"not-a-zip.npz", "zip"}},
      {"pad-in-middle", ErrorKind::kInvalidInput, {"pad_gt_mask[1, 1]", "padding at the end"}},
      {"batch-b-mismatch", ErrorKind::kInvalidInput, {"cls_scores.npy", "B = 2"}},
      {"empty-dir", ErrorKind::kInvalidInput, {"empty-dir", "no dump here"}},
      // Inputs built to break a reader (review findings): no wrap-around, no
      // undefined casts, no stack exhaustion, no second line.
      {"level-overflow", ErrorKind::kInvalidInput, {"num_level_priors[0] is 9223372036854775807", "2^53"}},
      {"label-huge-float", ErrorKind::kInvalidInput, {"gt_labels[0] is 1e+30"}},
      {"batch-zero", ErrorKind::kInvalidInput, {"B = 0", "at least one image"}},
      {"deep-field.json", ErrorKind::kInvalidInput, {"priors", "nested deeper than 8 levels"}},
      {"deep-meta.json", ErrorKind::kInvalidInput, {"version", "a JSON array of 1"}},
      {"newline-member.npz", ErrorKind::kUnsupported, {"evil\\x0aassignscope", "<c8"}},
  };
  for (const Bad& b : cases) {
    CAPTURE(b.rel);
    const std::string path = source_path(std::string("testdata/bad/") + b.rel);
    testing::check_error(io::load_dump(path).status(), b.kind, path, b.says);
  }
}

TEST_CASE("dump: a level count above N is refused before levels are built") {
  auto raw = io::parse_json_dump(R"({"priors": [[4, 4, 8, 8], [12, 4, 8, 8]], "num_level_priors": [3, -1]})", "l.json");
  REQUIRE(raw.ok());
  testing::check_error(io::build_batch(std::move(raw).value(), {}).status(), ErrorKind::kInvalidInput, "l.json",
                       {"num_level_priors[0] is 3", "[0, N = 2]"});
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

TEST_CASE("dump: JSON containers, parsed from text") {
  auto raw = io::parse_json_dump(R"({"meta": {"version": 1, "num_classes": 2},
      "priors": [[4, 4, 8, 8], [12, 4, 8, 8]], "gt_bboxes": [], "gt_labels": []})",
                                 "inline.json");
  REQUIRE(raw.ok());
  auto d = io::build_batch(std::move(raw).value(), {});
  REQUIRE_MESSAGE(d.ok(), d.status().message());
  CHECK(d->batch.images[0].num_gts() == 0);
  CHECK(d->batch.images[0].num_classes() == 2);
  CHECK(d->batch.images[0].levels_inferred);

  auto top = io::parse_json_dump("[1, 2]", "list.json");
  CHECK(top.status().message().find("expected an object") != std::string::npos);
  auto nulls = io::parse_json_dump(R"({"priors": [[4, null, 8, 8]]})", "null.json");
  CHECK(nulls.status().message().find("null.json:priors[0, 1]: null") != std::string::npos);
  auto text = io::parse_json_dump(R"({"priors": [["a", 1, 8, 8]]})", "s.json");
  CHECK(text.status().message().find("string where a number was expected") != std::string::npos);
  auto twice = io::parse_json_dump(R"({"pad_gt_mask": [[1]], "pad_bbox_flag": [[1]]})", "t.json");
  CHECK(twice.status().message().find("given twice") != std::string::npos);
}

}  // namespace assignscope

namespace assignscope {

TEST_CASE("dump: an .npz member whose .npy header is longer than the first bytes inflated") {
  // np.savez of one array with 25000 axes of length 1: a ~75 KB header.
  const std::vector<int64_t> many_axes(25000, 1);
  const int64_t one = 7;
  const std::vector<unsigned char> member = io::npy_bytes(&one, many_axes);
  std::vector<unsigned char> zip;
  const auto put = [&](uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) zip.push_back(static_cast<unsigned char>(v >> (8 * i)));
  };
  const std::string name = "priors.npy";
  const uint32_t crc = static_cast<uint32_t>(crc32(0L, member.data(), static_cast<uInt>(member.size())));
  put(0x04034b50, 4), put(20, 2), put(0, 2), put(0, 2), put(0, 4), put(crc, 4), put(member.size(), 4),
      put(member.size(), 4), put(name.size(), 2), put(0, 2);
  zip.insert(zip.end(), name.begin(), name.end());
  zip.insert(zip.end(), member.begin(), member.end());
  const uint64_t directory = zip.size();
  put(0x02014b50, 4), put(20, 2), put(20, 2), put(0, 2), put(0, 2), put(0, 4), put(crc, 4), put(member.size(), 4),
      put(member.size(), 4), put(name.size(), 2), put(0, 2), put(0, 2), put(0, 2), put(0, 2), put(0, 4), put(0, 4);
  zip.insert(zip.end(), name.begin(), name.end());
  const uint64_t directory_size = zip.size() - directory;
  put(0x06054b50, 4), put(0, 2), put(0, 2), put(1, 2), put(1, 2), put(directory_size, 4), put(directory, 4),
      put(0, 2);
  auto raw = io::parse_npz(zip, "wide.npz");
  REQUIRE_MESSAGE(raw.ok(), raw.status().message());
  CHECK(raw->fields.at("priors").array.shape == many_axes);
  CHECK(raw->fields.at("priors").array.to_int64(0) == 7);
}

}  // namespace assignscope
