// loss.yolox and loss.ultralytics on the golden toys' inputs, against the
// values LOSSES.md computes by hand ("Toys, by hand"), not the stored results.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "io/dump.h"
#include "loss/loss.h"
#include "test_support.h"

namespace assignscope {
namespace {

// The toy's dump from ../shared/golden, or nullopt when it is absent.
std::optional<Batch> golden_toy(const std::string& name) {
  const std::string path = std::string(ASSIGNSCOPE_SHARED_GOLDEN) + "/" + name;
  if (!std::filesystem::is_directory(path)) return std::nullopt;
  auto dump = io::load_dump(path);
  REQUIRE_MESSAGE(dump.ok(), dump.status().message());
  return std::move(dump->batch);
}

}  // namespace

TEST_CASE("loss.yolox: the hand-computed toy (BCE(0, y) = ln 2, IoU 1, 0.8, 0.75 positive)") {
  const auto batch = golden_toy("loss-toy-yolox");
  if (!batch) return;
  auto r = loss::compute_loss(*loss::find_loss("yolox"), *batch, {});
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  // k = int(1 + 0.8 + 0.75 + 0.391 + 4 x 0.25) = 3 positives in image 0, none in image 1.
  CHECK(r->assignments[0].num_positives() == 3);
  CHECK(r->assignments[1].num_positives() == 0);
  const double ln2 = std::log(2.0), e = std::exp(1.0);
  CHECK(r->total[0] == doctest::Approx(5.0 * (0.0 + 0.36 + 0.4375) / 3).epsilon(1e-6));
  // 8 candidates with objectness 0, image 1's logit 2, every other -20 (~2e-9 each).
  CHECK(r->total[1] == doctest::Approx((8 * ln2 + std::log(1 + e * e)) / 3).epsilon(1e-5));
  CHECK(r->total[2] == doctest::Approx((3 * std::log(1 + e) - (1.0 + 0.8 + 0.75)) / 3).epsilon(1e-5));
  CHECK(r->file("num_fg.npy")->values[0] == 3.0);
}

TEST_CASE("loss.ultralytics: the hand-computed toy (CIoU 0.646722 x4 and 0.25, DFL one bin off), 8.2.0 and 8.4.52") {
  const auto batch = golden_toy("loss-toy-ultralytics");
  if (!batch) return;
  for (const char* version : {"8.2.0", "8.4.52"}) {
    CAPTURE(version);
    loss::LossSettings settings;
    settings.params = {{"version", version}};
    auto r = loss::compute_loss(*loss::find_loss("ultralytics"), *batch, settings);
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    CHECK(r->assignments[0].num_positives() == 5);
    // CIoU of the stride-8 predictions [8, 8, 24, 32] against [8, 8, 24, 24].
    const double pi = std::acos(-1.0);
    const double v = 4 / (pi * pi) * std::pow(std::atan(1.0) - std::atan(2.0 / 3), 2);
    const double ciou = 2.0 / 3 - 0.25 / 13 - v * v / (v + 1.0 / 3);
    CHECK(ciou == doctest::Approx(0.646722).epsilon(1e-6));
    const double w32 = std::pow(0.25 / ciou, 6) * ciou;  // the stride-32 prior, CIoU 0.25
    const double tss = 4 * ciou + w32;
    CHECK(r->file("target_scores_sum.npy")->values[0] == doctest::Approx(tss).epsilon(1e-5));
    const double cls = 0.5 * (5 * std::log(1 + std::exp(1.0)) - tss) / tss;
    const double box = 7.5 * (4 * (1 - ciou) * ciou + 0.75 * w32) / tss;
    const double ln2 = std::log(2.0);
    const double dfl8 = (3 * ln2 + 0.5 * (30 + ln2) + 0.5 * ln2) / 4;
    const double dfl = 1.5 * (4 * dfl8 * ciou + ln2 * w32) / tss;
    CHECK(r->total[0] == doctest::Approx(box).epsilon(1e-5));
    CHECK(r->total[1] == doctest::Approx(cls).epsilon(1e-4));  // + the -20 logits' ~1e-9 terms
    CHECK(r->total[2] == doctest::Approx(dfl).epsilon(1e-5));
    CHECK(r->total[0] == doctest::Approx(2.652068).epsilon(1e-5));
    CHECK(r->total[1] == doctest::Approx(0.768095).epsilon(1e-5));
    CHECK(r->total[2] == doctest::Approx(6.660032).epsilon(1e-5));
    CHECK(r->file("loss.npy")->shape.size() == (std::string(version) == "8.4.52" ? 1 : 0));
  }
}

TEST_CASE("loss.ultralytics: under every assigner the toy feeds (TAL's normalisation for the others)") {
  const auto batch = golden_toy("loss-ultralytics-g12-tiny-320");
  if (!batch) return;
  for (const char* name : {"simota", "dynamic-soft-label", "atss", "task-aligned", "task-aligned.ultralytics"}) {
    CAPTURE(name);
    const auto r = testing::run_cli("diff " + std::string(ASSIGNSCOPE_SHARED_GOLDEN) +
                                    "/loss-ultralytics-g12-tiny-320 -a task-aligned.ultralytics -b " + name +
                                    " --loss ultralytics -f json");
    CAPTURE(r.err);
    CHECK(r.exit_code == 0);
    const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    CHECK(std::isfinite(j["change"]["total"].get<double>()));
  }
}

}  // namespace assignscope
