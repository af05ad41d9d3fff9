// The fuzz corpus (tests/fuzz/corpus/) in the regular suite: every input goes
// through the path its fuzz target takes (tests/fuzz/fuzz_*.cpp), with the
// same 256 MiB budget, and must give a result or a one-line user-facing
// error; every regression input (regress-*) must give the error listed here.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "io/dump.h"
#include "io/npy.h"
#include "test_support.h"

namespace assignscope {
namespace {

namespace fs = std::filesystem;

io::LoadOptions fuzz_options() {
  io::LoadOptions o;
  o.memory_limit = uint64_t{256} << 20;
  return o;
}

// What the fuzz target of `kind` (npy, npz, json) does with `bytes`: the
// status of each load it tries (an .npy is tried as priors, cls_scores and
// gt_labels of a dump).
std::vector<Status> through_target(const std::string& kind, const std::vector<unsigned char>& bytes,
                                   const std::string& name) {
  if (kind == "npy") {
    auto array = io::parse_npy(bytes.data(), bytes.size(), name);
    if (!array.ok()) return {array.status()};
    std::vector<Status> loads;
    for (const char* field : {"priors", "cls_scores", "gt_labels"}) {
      io::RawDump raw;
      raw.origin = name;
      raw.fields[field] = io::RawField{*array, name};
      loads.push_back(io::build_batch(std::move(raw), fuzz_options()).status());
    }
    return loads;
  }
  Result<io::RawDump> raw = kind == "npz"
                                ? io::parse_npz(bytes, name, fuzz_options())
                                : io::parse_json_dump(std::string(bytes.begin(), bytes.end()), name, fuzz_options());
  if (!raw.ok()) return {raw.status()};
  return {io::build_batch(std::move(raw).value(), fuzz_options()).status()};
}

std::vector<fs::path> corpus_files(const std::string& kind, const std::string& prefix) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(testing::source_path("tests/fuzz/corpus/" + kind)))
    if (e.path().filename().string().rfind(prefix, 0) == 0) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

struct Regression {
  const char* file;  // under tests/fuzz/corpus/
  ErrorKind kind;
  std::vector<const char*> says;
};

// Every regress-* file of the corpus, and the error it must give.
const std::vector<Regression>& regressions() {
  static const std::vector<Regression> kCases = {
      // A stacked batch of 2^40 images whose every field is empty: the loader
      // built one Problem an image until memory ran out (uncaught bad_alloc
      // under a 4 GB ulimit, an endless loop without one).
      {"npy/regress-batch-of-2e40-empty-images.npy",
       ErrorKind::kInvalidInput,
       {"shape (1099511627776, 0, 80): a batch of B = 1099511627776 images", "more than the 256.0 MiB"}},
      {"npz/regress-batch-of-2e40-empty-images.npz",
       ErrorKind::kInvalidInput,
       {"gt_bboxes.npy: shape (1099511627776, 0, 4): a batch of B = 1099511627776 images", "more than the 256.0 MiB"}},
  };
  return kCases;
}

}  // namespace

TEST_CASE("fuzz corpus: every regression input gives its one-line error") {
  std::vector<std::string> listed;
  for (const Regression& r : regressions()) {
    const std::string file = r.file;
    CAPTURE(file);
    listed.push_back(file);
    const std::string kind = file.substr(0, file.find('/'));
    const std::vector<unsigned char> bytes = testing::source_bytes("tests/fuzz/corpus/" + file);
    // The load whose error is the one expected (an .npy is tried as three fields).
    const std::vector<Status> loads = through_target(kind, bytes, file);
    const auto it = std::find_if(loads.begin(), loads.end(),
                                 [&](const Status& s) { return s.message().find(r.says[0]) != std::string::npos; });
    REQUIRE_MESSAGE(it != loads.end(), loads.back().message());
    testing::check_error(*it, r.kind, file, r.says);
  }
  // A regression committed to the corpus without its expected error here fails.
  for (const char* kind : {"npy", "npz", "json"}) {
    for (const fs::path& p : corpus_files(kind, "regress-")) {
      const std::string rel = std::string(kind) + "/" + p.filename().string();
      CAPTURE(rel);
      CHECK(std::find(listed.begin(), listed.end(), rel) != listed.end());
    }
  }
}

TEST_CASE("fuzz corpus: every seed gives a dump or a one-line user-facing error") {
  size_t seeds = 0;
  for (const char* kind : {"npy", "npz", "json"}) {
    for (const fs::path& p : corpus_files(kind, "seed-")) {
      const std::string name = p.filename().string();
      CAPTURE(name);
      auto bytes = io::read_file_bytes(p.string());
      REQUIRE(bytes.ok());
      ++seeds;
      for (const Status& status : through_target(kind, *bytes, name)) {
        if (status.ok()) continue;
        CHECK(status.kind() != ErrorKind::kInternal);
        CHECK(status.message().find('\n') == std::string::npos);
        CHECK(status.message().rfind(name, 0) == 0);
      }
    }
  }
  CHECK(seeds > 300);
}

}  // namespace assignscope
