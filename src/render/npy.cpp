// Results in the golden expected/<label>/ layout, so `assignscope check` can
// replay them later.
#include <filesystem>

#include <fmt/format.h>

#include "io/npy.h"
#include "render/render.h"

namespace assignscope::render {

Result<std::vector<io::NamedBytes>> npy_layout(const Batch& batch, const std::vector<Assignment>& results,
                                           const std::string& reference) {
  if (results.empty()) return Status::Internal("npy_layout: no results");
  const int64_t n = results[0].num_priors();
  for (size_t b = 1; b < results.size(); ++b) {
    if (results[b].num_priors() != n)
      return Status::InvalidInput(fmt::format(
          "{}: images have different numbers of priors ({} has {}, {} has {}); the npy layout stacks them as [B, N]",
          batch.source, batch.images[0].name, n, batch.images[b].name, results[b].num_priors()));
  }
  const auto num_images = static_cast<int64_t>(results.size());
  std::vector<int64_t> prior_shape = batch.is_batch ? std::vector<int64_t>{num_images, n} : std::vector<int64_t>{n};

  std::vector<int64_t> gt_inds, labels;
  std::vector<float> overlaps;
  for (const Assignment& a : results) {
    gt_inds.insert(gt_inds.end(), a.gt_inds.begin(), a.gt_inds.end());
    labels.insert(labels.end(), a.labels.begin(), a.labels.end());
    overlaps.insert(overlaps.end(), a.max_overlaps.begin(), a.max_overlaps.end());
  }
  std::vector<io::NamedBytes> files;
  files.push_back({"assigned_gt_inds.npy", io::npy_bytes(gt_inds.data(), prior_shape)});
  files.push_back({"assigned_labels.npy", io::npy_bytes(labels.data(), prior_shape)});
  files.push_back({"max_overlaps.npy", io::npy_bytes(overlaps.data(), prior_shape)});

  if (!results[0].transport_plan.empty() || (results[0].assigner == "ota")) {
    // [G + 1, N], background row last; a batch pads every image to the
    // batch's GT columns with zero rows before its background row.
    const int64_t gts = batch.is_batch ? batch.gt_columns : batch.images[0].num_gts();
    std::vector<float> plan;
    for (size_t b = 0; b < results.size(); ++b) {
      const int64_t own = batch.images[b].num_gts();
      const std::vector<float>& p = results[b].transport_plan;
      std::vector<float> rows(static_cast<size_t>((gts + 1) * n), 0.0f);
      if (!p.empty()) {
        std::copy(p.begin(), p.begin() + own * n, rows.begin());
        std::copy(p.begin() + own * n, p.end(), rows.begin() + gts * n);
      }
      plan.insert(plan.end(), rows.begin(), rows.end());
    }
    const std::vector<int64_t> shape =
        batch.is_batch ? std::vector<int64_t>{num_images, gts + 1, n} : std::vector<int64_t>{gts + 1, n};
    files.push_back({"transport_plan.npy", io::npy_bytes(plan.data(), shape)});
  }
  if (results[0].has_assign_metrics) {
    std::vector<float> metrics;
    for (const Assignment& a : results) metrics.insert(metrics.end(), a.assign_metrics.begin(), a.assign_metrics.end());
    files.push_back({"assign_metrics.npy", io::npy_bytes(metrics.data(), prior_shape)});
  }
  if (results[0].has_dynamic_ks) {
    // Per-GT results padded to the batch's GT columns with 0, as the golden batches are.
    const int64_t columns =
        batch.is_batch ? batch.gt_columns : static_cast<int64_t>(results[0].dynamic_ks.size());
    std::vector<int64_t> ks;
    for (const Assignment& a : results) {
      std::vector<int64_t> row(static_cast<size_t>(columns), 0);
      std::copy_n(a.dynamic_ks.begin(), std::min<int64_t>(columns, static_cast<int64_t>(a.dynamic_ks.size())),
                  row.begin());
      ks.insert(ks.end(), row.begin(), row.end());
    }
    const std::vector<int64_t> shape = batch.is_batch ? std::vector<int64_t>{num_images, columns} : std::vector<int64_t>{columns};
    files.push_back({"dynamic_ks.npy", io::npy_bytes(ks.data(), shape)});
  }

  nlohmann::ordered_json params;
  params["assigner"] = results[0].assigner;
  params["params"] = results[0].params.to_json();
  params["reference"] = reference;
  nlohmann::ordered_json names = nlohmann::ordered_json::array();
  for (const io::NamedBytes& f : files) names.push_back(f.name);
  params["files"] = names;
  params["produced_by"] = fmt::format("assignscope {}", ASSIGNSCOPE_VERSION);
  std::error_code ec;  // absolute, so `assignscope check DIR` finds the dump from anywhere
  const std::filesystem::path source = std::filesystem::absolute(batch.source, ec).lexically_normal();
  params["source"] = ec ? batch.source : source.string();
  if (batch.is_batch) {
    nlohmann::ordered_json image_names = nlohmann::ordered_json::array();
    for (const Problem& p : batch.images) image_names.push_back(p.name);
    params["images"] = image_names;
  }
  const std::string text = params.dump(1) + "\n";
  files.push_back({"params.json", std::vector<unsigned char>(text.begin(), text.end())});
  return files;
}

}  // namespace assignscope::render
