// The JSON result (schema assignscope.result/1, documented in docs/cli.md).
#include <array>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "analysis/stats.h"
#include "assignscope/version.h"
#include "render/render.h"
#include "render/soft_targets.h"

namespace assignscope::render {

using ojson = nlohmann::ordered_json;

ojson json_float(float v) {
  if (!std::isfinite(v)) return nullptr;  // JSON has no NaN/Inf
  return std::stod(fmt::format("{}", v));
}

namespace {

ojson summary_json(const analysis::Summary& v) {
  if (v.empty()) return nullptr;
  return {{"min", json_float(static_cast<float>(v.min))},
          {"mean", json_float(static_cast<float>(v.mean))},
          {"max", json_float(static_cast<float>(v.max))}};
}

ojson group_json(const analysis::GroupStats& g) {
  return {{"gts", g.gts}, {"positives", g.positives}, {"starved", g.starved}};
}

ojson levels_json(const std::vector<analysis::LevelStats>& levels) {
  ojson out = ojson::array();
  for (const analysis::LevelStats& l : levels)
    out.push_back({{"level", l.level},
                   {"priors", l.priors},
                   {"positives", l.positives},
                   {"gts_served", l.gts_served},
                   {"positives_per_gt", json_float(static_cast<float>(l.positives_per_gt()))}});
  return out;
}

// "per_class": [{"label": 3, ...}], "per_scale": {"small": {...}, ...}
void add_groups(const std::map<int64_t, analysis::GroupStats>& classes,
                const std::array<analysis::GroupStats, analysis::kNumScales>& scales, ojson* summary) {
  ojson by_class = ojson::array();
  for (const auto& [label, g] : classes) {
    ojson j = {{"label", label}};
    j.update(group_json(g));
    by_class.push_back(std::move(j));
  }
  ojson by_scale = ojson::object();
  for (int k = 0; k < analysis::kNumScales; ++k)
    by_scale[analysis::scale_name(analysis::Scale(k))] = group_json(scales[k]);
  (*summary)["per_class"] = std::move(by_class);
  (*summary)["per_scale"] = std::move(by_scale);
}

// An image's "summary": its counts, then per class and per scale.
ojson image_summary_json(const analysis::ImageStats& s) {
  ojson summary = {{"positives", s.positives},
                   {"negatives", s.negatives},
                   {"ignored", s.ignored},
                   {"starved_gts", s.starved_gts}};
  if (s.to_padding > 0) summary["to_padding"] = s.to_padding;
  if (s.matches >= 0) {
    summary["matches"] = s.matches;
    summary["priors_serving_several_gts"] = s.priors_serving_several;
  }
  add_groups(s.classes, s.scales, &summary);
  return summary;
}

// One entry of "gts"; `cost_terms` names g.terms.
ojson gt_json(const analysis::GtStats& g, const std::vector<std::string>& cost_terms) {
  ojson lost_to = ojson::array();
  for (const auto& [other, count] : g.lost_to) lost_to.push_back({{"gt", other}, {"count", count}});
  ojson j;
  j["index"] = g.index;
  j["label"] = g.label;
  j["box"] = {json_float(g.box[0]), json_float(g.box[1]), json_float(g.box[2]), json_float(g.box[3])};
  j["area"] = json_float(static_cast<float>(g.area));
  j["scale"] = analysis::scale_name(g.scale);
  j["dynamic_k"] = g.dynamic_k >= 0 ? ojson(g.dynamic_k) : ojson(nullptr);
  j["plan_mass"] = g.plan_mass >= 0 ? ojson(json_float(static_cast<float>(g.plan_mass))) : ojson(nullptr);
  j["candidates"] = g.candidates;
  j["picked"] = g.picked;
  j["positives"] = g.positives;
  j["lost"] = g.lost;
  j["lost_to"] = lost_to;
  j["iou"] = summary_json(g.iou);
  j["cost"] = summary_json(g.cost);
  ojson terms = ojson::object();
  for (size_t t = 0; t < g.terms.size() && !g.cost.empty(); ++t) terms[cost_terms[t]] = summary_json(g.terms[t]);
  j["cost_terms"] = g.cost.empty() ? ojson(nullptr) : std::move(terms);
  j["centre_distance"] = summary_json(g.centre_distance);
  j["soft_target_sum"] = g.soft_target_sum ? json_float(static_cast<float>(*g.soft_target_sum)) : ojson(nullptr);
  j["positives_per_level"] = g.positives_per_level;
  j["starved"] = g.starved();
  return j;
}

// "positives": every positive prior with its GT, label, overlap and level
// (and its soft target, soft label and weight where the assigner writes them).
ojson positives_json(const Problem& p, const Assignment& a) {
  ojson positives = ojson::array();
  for (int64_t i = 0; i < a.num_priors(); ++i) {
    if (a.gt_inds[i] <= 0) continue;
    ojson pos = {{"prior", i},
                 {"gt", a.gt_inds[i] - 1},
                 {"label", a.labels[i]},
                 {"overlap", a.max_overlaps.empty() ? ojson(nullptr) : json_float(a.max_overlaps[i])},
                 {"level", p.prior_level[i]}};
    if (a.assign_metrics) pos["assign_metric"] = json_float((*a.assign_metrics)[i]);
    if (a.soft_labels && a.soft_weights) {  // O2F: the GT's best positive, or an ambiguous one
      pos["soft_label"] = json_float((*a.soft_labels)[i]);
      pos["soft_weight"] = json_float((*a.soft_weights)[i]);
      pos["best"] = soft_role(a, i) == SoftRole::kBest;
    }
    positives.push_back(std::move(pos));
  }
  return positives;
}

// --include priors: the dense per-prior arrays, all N long.
ojson priors_json(const Assignment& a) {
  ojson overlaps = a.max_overlaps.empty() ? ojson(nullptr) : ojson::array();
  for (float v : a.max_overlaps) overlaps.push_back(json_float(v));
  ojson priors = {{"assigned_gt_inds", a.gt_inds}, {"assigned_labels", a.labels}, {"max_overlaps", overlaps}};
  for (const auto& [name, values] :
       {std::pair{"assign_metrics", &a.assign_metrics}, std::pair{"assign_metrics_raw", &a.assign_metrics_raw},
        std::pair{"soft_labels", &a.soft_labels}, std::pair{"soft_weights", &a.soft_weights}}) {
    if (!*values) continue;
    ojson array = ojson::array();
    for (float v : **values) array.push_back(json_float(v));
    priors[name] = std::move(array);
  }
  return priors;
}

// --include candidates: every (prior, GT) pair the assigner recorded, with its
// cost terms.
ojson candidates_json(const Assignment& a) {
  ojson pairs = ojson::array();
  for (const CandidatePair& c : a.candidates) {
    ojson terms = ojson::object();
    for (size_t t = 0; t < a.cost_terms.size(); ++t) terms[a.cost_terms[t]] = json_float(c.terms[t]);
    pairs.push_back({{"prior", c.prior},
                     {"gt", c.gt},
                     {"cost", json_float(c.cost)},
                     {"terms", terms},
                     {"iou", json_float(c.iou)},
                     {"inside", c.inside},
                     {"picked", c.picked},
                     {"assigned", a.gt_inds[c.prior] == c.gt + 1}});
  }
  return pairs;
}

ojson image_json(const Problem& p, const Assignment& a, const analysis::ImageStats& s, const JsonOptions& options) {
  ojson img;
  img["name"] = p.name;
  img["num_priors"] = p.num_priors();
  img["num_gts"] = p.num_gts();
  img["num_classes"] = p.num_classes();
  img["num_levels"] = p.num_levels();
  img["levels_inferred"] = p.levels_inferred;  // from runs of equal stride: the dump had no num_level_priors
  img["predictions"] = p.preds_from_distances      ? ojson("pred_distances")
                       : p.has(Field::kPredBboxes) ? ojson("pred_bboxes")
                                                   : ojson(nullptr);
  img["summary"] = image_summary_json(s);
  img["levels"] = levels_json(s.levels);
  ojson gts = ojson::array();
  for (const analysis::GtStats& g : s.gts) gts.push_back(gt_json(g, s.cost_terms));
  img["gts"] = std::move(gts);
  img["positives"] = positives_json(p, a);
  if (a.matches) {
    ojson matches = ojson::array();
    for (const Match& m : *a.matches)
      matches.push_back({{"prior", m.prior}, {"gt", m.gt}, {"level", p.prior_level[m.prior]}});
    img["matches"] = std::move(matches);
  }
  img["notes"] = a.notes;
  img["warnings"] = a.warnings;
  if (options.per_prior) {
    img["priors"] = priors_json(a);
    if (a.dynamic_ks) img["dynamic_ks"] = *a.dynamic_ks;
  }
  if (options.candidates) {
    img["cost_terms"] = a.cost_terms;
    img["candidates"] = candidates_json(a);
  }
  return img;
}

}  // namespace

ojson json(const Batch& batch, const std::vector<Assignment>& results, const JsonOptions& options) {
  ojson out;
  out["schema"] = kResultSchema;
  out["tool"] = {{"name", "assignscope"}, {"version", ASSIGNSCOPE_VERSION}};
  out["assigner"] = results.empty() ? "" : results[0].assigner;
  out["params"] = results.empty() ? ojson::object() : results[0].params.to_json();
  out["source"] = batch.source;
  out["batch"] = batch.is_batch;
  const analysis::BatchStats stats = analysis::compute_batch_stats(batch, results);
  ojson images = ojson::array();
  for (size_t b = 0; b < results.size(); ++b)
    images.push_back(image_json(batch.images[b], results[b], stats.images[b], options));
  out["images"] = std::move(images);
  out["summary"] = {{"images", results.size()},     {"gts", stats.gts},         {"positives", stats.positives},
                    {"negatives", stats.negatives}, {"ignored", stats.ignored}, {"starved_gts", stats.starved}};
  if (stats.to_padding > 0) out["summary"]["to_padding"] = stats.to_padding;
  add_groups(stats.classes, stats.scales, &out["summary"]);
  out["summary"]["levels"] = stats.levels.empty() && !results.empty() ? ojson(nullptr) : levels_json(stats.levels);
  return out;
}

}  // namespace assignscope::render
