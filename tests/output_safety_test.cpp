// Output safety, for every command that writes a file: an existing file is
// never replaced without --force (exit 2, one line naming the path and
// --force); --force replaces it; a write that fails part-way (the file-size
// limit hit, a missing directory) leaves neither the output nor a temporary
// behind. `check --update` is the explicit ask for the stored result's own
// files (tests/cli_test.cpp).
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "test_support.h"

namespace assignscope {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;

const std::string kToy = "testdata/golden/toy-two-overlapping-gts";

// Entries of `dir` whose name starts with '.': a temporary left behind.
std::vector<std::string> hidden_entries(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string()[0] == '.') out.push_back(e.path().filename().string());
  return out;
}

struct Writer {
  const char* what;
  std::string args;  // the command line up to -o
  const char* file;  // output file name
};

std::vector<Writer> writers() {
  return {
      {"run --format json", "run " + kToy + " -a dynamic-soft-label -f json", "r.json"},
      {"run --format csv", "run " + kToy + " -a dynamic-soft-label -f csv", "r.csv"},
      {"run --format svg", "run " + kToy + " -a dynamic-soft-label -f svg", "r.svg"},
      {"run --format table", "run " + kToy + " -a dynamic-soft-label -f table", "r.txt"},
      {"diff (json)", "diff " + kToy + " --a dynamic-soft-label --b simota -f json", "d.json"},
      {"diff (svg)", "diff " + kToy + " --a dynamic-soft-label --b simota -f svg", "d.svg"},
      {"bench", "bench " + kToy + " -a dynamic-soft-label -n 1 -j 1 -f json", "b.json"},
  };
}

// Runs `args` through sh with the file-size limit at one 512-byte block and
// SIGXFSZ ignored, so writes past it fail with EFBIG as on a full disk.
testing::CliRun run_with_file_limit(const std::string& args, const std::string& dir) {
  const std::string cmd = "cd '" + testing::source_path("") + "' && (trap '' XFSZ; ulimit -f 1; exec '" +
                          std::string(ASSIGNSCOPE_BIN) + "' " + args + ") >/dev/null 2>'" + dir + "/.err'";
  const int status = std::system(cmd.c_str());
  testing::CliRun r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = testing::read_text(dir + "/.err");
  fs::remove(dir + "/.err");
  return r;
}

}  // namespace

TEST_CASE("output safety: every writer refuses an existing file without --force, and replaces it with --force") {
  for (const Writer& w : writers()) {
    CAPTURE(w.what);
    testing::TempDir tmp;
    const std::string out = tmp.path(w.file);
    REQUIRE(io::write_file_atomic(out, std::string("keep me"), false).ok());
    const auto refused = run_cli(w.args + " -o " + out);
    CHECK(refused.exit_code == 2);
    CHECK(testing::count_lines(refused.err) == 1);
    CHECK(refused.err.find(out) != std::string::npos);
    CHECK(refused.err.find("--force") != std::string::npos);
    CHECK(testing::read_text(out) == "keep me");
    const auto forced = run_cli(w.args + " -o " + out + " --force");
    CHECK_MESSAGE(forced.exit_code == 0, forced.err);
    CHECK(testing::read_text(out) != "keep me");
    CHECK(testing::read_text(out).size() > 100);
    CHECK(hidden_entries(tmp.path()).empty());
    // A new name needs no --force.
    CHECK(run_cli(w.args + " -o " + tmp.path(std::string("new-") + w.file)).exit_code == 0);
  }
}

TEST_CASE("output safety: a write that fails part-way leaves nothing behind") {
  testing::TempDir tmp;
  // Files: the JSON with every pair is far above the limit.
  for (const char* format : {"json --include priors,candidates", "svg", "csv"}) {
    CAPTURE(format);
    const std::string out = tmp.path("big.out");
    const auto r =
        run_with_file_limit("run " + kToy + " -a dynamic-soft-label -f " + format + " -o " + out, tmp.path());
    CHECK(r.exit_code == 2);
    CHECK(testing::count_lines(r.err) == 1);
    CHECK(r.err.find(out) != std::string::npos);
    CHECK_FALSE(fs::exists(out));
    CHECK(hidden_entries(tmp.path()).empty());
  }
  // Over an existing file with --force: the old one stays whole.
  REQUIRE(io::write_file_atomic(tmp.path("old.json"), std::string("old"), false).ok());
  const auto forced = run_with_file_limit("run " + kToy + " -a dynamic-soft-label -f json --include candidates -o " +
                                              tmp.path("old.json") + " --force",
                                          tmp.path());
  CHECK(forced.exit_code == 2);
  CHECK(testing::read_text(tmp.path("old.json")) == "old");
  CHECK(hidden_entries(tmp.path()).empty());

  // A result directory: neither it nor its temporary sibling remains.
  const std::string dir = tmp.path("result");
  const auto npy =
      run_with_file_limit("run testdata/coco640-late-g12-objectness -a dynamic-soft-label -f npy -o " + dir,
                          tmp.path());
  CHECK(npy.exit_code == 2);
  CHECK(testing::count_lines(npy.err) == 1);
  CHECK_FALSE(fs::exists(dir));
  CHECK(hidden_entries(tmp.path()).empty());

  // A directory that does not exist: an error naming the path, nothing made.
  const auto missing = run_cli("run " + kToy + " -a dynamic-soft-label -f json -o " + tmp.path("no/such/r.json"));
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find(tmp.path("no/such/r.json")) != std::string::npos);
  CHECK_FALSE(fs::exists(tmp.path("no")));

  // A directory without write permission (not as root, whom it does not stop).
  if (::geteuid() != 0) {
    fs::create_directories(tmp.path("locked"));
    fs::permissions(tmp.path("locked"), fs::perms::owner_read | fs::perms::owner_exec);
    const auto locked = run_cli("run " + kToy + " -a dynamic-soft-label -f json -o " + tmp.path("locked/r.json"));
    CHECK(locked.exit_code == 2);
    CHECK(fs::is_empty(tmp.path("locked")));
    fs::permissions(tmp.path("locked"), fs::perms::owner_all);
  }
}

}  // namespace assignscope
