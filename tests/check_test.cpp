// `assignscope check` as a CI gate: it finds cases at any depth, never passes
// having compared nothing or having skipped results it was not told to
// accept, replays the dumps a result names relative to itself, compares
// floats as numbers whatever dtype they were stored with, updates a result
// all or nothing, and walks a suite without hanging, looping or crashing on
// what it meets.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "analysis/check.h"
#include "io/files.h"
#include "io/npy.h"
#include "test_support.h"

namespace assignscope {
namespace {

using testing::run_cli;
using testing::TempDir;
namespace fs = std::filesystem;

const std::string kToy = "testdata/golden/toy-two-overlapping-gts";  // 7 results
const std::string kSingle = "testdata/golden/toy-single-gt";         // 6 results
const std::string kOta = "testdata/golden/ota-toy-a";                // 1 result: ota

// A copy of a bundled case, writable.
std::string copy_case(const TempDir& tmp, const std::string& from, const std::string& to) {
  std::string dest = tmp.path(to);
  fs::create_directories(fs::path(dest).parent_path());
  fs::copy(testing::source_path(from), dest, fs::copy_options::recursive);
  for (const auto& e : fs::recursive_directory_iterator(dest))
    fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
  return dest;
}

nlohmann::json read_json(const std::string& path) {
  nlohmann::json j = nlohmann::json::parse(testing::read_text(path), nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

void write_json(const std::string& path, const nlohmann::json& j) {
  REQUIRE(io::write_file_atomic(path, j.dump(1), true).ok());
}

void write_bytes(const std::string& path, const std::vector<unsigned char>& bytes) {
  REQUIRE(io::write_file_atomic(path, bytes.data(), bytes.size(), true).ok());
}

std::string last_line(const std::string& out) {
  std::string s = out;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  const size_t nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

// An error of the walk: exit 2, nothing on stdout, one line on stderr
// holding every keyword.
void check_one_line_error(const testing::CliRun& r, const std::vector<std::string>& keywords) {
  CAPTURE(r.out);
  CAPTURE(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(testing::count_lines(r.err) == 1);
  CHECK(r.err.rfind("assignscope check: error: ", 0) == 0);
  for (const std::string& k : keywords) {
    CAPTURE(k);
    CHECK(r.err.find(k) != std::string::npos);
  }
}

// The binary under a shell prefix (a time limit, a file-size limit), stdout
// through a pipe so that a file-size limit never applies to it; the exit
// code is recorded beside it, since the pipe hides it.
testing::CliRun run_cli_under(const std::string& prefix, const std::string& args) {
  TempDir tmp;
  const std::string cmd = "cd '" + std::string(ASSIGNSCOPE_SOURCE_DIR) + "' && { (" + prefix + " '" + ASSIGNSCOPE_BIN +
                          "' " + args + " 2>'" + tmp.path("err") + "'; echo $? >'" + tmp.path("rc") + "') | cat >'" +
                          tmp.path("out") + "'; }";
  const int status = std::system(cmd.c_str());
  (void)status;
  testing::CliRun r;
  const std::string rc = testing::read_text(tmp.path("rc"));
  r.exit_code = rc.empty() ? -1 : std::atoi(rc.c_str());
  r.out = testing::read_text(tmp.path("out"));
  r.err = testing::read_text(tmp.path("err"));
  return r;
}

// Files and bytes of a directory, to assert it did not change.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::directory_iterator(dir))
    files[e.path().filename().string()] = testing::read_text(e.path().string());
  return files;
}

// The files a result's params.json lists, summed over a case's results.
int64_t listed_files(const std::string& case_dir) {
  int64_t n = 0;
  for (const auto& e : fs::directory_iterator(testing::source_path(case_dir) + "/expected"))
    n += static_cast<int64_t>(read_json(e.path().string() + "/params.json")["files"].size());
  return n;
}

}  // namespace

TEST_CASE("check: the last line says what was compared: results, files, cases, dumps") {
  const int64_t files = listed_files(kToy);
  REQUIRE(files >= 7 * 3);  // every result lists at least gt_inds, labels, overlaps
  const auto r = run_cli("check " + kToy + " -q");
  CHECK(r.exit_code == 0);
  CHECK(r.out == "PASS compared 7 of 7 results (" + std::to_string(files) +
                     " files, 1 dump replayed) in 1 case: 7 match, 0 differ, 0 errors, 0 skipped\n");
  const auto two = run_cli("check " + kToy + " " + kSingle + " -q");
  CHECK(two.exit_code == 0);
  CHECK(last_line(two.out).find(" files, 2 dumps replayed) in 2 cases: ") != std::string::npos);
}

TEST_CASE("check: cases are found at any depth, and the directories that were not cases are counted") {
  TempDir tmp;
  copy_case(tmp, kToy, "suite/a/b/c/deep");
  copy_case(tmp, kSingle, "suite/x/shallow");
  fs::create_directories(tmp.path("suite/empty"));
  REQUIRE(io::write_file_atomic(tmp.path("suite/NOTES.md"), std::string("notes"), false).ok());
  copy_case(tmp, kSingle, "suite/.hidden/ignored");  // like .git: not searched, but counted
  // suite, a, a/b, a/b/c, x, empty: 6 directories that are not cases.
  auto found = analysis::search_suite({tmp.path("suite")});
  REQUIRE_MESSAGE(found.ok(), found.status().message());
  CHECK(found->checkable == std::vector<std::string>{tmp.path("suite/a/b/c/deep"), tmp.path("suite/x/shallow")});
  CHECK(found->not_cases == 6);
  CHECK(found->hidden == 1);
  const auto r = run_cli("check " + tmp.path("suite") + " -q");
  CHECK(r.exit_code == 0);
  // toy-two-overlapping-gts holds 7 results, toy-single-gt 6.
  CHECK(last_line(r.out).find("PASS compared 13 of 13 results") == 0);
  CHECK(last_line(r.out).find(" in 2 cases: 13 match, 0 differ, 0 errors, 0 skipped; 6 directories searched were not "
                              "cases; 1 hidden directory not searched") != std::string::npos);

  // The repository's testdata: the demo case (twice: with its image in demo-with-image), 24 golden copies and 32
  // upstream cases below it.
  const auto all = run_cli("check testdata -q");
  CAPTURE(all.out);
  CHECK(all.exit_code == 0);
  CHECK(last_line(all.out).find(" in 58 cases: ") != std::string::npos);
  CHECK(last_line(all.out).find(" 0 differ, 0 errors, 0 skipped; ") != std::string::npos);

  // A case reached twice (a path given twice, a symlink to it) is checked once.
  fs::create_symlink(tmp.path("suite/x/shallow"), tmp.path("suite/link"));
  auto again = analysis::search_suite({tmp.path("suite"), tmp.path("suite/x")});
  REQUIRE_MESSAGE(again.ok(), again.status().message());
  CHECK(again->checkable.size() == 2);

  // A directory holding no case, at any depth, is an error, not a PASS.
  const auto none = run_cli("check " + tmp.path("suite/empty"));
  check_one_line_error(none, {tmp.path("suite/empty"), "holds no case", "1 directory searched"});
  const auto bad = run_cli("check testdata/bad");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("holds no case") != std::string::npos);
}

TEST_CASE("check: a skipped result fails the run unless --allow-skipped, with a did-you-mean") {
  TempDir tmp;
  const std::string copy = copy_case(tmp, kToy, "case");
  const auto rename_assigner = [&](const std::string& label, const std::string& name) {
    nlohmann::json p = read_json(copy + "/expected/" + label + "/params.json");
    p["assigner"] = name;
    write_json(copy + "/expected/" + label + "/params.json", p);
  };
  rename_assigner("simota", "simotaa");
  rename_assigner("atss", "ATSS");
  const auto r = run_cli("check " + copy + " -q");
  CAPTURE(r.out);
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("skip   " + copy + " simota: assignscope has no assigner 'simotaa' (did you mean 'simota'?)") !=
        std::string::npos);
  CHECK(r.out.find("skip   " + copy + " atss: assignscope has no assigner 'ATSS' (did you mean 'atss'?)") !=
        std::string::npos);
  CHECK(last_line(r.out).find("FAIL compared 5 of 7 results") == 0);
  CHECK(last_line(r.out).find("5 match, 0 differ, 0 errors, 2 skipped (not replayed: ATSS, simotaa; skipped results "
                              "fail without --allow-skipped)") != std::string::npos);

  const auto allowed = run_cli("check " + copy + " -q --allow-skipped");
  CHECK(allowed.exit_code == 0);
  CHECK(last_line(allowed.out).find("PASS compared 5 of 7 results") == 0);
  CHECK(last_line(allowed.out).find("2 skipped (not replayed: ATSS, simotaa; allowed by --allow-skipped)") !=
        std::string::npos);
  CHECK(allowed.out.find("skip ") == std::string::npos);  // -q: accepted skips are not listed

  // A head loss assignscope does not have (params.json "loss") is skipped too,
  // and fails the same way.
  nlohmann::json loss = read_json(copy + "/expected/max-iou/params.json");
  loss["loss"] = "loss.rtmdett";
  write_json(copy + "/expected/max-iou/params.json", loss);
  const auto with_loss = run_cli("check " + copy + " -q");
  CHECK(with_loss.exit_code == 2);
  CHECK(with_loss.out.find("no head loss 'loss.rtmdett' (did you mean 'loss.rtmdet'?)") != std::string::npos);
  CHECK(last_line(with_loss.out).find("3 skipped") != std::string::npos);

  // A head loss's result holding only an assignment never passes on it.
  loss["loss"] = "loss.rtmdet";
  write_json(copy + "/expected/max-iou/params.json", loss);
  const auto assignment_only = run_cli("check " + copy + " -q --allow-skipped");
  CHECK(assignment_only.exit_code == 2);
  CHECK(assignment_only.out.find("lists no loss.npy") != std::string::npos);
  loss["loss"] = "loss.rtmdett";
  write_json(copy + "/expected/max-iou/params.json", loss);

  // Every result skipped: nothing was compared, which never passes, allowed or not.
  for (const auto& e : fs::directory_iterator(copy + "/expected"))
    rename_assigner(e.path().filename().string(), "centernet");
  const auto nothing = run_cli("check " + copy + " --allow-skipped");
  CHECK(nothing.exit_code == 2);
  CHECK(last_line(nothing.out).find("FAIL compared 0 of 7 results (0 files, 0 dumps replayed)") == 0);
  CHECK(last_line(nothing.out).find("; nothing was compared") != std::string::npos);
}

TEST_CASE("check: a result records its dumps relative to itself, and check says which it replayed") {
  TempDir tmp;
  copy_case(tmp, kToy, "suite/dump");
  fs::create_directories(tmp.path("suite/results"));
  REQUIRE(
      run_cli("run " + tmp.path("suite/dump") + " -a simota -f npy -o " + tmp.path("suite/results/simota")).exit_code ==
      0);
  const nlohmann::json params = read_json(tmp.path("suite/results/simota/params.json"));
  CHECK(params["source"] == "../../dump");
  CHECK_FALSE(params.contains("sources"));

  // The suite moves (another checkout, a CI runner); a different dump now
  // sits where the old absolute path pointed. The moved result replays its own.
  fs::rename(tmp.path("suite"), tmp.path("moved"));
  copy_case(tmp, kSingle, "suite/dump");
  const std::string res = tmp.path("moved/results/simota");
  const auto r = run_cli("check " + res);
  CAPTURE(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("ok     " + res + " simota (1 image, 12 positives; replayed " + tmp.path("moved/dump") + ")") == 0);
  CHECK(last_line(r.out).find(", 1 dump replayed) in 1 case: 1 match") != std::string::npos);
  // From another directory, with a relative path: the same dump.
  const auto rel = run_cli("check results/simota", tmp.path("moved"));
  CHECK(rel.exit_code == 0);
  CHECK(rel.out.find("; replayed dump)") != std::string::npos);

  // An absolute source, as older versions wrote, is still read as it is.
  nlohmann::json old = read_json(res + "/params.json");
  old["source"] = tmp.path("moved/dump");
  write_json(res + "/params.json", old);
  CHECK(run_cli("check " + res).exit_code == 0);
  // A dump that is not there: an error naming the path, never a PASS.
  old["source"] = "../../nope";
  write_json(res + "/params.json", old);
  const auto missing = run_cli("check " + res);
  CHECK(missing.exit_code == 2);
  CHECK(missing.out.find("ERROR  " + res + " simota: " + res + "/params.json: the dump '../../nope' (" +
                         tmp.path("moved/nope") + ") cannot be read") == 0);
  CHECK(last_line(missing.out).find("FAIL compared 0 of 1 result") == 0);
  // The label older versions recorded for several dumps cannot be replayed: said so.
  old["source"] = "2 dumps";
  write_json(res + "/params.json", old);
  const auto label = run_cli("check " + res);
  CHECK(label.exit_code == 2);
  CHECK(label.out.find("\"source\" is '2 dumps', the label an older `assignscope run` recorded") != std::string::npos);
  // A few megabytes of "sources" never make check read one dump 200000 times.
  old.erase("source");
  old["sources"] = std::vector<std::string>(200000, "../../dump");
  write_json(res + "/params.json", old);
  const auto flood = run_cli_under("timeout 60", "check " + res);
  CHECK(flood.exit_code == 2);
  CHECK(flood.out.find("ERROR  " + res + " simota: " + res +
                       "/params.json: \"sources\" lists 200000 dumps; expected at most 10000") == 0);
  // A long list is shown by its first three.
  old["sources"] = std::vector<std::string>(6, "../../dump");
  write_json(res + "/params.json", old);
  const auto six = run_cli("check " + res);
  CHECK(six.exit_code == 1);  // 6 images replayed against a one-image result
  CHECK(six.out.find("(replayed " + tmp.path("moved/dump") + ", " + tmp.path("moved/dump") + ", " +
                     tmp.path("moved/dump") + " and 3 more)") != std::string::npos);

  // Several dumps: the list, each relative to the result.
  const std::string many = tmp.path("moved/results/both");
  REQUIRE(run_cli("run " + tmp.path("moved/dump") + " " + kSingle + " -a simota -f npy -o " + many).exit_code == 0);
  const nlohmann::json both = read_json(many + "/params.json");
  CHECK_FALSE(both.contains("source"));
  REQUIRE(both["sources"].size() == 2);
  CHECK(both["sources"][0] == "../../dump");
  CHECK(fs::path(both["sources"][1].get<std::string>()).is_relative());
  CHECK((fs::path(many) / both["sources"][1].get<std::string>()).lexically_normal() ==
        fs::path(testing::source_path(kSingle)).lexically_normal());
  const auto checked = run_cli("check " + many);
  CAPTURE(checked.out);
  CHECK(checked.exit_code == 0);
  // simota: 12 positives on toy-two-overlapping-gts, 7 on toy-single-gt (the golden README).
  CHECK(checked.out.find("ok     " + many + " both (2 images, 19 positives; replayed " + tmp.path("moved/dump") +
                         ", ") == 0);
  CHECK(last_line(checked.out).find(", 2 dumps replayed) in 1 case: 1 match") != std::string::npos);
}

TEST_CASE("check: a float result stored with an integer dtype is compared as numbers, never truncated") {
  TempDir tmp;
  const std::string copy = copy_case(tmp, kToy, "case");
  const std::string label = copy + "/expected/dynamic-soft-label";
  auto overlaps = io::read_npy_file(label + "/max_overlaps.npy");
  REQUIRE(overlaps.ok());
  REQUIRE(overlaps->dtype.kind == io::DTypeKind::kFloat);
  // Truncated to int64: every IoU in (0, 1) becomes 0, which the replay is not.
  std::vector<int64_t> truncated(static_cast<size_t>(overlaps->size()));
  int64_t fractional = 0;
  for (int64_t i = 0; i < overlaps->size(); ++i) {
    const double v = overlaps->to_double(i);
    truncated[static_cast<size_t>(i)] = static_cast<int64_t>(v);
    fractional += v != static_cast<double>(static_cast<int64_t>(v));
  }
  REQUIRE(fractional > 0);
  write_bytes(label + "/max_overlaps.npy", io::npy_bytes(truncated.data(), overlaps->shape));
  const auto r = run_cli("check " + copy + " -q");
  CAPTURE(r.out);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("DIFFER " + copy + " dynamic-soft-label: max_overlaps.npy: " + std::to_string(fractional) +
                   " of 80 differ (stored as <i8, the replay writes <f4)") != std::string::npos);

  // An integer file stored as float64 with the same values is the same
  // numbers; one value off by a half is not.
  const std::string copy2 = copy_case(tmp, kToy, "case2");
  const std::string inds_path = copy2 + "/expected/dynamic-soft-label/assigned_gt_inds.npy";
  auto inds = io::read_npy_file(inds_path);
  REQUIRE(inds.ok());
  std::vector<double> as_double(static_cast<size_t>(inds->size()));
  for (int64_t i = 0; i < inds->size(); ++i) as_double[static_cast<size_t>(i)] = static_cast<double>(inds->to_int64(i));
  write_bytes(inds_path, io::npy_bytes(as_double.data(), inds->shape));
  CHECK(run_cli("check " + copy2 + " -q").exit_code == 0);
  as_double[0] += 0.5;
  write_bytes(inds_path, io::npy_bytes(as_double.data(), inds->shape));
  const auto half = run_cli("check " + copy2 + " -q");
  CHECK(half.exit_code == 1);
  CHECK(half.out.find("assigned_gt_inds.npy: 1 of 80 differ (stored as <f8, the replay writes <i8); prior 0: expected "
                      "0.5, got 0") != std::string::npos);

  // A stored file of text holds no numbers: refused, not compared.
  const std::string copy3 = copy_case(tmp, kToy, "case3");
  // numpy's '<U1' array of shape (1,): "x" as one UTF-32 code unit.
  std::string header = "{'descr': '<U1', 'fortran_order': False, 'shape': (1,), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::vector<unsigned char> text = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<unsigned char>(header.size()), 0};
  text.insert(text.end(), header.begin(), header.end());
  for (unsigned char c : {'x', '\0', '\0', '\0'}) text.push_back(c);
  write_bytes(copy3 + "/expected/dynamic-soft-label/max_overlaps.npy", text);
  const auto refused = run_cli("check " + copy3 + " -q");
  CHECK(refused.exit_code == 2);
  CHECK(refused.out.find(
            "ERROR  " + copy3 + " dynamic-soft-label: " + copy3 +
            "/expected/dynamic-soft-label/max_overlaps.npy: stored with dtype <U1, which holds no numbers") !=
        std::string::npos);
}

TEST_CASE("check --update rewrites a result all or nothing") {
  TempDir tmp;
  const std::string copy = copy_case(tmp, kOta, "case");
  const std::string result = copy + "/expected/ota";
  // Stretch the stored IoUs by 1e-3: the replay differs in max_overlaps.npy.
  auto overlaps = io::read_npy_file(result + "/max_overlaps.npy");
  REQUIRE(overlaps.ok());
  std::vector<float> stretched(static_cast<size_t>(overlaps->size()));
  for (int64_t i = 0; i < overlaps->size(); ++i) {
    const double v = overlaps->to_double(i);
    stretched[static_cast<size_t>(i)] = static_cast<float>(v > 0 ? v * 1.001 : v);
  }
  write_bytes(result + "/max_overlaps.npy", io::npy_bytes(stretched.data(), overlaps->shape));
  const auto before = snapshot(result);
  // transport_plan.npy (668 bytes) is the last file the replay writes and
  // the only one over 512 bytes but params.json: a 512-byte file size limit
  // fails the update part-way. Nothing may change.
  REQUIRE(before.at("transport_plan.npy").size() > 512);
  REQUIRE(before.at("max_overlaps.npy").size() < 512);
  const auto failed = run_cli_under("trap '' XFSZ; ulimit -f 1;", "check " + copy + " -q --update");
  CAPTURE(failed.out);
  CAPTURE(failed.err);
  CHECK(failed.exit_code == 2);
  CHECK(failed.out.find("ERROR  " + copy + " ota: --update: ") == 0);
  CHECK(failed.out.find("not updated, the stored result is unchanged") != std::string::npos);
  CHECK(snapshot(result) == before);
  for (const auto& e : fs::directory_iterator(copy + "/expected")) CHECK(e.path().filename() == "ota");  // no leftovers

  // Without the limit: the whole result is the replay's; params.json is kept.
  const auto updated = run_cli("check " + copy + " -q --update");
  CHECK(updated.exit_code == 0);
  CHECK(updated.out.find("UPDATED " + copy + " ota: max_overlaps.npy: ") == 0);
  CHECK(last_line(updated.out).find("PASS compared 1 of 1 result") == 0);
  CHECK(last_line(updated.out).find("0 match, 0 differ, 0 errors, 0 skipped, 1 updated") != std::string::npos);
  const auto after = snapshot(result);
  CHECK(after.at("params.json") == before.at("params.json"));
  CHECK(after.at("max_overlaps.npy") ==
        testing::read_text(testing::source_path(kOta) + "/expected/ota/max_overlaps.npy"));
  CHECK(after.size() == before.size());
  for (const auto& e : fs::directory_iterator(copy + "/expected")) CHECK(e.path().filename() == "ota");
  CHECK(run_cli("check " + copy + " -q").exit_code == 0);
}

TEST_CASE("check: walking a suite never hangs, loops or crashes: FIFOs, symlink loops, odd names, limits") {
  TempDir tmp;
  const std::string suite = tmp.path("suite");
  copy_case(tmp, kSingle, "suite/case");
  const std::string timed = "timeout 60";

  SUBCASE("a symlink back to a directory holding it") {
    fs::create_directory_symlink("..", suite + "/case/expected/up");
    check_one_line_error(run_cli_under(timed, "check " + suite), {suite + "/case/expected/up", "symlink loop"});
  }
  SUBCASE("a symlink to itself") {
    fs::create_symlink(suite + "/self", suite + "/self");
    check_one_line_error(run_cli_under(timed, "check " + suite), {suite + "/self", "symlink loop"});
  }
  SUBCASE("a symlink to nothing") {
    fs::create_symlink(suite + "/gone", suite + "/dangling");
    check_one_line_error(run_cli_under(timed, "check " + suite), {suite + "/dangling", "symlink to nothing"});
  }
  SUBCASE("a FIFO where a stored file would be, and as the path given") {
    const std::string fifo = suite + "/case/expected/simota/extra.npy";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    check_one_line_error(run_cli_under(timed, "check " + suite), {fifo, "FIFO"});
    check_one_line_error(run_cli_under(timed, "check " + fifo), {fifo, "FIFO", "expected a directory"});
  }
  SUBCASE("a name that is not UTF-8") {
    fs::create_directories(suite + "/odd-\xff\xfe");
    const auto r = run_cli_under(timed, "check " + suite);
    check_one_line_error(r, {"not UTF-8", "odd-\\xff\\xfe"});
  }
  SUBCASE("a directory nested deeper than the limit") {
    std::string deep = suite;
    for (int i = 0; i < 40; ++i) deep += "/d";
    fs::create_directories(deep);
    check_one_line_error(run_cli_under(timed, "check " + suite), {"more than 32 directories deep"});
  }
  SUBCASE("more directories or entries than the limits") {
    for (int i = 0; i < 5; ++i) fs::create_directories(suite + "/more/" + std::to_string(i));
    analysis::SearchLimits few;
    few.max_directories = 4;
    const auto dirs = analysis::search_suite({suite}, few);
    testing::check_error(dirs.status(), ErrorKind::kInvalidInput, suite, {"more than 4 directories searched"});
    analysis::SearchLimits entries;
    entries.max_entries = 3;
    const auto many = analysis::search_suite({suite}, entries);
    testing::check_error(many.status(), ErrorKind::kInvalidInput, suite, {"more than 3 entries searched"});
  }
  SUBCASE("an unreadable directory (not as root, who reads everything)") {
    if (::geteuid() == 0) return;
    fs::create_directories(suite + "/locked");
    fs::permissions(suite + "/locked", fs::perms::none);
    check_one_line_error(run_cli_under(timed, "check " + suite), {suite + "/locked", "cannot read the directory"});
    fs::permissions(suite + "/locked", fs::perms::owner_all);
  }
  SUBCASE("a FIFO inside the dump a result directory names") {
    copy_case(tmp, kSingle, "dump");
    REQUIRE(run_cli("run " + tmp.path("dump") + " -a simota -f npy -o " + tmp.path("res")).exit_code == 0);
    REQUIRE(::mkfifo(tmp.path("dump/pipe.npy").c_str(), 0600) == 0);
    const auto r = run_cli_under(timed, "check " + tmp.path("res"));
    CAPTURE(r.out);
    CHECK(r.exit_code == 2);
    CHECK(r.out.find("ERROR  " + tmp.path("res") + " res: " + tmp.path("dump/pipe.npy") + ": a FIFO") == 0);
  }
}

}  // namespace assignscope
