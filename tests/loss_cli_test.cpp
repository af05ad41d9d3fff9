// `run --loss HEAD` and `diff --loss HEAD` end to end, and every head under
// every registered assigner the demo dump can feed.
#include <doctest/doctest.h>

#include <cmath>

#include "assign/assigner.h"
#include "io/dump.h"
#include "loss/loss.h"
#include "test_support.h"

namespace assignscope {
namespace {

const std::string kDemo = "testdata/coco640-late-g12-objectness";

nlohmann::json parse(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

}  // namespace

TEST_CASE("cli: run --loss rtmdet under the head's own assigner, as JSON") {
  const auto r = testing::run_cli("run " + kDemo + " --loss rtmdet -f json");
  CAPTURE(r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json j = parse(r.out);
  CHECK(j["schema"] == "assignscope.loss/1");
  CHECK(j["head"] == "loss.rtmdet");
  CHECK(j["assigner"] == "dynamic-soft-label");
  CHECK(j["components"] == nlohmann::json({"loss_cls", "loss_bbox"}));
  CHECK(j["levels"].size() == 3);
  const double total = j["total"]["total"].get<double>();
  CHECK(total == doctest::Approx(j["total"]["loss_cls"].get<double>() + j["total"]["loss_bbox"].get<double>()));
  CHECK(j["images"][0]["gts"].size() == 12);
}

TEST_CASE("cli: run -a simota --loss yolox as CSV, one row per GT") {
  const auto r = testing::run_cli("run " + kDemo + " -a simota --loss yolox -f csv");
  CAPTURE(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.rfind("image,gt,label,positives,loss_iou,loss_obj,loss_cls,total,assigner,head\r\n", 0) == 0);
  CHECK(testing::count_lines(r.out) == 13);
  CHECK(r.out.find(",simota,loss.yolox\r\n") != std::string::npos);
}

TEST_CASE("cli: run --loss errors are one line, exit 2") {
  const auto typo = testing::run_cli("run " + kDemo + " --loss rtmdett");
  CHECK(typo.exit_code == 2);
  CHECK(typo.err.find("did you mean 'rtmdet'") != std::string::npos);
  CHECK(testing::count_lines(typo.err) == 1);
  const auto no_dist = testing::run_cli("run " + kDemo + " --loss ultralytics");
  CHECK(no_dist.exit_code == 2);
  CHECK(no_dist.err.find("'pred_dist'") != std::string::npos);
  CHECK(testing::count_lines(no_dist.err) == 1);
  const auto svg = testing::run_cli("run " + kDemo + " --loss rtmdet -f svg -o x.svg");
  CHECK(svg.exit_code == 2);
}

TEST_CASE("cli: run --loss --format npy writes a result check replays") {
  testing::TempDir tmp;
  const std::string out = tmp.path("loss");
  const auto r = testing::run_cli("run " + kDemo + " -a simota --loss rtmdet -f npy -o '" + out + "'");
  CAPTURE(r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json params = parse(testing::read_text(out + "/params.json"));
  CHECK(params["loss"] == "loss.rtmdet");
  CHECK(params["assigner"] == "simota");
  const auto c = testing::run_cli("check '" + out + "'");
  CAPTURE(c.out);
  CAPTURE(c.err);
  CHECK(c.exit_code == 0);
  CHECK(c.out.find("ok ") != std::string::npos);
  CHECK(c.out.find("loss.npy") == std::string::npos);  // nothing differs
}

TEST_CASE("cli: diff --loss shows how the loss moves per GT") {
  const auto r = testing::run_cli("diff " + kDemo + " -a dynamic-soft-label -b simota --loss rtmdet -f json");
  CAPTURE(r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json j = parse(r.out);
  CHECK(j["schema"] == "assignscope.loss-diff/1");
  CHECK(j["a"]["assigner"] == "dynamic-soft-label");
  CHECK(j["b"]["assigner"] == "simota");
  const double change = j["change"]["total"].get<double>();
  CHECK(change == doctest::Approx(j["b"]["total"]["total"].get<double>() - j["a"]["total"]["total"].get<double>()));
  CHECK(j["images"][0]["gts"].size() == 12);
  const auto table = testing::run_cli("diff " + kDemo + " -a dynamic-soft-label -b simota --loss yolox -f table");
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("d loss_iou") != std::string::npos);
  const auto stored = testing::run_cli("diff a b --loss rtmdet");
  CHECK(stored.exit_code == 2);
}

TEST_CASE("loss: every head under every assigner the demo dump feeds gives finite values") {
  auto dump = io::load_dump(testing::source_path(kDemo));
  REQUIRE(dump.ok());
  int pairs = 0;
  for (const assign::AssignerInfo& info : assign::registry()) {
    if (!assign::check_needs(info, dump->batch.images[0]).ok()) continue;
    auto assigned = assign::assign_batch(info, assign::default_params(info), dump->batch);
    if (!assigned.ok()) continue;
    for (const char* name : {"rtmdet", "yolox"}) {
      CAPTURE(info.name);
      CAPTURE(name);
      loss::LossSettings settings;
      settings.assignments = &*assigned;
      settings.assigner = info.name;
      auto r = loss::compute_loss(*loss::find_loss(name), dump->batch, settings);
      REQUIRE_MESSAGE(r.ok(), r.status().message());
      for (double v : r->total) CHECK(std::isfinite(v));
      CHECK(r->assigner == info.name);
      ++pairs;
    }
  }
  CHECK(pairs >= 20);
}

}  // namespace assignscope
