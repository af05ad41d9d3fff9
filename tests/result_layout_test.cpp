// The stored-result layout (io/result_layout.h): what npy_layout writes reads
// back unchanged through read_stored (check) and read_replay (diff), the
// dumps params.json names resolve against the result directory, and
// rewrite_result replaces files all or nothing. The commands that use it are
// tested end to end in check_test.cpp, diff_test.cpp and cli_test.cpp.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/files.h"
#include "io/result_layout.h"
#include "test_support.h"

namespace assignscope {
namespace {

namespace fs = std::filesystem;

// Four priors, two GTs; two of the priors positive.
Assignment two_positives() {
  Assignment a;
  a.assigner = "simota";
  a.gt_inds = {1, 0, 2, -1};
  a.labels = {0, -1, 1, -1};
  a.max_overlaps = {0.5f, 0.0f, 0.25f, 0.0f};
  a.dynamic_ks = std::vector<int64_t>{1, 3};
  return a;
}

Batch one_image(const Problem& p) {
  Batch batch;
  batch.source = "case";
  batch.images = {p};
  batch.gt_columns = p.num_gts();
  return batch;
}

void write_all(const std::string& dir, const std::vector<io::NamedBytes>& files) {
  fs::create_directories(dir);
  for (const io::NamedBytes& f : files)
    REQUIRE(io::write_file_atomic(dir + "/" + f.name, f.bytes.data(), f.bytes.size(), false).ok());
}

}  // namespace

TEST_CASE("result layout: what npy_layout writes, read_stored and read_replay read back") {
  testing::TempDir tmp;
  const Problem p = testing::row_of_four({{0, 0, 16, 8}, {16, 0, 32, 8}}, {0, 1});
  const Assignment a = two_positives();
  const std::string dir = tmp.path("res");
  auto files = io::npy_layout(one_image(p), {a}, "ref", {{tmp.path("case")}, dir});
  REQUIRE(files.ok());
  write_all(dir, *files);

  auto stored = io::read_stored(dir);
  REQUIRE_MESSAGE(stored.ok(), stored.status().message());
  CHECK(stored->params["assigner"] == "simota");
  CHECK(stored->params["reference"] == "ref");
  CHECK(stored->params["source"] == "../case");  // relative to the result directory
  CHECK(stored->files.count("assigned_gt_inds.npy"));
  CHECK(stored->files.count("dynamic_ks.npy"));
  CHECK_FALSE(stored->files.count("notes.json"));  // only the .npy files params.json lists

  auto replay = io::read_replay(dir);
  REQUIRE_MESSAGE(replay.ok(), replay.status().message());
  CHECK(replay->assigner == "simota");
  CHECK_FALSE(replay->batch);
  REQUIRE(replay->assignments.size() == 1);
  CHECK(replay->assignments[0].assigner == "simota");
  CHECK(replay->assignments[0].gt_inds == a.gt_inds);
  CHECK(replay->assignments[0].labels == a.labels);
  CHECK(replay->assignments[0].dynamic_ks == a.dynamic_ks);
  REQUIRE(replay->images.size() == 1);
  CHECK(replay->images[0].num_priors == 4);
  CHECK(replay->images[0].num_gts == -1);  // npy results carry no GTs

  fs::create_directories(tmp.path("case"));
  auto dumps = io::named_dumps(dir, stored->params);
  REQUIRE_MESSAGE(dumps.ok(), dumps.status().message());
  CHECK(dumps->resolved == std::vector<std::string>{fs::path(tmp.path("case")).lexically_normal().string()});
}

TEST_CASE("result layout: named_dumps refuses what params.json cannot mean") {
  testing::TempDir tmp;
  fs::create_directories(tmp.path("res"));
  const auto error = [&](const nlohmann::json& j) { return io::named_dumps(tmp.path("res"), j).status(); };
  testing::check_error(error(nlohmann::json::object()), ErrorKind::kInvalidInput, tmp.path("res/params.json"),
                       {"no \"source\""});
  testing::check_error(error({{"sources", nlohmann::json::array()}}), ErrorKind::kInvalidInput,
                       tmp.path("res/params.json"), {"not a non-empty list"});
  testing::check_error(error({{"source", "2 dumps"}}), ErrorKind::kInvalidInput, tmp.path("res/params.json"),
                       {"the label an older `assignscope run` recorded"});
  testing::check_error(error({{"source", "../nope"}}), ErrorKind::kIo, tmp.path("res/params.json"),
                       {"cannot be read", "taken from the result directory"});
}

TEST_CASE("result layout: read_replay says what a path is when it is not a result") {
  testing::TempDir tmp;
  fs::create_directories(tmp.path("case/expected/simota"));
  testing::check_error(io::read_replay(tmp.path("case")).status(), ErrorKind::kInvalidInput, tmp.path("case"),
                       {"a case", "expected/simota"});
  REQUIRE(io::write_file_atomic(tmp.path("other.json"), std::string("{\"schema\": \"x/1\"}"), false).ok());
  testing::check_error(io::read_replay(tmp.path("other.json")).status(), ErrorKind::kInvalidInput,
                       tmp.path("other.json"), {"schema x/1, not assignscope.result/1"});
}

TEST_CASE("result layout: rewrite_result replaces the files given and keeps the others") {
  testing::TempDir tmp;
  const std::string dir = tmp.path("res");
  write_all(dir, {{"a.npy", {1, 2}}, {"params.json", {'{', '}'}}});
  REQUIRE(io::rewrite_result(dir, {{"a.npy", {3}}}).ok());
  CHECK(testing::read_text(dir + "/a.npy") == "\x03");
  CHECK(testing::read_text(dir + "/params.json") == "{}");
  CHECK(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()) == 1);  // nothing left beside it
}

}  // namespace assignscope
