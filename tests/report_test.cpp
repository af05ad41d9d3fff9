// The HTML report (render/report.h, `assignscope report`): self-contained
// (nothing fetched: no http(s) source, a CSP forbidding it), its inlined data
// parses and agrees with the assignment, names cannot end the data's script
// element, the embedded assets are the files of src/render/report_assets/,
// and the command's errors. tests/browser/report_test.mjs drives the page in
// a real browser.
#include <doctest/doctest.h>

#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "io/dump.h"
#include "render/report.h"
#include "render/report_assets.h"
#include "image_files.h"
#include "test_support.h"

namespace assignscope {
namespace {

// The JSON text between <script type="application/json" id="assignscope-data"> and </script>.
std::string data_text(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"assignscope-data\">";
  const size_t at = html.find(open);
  REQUIRE(at != std::string::npos);
  const size_t from = at + open.size();
  const size_t to = html.find("</script>", from);
  REQUIRE(to != std::string::npos);
  return html.substr(from, to - from);
}

void check_self_contained(const std::string& html) {
  // No resource from anywhere: every src= and href= is a data: URI or a fragment.
  const std::regex reference(R"((src|href)\s*=\s*["']?\s*([a-zA-Z][a-zA-Z0-9+.-]*:|//))");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), reference); it != std::sregex_iterator(); ++it) {
    const std::string scheme = (*it)[2].str();
    CAPTURE(scheme);
    CHECK(scheme == "data:");
  }
  CHECK(html.find("http://www.w3.org/2000/svg") != std::string::npos);  // the SVG namespace, a name not a fetch
  for (const char* fetch : {"fetch(", "XMLHttpRequest", "import(", "@import", "url(http"}) {
    CAPTURE(fetch);
    CHECK(html.find(fetch) == std::string::npos);
  }
  CHECK(html.find("default-src 'none'") != std::string::npos);
}

TEST_CASE("report: the page is self-contained and its data agrees with the assignment") {
  auto dump = io::load_dump(testing::source_path("testdata/coco640-late-g12-objectness"));
  REQUIRE(dump.ok());
  const Batch& batch = dump->batch;
  const Problem& p = batch.images[0];
  std::vector<Assignment> results = {testing::run_assigner("dynamic-soft-label", p)};
  const std::string html = render::report_html(batch, {"dynamic-soft-label", &results});
  check_self_contained(html);
  CHECK(html.find(std::string(render::report_asset("report.js"))) != std::string::npos);
  CHECK(html.find(std::string(render::report_asset("report.css"))) != std::string::npos);
  CHECK(html.find("@DATA@") == std::string::npos);
  CHECK(html.find("/*@JS@*/") == std::string::npos);

  const auto data = nlohmann::json::parse(data_text(html));
  CHECK(data["schema"] == render::kReportSchema);
  REQUIRE(data["images"].size() == 1);
  const auto& img = data["images"][0];
  CHECK(img["num_priors"] == p.num_priors());
  CHECK(img["gt_boxes"].size() == static_cast<size_t>(p.num_gts()));
  const auto& side = img["sides"][0];
  int64_t positives = 0;
  for (const auto& g : side["gt"]) positives += g.get<int64_t>() > 0;
  CHECK(positives == results[0].num_positives());
  CHECK(side["summary"]["positives"] == results[0].num_positives());
  CHECK(side["candidates"]["pairs"] == results[0].candidates.size());
  CHECK(side["candidates"]["terms"].size() == results[0].cost_terms.size());
  CHECK(side["gt_table"]["rows"].size() == static_cast<size_t>(p.num_gts()));
  CHECK(side["gt_table"]["columns"][0] == "gt");
  CHECK(img["diff"].is_null());
  CHECK(img["gt_colours"][0] == "#2265c3");

  // The assets the script relies on, and none ends a script element early.
  for (const char* name : {"report.html", "report.css", "report.js"}) {
    CAPTURE(name);
    CHECK_FALSE(render::report_asset(name).empty());
    CHECK(std::string(render::report_asset(name)) ==
          testing::read_text(testing::source_path(std::string("src/render/report_assets/") + name)));
  }
  CHECK(std::string(render::report_asset("report.js")).find("</script") == std::string::npos);
  CHECK(render::report_asset("nothing.js").empty());
}

TEST_CASE("report: a name holding </script> cannot end the data early, and diff data counts as diff does") {
  auto dump = io::load_dump(testing::source_path("testdata/coco640-late-g12-objectness"));
  REQUIRE(dump.ok());
  Batch batch = dump->batch;
  batch.source = "evil</script><script>alert(1)</script>";
  batch.images[0].name = "</SCRIPT><img src=x>";
  std::vector<Assignment> a = {testing::run_assigner("dynamic-soft-label", batch.images[0])};
  std::vector<Assignment> b = {testing::run_assigner("simota", batch.images[0])};
  const std::string html = render::report_html(batch, {"dynamic-soft-label", &a}, {"simota", &b});
  const std::string text = data_text(html);
  CHECK(text.find("</") == std::string::npos);
  const auto data = nlohmann::json::parse(text);
  CHECK(data["source"] == batch.source);
  CHECK(data["sides"].size() == 2);
  const auto& d = data["images"][0]["diff"];
  REQUIRE(d.is_object());
  CHECK(d["counts"]["positives_a"] == a[0].num_positives());
  CHECK(d["counts"]["positives_b"] == b[0].num_positives());
  CHECK(d["flips"]["prior"].size() ==
        d["counts"]["pos_to_neg"].get<size_t>() + d["counts"]["neg_to_pos"].get<size_t>() +
            d["counts"]["changed_gt"].get<size_t>() + d["counts"]["ignored_changes"].get<size_t>());
  // The title is escaped as text.
  CHECK(html.find("<title>evil&lt;/script&gt;") != std::string::npos);
}

TEST_CASE("report: the dump's image is inlined as a data URI, and grids of priors are stored as grids") {
  auto dump = io::load_dump(testing::source_path("testdata/coco640-late-g12-objectness"));
  REQUIRE(dump.ok());
  Batch batch = dump->batch;
  EncodedImage image;
  image.mime_type = "image/png";
  image.bytes = testing::solid_png(640, 640, {200, 120, 40});
  image.width = image.height = 640;
  batch.images[0].image = image;
  std::vector<Assignment> results = {testing::run_assigner("simota", batch.images[0])};
  const std::string html = render::report_html(batch, {"simota", &results});
  check_self_contained(html);
  const auto data = nlohmann::json::parse(data_text(html));
  const auto& img = data["images"][0];
  CHECK(img["image"].get<std::string>().rfind("data:image/png;base64,", 0) == 0);
  // Point priors: per level (x0, y0, stride x, stride y, columns), no arrays.
  REQUIRE(img["grid"].is_array());
  CHECK(img["px"].is_null());
  CHECK(img["grid"].size() == 3);
  CHECK(img["grid"][0] == nlohmann::json::array({0.0, 0.0, 8.0, 8.0, 80}));
  CHECK(img["grid"][2] == nlohmann::json::array({0.0, 0.0, 32.0, 32.0, 20}));
  // A prior off the grid: the centres as arrays.
  batch.images[0].priors(5, 0) += 1.0f;
  const auto off = render::report_data(batch, {"simota", &results});
  CHECK(off["images"][0]["grid"].is_null());
  CHECK(off["images"][0]["px"].size() == static_cast<size_t>(batch.images[0].num_priors()));
  // Costs are kept for every picked and assigned pair; every inside pair is in a GT's runs.
  const auto& c = off["images"][0]["sides"][0]["candidates"];
  size_t inside = 0;
  for (const auto& runs : c["inside_runs"])
    for (size_t k = 1; k < runs.size(); k += 2) inside += runs[k].get<size_t>();
  size_t want_inside = 0, want_kept_at_least = 0;
  for (const CandidatePair& pair : results[0].candidates) {
    want_inside += pair.inside;
    want_kept_at_least += pair.picked || results[0].gt_inds[static_cast<size_t>(pair.prior)] == pair.gt + 1;
  }
  CHECK(inside == want_inside);
  CHECK(c["pairs"] == results[0].candidates.size());
  CHECK(c["prior"].size() >= want_kept_at_least);
  CHECK(c["prior"].size() < results[0].candidates.size());
}

TEST_CASE("cli: report writes one HTML file, its errors are one line, exit 2") {
  testing::TempDir tmp;
  const std::string dump = "testdata/coco640-late-g12-objectness";
  auto r = testing::run_cli("report " + dump + " -a dynamic-soft-label -o '" + tmp.path("r.html") + "'");
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  const std::string html = testing::read_text(tmp.path("r.html"));
  check_self_contained(html);
  CHECK(html.size() < 1000 * 1000);
  // The existing output is kept without --force.
  r = testing::run_cli("report " + dump + " -a simota -o '" + tmp.path("r.html") + "'");
  CHECK(r.exit_code == 2);
  CHECK(testing::count_lines(r.err) == 1);
  CHECK(r.err.find(tmp.path("r.html")) != std::string::npos);
  CHECK(testing::read_text(tmp.path("r.html")) == html);
  r = testing::run_cli("report " + dump + " -a simota --force -o '" + tmp.path("r.html") + "'");
  CHECK(r.exit_code == 0);
  CHECK(testing::read_text(tmp.path("r.html")) != html);
  // Not an HTML name, no -o, a missing directory, an unknown assigner, a bad dump.
  for (const std::string& args :
       {dump + " -o '" + tmp.path("r.svg") + "'", dump, dump + " -o '" + tmp.path("no/such/dir/r.html") + "'",
        dump + " -a no-such-assigner -o '" + tmp.path("x.html") + "'",
        "testdata/no-such-dump -o '" + tmp.path("x.html") + "'", dump + " --tpok 3 -o '" + tmp.path("x.html") + "'"}) {
    CAPTURE(args);
    r = testing::run_cli("report " + args);
    CHECK(r.exit_code == 2);
    CHECK(testing::count_lines(r.err) == 1);
    CHECK(r.err.rfind("assignscope report: error: ", 0) == 0);
  }
  // Diff mode: side b from --set-b alone takes side a's assigner.
  r = testing::run_cli("report " + dump + " -a dynamic-soft-label --set-b topk=5 -o '" + tmp.path("d.html") + "'");
  CHECK(r.exit_code == 0);
  const auto data = nlohmann::json::parse(data_text(testing::read_text(tmp.path("d.html"))));
  CHECK(data["sides"].size() == 2);
  CHECK(data["sides"][1]["assigner"] == "dynamic-soft-label");
  CHECK(data["sides"][1]["params"]["topk"] == 5);
  // Side b naming no assigner and changing nothing: a warning, as diff gives.
  r = testing::run_cli("report " + dump + " -b simota -o '" + tmp.path("same.html") + "'");
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("warning: sides a and b are the same assigner") != std::string::npos);
  // A batch: one entry per image.
  r = testing::run_cli("report testdata/batch/dirs-b2 -a dynamic-soft-label -o '" + tmp.path("b.html") + "'");
  CHECK(r.exit_code == 0);
  CHECK(nlohmann::json::parse(data_text(testing::read_text(tmp.path("b.html"))))["images"].size() == 2);
}

}  // namespace
}  // namespace assignscope
