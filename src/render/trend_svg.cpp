// trend -f svg: small line charts, one per question, over the steps.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "render/svg.h"
#include "render/trend.h"

namespace assignscope::render {
namespace {

using analysis::Trend;

constexpr double kPanelW = 400, kPanelH = 210, kLeft = 46, kRight = 92, kTop = 28, kBottom = 34;
constexpr int kColumns = 2;
const char* const kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (step, value); a step without a value is left out
};

struct Chart {
  std::string title;
  std::string y_label;
  bool percent = false;
  std::vector<Series> series;
};

std::string tick(double v, bool percent) {
  if (percent) return fmt::format("{:.0f}%", 100 * v);
  return std::fabs(v) >= 100 ? fmt::format("{:.0f}", v) : fmt::format("{:.3g}", v);
}

// 1, 2, 2.5 or 5 times a power of ten, at least `raw`.
double nice_step(double raw) {
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * power >= raw * (1 - 1e-9)) return m * power;
  return 10 * power;
}

// One panel at (x0, y0): axes, ticks at the data's steps (at most 6) and
// nice y bounds, a polyline per series with its points, a legend.
std::string panel(const Chart& c, double x0, double y0, double step_min, double step_max) {
  double lo = 0, hi = 0;
  bool any = false;
  for (const Series& s : c.series)
    for (const auto& [x, y] : s.points) {
      lo = any ? std::min(lo, y) : y, hi = any ? std::max(hi, y) : y;
      any = true;
    }
  lo = std::min(lo, 0.0);
  if (c.percent) hi = std::max(hi, 0.05);
  if (hi <= lo) hi = lo + 1;
  const double tick_step = nice_step((hi - lo) / 4);
  hi = lo + tick_step * std::ceil((hi - lo) / tick_step - 1e-9);
  const double w = kPanelW - kLeft - kRight, h = kPanelH - kTop - kBottom;
  const auto px = [&](double step) {
    return x0 + kLeft + (step_max > step_min ? (step - step_min) / (step_max - step_min) * w : w / 2);
  };
  const auto py = [&](double v) { return y0 + kTop + h - (v - lo) / (hi - lo) * h; };
  std::string out = fmt::format("<g class=\"chart\" data-title=\"{}\">\n", xml_escape(c.title));
  out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"13\" font-weight=\"bold\">{}</text>\n", x0 + 6,
                     y0 + 16, xml_escape(c.title));
  out += fmt::format(
      "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" stroke=\"#999\"/>\n",
      x0 + kLeft, y0 + kTop, w, h);
  for (double v = lo; v <= hi + tick_step / 2; v += tick_step) {
    out += fmt::format(
        "<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#eee\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"end\">{}</text>\n",
        x0 + kLeft, x0 + kLeft + w, py(v), py(v), x0 + kLeft - 4, py(v) + 3, tick(v, c.percent));
  }
  // x ticks: the steps, thinned to at most 6.
  std::vector<double> steps;
  for (const Series& s : c.series)
    for (const auto& p : s.points) steps.push_back(p.first);
  std::sort(steps.begin(), steps.end());
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  // Labels from the last step back, each at least 34 px from the one drawn
  // before and from the first step's, which is always drawn.
  double drawn = 1e300;
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    const bool first = std::next(it) == steps.rend();
    if (drawn - px(*it) < 34 || (!first && px(*it) - px(steps.front()) < 34)) continue;
    drawn = px(*it);
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"middle\">{:g}</text>\n", drawn,
                       y0 + kTop + h + 13, *it);
  }
  out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"middle\">{}</text>\n",
                     x0 + kLeft + w / 2, y0 + kTop + h + 27, xml_escape(c.y_label));
  for (size_t k = 0; k < c.series.size(); ++k) {
    const Series& s = c.series[k];
    const char* colour = kColours[k % (sizeof kColours / sizeof *kColours)];
    std::string points;
    for (const auto& [x, y] : s.points) points += fmt::format("{:.1f},{:.1f} ", px(x), py(y));
    out += fmt::format("<g class=\"series\" data-name=\"{}\">", xml_escape(s.name));
    if (s.points.size() > 1)
      out += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>", points, colour);
    for (const auto& [x, y] : s.points)
      out += fmt::format(
          "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"{}\" data-step=\"{:g}\" "
          "data-value=\"{:g}\"/>",
          px(x), py(y), colour, x, y);
    out += "</g>\n";
    out += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"10\" height=\"3\" fill=\"{}\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\">{}</text>\n",
        x0 + kLeft + w + 8, y0 + kTop + 8 + 12.0 * static_cast<double>(k), colour, x0 + kLeft + w + 22,
        y0 + kTop + 12 + 12.0 * static_cast<double>(k), xml_escape(s.name));
  }
  return out + "</g>\n";
}

std::vector<Chart> charts(const TrendRun& run, const Trend& t) {
  std::vector<Chart> out;
  const std::string x = t.by;
  Chart positives{"positives per GT and dynamic k", x, false, {{"positives per GT", {}}, {"mean dynamic k", {}}}};
  Chart coco{"GTs with no positive, by COCO size",
             x,
             true,
             {{"all", {}}, {"small", {}}, {"medium", {}}, {"large", {}}}};
  Chart relative{"GTs with no positive, by side / stride", x, true, {}};
  for (int i = 0; i < analysis::kRelativeBins; ++i) relative.series.push_back({analysis::relative_bin_name(i), {}});
  Chart iou{"mean IoU of the positives", x, false, {{"IoU", {}}}};
  Chart levels{"share of the positives per level", x, true, {}};
  Chart loss{run.loss + ", mean per image", x, false, {}};
  for (const std::string& c : t.loss_components) loss.series.push_back({c, {}});
  Chart lost{"picks lost to another GT, per GT", x, false, {{"lost / GT", {}}}};
  for (const auto& [step, s] : t.steps) {
    const StepView v = step_view(s);
    const auto at = static_cast<double>(step);
    if (s.gts > 0) positives.series[0].points.emplace_back(at, v.positives_per_gt);
    if (v.k_mean >= 0) positives.series[1].points.emplace_back(at, v.k_mean);
    if (s.gts > 0) coco.series[0].points.emplace_back(at, v.zero_rate);
    for (size_t i = 0; i < s.coco.size(); ++i)
      if (s.coco[i].gts > 0) coco.series[i + 1].points.emplace_back(at, zero_rate(s.coco[i]));
    for (size_t i = 0; i < s.relative.size(); ++i)
      if (s.relative[i].gts > 0) relative.series[i].points.emplace_back(at, zero_rate(s.relative[i]));
    if (v.iou_mean >= 0) iou.series[0].points.emplace_back(at, v.iou_mean);
    for (size_t l = 0; l < v.level_share.size(); ++l) {
      if (levels.series.size() <= l) levels.series.push_back({fmt::format("level {}", l), {}});
      levels.series[l].points.emplace_back(at, v.level_share[l]);
    }
    if (s.loss_images > 0)
      for (size_t k = 0; k < v.loss_mean.size() && k < loss.series.size(); ++k)
        loss.series[k].points.emplace_back(at, v.loss_mean[k]);
    if (s.gts > 0)
      lost.series[0].points.emplace_back(at, static_cast<double>(s.lost_picks) / static_cast<double>(s.gts));
  }
  for (Chart* c : {&positives, &coco, &relative, &iou, &levels, &lost, &loss}) {
    c->series.erase(std::remove_if(c->series.begin(), c->series.end(),
                                   [](const Series& s) { return s.points.empty(); }),
                    c->series.end());
    if (!c->series.empty()) out.push_back(std::move(*c));
  }
  return out;
}

}  // namespace

std::string trend_svg(const TrendRun& run, const Trend& t) {
  const std::vector<Chart> list = charts(run, t);
  double lo = 0, hi = 0;
  if (!t.steps.empty())
    lo = static_cast<double>(t.steps.begin()->first), hi = static_cast<double>(t.steps.rbegin()->first);
  const size_t rows = (list.size() + kColumns - 1) / kColumns;
  const double width = kPanelW * kColumns, title = 26,
               height = title + kPanelH * static_cast<double>(std::max<size_t>(rows, 1));
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" viewBox=\"0 0 {:.0f} {:.0f}\" "
      "font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      width, height, width, height);
  int64_t images = 0;
  for (const auto& [step, s] : t.steps) images += s.images;
  out += fmt::format("<text x=\"8\" y=\"18\" font-size=\"14\">{} over {} images at {} {}s{}</text>\n",
                     xml_escape(run.assigner), images, t.steps.size(), t.by,
                     run.loss.empty() ? "" : ", with " + xml_escape(run.loss));
  if (list.empty()) out += "<text x=\"8\" y=\"50\" font-size=\"12\">no steps to chart</text>\n";
  for (size_t i = 0; i < list.size(); ++i) {
    const size_t row = i / kColumns, column = i % kColumns;
    out += panel(list[i], kPanelW * static_cast<double>(column), title + kPanelH * static_cast<double>(row), lo, hi);
  }
  return out + "</svg>\n";
}

}  // namespace assignscope::render
