// The dump fields and meta keys that carry a framework's own terms: box_format
// (YOLOX's cxcywh), gt_centers (RTMDet-Ins' mask centres), a softmax head's
// background column, the provenance the hooks record, all-zero priors, and
// the optional fields of later assigners (centerness, pred_dist).
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/dump.h"
#include "test_support.h"

namespace assignscope {
namespace {

Result<io::LoadedDump> load_text(const std::string& json) {
  auto raw = io::parse_json_dump(json, "t.json");
  if (!raw.ok()) return raw.status();
  return io::build_batch(std::move(raw).value(), {});
}

Problem one(const std::string& json) {
  auto d = load_text(json);
  REQUIRE_MESSAGE(d.ok(), d.status().message());
  REQUIRE(d->batch.images.size() == 1);
  return d->batch.images[0];
}

std::string error(const std::string& json) {
  auto d = load_text(json);
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().message().find('\n') == std::string::npos);
  return d.status().message();
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Two stride-8 priors, one GT, two classes; `extra` adds fields and meta.
std::string scene(const std::string& extra, const std::string& meta = "") {
  return R"({"meta": {"version": 1)" + meta + R"(}, "priors": [[4, 4, 8, 8], [12, 4, 8, 8]],
             "cls_scores": [[0, 1], [2, -1]], "pred_bboxes": [[0, 0, 8, 8], [8, 0, 16, 8]],
             "gt_bboxes": [[1, 1, 15, 7]], "gt_labels": [1])" +
         extra + "}";
}

}  // namespace

TEST_CASE("dump fields: box_format cxcywh keeps YOLOX's boxes as given and converts them for the others") {
  // (cx, cy, w, h) = (8, 4, 14, 6): corners (1, 1, 15, 7), computed c -+ w / 2 in float32.
  const Problem p = one(R"({"meta": {"box_format": "cxcywh"}, "priors": [[4, 4, 8, 8]], "cls_scores": [[0]],
      "pred_bboxes": [[4.1, 3.9, 8.3, 7.7]], "gt_bboxes": [[8, 4, 14, 6]], "gt_labels": [0],
      "gt_bboxes_ignore": [[20, 20, 4, 4]]})");
  CHECK(p.meta.box_format == BoxFormat::kCxcywh);
  REQUIRE(p.gt_cxcywh.rows() == 1);
  CHECK(p.gt_cxcywh(0, 2) == 14.0f);
  CHECK(p.gt_bboxes(0, 0) == 1.0f);
  CHECK(p.gt_bboxes(0, 3) == 7.0f);
  CHECK(p.pred_cxcywh(0, 0) == 4.1f);
  CHECK(p.pred_bboxes(0, 0) == 4.1f - 8.3f / 2.0f);
  CHECK(p.gt_bboxes_ignore(0, 0) == 18.0f);
  CHECK(contains(error(R"({"meta": {"box_format": "xywh"}, "priors": [[4, 4, 8, 8]]})"),
                 "meta key 'box_format' is \"xywh\"; expected \"xyxy\" or \"cxcywh\""));
  // A negative width is still a broken box after the conversion.
  CHECK(contains(error(R"({"meta": {"box_format": "cxcywh"}, "priors": [[4, 4, 8, 8]],
                           "gt_bboxes": [[8, 4, -14, 6]], "gt_labels": [0]})"),
                 "gt_bboxes[0, 0]"));
}

TEST_CASE("dump fields: simota.yolox computes on the cxcywh values of the dump, not on a round trip") {
  // YOLOX's bboxes_iou(xyxy=False) in float32 on (cx, cy, w, h) as given:
  // GT (8.31, 4.61, 14.87, 8.22), prediction (4.40, 4.12, 8.89, 9.20) give
  // 0.47300032; through xyxy and back (c -+ w / 2, then (x1 + x2) / 2,
  // x2 - x1) the values move by an ulp and the IoU is 0.47300038.
  const std::string cxcywh = R"({"meta": {"box_format": "cxcywh"}, "priors": [[0, 0, 8, 8]], "cls_scores": [[1]],
      "objectness": [1], "pred_bboxes": [[4.40, 4.12, 8.89, 9.20]], "gt_bboxes": [[8.31, 4.61, 14.87, 8.22]],
      "gt_labels": [0]})";
  const Problem p = one(cxcywh);
  const auto yolox_iou = [](const std::array<float, 4>& a, const std::array<float, 4>& b) {
    const float tl[2] = {std::max(a[0] - a[2] / 2, b[0] - b[2] / 2), std::max(a[1] - a[3] / 2, b[1] - b[3] / 2)};
    const float br[2] = {std::min(a[0] + a[2] / 2, b[0] + b[2] / 2), std::min(a[1] + a[3] / 2, b[1] + b[3] / 2)};
    const float inter = (br[0] - tl[0]) * (br[1] - tl[1]);
    return inter / (a[2] * a[3] + b[2] * b[3] - inter);
  };
  const std::array<float, 4> gt = {8.31f, 4.61f, 14.87f, 8.22f}, pred = {4.40f, 4.12f, 8.89f, 9.20f};
  const auto round_trip = [](const std::array<float, 4>& b) {
    const float x1 = b[0] - b[2] / 2, y1 = b[1] - b[3] / 2, x2 = b[0] + b[2] / 2, y2 = b[1] + b[3] / 2;
    return std::array<float, 4>{(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1};
  };
  const float exact = yolox_iou(gt, pred);
  REQUIRE(exact != yolox_iou(round_trip(gt), round_trip(pred)));  // the scene discriminates
  const Assignment a = testing::run_assigner("simota.yolox", p);
  REQUIRE(a.gt_inds == std::vector<int64_t>{1});
  CHECK(a.max_overlaps[0] == exact);  // bit for bit
  CHECK(testing::run_assigner("simota.yolox", p, {{"search", "dense"}}).max_overlaps[0] == exact);
}

TEST_CASE("dump fields: gt_centers move dynamic-soft-label's soft centre prior, in both searches") {
  const std::string base = scene("");
  const std::string centred = scene(R"(, "gt_centers": [[13, 4]])");
  const Problem a = one(base), b = one(centred);
  REQUIRE(b.gt_centers.rows() == 1);
  CHECK(a.gt_centers.rows() == 0);
  for (const char* name : {"dynamic-soft-label", "dynamic-soft-label.mmyolo"}) {
    CAPTURE(name);
    const Assignment ra = testing::run_assigner(name, a, {{"topk", "1"}});
    const Assignment rb = testing::run_assigner(name, b, {{"topk", "1"}});
    // Box centre (8, 4): prior 0 at distance 0.5 strides, prior 1 at 0.5: equal centre terms.
    // Mask centre (13, 4): prior 1 at 0.125 strides, prior 0 at 1.125: 10^(d - 3) favours prior 1.
    const CandidatePair* a0 = testing::find_pair(ra, 0, 0);
    const CandidatePair* b0 = testing::find_pair(rb, 0, 0);
    const CandidatePair* b1 = testing::find_pair(rb, 1, 0);
    REQUIRE(a0);
    REQUIRE(b0);
    REQUIRE(b1);
    CHECK(a0->terms[2] == doctest::Approx(std::pow(10.0, 0.5 - 3.0)).epsilon(1e-5));
    CHECK(b0->terms[2] == doctest::Approx(std::pow(10.0, 1.125 - 3.0)).epsilon(1e-5));
    CHECK(b1->terms[2] == doctest::Approx(std::pow(10.0, 0.125 - 3.0)).epsilon(1e-5));
    const Assignment dense = testing::run_assigner(name, b, {{"topk", "1"}, {"search", "dense"}});
    CHECK(dense.gt_inds == rb.gt_inds);
    CHECK(dense.candidates.size() == rb.candidates.size());
  }
  CHECK(contains(error(scene(R"(, "gt_centers": [[13, 4, 1]])")), "gt_centers"));
  CHECK(contains(error(scene(R"(, "gt_centers": [[13, 4], [1, 1]])")), "G = 1"));
}

TEST_CASE("dump fields: C + 1 columns with num_classes C are a softmax head's, refused by sigmoid assigners") {
  const Problem p = one(scene("", R"(, "num_classes": 1)"));
  CHECK(p.background_column);
  CHECK(p.num_classes() == 1);
  const assign::AssignerInfo* dsla = assign::find_assigner("dynamic-soft-label");
  REQUIRE(dsla);
  const Status st = assign::check_needs(*dsla, p);
  CHECK(st.kind() == ErrorKind::kInvalidInput);
  CHECK(contains(st.message(), "C + 1 = 2 columns with meta num_classes = 1"));
  // Assigners that read no scores do not care.
  CHECK(assign::check_needs(*assign::find_assigner("atss"), p).ok());
  CHECK(contains(error(scene("", R"(, "num_classes": 3)")), "expected C (sigmoid heads) or C + 1"));
}

TEST_CASE("dump fields: the provenance a hook records is read, typed, and checked") {
  const Problem p = one(scene("", R"(, "framework": "ultralytics", "framework_version": "8.4.52", "device": "cpu",
      "dtype": "float16", "autocast": true, "step": 200, "epoch": 3, "rank": 1, "branch": "one2one",
      "assigner": "task-aligned.ultralytics", "preset": "yolo26-o2o",
      "assigner_params": {"topk": 7, "stride": [8, 16, 32], "topk2": 1})"));
  CHECK(p.meta.framework == "ultralytics");
  CHECK(p.meta.framework_version == "8.4.52");
  CHECK(p.meta.autocast == true);
  CHECK(p.meta.step == 200);
  CHECK(p.meta.branch == "one2one");
  CHECK(nlohmann::json::parse(p.meta.assigner_params)["topk2"] == 1);
  CHECK(contains(error(scene("", R"(, "step": "200")")), "meta key 'step' is \"200\"; expected an integer"));
  CHECK(contains(error(scene("", R"(, "framework": 8)")), "meta key 'framework' is 8; expected a string"));
  CHECK(contains(error(scene("", R"(, "assigner_params": [7])")), "expected an object of parameters"));
  CHECK(contains(error(scene("", R"(, "autocast": "yes")")), "expected true or false"));
}

TEST_CASE("dump fields: centerness and pred_dist are read and checked") {
  const Problem p = one(scene(R"(, "centerness": [[0.5], [-1]], "pred_dist": [[0,1,2,3,4,5,6,7], [0,0,0,0,0,0,0,0]])",
                              R"(, "reg_max": 2)"));
  CHECK(p.centerness == std::vector<float>{0.5f, -1.0f});
  CHECK(p.pred_dist.cols() == 8);
  CHECK(p.pred_dist(0, 7) == 7.0f);
  CHECK(contains(error(scene(R"(, "pred_dist": [[0,1,2], [0,0,0]])")), "3 columns; expected 4 * reg_max"));
  CHECK(contains(error(scene(R"(, "pred_dist": [[0,1,2,3], [0,0,0,0]])", R"(, "reg_max": 2)")),
                 "meta key 'reg_max' is 2"));
  CHECK(contains(error(scene(R"(, "centerness": [0.5])")), "centerness"));
}

TEST_CASE("dump fields: all-zero priors replay through mmyolo's ATSS as zero-size anchors, as its unit test feeds it") {
  // mmyolo's test_batch_atss_assigner_with_empty_boxs: priors = torch.zeros(84, 4), two GTs, one padding.
  std::string priors, preds;
  for (int i = 0; i < 84; ++i) {
    priors += std::string(i ? ", " : "") + "[0, 0, 0, 0]";
    const float x = static_cast<float>(-4 + 8 * (i % 4));
    preds += fmt::format("{}[{}, -4, {}, 12]", i ? ", " : "", x, x + 16);
  }
  auto d = load_text(R"({"priors": [)" + priors + R"(], "num_level_priors": [64, 16, 4], "pred_bboxes": [[)" + preds +
                     "], [" + preds + R"(]], "gt_bboxes": [[[0, 0, 60, 93], [229, 0, 532, 157]], [[0, 0, 60, 93],
                     [229, 0, 532, 157]]], "gt_labels": [[[0], [11]], [[0], [11]]], "pad_gt_mask": [[[1], [0]], [[1], [0]]]})");
  REQUIRE_MESSAGE(d.ok(), d.status().message());
  REQUIRE(d->batch.images.size() == 2);
  CHECK(d->batch.images[0].strideless_priors);
  const assign::AssignerInfo* info = assign::find_assigner("atss.mmyolo");
  REQUIRE(info);
  auto results = assign::assign_batch(*info, assign::default_params(*info), d->batch);
  REQUIRE_MESSAGE(results.ok(), results.status().message());
  for (const Assignment& a : *results) {
    CHECK(a.num_priors() == 84);
    CHECK(a.num_positives() == 0);  // a zero-size anchor overlaps nothing
  }
  // Other assigners still say why all-zero priors are not point priors.
  const Status st = assign::check_needs(*assign::find_assigner("dynamic-soft-label"), d->batch.images[0]);
  CHECK(contains(st.message(), "stride 0 in every row"));
}

TEST_CASE(
    "dump fields: padding labels are whatever the padding holds, and only mmyolo's DSLA, which reads them, checks "
    "them") {
  // A batch of one image, one real GT and a padding row labelled 11 with C = 2 (mmyolo's ATSS unit test pads so).
  auto d = load_text(R"({"meta": {"num_classes": 2}, "priors": [[4, 4, 8, 8], [12, 4, 8, 8]],
      "cls_scores": [[[0, 1], [2, -1]]], "pred_bboxes": [[[0, 0, 8, 8], [8, 0, 16, 8]]],
      "gt_bboxes": [[[1, 1, 15, 7], [0, 0, 0, 0]]], "gt_labels": [[1, 11]], "pad_gt_mask": [[1, 0]]})");
  REQUIRE_MESSAGE(d.ok(), d.status().message());
  CHECK(d->batch.images[0].padding_gt_labels == std::vector<int64_t>{11});
  const assign::AssignerInfo* atss = assign::find_assigner("atss.mmyolo");
  const assign::AssignerInfo* dsl = assign::find_assigner("dynamic-soft-label.mmyolo");
  CHECK(assign::assign_batch(*atss, assign::default_params(*atss), d->batch).ok());
  auto refused = assign::assign_batch(*dsl, assign::default_params(*dsl), d->batch);
  REQUIRE_FALSE(refused.ok());
  CHECK(contains(refused.status().message(), "gt_labels of padding row 1 is 11"));
  CHECK(contains(refused.status().message(), "[-C, C) = [-2, 2)"));
}

TEST_CASE("cli: a dump's recorded assigner replays without -a, and a version it does not replay is warned about") {
  testing::TempDir tmp;
  const std::string d = tmp.path("hooked.json");
  {
    std::ofstream out(d);
    out << scene("", R"(, "framework": "ultralytics", "framework_version": "8.3.252",
        "assigner": "task-aligned.ultralytics", "assigner_params": {"topk": 2, "stride": [8, 16, 32]})");
  }
  const auto r = testing::run_cli("run '" + d + "' -f json");
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["assigner"] == "task-aligned.ultralytics");
  CHECK(j["params"]["topk"] == 2);
  CHECK(contains(r.err, "replaying task-aligned.ultralytics as the dump records"));
  CHECK(contains(r.err, "the dump comes from ultralytics 8.3.252, but task-aligned.ultralytics with"));
  CHECK(contains(r.err, "replays ultralytics 8.4"));
  // -a wins over the record.
  const auto named = testing::run_cli("run '" + d + "' -a task-aligned.ultralytics -f json");
  REQUIRE(named.exit_code == 0);
  CHECK(nlohmann::json::parse(named.out)["params"]["topk"] == 10);
}

TEST_CASE("dump fields: values that are legal one by one but wrong together are warned about") {
  auto warnings_of = [](const std::string& json) {
    auto d = load_text(json);
    REQUIRE_MESSAGE(d.ok(), d.status().message());
    std::string all;
    for (const std::string& w : d->warnings) all += w + "\n";
    return all;
  };
  // 16 scores, every one in [0, 1], under the default "logits": probabilities misread.
  const std::string probs = R"({"priors": [[4,4,8,8],[12,4,8,8],[20,4,8,8],[28,4,8,8]],
      "cls_scores": [[0.1,0.9,0.2,0.3],[0.5,0.5,0,1],[0.7,0.2,0.1,0.4],[0.3,0.3,0.3,0.3]],
      "pred_bboxes": [[0,0,8,8],[8,0,16,8],[16,0,24,8],[24,0,32,8]],
      "gt_bboxes": [[1,1,15,7]], "gt_labels": [1])";
  CHECK(contains(warnings_of(probs + "}"), "lies in [0, 1], as probabilities do"));
  CHECK_FALSE(contains(warnings_of(R"({"meta": {"scores": "probs"}, )" + probs.substr(1) + "}"), "probabilities do"));
  // One value outside [0, 1] and the scores are logits.
  std::string logits = probs;
  logits.replace(logits.find("0.9"), 3, "2.5");
  CHECK_FALSE(contains(warnings_of(logits + "}"), "probabilities do"));
  // Zeros alone say nothing.
  std::string zeros = probs;
  for (const char* v : {"0.1", "0.9", "0.2", "0.3", "0.5", "0.7", "0.4"})
    for (size_t at; (at = zeros.find(v)) != std::string::npos;) zeros.replace(at, 3, "0");
  zeros.replace(zeros.find(",1]"), 3, ",0]");
  CHECK_FALSE(contains(warnings_of(zeros + "}"), "probabilities do"));
  // Too few values to say (the two-prior scene has 4).
  CHECK_FALSE(contains(warnings_of(scene("")), "probabilities do"));

  // GT boxes normalised to [0, 1] against a 640-pixel image.
  const std::string normalised = R"({"meta": {"image_size": [640, 640]}, "priors": [[4, 4, 8, 8]], "cls_scores": [[0]],
      "pred_bboxes": [[0, 0, 8, 8]], "gt_bboxes": [[0.1, 0.2, 0.5, 0.6]], "gt_labels": [0]})";
  CHECK(contains(warnings_of(normalised), "boxes normalised to the image?"));
  // In pixels, or without an image size, nothing is said.
  CHECK_FALSE(contains(warnings_of(scene("", R"(, "image_size": [640, 640])")), "normalised"));
  std::string no_size = normalised;
  no_size.replace(no_size.find(R"("image_size": [640, 640])"), 24, R"("version": 1)");
  CHECK_FALSE(contains(warnings_of(no_size), "normalised"));
}

}  // namespace assignscope
