// trend -f html: one offline page (no script, no request): the line charts,
// the per-step table, the zero-positive rates by size, and the same GTs
// across steps.
#include <fmt/format.h>

#include "render/render.h"
#include "render/svg.h"
#include "render/trend.h"

namespace assignscope::render {
namespace {

using analysis::Trend;

std::string cell(const std::string& text, bool number = true) {
  return fmt::format("<td{}>{}</td>", number ? " class=\"n\"" : "", xml_escape(text));
}
std::string header(const std::vector<std::string>& names) {
  std::string out = "<tr>";
  for (const std::string& n : names) out += "<th>" + xml_escape(n) + "</th>";
  return out + "</tr>\n";
}
std::string fixed(double v, int digits) { return fmt::format("{:.{}f}", v, digits); }
std::string percent(double v) { return fmt::format("{:.1f} %", 100 * v); }
// A box side from the coordinates' shortest float32 spellings (as the JSON gives them): 6, not 6.00001.
double side(float lo, float hi) { return json_float(hi).get<double>() - json_float(lo).get<double>(); }
std::string or_dash(double v, int digits) { return v >= 0 ? fixed(v, digits) : "–"; }

constexpr const char* kStyle = R"CSS(
body { font-family: sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { padding: 0.2em 0.6em; border-bottom: 1px solid #ddd; }
th { text-align: left; background: #f4f4f4; position: sticky; top: 0; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
p.note { color: #555; max-width: 60em; }
)CSS";

}  // namespace

std::string trend_html(const TrendRun& run, const Trend& t) {
  int64_t images = 0;
  for (const auto& [step, s] : t.steps) images += s.images;
  const std::string title = fmt::format("{} over {} images at {} {}s{}", run.assigner, images, t.steps.size(), t.by,
                                        run.loss.empty() ? "" : ", with " + run.loss);
  std::string out = fmt::format(
      "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
      "<title>assignscope trend: {}</title>\n<style>{}</style>\n</head>\n<body data-ready=\"1\">\n<h1>{}</h1>\n",
      xml_escape(title), kStyle, xml_escape(title));
  if (t.failed > 0)
    out += fmt::format("<p class=\"note\">{} dump{} could not be replayed and {} left out.</p>\n", t.failed,
                       t.failed == 1 ? "" : "s", t.failed == 1 ? "was" : "were");

  // The per-step table.
  std::vector<std::string> names = {t.by,          "images",   "GTs",        "positives / GT", "mean k",
                                    "no positive", "mean IoU", "lost picks", "share per level"};
  for (const std::string& c : t.loss_components) names.push_back(c);
  out += "<h2>Per " + xml_escape(t.by) + "</h2>\n<table id=\"steps\">\n" + header(names);
  for (const auto& [step, s] : t.steps) {
    const StepView v = step_view(s);
    std::string shares;
    for (double share : v.level_share) shares += fmt::format("{}{:.0f}", shares.empty() ? "" : " / ", 100 * share);
    out += "<tr>" + cell(std::to_string(step)) + cell(std::to_string(s.images)) + cell(std::to_string(s.gts)) +
           cell(fixed(v.positives_per_gt, 2)) + cell(or_dash(v.k_mean, 2)) + cell(percent(v.zero_rate)) +
           cell(or_dash(v.iou_mean, 3)) + cell(std::to_string(s.lost_picks)) +
           cell(shares.empty() ? "–" : shares + " %");
    for (size_t k = 0; k < t.loss_components.size(); ++k)
      out += cell(k < v.loss_mean.size() && s.loss_images > 0 ? fixed(v.loss_mean[k], 4) : "–");
    out += "</tr>\n";
  }
  out += "</table>\n";

  out += "<h2>Charts</h2>\n" + trend_svg(run, t);

  // Zero-positive rates by size.
  std::vector<std::string> groups = {t.by};
  for (int i = 0; i < analysis::kNumScales; ++i)
    groups.push_back(std::string("COCO ") + analysis::scale_name(static_cast<analysis::Scale>(i)));
  for (int i = 0; i < analysis::kRelativeBins; ++i)
    groups.push_back(std::string("side / stride ") + analysis::relative_bin_name(i));
  out += "<h2>GTs with no positive, by size (starved / GTs)</h2>\n<table id=\"sizes\">\n" + header(groups);
  for (const auto& [step, s] : t.steps) {
    out += "<tr>" + cell(std::to_string(step));
    const auto group = [](const analysis::SizeGroup& g) {
      return g.gts > 0 ? fmt::format("{} / {} ({:.0f} %)", g.starved, g.gts, 100 * zero_rate(g)) : std::string("–");
    };
    for (const analysis::SizeGroup& g : s.coco) out += cell(group(g));
    for (const analysis::SizeGroup& g : s.relative) out += cell(group(g));
    out += "</tr>\n";
  }
  out += "</table>\n";

  // The same GTs across steps.
  const std::vector<TrackRow> rows = track_rows(t);
  if (!rows.empty()) {
    out += fmt::format("<h2>The same GTs across {}s (k / positives)</h2>\n<table id=\"tracked\">\n", t.by);
    std::vector<std::string> columns = {"image id", "GT", "label", "w × h"};
    for (const auto& [step, s] : t.steps) columns.push_back(std::to_string(step));
    out += header(columns);
    for (const TrackRow& row : rows) {
      const auto& box = row.first->box;
      out += "<tr>" + cell(row.image_id, false) + cell(std::to_string(row.gt)) +
             cell(std::to_string(row.first->label)) +
             cell(fmt::format("{:g} × {:g}", side(box[0], box[2]), side(box[1], box[3])));
      for (const auto& [step, s] : t.steps) {
        std::string text = "–";
        for (const auto& [at, gt] : row.points)
          if (at == step)
            text = (gt->dynamic_k >= 0 ? std::to_string(gt->dynamic_k) : "–") + " / " + std::to_string(gt->positives);
        out += cell(text);
      }
      out += "</tr>\n";
    }
    out += "</table>\n";
  }
  return out + "</body>\n</html>\n";
}

}  // namespace assignscope::render
