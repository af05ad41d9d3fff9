// The per-GT table as CSV (RFC 4180), one row per (image, GT), for pandas.
#include <algorithm>

#include <fmt/format.h>

#include "analysis/stats.h"
#include "render/render.h"

namespace assignscope::render {
namespace {

// A field quoted when it holds a comma, quote or line break.
std::string field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string number(double v) { return fmt::format("{}", static_cast<float>(v)); }

void add_summary(const analysis::Summary& v, std::vector<std::string>* row) {
  for (double x : {v.min, v.mean, v.max}) row->push_back(v.empty() ? "" : number(x));
}

}  // namespace

std::string csv(const Batch& batch, const std::vector<Assignment>& results) {
  const analysis::BatchStats stats = analysis::compute_batch_stats(batch, results);
  // Columns common to the batch: cost terms of the assigner, levels of the
  // image with the most.
  const std::vector<std::string> terms = results.empty() ? std::vector<std::string>{} : results[0].cost_terms;
  size_t num_levels = 0;
  for (const analysis::ImageStats& s : stats.images) num_levels = std::max(num_levels, s.levels.size());

  std::vector<std::string> head = {"image", "image_name", "gt", "label", "x1", "y1", "x2", "y2", "area", "scale",
                                   "candidates", "dynamic_k", "picked", "positives", "lost", "lost_to", "starved",
                                   "iou_min", "iou_mean", "iou_max", "cost_min", "cost_mean", "cost_max"};
  for (const std::string& t : terms)
    for (const char* part : {"min", "mean", "max"}) head.push_back(fmt::format("cost_{}_{}", t, part));
  for (const char* h : {"centre_distance_min", "centre_distance_mean", "centre_distance_max", "soft_target_sum",
                        "plan_mass"})
    head.push_back(h);
  for (size_t l = 0; l < num_levels; ++l) head.push_back(fmt::format("positives_level{}", l));

  std::string out;
  const auto emit = [&](const std::vector<std::string>& row) {
    for (size_t c = 0; c < row.size(); ++c) out += (c ? "," : "") + field(row[c]);
    out += "\n";
  };
  emit(head);
  for (size_t b = 0; b < stats.images.size(); ++b) {
    for (const analysis::GtStats& g : stats.images[b].gts) {
      std::vector<std::string> row = {std::to_string(b), batch.images[b].name, std::to_string(g.index),
                                      std::to_string(g.label)};
      for (float v : g.box) row.push_back(fmt::format("{}", v));
      row.push_back(number(g.area));
      row.push_back(analysis::scale_name(g.scale));
      row.push_back(std::to_string(g.candidates));
      row.push_back(g.dynamic_k >= 0 ? std::to_string(g.dynamic_k) : "");
      row.push_back(std::to_string(g.picked));
      row.push_back(std::to_string(g.positives));
      row.push_back(std::to_string(g.lost));
      std::string lost_to;  // "gt:count;..." with bg for the background
      for (const auto& [other, count] : g.lost_to)
        lost_to += fmt::format("{}{}:{}", lost_to.empty() ? "" : ";",
                               other == analysis::kBackground ? std::string("bg") : std::to_string(other), count);
      row.push_back(lost_to);
      row.push_back(g.starved() ? "true" : "false");
      add_summary(g.iou, &row);
      add_summary(g.cost, &row);
      for (size_t t = 0; t < terms.size(); ++t)
        add_summary(t < g.terms.size() ? g.terms[t] : analysis::Summary{}, &row);
      add_summary(g.centre_distance, &row);
      row.push_back(g.soft_target_sum ? number(*g.soft_target_sum) : "");
      row.push_back(g.plan_mass >= 0 ? number(g.plan_mass) : "");
      for (size_t l = 0; l < num_levels; ++l)
        row.push_back(l < g.positives_per_level.size() ? std::to_string(g.positives_per_level[l]) : "");
      emit(row);
    }
  }
  return out;
}

}  // namespace assignscope::render
