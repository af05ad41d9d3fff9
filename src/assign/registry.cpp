// The registry of assigners. A new assigner is a new file (its *_info() states
// everything about it, traits included) plus one line here, and its tests and
// docs (docs/architecture.md, "Adding an assigner"); the names people type for
// one (aliases, class names, presets) resolve here too.
#include <algorithm>
#include <new>
#include <cassert>
#include <cctype>

#include <fmt/format.h>

#include "assign/align_ota.h"
#include "assign/assigner.h"
#include "assign/atss.h"
#include "assign/dynamic_soft_label.h"
#include "assign/fcos.h"
#include "assign/finite_reports.h"
#include "assign/hungarian.h"
#include "assign/max_iou.h"
#include "assign/o2f.h"
#include "assign/ota.h"
#include "assign/simota.h"
#include "assign/task_aligned.h"
#include "assign/topk_hungarian.h"
#include "assign/yolov5.h"
#include "assign/yolov7.h"
#include "geometry/prior_grid.h"
#include "core/parallel.h"
#include "io/memory.h"
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
      yolov7_info(),
      hungarian_info(),
      topk_hungarian_info(),
      align_ota_info(),
      o2f_info(),
  });
  return kAll;
}

std::vector<std::string> unset_traits(const AssignerInfo& info) {
  std::vector<std::string> unset;
  const Traits& t = info.traits;
  if (t.cost == CostDefinition::kUnset) unset.push_back("traits.cost");
  const std::pair<const char*, const std::optional<bool>*> flags[] = {
      {"traits.multi_match", &t.multi_match},
      {"traits.dynamic_k", &t.dynamic_k},
      {"traits.picks_k", &t.picks_k},
      {"traits.conflict_over_all", &t.conflict_over_all},
      {"traits.geometric", &t.geometric},
      {"traits.records_pairs", &t.records_pairs},
      {"traits.sparse_search", &t.sparse_search},
  };
  for (const auto& [name, flag] : flags)
    if (!flag->has_value()) unset.push_back(name);
  if (info.result_files.empty()) unset.push_back("result_files");
  if (!info.replays) unset.push_back("replays");
  return unset;
}

const AssignerInfo* find_assigner(const std::string& name) {
  for (const AssignerInfo& info : registry())
    if (info.name == name) return &info;
  return nullptr;
}

namespace {

// Every name `resolve_assigner` knows, for suggestions.
std::vector<std::string> every_typed_name() {
  std::vector<std::string> names;
  for (const AssignerInfo& info : registry()) {
    names.push_back(info.name);
    for (const std::string& a : info.aliases) names.push_back(a);
    for (const ClassName& c : info.class_names) names.push_back(c.name);
    for (const Preset& p : info.presets) {
      names.push_back(info.name + "+" + p.name);
      for (const std::string& a : p.aliases) names.push_back(a);
    }
  }
  return names;
}

std::string lowered(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Status unknown_assigner(const std::string& name) {
  std::string list;
  for (const AssignerInfo& info : registry()) list += (list.empty() ? "" : ", ") + info.name;
  // Suggestions compare case-insensitively ("ATSS" is one step from atss),
  // among names, aliases, presets and class names.
  const std::vector<std::string> names = every_typed_name();
  std::vector<std::string> lower;
  lower.reserve(names.size());
  for (const std::string& n : names) lower.push_back(lowered(n));
  const std::string best = closest_name(lowered(name), lower);
  std::string hint;
  for (size_t i = 0; i < lower.size() && !best.empty(); ++i)
    if (lower[i] == best) {
      hint = fmt::format(" (did you mean '{}'?)", names[i]);
      break;
    }
  return Status::Usage(
      fmt::format("unknown assigner '{}'{}; known: {} (aliases and presets: `assignscope list`)", name, hint, list));
}

std::string AssignerChoice::label() const {
  if (!info) return "";
  return preset ? info->name + "+" + preset->name : info->name;
}

Result<const Preset*> find_preset(const AssignerInfo& info, const std::string& name) {
  std::vector<std::string> names;
  for (const Preset& p : info.presets) {
    if (p.name == name) return &p;
    names.push_back(p.name);
  }
  if (names.empty())
    return Status::Usage(fmt::format("assigner {} has no presets; set parameters with --set", info.name));
  std::string list, hint = did_you_mean(name, names);
  for (const std::string& n : names) {
    list += (list.empty() ? "" : ", ") + n;
    if (hint.empty() && !name.empty() && n.rfind(name, 0) == 0) hint = fmt::format(" (did you mean '{}'?)", n);
  }
  return Status::Usage(fmt::format("assigner {} has no preset '{}'{}; its presets: {}", info.name, name, hint, list));
}

Result<AssignerChoice> resolve_assigner(const std::string& typed) {
  AssignerChoice choice;
  // name+preset
  if (const size_t plus = typed.find('+'); plus != std::string::npos) {
    choice.info = find_assigner(typed.substr(0, plus));
    if (!choice.info) return unknown_assigner(typed);
    auto preset = find_preset(*choice.info, typed.substr(plus + 1));
    if (!preset.ok()) return preset.status();
    choice.preset = *preset;
    return choice;
  }
  if ((choice.info = find_assigner(typed))) return choice;
  // Aliases are model names and spelt as people spell them: YOLOv8, RTMDet, DETR.
  const std::string folded = lowered(typed);
  for (const AssignerInfo& info : registry()) {
    for (const std::string& a : info.aliases)
      if (a == folded) return AssignerChoice{&info, nullptr};
    for (const Preset& p : info.presets)
      for (const std::string& a : p.aliases)
        if (a == folded) return AssignerChoice{&info, &p};
  }
  // A class name: the one registered for any syntax, else the dict form (a
  // config's `type`).
  const AssignerInfo* by_class = nullptr;
  for (const AssignerInfo& info : registry())
    for (const ClassName& c : info.class_names)
      if (c.name == typed && (c.syntax != ClassName::Syntax::kCall) && !by_class) by_class = &info;
  if (by_class) return AssignerChoice{by_class, nullptr};
  return unknown_assigner(typed);
}

Params choice_params(const AssignerChoice& choice) {
  Params params(choice.info->params);
  if (choice.preset) {
    const Status st = params.set_all(nlohmann::json::parse(choice.preset->params));
    assert(st.ok() && "a preset's parameters are valid");
    (void)st;
  }
  return params;
}

Status validate_params(const AssignerInfo& info, const Params& params, std::vector<std::string>* warnings) {
  std::vector<std::string> ignored;
  return info.validate ? info.validate(params, warnings ? warnings : &ignored) : Status();
}

int compare_versions(const std::string& a, const std::string& b) {
  const auto parts = [](const std::string& v) {
    std::vector<int64_t> out;
    size_t i = 0;
    while (i < v.size()) {
      if (!std::isdigit(static_cast<unsigned char>(v[i]))) break;
      int64_t n = 0;
      while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i])) && n < (int64_t{1} << 40))
        n = n * 10 + (v[i++] - '0');
      out.push_back(n);
      if (i < v.size() && v[i] == '.') ++i;
      else break;
    }
    return out;
  };
  const std::vector<int64_t> x = parts(a), y = parts(b);
  for (size_t i = 0; i < std::max(x.size(), y.size()); ++i) {
    const int64_t p = i < x.size() ? x[i] : 0, q = i < y.size() ? y[i] : 0;
    if (p != q) return p < q ? -1 : 1;
  }
  return 0;
}

std::vector<FrameworkRange> replayed_versions(const AssignerInfo& info, const Params& params) {
  return info.replays ? info.replays(params) : std::vector<FrameworkRange>{};
}

std::string version_warning(const AssignerInfo& info, const Params& params, const Meta& meta) {
  if (meta.framework.empty() || meta.framework_version.empty()) return "";
  const std::vector<FrameworkRange> ranges = replayed_versions(info, params);
  bool same_framework = false;
  std::string known;
  for (const FrameworkRange& r : ranges) {
    if (r.framework != meta.framework) continue;
    same_framework = true;
    known += (known.empty() ? "" : ", ") + r.text;
    if ((r.min.empty() || compare_versions(meta.framework_version, r.min) >= 0) &&
        (r.max.empty() || compare_versions(meta.framework_version, r.max) < 0))
      return "";
  }
  if (!same_framework) return "";
  return fmt::format("the dump comes from {} {}, but {} with {} replays {}{}", meta.framework, meta.framework_version,
                     info.name, params.to_string().empty() ? "these parameters" : params.to_string(), known,
                     info.presets.empty() ? "" : " (see its presets in `assignscope list " + info.name + "`)");
}

ParamSpec search_param() {
  return {"search",
          ParamType::kString,
          std::string("sparse"),
          "sparse: cost only the (prior, GT) pairs that can matter; dense: cost every pair, as the reference does. "
          "Same result (a cross-check)",
          std::nullopt,
          std::nullopt,
          {"sparse", "dense"}};
}

bool sparse_search(const Params& params) { return params.get_string("search") == "sparse"; }

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
  if (problem.background_column && !info.accepts_background_column) {
    bool reads_scores = false;
    for (const Need& need : info.needs)
      reads_scores |= std::find(need.begin(), need.end(), Field::kClsScores) != need.end();
    if (reads_scores)
      return Status::InvalidInput(fmt::format(
          "field 'cls_scores' has C + 1 = {} columns with meta num_classes = {}: a softmax head's scores with a "
          "\"no object\" column; assigner {} takes sigmoid logits [N, C]",
          problem.cls_scores.cols(), problem.num_classes(), info.name));
  }
  for (const Need& need : info.needs) {
    if (std::any_of(need.begin(), need.end(), [&](Field f) { return problem.has(f); })) continue;
    if (problem.strideless_priors && info.accepts_zero_stride_priors &&
        std::find(need.begin(), need.end(), Field::kPriors) != need.end())
      continue;
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
    // Ignore boxes are tested against every anchor (IoF): bounded as the GT pairs are.
    if (p.num_priors() > 0 && p.gt_bboxes_ignore.rows() > kMaxPriorGtPairs / p.num_priors())
      return Status::Unsupported(
          fmt::format("{}{}: N x K = {} x {} (prior, ignore box) pairs is more than this version handles ({})",
                      batch.source, p.name.empty() ? "" : " image " + p.name, p.num_priors(), p.gt_bboxes_ignore.rows(),
                      kMaxPriorGtPairs));
    // The cost tables are dense over (prior, GT) for now: refuse sizes whose
    // tables would not fit, rather than exhausting memory.
    if (!info.bounds_own_pairs && p.num_priors() > 0 && p.num_gts() > kMaxPriorGtPairs / p.num_priors())
      return Status::Unsupported(
          fmt::format("{}{}: N x G = {} x {} (prior, GT) pairs is more than this version handles ({}); "
                      "split the image or drop GTs",
                      batch.source, p.name.empty() ? "" : " image " + p.name, p.num_priors(), p.num_gts(),
                      kMaxPriorGtPairs));
    if (const int64_t inside = geometry::centre_inside_pairs(p); inside > kMaxInsidePairs)
      return Status::Unsupported(fmt::format(
          "{}{}: prior centres lie inside GT boxes {} times ({} priors, {} GTs: many large, overlapping or repeated "
          "GTs), more (prior, GT) pairs to cost than this version handles ({}); split the image or drop GTs",
          batch.source, p.name.empty() ? "" : " image " + p.name, inside, p.num_priors(), p.num_gts(),
          kMaxInsidePairs));
  }
  const std::unique_ptr<Assigner> assigner = info.make(params);  // const, shared by the workers
  const auto total = static_cast<int64_t>(batch.images.size());
  std::vector<Assignment> results(batch.images.size());
  try {
    parallel_for(
        batch.images.size(), options.threads, [&](size_t i) { results[i] = assigner->assign(batch.images[i]); },
        [&](size_t finished) {
          if (options.progress) options.progress(static_cast<int64_t>(finished), total);
        });
  } catch (const std::bad_alloc&) {
    // The sizes an input implies are bounded before replaying; what remains
    // (a replay's own records outgrowing a memory limit) is said, not crashed on.
    const io::MemoryBudget budget = io::available_memory();
    return Status::Unsupported(fmt::format("{}: replaying {} ran out of memory ({} MiB available, {})", batch.source,
                                           info.name, budget.bytes / (1 << 20), budget.source));
  }
  return results;
}

}  // namespace assignscope::assign
