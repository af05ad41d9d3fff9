// Diffing two stored results: each read back through io::read_replay, then
// image by image as diff_image.
#include <fmt/format.h>

#include "analysis/diff.h"
#include "assign/assigner.h"
#include "core/text.h"
#include "io/result_layout.h"

namespace assignscope::analysis {

namespace {

std::string params_string(const std::string& assigner, const nlohmann::json& params) {
  if (const assign::AssignerInfo* info = assign::find_assigner(assigner)) {
    Params p = assign::default_params(*info);
    if (params.is_object() && p.set_all(params).ok()) return p.to_string();
  }
  std::string s;
  if (params.is_object())
    for (const auto& [k, v] : params.items()) s += (s.empty() ? "" : " ") + k + "=" + json_snippet(v);
  return s;
}

DiffSide stored_side(const std::string& path, const nlohmann::json& assigner, const nlohmann::json& params) {
  DiffSide s;
  s.assigner = assigner.is_string() ? assigner.get<std::string>() : "";
  s.params = params_string(s.assigner, params);
  if (params.is_object()) s.params_json = nlohmann::ordered_json::parse(params.dump());
  s.result = path;
  return s;
}

DiffImage image_of(const io::StoredImage& stored) {
  DiffImage img;
  img.name = stored.name;
  img.num_priors = stored.num_priors;
  img.num_gts = stored.num_gts;
  img.gt_labels = stored.gt_labels;
  img.gt_boxes = stored.gt_boxes;
  return img;
}

}  // namespace

Result<StoredAssignments> read_result(const std::string& path) {
  ASSIGNSCOPE_ASSIGN_OR_RETURN(auto stored, io::read_replay(path));
  StoredAssignments out;
  out.side = stored_side(stored.path, stored.assigner, stored.params);
  out.batch = stored.batch;
  for (const io::StoredImage& image : stored.images) out.images.push_back(image_of(image));
  out.assignments = std::move(stored.assignments);
  return out;
}

Result<BatchDiff> diff_stored(const StoredAssignments& a, const StoredAssignments& b) {
  const std::string& pa = a.side.result;
  const std::string& pb = b.side.result;
  if (a.assignments.size() != b.assignments.size())
    return Status::InvalidInput(fmt::format("the results hold different numbers of images: {} has {}, {} has {}", pa,
                                            a.assignments.size(), pb, b.assignments.size()));
  BatchDiff out;
  out.a = a.side;
  out.b = b.side;
  out.batch = a.batch || b.batch;
  for (size_t k = 0; k < a.assignments.size(); ++k) {
    const DiffImage& ia = a.images[k];
    const DiffImage& ib = b.images[k];
    const std::string image = out.batch ? fmt::format("image {}: ", k) : "";
    if (ia.num_priors != ib.num_priors)
      return Status::InvalidInput(fmt::format("{}the results have different numbers of priors: {} has {}, {} has {}",
                                              image, pa, ia.num_priors, pb, ib.num_priors));
    if (ia.num_gts >= 0 && ib.num_gts >= 0 && ia.num_gts != ib.num_gts)
      return Status::InvalidInput(fmt::format("{}the results have different numbers of GTs: {} has {}, {} has {}",
                                              image, pa, ia.num_gts, pb, ib.num_gts));
    DiffImage img = ia.num_gts >= 0 ? ia : ib;
    if (img.name.empty()) img.name = ia.name.empty() ? ib.name : ia.name;
    out.images.push_back(diff_image(img, a.assignments[k], b.assignments[k]));
  }
  return out;
}

}  // namespace assignscope::analysis
