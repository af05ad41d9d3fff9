// The assignscope binary end to end: what a user types, what they get, and
// the documented exit codes.
#include <doctest/doctest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "assignscope/version.h"
#include "io/files.h"
#include "io/npy.h"
#include "test_support.h"

namespace assignscope {
namespace {

using testing::run_cli;
namespace fs = std::filesystem;

const std::string kDemo = "testdata/coco640-late-g12-objectness";
const std::string kToy = "testdata/golden/toy-two-overlapping-gts";

nlohmann::json parse(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

}  // namespace

TEST_CASE("cli: run prints the per-GT table") {
  const auto r = run_cli("run " + kDemo + " --assigner dynamic-soft-label --format table");
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out.find("dynamic-soft-label · soft_center_radius=3 topk=13 iou_weight=3") != std::string::npos);
  CHECK(r.out.find("8400 priors in 3 levels (strides 8, 16, 32) · 80 classes · 12 GTs") != std::string::npos);
  CHECK(r.out.find("positives 74 · negatives 8326 · ignored 0 · starved GTs 0") != std::string::npos);
  // COCO scales from the boxes by hand: GTs 2, 3 (38.5 x 17.3), 5, 7, 11 are
  // small; 0, 1, 4, 6, 8 medium; 9 and 10 (192 x 64) large.
  CHECK(r.out.find("per scale: small 5 GTs 14 pos · medium 5 GTs 36 pos · large 2 GTs 24 pos") != std::string::npos);
  // title, sizes, header, 12 GTs, summary, per level, per scale, per class
  CHECK(testing::count_lines(r.out) == 2 + 1 + 12 + 1 + 3);
}

TEST_CASE("cli: run --format json follows the documented schema") {
  const auto r = run_cli("run " + kDemo + " -a dynamic-soft-label --format json --include priors,candidates");
  REQUIRE(r.exit_code == 0);
  const nlohmann::json j = parse(r.out);
  CHECK(j["schema"] == "assignscope.result/1");
  CHECK(j["assigner"] == "dynamic-soft-label");
  CHECK(j["params"]["topk"] == 13);
  CHECK(j["batch"] == false);
  CHECK(j["summary"]["positives"] == 74);
  const nlohmann::json& img = j["images"][0];
  CHECK(img["num_priors"] == 8400);
  CHECK(img["gts"].size() == 12);
  CHECK(img["positives"].size() == 74);
  CHECK(img["priors"]["assigned_gt_inds"].size() == 8400);
  CHECK(img["cost_terms"] == nlohmann::json({"cls", "iou", "center"}));
  int64_t assigned = 0, picked = 0;
  for (const auto& c : img["candidates"]) {
    assigned += c["assigned"].get<bool>();
    picked += c["picked"].get<bool>();
    CHECK(c["terms"].contains("center"));
  }
  CHECK(assigned == 74);
  int64_t k_sum = 0;
  for (const auto& g : img["gts"]) k_sum += g["dynamic_k"].get<int64_t>();
  CHECK(picked == k_sum);  // each GT picks exactly its k priors
  int64_t per_gt = 0;
  for (const auto& g : img["gts"]) per_gt += g["positives"].get<int64_t>();
  CHECK(per_gt == 74);

  // Statistics: every GT's keys; sums that must agree with each other.
  const nlohmann::json& g9 = img["gts"][9];  // [272.7, 103.2, 540.0, 266.8]
  CHECK(g9["scale"] == "large");
  CHECK(g9["area"].get<double>() == doctest::Approx((540.0 - 272.7) * (266.8 - 103.2)).epsilon(1e-3));
  for (const char* key : {"iou", "cost", "centre_distance"}) {
    CAPTURE(key);
    CHECK(g9[key]["min"].get<double>() <= g9[key]["mean"].get<double>());
    CHECK(g9[key]["mean"].get<double>() <= g9[key]["max"].get<double>());
  }
  CHECK(g9["cost_terms"].contains("center"));
  CHECK(g9["soft_target_sum"].is_null());  // dynamic-soft-label writes no assign_metrics
  int64_t by_scale = 0, by_class = 0, by_level = 0;
  for (const auto& [name, group] : img["summary"]["per_scale"].items()) by_scale += group["positives"].get<int64_t>();
  for (const auto& group : img["summary"]["per_class"]) by_class += group["positives"].get<int64_t>();
  for (const auto& level : img["levels"]) by_level += level["positives"].get<int64_t>();
  CHECK(by_scale == 74);
  CHECK(by_class == 74);
  CHECK(by_level == 74);
  CHECK(img["summary"]["per_scale"]["large"]["gts"] == 2);
  CHECK(j["summary"]["per_scale"] == img["summary"]["per_scale"]);
}

TEST_CASE("cli: several dumps are one batch, the same for any thread count, globs, csv") {
  const std::string toys = "testdata/golden/toy-single-gt testdata/golden/toy-two-overlapping-gts";
  const auto one = run_cli("run " + toys + " -a simota -f json --threads 1");
  REQUIRE(one.exit_code == 0);
  const nlohmann::json j = parse(one.out);
  CHECK(j["batch"] == true);
  REQUIRE(j["images"].size() == 2);
  CHECK(j["images"][1]["name"] == "testdata/golden/toy-two-overlapping-gts");
  // The golden README: simota gives 7 and 12 positives on these two cases.
  CHECK(j["images"][0]["summary"]["positives"] == 7);
  CHECK(j["images"][1]["summary"]["positives"] == 12);
  CHECK(j["summary"]["positives"] == 19);
  CHECK(j["summary"]["gts"] == 3);
  const auto two = run_cli("run " + toys + " -a simota -f json --threads 2");
  CHECK(two.out == one.out);
  const auto globbed = run_cli("run 'testdata/golden/toy-[st]*-g*' -a simota -f json");
  REQUIRE(globbed.exit_code == 0);
  // toy-single-gt, toy-tiny-gts-no-prior-inside, toy-two-overlapping-gts
  CHECK(parse(globbed.out)["images"].size() == 3);
  const auto nothing = run_cli("run 'testdata/golden/nothing-*' -a simota");
  CHECK(nothing.exit_code == 2);
  CHECK(nothing.err.find("testdata/golden/nothing-*: no such file or directory, and no path matches it") !=
        std::string::npos);
  // One broken dump among good ones, with --fail-fast: exit 2, naming the
  // broken file, nothing written (without it: outputs_test.cpp).
  const auto broken = run_cli("run testdata/golden/toy-single-gt testdata/bad/bad-header -a simota --fail-fast");
  CHECK(broken.exit_code == 2);
  CHECK(broken.out.empty());
  CHECK(broken.err.find("testdata/bad/bad-header/priors.npy: malformed header") != std::string::npos);
  CHECK(testing::count_lines(broken.err) == 1);
  const auto table = run_cli("run " + toys + " -a simota -f table");
  CHECK(table.out.find("batch: 2 images · 3 GTs · positives 19") != std::string::npos);
  const auto csv = run_cli("run " + toys + " -a simota -f csv");
  REQUIRE(csv.exit_code == 0);
  CHECK(testing::count_lines(csv.out) == 1 + 3);  // header, 3 GTs
  CHECK(csv.out.find("\n1,testdata/golden/toy-two-overlapping-gts,1,") != std::string::npos);
}

TEST_CASE("cli: --set changes a parameter, and bad ones are refused with exit 2") {
  const auto five = run_cli("run " + kDemo + " -a dynamic-soft-label --set topk=5 -f json");
  REQUIRE(five.exit_code == 0);
  const nlohmann::json j = parse(five.out);
  CHECK(j["params"]["topk"] == 5);
  CHECK(j["summary"]["positives"].get<int64_t>() < 74);

  const auto typo = run_cli("run " + kToy + " -a dynamic-soft-label --set tpok=3");
  CHECK(typo.exit_code == 2);
  CHECK(typo.err.find("unknown parameter 'tpok' (did you mean 'topk'?)") != std::string::npos);
  const auto bad_value = run_cli("run " + kToy + " -a dynamic-soft-label --set topk=0");
  CHECK(bad_value.exit_code == 2);
  CHECK(bad_value.err.find("topk=0: expected a value >= 1") != std::string::npos);
  const auto no_eq = run_cli("run " + kToy + " -a dynamic-soft-label --set topk");
  CHECK(no_eq.exit_code == 2);
  CHECK(no_eq.err.find("NAME=VALUE") != std::string::npos);
}

TEST_CASE("cli: unknown assigners and commands suggest the right name") {
  const auto a = run_cli("run " + kToy + " --assigner dynamic-soft-lable");
  CHECK(a.exit_code == 2);
  CHECK(a.err.find("unknown assigner 'dynamic-soft-lable' (did you mean 'dynamic-soft-label'?)") != std::string::npos);
  const auto c = run_cli("rnu");
  CHECK(c.exit_code == 2);
  CHECK(c.err.find("did you mean 'run'") != std::string::npos);
  CHECK(run_cli("").exit_code == 2);
  const auto missing = run_cli("run " + kToy);
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("--assigner") != std::string::npos);
}

TEST_CASE("cli: --help shows examples, and --version") {
  for (const char* args : {"--help", "run --help", "check --help", "list --help"}) {
    CAPTURE(args);
    const auto r = run_cli(args);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("examples:") != std::string::npos);
  }
  // "assignscope 0.1.0 (git <describe>)", or "(unknown revision)" built without git.
  for (const char* args : {"--version", "-V", "version"}) {
    CAPTURE(args);
    const auto r = run_cli(args);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("assignscope " ASSIGNSCOPE_VERSION " (") == 0);
    CHECK((r.out.find(" (git ") != std::string::npos || r.out.find(" (unknown revision)") != std::string::npos));
    CHECK(r.out.back() == '\n');
  }
}

TEST_CASE("cli: every broken dump exits 2 with one line on stderr naming the file") {
  for (const auto& entry : fs::directory_iterator(testing::source_path("testdata/bad"))) {
    const std::string rel = "testdata/bad/" + entry.path().filename().string();
    CAPTURE(rel);
    const auto r = run_cli("run " + rel + " -a dynamic-soft-label -f json");
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(testing::count_lines(r.err) == 1);
    CHECK(r.err.find(rel) != std::string::npos);
  }
}

TEST_CASE("cli: run --format npy writes the golden layout, never over a user's files, and check replays it") {
  testing::TempDir tmp;
  const std::string out = tmp.path("result");
  REQUIRE(run_cli("run " + kToy + " -a dynamic-soft-label -f npy -o " + out).exit_code == 0);
  for (const char* f :
       {"assigned_gt_inds.npy", "assigned_labels.npy", "max_overlaps.npy", "dynamic_ks.npy", "params.json"})
    CHECK(fs::exists(fs::path(out) / f));
  const nlohmann::json params = parse(testing::read_text(out + "/params.json"));
  CHECK(params["assigner"] == "dynamic-soft-label");
  CHECK(params["files"].size() == 4);
  // The replay's notes land beside the result: an image without GT says so.
  const nlohmann::json notes = parse(testing::read_text(out + "/notes.json"));
  REQUIRE(notes["images"].size() == 1);
  CHECK(notes["images"][0]["notes"].is_array());
  const std::string empty = tmp.path("empty-result");
  REQUIRE(run_cli("run testdata/golden/toy-empty-gt -a simota -f npy -o " + empty).exit_code == 0);
  const nlohmann::json empty_notes = parse(testing::read_text(empty + "/notes.json"));
  REQUIRE(empty_notes["images"][0]["notes"].size() == 1);
  CHECK(empty_notes["images"][0]["notes"][0] == "no ground truth: every prior is negative");
  // The same bytes as the reference's stored result for the integer files.
  for (const char* f : {"assigned_gt_inds.npy", "assigned_labels.npy", "dynamic_ks.npy"})
    CHECK(testing::read_text(out + "/" + f) ==
          testing::read_text(testing::source_path(kToy + "/expected/dynamic-soft-label/" + f)));

  const auto again = run_cli("run " + kToy + " -a dynamic-soft-label -f npy -o " + out);
  CHECK(again.exit_code == 2);
  CHECK(again.err.find("--force") != std::string::npos);
  CHECK(run_cli("run " + kToy + " -a dynamic-soft-label -f npy -o " + out + " --force").exit_code == 0);
  // A directory that is not a result is never replaced, even with --force.
  fs::create_directories(tmp.path("mine"));
  REQUIRE(io::write_file_atomic(tmp.path("mine/notes.txt"), std::string("keep me"), false).ok());
  CHECK(run_cli("run " + kToy + " -a dynamic-soft-label -f npy -o " + tmp.path("mine") + " --force").exit_code == 2);
  CHECK(testing::read_text(tmp.path("mine/notes.txt")) == "keep me");
  // Text outputs too.
  REQUIRE(run_cli("run " + kToy + " -a dynamic-soft-label -o " + tmp.path("r.json")).exit_code == 0);
  CHECK(parse(testing::read_text(tmp.path("r.json")))["schema"] == "assignscope.result/1");
  CHECK(run_cli("run " + kToy + " -a dynamic-soft-label -o " + tmp.path("r.json")).exit_code == 2);
  CHECK(run_cli("run " + kToy + " -a dynamic-soft-label -f npy").exit_code == 2);  // npy needs -o
  // Devices are written to, never replaced (a rename over /dev/null would destroy it).
  CHECK(run_cli("run " + kToy + " -a dynamic-soft-label -f json -o /dev/null").exit_code == 0);
  CHECK(run_cli("run " + kToy + " -a dynamic-soft-label -f json -o /dev/null --force").exit_code == 0);
  CHECK(fs::is_character_file("/dev/null"));
  CHECK(run_cli("run " + kToy + " -a dynamic-soft-label -f json -o " + tmp.path()).exit_code == 2);  // a directory

  const auto check = run_cli("check " + out);
  CHECK(check.exit_code == 0);
  CHECK(check.out.find("ok     " + out + " result") != std::string::npos);
}

TEST_CASE("cli: --force replaces only previous assignscope results, never the directory you stand in") {
  testing::TempDir tmp;
  const std::string res = tmp.path("res");
  const std::string run = "run " + testing::source_path(kToy) + " -a dynamic-soft-label -f npy --force -o ";
  REQUIRE(run_cli(run + res).exit_code == 0);
  // A trailing slash names the same directory; the result is replaced, not lost.
  CHECK(run_cli(run + res + "/").exit_code == 0);
  CHECK(fs::exists(res + "/assigned_gt_inds.npy"));
  CHECK(fs::is_regular_file(res + "/params.json"));
  for (const auto& e : fs::directory_iterator(tmp.path())) CHECK(e.path().filename().string()[0] != '.');
  // The current directory and its parents are never targets.
  for (const char* where : {".", "..", "./"}) {
    CAPTURE(where);
    const auto r = run_cli(run + where, res);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("current directory") != std::string::npos);
  }
  CHECK(fs::exists(res + "/assigned_gt_inds.npy"));
  // A params.json is not enough: it must be one assignscope wrote, with nothing else beside it.
  fs::create_directories(tmp.path("project/src"));
  REQUIRE(io::write_file_atomic(tmp.path("project/params.json"), std::string("{\"lr\": 1}"), false).ok());
  REQUIRE(io::write_file_atomic(tmp.path("project/src/main.py"), std::string("code"), false).ok());
  const auto project = run_cli(run + tmp.path("project"));
  CHECK(project.exit_code == 2);
  CHECK(project.err.find("not a previous assignscope result") != std::string::npos);
  CHECK(testing::read_text(tmp.path("project/src/main.py")) == "code");
  // A reference's stored result is not replaceable either.
  fs::copy(testing::source_path(kToy), tmp.path("case"), fs::copy_options::recursive);
  const auto golden = run_cli(run + tmp.path("case/expected/dynamic-soft-label"));
  CHECK(golden.exit_code == 2);
  CHECK(golden.err.find("was not written by assignscope") != std::string::npos);
}

TEST_CASE("cli: check finds a result's dump from any directory, and refuses results that compare nothing") {
  testing::TempDir tmp;
  const std::string res = tmp.path("res");
  REQUIRE(run_cli("run " + kToy + " -a dynamic-soft-label -f npy -o " + res).exit_code == 0);
  const auto elsewhere = run_cli("check " + res, tmp.path());
  CHECK(elsewhere.exit_code == 0);
  CHECK(elsewhere.out.find("ok ") == 0);

  nlohmann::json params = parse(testing::read_text(res + "/params.json"));
  params["files"] = nlohmann::json::array();
  REQUIRE(io::write_file_atomic(res + "/params.json", params.dump(), true).ok());
  const auto empty = run_cli("check " + res);
  CHECK(empty.exit_code == 2);
  CHECK(empty.out.find("ERROR") == 0);
  CHECK(empty.out.find("nothing decisive to compare") != std::string::npos);

  // A temp directory left in expected/ by an interrupted run is not a result.
  fs::copy(testing::source_path(kToy), tmp.path("case"), fs::copy_options::recursive);
  fs::create_directories(tmp.path("case/expected/.assignscope-7.tmpdir"));
  CHECK(run_cli("check " + tmp.path("case")).exit_code == 0);
}

TEST_CASE("cli: a batch is written with a leading B") {
  testing::TempDir tmp;
  REQUIRE(run_cli("run testdata/batch/stacked-b2 -a dynamic-soft-label -f npy -o " + tmp.path("b")).exit_code == 0);
  auto inds = io::read_npy_file(tmp.path("b/assigned_gt_inds.npy"));
  REQUIRE(inds.ok());
  CHECK(inds->shape == std::vector<int64_t>{2, 80});
  auto ks = io::read_npy_file(tmp.path("b/dynamic_ks.npy"));
  REQUIRE(ks.ok());
  CHECK(ks->shape == std::vector<int64_t>{2, 2});
  const auto table = run_cli("run testdata/batch/dirs-b2 -a dynamic-soft-label -f table");
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("image 1 (img1-edge-on-centres)") != std::string::npos);
  CHECK(table.out.find("batch: 2 images") != std::string::npos);
}

TEST_CASE("cli: check exits 0 on a match, 1 on a difference, 2 on bad input") {
  const auto ok = run_cli("check " + kToy);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("ok     " + kToy + " dynamic-soft-label (1 image, 15 positives)") != std::string::npos);
  CHECK(ok.out.find("ok     " + kToy + " atss (1 image, 0 positives)") != std::string::npos);
  CHECK(ok.out.find("ok     " + kToy + " max-iou (1 image, 18 positives)") != std::string::npos);
  CHECK(ok.out.find("ok     " + kToy + " hungarian (1 image, 2 positives)") != std::string::npos);
  CHECK(ok.out.find("match, 0 differ, 0 errors, 0 skipped") != std::string::npos);

  // A result of an assigner assignscope does not have is skipped, not passed,
  // and fails the run unless --allow-skipped accepts it.
  testing::TempDir tmp;
  const std::string copy = tmp.path("case");
  fs::copy(testing::source_path(kToy), copy, fs::copy_options::recursive);
  fs::rename(copy + "/expected/hungarian", copy + "/expected/centernet");
  {
    const std::string params_path = copy + "/expected/centernet/params.json";
    std::string params = testing::read_text(params_path);
    const size_t at = params.find("\"hungarian\"");
    REQUIRE(at != std::string::npos);
    params.replace(at, 11, "\"centernet\"");
    fs::permissions(params_path, fs::perms::owner_write, fs::perm_options::add);
    REQUIRE(io::write_file_atomic(params_path, params.data(), params.size(), true).ok());
  }
  const auto skip = run_cli("check " + copy);
  CHECK(skip.exit_code == 2);
  CHECK(skip.out.find("skip   " + copy + " centernet") != std::string::npos);
  CHECK(skip.out.find("FAIL compared 6 of 7 results") != std::string::npos);
  CHECK(skip.out.find("6 match, 0 differ, 0 errors, 1 skipped") != std::string::npos);
  CHECK(run_cli("check " + copy + " --allow-skipped").exit_code == 0);

  // A stored result with one prior moved to another GT.
  const std::string inds_path = copy + "/expected/dynamic-soft-label/assigned_gt_inds.npy";
  auto inds = io::read_npy_file(inds_path);
  REQUIRE(inds.ok());
  std::vector<int64_t> values(static_cast<size_t>(inds->size()));
  for (int64_t i = 0; i < inds->size(); ++i) values[i] = inds->to_int64(i);
  int64_t moved = -1;
  for (size_t i = 0; i < values.size() && moved < 0; ++i)
    if (values[i] == 1) values[i] = 2, moved = static_cast<int64_t>(i);
  REQUIRE(moved >= 0);
  const auto bytes = io::npy_bytes(values.data(), inds->shape);
  fs::permissions(inds_path, fs::perms::owner_write, fs::perm_options::add);
  REQUIRE(io::write_file_atomic(inds_path, bytes.data(), bytes.size(), true).ok());
  const auto differ = run_cli("check " + copy + " --quiet --allow-skipped");
  CHECK(differ.exit_code == 1);
  CHECK(differ.out.find("DIFFER " + copy + " dynamic-soft-label: assigned_gt_inds.npy: 1 of 80 differ; prior " +
                        std::to_string(moved) + ": expected 2, got 1") != std::string::npos);
  CHECK(differ.out.find("ok ") == std::string::npos);  // --quiet

  CHECK(run_cli("check testdata/nope").exit_code == 2);
  CHECK(run_cli("check testdata/bad").exit_code == 2);
  CHECK(run_cli("check " + kToy + " --tolerance abc").exit_code == 2);
  CHECK(run_cli("check " + kToy + " --tolerance 1e-3,1e-4").exit_code == 0);
}

TEST_CASE("cli: check per-file tolerances, the PASS/FAIL line, --update") {
  testing::TempDir tmp;
  const std::string copy = tmp.path("case");
  fs::copy(testing::source_path(kToy), copy, fs::copy_options::recursive);
  const std::string label = copy + "/expected/dynamic-soft-label";
  // Stretch every stored IoU (> 0) by 1e-4 relative: beyond the default
  // 1e-5, within 1e-3. The sentinels (-1e8 for negatives here) stay exact.
  const std::string path = label + "/max_overlaps.npy";
  auto stored = io::read_npy_file(path);
  REQUIRE(stored.ok());
  std::vector<float> values(static_cast<size_t>(stored->size()));
  int64_t moved = 0;
  for (int64_t i = 0; i < stored->size(); ++i) {
    const double v = stored->to_double(i);
    values[i] = static_cast<float>(v > 0 ? v * (1.0 + 1e-4) : v);
    moved += v > 0;
  }
  REQUIRE(moved > 0);
  const auto bytes = io::npy_bytes(values.data(), stored->shape);
  fs::permissions(path, fs::perms::owner_write, fs::perm_options::add);
  REQUIRE(io::write_file_atomic(path, bytes.data(), bytes.size(), true).ok());

  const auto differ = run_cli("check " + copy + " -q");
  CHECK(differ.exit_code == 1);
  CHECK(differ.out.find("DIFFER " + copy + " dynamic-soft-label: max_overlaps.npy: " + std::to_string(moved) +
                        " of 80 differ") != std::string::npos);
  CHECK(differ.out.find("FAIL compared 7 of 7 results (") != std::string::npos);
  CHECK(differ.out.find(" in 1 case: 6 match, 1 differ, 0 errors, 0 skipped") != std::string::npos);
  // A tolerance for that file alone, with or without .npy; another file's does not help.
  for (const char* flag : {"--tolerance max_overlaps=1e-3", "--tolerance max_overlaps.npy=1e-3,0"}) {
    CAPTURE(flag);
    const auto ok = run_cli("check " + copy + " -q " + flag);
    CHECK(ok.exit_code == 0);
    CHECK(ok.out.find("PASS compared 7 of 7 results (") != std::string::npos);
    CHECK(ok.out.find(" in 1 case: 7 match") != std::string::npos);
  }
  CHECK(run_cli("check " + copy + " -q --tolerance assign_metrics=1e-3").exit_code == 1);
  // A per-file rule beats the global one.
  CHECK(run_cli("check " + copy + " -q --tolerance 1e-3 --tolerance max_overlaps=0").exit_code == 1);
  for (const char* bad : {"=1e-3", "max_overlaps=", "max_overlaps=-1", "max_overlaps=1,2,3", "max_overlaps=nan"}) {
    CAPTURE(bad);
    const auto r = run_cli(std::string("check ") + copy + " --tolerance '" + bad + "'");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("FILE=REL[,ABS]") != std::string::npos);
  }

  // --update rewrites the differing file with the replay; then it matches.
  const auto updated = run_cli("check " + copy + " -q --update");
  CHECK(updated.exit_code == 0);
  CHECK(updated.out.find("UPDATED " + copy + " dynamic-soft-label") != std::string::npos);
  CHECK(updated.out.find(" in 1 case: 6 match, 0 differ, 0 errors, 0 skipped, 1 updated") != std::string::npos);
  CHECK(updated.out.find("PASS compared 7 of 7 results") != std::string::npos);
  const auto after = run_cli("check " + copy + " -q");
  CHECK(after.exit_code == 0);
  CHECK(testing::read_text(path) ==
        testing::read_text(testing::source_path(kToy) + "/expected/dynamic-soft-label/max_overlaps.npy"));
}

TEST_CASE("cli: check a directory of cases, and a glob") {
  const auto r = run_cli("check testdata/golden -q");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("in 24 cases") != std::string::npos);
  // toy-single-gt, toy-symmetric-ties, toy-tiny-gts-no-prior-inside, toy-two-overlapping-gts
  const auto globbed = run_cli("check 'testdata/golden/toy-[st]*' -q -j 2");
  CHECK(globbed.exit_code == 0);
  CHECK(globbed.out.find("in 4 cases") != std::string::npos);
  const auto none = run_cli("check 'testdata/golden/zz*'");
  CHECK(none.exit_code == 2);
  CHECK(none.err.find("testdata/golden/zz*: no such file or directory, and no path matches it") != std::string::npos);
}

TEST_CASE("cli: list shows assigners, parameters and defaults") {
  const auto r = run_cli("list");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("dynamic-soft-label") != std::string::npos);
  CHECK(r.out.find("topk") != std::string::npos);
  CHECK(r.out.find("DynamicSoftLabelAssigner") != std::string::npos);
  const nlohmann::json j = parse(run_cli("list --format json").out);
  REQUIRE(j.is_array());
  CHECK(j[0]["name"] == "dynamic-soft-label");
  CHECK(j[0]["params"][1]["name"] == "topk");
  CHECK(j[0]["params"][1]["default"] == 13);
  CHECK(run_cli("list nope").exit_code == 2);
}

}  // namespace assignscope
