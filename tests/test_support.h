// Helpers shared by the tests: paths, small hand-made problems, running the CLI.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <array>
#include <initializer_list>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "analysis/stats.h"
#include "assign/assigner.h"
#include "core/problem.h"
#include "core/status.h"
#include "io/files.h"
#include "render/render.h"

namespace assignscope::testing {

inline std::string source_path(const std::string& rel) { return std::string(ASSIGNSCOPE_SOURCE_DIR) + "/" + rel; }

// The bytes of a file under the repository root; the test stops if it is unreadable.
inline std::vector<unsigned char> source_bytes(const std::string& rel) {
  auto bytes = io::read_file_bytes(source_path(rel));
  REQUIRE_MESSAGE(bytes.ok(), bytes.status().message());
  return std::move(bytes).value();
}

// A fresh empty directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("assignscope-test-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path(const std::string& rel = "") const { return rel.empty() ? path_.string() : (path_ / rel).string(); }

 private:
  std::filesystem::path path_;
};

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the built assignscope binary with `args` (already shell-quoted where
// needed), from `cwd` (default: the repository root).
inline CliRun run_cli(const std::string& args, const std::string& cwd = ASSIGNSCOPE_SOURCE_DIR) {
  TempDir tmp;
  const std::string cmd = "cd '" + cwd + "' && '" + ASSIGNSCOPE_BIN + "' " + args + " >'" + tmp.path("out") + "' 2>'" +
                          tmp.path("err") + "'";
  const int status = std::system(cmd.c_str());
  CliRun r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(tmp.path("out"));
  r.err = read_text(tmp.path("err"));
  return r;
}

// An error users can act on: the expected kind, one line, starting with
// `prefix` (the file it is about), and holding every keyword.
inline void check_error(const Status& status, ErrorKind kind, const std::string& prefix,
                        const std::vector<const char*>& keywords) {
  REQUIRE_FALSE(status.ok());
  const std::string& message = status.message();
  CAPTURE(message);
  CHECK(status.kind() == kind);
  CHECK(message.rfind(prefix, 0) == 0);
  CHECK(message.find('\n') == std::string::npos);
  for (const char* keyword : keywords) {
    const std::string wanted = keyword;
    CAPTURE(wanted);
    CHECK(message.find(keyword) != std::string::npos);
  }
}

inline int count_lines(const std::string& text) {
  int n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

// A one-image problem from literal rows: priors (cx, cy, stride, stride),
// predicted boxes, logits [N][C], GT boxes and labels. One level.
inline Problem make_problem(const std::vector<std::array<float, 4>>& priors,
                            const std::vector<std::array<float, 4>>& preds,
                            const std::vector<std::vector<float>>& logits, const std::vector<std::array<float, 4>>& gts,
                            const std::vector<int64_t>& labels) {
  Problem p;
  const auto n = static_cast<Eigen::Index>(priors.size());
  p.set_num_priors(n);
  p.priors.resize(n, 4);
  p.pred_bboxes.resize(n, 4);
  const auto c = static_cast<Eigen::Index>(logits.empty() ? 1 : logits[0].size());
  p.cls_scores.resize(n, c);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (int k = 0; k < 4; ++k) p.priors(i, k) = priors[i][k], p.pred_bboxes(i, k) = preds[i][k];
    for (Eigen::Index j = 0; j < c; ++j) p.cls_scores(i, j) = logits[i][j];
  }
  p.gt_bboxes.resize(static_cast<Eigen::Index>(gts.size()), 4);
  for (size_t g = 0; g < gts.size(); ++g)
    for (int k = 0; k < 4; ++k) p.gt_bboxes(static_cast<Eigen::Index>(g), k) = gts[g][k];
  p.gt_labels = labels;
  p.num_level_priors = {n};
  p.prior_level.assign(static_cast<size_t>(n), 0);
  for (Field f : {Field::kPriors, Field::kClsScores, Field::kPredBboxes, Field::kGtBboxes, Field::kGtLabels}) p.mark(f);
  return p;
}

// Replays the registered assigner `name` with parameter overrides on one image.
inline Assignment run_assigner(const std::string& name, const Problem& p,
                               const std::vector<std::pair<std::string, std::string>>& sets = {}) {
  const assign::AssignerInfo* info = assign::find_assigner(name);
  REQUIRE_MESSAGE(info != nullptr, name);
  Params params = assign::default_params(*info);
  for (const auto& [k, v] : sets) REQUIRE(params.set(k, v).ok());
  REQUIRE(assign::check_needs(*info, p).ok());
  return info->make(params)->assign(p);
}

// Four priors in a row at x = 4, 12, 20, 28 (y = 4, stride 8), each
// predicting its own 8 x 8 cell; `logits` per prior (default: C = 2).
inline Problem row_of_four(const std::vector<std::array<float, 4>>& gts, const std::vector<int64_t>& labels,
                           std::vector<std::vector<float>> logits = {}) {
  std::vector<std::array<float, 4>> priors, preds;
  for (int c = 0; c < 4; ++c) {
    const float x = 4.0f + 8.0f * static_cast<float>(c);
    priors.push_back({x, 4, 8, 8});
    preds.push_back({x - 4, 0, x + 4, 8});
  }
  if (logits.empty()) logits.assign(4, {-2.0f, 0.5f});
  return make_problem(priors, preds, logits, gts, labels);
}

// The problem with one ignore box (gt_bboxes_ignore) added.
inline Problem with_ignore_box(Problem p, std::array<float, 4> box) {
  p.gt_bboxes_ignore.resize(1, 4);
  p.gt_bboxes_ignore.row(0) << box[0], box[1], box[2], box[3];
  p.mark(Field::kGtBboxesIgnore);
  return p;
}

// The pair (prior, gt) the assigner recorded, or nullptr. The pointer lives
// as long as `a`: keep the assignment in a variable.
inline const CandidatePair* find_pair(const Assignment& a, int32_t prior, int32_t gt) {
  for (const CandidatePair& c : a.candidates)
    if (c.prior == prior && c.gt == gt) return &c;
  return nullptr;
}

// Whether one of the assignment's notes holds `words`.
inline bool has_note(const Assignment& a, const std::string& words) {
  for (const std::string& n : a.notes)
    if (n.find(words) != std::string::npos) return true;
  return false;
}

// A result every assigner must give: sizes, conventions, reports in range;
// with `render`, the table, JSON and npy renderers take it too.
inline void check_well_formed(const Problem& p, const Assignment& a, bool render = true) {
  const auto n = static_cast<size_t>(p.num_priors());
  const int64_t columns = p.num_gts() + static_cast<int64_t>(p.padding_gt_labels.size());
  REQUIRE(a.gt_inds.size() == n);
  REQUIRE(a.labels.size() == n);
  CHECK((a.max_overlaps.empty() || a.max_overlaps.size() == n));
  for (size_t i = 0; i < n; ++i) {
    const int64_t g = a.gt_inds[i];
    CHECK(g >= -1);
    CHECK(g <= columns);
    if (g > 0 && g <= p.num_gts()) CHECK(a.labels[i] == p.gt_labels[static_cast<size_t>(g - 1)]);
    if (g <= 0) CHECK(a.labels[i] == -1);
  }
  if (a.dynamic_ks)
    CHECK((a.dynamic_ks->size() == static_cast<size_t>(p.num_gts()) ||
           a.dynamic_ks->size() == static_cast<size_t>(columns)));
  for (const auto* metrics : {&a.assign_metrics, &a.assign_metrics_raw, &a.bbox_targets})
    if (*metrics) CHECK((*metrics)->size() % std::max<size_t>(n, 1) == 0);
  for (const CandidatePair& c : a.candidates) {
    CHECK(c.prior >= 0);
    CHECK(static_cast<size_t>(c.prior) < n);
    CHECK(c.gt >= 0);
    CHECK(c.gt < p.num_gts());
  }
  if (a.matches)
    for (const Match& m : *a.matches) {
      CHECK(static_cast<size_t>(m.prior) < n);
      CHECK(a.gt_inds[static_cast<size_t>(m.prior)] > 0);
      CHECK(a.gt_inds[static_cast<size_t>(m.prior)] <= m.gt + 1);
    }
  // The reports and every output format take it.
  const analysis::ImageStats s = analysis::compute_stats(p, a);
  CHECK(s.positives + s.negatives + s.ignored == p.num_priors());
  if (!render) return;
  Batch batch;
  batch.source = "edge";
  batch.images = {p};
  batch.gt_columns = columns;
  CHECK_FALSE(render::table(batch, {a}).empty());
  CHECK_FALSE(render::json(batch, {a}, {true, true}).empty());
  CHECK(io::npy_layout(batch, {a}, "edge").ok());
}

}  // namespace assignscope::testing
