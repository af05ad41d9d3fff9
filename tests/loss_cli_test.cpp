// `run --loss HEAD` and `diff --loss HEAD` end to end, and every head under
// every registered assigner the demo dump can feed.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "assign/assigner.h"
#include "io/dump.h"
#include "io/files.h"
#include "io/npy.h"
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

namespace assignscope {
namespace {
std::vector<double> npy_values(const std::string& path) {
  auto a = io::read_npy_file(path);
  REQUIRE(a.ok());
  std::vector<double> out;
  for (int64_t i = 0; i < a->size(); ++i) out.push_back(a->to_double(i));
  return out;
}
}  // namespace

TEST_CASE("loss: --loss HEAD+PRESET, and what choose_loss refuses") {
  auto v84 = loss::choose_loss("ultralytics+v8.4");
  REQUIRE(v84.ok());
  CHECK(v84->info->name == "loss.ultralytics");
  CHECK(v84->label == "loss.ultralytics+v8.4");
  CHECK(v84->params == nlohmann::json({{"version", "8.4.52"}}));
  auto plain = loss::choose_loss("loss.rtmdet");
  REQUIRE(plain.ok());
  CHECK(plain->params.empty());
  CHECK(plain->label == "loss.rtmdet");
  testing::check_error(loss::choose_loss("ultralytics+v8.44").status(), ErrorKind::kUsage,
                       "loss.ultralytics has no preset 'v8.44'", {"did you mean 'v8.4'", "v8.2, v8.4"});
  testing::check_error(loss::choose_loss("rtmdet+v8.4").status(), ErrorKind::kUsage, "loss.rtmdet has no preset",
                       {"it has none"});
  testing::check_error(loss::choose_loss("ultralytic").status(), ErrorKind::kUsage, "unknown head loss",
                       {"did you mean"});
}

TEST_CASE("cli: --loss ultralytics replays the version asked for, else the one the dump records") {
  const std::string toy = std::string(ASSIGNSCOPE_SHARED_GOLDEN) + "/loss-toy-ultralytics";
  if (!std::filesystem::exists(toy)) {
    MESSAGE("../shared/golden absent: the golden test reports it");
    return;
  }
  // The stored (box, cls, dfl) x B of each version: the [3] vector of 8.4.52, the scalar sum of 8.2.0.
  const auto stored = [&](const std::string& label) { return npy_values(toy + "/expected/" + label + "/loss.npy"); };
  const std::vector<double> v84 = stored("loss.ultralytics+v8.4"), v82 = stored("loss.ultralytics");
  REQUIRE(v84.size() == 3);
  REQUIRE(v82.size() == 1);
  testing::TempDir tmp;
  const auto loss_npy = [&](const std::string& dump, const std::string& args) {
    const std::string out = tmp.path("out");
    std::filesystem::remove_all(out);
    const auto r =
        testing::run_cli("run '" + dump + "' -a task-aligned.ultralytics" + args + " -f npy -o '" + out + "'");
    CAPTURE(r.err);
    REQUIRE(r.exit_code == 0);
    return std::make_pair(npy_values(out + "/loss.npy"), r.err);
  };
  const auto close = [](const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (std::fabs(a[i] - b[i]) > 1e-5 * std::max(1.0, std::fabs(b[i]))) return false;
    return true;
  };
  CHECK(close(loss_npy(toy, "+v8.4 --loss ultralytics+v8.4").first, v84));
  CHECK(close(loss_npy(toy, " --loss ultralytics").first, v82));  // nothing recorded: 8.2.0
  CHECK(close(loss_npy(toy, " --loss ultralytics+v8.2").first, v82));
  // A dump the hooks wrote under ultralytics 8.4: its own version, said in a note.
  const std::string copy = tmp.path("toy84");
  std::filesystem::copy(toy, copy, std::filesystem::copy_options::recursive);
  nlohmann::json meta = parse(testing::read_text(copy + "/meta.json"));
  meta["framework"] = "ultralytics", meta["framework_version"] = "8.4.52";
  REQUIRE(io::write_file_atomic(copy + "/meta.json", meta.dump(), true).ok());
  const auto recorded = loss_npy(copy, "+v8.4 --loss ultralytics");
  CHECK(close(recorded.first, v84));
  CHECK(recorded.second.find("note: the dump records ultralytics 8.4.52") != std::string::npos);
}

}  // namespace assignscope
