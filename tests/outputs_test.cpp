// Outputs and flags a person can trust: where `-o` writes and in which
// format, flags and their typos, names that reach a terminal or a JSON
// parser, the CSV tables for pandas, a bad dump among good ones, and the
// progress line.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/dump.h"
#include "test_support.h"

namespace assignscope {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;

const std::string kToy = "testdata/golden/toy-two-overlapping-gts";
const std::string kSingle = "testdata/golden/toy-single-gt";
const std::string kEmpty = "testdata/golden/toy-empty-gt";

nlohmann::json parse(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

// An error as the conventions want it: exit 2, one line, holding `words`.
void check_usage_error(const testing::CliRun& r, const std::vector<std::string>& words) {
  CAPTURE(r.err);
  CHECK(r.exit_code == 2);
  CHECK(testing::count_lines(r.err) == 1);
  for (const std::string& w : words) {
    CAPTURE(w);
    CHECK(r.err.find(w) != std::string::npos);
  }
}

// A CSV (no quoted commas in these tests) as rows of cells.
std::vector<std::vector<std::string>> csv_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> cells;
    size_t start = 0;
    for (;;) {
      const size_t comma = line.find(',', start);
      cells.push_back(line.substr(start, comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    rows.push_back(std::move(cells));
  }
  return rows;
}

// The cells of column `name`, one per data row.
std::vector<std::string> column(const std::vector<std::vector<std::string>>& rows, const std::string& name) {
  REQUIRE_FALSE(rows.empty());
  const auto& head = rows[0];
  const auto it = std::find(head.begin(), head.end(), name);
  REQUIRE_MESSAGE(it != head.end(), name);
  const auto c = static_cast<size_t>(it - head.begin());
  std::vector<std::string> out;
  for (size_t r = 1; r < rows.size(); ++r) {
    REQUIRE(rows[r].size() == head.size());
    out.push_back(rows[r][c]);
  }
  return out;
}

// Runs `args` with a command line of its own: `shell` is the whole command
// after the binary (redirections included), run from `cwd`.
int run_shell(const std::string& shell, const std::string& cwd = ASSIGNSCOPE_SOURCE_DIR) {
  const std::string cmd = "cd '" + cwd + "' && '" + std::string(ASSIGNSCOPE_BIN) + "' " + shell;
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("outputs: -o - is stdout, for every text format and for bench, and makes no file named -") {
  testing::TempDir tmp;
  const std::string dump = testing::source_path(kToy);
  for (const char* format : {"json", "csv", "table", "svg"}) {
    CAPTURE(format);
    const auto r = run_cli("run " + dump + " -a dynamic-soft-label -f " + format + " -o -", tmp.path());
    CHECK(r.exit_code == 0);
    CHECK(r.out.size() > 100);
    CHECK_FALSE(fs::exists(tmp.path("-")));
  }
  // Without --format, `-o -` is stdout's default: json when piped.
  const auto piped = run_cli("run " + dump + " -a dynamic-soft-label -o -", tmp.path());
  REQUIRE(piped.exit_code == 0);
  CHECK(parse(piped.out)["summary"]["positives"] == 15);
  const auto bench = run_cli("bench " + dump + " -a dynamic-soft-label -n 1 -j 1 -o -", tmp.path());
  REQUIRE(bench.exit_code == 0);
  CHECK(parse(bench.out)["schema"] == "assignscope.bench/1");
  CHECK(fs::is_empty(tmp.path()));
  // A directory of .npy files cannot go to stdout.
  check_usage_error(run_cli("run " + dump + " -a dynamic-soft-label -f npy -o -", tmp.path()), {"npy", "-o DIR"});
  CHECK(fs::is_empty(tmp.path()));
}

TEST_CASE("outputs: an unknown or mistyped extension is an error, not a directory of npy files") {
  testing::TempDir tmp;
  struct Case {
    const char* name;
    std::vector<std::string> words;
  };
  for (const Case& c :
       std::vector<Case>{{"x.png", {"'.png' is not an extension assignscope writes", ".txt (table)", "--format"}},
                         {"result.JSON", {"'.JSON'", "did you mean '.json'?"}},
                         {"r.Csv", {"did you mean '.csv'?"}},
                         {"r.npy", {"'.npy'", "no extension for a directory of .npy files"}},
                         {"r.jsn", {"did you mean '.json'?"}}}) {
    CAPTURE(c.name);
    const auto r = run_cli("run " + kToy + " -a dynamic-soft-label -o " + tmp.path(c.name));
    std::vector<std::string> words = c.words;
    words.push_back(tmp.path(c.name));
    check_usage_error(r, words);
    CHECK(r.out.empty());
    CHECK_FALSE(fs::exists(tmp.path(c.name)));
  }
  for (const char* name : {"b.png", "b.JSON"}) {
    CAPTURE(name);
    check_usage_error(run_cli("bench " + kToy + " -a dynamic-soft-label -n 1 -o " + tmp.path(name)),
                      {"'.", "--format"});
    CHECK_FALSE(fs::exists(tmp.path(name)));
  }
  // Result directories are named after labels, dots and all: those stay npy.
  for (const char* name : {"mine", "simota.yolox", "max-iou+ignore-iof0.2", "task-aligned.ultralytics+v8.4",
                           "task-aligned+topk9-alpha0.5-beta4", "dynamic-soft-label.mmyolo"}) {
    CAPTURE(name);
    const auto r = run_cli("run " + kToy + " -a dynamic-soft-label -o '" + tmp.path(name) + "'");
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(fs::is_regular_file(fs::path(tmp.path(name)) / "assigned_gt_inds.npy"));
  }
  // An explicit --format is taken as given.
  REQUIRE(run_cli("run " + kToy + " -a dynamic-soft-label -f json -o " + tmp.path("r.JSON")).exit_code == 0);
  CHECK(parse(testing::read_text(tmp.path("r.JSON")))["schema"] == "assignscope.result/1");
  // A bench file without extension is JSON, as before; .txt the table.
  REQUIRE(run_cli("bench " + kToy + " -a dynamic-soft-label -n 1 -j 1 -o " + tmp.path("b.txt")).exit_code == 0);
  CHECK(testing::read_text(tmp.path("b.txt")).find("timed replay each") != std::string::npos);
}

TEST_CASE("outputs: /dev/null and /dev/stdout are written in place, --force never renames over a link or device") {
  testing::TempDir tmp;
  const std::string run = "run " + kToy + " -a dynamic-soft-label ";
  CHECK(run_cli(run + "-o /dev/null").exit_code == 0);
  CHECK(run_cli(run + "-o /dev/null --force").exit_code == 0);
  CHECK(fs::is_character_file("/dev/null"));

  // /dev/stdout with stdout redirected to a file: the JSON goes into that
  // file, and a `>>` redirection keeps what the file held.
  const std::string out = tmp.path("out.json");
  REQUIRE(io::write_file_atomic(out, std::string("before\n"), false).ok());
  REQUIRE(run_shell(run + "-o /dev/stdout >>'" + out + "'") == 0);
  const std::string text = testing::read_text(out);
  REQUIRE(text.rfind("before\n", 0) == 0);
  CHECK(parse(text.substr(7))["schema"] == "assignscope.result/1");  // json: stdout is not a terminal
  CHECK(fs::is_symlink("/dev/stdout"));

  // The same through a link of our own to this process's stdout, with
  // --force: the output lands in the redirected file, the link stays.
  fs::create_symlink("/proc/self/fd/1", tmp.path("stdout-link"));
  REQUIRE(run_shell(run + "-f csv -o '" + tmp.path("stdout-link") + "' --force >'" + tmp.path("redirected.csv") +
                    "'") == 0);
  CHECK(fs::is_symlink(tmp.path("stdout-link")));
  CHECK(testing::read_text(tmp.path("redirected.csv")).rfind("image,image_name,", 0) == 0);

  // A link to a device: written through, the link stays.
  fs::create_symlink("/dev/null", tmp.path("null.json"));
  CHECK(run_cli(run + "-o " + tmp.path("null.json") + " --force").exit_code == 0);
  CHECK(fs::is_symlink(tmp.path("null.json")));
  CHECK(fs::is_character_file("/dev/null"));

  // A link to a file: --force replaces the file it names; the link stays.
  REQUIRE(io::write_file_atomic(tmp.path("real.json"), std::string("old"), false).ok());
  fs::create_symlink("real.json", tmp.path("link.json"));
  check_usage_error(run_cli(run + "-o " + tmp.path("link.json")), {"link.json", "--force"});
  CHECK(testing::read_text(tmp.path("real.json")) == "old");
  REQUIRE(run_cli(run + "-o " + tmp.path("link.json") + " --force").exit_code == 0);
  CHECK(fs::is_symlink(tmp.path("link.json")));
  CHECK(parse(testing::read_text(tmp.path("real.json")))["schema"] == "assignscope.result/1");

  // A link to nothing is never replaced, with or without --force.
  fs::create_symlink(tmp.path("nowhere.json"), tmp.path("dangling.json"));
  for (const char* force : {"", " --force"}) {
    check_usage_error(run_cli(run + "-o " + tmp.path("dangling.json") + force), {"dangling.json", "symbolic link"});
    CHECK(fs::is_symlink(tmp.path("dangling.json")));
    CHECK_FALSE(fs::exists(tmp.path("nowhere.json")));
  }

  // A result directory behind a link: the directory is replaced, the link stays.
  REQUIRE(run_cli(run + "-f npy -o " + tmp.path("res")).exit_code == 0);
  fs::create_symlink("res", tmp.path("res-link"));
  REQUIRE(run_cli(run + "--set topk=5 -f npy -o " + tmp.path("res-link") + " --force").exit_code == 0);
  CHECK(fs::is_symlink(tmp.path("res-link")));
  CHECK(parse(testing::read_text(tmp.path("res/params.json")))["params"]["topk"] == 5);
  // A link to the directory you stand in is that directory: refused.
  fs::create_symlink(".", tmp.path("res/here"));
  const auto here =
      run_cli("run " + testing::source_path(kToy) + " -a dynamic-soft-label -f npy -o here --force", tmp.path("res"));
  check_usage_error(here, {"current directory"});
  CHECK(fs::exists(tmp.path("res/assigned_gt_inds.npy")));
}

TEST_CASE("outputs: an unknown flag or value is named with a did-you-mean, in every command") {
  check_usage_error(run_cli("run " + kToy + " --assinger dynamic-soft-label"),
                    {"unknown flag --assinger (did you mean '--assigner'?)", "assignscope run --help"});
  check_usage_error(run_cli("run " + kToy + " -a dynamic-soft-label --forse"), {"did you mean '--force'?"});
  check_usage_error(run_cli("run " + kToy + " -a dynamic-soft-label --theads=2"),
                    {"unknown flag --theads", "'--threads'"});
  check_usage_error(run_cli("run " + kToy + " -a dynamic-soft-label -f jsno"),
                    {"--format jsno", "did you mean 'json'?", "table, json, csv, npy or svg"});
  check_usage_error(run_cli("run " + kToy + " -a dynamic-soft-label --csv positive"), {"did you mean 'positives'?"});
  check_usage_error(run_cli("bench " + kToy + " -a dynamic-soft-label --fromat json"), {"did you mean '--format'?"});
  check_usage_error(run_cli("bench " + kToy + " -a dynamic-soft-label -f tabel"), {"did you mean 'table'?"});
  check_usage_error(run_cli("check " + kToy + " --tolerence 1e-3"), {"did you mean '--tolerance'?"});
  check_usage_error(run_cli("diff " + kToy + " --a simota --fial-if 'flips>0'"), {"did you mean '--fail-if'?"});
  check_usage_error(run_cli("list --fromat json"), {"did you mean '--format'?"});
  check_usage_error(run_cli("--verison"), {"unknown flag '--verison'"});
}

TEST_CASE("outputs: help COMMAND, -V, and counts in the singular") {
  const auto help = run_cli("help run");
  CHECK(help.exit_code == 0);
  CHECK(help.out == run_cli("run --help").out);
  CHECK(help.out.find("--fail-fast") != std::string::npos);
  check_usage_error(run_cli("help rnu"), {"unknown command 'rnu' (did you mean 'run'?)"});
  CHECK(run_cli("help").out.find("usage: assignscope <command>") != std::string::npos);
  const auto version = run_cli("-V");
  CHECK(version.exit_code == 0);
  CHECK(version.out == run_cli("--version").out);
  CHECK(version.out.rfind("assignscope ", 0) == 0);

  // toy-single-gt: one GT, one class column of three? The table says what it has.
  const auto one = run_cli("run " + kSingle + " -a simota -f table");
  REQUIRE(one.exit_code == 0);
  CHECK(one.out.find(" · 1 GT\n") != std::string::npos);
  CHECK(one.out.find("1 GTs") == std::string::npos);
  const auto batch = run_cli("run testdata/batch/dirs-b2/img0-two-overlapping -a simota -f table");
  CHECK(batch.out.find("2 GTs") != std::string::npos);
  // A batch of one image.
  testing::TempDir tmp;
  fs::create_directories(tmp.path("dumps"));
  fs::copy(testing::source_path(kToy), tmp.path("dumps/only"), fs::copy_options::recursive);
  const auto single_batch = run_cli("run " + tmp.path("dumps") + " -a simota -f table");
  REQUIRE(single_batch.exit_code == 0);
  CHECK(single_batch.out.find("batch: 1 image · 2 GTs") != std::string::npos);
  const auto bench = run_cli("bench " + kToy + " -a simota -n 1 -f table");
  CHECK(bench.out.find("1 image · 1 timed replay each") != std::string::npos);
}

TEST_CASE("outputs: names reach the terminal escaped, and JSON and CSV take names that are not UTF-8") {
  testing::TempDir tmp;
  // A directory of dumps whose member names set the terminal's title, clear
  // the screen, hide in a C1 CSI (U+009B) or reverse the text (U+202E).
  const std::string evil =
      "t\x1b]0;pwned\x07\x1b[2J\xc2\x9b"
      "31m\xe2\x80\xae"
      "x";
  const std::string dumps = tmp.path("dumps");
  fs::create_directories(dumps);
  fs::copy(testing::source_path(kToy), dumps + "/" + evil, fs::copy_options::recursive);
  fs::copy(testing::source_path(kToy), dumps + "/ok\xff\xfe", fs::copy_options::recursive);
  const auto table = run_cli("run " + dumps + " -a simota -f table");
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.find('\x1b') == std::string::npos);
  CHECK(table.out.find('\x07') == std::string::npos);
  CHECK(table.out.find("\xc2\x9b") == std::string::npos);
  CHECK(table.out.find("\xe2\x80\xae") == std::string::npos);
  CHECK(table.out.find("\xff") == std::string::npos);
  CHECK(table.out.find("(t\\x1b]0;pwned\\x07\\x1b[2J\\u009b31m\\u202ex)") != std::string::npos);
  CHECK(table.out.find("(ok\\xff\\xfe)") != std::string::npos);

  // JSON: valid UTF-8 with U+FFFD for each bad byte (exit 3 before).
  const auto json = run_cli("run " + dumps + " -a simota -f json");
  REQUIRE(json.exit_code == 0);
  const nlohmann::json j = parse(json.out);
  CHECK(j["images"][0]["name"] == "ok\xef\xbf\xbd\xef\xbf\xbd");
  CHECK(j["images"][1]["name"] == evil);  // valid UTF-8 is kept as it is: JSON escapes the controls
  CHECK(json.out.find('\x1b') == std::string::npos);
  const auto csv = run_cli("run " + dumps + " -a simota -f csv");
  REQUIRE(csv.exit_code == 0);
  CHECK(csv.out.find("\nok\xef\xbf\xbd\xef\xbf\xbd,") == std::string::npos);  // the image index comes first
  CHECK(csv.out.find(",ok\xef\xbf\xbd\xef\xbf\xbd,") != std::string::npos);
  CHECK(csv.out.find('\xff') == std::string::npos);
  // The npy layout's params.json and notes.json, and bench's JSON, the same way.
  const auto npy = run_cli("run " + dumps + " -a simota -f npy -o " + tmp.path("res"));
  REQUIRE_MESSAGE(npy.exit_code == 0, npy.err);
  CHECK(parse(testing::read_text(tmp.path("res/params.json")))["images"][0] == "ok\xef\xbf\xbd\xef\xbf\xbd");
  CHECK(parse(testing::read_text(tmp.path("res/notes.json")))["images"].size() == 2);
  const auto bench = run_cli("bench '" + dumps + "/ok\xff\xfe' -a simota -n 1 -j 1 -f json");
  REQUIRE_MESSAGE(bench.exit_code == 0, bench.err);
  CHECK(parse(bench.out)["schema"] == "assignscope.bench/1");

  // Errors on stderr: one line, escaped the same way.
  const auto missing = run_cli("run '" + tmp.path("no\xc2\x9bsuch") + "' -a simota");
  check_usage_error(missing, {"no\\u009bsuch"});
  CHECK(missing.err.find("\xc2\x9b") == std::string::npos);
}

TEST_CASE("outputs: JSON floats are their shortest float32 spelling") {
  const auto r = run_cli("run " + kToy + " -a task-aligned -f json --include priors,candidates");
  REQUIRE(r.exit_code == 0);
  // Every number with a fraction or exponent in the text reads back as a
  // float32 whose shortest spelling is that text (JSON adds ".0" to whole ones).
  int checked = 0;
  const std::string& t = r.out;
  for (size_t i = 0; i < t.size();) {
    const bool starts = (t[i] == '-' || std::isdigit(static_cast<unsigned char>(t[i]))) && i > 0 &&
                        (t[i - 1] == ' ' || t[i - 1] == '[' || t[i - 1] == ':' || t[i - 1] == ',');
    if (!starts) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < t.size() && std::string("-+.eE0123456789").find(t[end]) != std::string::npos) ++end;
    const std::string token = t.substr(i, end - i);
    i = end;
    if (token.find_first_of(".eE") == std::string::npos) continue;  // an integer
    const float f = std::strtof(token.c_str(), nullptr);
    std::string shortest = fmt::format("{}", f);
    if (shortest.find_first_of(".e") == std::string::npos) shortest += ".0";
    CAPTURE(token);
    CHECK(token == shortest);
    ++checked;
  }
  CHECK(checked > 500);
}

TEST_CASE("outputs: the CSV tables hold one value a cell, the assigner and its parameters, and images without GT") {
  const std::string both = kEmpty + " " + kToy;
  // Per GT: the image without GT is one row with empty GT cells.
  const auto gts = run_cli("run " + both + " -a dynamic-soft-label --set topk=5 -f csv");
  REQUIRE(gts.exit_code == 0);
  const auto rows = csv_rows(gts.out);
  REQUIRE(rows.size() == 1 + 1 + 2);
  CHECK(column(rows, "image") == std::vector<std::string>{"0", "1", "1"});
  CHECK(column(rows, "image_gts") == std::vector<std::string>{"0", "2", "2"});
  CHECK(column(rows, "gt") == std::vector<std::string>{"", "0", "1"});
  CHECK(column(rows, "assigner") ==
        std::vector<std::string>{"dynamic-soft-label", "dynamic-soft-label", "dynamic-soft-label"});
  CHECK(column(rows, "param_topk") == std::vector<std::string>{"5", "5", "5"});
  CHECK(column(rows, "param_soft_center_radius")[1] == "3.0");  // compact JSON: pandas reads a float
  // No cell packs a list: the old "lost_to" ("1:2;bg:3") is counted instead.
  for (const auto& row : rows)
    for (const std::string& cell : row) CHECK(cell.find_first_of(":;#") == std::string::npos);
  const std::vector<std::string> lost = column(rows, "lost");

  // Per (GT, taker): the counts add up to each GT's `lost`.
  const auto lost_csv = run_cli("run " + both + " -a dynamic-soft-label --set topk=5 --csv lost");
  REQUIRE(lost_csv.exit_code == 0);
  const auto lost_rows = csv_rows(lost_csv.out);
  std::map<std::string, int> per_gt;
  const auto lost_gt = column(lost_rows, "gt"), counts = column(lost_rows, "count"),
             to_gt = column(lost_rows, "lost_to_gt"), to_bg = column(lost_rows, "lost_to_background");
  for (size_t r = 0; r < lost_gt.size(); ++r) {
    per_gt[lost_gt[r]] += std::stoi(counts[r]);
    CHECK(to_gt[r] != lost_gt[r]);
    CHECK((to_bg[r] == "true") == to_gt[r].empty());
  }
  CHECK(per_gt["0"] == std::stoi(lost[1]));
  CHECK(per_gt["1"] == std::stoi(lost[2]));

  // Per image only: one row each, for large batches.
  const auto images = run_cli("run " + both + " -a dynamic-soft-label --csv images");
  REQUIRE(images.exit_code == 0);
  const auto image_rows = csv_rows(images.out);
  REQUIRE(image_rows.size() == 1 + 2);
  CHECK(column(image_rows, "gts") == std::vector<std::string>{"0", "2"});
  CHECK(column(image_rows, "positives") == std::vector<std::string>{"0", "15"});
  CHECK(column(image_rows, "priors") == std::vector<std::string>{"45", "80"});
  CHECK(column(image_rows, "notes")[0] == "1");  // "no ground truth: every prior is negative"
  CHECK(column(image_rows, "positives_level0").size() == 2);

  // Per positive: the JSON's positives, with their pairs' cost terms.
  const auto positives = run_cli("run " + kToy + " -a dynamic-soft-label --csv positives");
  REQUIRE(positives.exit_code == 0);
  const auto pos_rows = csv_rows(positives.out);
  const nlohmann::json j =
      parse(run_cli("run " + kToy + " -a dynamic-soft-label -f json --include priors,candidates").out);
  const nlohmann::json& img = j["images"][0];
  REQUIRE(pos_rows.size() == 1 + img["positives"].size());
  const auto prior = column(pos_rows, "prior"), gt = column(pos_rows, "gt"), level = column(pos_rows, "level"),
             cx = column(pos_rows, "cx"), stride = column(pos_rows, "stride_w"), iou = column(pos_rows, "iou"),
             cost = column(pos_rows, "cost"), cls = column(pos_rows, "cost_cls"),
             centre = column(pos_rows, "cost_center");
  const auto loaded = io::load_dump(testing::source_path(kToy));
  REQUIRE(loaded.ok());
  for (size_t r = 0; r < prior.size(); ++r) {
    const nlohmann::json& p = img["positives"][r];
    CAPTURE(r);
    CHECK(std::stoi(prior[r]) == p["prior"].get<int>());
    CHECK(std::stoi(gt[r]) == p["gt"].get<int>());
    CHECK(std::stoi(level[r]) == p["level"].get<int>());
    CHECK(std::stof(iou[r]) == doctest::Approx(p["overlap"].get<double>()));
    // The pair the assigner recorded for (prior, gt).
    for (const auto& c : img["candidates"])
      if (c["prior"] == p["prior"] && c["gt"] == p["gt"]) {
        CHECK(std::stof(cost[r]) == doctest::Approx(c["cost"].get<double>()));
        CHECK(std::stof(cls[r]) == doctest::Approx(c["terms"]["cls"].get<double>()));
        CHECK(std::stof(centre[r]) == doctest::Approx(c["terms"]["center"].get<double>()));
      }
    // The prior as the dump holds it; two levels, of strides 8 and 16.
    const Problem& dumped = loaded->batch.images[0];
    const auto pi = static_cast<Eigen::Index>(std::stoi(prior[r]));
    CHECK(std::stof(cx[r]) == dumped.priors(pi, 0));
    CHECK(std::stof(stride[r]) == dumped.priors(pi, 2));
    CHECK(std::stof(stride[r]) == (level[r] == "0" ? 8.0f : 16.0f));
  }

  // --csv needs the CSV format; a mismatch is named.
  check_usage_error(run_cli("run " + kToy + " -a dynamic-soft-label --csv positives -f json"),
                    {"--csv positives", "json"});
  testing::TempDir tmp;
  REQUIRE(run_cli("run " + kToy + " -a dynamic-soft-label --csv positives -o " + tmp.path("p.csv")).exit_code == 0);
  CHECK(testing::read_text(tmp.path("p.csv")) == positives.out);
}

TEST_CASE("outputs: several dumps keep going: each bad dump reported, the good ones written, exit 2") {
  testing::TempDir tmp;
  const std::string both = kSingle + " testdata/bad/bad-header " + kToy;
  // By default, with several dumps: each failure a line, the good ones
  // written, a last line counting what was left out, exit 2.
  const auto kept = run_cli("run " + both + " -a simota -f json");
  CHECK(kept.exit_code == 2);
  CHECK(testing::count_lines(kept.err) == 2);
  CHECK(kept.err.find("testdata/bad/bad-header/priors.npy: malformed header") != std::string::npos);
  CHECK(kept.err.find("1 dump could not be read (above) and is left out; the output holds the other 2 images") !=
        std::string::npos);
  const nlohmann::json j = parse(kept.out);
  REQUIRE(j["images"].size() == 2);
  CHECK(j["images"][0]["name"] == kSingle);
  CHECK(j["images"][1]["name"] == kToy);
  // The good images exactly as a run without the bad one gives them.
  const nlohmann::json good = parse(run_cli("run " + kSingle + " " + kToy + " -a simota -f json").out);
  CHECK(j["images"] == good["images"]);
  CHECK(j["summary"] == good["summary"]);
  // -k says the same; --fail-fast stops at the first, writing nothing.
  CHECK(run_cli("run " + both + " -a simota -f json -k").out == kept.out);
  const auto stop = run_cli("run " + both + " -a simota -f json --fail-fast");
  check_usage_error(stop, {"testdata/bad/bad-header/priors.npy: malformed header"});
  CHECK(stop.out.empty());
  check_usage_error(run_cli("run " + both + " -a simota -k --fail-fast"), {"--fail-fast", "--keep-going"});

  // A quoted glob and a directory of dumps with a broken member, written to
  // a file: the file holds the good ones.
  fs::create_directories(tmp.path("dumps"));
  fs::copy(testing::source_path(kToy), tmp.path("dumps/a"), fs::copy_options::recursive);
  fs::copy(testing::source_path("testdata/bad/truncated-npy"), tmp.path("dumps/b"), fs::copy_options::recursive);
  fs::copy(testing::source_path(kSingle), tmp.path("dumps/c"), fs::copy_options::recursive);
  for (const std::string& dumps : {tmp.path("dumps"), "'" + tmp.path("dumps") + "/*'"}) {
    CAPTURE(dumps);
    const auto dir = run_cli("run " + dumps + " -a simota --csv images -o " + tmp.path("r.csv") + " --force");
    CHECK(dir.exit_code == 2);
    CHECK(testing::count_lines(dir.err) == 2);
    CHECK(dir.err.find(tmp.path("dumps/b")) != std::string::npos);
    CHECK(dir.err.find("truncated") != std::string::npos);
    const auto rows = csv_rows(testing::read_text(tmp.path("r.csv")));
    CHECK(column(rows, "positives").size() == 2);
    const auto names = column(rows, "image_name");
    CHECK(names.front().find('a') != std::string::npos);
    CHECK(names.back().find('c') != std::string::npos);
  }

  // An image the assigner cannot replay (a field it needs is missing) is left out the same way.
  const auto replay = run_cli("run " + kToy + " testdata/golden/detr-softmax-toy -a dynamic-soft-label -f json");
  CHECK(replay.exit_code == 2);
  CHECK(replay.err.find("testdata/golden/detr-softmax-toy") != std::string::npos);
  CHECK(
      replay.err.find("1 image could not be replayed (above) and is left out; the output holds the other 1 image\n") !=
      std::string::npos);
  CHECK(parse(replay.out)["images"].size() == 1);
  // Nothing left: exit 2, nothing written.
  const auto none = run_cli("run testdata/bad/bad-header testdata/bad/bad-magic -a simota -f json");
  CHECK(none.exit_code == 2);
  CHECK(none.out.empty());
  CHECK(testing::count_lines(none.err) == 3);
  CHECK(none.err.find("nothing left to replay: 2 dumps could not be read") != std::string::npos);
  // One dump that cannot be read: its error alone, as ever.
  check_usage_error(run_cli("run testdata/bad/bad-header -a simota -f json"), {"malformed header"});
  // A stored result (npy) is what `check` replays from every dump it names:
  // with a dump left out it would not replay to itself, so none is written.
  const auto npy = run_cli("run " + both + " -a simota -f npy -o " + tmp.path("stored"));
  CHECK(npy.exit_code == 2);
  CHECK(npy.err.find("--format npy stores a result for `check`, which replays every dump it names: 1 dump could not "
                     "be read (above), so nothing was written") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp.path("stored")));
}

TEST_CASE("outputs: a long single image shows a progress line on a terminal, with Sinkhorn's iterations") {
  if (std::system("command -v script >/dev/null 2>&1") != 0) {
    MESSAGE("script(1) is not installed: no pseudo-terminal to test the progress line on");
    return;
  }
  testing::TempDir tmp;
  // One image, OTA with many iterations: several seconds, under script(1)
  // so that stderr is a terminal; the output goes to a file.
  const std::string cmd = "cd '" + testing::source_path("") + "' && script -qec \"'" + std::string(ASSIGNSCOPE_BIN) +
                          "' run testdata/coco640-late-g12-objectness -a ota --set sinkhorn_iters=2000 -f json -o '" +
                          tmp.path("r.json") + "'\" '" + tmp.path("typescript") + "' >/dev/null 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const std::string seen = testing::read_text(tmp.path("typescript"));
  CHECK(seen.find("assignscope run: 0/1 image · ") != std::string::npos);
  CHECK(seen.find(" · Sinkhorn iteration ") != std::string::npos);
  CHECK(seen.find(" of 2000") != std::string::npos);
  CHECK(parse(testing::read_text(tmp.path("r.json")))["images"].size() == 1);
  // Piped, there is none.
  const auto piped =
      run_cli("run testdata/coco640-late-g12-objectness -a ota --set sinkhorn_iters=300 -f json -o /dev/null");
  CHECK(piped.exit_code == 0);
  CHECK(piped.err.empty());
}

TEST_CASE(
    "outputs: a FIFO is written through to its reader, given up after a wait without one, a block device refused") {
  testing::TempDir tmp;
  const std::string run = "run " + kToy + " -a simota ";
  const std::string fifo = tmp.path("p");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // A reader that comes first: the JSON reaches it, the FIFO stays a FIFO.
  const std::string reader_first = "cd '" + testing::source_path("") + "' && (cat '" + fifo + "' > '" +
                                   tmp.path("read.json") + "' &) && '" + std::string(ASSIGNSCOPE_BIN) + "' " + run +
                                   "-o '" + fifo + "' --force && sleep 0.5";
  REQUIRE(std::system(reader_first.c_str()) == 0);
  CHECK(parse(testing::read_text(tmp.path("read.json")))["schema"] == "assignscope.result/1");
  struct stat st {};
  REQUIRE(::stat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  // No reader at all: not a hang, an error after 10 s, one line.
  const auto alone = run_cli(run + "-o '" + fifo + "'");
  check_usage_error(alone, {fifo, "FIFO", "no process opened for reading"});
  // A block device is a disk: never written into, with or without --force.
  const std::string disk = tmp.path("disk");
  if (::mknod(disk.c_str(), S_IFBLK | 0600, makedev(7, 200)) == 0) {
    check_usage_error(run_cli(run + "-f json -o '" + disk + "' --force"), {disk, "block device"});
  } else {
    MESSAGE("mknod is not permitted here: the block-device case is not tested");
  }
  // A symbolic link loop is named as such and never replaced: as a result
  // directory and as a file.
  for (const std::string& name : {std::string("loop"), std::string("loop.json")}) {
    CAPTURE(name);
    fs::create_symlink(name + "-other", tmp.path(name));
    fs::create_symlink(name, tmp.path(name + "-other"));
    check_usage_error(run_cli(run + "-o '" + tmp.path(name) + "' --force"), {"symbolic link loop", "not replacing"});
    CHECK(fs::is_symlink(tmp.path(name)));
    CHECK(fs::read_symlink(tmp.path(name)) == name + "-other");
  }
}

TEST_CASE("outputs: parameters that make no sense together warn, and an inverted range is refused") {
  // mmdet's max-IoU with pos_iou_thr below neg_iou_thr: replayed as mmdet does, with a warning.
  const auto inverted = run_cli("run " + kToy + " -a max-iou --set pos_iou_thr=0.3 --set neg_iou_thr=0.5 -f json");
  CHECK(inverted.exit_code == 0);
  CHECK(inverted.err.find("warning: neg_iou_thr 0.5 is above pos_iou_thr 0.3") != std::string::npos);
  CHECK(parse(inverted.out)["schema"] == "assignscope.result/1");  // stdout stays clean JSON
  // The same key set twice: the last wins, said.
  const auto twice = run_cli("run " + kToy + " -a simota --set candidate_topk=3 --set candidate_topk=4 -f json");
  CHECK(twice.exit_code == 0);
  CHECK(twice.err.find("sets candidate_topk more than once; the last value (4) is used") != std::string::npos);
  CHECK(parse(twice.out)["params"]["candidate_topk"] == 4);
  // A (low, high) range given high first: min > max is an error.
  check_usage_error(run_cli("run " + kToy + " -a max-iou --set 'neg_iou_thr=(0.7,0.3)'"),
                    {"neg_iou_thr", "low > high"});
}

}  // namespace assignscope
