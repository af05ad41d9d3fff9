#include "render/trend.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "render/render.h"

namespace assignscope::render {
namespace {

using analysis::kCountBins;
using analysis::kIouBins;
using analysis::kNumScales;
using analysis::kRelativeBins;
using analysis::SizeGroup;
using analysis::Trend;
using analysis::TrendStep;

double ratio(int64_t a, int64_t b) { return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0; }

// Derived values are rounded to float32's shortest spelling in JSON and CSV:
// enough for a chart, and the same bytes wherever the exact state is equal.
nlohmann::ordered_json num(double v) { return json_float(static_cast<float>(v)); }
std::string csv_num(double v) { return fmt::format("{}", static_cast<float>(v)); }

std::vector<std::string> count_bin_names() {
  std::vector<std::string> out;
  out.reserve(kCountBins);
  for (int i = 0; i < kCountBins; ++i) out.push_back(i + 1 < kCountBins ? std::to_string(i) : fmt::format("{}+", i));
  return out;
}

std::vector<std::string> iou_bin_names() {
  std::vector<std::string> out;
  out.reserve(kIouBins);
  for (int i = 0; i < kIouBins; ++i)
    out.push_back(
        fmt::format("{:.1f}-{:.1f}", static_cast<double>(i) / kIouBins, static_cast<double>(i + 1) / kIouBins));
  return out;
}

template <size_t K>
nlohmann::ordered_json counts(const std::array<int64_t, K>& a) {
  return nlohmann::ordered_json(std::vector<int64_t>(a.begin(), a.end()));
}

nlohmann::ordered_json group_json(const SizeGroup& g) {
  return {{"gts", g.gts},
          {"positives", g.positives},
          {"starved", g.starved},
          {"positives_per_gt", num(ratio(g.positives, g.gts))},
          {"rate", num(zero_rate(g))}};
}

std::string percent(double v) { return fmt::format("{:.1f}%", 100 * v); }

}  // namespace

double zero_rate(const SizeGroup& g) { return ratio(g.starved, g.gts); }

std::vector<TrackRow> track_rows(const Trend& t) {
  std::vector<TrackRow> rows;
  for (const auto& [id, by_step] : t.tracked) {
    if (by_step.size() < 2) continue;
    size_t gts = SIZE_MAX;
    for (const auto& [step, image] : by_step) gts = std::min(gts, image.gts.size());
    for (size_t g = 0; g < gts; ++g) {
      TrackRow row;
      row.image_id = id;
      row.gt = g;
      for (const auto& [step, image] : by_step) {
        const analysis::TrackedGt& gt = image.gts[g];
        if (!row.first) row.first = &gt;
        row.box_changes = row.box_changes || gt.box != row.first->box || gt.label != row.first->label;
        row.points.emplace_back(step, &gt);
      }
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

StepView step_view(const TrendStep& s) {
  StepView v;
  v.positives_per_gt = ratio(s.positives, s.gts);
  if (s.k_gts > 0) v.k_mean = ratio(s.k_sum, s.k_gts);
  v.zero_rate = ratio(s.starved, s.gts);
  if (s.iou_count > 0) v.iou_mean = s.iou_sum.value() / static_cast<double>(s.iou_count);
  int64_t total = 0;
  for (int64_t p : s.level_positives) total += p;
  for (int64_t p : s.level_positives) v.level_share.push_back(ratio(p, total));
  for (const ExactSum& l : s.loss)
    v.loss_mean.push_back(s.loss_images > 0 ? l.value() / static_cast<double>(s.loss_images) : 0.0);
  return v;
}

nlohmann::ordered_json trend_json(const TrendRun& run, const Trend& t) {
  nlohmann::ordered_json out;
  out["schema"] = "assignscope.trend/1";
  out["assigner"] = run.assigner;
  out["params"] = run.params;
  out["loss"] = run.loss.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(run.loss);
  out["by"] = t.by;
  out["dumps"] = t.dumps;
  out["failed"] = t.failed;
  std::vector<std::string> relative;
  relative.reserve(kRelativeBins);
  for (int i = 0; i < kRelativeBins; ++i) relative.emplace_back(analysis::relative_bin_name(i));
  out["bins"] = {{"count", count_bin_names()}, {"iou", iou_bin_names()}, {"relative", relative}};
  nlohmann::ordered_json steps = nlohmann::ordered_json::array();
  for (const auto& [step, s] : t.steps) {
    const StepView v = step_view(s);
    nlohmann::ordered_json j;
    j[t.by] = step;
    j["images"] = s.images;
    j["gts"] = s.gts;
    j["positives"] = s.positives;
    j["positives_per_gt"] = num(v.positives_per_gt);
    j["positives_per_gt_histogram"] = counts(s.positives_histogram);
    j["dynamic_k"] =
        s.k_gts > 0
            ? nlohmann::ordered_json{{"gts", s.k_gts}, {"mean", num(v.k_mean)}, {"histogram", counts(s.k_histogram)}}
            : nlohmann::ordered_json();
    nlohmann::ordered_json zero{{"gts", s.gts}, {"starved", s.starved}, {"rate", num(v.zero_rate)}};
    for (int i = 0; i < kNumScales; ++i)
      zero["coco"][analysis::scale_name(static_cast<analysis::Scale>(i))] = group_json(s.coco[static_cast<size_t>(i)]);
    for (int i = 0; i < kRelativeBins; ++i)
      zero["relative"][analysis::relative_bin_name(i)] = group_json(s.relative[static_cast<size_t>(i)]);
    zero["relative_unknown"] = s.relative_unknown;
    j["zero_positive"] = std::move(zero);
    j["iou"] = s.iou_count > 0 ? nlohmann::ordered_json{{"positives", s.iou_count},
                                                        {"mean", num(v.iou_mean)},
                                                        {"histogram", counts(s.iou_histogram)}}
                               : nlohmann::ordered_json();
    nlohmann::ordered_json levels = nlohmann::ordered_json::array();
    for (size_t l = 0; l < s.level_positives.size(); ++l)
      levels.push_back({{"level", l}, {"positives", s.level_positives[l]}, {"share", num(v.level_share[l])}});
    j["levels"] = std::move(levels);
    j["lost"] = {{"picks", s.lost_picks}, {"gts", s.gts_losing}};
    if (!t.loss_components.empty()) {
      nlohmann::ordered_json loss{{"images", s.loss_images}};
      for (size_t k = 0; k < t.loss_components.size(); ++k)
        loss[t.loss_components[k]] = k < v.loss_mean.size() ? num(v.loss_mean[k]) : nlohmann::ordered_json();
      j["loss"] = std::move(loss);
    }
    steps.push_back(std::move(j));
  }
  out["steps"] = std::move(steps);
  nlohmann::ordered_json tracked = nlohmann::ordered_json::array();
  for (const TrackRow& row : track_rows(t)) {
    nlohmann::ordered_json points = nlohmann::ordered_json::array();
    for (const auto& [step, gt] : row.points)
      points.push_back(
          {{t.by, step},
           {"dynamic_k", gt->dynamic_k >= 0 ? nlohmann::ordered_json(gt->dynamic_k) : nlohmann::ordered_json()},
           {"positives", gt->positives},
           {"iou", gt->iou_mean >= 0 ? num(gt->iou_mean) : nlohmann::ordered_json()}});
    tracked.push_back({{"image_id", row.image_id},
                       {"gt", row.gt},
                       {"label", row.first->label},
                       {"box",
                        {json_float(row.first->box[0]), json_float(row.first->box[1]), json_float(row.first->box[2]),
                         json_float(row.first->box[3])}},
                       {"box_changes", row.box_changes},
                       {"steps", std::move(points)}});
  }
  out["tracked"] = std::move(tracked);
  return out;
}

std::string trend_csv(const TrendRun& /*run*/, const Trend& t) {
  std::string out = fmt::format(
      "{},group,images,gts,positives,positives_per_gt,starved,zero_positive_rate,dynamic_k_mean,iou_mean,lost_picks,"
      "share_of_positives",
      t.by);
  for (const std::string& c : t.loss_components) out += "," + c;
  out += "\n";
  const std::string no_loss(t.loss_components.size(), ',');
  for (const auto& entry : t.steps) {  // (not a structured binding: the lambda below uses it)
    const int64_t step = entry.first;
    const TrendStep& s = entry.second;
    const StepView v = step_view(s);
    std::string losses;
    for (size_t k = 0; k < t.loss_components.size(); ++k)
      losses += "," + (k < v.loss_mean.size() && s.loss_images > 0 ? csv_num(v.loss_mean[k]) : std::string());
    out += fmt::format("{},all,{},{},{},{},{},{},{},{},{},1{}\n", step, s.images, s.gts, s.positives,
                       csv_num(v.positives_per_gt), s.starved, csv_num(v.zero_rate),
                       v.k_mean >= 0 ? csv_num(v.k_mean) : "", v.iou_mean >= 0 ? csv_num(v.iou_mean) : "", s.lost_picks,
                       losses);
    const auto group_row = [&](const std::string& name, const SizeGroup& g) {
      out += fmt::format("{},{},,{},{},{},{},{},,,,{}{}\n", step, name, g.gts, g.positives,
                         csv_num(ratio(g.positives, g.gts)), g.starved, csv_num(zero_rate(g)),
                         csv_num(ratio(g.positives, s.positives)), no_loss);
    };
    for (int i = 0; i < kNumScales; ++i)
      group_row(fmt::format("coco:{}", analysis::scale_name(static_cast<analysis::Scale>(i))),
                s.coco[static_cast<size_t>(i)]);
    for (int i = 0; i < kRelativeBins; ++i)
      group_row(fmt::format("relative:{}", analysis::relative_bin_name(i)), s.relative[static_cast<size_t>(i)]);
    for (size_t l = 0; l < s.level_positives.size(); ++l)
      out += fmt::format("{},level:{},,,{},,,,,,,{}{}\n", step, l, s.level_positives[l], csv_num(v.level_share[l]),
                         no_loss);
  }
  return out;
}

std::string trend_table(const TrendRun& run, const Trend& t) {
  int64_t images = 0;
  for (const auto& [step, s] : t.steps) images += s.images;
  std::string out =
      fmt::format("{} over {} image{} at {} {}{}{}{}\n", run.assigner, images, images == 1 ? "" : "s", t.steps.size(),
                  t.by, t.steps.size() == 1 ? "" : "s", run.loss.empty() ? "" : fmt::format(", with {}", run.loss),
                  t.failed > 0 ? fmt::format(" ({} dump{} left out)", t.failed, t.failed == 1 ? "" : "s") : "");
  if (t.steps.empty()) return out;
  out += fmt::format("\n{:>8} {:>6} {:>6} {:>7} {:>6} {:>8} {:>8} {:>9} {:>6} {:>6}  {:<16}", t.by, "images", "GTs",
                     "pos/GT", "k", "zero-pos", "small 0", "<1 stride", "IoU", "lost", "share per level");
  for (const std::string& c : t.loss_components) out += fmt::format("  {:>9}", c);
  out += "\n";
  for (const auto& [step, s] : t.steps) {
    const StepView v = step_view(s);
    SizeGroup below_stride = s.relative[0];
    below_stride.add(s.relative[1]);
    std::string shares;
    for (double share : v.level_share) shares += fmt::format("{}{:.0f}", shares.empty() ? "" : "/", 100 * share);
    out += fmt::format("{:>8} {:>6} {:>6} {:>7.2f} {:>6} {:>8} {:>8} {:>9} {:>6} {:>6}  {:<16}", step, s.images, s.gts,
                       v.positives_per_gt, v.k_mean >= 0 ? fmt::format("{:.2f}", v.k_mean) : "-", percent(v.zero_rate),
                       s.coco[0].gts > 0 ? percent(zero_rate(s.coco[0])) : "-",
                       below_stride.gts > 0 ? percent(zero_rate(below_stride)) : "-",
                       v.iou_mean >= 0 ? fmt::format("{:.3f}", v.iou_mean) : "-", s.lost_picks,
                       shares.empty() ? "-" : shares + " %");
    for (size_t k = 0; k < t.loss_components.size(); ++k)
      out += fmt::format("  {:>9}",
                         k < v.loss_mean.size() && s.loss_images > 0 ? fmt::format("{:.4f}", v.loss_mean[k]) : "-");
    out += "\n";
  }
  out +=
      "\nzero-pos: GTs without a positive; small 0: of COCO's small GTs; <1 stride: of GTs whose shorter side is "
      "below the finest stride\n";
  // The dynamic-k histogram, one line per step.
  bool any_k = false;
  for (const auto& [step, s] : t.steps) any_k = any_k || s.k_gts > 0;
  if (any_k) {
    const std::vector<std::string> bins = count_bin_names();
    out += "\ndynamic k (GTs per k)\n";
    for (const auto& [step, s] : t.steps) {
      std::string line;
      for (int i = 0; i < kCountBins; ++i)
        if (s.k_histogram[static_cast<size_t>(i)] > 0)
          line += fmt::format("  {}:{}", bins[static_cast<size_t>(i)], s.k_histogram[static_cast<size_t>(i)]);
      out += fmt::format("{:>8}{}\n", step, line.empty() ? "  -" : line);
    }
  }
  const std::vector<TrackRow> rows = track_rows(t);
  if (!rows.empty()) {
    out += fmt::format("\nthe same GTs across {}s (image id, GT: k / positives at each {})\n", t.by, t.by);
    const size_t shown = std::min<size_t>(rows.size(), 12);
    for (size_t r = 0; r < shown; ++r) {
      const TrackRow& row = rows[r];
      std::string line;
      for (const auto& [step, gt] : row.points)
        line += fmt::format("{}{}/{}", line.empty() ? "" : "  ",
                            gt->dynamic_k >= 0 ? std::to_string(gt->dynamic_k) : "-", gt->positives);
      const auto& b = row.first->box;
      out += fmt::format("  {} GT {} ({:g}x{:g} px){}: {}\n", for_terminal(row.image_id), row.gt,
                         static_cast<double>(b[2] - b[0]), static_cast<double>(b[3] - b[1]),
                         row.box_changes ? " (box changes)" : "", line);
    }
    if (rows.size() > shown) out += fmt::format("  ... and {} more GTs (-f json: tracked)\n", rows.size() - shown);
  }
  return out;
}

}  // namespace assignscope::render
