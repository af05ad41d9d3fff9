// The per-GT table people read in a terminal.
#include <algorithm>
#include <array>
#include <map>

#include <fmt/format.h>

#include "analysis/stats.h"
#include "render/render.h"

namespace assignscope::render {
namespace {

// Columns right-aligned except those marked left.
std::string layout(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& left) {
  std::vector<size_t> width(rows.empty() ? 0 : rows[0].size(), 0);
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  std::string out;
  for (const auto& r : rows) {
    std::string line = " ";
    for (size_t c = 0; c < r.size(); ++c) {
      line += ' ';
      line += left[c] ? fmt::format("{:<{}}", r[c], width[c]) : fmt::format("{:>{}}", r[c], width[c]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string strides_of(const Problem& p) {
  std::string s;
  int64_t start = 0;
  for (int64_t count : p.num_level_priors) {
    if (count > 0 && p.has(Field::kPriors))
      s += (s.empty() ? "" : ", ") + fmt::format("{:g}", p.priors(start, 2));
    start += count;
  }
  return s.empty() ? "" : " (strides " + s + ")";
}

// "per level: 0: 23 pos, 5 GTs (4.6/GT) · 1: ..."
std::string levels_line(const std::vector<analysis::LevelStats>& levels) {
  std::string out;
  for (const analysis::LevelStats& l : levels)
    out += fmt::format("{}{}: {} pos, {} GT{}", out.empty() ? "" : " · ", l.level, l.positives, l.gts_served,
                       l.gts_served == 1 ? "" : "s") +
           (l.gts_served > 0 ? fmt::format(" ({:.1f}/GT)", l.positives_per_gt()) : "");
  return out.empty() ? "" : "per level: " + out + "\n";
}

std::string group_text(const analysis::GroupStats& g) {
  return fmt::format("{} GT{} {} pos{}", g.gts, g.gts == 1 ? "" : "s", g.positives,
                     g.starved > 0 ? fmt::format(" {} starved", g.starved) : "");
}

// "per scale: small 3 GTs 12 pos 1 starved · ..." and the same per class
// (the first kClassesShown classes by label).
std::string groups_lines(const std::array<analysis::GroupStats, analysis::kNumScales>& scales,
                         const std::map<int64_t, analysis::GroupStats>& classes) {
  constexpr size_t kClassesShown = 12;
  std::string by_scale, by_class;
  for (int k = 0; k < analysis::kNumScales; ++k)
    if (scales[k].gts > 0)
      by_scale += fmt::format("{}{} {}", by_scale.empty() ? "" : " · ", analysis::scale_name(analysis::Scale(k)),
                              group_text(scales[k]));
  size_t shown = 0;
  for (const auto& [label, g] : classes) {
    if (shown++ == kClassesShown) {
      by_class += fmt::format(" · ... {} more classes", classes.size() - kClassesShown);
      break;
    }
    by_class += fmt::format("{}class {}: {}", by_class.empty() ? "" : " · ", label, group_text(g));
  }
  std::string out;
  if (!by_scale.empty()) out += "per scale: " + by_scale + "\n";
  if (!by_class.empty()) out += "per class: " + by_class + "\n";
  return out;
}

std::string image_table(const Problem& p, const Assignment& a, const analysis::ImageStats& s) {
  std::string out = fmt::format("{} priors in {} level{}{} · {} classes · {} GTs\n", p.num_priors(), p.num_levels(),
                                p.num_levels() == 1 ? "" : "s", strides_of(p), p.num_classes(), p.num_gts());
  if (s.num_gts > 0) {
    const bool has_k = a.dynamic_ks.has_value();
    const bool has_plan = a.transport_plan.has_value();
    std::vector<std::vector<std::string>> rows;
    const auto any = [&](auto has) { return std::any_of(s.gts.begin(), s.gts.end(), has); };
    const bool has_cost = any([](const analysis::GtStats& g) { return !g.cost.empty(); });
    const bool has_distance = any([](const analysis::GtStats& g) { return !g.centre_distance.empty(); });
    const bool has_soft = any([](const analysis::GtStats& g) { return g.soft_target_sum.has_value(); });
    std::vector<std::string> head = {"gt", "label", "box (x1, y1, x2, y2)", "scale", "cand"};
    if (has_k) head.push_back("k");
    if (has_plan) head.push_back("mass");
    for (const char* h : {"picked", "pos", "lost (to gt)", "IoU mean", "IoU max"}) head.push_back(h);
    if (has_cost) head.push_back("cost");
    if (has_distance) head.push_back("dist");
    if (has_soft) head.push_back("soft");
    head.push_back("levels (level:pos)");
    rows.push_back(head);
    for (const analysis::GtStats& g : s.gts) {
      std::vector<std::string> r = {
          std::to_string(g.index), std::to_string(g.label),
          fmt::format("{:.1f}, {:.1f}, {:.1f}, {:.1f}", g.box[0], g.box[1], g.box[2], g.box[3]),
          analysis::scale_name(g.scale), std::to_string(g.candidates)};
      if (has_k) r.push_back(std::to_string(g.dynamic_k));
      if (has_plan) r.push_back(fmt::format("{:.2f}", g.plan_mass));
      r.push_back(std::to_string(g.picked));
      r.push_back(g.starved() ? "0 STARVED" : std::to_string(g.positives));
      std::string lost = std::to_string(g.lost);
      if (!g.lost_to.empty()) {
        std::string to;
        for (size_t i = 0; i < g.lost_to.size() && i < 3; ++i) {
          const int64_t other = g.lost_to[i].first;
          to += (i ? " " : "") +
                (other == analysis::kBackground ? std::string("bg")
                 : other >= s.num_gts          ? fmt::format("pad{}", other - s.num_gts)
                                               : fmt::format("#{}", other)) +
                (g.lost_to[i].second > 1 ? fmt::format("x{}", g.lost_to[i].second) : "");
        }
        if (g.lost_to.size() > 3) to += " ...";
        lost += " (" + to + ")";
      }
      r.push_back(lost);
      r.push_back(g.iou.empty() ? "-" : fmt::format("{:.3f}", g.iou.mean));
      r.push_back(g.iou.empty() ? "-" : fmt::format("{:.3f}", g.iou.max));
      if (has_cost) r.push_back(g.cost.empty() ? "-" : fmt::format("{:.3g}", g.cost.mean));
      if (has_distance) r.push_back(g.centre_distance.empty() ? "-" : fmt::format("{:.2f}", g.centre_distance.mean));
      if (has_soft) r.push_back(g.soft_target_sum ? fmt::format("{:.3f}", *g.soft_target_sum) : "-");
      std::string levels;
      for (size_t l = 0; l < g.positives_per_level.size(); ++l)
        if (g.positives_per_level[l]) levels += (levels.empty() ? "" : " ") + fmt::format("{}:{}", l, g.positives_per_level[l]);
      r.push_back(levels.empty() ? "-" : levels);
      rows.push_back(std::move(r));
    }
    std::vector<bool> left(rows[0].size(), false);
    left[2] = left[3] = true;      // box, scale
    left[std::find(head.begin(), head.end(), "lost (to gt)") - head.begin()] = true;
    left.back() = true;
    out += layout(rows, left);
  }
  std::string starved;
  for (size_t i = 0; i < s.starved_gts.size() && i < 10; ++i) starved += fmt::format("{}#{}", i ? " " : " (", s.starved_gts[i]);
  if (!s.starved_gts.empty()) starved += s.starved_gts.size() > 10 ? " ...)" : ")";
  out += fmt::format("positives {} · negatives {} · ignored {} · starved GTs {}{}\n", s.positives, s.negatives,
                     s.ignored, s.starved_gts.size(), starved);
  out += levels_line(s.levels) + groups_lines(s.scales, s.classes);
  if (s.to_padding > 0) out += fmt::format("{} positives went to padding GT columns\n", s.to_padding);
  if (s.matches >= 0)
    out += fmt::format("matches {} (prior, GT) pairs · {} priors serve several GTs\n", s.matches,
                       s.priors_serving_several);
  for (const std::string& warning : a.warnings) out += "warning: " + warning + "\n";
  for (const std::string& note : a.notes) out += "note: " + note + "\n";
  return out;
}

}  // namespace

std::string table(const Batch& batch, const std::vector<Assignment>& results) {
  std::string out;
  if (results.empty()) return out;
  out += fmt::format("{} · {}\n", results[0].assigner, results[0].params.to_string());
  const analysis::BatchStats stats = analysis::compute_batch_stats(batch, results);
  for (size_t b = 0; b < results.size(); ++b) {
    const Problem& p = batch.images[b];
    if (batch.is_batch) out += fmt::format("\nimage {}{}\n", b, p.name.empty() || p.name == std::to_string(b) ? "" : " (" + p.name + ")");
    out += image_table(p, results[b], stats.images[b]);
  }
  if (batch.is_batch) {
    out += fmt::format("\nbatch: {} images · {} GTs · positives {} · negatives {} · ignored {} · starved GTs {}\n",
                       results.size(), stats.gts, stats.positives, stats.negatives, stats.ignored, stats.starved);
    out += levels_line(stats.levels) + groups_lines(stats.scales, stats.classes);
  }
  return out;
}

}  // namespace assignscope::render
