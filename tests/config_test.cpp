// Configs as people paste them: Python literals (core/pyliteral), the
// assigner a framework config names (assign/config), the names people type
// (aliases, class names, presets) and the parameter kinds they need (null,
// number lists, intervals).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "assign/assigner.h"
#include "assign/config.h"
#include "core/params.h"
#include "core/pyliteral.h"
#include "test_support.h"

namespace assignscope {
namespace {

using Json = nlohmann::json;

Json value_of(const std::string& text) {
  auto v = parse_python_value(text, "test");
  REQUIRE_MESSAGE(v.ok(), v.status().message());
  return *v;
}

std::string error_of(const std::string& text) {
  auto v = parse_python_value(text, "test");
  REQUIRE_FALSE(v.ok());
  CHECK(v.status().kind() == ErrorKind::kUsage);
  CHECK(v.status().message().find('\n') == std::string::npos);
  return v.status().message();
}

assign::ConfigChoice config_of(const std::string& text) {
  auto c = assign::assigner_from_config(text);
  REQUIRE_MESSAGE(c.ok(), c.status().message());
  return *c;
}

std::string config_error(const std::string& text) {
  auto c = assign::assigner_from_config(text);
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().kind() == ErrorKind::kUsage);
  CHECK(c.status().message().find('\n') == std::string::npos);
  return c.status().message();
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("pyliteral: dicts, calls, tuples, numbers, strings as Python writes them") {
  CHECK(value_of("dict(type='DynamicSoftLabelAssigner', topk=13)") ==
        Json{{"type", "DynamicSoftLabelAssigner"}, {"topk", 13}});
  CHECK(value_of("{'a': 1., \"b\": [1, 2,], 'c': (0, 0.5), 'd': (3,), 'e': ()}") ==
        Json::parse(R"({"a": 1.0, "b": [1, 2], "c": [0, 0.5], "d": [3], "e": []})"));
  CHECK(value_of("[True, False, None, true, null, -1, +2, 1e-9, 0x10, 1_000]") ==
        Json::parse("[true, false, null, true, null, -1, 2, 1e-9, 16, 1000]"));
  CHECK(value_of("'a' \"b\"  # comment\n") == Json("ab"));
  CHECK(value_of("r'C:\\x' + 'y'") == Json("C:\\xy"));
  const Json call = value_of("TaskAlignedAssigner(topk=10, num_classes=80, alpha=0.5)");
  CHECK(is_python_call(call));
  CHECK(call["type"] == "TaskAlignedAssigner");
  CHECK(call["topk"] == 10);
  CHECK(value_of("assigner = dict(\n    type='ATSSAssigner',  # warm-up\n    topk=9,\n)") ==
        Json{{"type", "ATSSAssigner"}, {"topk", 9}});
}

TEST_CASE("pyliteral: a config module's names resolve as Python binds them, arithmetic on numbers is evaluated") {
  auto m = parse_python_module(
      "import os\nfrom mmdet.models import X\n_base_ = ['../a.py']\n"
      "num_classes = 80\ntal_topk = 10\nmax_epochs = 300\nstage2 = max_epochs - 20\n"
      "model = dict(bbox_head=dict(num_classes=num_classes),\n"
      "             train_cfg=dict(assigner=dict(type='BatchTaskAlignedAssigner', topk=tal_topk, eps=1e-9)))\n"
      "model.train_cfg.assigner.alpha = 0.5\n"
      "ratio = 2 ** 3 / 4\nunknown = lr_config * 2\n",
      "cfg.py");
  REQUIRE_MESSAGE(m.ok(), m.status().message());
  CHECK((*m)["stage2"] == 280);
  CHECK((*m)["ratio"] == 2.0);
  CHECK((*m)["model"]["bbox_head"]["num_classes"] == 80);
  CHECK((*m)["model"]["train_cfg"]["assigner"]["topk"] == 10);
  CHECK((*m)["model"]["train_cfg"]["assigner"]["alpha"] == 0.5);
  CHECK(is_unevaluated(Json((*m)["unknown"])));
  CHECK(python_source(Json((*m)["unknown"])) == "lr_config * 2");
  CHECK(is_python_name(value_of("dict(n=num_classes)")["n"]));
}

TEST_CASE("pyliteral: what is not a literal is a one-line error with its line and column") {
  CHECK(contains(error_of("dict(topk=13"), "expected ')'"));
  CHECK(contains(error_of("dict(topk=13\n  , x=)"), "line 2"));
  CHECK(contains(error_of("f'{x}'"), "f-strings"));
  CHECK(contains(error_of("if x:\n  y = 1"), "'if' statements are not read"));
  CHECK(contains(error_of("dict(**base)"), "* and ** arguments"));
  CHECK(contains(error_of("'abc"), "not closed"));
  CHECK(contains(error_of("a = 1\nb = 2"), "2 statements"));
  CHECK(contains(error_of("$"), "unexpected character"));
  CHECK(contains(error_of(std::string(300, '[')), "nested more than 200 deep"));
  CHECK(contains(error_of(std::string(150, '-') + "1" + std::string(150, '+')), "expected a value"));
  CHECK(contains(error_of("1e999"), "not a finite number"));
}

TEST_CASE("params: null, number lists, intervals and their errors") {
  const assign::AssignerInfo* tal = assign::find_assigner("task-aligned.ultralytics");
  const assign::AssignerInfo* maxiou = assign::find_assigner("max-iou");
  REQUIRE(tal);
  REQUIRE(maxiou);
  Params p = assign::default_params(*tal);
  CHECK(p.is_null("stride"));
  CHECK(p.to_json()["stride"].is_null());
  REQUIRE(p.set("stride", "[8, 16, 32]").ok());
  CHECK(p.get_numbers("stride") == Numbers{8, 16, 32});
  CHECK(p.to_string().find("stride=[8, 16, 32]") != std::string::npos);
  REQUIRE(p.set("stride", "None").ok());
  CHECK(p.is_null("stride"));
  CHECK(contains(p.set("stride", "8").message(), "expected list of numbers"));
  CHECK(contains(p.set("stride", "[8, -1]").message(), ">= 0"));
  CHECK(contains(p.set("topk", "None").message(), "expected integer"));
  CHECK(contains(p.set_json("topk", nullptr).message(), "expected integer"));
  CHECK(contains(p.set("topk2", "0").message(), ">= 1"));
  CHECK(contains(p.set_json("topk", Json{{"$name", "tal_topk"}}).message(), "a Python name or expression"));

  Params m = assign::default_params(*maxiou);
  CHECK(m.get_interval("neg_iou_thr").hi == doctest::Approx(0.4));
  CHECK_FALSE(m.get_interval("neg_iou_thr").is_pair);
  REQUIRE(m.set("neg_iou_thr", "(0.3, 0.7)").ok());
  CHECK(m.get_interval("neg_iou_thr").lo == doctest::Approx(0.3));
  CHECK(m.get_interval("neg_iou_thr").is_pair);
  CHECK(m.to_json()["neg_iou_thr"] == Json::parse("[0.3, 0.7]"));
  CHECK(m.to_string().find("neg_iou_thr=[0.3, 0.7]") != std::string::npos);
  REQUIRE(m.set_all(Json::parse(R"({"neg_iou_thr": [0.0, 0.4]})")).ok());
  CHECK(contains(m.set("neg_iou_thr", "[0.7, 0.3]").message(), "low > high"));
  CHECK(contains(m.set("neg_iou_thr", "[0.1, 0.2, 0.3]").message(), "expected number or [low, high]"));
  // Inverted thresholds are legal, as for mmdet, and warned about.
  REQUIRE(m.set("neg_iou_thr", "0.6").ok());
  std::vector<std::string> warnings;
  CHECK(assign::validate_params(*maxiou, m, &warnings).ok());
  REQUIRE(warnings.size() == 1);
  CHECK(contains(warnings[0], "above pos_iou_thr"));
}

TEST_CASE("config: an mmdet / mmyolo assigner dict as written picks the registry entry and its parameters") {
  const auto dsla = config_of("dict(type='DynamicSoftLabelAssigner', topk=13)");
  CHECK(dsla.choice.info->name == "dynamic-soft-label");
  CHECK(dsla.params == Json{{"topk", 13}});
  const auto mmyolo = config_of(
      "assigner=dict(type='BatchDynamicSoftLabelAssigner', num_classes=num_classes, topk=13, "
      "iou_calculator=dict(type='mmdet.BboxOverlaps2D'))");
  CHECK(mmyolo.choice.info->name == "dynamic-soft-label.mmyolo");
  CHECK(mmyolo.params == Json{{"topk", 13}});
  CHECK(mmyolo.notes.size() == 2);  // num_classes and iou_calculator do not change the assignment
  // The same class name, two frameworks: mmdet's dict is mmdetection's, the constructor call ultralytics'.
  CHECK(config_of("dict(type='TaskAlignedAssigner', topk=13)").choice.info->name == "task-aligned");
  const auto u = config_of(
      "TaskAlignedAssigner(topk=10, num_classes=80, alpha=0.5, beta=6.0, stride=[8, 16, 32], "
      "topk2=None)");
  CHECK(u.choice.info->name == "task-aligned.ultralytics");
  CHECK(u.params["stride"] == Json::parse("[8, 16, 32]"));
  CHECK(u.params["topk2"].is_null());
  const auto maxiou = config_of(R"({"type": "MaxIoUAssigner", "pos_iou_thr": 0.7, "neg_iou_thr": [0.3, 0.7]})");
  CHECK(maxiou.choice.info->name == "max-iou");
  CHECK(maxiou.params["neg_iou_thr"] == Json::parse("[0.3, 0.7]"));
}

TEST_CASE(
    "config: a train_cfg or a whole config file — the assigner is found, its siblings used where the head passes "
    "them") {
  // TOOD: initial_assigner (ATSS warm-up) beside assigner, alpha and beta in train_cfg.
  const auto tood = config_of(
      "train_cfg=dict(initial_epoch=4, initial_assigner=dict(type='ATSSAssigner', topk=9), "
      "assigner=dict(type='TaskAlignedAssigner', topk=13), alpha=1, beta=6, allowed_border=-1, pos_weight=-1)");
  CHECK(tood.choice.info->name == "task-aligned");
  CHECK(tood.where == "train_cfg.assigner");
  CHECK(tood.params == Json{{"topk", 13}, {"alpha", 1}, {"beta", 6}});
  CHECK(tood.notes.size() == 3);  // the warm-up assigner, alpha, beta
  testing::TempDir tmp;
  const std::string file = tmp.path("rtmdet_tiny.py");
  {
    std::ofstream out(file);
    out << "_base_ = './rtmdet_s_8xb32-300e_coco.py'\n"
           "checkpoint = 'https://download.openmmlab.com/x.pth'  # noqa\n"
           "topk = 13\n"
           "model = dict(\n"
           "    backbone=dict(deepen_factor=0.167, widen_factor=0.375),\n"
           "    bbox_head=dict(in_channels=96, feat_channels=96, exp_on_reg=False),\n"
           "    train_cfg=dict(assigner=dict(type='DynamicSoftLabelAssigner', topk=topk), allowed_border=-1,\n"
           "                   pos_weight=-1, debug=False))\n";
  }
  const auto from_file = config_of(file);
  CHECK(from_file.choice.info->name == "dynamic-soft-label");
  CHECK(from_file.where == "model.train_cfg.assigner");
  CHECK(from_file.params == Json{{"topk", 13}});
}

TEST_CASE("config: what cannot be replayed as written is a one-line error naming the key") {
  CHECK(contains(config_error("dict(type='DynamicSoftLabelAssigner', tpok=13)"),
                 "tpok=...): not an argument assignscope replays for dynamic-soft-label (did you mean 'topk'?)"));
  CHECK(contains(config_error("dict(type='DynamicSoftLabelAssigner', iou_calculator=dict(type='BboxOverlaps2D', "
                              "mode='giou'))")
                     .substr(0),
                 "only BboxOverlaps2D"));
  CHECK(contains(config_error("dict(type='DynamicSoftLabelAsigner', topk=13)"),
                 "(did you mean 'DynamicSoftLabelAssigner'?)"));
  CHECK(contains(config_error("train_cfg=dict(rpn=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7)), "
                              "rcnn=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5)))"),
                 "holds 2 assigners: train_cfg.rcnn.assigner (MaxIoUAssigner), train_cfg.rpn.assigner"));
  CHECK(contains(config_error("dict(lr=0.01)"), "no assigner found"));
  CHECK(contains(config_error("TaskAlignedAssigner(10, alpha=0.5)"), "positional arguments"));
  CHECK(contains(config_error("no-such-file.py"), "neither a config"));
  {
    // A path that is no config (a dataset by mistake) is refused by its size, not read whole.
    testing::TempDir tmp;
    const std::string big = tmp.path("big.py");
    { std::ofstream(big) << "x = 1\n"; }
    std::filesystem::resize_file(big, uint64_t{64} << 20);  // sparse: no disk used
    CHECK(contains(config_error(big), "the size a config file may have"));
    CHECK(contains(config_error(tmp.path()), "neither a config"));  // a directory
  }
  // A Python name the paste does not define reaches Params, which names it.
  auto c = assign::assigner_from_config("dict(type='TaskAlignedAssigner', topk=tal_topk)");
  REQUIRE(c.ok());
  Params p = assign::default_params(*c->choice.info);
  const Status st = p.set_all(c->params);
  CHECK(contains(st.message(), "parameter topk=tal_topk: a Python name or expression, not a value"));
}

TEST_CASE("names: aliases, presets and reference class names resolve, and typos suggest the intended name") {
  const auto label = [](const std::string& typed) {
    auto c = assign::resolve_assigner(typed);
    REQUIRE_MESSAGE(c.ok(), c.status().message());
    return c->label();
  };
  CHECK(label("rtmdet") == "dynamic-soft-label");
  CHECK(label("DynamicSoftLabelAssigner") == "dynamic-soft-label");
  CHECK(label("BatchDynamicSoftLabelAssigner") == "dynamic-soft-label.mmyolo");
  CHECK(label("yolox") == "simota.yolox");
  CHECK(label("yolox-0.3.0") == "simota.yolox+0.3.0");
  CHECK(label("SimOTAAssigner") == "simota");
  CHECK(label("TaskAlignedAssigner") == "task-aligned");  // a config's type: mmdetection's
  CHECK(label("yolov8") == "task-aligned.ultralytics+v8.4");
  CHECK(label("yolo26") == "task-aligned.ultralytics+v8.4");
  CHECK(label("YOLOv8") == "task-aligned.ultralytics+v8.4");  // model names as people spell them
  CHECK(label("RTMDet") == "dynamic-soft-label");
  CHECK(label("yolov10-o2o") == "task-aligned.ultralytics+yolov10-o2o");
  CHECK(label("task-aligned.ultralytics+yolo26-o2o") == "task-aligned.ultralytics+yolo26-o2o");
  CHECK(label("retinanet") == "max-iou");
  CHECK(label("max-iou+crowddet-rpn") == "max-iou+crowddet-rpn");
  const auto typo = [](const std::string& typed) {
    auto c = assign::resolve_assigner(typed);
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().kind() == ErrorKind::kUsage);
    return c.status().message();
  };
  CHECK(contains(typo("ATSS"), "did you mean 'atss'"));
  CHECK(contains(typo("simotaa"), "did you mean 'simota'"));
  CHECK(contains(typo("yolov8s"), "did you mean 'yolov8'"));
  CHECK(contains(typo("yolo-v8"), "did you mean 'yolov8'"));
  CHECK(contains(typo("task-aligned.ultralytics+yolo26"), "no preset 'yolo26' (did you mean 'yolo26-o2o'?)"));
  CHECK(contains(typo("DynamicSoftLabelAssignr"), "did you mean 'DynamicSoftLabelAssigner'"));
}

TEST_CASE("cli: --config, --preset and -a with an alias choose the assigner and its parameters") {
  const std::string toy = "testdata/golden/toy-two-overlapping-gts";
  const auto via_config =
      testing::run_cli("run " + toy + " --config \"dict(type='DynamicSoftLabelAssigner', topk=5)\" -f json");
  REQUIRE(via_config.exit_code == 0);
  const auto via_set = testing::run_cli("run " + toy + " -a rtmdet --set topk=5 -f json");
  REQUIRE(via_set.exit_code == 0);
  CHECK(Json::parse(via_config.out)["images"] == Json::parse(via_set.out)["images"]);
  CHECK(Json::parse(via_config.out)["params"]["topk"] == 5);
  const auto disagree = testing::run_cli("run " + toy + " -a simota --config \"dict(type='ATSSAssigner', topk=9)\"");
  CHECK(disagree.exit_code == 2);
  CHECK(contains(disagree.err, "name different assigners"));
  const auto preset = testing::run_cli("run " + toy + " -a task-aligned.ultralytics --preset yolo26-o2o -f json");
  REQUIRE(preset.exit_code == 0);
  CHECK(Json::parse(preset.out)["params"]["topk2"] == 1);
  const auto bad_preset = testing::run_cli("run " + toy + " -a simota --preset v8.4");
  CHECK(bad_preset.exit_code == 2);
  CHECK(testing::count_lines(bad_preset.err) == 1);
  CHECK(contains(bad_preset.err, "simota has no presets"));
  const auto no_name = testing::run_cli("run " + toy);
  CHECK(no_name.exit_code == 2);
  CHECK(contains(no_name.err, "name an assigner with -a/--assigner"));
  const auto twice = testing::run_cli("run " + toy + " -a rtmdet --set topk=5 --set topk=6 -f json");
  CHECK(twice.exit_code == 0);
  CHECK(contains(twice.err, "sets topk more than once; the last value (6) is used"));
}

}  // namespace assignscope
