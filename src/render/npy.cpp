// Results in the golden expected/<label>/ layout, so `assignscope check` can
// replay them later.
//
// One image: assigned_gt_inds / assigned_labels / max_overlaps [N], and
// when the assigner has them dynamic_ks [G], assign_metrics(_raw) [N],
// bbox_targets [N, 4], transport_plan [G + 1, N], matches [M, 2] as
// (prior, gt). A batch adds a leading B: per-GT results are padded to the
// batch's GT columns with 0 (a transport plan with zero rows before each
// image's background row), and matches become [M, 3] as (image, prior, gt).
// Beside them: params.json (what was replayed, and from which dumps,
// relative to the result directory) and notes.json (the replay's notes and
// warnings per image).
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "assignscope/version.h"
#include "io/npy.h"
#include "render/render.h"

namespace assignscope::render {
namespace {

// Stacks one per-image float array of `per_image` elements; its shape per
// image is `shape`.
template <class Get>
io::NamedBytes stacked_floats(const char* name, const Batch& batch, const std::vector<Assignment>& results,
                              std::vector<int64_t> shape, const Get& get) {
  std::vector<float> all;
  for (const Assignment& a : results) {
    const std::vector<float>& v = *get(a);
    all.insert(all.end(), v.begin(), v.end());
  }
  if (batch.is_batch) shape.insert(shape.begin(), static_cast<int64_t>(results.size()));
  return {name, io::npy_bytes(all.data(), shape)};
}

// `path` as params.json records it: relative to `result_dir` (both made
// absolute and normalised lexically, as `check` resolves them), or absolute
// without a result directory.
// analysis::kMaxSources: `assignscope check` replays no more dumps for one result.
constexpr size_t kMaxSources = 10000;

std::string recorded_path(const std::string& path, const std::string& result_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto trimmed = [](fs::path p) {  // "dump/" names "dump"
    while (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();
    return p;
  };
  const fs::path target = trimmed(fs::absolute(path, ec).lexically_normal());
  if (ec) return path;
  if (result_dir.empty()) return target.string();
  const fs::path base = trimmed(fs::absolute(result_dir, ec).lexically_normal());
  if (ec) return target.string();
  fs::path rel = target.lexically_relative(base);
  if (rel.empty()) return target.string();
  return rel.string();
}

}  // namespace

Result<std::vector<io::NamedBytes>> npy_layout(const Batch& batch, const std::vector<Assignment>& results,
                                               const std::string& reference, const NpyProvenance& where) {
  if (results.empty()) return Status::Internal("npy_layout: no results");
  const int64_t n = results[0].num_priors();
  for (size_t b = 1; b < results.size(); ++b) {
    if (results[b].num_priors() != n)
      return Status::InvalidInput(fmt::format(
          "{}: images have different numbers of priors ({} has {}, {} has {}); the npy layout stacks them as [B, N]",
          batch.source, batch.images[0].name, n, batch.images[b].name, results[b].num_priors()));
  }
  const auto num_images = static_cast<int64_t>(results.size());
  const Assignment& first = results[0];
  std::vector<int64_t> prior_shape = batch.is_batch ? std::vector<int64_t>{num_images, n} : std::vector<int64_t>{n};

  std::vector<int64_t> gt_inds, labels;
  for (const Assignment& a : results) {
    gt_inds.insert(gt_inds.end(), a.gt_inds.begin(), a.gt_inds.end());
    labels.insert(labels.end(), a.labels.begin(), a.labels.end());
  }
  std::vector<io::NamedBytes> files;
  files.push_back({"assigned_gt_inds.npy", io::npy_bytes(gt_inds.data(), prior_shape)});
  files.push_back({"assigned_labels.npy", io::npy_bytes(labels.data(), prior_shape)});
  if (!first.max_overlaps.empty() || n == 0)
    files.push_back(
        stacked_floats("max_overlaps.npy", batch, results, {n}, [](const Assignment& a) { return &a.max_overlaps; }));
  if (first.assign_metrics)
    files.push_back(stacked_floats("assign_metrics.npy", batch, results, {n},
                                   [](const Assignment& a) { return &*a.assign_metrics; }));
  if (first.assign_metrics_raw)
    files.push_back(stacked_floats("assign_metrics_raw.npy", batch, results, {n},
                                   [](const Assignment& a) { return &*a.assign_metrics_raw; }));
  if (first.bbox_targets)
    files.push_back(stacked_floats("bbox_targets.npy", batch, results, {n, 4},
                                   [](const Assignment& a) { return &*a.bbox_targets; }));

  // Per-GT results, padded to the batch's GT columns.
  const int64_t columns = batch.is_batch ? batch.gt_columns : batch.images[0].num_gts();
  if (first.dynamic_ks) {
    const int64_t width = batch.is_batch ? columns : static_cast<int64_t>(first.dynamic_ks->size());
    std::vector<int64_t> ks;
    for (const Assignment& a : results) {
      std::vector<int64_t> row(static_cast<size_t>(width), 0);
      std::copy_n(a.dynamic_ks->begin(), std::min<int64_t>(width, static_cast<int64_t>(a.dynamic_ks->size())),
                  row.begin());
      ks.insert(ks.end(), row.begin(), row.end());
    }
    const std::vector<int64_t> shape =
        batch.is_batch ? std::vector<int64_t>{num_images, width} : std::vector<int64_t>{width};
    files.push_back({"dynamic_ks.npy", io::npy_bytes(ks.data(), shape)});
  }
  if (first.transport_plan) {
    std::vector<float> plan;
    for (size_t b = 0; b < results.size(); ++b) {
      const int64_t own = batch.images[b].num_gts();
      const std::vector<float>& p = *results[b].transport_plan;
      std::vector<float> rows(static_cast<size_t>((columns + 1) * n), 0.0f);
      std::copy(p.begin(), p.begin() + own * n, rows.begin());
      std::copy(p.begin() + own * n, p.end(), rows.begin() + columns * n);
      plan.insert(plan.end(), rows.begin(), rows.end());
    }
    const std::vector<int64_t> shape =
        batch.is_batch ? std::vector<int64_t>{num_images, columns + 1, n} : std::vector<int64_t>{columns + 1, n};
    files.push_back({"transport_plan.npy", io::npy_bytes(plan.data(), shape)});
  }
  if (first.matches) {
    std::vector<int64_t> rows;
    for (size_t b = 0; b < results.size(); ++b) {
      for (const Match& m : *results[b].matches) {
        if (batch.is_batch) rows.push_back(static_cast<int64_t>(b));
        rows.push_back(m.prior);
        rows.push_back(m.gt);
      }
    }
    const int64_t width = batch.is_batch ? 3 : 2;
    files.push_back({"matches.npy", io::npy_bytes(rows.data(), {static_cast<int64_t>(rows.size()) / width, width})});
  }

  nlohmann::ordered_json params;
  params["assigner"] = first.assigner;
  params["params"] = first.params.to_json();
  params["reference"] = reference;
  nlohmann::ordered_json names = nlohmann::ordered_json::array();
  for (const io::NamedBytes& f : files) names.push_back(f.name);
  params["files"] = names;
  params["produced_by"] = fmt::format("assignscope {}", ASSIGNSCOPE_VERSION);
  // The dumps, relative to the result directory: a suite copied to another
  // checkout or CI runner replays its own dumps, never the ones at the old
  // absolute path. Several dumps are a list (never the "2 dumps" label).
  const std::vector<std::string> dumps = where.dumps.empty() ? std::vector<std::string>{batch.source} : where.dumps;
  if (dumps.size() > kMaxSources)
    return Status::InvalidInput(fmt::format("{} dumps: a result of the npy format records at most {} (assignscope "
                                            "check replays no more); run fewer at once",
                                            dumps.size(), kMaxSources));
  nlohmann::ordered_json recorded = nlohmann::ordered_json::array();
  for (const std::string& d : dumps) recorded.push_back(recorded_path(d, where.result_dir));
  if (recorded.size() == 1) params["source"] = recorded[0];
  else params["sources"] = recorded;
  if (batch.is_batch) {
    nlohmann::ordered_json image_names = nlohmann::ordered_json::array();
    for (const Problem& p : batch.images) image_names.push_back(p.name);
    params["images"] = image_names;
  }
  const std::string text = json_text(params) + "\n";  // a path that is not UTF-8: U+FFFD, not a throw
  files.push_back({"params.json", std::vector<unsigned char>(text.begin(), text.end())});
  // What the replay remarked (early returns, ties left to torch's order) and
  // warned (NaN the reference would have), per image, so a CI user sees it.
  nlohmann::ordered_json notes;
  notes["images"] = nlohmann::ordered_json::array();
  for (size_t b = 0; b < results.size(); ++b) {
    nlohmann::ordered_json image;
    image["image"] = batch.images[b].name;
    image["notes"] = results[b].notes;
    image["warnings"] = results[b].warnings;
    notes["images"].push_back(std::move(image));
  }
  const std::string notes_text = json_text(notes) + "\n";
  files.push_back({"notes.json", std::vector<unsigned char>(notes_text.begin(), notes_text.end())});
  return files;
}

}  // namespace assignscope::render
