// Loss views: tables, JSON and CSV of loss::LossResult.
#include "render/loss.h"

#include <algorithm>

#include <fmt/format.h>

#include "render/render.h"

namespace assignscope::render {
namespace {

// Positives per GT of image b.
std::vector<int64_t> positives_per_gt(const Problem& p, const Assignment& a) {
  std::vector<int64_t> n(static_cast<size_t>(p.num_gts()), 0);
  for (int64_t g : a.gt_inds)
    if (g > 0 && static_cast<size_t>(g) <= n.size()) ++n[static_cast<size_t>(g - 1)];
  return n;
}

std::string image_name(const Batch& batch, size_t b) {
  const std::string& n = batch.images[b].name;
  return n.empty() ? std::to_string(b) : n;
}

double sum(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return s;
}

nlohmann::ordered_json components_json(const std::vector<std::string>& names, const std::vector<double>& v) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (size_t k = 0; k < names.size() && k < v.size(); ++k) j[names[k]] = v[k];
  j["total"] = sum(v);
  return j;
}

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

std::string loss_table(const Batch& batch, const loss::LossResult& r) {
  std::string out = fmt::format("{} under {}: total {:.6g}", r.head, r.assigner, sum(r.total));
  for (size_t k = 0; k < r.components.size(); ++k) out += fmt::format("  {} {:.6g}", r.components[k], r.total[k]);
  out += "\n\nlevel";
  for (const std::string& c : r.components) out += fmt::format("  {:>12}", c);
  out += "\n";
  for (size_t l = 0; l < r.per_level.size(); ++l) {
    out += fmt::format("{:>5}", l);
    for (double v : r.per_level[l]) out += fmt::format("  {:>12.6g}", v);
    out += "\n";
  }
  out += fmt::format("\n{:>5} {:>5} {:>5} {:>9}", "image", "gt", "class", "positives");
  for (const std::string& c : r.components) out += fmt::format("  {:>12}", c);
  out += fmt::format("  {:>12}\n", "total");
  for (size_t b = 0; b < r.per_gt.size(); ++b) {
    const std::vector<int64_t> npos = positives_per_gt(batch.images[b], r.assignments[b]);
    for (size_t g = 0; g < r.per_gt[b].size(); ++g) {
      out += fmt::format("{:>5} {:>5} {:>5} {:>9}", for_terminal(image_name(batch, b)), g, batch.images[b].gt_labels[g],
                         npos[g]);
      for (double v : r.per_gt[b][g]) out += fmt::format("  {:>12.6g}", v);
      out += fmt::format("  {:>12.6g}\n", sum(r.per_gt[b][g]));
    }
  }
  out += "(per GT: the terms of its positives, normalised as the totals; negatives' class loss belongs to no GT)\n";
  return out;
}

nlohmann::ordered_json loss_json(const Batch& batch, const loss::LossResult& r) {
  nlohmann::ordered_json j;
  j["schema"] = kLossSchema;
  j["head"] = r.head;
  j["assigner"] = r.assigner;
  j["source"] = batch.source;
  j["components"] = r.components;
  j["total"] = components_json(r.components, r.total);
  j["notes"] = r.notes;
  j["levels"] = nlohmann::ordered_json::array();
  for (const auto& l : r.per_level) j["levels"].push_back(components_json(r.components, l));
  j["images"] = nlohmann::ordered_json::array();
  for (size_t b = 0; b < r.per_gt.size(); ++b) {
    nlohmann::ordered_json img;
    img["name"] = batch.images[b].name;
    std::vector<double> image_total(r.components.size(), 0.0);
    for (const auto& prior : r.per_prior[b])
      for (size_t k = 0; k < prior.size(); ++k) image_total[k] += prior[k];
    img["total"] = components_json(r.components, image_total);
    const std::vector<int64_t> npos = positives_per_gt(batch.images[b], r.assignments[b]);
    img["gts"] = nlohmann::ordered_json::array();
    for (size_t g = 0; g < r.per_gt[b].size(); ++g) {
      nlohmann::ordered_json gt;
      gt["gt"] = g;
      gt["label"] = batch.images[b].gt_labels[g];
      gt["positives"] = npos[g];
      gt["loss"] = components_json(r.components, r.per_gt[b][g]);
      img["gts"].push_back(gt);
    }
    j["images"].push_back(img);
  }
  return j;
}

std::string loss_csv(const Batch& batch, const loss::LossResult& r) {
  std::string out = "image,gt,label,positives";
  for (const std::string& c : r.components) out += "," + c;
  out += ",total,assigner,head\r\n";
  for (size_t b = 0; b < r.per_gt.size(); ++b) {
    const std::vector<int64_t> npos = positives_per_gt(batch.images[b], r.assignments[b]);
    for (size_t g = 0; g < r.per_gt[b].size(); ++g) {
      out += fmt::format("{},{},{},{}", csv_cell(image_name(batch, b)), g, batch.images[b].gt_labels[g], npos[g]);
      for (double v : r.per_gt[b][g]) out += fmt::format(",{}", v);
      out += fmt::format(",{},{},{}\r\n", sum(r.per_gt[b][g]), csv_cell(r.assigner), r.head);
    }
  }
  return out;
}

std::string loss_diff_table(const Batch& batch, const loss::LossResult& a, const loss::LossResult& b) {
  std::string out = fmt::format("{}: a = {}, b = {}\n\n{:>12} {:>12} {:>12} {:>12}\n", a.head, a.assigner, b.assigner,
                                "component", "a", "b", "b - a");
  for (size_t k = 0; k < a.components.size(); ++k)
    out += fmt::format("{:>12} {:>12.6g} {:>12.6g} {:>+12.6g}\n", a.components[k], a.total[k], b.total[k],
                       b.total[k] - a.total[k]);
  out += fmt::format("{:>12} {:>12.6g} {:>12.6g} {:>+12.6g}\n", "total", sum(a.total), sum(b.total),
                     sum(b.total) - sum(a.total));
  out += fmt::format("\n{:>5} {:>5} {:>5} {:>5} {:>5}", "image", "gt", "class", "pos a", "pos b");
  for (const std::string& c : a.components) out += fmt::format("  {:>12}", "d " + c);
  out += fmt::format("  {:>12} {:>12} {:>12}\n", "total a", "total b", "b - a");
  for (size_t i = 0; i < a.per_gt.size(); ++i) {
    const std::vector<int64_t> na = positives_per_gt(batch.images[i], a.assignments[i]);
    const std::vector<int64_t> nb = positives_per_gt(batch.images[i], b.assignments[i]);
    for (size_t g = 0; g < a.per_gt[i].size(); ++g) {
      out += fmt::format("{:>5} {:>5} {:>5} {:>5} {:>5}", for_terminal(image_name(batch, i)), g,
                         batch.images[i].gt_labels[g], na[g], nb[g]);
      for (size_t k = 0; k < a.components.size(); ++k)
        out += fmt::format("  {:>+12.6g}", b.per_gt[i][g][k] - a.per_gt[i][g][k]);
      const double ta = sum(a.per_gt[i][g]), tb = sum(b.per_gt[i][g]);
      out += fmt::format("  {:>12.6g} {:>12.6g} {:>+12.6g}\n", ta, tb, tb - ta);
    }
  }
  return out;
}

nlohmann::ordered_json loss_diff_json(const Batch& batch, const loss::LossResult& a, const loss::LossResult& b) {
  nlohmann::ordered_json j;
  j["schema"] = kLossDiffSchema;
  j["head"] = a.head;
  j["a"] = {{"assigner", a.assigner}, {"total", components_json(a.components, a.total)}};
  j["b"] = {{"assigner", b.assigner}, {"total", components_json(b.components, b.total)}};
  std::vector<double> change(a.total.size());
  for (size_t k = 0; k < change.size(); ++k) change[k] = b.total[k] - a.total[k];
  j["change"] = components_json(a.components, change);
  j["levels"] = nlohmann::ordered_json::array();
  for (size_t l = 0; l < a.per_level.size() && l < b.per_level.size(); ++l)
    j["levels"].push_back(
        {{"a", components_json(a.components, a.per_level[l])}, {"b", components_json(b.components, b.per_level[l])}});
  j["images"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < a.per_gt.size(); ++i) {
    const std::vector<int64_t> na = positives_per_gt(batch.images[i], a.assignments[i]);
    const std::vector<int64_t> nb = positives_per_gt(batch.images[i], b.assignments[i]);
    nlohmann::ordered_json img;
    img["name"] = batch.images[i].name;
    img["gts"] = nlohmann::ordered_json::array();
    for (size_t g = 0; g < a.per_gt[i].size(); ++g) {
      std::vector<double> d(a.components.size());
      for (size_t k = 0; k < d.size(); ++k) d[k] = b.per_gt[i][g][k] - a.per_gt[i][g][k];
      img["gts"].push_back({{"gt", g},
                            {"label", batch.images[i].gt_labels[g]},
                            {"positives_a", na[g]},
                            {"positives_b", nb[g]},
                            {"a", components_json(a.components, a.per_gt[i][g])},
                            {"b", components_json(b.components, b.per_gt[i][g])},
                            {"change", components_json(a.components, d)}});
    }
    j["images"].push_back(img);
  }
  return j;
}

}  // namespace assignscope::render
