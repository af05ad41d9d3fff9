// The registry is the one record of what an assigner is (assign/assigner.h):
// every entry states every trait, and what it states agrees with what the
// assigner does on generated scenes (tests/scenes.h) and with what the npy
// writer writes for it. The docs' assigner table lists exactly the registry.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "io/result_layout.h"
#include "scenes.h"
#include "test_support.h"

namespace assignscope {
namespace {

constexpr int kScenes = 40;  // per assigner

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// The scene's replay with the defaults; regress ranges (FCOS) as many as the
// scene has levels.
Assignment replay(const assign::AssignerInfo& info, const Problem& p) {
  Params params = assign::default_params(info);
  if (params.has("regress_ranges"))
    REQUIRE(
        params
            .set("regress_ranges", p.num_levels() == 2 ? "[[-1, 64], [64, 1e8]]" : "[[-1, 64], [64, 128], [128, 1e8]]")
            .ok());
  REQUIRE(assign::check_needs(info, p).ok());
  if (info.check) REQUIRE(info.check(params, p).ok());
  return info.make(params)->assign(p);
}

testing::Scene scene_for(const assign::AssignerInfo& info, int seed) {
  return testing::random_scene(static_cast<uint64_t>(seed), testing::scene_kind_for(info.name));
}

TEST_CASE("registry: every assigner states every trait") {
  // An entry that states nothing is caught, trait by trait.
  const std::vector<std::string> empty = assign::unset_traits(assign::AssignerInfo{});
  CHECK(empty.size() == 10);
  CHECK(std::find(empty.begin(), empty.end(), "traits.geometric") != empty.end());
  CHECK(std::find(empty.begin(), empty.end(), "result_files") != empty.end());
  for (const assign::AssignerInfo& info : assign::registry()) {
    INFO(info.name);
    const std::vector<std::string> unset = assign::unset_traits(info);
    CHECK_MESSAGE(unset.empty(), info.name << " leaves unset: " << joined(unset));
  }
}

TEST_CASE("registry: names are family.flavour, and a family's flavours minimise one cost") {
  std::map<std::string, assign::CostDefinition> cost_of_family;
  for (const assign::AssignerInfo& info : assign::registry()) {
    INFO(info.name);
    CHECK(info.name == (info.flavour() == "mmdetection" ? info.family() : info.family() + "." + info.flavour()));
    const auto [it, first] = cost_of_family.emplace(info.family(), info.traits.cost);
    if (!first) CHECK(it->second == info.traits.cost);
    // Aliases resolve to the entry.
    for (const std::string& alias : info.aliases) {
      const auto choice = assign::resolve_assigner(alias);
      REQUIRE(choice.ok());
      CHECK(choice->info == &info);
    }
  }
}

TEST_CASE("registry: traits agree with what each assigner does") {
  for (const assign::AssignerInfo& info : assign::registry()) {
    INFO(info.name);
    const assign::Traits& t = info.traits;
    const bool has_search =
        std::any_of(info.params.begin(), info.params.end(), [](const ParamSpec& s) { return s.name == "search"; });
    CHECK(t.sparse_search == has_search);
    CHECK((t.picks_k != true || t.dynamic_k == true));  // picks its dynamic k
    int with_pairs = 0;
    for (int seed = 1; seed <= kScenes; ++seed) {
      const testing::Scene s = scene_for(info, seed);
      CAPTURE(s.what);
      const Assignment a = replay(info, s.problem);
      CHECK(a.dynamic_ks.has_value() == (t.dynamic_k == true));
      CHECK(a.matches.has_value() == (t.multi_match == true));
      with_pairs += !a.candidates.empty();
    }
    CHECK((with_pairs > 0) == (t.records_pairs == true));
  }
}

// What `run --format npy` writes for each assigner, against the registry's
// result_files (which `list` shows as what it writes): the same .npy files,
// beside the params.json and notes.json every replay has.
TEST_CASE("registry: result_files are the files the npy writer writes for each assigner") {
  for (const assign::AssignerInfo& info : assign::registry()) {
    INFO(info.name);
    std::set<std::string> written;
    for (int seed = 1; seed <= 5; ++seed) {
      const testing::Scene s = scene_for(info, seed);
      Batch batch;
      batch.source = "generated";
      batch.images = {s.problem};
      batch.gt_columns = s.problem.num_gts();
      const auto files = io::npy_layout(batch, {replay(info, s.problem)}, "generated");
      REQUIRE(files.ok());
      std::set<std::string> names, others;
      for (const io::NamedBytes& f : *files)
        (f.name.size() > 4 && f.name.substr(f.name.size() - 4) == ".npy" ? names : others).insert(f.name);
      CHECK(others == std::set<std::string>{"notes.json", "params.json"});  // beside every assigner's
      if (seed > 1) CHECK(names == written);                                // the same files for every image
      written = names;
    }
    const std::set<std::string> declared(info.result_files.begin(), info.result_files.end());
    CHECK(declared.size() == info.result_files.size());
    CHECK_MESSAGE(written == declared, "writes " << joined({written.begin(), written.end()}) << "; registry says "
                                                 << joined(info.result_files));
  }
}

// README's table of assigners (under "## Assigners"): one row per
// registered assigner, its first cell `name` (aliases).
TEST_CASE("docs: README's assigner table lists exactly the registered assigners") {
  std::ifstream in(std::string(ASSIGNSCOPE_SOURCE_DIR) + "/README.md");
  REQUIRE(in.good());
  std::string line;
  bool in_section = false;
  std::vector<std::string> rows;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## Assigners";
    if (!in_section || line.rfind("| `", 0) != 0) continue;
    const size_t end = line.find('`', 3);
    REQUIRE(end != std::string::npos);
    rows.push_back(line.substr(3, end - 3));
  }
  std::vector<std::string> names;
  for (const assign::AssignerInfo& info : assign::registry()) names.push_back(info.name);
  CHECK(joined(rows) == joined(names));
}

// docs/assigners.md: a section "## name — ..." per registered assigner, in
// the registry's order.
TEST_CASE("docs: docs/assigners.md has a section for each registered assigner") {
  std::ifstream in(std::string(ASSIGNSCOPE_SOURCE_DIR) + "/docs/assigners.md");
  REQUIRE(in.good());
  std::set<std::string> names;
  for (const assign::AssignerInfo& info : assign::registry()) names.insert(info.name);
  std::vector<std::string> sections, expected;
  std::string line;
  while (std::getline(in, line)) {
    const size_t dash = line.find(" \u2014 ");
    if (line.rfind("## ", 0) == 0 && dash != std::string::npos && names.count(line.substr(3, dash - 3)))
      sections.push_back(line.substr(3, dash - 3));
  }
  for (const assign::AssignerInfo& info : assign::registry()) expected.push_back(info.name);
  CHECK(joined(sections) == joined(expected));
}

}  // namespace
}  // namespace assignscope
