// Assignments as CSV (RFC 4180) for pandas: per GT, per image, per positive,
// or per (GT, the one that took its picks). One value a cell: what a
// table would pack into a string ("0:2 1:2", "#1x6 #4x2") is a column per
// item or a long table of its own.
#include <algorithm>
#include <map>
#include <utility>

#include <fmt/format.h>

#include "analysis/stats.h"
#include "render/render.h"
#include "render/soft_targets.h"

namespace assignscope::render {
namespace {

// Valid UTF-8, each byte that starts no sequence replaced by U+FFFD.
std::string utf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_length_at(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

// A field quoted when it holds a comma, quote or line break.
std::string field(const std::string& raw) {
  std::string s = utf8(raw);
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Shortest float32 spelling, as the JSON.
std::string number(double v) { return fmt::format("{}", static_cast<float>(v)); }
std::string boolean(bool b) { return b ? "true" : "false"; }

void add_summary(const analysis::Summary& v, std::vector<std::string>* row) {
  for (double x : {v.min, v.mean, v.max}) row->push_back(v.empty() ? "" : number(x));
}

void add_summary_head(const std::string& name, std::vector<std::string>* head) {
  for (const char* part : {"min", "mean", "max"}) head->push_back(fmt::format("{}_{}", name, part));
}

// The columns every table ends with: the assigner and its parameters, one
// column each (a list or dict parameter as compact JSON).
struct AssignerColumns {
  std::vector<std::string> head;
  std::vector<std::string> cells;
};

AssignerColumns assigner_columns(const std::vector<Assignment>& results) {
  AssignerColumns out;
  out.head.push_back("assigner");
  out.cells.push_back(results.empty() ? "" : results[0].assigner);
  if (results.empty()) return out;
  const nlohmann::ordered_json params = results[0].params.to_json();
  for (const auto& [name, value] : params.items()) {
    out.head.push_back("param_" + name);
    if (value.is_null()) out.cells.emplace_back();
    else if (value.is_string()) out.cells.push_back(value.get<std::string>());
    else out.cells.push_back(value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  }
  return out;
}

class Writer {
 public:
  explicit Writer(const AssignerColumns& tail) : tail_(tail) {}
  void head(std::vector<std::string> row) { emit(std::move(row), tail_.head); }
  void row(std::vector<std::string> row) { emit(std::move(row), tail_.cells); }
  std::string take() { return std::move(out_); }

 private:
  void emit(std::vector<std::string> row, const std::vector<std::string>& tail) {
    row.insert(row.end(), tail.begin(), tail.end());
    for (size_t c = 0; c < row.size(); ++c) out_ += (c ? "," : "") + field(row[c]);
    out_ += "\n";
  }
  const AssignerColumns& tail_;
  std::string out_;
};

size_t max_levels(const analysis::BatchStats& stats) {
  size_t n = 0;
  for (const analysis::ImageStats& s : stats.images) n = std::max(n, s.levels.size());
  return n;
}

std::string gts_table(const Batch& batch, const std::vector<Assignment>& results, const analysis::BatchStats& stats,
                      Writer& w) {
  // Columns common to the batch: cost terms of the assigner, levels of the
  // image with the most.
  const std::vector<std::string> terms = results.empty() ? std::vector<std::string>{} : results[0].cost_terms;
  const size_t num_levels = max_levels(stats);
  std::vector<std::string> head = {"image",
                                   "image_name",
                                   "gt",
                                   "image_gts",
                                   "label",
                                   "x1",
                                   "y1",
                                   "x2",
                                   "y2",
                                   "area",
                                   "scale",
                                   "candidates",
                                   "dynamic_k",
                                   "picked",
                                   "positives",
                                   "lost",
                                   "lost_to_background",
                                   "lost_to_gts",
                                   "starved"};
  add_summary_head("iou", &head);
  add_summary_head("cost", &head);
  for (const std::string& t : terms) add_summary_head("cost_" + t, &head);
  add_summary_head("centre_distance", &head);
  head.push_back("soft_target_sum");
  head.push_back("plan_mass");
  for (size_t l = 0; l < num_levels; ++l) head.push_back(fmt::format("positives_level{}", l));
  const size_t width = head.size();
  w.head(std::move(head));
  for (size_t b = 0; b < stats.images.size(); ++b) {
    const analysis::ImageStats& s = stats.images[b];
    const std::vector<std::string> image = {std::to_string(b), batch.images[b].name};
    const std::string image_gts = std::to_string(s.num_gts);
    if (s.gts.empty()) {
      // The image is there, with no GT: the GT cells are empty.
      std::vector<std::string> row = image;
      row.push_back("");
      row.push_back(image_gts);
      row.resize(width);
      w.row(std::move(row));
      continue;
    }
    for (const analysis::GtStats& g : s.gts) {
      std::vector<std::string> row = image;
      row.push_back(std::to_string(g.index));
      row.push_back(image_gts);
      row.push_back(std::to_string(g.label));
      for (float v : g.box) row.push_back(fmt::format("{}", v));
      row.push_back(number(g.area));
      row.push_back(analysis::scale_name(g.scale));
      row.push_back(std::to_string(g.candidates));
      row.push_back(g.dynamic_k >= 0 ? std::to_string(g.dynamic_k) : "");
      row.push_back(std::to_string(g.picked));
      row.push_back(std::to_string(g.positives));
      row.push_back(std::to_string(g.lost));
      int64_t to_background = 0, to_gts = 0;
      for (const auto& [other, count] : g.lost_to) {
        if (other == analysis::kBackground) to_background += count;
        else ++to_gts;
      }
      row.push_back(std::to_string(to_background));
      row.push_back(std::to_string(to_gts));
      row.push_back(boolean(g.starved()));
      add_summary(g.iou, &row);
      add_summary(g.cost, &row);
      for (size_t t = 0; t < terms.size(); ++t)
        add_summary(t < g.terms.size() ? g.terms[t] : analysis::Summary{}, &row);
      add_summary(g.centre_distance, &row);
      row.push_back(g.soft_target_sum ? number(*g.soft_target_sum) : "");
      row.push_back(g.plan_mass >= 0 ? number(g.plan_mass) : "");
      for (size_t l = 0; l < num_levels; ++l)
        row.push_back(l < g.positives_per_level.size() ? std::to_string(g.positives_per_level[l]) : "");
      w.row(std::move(row));
    }
  }
  return w.take();
}

std::string images_table(const Batch& batch, const std::vector<Assignment>& results, const analysis::BatchStats& stats,
                         Writer& w) {
  const size_t num_levels = max_levels(stats);
  std::vector<std::string> head = {"image",
                                   "image_name",
                                   "priors",
                                   "gts",
                                   "classes",
                                   "levels",
                                   "positives",
                                   "negatives",
                                   "ignored",
                                   "starved_gts",
                                   "to_padding",
                                   "matches",
                                   "priors_serving_several_gts",
                                   "notes",
                                   "warnings"};
  for (size_t l = 0; l < num_levels; ++l) head.push_back(fmt::format("positives_level{}", l));
  for (size_t l = 0; l < num_levels; ++l) head.push_back(fmt::format("gts_served_level{}", l));
  w.head(std::move(head));
  for (size_t b = 0; b < stats.images.size(); ++b) {
    const Problem& p = batch.images[b];
    const analysis::ImageStats& s = stats.images[b];
    std::vector<std::string> row = {std::to_string(b),
                                    p.name,
                                    std::to_string(p.num_priors()),
                                    std::to_string(p.num_gts()),
                                    std::to_string(p.num_classes()),
                                    std::to_string(p.num_levels()),
                                    std::to_string(s.positives),
                                    std::to_string(s.negatives),
                                    std::to_string(s.ignored),
                                    std::to_string(s.starved_gts.size()),
                                    std::to_string(s.to_padding),
                                    s.matches >= 0 ? std::to_string(s.matches) : "",
                                    s.matches >= 0 ? std::to_string(s.priors_serving_several) : "",
                                    std::to_string(results[b].notes.size()),
                                    std::to_string(results[b].warnings.size())};
    for (size_t l = 0; l < num_levels; ++l)
      row.push_back(l < s.levels.size() ? std::to_string(s.levels[l].positives) : "");
    for (size_t l = 0; l < num_levels; ++l)
      row.push_back(l < s.levels.size() ? std::to_string(s.levels[l].gts_served) : "");
    w.row(std::move(row));
  }
  return w.take();
}

std::string positives_table(const Batch& batch, const std::vector<Assignment>& results, Writer& w) {
  const std::vector<std::string> terms = results.empty() ? std::vector<std::string>{} : results[0].cost_terms;
  std::vector<std::string> head = {"image",    "image_name", "prior",      "level", "cx",  "cy",          "stride_w",
                                   "stride_h", "gt",         "padding_gt", "label", "iou", "max_overlap", "cost"};
  for (const std::string& t : terms) head.push_back("cost_" + t);
  for (const char* h : {"picked", "assign_metric"}) head.push_back(h);
  // O2F's soft targets: the columns only for assigners that write them.
  const bool soft = !results.empty() && results[0].soft_labels && results[0].soft_weights;
  if (soft)
    for (const char* h : {"soft_label", "soft_weight", "best"}) head.push_back(h);
  w.head(std::move(head));
  for (size_t b = 0; b < results.size(); ++b) {
    const Problem& p = batch.images[b];
    const Assignment& a = results[b];
    const int64_t num_gts = p.num_gts();
    // The recorded (prior, GT) pairs, for the pair's IoU and cost.
    std::map<std::pair<int64_t, int64_t>, const CandidatePair*> pairs;
    for (const CandidatePair& c : a.candidates) pairs.emplace(std::make_pair(c.prior, c.gt), &c);
    const auto emit = [&](int64_t prior, int64_t gt, int64_t label) {
      std::vector<std::string> row = {std::to_string(b), p.name, std::to_string(prior),
                                      std::to_string(p.prior_level[static_cast<size_t>(prior)])};
      if (p.has(Field::kPriors)) {
        for (int c = 0; c < 4; ++c) row.push_back(fmt::format("{}", p.priors(prior, c)));
      } else if (p.has(Field::kAnchors)) {  // the anchor's centre; no stride
        const auto at = [&](int c) { return static_cast<double>(p.anchors(prior, c)); };
        row.push_back(number((at(0) + at(2)) / 2.0));
        row.push_back(number((at(1) + at(3)) / 2.0));
        row.emplace_back();
        row.emplace_back();
      } else {
        row.resize(row.size() + 4);
      }
      row.push_back(std::to_string(gt));
      row.push_back(boolean(gt >= num_gts));
      row.push_back(std::to_string(label));
      const auto it = pairs.find({prior, gt});
      const CandidatePair* pair = it == pairs.end() ? nullptr : it->second;
      const bool overlaps = !a.max_overlaps.empty();
      // The IoU with this GT: the recorded pair's; else max_overlaps, which
      // is this GT's unless the prior serves several (multi-match).
      row.push_back(pair && overlaps         ? number(static_cast<double>(pair->iou))
                    : overlaps && !a.matches ? number(static_cast<double>(a.max_overlaps[static_cast<size_t>(prior)]))
                                             : "");
      row.push_back(overlaps ? number(static_cast<double>(a.max_overlaps[static_cast<size_t>(prior)])) : "");
      row.push_back(pair ? number(static_cast<double>(pair->cost)) : "");
      for (size_t t = 0; t < terms.size(); ++t) row.push_back(pair ? number(static_cast<double>(pair->terms[t])) : "");
      row.push_back(pair ? boolean(pair->picked) : "");
      row.push_back(a.assign_metrics && !a.matches
                        ? number(static_cast<double>((*a.assign_metrics)[static_cast<size_t>(prior)]))
                        : "");
      if (soft) {
        const bool here = a.soft_labels && a.soft_weights;
        row.push_back(here ? number(static_cast<double>((*a.soft_labels)[static_cast<size_t>(prior)])) : "");
        row.push_back(here ? number(static_cast<double>((*a.soft_weights)[static_cast<size_t>(prior)])) : "");
        row.push_back(here ? boolean(soft_role(a, prior) == SoftRole::kBest) : "");
      }
      w.row(std::move(row));
    };
    if (a.matches) {
      for (const Match& m : *a.matches)
        emit(m.prior, m.gt, m.gt < num_gts ? p.gt_labels[static_cast<size_t>(m.gt)] : -1);
    } else {
      for (int64_t i = 0; i < a.num_priors(); ++i)
        if (a.gt_inds[static_cast<size_t>(i)] > 0)
          emit(i, a.gt_inds[static_cast<size_t>(i)] - 1, a.labels[static_cast<size_t>(i)]);
    }
  }
  return w.take();
}

std::string lost_table(const Batch& batch, const analysis::BatchStats& stats, Writer& w) {
  w.head({"image", "image_name", "gt", "lost_to_gt", "lost_to_background", "count"});
  for (size_t b = 0; b < stats.images.size(); ++b)
    for (const analysis::GtStats& g : stats.images[b].gts)
      for (const auto& [other, count] : g.lost_to) {
        const bool background = other == analysis::kBackground;
        w.row({std::to_string(b), batch.images[b].name, std::to_string(g.index),
               background ? "" : std::to_string(other), boolean(background), std::to_string(count)});
      }
  return w.take();
}

}  // namespace

const std::vector<std::string>& csv_table_names() {
  static const std::vector<std::string> kNames = {"gts", "images", "positives", "lost"};
  return kNames;
}

Result<CsvTable> csv_table(const std::string& name) {
  const auto& names = csv_table_names();
  const auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) return Status::Usage(name);
  return static_cast<CsvTable>(it - names.begin());
}

std::string csv(const Batch& batch, const std::vector<Assignment>& results, CsvTable table) {
  const AssignerColumns tail = assigner_columns(results);
  Writer w(tail);
  if (table == CsvTable::kPositives) return positives_table(batch, results, w);
  const analysis::BatchStats stats = analysis::compute_batch_stats(batch, results);
  switch (table) {
    case CsvTable::kImages: return images_table(batch, results, stats, w);
    case CsvTable::kLost: return lost_table(batch, stats, w);
    default: return gts_table(batch, results, stats, w);
  }
}

}  // namespace assignscope::render
