// The per-GT table people read in a terminal.
#include <algorithm>
#include <array>
#include <cstdint>
#include <map>

#include <fmt/format.h>

#include "analysis/stats.h"
#include "render/render.h"
#include "render/soft_targets.h"

namespace assignscope::render {

size_t utf8_length_at(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  uint32_t cp = 0;
  if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1Fu;
  else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0Fu;
  else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07u;
  else return 0;
  if (i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0u) != 0x80u) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3Fu);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

std::string for_terminal(std::string_view text) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t n = utf8_length_at(text, i);
    if (n == 1 && c >= 0x20 && c < 0x7f) {
      out += text[i++];
      continue;
    }
    if (n <= 1) {  // a C0 control, DEL, or a byte that starts no UTF-8
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
      ++i;
      continue;
    }
    uint32_t cp = c & (n == 2 ? 0x1Fu : n == 3 ? 0x0Fu : 0x07u);
    for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3Fu);
    // C1 controls (U+009B is a CSI), bidirectional marks, embeddings,
    // overrides and isolates (U+061C, U+200E-F, U+202A-E, U+2066-9).
    if (cp <= 0x9F || cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
        (cp >= 0x2066 && cp <= 0x2069)) {
      out += fmt::format("\\u{:04x}", cp);
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

namespace {

// "1 GT", "12 GTs".
std::string count(int64_t n, const char* one, const char* many) { return fmt::format("{} {}", n, n == 1 ? one : many); }

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
    if (count > 0 && p.has(Field::kPriors)) s += (s.empty() ? "" : ", ") + fmt::format("{:g}", p.priors(start, 2));
    start += count;
  }
  return s.empty() ? "" : " (strides " + s + ")";
}

// "per level: 0: 23 pos, 5 GTs (4.6/GT) · 1: ..."
std::string levels_line(const std::vector<analysis::LevelStats>& levels) {
  std::string out;
  for (const analysis::LevelStats& l : levels)
    out += fmt::format("{}{}: {} pos, {}", out.empty() ? "" : " · ", l.level, l.positives,
                       count(l.gts_served, "GT", "GTs")) +
           (l.gts_served > 0 ? fmt::format(" ({:.1f}/GT)", l.positives_per_gt()) : "");
  return out.empty() ? "" : "per level: " + out + "\n";
}

std::string group_text(const analysis::GroupStats& g) {
  return fmt::format("{} {} pos{}", count(g.gts, "GT", "GTs"), g.positives,
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
      by_class += " · ... " + count(static_cast<int64_t>(classes.size() - kClassesShown), "more class", "more classes");
      break;
    }
    by_class += fmt::format("{}class {}: {}", by_class.empty() ? "" : " · ", label, group_text(g));
  }
  std::string out;
  if (!by_scale.empty()) out += "per scale: " + by_scale + "\n";
  if (!by_class.empty()) out += "per class: " + by_class + "\n";
  return out;
}

// O2F: per GT, its best positive and the range of its ambiguous positives'
// soft labels, "#417 · 6 at 0.08-0.20"; "-" without positives.
std::vector<std::string> soft_label_cells(const Assignment& a, int64_t num_gts) {
  struct Soft {
    int64_t best = -1, ambiguous = 0;
    float lo = 0, hi = 0;
  };
  std::vector<Soft> soft(static_cast<size_t>(num_gts));
  for (int64_t i = 0; i < a.num_priors(); ++i) {
    const int64_t g = a.gt_inds[static_cast<size_t>(i)] - 1;
    if (g < 0 || g >= num_gts) continue;
    Soft& e = soft[static_cast<size_t>(g)];
    const float v = (*a.soft_labels)[static_cast<size_t>(i)];
    if (soft_role(a, i) == SoftRole::kBest) {
      e.best = i;
    } else {
      e.lo = e.ambiguous ? std::min(e.lo, v) : v;
      e.hi = e.ambiguous ? std::max(e.hi, v) : v;
      ++e.ambiguous;
    }
  }
  std::vector<std::string> cells;
  for (const Soft& e : soft) {
    std::string cell = e.best >= 0 ? fmt::format("#{}", e.best) : std::string(e.ambiguous ? "" : "-");
    if (e.ambiguous)
      cell += fmt::format("{}{} at {:.2f}{}", cell.empty() ? "" : " · ", e.ambiguous, e.lo,
                          e.lo == e.hi ? "" : fmt::format("-{:.2f}", e.hi));
    cells.push_back(std::move(cell));
  }
  return cells;
}

std::string image_table(const Problem& p, const Assignment& a, const analysis::ImageStats& s) {
  std::string out = fmt::format("{} in {}{} · {} · {}\n", count(p.num_priors(), "prior", "priors"),
                                count(p.num_levels(), "level", "levels"), strides_of(p),
                                count(p.num_classes(), "class", "classes"), count(p.num_gts(), "GT", "GTs"));
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
    const std::vector<std::string> best_soft =
        a.soft_labels ? soft_label_cells(a, s.num_gts) : std::vector<std::string>{};
    if (a.soft_labels) head.push_back("best (soft)");
    head.push_back("levels (level:pos)");
    rows.push_back(head);
    for (const analysis::GtStats& g : s.gts) {
      std::vector<std::string> r = {std::to_string(g.index), std::to_string(g.label),
                                    fmt::format("{:.1f}, {:.1f}, {:.1f}, {:.1f}", g.box[0], g.box[1], g.box[2],
                                                g.box[3]),
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
                 : other >= s.num_gts           ? fmt::format("pad{}", other - s.num_gts)
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
      if (a.soft_labels) r.push_back(best_soft[static_cast<size_t>(g.index)]);
      std::string levels;
      for (size_t l = 0; l < g.positives_per_level.size(); ++l)
        if (g.positives_per_level[l])
          levels += (levels.empty() ? "" : " ") + fmt::format("{}:{}", l, g.positives_per_level[l]);
      r.push_back(levels.empty() ? "-" : levels);
      rows.push_back(std::move(r));
    }
    std::vector<bool> left(rows[0].size(), false);
    left[2] = left[3] = true;  // box, scale
    left[std::find(head.begin(), head.end(), "lost (to gt)") - head.begin()] = true;
    if (a.soft_labels) left[std::find(head.begin(), head.end(), "best (soft)") - head.begin()] = true;
    left.back() = true;
    out += layout(rows, left);
  }
  std::string starved;
  for (size_t i = 0; i < s.starved_gts.size() && i < 10; ++i)
    starved += fmt::format("{}#{}", i ? " " : " (", s.starved_gts[i]);
  if (!s.starved_gts.empty()) starved += s.starved_gts.size() > 10 ? " ...)" : ")";
  out += fmt::format("positives {} · negatives {} · ignored {} · starved GTs {}{}\n", s.positives, s.negatives,
                     s.ignored, s.starved_gts.size(), starved);
  out += levels_line(s.levels) + groups_lines(s.scales, s.classes);
  if (s.to_padding > 0)
    out += s.to_padding == 1 ? "1 positive went to a padding GT column\n"
                             : fmt::format("{} positives went to padding GT columns\n", s.to_padding);
  if (s.matches >= 0)
    out += fmt::format("matches {} (prior, GT) pair{} · {} several GTs\n", s.matches, s.matches == 1 ? "" : "s",
                       s.priors_serving_several == 1 ? "1 prior serves"
                                                     : fmt::format("{} priors serve", s.priors_serving_several));
  for (const std::string& warning : a.warnings) out += "warning: " + for_terminal(warning) + "\n";
  for (const std::string& note : a.notes) out += "note: " + for_terminal(note) + "\n";
  return out;
}

}  // namespace

std::string table(const Batch& batch, const std::vector<Assignment>& results) {
  std::string out;
  if (results.empty()) return out;
  out += for_terminal(results[0].assigner + " · " + results[0].params.to_string()) + "\n";
  const analysis::BatchStats stats = analysis::compute_batch_stats(batch, results);
  for (size_t b = 0; b < results.size(); ++b) {
    const Problem& p = batch.images[b];
    if (batch.is_batch)
      out += fmt::format("\nimage {}{}\n", b,
                         p.name.empty() || p.name == std::to_string(b) ? "" : " (" + for_terminal(p.name) + ")");
    out += image_table(p, results[b], stats.images[b]);
  }
  if (batch.is_batch) {
    out += fmt::format("\nbatch: {} · {} · positives {} · negatives {} · ignored {} · starved GTs {}\n",
                       count(static_cast<int64_t>(results.size()), "image", "images"), count(stats.gts, "GT", "GTs"),
                       stats.positives, stats.negatives, stats.ignored, stats.starved);
    out += levels_line(stats.levels) + groups_lines(stats.scales, stats.classes);
  }
  return out;
}

}  // namespace assignscope::render
