// The per-GT table people read in a terminal.
#include <algorithm>

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

std::string image_table(const Problem& p, const Assignment& a, const analysis::ImageStats& s) {
  std::string out = fmt::format("{} priors in {} level{}{} · {} classes · {} GTs\n", p.num_priors(), p.num_levels(),
                                p.num_levels() == 1 ? "" : "s", strides_of(p), p.num_classes(), p.num_gts());
  if (s.num_gts > 0) {
    const bool has_k = a.dynamic_ks.has_value();
    const bool has_plan = a.transport_plan.has_value();
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> head = {"gt", "label", "box (x1, y1, x2, y2)", "cand"};
    if (has_k) head.push_back("k");
    if (has_plan) head.push_back("mass");
    for (const char* h : {"picked", "pos", "lost (to gt)", "IoU mean", "IoU max", "levels (level:pos)"}) head.push_back(h);
    rows.push_back(head);
    for (const analysis::GtStats& g : s.gts) {
      std::vector<std::string> r = {
          std::to_string(g.index), std::to_string(g.label),
          fmt::format("{:.1f}, {:.1f}, {:.1f}, {:.1f}", g.box[0], g.box[1], g.box[2], g.box[3]),
          std::to_string(g.candidates)};
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
      r.push_back(g.positives && s.has_overlaps ? fmt::format("{:.3f}", g.iou_mean) : "-");
      r.push_back(g.positives && s.has_overlaps ? fmt::format("{:.3f}", g.iou_max) : "-");
      std::string levels;
      for (size_t l = 0; l < g.positives_per_level.size(); ++l)
        if (g.positives_per_level[l]) levels += (levels.empty() ? "" : " ") + fmt::format("{}:{}", l, g.positives_per_level[l]);
      r.push_back(levels.empty() ? "-" : levels);
      rows.push_back(std::move(r));
    }
    std::vector<bool> left(rows[0].size(), false);
    left[2] = true;
    left[left.size() - 4] = true;  // lost (to gt)
    left.back() = true;
    out += layout(rows, left);
  }
  std::string starved;
  for (size_t i = 0; i < s.starved_gts.size() && i < 10; ++i) starved += fmt::format("{}#{}", i ? " " : " (", s.starved_gts[i]);
  if (!s.starved_gts.empty()) starved += s.starved_gts.size() > 10 ? " ...)" : ")";
  std::string per_level;
  for (const analysis::LevelStats& l : s.levels) per_level += fmt::format("{}{}", per_level.empty() ? "" : " ", l.positives);
  out += fmt::format("positives {} · negatives {} · ignored {} · starved GTs {}{} · positives per level [{}]\n",
                     s.positives, s.negatives, s.ignored, s.starved_gts.size(), starved, per_level);
  if (s.to_padding > 0) out += fmt::format("{} positives went to padding GT columns\n", s.to_padding);
  if (s.matches >= 0)
    out += fmt::format("matches {} (prior, GT) pairs · {} priors serve several GTs\n", s.matches,
                       s.priors_serving_several);
  for (const std::string& note : a.notes) out += "note: " + note + "\n";
  return out;
}

}  // namespace

std::string table(const Batch& batch, const std::vector<Assignment>& results) {
  std::string out;
  if (results.empty()) return out;
  out += fmt::format("{} · {}\n", results[0].assigner, results[0].params.to_string());
  int64_t pos = 0, neg = 0, ign = 0, starved = 0, gts = 0;
  for (size_t b = 0; b < results.size(); ++b) {
    const Problem& p = batch.images[b];
    if (batch.is_batch) out += fmt::format("\nimage {}{}\n", b, p.name.empty() || p.name == std::to_string(b) ? "" : " (" + p.name + ")");
    const analysis::ImageStats s = analysis::compute_stats(p, results[b]);
    out += image_table(p, results[b], s);
    pos += s.positives, neg += s.negatives, ign += s.ignored, gts += s.num_gts;
    starved += static_cast<int64_t>(s.starved_gts.size());
  }
  if (batch.is_batch)
    out += fmt::format("\nbatch: {} images · {} GTs · positives {} · negatives {} · ignored {} · starved GTs {}\n",
                       results.size(), gts, pos, neg, ign, starved);
  return out;
}

}  // namespace assignscope::render
