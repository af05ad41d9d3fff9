// The diff as text and as JSON.
#include "render/diff.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "assignscope/version.h"
#include "render/render.h"

namespace assignscope::render {
namespace {

using analysis::BatchDiff;
using analysis::DiffTotals;
using analysis::GtDiff;
using analysis::ImageDiff;
using analysis::PriorFlip;
using analysis::PriorState;
using ojson = nlohmann::ordered_json;

// Columns right-aligned except those marked left; trailing blanks trimmed.
std::string columns(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& left) {
  std::vector<size_t> width(rows.empty() ? 0 : rows[0].size(), 0);
  // Display width: count UTF-8 lead bytes only ("→" is one column).
  const auto display = [](const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  };
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], display(r[c]));
  std::string out;
  for (const auto& r : rows) {
    std::string line = " ";
    for (size_t c = 0; c < r.size(); ++c) {
      const std::string pad(width[c] - display(r[c]), ' ');
      line += ' ';
      line += left[c] ? r[c] + pad : pad + r[c];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string side_line(const char* name, const analysis::DiffSide& s) {
  std::string line = fmt::format("{}: {}", name, s.assigner.empty() ? "?" : s.assigner);
  if (!s.params.empty()) line += " · " + s.params;
  if (!s.result.empty()) line += " (" + s.result + ")";
  return line + "\n";
}

std::string gts_text(PriorState state, const std::vector<int64_t>& gts) {
  if (state == PriorState::kIgnored) return "ign";
  if (gts.empty()) return "-";
  std::string s;
  for (int64_t g : gts) s += fmt::format("{}#{}", s.empty() ? "" : ",", g);
  return s;
}

// "1 changed GT", "2 changed GTs".
std::string count(int64_t n, const std::string& one, const std::string& many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string count_line(int64_t priors, int64_t same, int64_t pos_to_neg, int64_t neg_to_pos, int64_t changed,
                       int64_t ignored) {
  std::string line = fmt::format("agreement {} of {}", percent(same, priors), count(priors, "prior", "priors"));
  if (same == priors) return line + " · identical";
  line += fmt::format(" · {} pos→neg · {} neg→pos · {}", pos_to_neg, neg_to_pos,
                      count(changed, "changed GT", "changed GTs"));
  if (ignored) line += fmt::format(" · {} ignored on one side", ignored);
  return line;
}

// The headline: the positive sets, the worst GT, the GTs starved on one side.
// `where` names the worst GT ("#7", "image 1 #7").
std::string positives_line(const DiffTotals& t, const std::string& where) {
  std::string line = fmt::format("positives a {} → b {} · same GTs on both {} (Jaccard {:.3f})", t.positives_a,
                                 t.positives_b, t.positives_common, t.positives_jaccard());
  if (t.changed_gt > 0)
    line += fmt::format(" · positive on both {} (Jaccard {:.3f})", t.positives_common + t.changed_gt,
                        t.positive_priors_jaccard());
  if (t.gts > 0) {
    line += fmt::format(" · worst GT Jaccard {:.3f}", t.jaccard_min);
    if (t.jaccard_min < 1.0) line += " (" + where + ")";
  }
  if (t.starved_one_side == 0) return line + " · no GT starved on one side";
  if (t.starved_a_only == 0 || t.starved_b_only == 0)
    return line + fmt::format(" · {} starved on {} only", count(t.starved_one_side, "GT", "GTs"),
                              t.starved_a_only ? "a" : "b");
  return line + fmt::format(" · {} starved on one side ({} on a only, {} on b only)",
                            count(t.starved_one_side, "GT", "GTs"), t.starved_a_only, t.starved_b_only);
}

std::string gt_table(const ImageDiff& d) {
  bool labels = false, ks = false;
  int64_t same = 0;
  for (const GtDiff& g : d.gts) {
    labels |= g.label >= 0 || g.box.has_value();
    ks |= g.k_a >= 0 || g.k_b >= 0;
  }
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head = {"gt"};
  if (labels) head.insert(head.end(), {"label", "box (x1, y1, x2, y2)"});
  head.insert(head.end(), {"pos a", "pos b", "common", "jaccard"});
  if (ks) head.insert(head.end(), {"k a", "k b"});
  head.emplace_back("");
  rows.push_back(head);
  std::vector<int64_t> same_ids;
  for (const GtDiff& g : d.gts) {
    if (g.same()) {
      ++same;
      same_ids.push_back(g.index);
      continue;
    }
    std::vector<std::string> r = {std::to_string(g.index)};
    if (labels) {
      r.push_back(g.label >= 0 ? std::to_string(g.label) : "-");
      r.push_back(
          g.padding ? "padding"
          : g.box   ? fmt::format("{:.1f}, {:.1f}, {:.1f}, {:.1f}", (*g.box)[0], (*g.box)[1], (*g.box)[2], (*g.box)[3])
                    : "-");
    }
    r.push_back(std::to_string(g.positives_a));
    r.push_back(std::to_string(g.positives_b));
    r.push_back(std::to_string(g.common));
    r.push_back(fmt::format("{:.3f}", g.jaccard));
    if (ks) {
      r.push_back(g.k_a >= 0 ? std::to_string(g.k_a) : "-");
      r.push_back(g.k_b >= 0 ? std::to_string(g.k_b) : "-");
    }
    r.push_back(!g.starved_one_side() ? "" : g.positives_a == 0 ? "STARVED on a" : "STARVED on b");
    rows.push_back(std::move(r));
  }
  std::string out;
  if (rows.size() > 1) {
    std::vector<bool> left(head.size(), false);
    if (labels) left[2] = true;
    left.back() = true;
    out += columns(rows, left);
  }
  if (same) {
    std::string ids;
    for (size_t k = 0; k < same_ids.size() && k < 12; ++k) ids += fmt::format(" #{}", same_ids[k]);
    if (same_ids.size() > 12) ids += " ...";
    out += fmt::format("  {} GT{} the same on both sides:{}\n", same, same == 1 ? "" : "s", ids);
  }
  return out;
}

std::string short_number(double v) {
  if (!std::isfinite(v)) return fmt::format("{}", v);
  const std::string s = fmt::format("{:+.3g}", v);
  return s == "+0" || s == "-0" ? "0" : s;
}

std::string flip_table(const ImageDiff& d, int64_t top) {
  const auto total = static_cast<int64_t>(d.flips.size());
  if (total == 0 || top <= 0) {
    return total == 0 ? "" : count(total, "flipped prior", "flipped priors") + " (--top N lists them)\n";
  }
  const int64_t shown = std::min(top, total);
  std::string out =
      shown == total
          ? fmt::format("{}{}\n", count(total, "flipped prior", "flipped priors"), total > 1 ? ", worst GTs first" : "")
          : fmt::format("flipped priors: {} of {}, worst GTs first (--top N for more)\n", shown, total);
  // Columns only where a listed flip has something to put in them.
  bool levels = false, costs = false, whys = false;
  for (int64_t k = 0; k < shown; ++k) {
    const PriorFlip& f = d.flips[static_cast<size_t>(k)];
    levels |= f.level >= 0;
    costs |= f.attribution.has_value();
    whys |= !f.why.empty();
  }
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head = {"prior"};
  if (levels) head.emplace_back("level");
  head.insert(head.end(), {"kind", "a", "b"});
  if (costs) head.insert(head.end(), {"Δcost", "explained by"});
  if (whys) head.emplace_back("why");
  rows.push_back(head);
  for (int64_t k = 0; k < shown; ++k) {
    const PriorFlip& f = d.flips[static_cast<size_t>(k)];
    std::vector<std::string> r = {std::to_string(f.prior)};
    if (levels) r.push_back(f.level >= 0 ? std::to_string(f.level) : "-");
    r.emplace_back(analysis::flip_kind_name(f.kind));
    r.push_back(gts_text(f.state_a, f.gts_a));
    r.push_back(gts_text(f.state_b, f.gts_b));
    if (costs) {
      r.push_back(f.attribution ? short_number(f.attribution->cost_push) : "-");
      r.push_back(f.attribution && !f.attribution->term.empty()
                      ? f.attribution->term + " " + short_number(f.attribution->push)
                      : "-");
    }
    if (whys) {
      std::string why;
      for (const std::string& w : f.why) why += (why.empty() ? "" : "; ") + w;
      r.push_back(why);
    }
    rows.push_back(std::move(r));
  }
  std::vector<bool> left(head.size(), false);
  const size_t kind = levels ? 2 : 1;
  for (size_t c = kind; c < kind + 3; ++c) left[c] = true;
  if (costs) left[kind + 3 + 1] = true;  // explained by
  if (whys) left.back() = true;
  out += columns(rows, left);
  // Why there is no cost column, when the sides recorded the pairs it would use.
  bool recorded = false;
  for (const PriorFlip& f : d.flips)
    for (const analysis::PairCosts& pc : f.pairs) recorded |= pc.a.has_value() || pc.b.has_value();
  if (recorded && !d.attribution_note.empty()) out += "  Δcost / explained by: " + d.attribution_note + "\n";
  return out;
}

ojson gts_json(const std::vector<int64_t>& gts) {
  ojson a = ojson::array();
  for (int64_t g : gts) a.push_back(g);
  return a;
}

ojson candidate_json(const std::optional<CandidatePair>& c, const std::vector<std::string>& names) {
  if (!c) return nullptr;
  ojson terms = ojson::object();
  for (size_t t = 0; t < names.size() && t < kMaxCostTerms; ++t) terms[names[t]] = json_float(c->terms[t]);
  return {{"cost", json_float(c->cost)},
          {"terms", terms},
          {"iou", json_float(c->iou)},
          {"inside", c->inside},
          {"picked", c->picked}};
}

ojson number_json(double v) {
  if (!std::isfinite(v)) return nullptr;
  return std::stod(fmt::format("{:.7g}", v));
}

// The positive-set measures first, then agreement over every prior.
ojson summary_json(const DiffTotals& t, bool batch) {
  ojson worst = nullptr;
  if (t.worst_gt >= 0) {
    worst = ojson::object();
    if (batch) worst["image"] = t.worst_image;
    worst["gt"] = t.worst_gt;
    worst["jaccard"] = number_json(t.jaccard_min);
  }
  ojson s = {{"positives_a", t.positives_a},
             {"positives_b", t.positives_b},
             {"positives_same", t.positives_common},
             {"positives_jaccard", number_json(t.positives_jaccard())},
             {"positive_priors_jaccard", number_json(t.positive_priors_jaccard())},
             {"gts", t.gts},
             {"jaccard_min", number_json(t.jaccard_min)},
             {"jaccard_mean", number_json(t.jaccard_mean)},
             {"worst_gt", worst},
             {"starved_one_side", t.starved_one_side},
             {"starved_a_only", t.starved_a_only},
             {"starved_b_only", t.starved_b_only},
             {"priors", t.priors},
             {"same", t.same},
             {"agreement", number_json(t.agreement())},
             {"differing", t.differing()},
             {"pos_to_neg", t.pos_to_neg},
             {"neg_to_pos", t.neg_to_pos},
             {"changed_gt", t.changed_gt},
             {"ignored_changes", t.ignored_changes}};
  if (batch) s["images"] = t.images;
  return s;
}

}  // namespace

std::string percent(int64_t part, int64_t whole) {
  if (whole == 0) return "100.0 %";
  const double p = 100.0 * static_cast<double>(part) / static_cast<double>(whole);
  for (int digits = 1; digits < 6; ++digits) {
    const std::string s = fmt::format("{:.{}f}", p, digits);
    const bool rounds_away = (part != whole && s.rfind("100.", 0) == 0) || (part != 0 && std::stod(s) == 0.0);
    if (!rounds_away) return s + " %";
  }
  return fmt::format("{:.6f} %", p);
}

std::string diff_table(const BatchDiff& diff, int64_t top) {
  std::string out = side_line("a", diff.a) + side_line("b", diff.b);
  const DiffTotals t = analysis::totals(diff.images);
  if (!diff.source.empty() || !diff.batch) {
    std::string what = diff.source;
    if (diff.batch) what += fmt::format("{}{}", what.empty() ? "" : " · ", count(t.images, "image", "images"));
    if (!diff.batch && !diff.images.empty()) {
      const ImageDiff& d = diff.images[0];
      what += fmt::format("{}{}", what.empty() ? "" : " · ", count(d.num_priors, "prior", "priors"));
      if (d.num_gts >= 0) what += " · " + count(d.num_gts, "GT", "GTs");
      else what += " · GTs known from the results' indices only";
    }
    out += what + "\n";
  }
  for (size_t k = 0; k < diff.images.size(); ++k) {
    const ImageDiff& d = diff.images[k];
    if (diff.batch) {
      out +=
          fmt::format("\nimage {}{} · {}", k, d.name.empty() || d.name == std::to_string(k) ? "" : " (" + d.name + ")",
                      count(d.num_priors, "prior", "priors"));
      out += d.num_gts >= 0 ? " · " + count(d.num_gts, "GT", "GTs") + "\n"
                            : " · GTs known from the results' indices only\n";
    }
    const DiffTotals one = analysis::totals({d});
    out += positives_line(one, fmt::format("#{}", one.worst_gt)) + "\n";
    out += count_line(d.num_priors, d.same, d.pos_to_neg, d.neg_to_pos, d.changed_gt, d.ignored_changes) + "\n";
    out += gt_table(d);
    out += flip_table(d, top);
  }
  if (diff.batch) {
    out += fmt::format("\nbatch: {} · {} · GT Jaccard mean {:.3f}\n", count(t.images, "image", "images"),
                       positives_line(t, fmt::format("image {} #{}", t.worst_image, t.worst_gt)), t.jaccard_mean);
    out += "batch: " + count_line(t.priors, t.same, t.pos_to_neg, t.neg_to_pos, t.changed_gt, t.ignored_changes) + "\n";
  }
  return out;
}

ojson diff_json(const BatchDiff& diff, const std::vector<analysis::ConditionResult>& conditions) {
  ojson out;
  out["schema"] = kDiffSchema;
  out["tool"] = {{"name", "assignscope"}, {"version", ASSIGNSCOPE_VERSION}};
  for (const auto& [key, side] : {std::pair{"a", &diff.a}, std::pair{"b", &diff.b}})
    out[key] = {{"assigner", side->assigner},
                {"params", side->params_json},
                {"result", side->result.empty() ? ojson(nullptr) : ojson(side->result)}};
  out["source"] = diff.source.empty() ? ojson(nullptr) : ojson(diff.source);
  out["batch"] = diff.batch;
  out["summary"] = summary_json(analysis::totals(diff.images), true);

  ojson images = ojson::array();
  for (const ImageDiff& d : diff.images) {
    ojson img;
    img["name"] = d.name;
    img["num_priors"] = d.num_priors;
    img["num_gts"] = d.num_gts >= 0 ? ojson(d.num_gts) : ojson(nullptr);
    img["summary"] = summary_json(analysis::totals({d}), false);
    img["cost_based"] = d.cost_based;
    img["attributed"] = d.attributed;
    img["attribution_note"] = d.attribution_note.empty() ? ojson(nullptr) : ojson(d.attribution_note);
    ojson gts = ojson::array();
    for (const GtDiff& g : d.gts) {
      ojson j;
      j["index"] = g.index;
      j["label"] = g.label >= 0 ? ojson(g.label) : ojson(nullptr);
      j["box"] = g.box ? ojson{json_float((*g.box)[0]), json_float((*g.box)[1]), json_float((*g.box)[2]),
                               json_float((*g.box)[3])}
                       : ojson(nullptr);
      j["padding"] = g.padding;
      j["positives_a"] = g.positives_a;
      j["positives_b"] = g.positives_b;
      j["common"] = g.common;
      j["jaccard"] = number_json(g.jaccard);
      j["dynamic_k_a"] = g.k_a >= 0 ? ojson(g.k_a) : ojson(nullptr);
      j["dynamic_k_b"] = g.k_b >= 0 ? ojson(g.k_b) : ojson(nullptr);
      j["starved_one_side"] = g.starved_one_side();
      gts.push_back(std::move(j));
    }
    img["gts"] = std::move(gts);
    ojson flips = ojson::array();
    for (const PriorFlip& f : d.flips) {
      ojson j;
      j["prior"] = f.prior;
      j["level"] = f.level >= 0 ? ojson(f.level) : ojson(nullptr);
      j["kind"] = analysis::flip_kind_key(f.kind);
      j["state_a"] = analysis::prior_state_name(f.state_a);
      j["state_b"] = analysis::prior_state_name(f.state_b);
      j["gts_a"] = gts_json(f.gts_a);
      j["gts_b"] = gts_json(f.gts_b);
      ojson pairs = ojson::array();
      for (const analysis::PairCosts& pc : f.pairs)
        pairs.push_back(
            {{"gt", pc.gt}, {"a", candidate_json(pc.a, d.cost_terms_a)}, {"b", candidate_json(pc.b, d.cost_terms_b)}});
      j["pairs"] = std::move(pairs);
      if (f.attribution) {
        ojson pushes = ojson::object();
        for (const auto& [name, value] : f.attribution->pushes) pushes[name] = number_json(value);
        j["attribution"] = {{"cost_push", number_json(f.attribution->cost_push)},
                            {"pushes", pushes},
                            {"term", f.attribution->term.empty() ? ojson(nullptr) : ojson(f.attribution->term)},
                            {"push", number_json(f.attribution->push)}};
      } else {
        j["attribution"] = nullptr;
      }
      j["why"] = f.why;
      flips.push_back(std::move(j));
    }
    img["flips"] = std::move(flips);
    images.push_back(std::move(img));
  }
  out["images"] = std::move(images);
  ojson fail_if = ojson::array();
  for (const analysis::ConditionResult& c : conditions)
    fail_if.push_back({{"condition", c.condition.text},
                       {"key", c.condition.key},
                       {"op", c.condition.op},
                       {"threshold", number_json(c.condition.threshold)},
                       {"value", number_json(c.value)},
                       {"holds", c.holds}});
  out["fail_if"] = std::move(fail_if);
  return out;
}

}  // namespace assignscope::render
