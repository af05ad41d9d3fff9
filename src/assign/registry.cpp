// The registry of assigners. A new assigner is a new file plus one line here.
#include <algorithm>

#include <fmt/format.h>

#include "assign/assigner.h"
#include "assign/atss.h"
#include "assign/dynamic_soft_label.h"
#include "assign/fcos.h"
#include "assign/finite_reports.h"
#include "assign/hungarian.h"
#include "assign/max_iou.h"
#include "assign/ota.h"
#include "assign/simota.h"
#include "assign/task_aligned.h"
#include "assign/yolov5.h"
#include "core/parallel.h"
#include "core/suggest.h"

namespace assignscope::assign {

namespace {

// Every registered assigner's results pass through make_reports_finite.
class FiniteReports final : public Assigner {
 public:
  FiniteReports(std::unique_ptr<Assigner> inner, std::string numerics)
      : inner_(std::move(inner)), numerics_(std::move(numerics)) {}
  Assignment assign(const Problem& problem) const override {
    Assignment out = inner_->assign(problem);
    make_reports_finite(problem, numerics_, &out);
    return out;
  }

 private:
  std::unique_ptr<Assigner> inner_;
  std::string numerics_;
};

std::vector<AssignerInfo> with_finite_reports(std::vector<AssignerInfo> all) {
  for (AssignerInfo& info : all)
    info.make = [make = info.make, numerics = info.numerics](const Params& params) -> std::unique_ptr<Assigner> {
      return std::make_unique<FiniteReports>(make(params), numerics);
    };
  return all;
}

}  // namespace

const std::vector<AssignerInfo>& registry() {
  static const std::vector<AssignerInfo> kAll = with_finite_reports({
      dynamic_soft_label_info(),
      dynamic_soft_label_mmyolo_info(),
      simota_info(),
      simota_yolox_info(),
      ota_info(),
      atss_info(),
      atss_mmyolo_info(),
      task_aligned_info(),
      task_aligned_mmyolo_info(),
      task_aligned_ultralytics_info(),
      max_iou_info(),
      fcos_info(),
      yolov5_info(),
      hungarian_info(),
  });
  return kAll;
}

const AssignerInfo* find_assigner(const std::string& name) {
  for (const AssignerInfo& info : registry())
    if (info.name == name) return &info;
  return nullptr;
}

Status unknown_assigner(const std::string& name) {
  std::vector<std::string> names;
  std::string list;
  for (const AssignerInfo& info : registry()) {
    names.push_back(info.name);
    list += (list.empty() ? "" : ", ") + info.name;
  }
  return Status::Usage(fmt::format("unknown assigner '{}'{}; known: {} (see `assignscope list`)", name,
                                   did_you_mean(name, names), list));
}

ParamSpec search_param() {
  return {"search", ParamType::kString, std::string("sparse"),
          "sparse: cost only the (prior, GT) pairs that can matter; dense: cost every pair, as the reference does. "
          "Same result (a cross-check)",
          std::nullopt, std::nullopt, {"sparse", "dense"}};
}

Params default_params(const AssignerInfo& info) { return Params(info.params); }

std::string need_name(const Need& need) {
  std::string s;
  for (Field f : need) {
    s += (s.empty() ? "" : "|") + std::string(field_name(f));
    if (f == Field::kPredBboxes) s += "|pred_distances";
  }
  return s;
}

Assignment nothing_to_assign(const Problem& problem, bool with_dynamic_ks) {
  Assignment out = Assignment::Empty(problem.num_priors(), problem.num_gts(), 0.0f, with_dynamic_ks);
  out.notes.push_back(problem.num_priors() == 0 ? "no priors: nothing to assign"
                                                : "no ground truth: every prior is negative");
  return out;
}

Status check_needs(const AssignerInfo& info, const Problem& problem) {
  for (const Need& need : info.needs) {
    if (std::any_of(need.begin(), need.end(), [&](Field f) { return problem.has(f); })) continue;
    if (need.size() == 1 && need[0] == Field::kPriors && problem.strideless_priors)
      return Status::InvalidInput(fmt::format(
          "field 'priors' has stride 0 in every row (DETR-style queries), not point priors (cx, cy, stride_w, "
          "stride_h); assigner {} needs point priors",
          info.name));
    std::string hint;
    if (need.size() == 1 && need[0] == Field::kPriors) hint = " (point priors (cx, cy, stride_w, stride_h))";
    std::string names;
    for (size_t i = 0; i < need.size(); ++i)
      names += (i ? (i + 1 == need.size() ? " or '" : ", '") : "'") + std::string(field_name(need[i])) + "'";
    if (need.size() == 1 && need[0] == Field::kPredBboxes) names += " (or 'pred_distances')";
    return Status::InvalidInput(fmt::format("field {} is missing{}; assigner {} needs it", names, hint, info.name));
  }
  return Status();
}

Result<std::vector<Assignment>> assign_batch(const AssignerInfo& info, const Params& params, const Batch& batch,
                                             const BatchOptions& options) {
  for (const Problem& p : batch.images) {
    Status st = check_needs(info, p);
    if (st.ok() && info.check) st = info.check(params, p);
    if (!st.ok()) return st.WithContext(batch.source + (p.name.empty() ? "" : " image " + p.name));
    // The cost tables are dense over (prior, GT) for now: refuse sizes whose
    // tables would not fit, rather than exhausting memory.
    if (p.num_priors() > 0 && p.num_gts() > kMaxPriorGtPairs / p.num_priors())
      return Status::Unsupported(fmt::format(
          "{}{}: N x G = {} x {} (prior, GT) pairs is more than this version handles ({}); "
          "split the image or drop GTs",
          batch.source, p.name.empty() ? "" : " image " + p.name, p.num_priors(), p.num_gts(), kMaxPriorGtPairs));
  }
  const std::unique_ptr<Assigner> assigner = info.make(params);  // const, shared by the workers
  const auto total = static_cast<int64_t>(batch.images.size());
  std::vector<Assignment> results(batch.images.size());
  parallel_for(
      batch.images.size(), options.threads,
      [&](size_t i) { results[i] = assigner->assign(batch.images[i]); },
      [&](size_t finished) {
        if (options.progress) options.progress(static_cast<int64_t>(finished), total);
      });
  return results;
}

}  // namespace assignscope::assign
