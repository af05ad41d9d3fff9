// The head registry and the golden layout of loss results.
#include "loss/loss.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "assign/assigner.h"
#include "core/suggest.h"
#include "io/npy.h"
#include "loss/rtmdet.h"
#include "loss/ultralytics.h"
#include "loss/yolox.h"

namespace assignscope::loss {

const LossFile* LossResult::file(const std::string& name) const {
  for (const LossFile& f : files)
    if (f.name == name) return &f;
  return nullptr;
}

const std::vector<LossInfo>& registry() {
  static const std::vector<LossInfo> heads = {rtmdet_loss_info(), yolox_loss_info(), ultralytics_loss_info()};
  return heads;
}

const LossInfo* find_loss(const std::string& name) {
  for (const LossInfo& info : registry())
    if (info.name == name || info.short_name == name) return &info;
  return nullptr;
}

Status unknown_loss(const std::string& name) {
  std::vector<std::string> names;
  std::string list;
  for (const LossInfo& info : registry()) {
    names.push_back(info.short_name);
    names.push_back(info.name);
    list += (list.empty() ? "" : ", ") + info.short_name;
  }
  return Status::Usage(fmt::format("unknown head loss '{}'{}; heads: {}", name, did_you_mean(name, names), list));
}

Result<LossChoice> choose_loss(const std::string& text) {
  const size_t plus = text.find('+');
  const std::string name = text.substr(0, plus);
  LossChoice out;
  out.info = find_loss(name);
  if (!out.info) return unknown_loss(name);
  out.label = out.info->name;
  if (plus == std::string::npos) return out;
  const std::string preset = text.substr(plus + 1);
  std::vector<std::string> names;
  for (const LossPreset& p : out.info->presets) {
    names.push_back(p.name);
    if (p.name != preset) continue;
    out.params = p.params;
    out.label += "+" + p.name;
    return out;
  }
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
  return Status::Usage(fmt::format("{} has no preset '{}'{}; {}", out.info->name, preset, did_you_mean(preset, names),
                                   names.empty() ? "it has none" : "presets: " + list));
}

Result<LossResult> compute_loss(const LossInfo& info, const Batch& batch, const LossSettings& settings) {
  for (const Problem& p : batch.images)
    for (Field f : info.needs)
      if (!p.has(f))
        return Status::InvalidInput(fmt::format("{}{}: the {} head needs the dump field '{}'", batch.source,
                                                p.name.empty() ? "" : " (" + p.name + ")", info.short_name,
                                                field_name(f)));
  ASSIGNSCOPE_ASSIGN_OR_RETURN(LossResult r, info.compute(batch, settings));
  r.head = info.name;
  return r;
}

LossFile scalar_file(const std::string& name, double v, FileKind kind) { return {name, {}, {v}, kind}; }

LossFile vector_file(const std::string& name, const std::vector<double>& v, FileKind kind) {
  return {name, {static_cast<int64_t>(v.size())}, v, kind};
}

LossFile per_prior_file(const std::string& name, const Batch& batch, const std::vector<std::vector<double>>& v,
                        FileKind kind, bool batch_dim) {
  LossFile f{name, {}, {}, kind};
  const int64_t n = v.empty() ? 0 : static_cast<int64_t>(v[0].size());
  if (batch.is_batch || batch_dim) f.shape.push_back(static_cast<int64_t>(v.size()));
  f.shape.push_back(n);
  for (const auto& row : v) f.values.insert(f.values.end(), row.begin(), row.end());
  return f;
}

LossFile per_gt_file(const std::string& name, const Batch& batch, const std::vector<std::vector<double>>& v,
                     FileKind kind, bool batch_dim) {
  LossFile f{name, {}, {}, kind};
  if (batch.is_batch || batch_dim) {
    int64_t cols = batch.gt_columns;
    for (const auto& row : v) cols = std::max(cols, static_cast<int64_t>(row.size()));
    f.shape = {static_cast<int64_t>(v.size()), cols};
    for (const auto& row : v) {
      f.values.insert(f.values.end(), row.begin(), row.end());
      f.values.resize(f.values.size() + static_cast<size_t>(cols) - row.size(), 0.0);
    }
  } else {
    f.shape = {v.empty() ? 0 : static_cast<int64_t>(v[0].size())};
    if (!v.empty()) f.values = v[0];
  }
  return f;
}

LossFile pos_inds_file(const Batch& batch, const std::vector<Assignment>& a, bool batch_dim) {
  LossFile f{"pos_inds.npy", {}, {}, FileKind::kInteger};
  const bool two = batch.is_batch || batch_dim;
  int64_t p = 0;
  for (size_t b = 0; b < a.size(); ++b)
    for (size_t i = 0; i < a[b].gt_inds.size(); ++i)
      if (a[b].gt_inds[i] > 0) {
        if (two) f.values.push_back(static_cast<double>(b));
        f.values.push_back(static_cast<double>(i));
        ++p;
      }
  f.shape = two ? std::vector<int64_t>{p, 2} : std::vector<int64_t>{p};
  return f;
}

LossFile per_positive_file(const std::string& name, const std::vector<std::vector<double>>& per_prior,
                           const std::vector<Assignment>& a) {
  LossFile f{name, {}, {}, FileKind::kTerm};
  for (size_t b = 0; b < a.size(); ++b)
    for (size_t i = 0; i < a[b].gt_inds.size(); ++i)
      if (a[b].gt_inds[i] > 0) f.values.push_back(per_prior[b][i]);
  f.shape = {static_cast<int64_t>(f.values.size())};
  return f;
}

std::vector<io::NamedBytes> npy_files(const LossResult& r) {
  std::vector<io::NamedBytes> out;
  for (const LossFile& f : r.files) {
    if (f.kind == FileKind::kInteger) {
      std::vector<int64_t> v(f.values.size());
      for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int64_t>(f.values[i]);
      out.push_back({f.name, io::npy_bytes(v.data(), f.shape)});
    } else {
      std::vector<float> v(f.values.size());
      for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(f.values[i]);
      out.push_back({f.name, io::npy_bytes(v.data(), f.shape)});
    }
  }
  return out;
}

Status head_assignment(const std::string& name, const nlohmann::json& overrides, const Batch& batch,
                       const LossSettings& settings, LossResult* r) {
  if (settings.assignments) {
    if (settings.assignments->size() != batch.images.size())
      return Status::Internal("loss: one assignment per image expected");
    r->assignments = *settings.assignments;
    r->assigner = settings.assigner;
    return Status();
  }
  // A stored result names its assigner and all of its parameters; the head's
  // own is run with the head's construction arguments.
  const std::string& run = settings.assigner.empty() ? name : settings.assigner;
  const nlohmann::json& given = settings.assigner.empty() ? overrides : settings.assigner_params;
  const assign::AssignerInfo* info = assign::find_assigner(run);
  if (!info) return assign::unknown_assigner(run);
  Params params = assign::default_params(*info);
  if (given.is_object() && !given.empty()) ASSIGNSCOPE_RETURN_IF_ERROR(params.set_all(given));
  ASSIGNSCOPE_RETURN_IF_ERROR(assign::validate_params(*info, params, nullptr));
  ASSIGNSCOPE_ASSIGN_OR_RETURN(r->assignments, assign::assign_batch(*info, params, batch));
  r->assigner = run;
  return Status();
}

double bce_with_logits(double x, double y) { return std::max(x, 0.0) - x * y + std::log1p(std::exp(-std::fabs(x))); }

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace assignscope::loss
