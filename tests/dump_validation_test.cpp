// Validation of a dump's fields (io/dump_validation.h): one broken dump per
// error kind gives a one-line error naming file, field and what was expected.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "io/dump.h"
#include "test_support.h"

namespace assignscope {

using testing::source_path;

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

}  // namespace assignscope
