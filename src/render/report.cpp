// The HTML report (report.h): its data as columns, inlined into the embedded
// template with the embedded CSS and JS.
#include "render/report.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "analysis/diff.h"
#include "analysis/stats.h"
#include "assignscope/version.h"
#include "render/data_uri.h"
#include "render/render.h"
#include "render/report_assets.h"
#include "render/svg.h"

namespace assignscope::render {

using ojson = nlohmann::ordered_json;

namespace {

// Step 1: numbers as short as they can be and still say what matters.
// Coordinates to 0.1 px; scores, IoUs and costs to 4 significant digits.
ojson tenth(double v) {
  if (!std::isfinite(v)) return nullptr;
  return std::round(v * 10.0) / 10.0;
}
ojson sig4(double v) {
  if (!std::isfinite(v)) return nullptr;
  return std::stod(fmt::format("{:.4g}", v));
}
ojson sig3(double v) {
  if (!std::isfinite(v)) return nullptr;
  return std::stod(fmt::format("{:.3g}", v));
}

// Per level, (x0, y0, stride x, stride y, columns) when its priors' centres
// are that grid row by row to 0.01 px (point priors from mmdet's and
// ultralytics' generators are), so the page rebuilds them; nullopt otherwise.
std::optional<ojson> prior_grids(const Problem& p) {
  if (p.priors.rows() != p.num_priors() || p.num_level_priors.empty()) return std::nullopt;
  ojson grids = ojson::array();
  int64_t first = 0;
  for (const int64_t count : p.num_level_priors) {
    if (count <= 0) {
      grids.push_back({0, 0, 0, 0, 1});
      continue;
    }
    const auto at = [&](int64_t row, int column) { return static_cast<double>(p.priors(row, column)); };
    const double x0 = at(first, 0), y0 = at(first, 1), sx = at(first, 2), sy = at(first, 3);
    int64_t columns = 1;
    while (columns < count && at(first + columns, 1) == y0) ++columns;
    for (int64_t k = 0; k < count; ++k) {
      const int64_t row = k / columns, column = k % columns;
      const double x = x0 + sx * static_cast<double>(column), y = y0 + sy * static_cast<double>(row);
      if (std::abs(at(first + k, 0) - x) > 0.01 || std::abs(at(first + k, 1) - y) > 0.01) return std::nullopt;
    }
    grids.push_back({x0, y0, sx, sy, columns});
    first += count;
  }
  return grids;
}

// Step 2: per image, what both sides share: the canvas, the image, the
// levels, the priors' centres [N] and the GTs [G].
void add_geometry(const Problem& p, ojson* img) {
  const SvgCanvas canvas = svg_canvas(p);
  (*img)["name"] = p.name;
  (*img)["canvas"] = {tenth(canvas.x0), tenth(canvas.y0), tenth(canvas.width), tenth(canvas.height)};
  (*img)["image"] = p.image ? ojson(data_uri(*p.image)) : ojson(nullptr);
  ojson levels = ojson::array();
  int64_t first = 0;
  for (size_t l = 0; l < p.num_level_priors.size(); ++l) {
    const int64_t count = p.num_level_priors[l];
    const double stride = count > 0 && first < p.priors.rows() ? static_cast<double>(p.priors(first, 2)) : 0.0;
    levels.push_back({{"level", l}, {"stride", tenth(stride)}, {"priors", count}});
    first += count;
  }
  (*img)["levels"] = std::move(levels);
  (*img)["num_priors"] = p.num_priors();
  const std::optional<ojson> grids = prior_grids(p);
  ojson px = ojson::array(), py = ojson::array();
  for (int64_t i = 0; !grids && i < p.num_priors() && i < p.priors.rows(); ++i) {
    px.push_back(tenth(static_cast<double>(p.priors(i, 0))));
    py.push_back(tenth(static_cast<double>(p.priors(i, 1))));
  }
  (*img)["grid"] = grids ? *grids : ojson(nullptr);
  (*img)["px"] = grids ? ojson(nullptr) : std::move(px);
  (*img)["py"] = grids ? ojson(nullptr) : std::move(py);
  ojson boxes = ojson::array(), colours = ojson::array();
  for (int64_t g = 0; g < p.num_gts(); ++g) {
    boxes.push_back({tenth(static_cast<double>(p.gt_bboxes(g, 0))), tenth(static_cast<double>(p.gt_bboxes(g, 1))),
                     tenth(static_cast<double>(p.gt_bboxes(g, 2))), tenth(static_cast<double>(p.gt_bboxes(g, 3)))});
    colours.push_back(gt_colour(g));
  }
  (*img)["gt_boxes"] = std::move(boxes);
  (*img)["gt_labels"] = p.gt_labels;
  (*img)["gt_colours"] = std::move(colours);
}

// The per-GT table: the columns of `run --csv gts` (docs/cli.md) that
// describe a GT, lost_to as one readable cell ("3×#1 1×bg"), a row per GT.
ojson gt_table(const analysis::ImageStats& s, const loss::LossResult* loss, size_t image) {
  const auto mean = [](const analysis::Summary& v) { return v.empty() ? ojson(nullptr) : sig4(v.mean); };
  ojson columns = {"gt",   "label",   "area",    "scale",   "candidates", "dynamic_k", "picked",   "positives",
                   "lost", "lost_to", "starved", "iou_min", "iou_mean",   "iou_max",   "cost_mean"};
  for (const std::string& term : s.cost_terms) columns.push_back("cost_" + term + "_mean");
  for (const char* c : {"centre_distance_mean", "soft_target_sum", "plan_mass"}) columns.push_back(c);
  for (size_t l = 0; l < s.levels.size(); ++l) columns.push_back(fmt::format("positives_level{}", l));
  if (loss)
    for (const std::string& c : loss->components) columns.push_back(c);
  ojson rows = ojson::array();
  for (const analysis::GtStats& g : s.gts) {
    std::string lost_to;
    for (const auto& [other, count] : g.lost_to)
      lost_to += fmt::format("{}{}×{}", lost_to.empty() ? "" : " ", count,
                             other == analysis::kBackground ? std::string("bg") : fmt::format("#{}", other));
    ojson row = {g.index,       g.label,
                 tenth(g.area), analysis::scale_name(g.scale),
                 g.candidates,  g.dynamic_k >= 0 ? ojson(g.dynamic_k) : ojson(nullptr),
                 g.picked,      g.positives,
                 g.lost,        lost_to,
                 g.starved(),   g.iou.empty() ? ojson(nullptr) : sig4(g.iou.min),
                 mean(g.iou),   g.iou.empty() ? ojson(nullptr) : sig4(g.iou.max),
                 mean(g.cost)};
    for (size_t t = 0; t < s.cost_terms.size(); ++t)
      row.push_back(t < g.terms.size() && !g.cost.empty() ? mean(g.terms[t]) : ojson(nullptr));
    row.push_back(mean(g.centre_distance));
    row.push_back(g.soft_target_sum ? sig4(*g.soft_target_sum) : ojson(nullptr));
    row.push_back(g.plan_mass >= 0 ? sig4(g.plan_mass) : ojson(nullptr));
    for (size_t l = 0; l < s.levels.size(); ++l)
      row.push_back(l < g.positives_per_level.size() ? ojson(g.positives_per_level[l]) : ojson(0));
    if (loss) {  // the GT's share of each component, normalised as the head's totals
      const auto& per_gt = loss->per_gt[image];
      for (size_t k = 0; k < loss->components.size(); ++k)
        row.push_back(static_cast<size_t>(g.index) < per_gt.size() ? sig4(per_gt[static_cast<size_t>(g.index)][k])
                                                                   : ojson(nullptr));
    }
    rows.push_back(std::move(row));
  }
  return {{"columns", std::move(columns)}, {"rows", std::move(rows)}};
}

// Step 3a: the candidate pairs, sorted by (GT, prior) as recorded. Every
// pair passing the geometric rule as runs of consecutive priors per GT
// ([start, length, start, length, ...]: a GT's candidates); the cost, terms,
// IoU and flags (1 inside, 2 picked) as columns only for the pairs that
// explain the result: picked, assigned, and each GT's kDetailPerGt cheapest.
// So a crowd's or a large image's thousands of pairs stay a few hundred KB.
constexpr size_t kDetailPerGt = 8;

bool assigned(const Assignment& a, const CandidatePair& c) {
  if (a.matches)
    return std::binary_search(a.matches->begin(), a.matches->end(), Match{c.prior, c.gt},
                              [](const Match& x, const Match& y) {
                                return x.prior != y.prior ? x.prior < y.prior : x.gt < y.gt;
                              });
  return a.gt_inds[static_cast<size_t>(c.prior)] == int64_t{c.gt} + 1;
}

ojson candidates_json(const Assignment& a, int64_t num_gts) {
  std::vector<bool> keep(a.candidates.size(), false);
  std::vector<ojson> runs(static_cast<size_t>(std::max<int64_t>(num_gts, 0)), ojson::array());
  for (size_t from = 0; from < a.candidates.size();) {
    const int32_t g = a.candidates[from].gt;
    size_t to = from;
    while (to < a.candidates.size() && a.candidates[to].gt == g) ++to;
    std::vector<size_t> order;
    order.reserve(to - from);
    for (size_t k = from; k < to; ++k) {
      order.push_back(k);
      const CandidatePair& c = a.candidates[k];
      if (c.picked || assigned(a, c)) keep[k] = true;
    }
    const size_t cheapest = std::min(kDetailPerGt, order.size());
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(cheapest), order.end(),
                      [&](size_t x, size_t y) { return a.candidates[x].cost < a.candidates[y].cost; });
    for (size_t k = 0; k < cheapest; ++k) keep[order[k]] = true;
    if (g >= 0 && g < num_gts) {
      ojson& r = runs[static_cast<size_t>(g)];
      int32_t start = -1, length = 0;
      for (size_t k = from; k < to; ++k) {
        const CandidatePair& c = a.candidates[k];
        if (!c.inside) continue;
        if (start >= 0 && c.prior == start + length) {
          ++length;
          continue;
        }
        if (start >= 0) r.push_back(start), r.push_back(length);
        start = c.prior, length = 1;
      }
      if (start >= 0) r.push_back(start), r.push_back(length);
    }
    from = to;
  }
  ojson cp = ojson::array(), cg = ojson::array(), cc = ojson::array(), ci = ojson::array(), cf = ojson::array();
  std::vector<ojson> terms(std::min<size_t>(a.cost_terms.size(), kMaxCostTerms), ojson::array());
  for (size_t k = 0; k < a.candidates.size(); ++k) {
    if (!keep[k]) continue;
    const CandidatePair& c = a.candidates[k];
    cp.push_back(c.prior), cg.push_back(c.gt), cc.push_back(sig4(static_cast<double>(c.cost))),
        ci.push_back(sig4(static_cast<double>(c.iou)));
    cf.push_back((c.inside ? 1 : 0) | (c.picked ? 2 : 0));
    for (size_t t = 0; t < terms.size(); ++t) terms[t].push_back(sig4(static_cast<double>(c.terms[t])));
  }
  return {{"pairs", a.candidates.size()}, {"detail_per_gt", kDetailPerGt}, {"inside_runs", std::move(runs)},
          {"prior", std::move(cp)},       {"gt", std::move(cg)},           {"cost", std::move(cc)},
          {"terms", std::move(terms)},    {"iou", std::move(ci)},          {"flags", std::move(cf)}};
}

// Step 3: one side of one image: the dense per-prior GT [N], IoU [N] (4
// digits), multi-match pairs, candidate pairs as columns, the GT rows and
// the per-level and per-scale counts of the charts.
ojson side_json(const Problem& p, const Assignment& a, const loss::LossResult* loss, size_t image) {
  const analysis::ImageStats s = analysis::compute_stats(p, a);
  ojson side;
  side["gt"] = a.gt_inds;
  ojson iou = ojson::array();
  for (float v : a.max_overlaps)
    iou.push_back(v == kMmdetNegativeOverlap ? ojson(nullptr) : sig3(static_cast<double>(v)));
  side["iou"] = a.max_overlaps.empty() ? ojson(nullptr) : std::move(iou);
  if (a.matches) {
    ojson mp = ojson::array(), mg = ojson::array();
    for (const Match& m : *a.matches) mp.push_back(m.prior), mg.push_back(m.gt);
    side["matches"] = {{"prior", std::move(mp)}, {"gt", std::move(mg)}};
  } else {
    side["matches"] = nullptr;
  }
  side["dynamic_ks"] = a.dynamic_ks ? ojson(*a.dynamic_ks) : ojson(nullptr);
  side["cost_terms"] = a.cost_terms;
  side["candidates"] = candidates_json(a, p.num_gts());
  side["gt_table"] = gt_table(s, loss, image);
  if (loss) {  // per prior [K][N] and the image's total per component
    ojson per_prior = ojson::array(), total = ojson::array();
    for (size_t k = 0; k < loss->components.size(); ++k) {
      ojson column = ojson::array();
      double sum = 0;
      for (const std::vector<double>& prior : loss->per_prior[image]) {
        column.push_back(prior[k] == 0 ? ojson(0) : sig3(prior[k]));
        sum += prior[k];
      }
      per_prior.push_back(std::move(column));
      total.push_back(sig4(sum));
    }
    side["loss"] = {{"head", loss->head},
                    {"components", loss->components},
                    {"total", std::move(total)},
                    {"per_prior", std::move(per_prior)}};
  } else {
    side["loss"] = nullptr;
  }
  ojson levels = ojson::array();
  for (const analysis::LevelStats& l : s.levels)
    levels.push_back({{"level", l.level}, {"positives", l.positives}, {"gts_served", l.gts_served}});
  side["level_stats"] = std::move(levels);
  ojson scales = ojson::array();
  for (int k = 0; k < analysis::kNumScales; ++k)
    scales.push_back({{"scale", analysis::scale_name(analysis::Scale(k))},
                      {"gts", s.scales[k].gts},
                      {"positives", s.scales[k].positives},
                      {"starved", s.scales[k].starved}});
  side["scale_stats"] = std::move(scales);
  side["summary"] = {{"positives", s.positives},
                     {"negatives", s.negatives},
                     {"ignored", s.ignored},
                     {"starved_gts", s.starved_gts.size()},
                     {"matches", s.matches}};
  side["notes"] = a.notes;
  side["warnings"] = a.warnings;
  return side;
}

// Step 4: the diff of the two sides of one image, as `assignscope diff`
// counts it.
ojson diff_json_of(const Problem& p, const Assignment& a, const Assignment& b) {
  const analysis::ImageDiff d = analysis::diff_image(p, a, b);
  ojson gts = ojson::array();
  for (const analysis::GtDiff& g : d.gts)
    gts.push_back({{"gt", g.index},
                   {"positives_a", g.positives_a},
                   {"positives_b", g.positives_b},
                   {"common", g.common},
                   {"jaccard", sig4(g.jaccard)},
                   {"k_a", g.k_a >= 0 ? ojson(g.k_a) : ojson(nullptr)},
                   {"k_b", g.k_b >= 0 ? ojson(g.k_b) : ojson(nullptr)}});
  ojson fp = ojson::array(), fk = ojson::array();
  for (const analysis::PriorFlip& f : d.flips) fp.push_back(f.prior), fk.push_back(analysis::flip_kind_key(f.kind));
  return {{"counts",
           {{"same", d.same},
            {"pos_to_neg", d.pos_to_neg},
            {"neg_to_pos", d.neg_to_pos},
            {"changed_gt", d.changed_gt},
            {"ignored_changes", d.ignored_changes},
            {"positives_a", d.positives_a},
            {"positives_b", d.positives_b},
            {"positives_same", d.positives_common}}},
          {"gts", std::move(gts)},
          {"flips", {{"prior", std::move(fp)}, {"kind", std::move(fk)}}}};
}

// `</` ends a script element wherever it appears: "<\/" means the same in JSON.
std::string script_safe(const std::string& json) {
  std::string out;
  out.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    out += json[i];
    if (json[i] == '<' && i + 1 < json.size() && json[i + 1] == '/') out += '\\';
  }
  return out;
}

void replace_once(std::string* text, std::string_view marker, std::string_view with) {
  const size_t at = text->find(marker);
  if (at != std::string::npos) text->replace(at, marker.size(), with);
}

}  // namespace

ojson report_data(const Batch& batch, const ReportSide& a, const ReportSide& b) {
  ojson out;
  out["schema"] = kReportSchema;
  out["tool"] = {{"name", "assignscope"}, {"version", ASSIGNSCOPE_VERSION}};
  out["source"] = batch.source;
  out["batch"] = batch.is_batch;
  ojson sides = ojson::array();
  for (const ReportSide* side : {&a, &b}) {
    if (side->results == nullptr) continue;
    const Assignment* first = side->results->empty() ? nullptr : &side->results->front();
    sides.push_back({{"label", side->label},
                     {"assigner", first ? first->assigner : ""},
                     {"params", first ? first->params.to_json() : ojson::object()}});
  }
  out["sides"] = std::move(sides);
  ojson images = ojson::array();
  for (size_t i = 0; i < batch.images.size(); ++i) {
    const Problem& p = batch.images[i];
    ojson img;
    add_geometry(p, &img);
    ojson per_side = ojson::array();
    per_side.push_back(side_json(p, (*a.results)[i], a.loss, i));
    if (b.results != nullptr) {
      per_side.push_back(side_json(p, (*b.results)[i], b.loss, i));
      img["diff"] = diff_json_of(p, (*a.results)[i], (*b.results)[i]);
    } else {
      img["diff"] = nullptr;
    }
    img["sides"] = std::move(per_side);
    images.push_back(std::move(img));
  }
  out["images"] = std::move(images);
  return out;
}

std::string report_html(const Batch& batch, const ReportSide& a, const ReportSide& b) {
  std::string page(report_asset("report.html"));
  const std::string title = batch.source + " · " + a.label + (b.results != nullptr ? " vs " + b.label : "");
  replace_once(&page, "/*@CSS@*/", report_asset("report.css"));
  replace_once(&page, "@TITLE@", xml_escape(title));
  // The data before the script, and the script last: the markers are
  // replaced in order so no inlined text is searched again.
  const size_t data_at = page.find("@DATA@");
  const size_t js_at = page.find("/*@JS@*/");
  if (data_at == std::string::npos || js_at == std::string::npos || js_at < data_at) return page;
  std::string out = page.substr(0, data_at);
  out += script_safe(json_text(report_data(batch, a, b), -1));
  out += page.substr(data_at + 6, js_at - data_at - 6);
  // The script is ours: it holds no "</script" (checked by the test).
  out += report_asset("report.js");
  out += page.substr(js_at + 8);
  return out;
}

}  // namespace assignscope::render
