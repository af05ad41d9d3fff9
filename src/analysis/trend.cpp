#include "analysis/trend.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "core/number.h"

namespace assignscope::analysis {
namespace {

int count_bin(int64_t n) { return static_cast<int>(std::clamp<int64_t>(n, 0, kCountBins - 1)); }

int iou_bin(double iou) { return std::clamp(static_cast<int>(std::floor(iou * kIouBins)), 0, kIouBins - 1); }

template <size_t K>
void add_array(std::array<int64_t, K>& a, const std::array<int64_t, K>& b) {
  for (size_t i = 0; i < K; ++i) a[i] += b[i];
}

void add_levels(std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  if (a.size() < b.size()) a.resize(b.size(), 0);
  for (size_t i = 0; i < b.size(); ++i) a[i] += b[i];
}

// The smallest source wins, so the choice does not depend on the order in
// which parts are added.
void add_tracked(std::map<int64_t, TrackedImage>& into, int64_t step, const TrackedImage& image) {
  auto [it, inserted] = into.emplace(step, image);
  if (!inserted && image.source < it->second.source) it->second = image;
}

// Keeps the kTrackedImages smallest image ids.
void bound_tracked(std::map<std::string, std::map<int64_t, TrackedImage>>& tracked) {
  while (tracked.size() > kTrackedImages) tracked.erase(std::prev(tracked.end()));
}

// A number after `key` in `part` ("step-000500", "iter_2000", "epoch12"):
// the key at the start of the part or after a non-letter, then an optional
// '-' or '_', then digits to the end of the part or a non-digit.
std::optional<int64_t> number_after(const std::string& part, const std::string& key) {
  for (size_t at = part.find(key); at != std::string::npos; at = part.find(key, at + 1)) {
    if (at > 0 && std::isalpha(static_cast<unsigned char>(part[at - 1]))) continue;
    size_t i = at + key.size();
    if (i < part.size() && (part[i] == '-' || part[i] == '_')) ++i;
    size_t j = i;
    while (j < part.size() && std::isdigit(static_cast<unsigned char>(part[j]))) ++j;
    if (j == i || j - i > 15) continue;
    return parse_int(std::string_view(part).substr(i, j - i));
  }
  return std::nullopt;
}

}  // namespace

const char* relative_bin_name(int bin) {
  static const char* const kNames[kRelativeBins] = {"<0.5", "0.5-1", "1-2", "2-4", "4-8", ">=8"};
  return kNames[std::clamp(bin, 0, kRelativeBins - 1)];
}

int relative_bin(double side_over_stride) {
  if (!(side_over_stride >= 0.5)) return 0;  // NaN too: a degenerate box
  return std::min(kRelativeBins - 1, 1 + static_cast<int>(std::floor(std::log2(side_over_stride) + 1)));
}

void TrendStep::add(const TrendStep& o) {
  images += o.images, gts += o.gts, positives += o.positives, starved += o.starved;
  lost_picks += o.lost_picks, gts_losing += o.gts_losing;
  add_array(positives_histogram, o.positives_histogram);
  k_gts += o.k_gts, k_sum += o.k_sum;
  add_array(k_histogram, o.k_histogram);
  iou_count += o.iou_count;
  iou_sum.add(o.iou_sum);
  add_array(iou_histogram, o.iou_histogram);
  for (size_t i = 0; i < coco.size(); ++i) coco[i].add(o.coco[i]);
  for (size_t i = 0; i < relative.size(); ++i) relative[i].add(o.relative[i]);
  relative_unknown += o.relative_unknown;
  add_levels(level_positives, o.level_positives);
  loss_images += o.loss_images;
  if (loss.size() < o.loss.size()) loss.resize(o.loss.size());
  for (size_t i = 0; i < o.loss.size(); ++i) loss[i].add(o.loss[i]);
}

void Trend::add(const Trend& other) {
  for (const auto& [step, s] : other.steps) steps[step].add(s);
  for (const auto& [id, by_step] : other.tracked)
    for (const auto& [step, image] : by_step) add_tracked(tracked[id], step, image);
  bound_tracked(tracked);
  dumps += other.dumps;
  failed += other.failed;
}

double finest_stride(const Problem& problem) {
  if (!problem.has(Field::kPriors) || problem.strideless_priors) return 0;
  float finest = std::numeric_limits<float>::infinity();
  for (Eigen::Index i = 0; i < problem.priors.rows(); ++i)
    if (problem.priors(i, 2) > 0) finest = std::min(finest, problem.priors(i, 2));
  return std::isfinite(finest) ? static_cast<double>(finest) : 0.0;
}

void add_image(Trend* trend, int64_t step, const std::string& image_id, const std::string& source,
               const Problem& problem, const Assignment& assignment, const ImageStats& stats,
               const std::vector<double>* loss) {
  TrendStep& s = trend->steps[step];
  s.images += 1;
  const double stride = finest_stride(problem);
  for (const GtStats& g : stats.gts) {
    s.gts += 1;
    s.positives += g.positives;
    s.starved += g.starved() ? 1 : 0;
    s.lost_picks += g.lost;
    s.gts_losing += g.lost > 0 ? 1 : 0;
    s.positives_histogram[static_cast<size_t>(count_bin(g.positives))] += 1;
    if (g.dynamic_k >= 0) {
      s.k_gts += 1;
      s.k_sum += g.dynamic_k;
      s.k_histogram[static_cast<size_t>(count_bin(g.dynamic_k))] += 1;
    }
    const SizeGroup one{1, g.positives, g.starved() ? 1 : 0};
    s.coco[static_cast<size_t>(g.scale)].add(one);
    if (stride > 0) {
      const double side = std::max(0.0, static_cast<double>(std::min(g.box[2] - g.box[0], g.box[3] - g.box[1])));
      s.relative[static_cast<size_t>(relative_bin(side / stride))].add(one);
    } else {
      s.relative_unknown += 1;
    }
  }
  // The positives' IoU as the assigner measured it (max_overlaps), per prior.
  if (stats.has_overlaps && !assignment.max_overlaps.empty()) {
    for (size_t i = 0; i < assignment.gt_inds.size(); ++i) {
      if (assignment.gt_inds[i] <= 0) continue;
      const double iou = static_cast<double>(assignment.max_overlaps[i]);
      s.iou_count += 1;
      s.iou_sum.add(iou);
      s.iou_histogram[static_cast<size_t>(iou_bin(iou))] += 1;
    }
  }
  std::vector<int64_t> levels;
  levels.reserve(stats.levels.size());
  for (const LevelStats& l : stats.levels) levels.push_back(l.positives);
  add_levels(s.level_positives, levels);
  if (loss) {
    s.loss_images += 1;
    if (s.loss.size() < loss->size()) s.loss.resize(loss->size());
    for (size_t k = 0; k < loss->size(); ++k) s.loss[k].add((*loss)[k]);
  }
  if (image_id.empty()) return;
  // Tracked: only when the id is among the smallest kept.
  if (trend->tracked.size() >= kTrackedImages && !trend->tracked.count(image_id) &&
      image_id > std::prev(trend->tracked.end())->first)
    return;
  TrackedImage image;
  image.source = source;
  for (size_t g = 0; g < stats.gts.size() && g < kTrackedGts; ++g) {
    const GtStats& gs = stats.gts[g];
    image.gts.push_back({gs.label, gs.box, gs.dynamic_k, gs.positives, gs.iou.empty() ? -1.0 : gs.iou.mean});
  }
  add_tracked(trend->tracked[image_id], step, image);
  bound_tracked(trend->tracked);
}

Result<int64_t> training_step(const Meta& meta, const std::string& path, const std::string& by) {
  const std::optional<int64_t>& recorded = by == "epoch" ? meta.epoch : meta.step;
  if (recorded) return *recorded;
  const std::vector<std::string> keys =
      by == "epoch" ? std::vector<std::string>{"epoch"} : std::vector<std::string>{"step", "iter", "it"};
  std::string lower(path);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  // The last path part that names one.
  size_t end = lower.size();
  while (end > 0) {
    const size_t slash = lower.rfind('/', end - 1);
    const size_t begin = slash == std::string::npos ? 0 : slash + 1;
    const std::string part = lower.substr(begin, end - begin);
    for (const std::string& key : keys)
      if (auto n = number_after(part, key)) return *n;
    if (slash == std::string::npos) break;
    end = slash;
  }
  return Status::InvalidInput(
      by == "epoch"
          ? fmt::format("{}: no epoch: meta.json has no \"epoch\" and no part of the path names one (epoch_12/)", path)
          : fmt::format("{}: no training step: meta.json has no \"step\" and no part of the path names one "
                        "(step-000500/, iter_2000/); or group by epoch (--by epoch)",
                        path));
}

// ---------------------------------------------------------------------------
// The partial format.

namespace {

template <size_t K>
nlohmann::ordered_json counts(const std::array<int64_t, K>& a) {
  return nlohmann::ordered_json(std::vector<int64_t>(a.begin(), a.end()));
}

nlohmann::ordered_json groups(const SizeGroup* g, size_t n) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (size_t i = 0; i < n; ++i) out.push_back({g[i].gts, g[i].positives, g[i].starved});
  return out;
}

// Reading it back: every value checked, errors name the file and the field.
class PartialReader {
 public:
  explicit PartialReader(std::string origin) : origin_(std::move(origin)) {}

  Status error(const std::string& where, const std::string& expected) const {
    return Status::Corrupt(fmt::format("{}: {}: expected {}", origin_, where, expected));
  }
  const nlohmann::json* field(const nlohmann::json& j, const char* key, const std::string& where) {
    if (!j.is_object() || !j.contains(key)) {
      status_ = error(where, fmt::format("a field \"{}\"", key));
      return nullptr;
    }
    return &j[key];
  }
  bool count(const nlohmann::json& j, const char* key, const std::string& where, int64_t* out) {
    const nlohmann::json* v = field(j, key, where);
    if (!v) return false;
    if (!v->is_number_integer() || v->get<int64_t>() < 0) {
      status_ = error(where + "." + key, "a count (an integer >= 0)");
      return false;
    }
    *out = v->get<int64_t>();
    return true;
  }
  bool counts(const nlohmann::json& v, size_t n, const std::string& where, int64_t* out) {
    if (!v.is_array() || (n != 0 && v.size() != n)) {
      status_ = error(where, fmt::format("an array of {} counts", n));
      return false;
    }
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_number_integer() || v[i].get<int64_t>() < 0) {
        status_ = error(fmt::format("{}[{}]", where, i), "a count (an integer >= 0)");
        return false;
      }
      out[i] = v[i].get<int64_t>();
    }
    return true;
  }
  template <size_t K>
  bool count_array(const nlohmann::json& j, const char* key, const std::string& where, std::array<int64_t, K>* out) {
    const nlohmann::json* v = field(j, key, where);
    return v && counts(*v, K, where + "." + key, out->data());
  }
  bool sum(const nlohmann::json& v, const std::string& where, ExactSum* out) {
    std::optional<ExactSum> s = v.is_string() ? ExactSum::parse(v.get<std::string>()) : std::nullopt;
    if (!s) {
      status_ = error(where, "an exact sum (48 lower-case hex digits)");
      return false;
    }
    *out = *s;
    return true;
  }
  bool number(const nlohmann::json& v, const std::string& where, double* out) {
    if (!v.is_number() || !std::isfinite(v.get<double>())) {
      status_ = error(where, "a finite number");
      return false;
    }
    *out = v.get<double>();
    return true;
  }
  bool groups(const nlohmann::json& j, const char* key, const std::string& where, SizeGroup* out, size_t n) {
    const nlohmann::json* v = field(j, key, where);
    if (!v) return false;
    if (!v->is_array() || v->size() != n) {
      status_ = error(where + "." + key, fmt::format("an array of {} [gts, positives, starved]", n));
      return false;
    }
    for (size_t i = 0; i < n; ++i) {
      int64_t g[3];
      if (!counts((*v)[i], 3, fmt::format("{}.{}[{}]", where, key, i), g)) return false;
      out[i] = {g[0], g[1], g[2]};
    }
    return true;
  }
  const Status& status() const { return status_; }

 private:
  std::string origin_;
  Status status_;
};

// Bounds on what a partial may declare (a hostile file stays small).
constexpr size_t kMaxLevels = 1024, kMaxLossComponents = 64, kMaxText = 4096;

Status read_step(PartialReader& r, const nlohmann::json& j, const std::string& where, size_t components, TrendStep* s) {
  const bool ok = r.count(j, "images", where, &s->images) && r.count(j, "gts", where, &s->gts) &&
                  r.count(j, "positives", where, &s->positives) && r.count(j, "starved", where, &s->starved) &&
                  r.count(j, "lost_picks", where, &s->lost_picks) && r.count(j, "gts_losing", where, &s->gts_losing) &&
                  r.count_array(j, "positives_histogram", where, &s->positives_histogram) &&
                  r.count(j, "k_gts", where, &s->k_gts) && r.count(j, "k_sum", where, &s->k_sum) &&
                  r.count_array(j, "k_histogram", where, &s->k_histogram) &&
                  r.count(j, "iou_count", where, &s->iou_count) && r.field(j, "iou_sum", where) &&
                  r.sum(j["iou_sum"], where + ".iou_sum", &s->iou_sum) &&
                  r.count_array(j, "iou_histogram", where, &s->iou_histogram) &&
                  r.groups(j, "coco", where, s->coco.data(), s->coco.size()) &&
                  r.groups(j, "relative", where, s->relative.data(), s->relative.size()) &&
                  r.count(j, "relative_unknown", where, &s->relative_unknown) && r.field(j, "level_positives", where) &&
                  r.count(j, "loss_images", where, &s->loss_images) && r.field(j, "loss", where);
  if (!ok) return r.status();
  const nlohmann::json& levels = j["level_positives"];
  if (!levels.is_array() || levels.size() > kMaxLevels)
    return r.error(where + ".level_positives", fmt::format("an array of at most {} counts", kMaxLevels));
  s->level_positives.resize(levels.size());
  if (!r.counts(levels, levels.size(), where + ".level_positives", s->level_positives.data())) return r.status();
  const nlohmann::json& loss = j["loss"];
  if (!loss.is_array() || loss.size() != (s->loss_images > 0 ? components : loss.size()) || loss.size() > components)
    return r.error(where + ".loss", fmt::format("an array of {} exact sums (the loss components)", components));
  s->loss.resize(loss.size());
  for (size_t k = 0; k < loss.size(); ++k)
    if (!r.sum(loss[k], fmt::format("{}.loss[{}]", where, k), &s->loss[k])) return r.status();
  return Status();
}

Status read_tracked(PartialReader& r, const nlohmann::json& j, Trend* t) {
  if (!j.is_array() || j.size() > kTrackedImages)
    return r.error("tracked", fmt::format("an array of at most {} images", kTrackedImages));
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string where = fmt::format("tracked[{}]", i);
    const nlohmann::json* id = r.field(j[i], "image_id", where);
    const nlohmann::json* steps = id ? r.field(j[i], "steps", where) : nullptr;
    if (!steps) return r.status();
    if (!id->is_string() || id->get<std::string>().empty() || id->get<std::string>().size() > kMaxText)
      return r.error(where + ".image_id", "a non-empty string");
    if (!steps->is_array()) return r.error(where + ".steps", "an array");
    auto& by_step = t->tracked[id->get<std::string>()];
    for (size_t k = 0; k < steps->size(); ++k) {
      const std::string at = fmt::format("{}.steps[{}]", where, k);
      const nlohmann::json& e = (*steps)[k];
      const nlohmann::json* step = r.field(e, "step", at);
      const nlohmann::json* source = step ? r.field(e, "source", at) : nullptr;
      const nlohmann::json* gts = source ? r.field(e, "gts", at) : nullptr;
      if (!gts) return r.status();
      if (!step->is_number_integer()) return r.error(at + ".step", "an integer");
      if (!source->is_string() || source->get<std::string>().size() > kMaxText)
        return r.error(at + ".source", "a string");
      if (!gts->is_array() || gts->size() > kTrackedGts)
        return r.error(at + ".gts", fmt::format("an array of at most {} GTs", kTrackedGts));
      TrackedImage image;
      image.source = source->get<std::string>();
      for (size_t g = 0; g < gts->size(); ++g) {
        const nlohmann::json& v = (*gts)[g];
        const std::string gw = fmt::format("{}.gts[{}]", at, g);
        if (!v.is_array() || v.size() != 8 || !v[0].is_number_integer() || !v[5].is_number_integer() ||
            !v[6].is_number_integer())
          return r.error(gw, "[label, x1, y1, x2, y2, dynamic_k, positives, iou_mean]");
        TrackedGt gt;
        gt.label = v[0].get<int64_t>();
        for (size_t c = 0; c < 4; ++c) {
          double x = 0;
          if (!r.number(v[1 + c], gw, &x)) return r.status();
          gt.box[c] = static_cast<float>(x);
        }
        gt.dynamic_k = v[5].get<int64_t>();
        gt.positives = v[6].get<int64_t>();
        if (!r.number(v[7], gw, &gt.iou_mean)) return r.status();
        image.gts.push_back(gt);
      }
      add_tracked(by_step, step->get<int64_t>(), image);
    }
  }
  return Status();
}

}  // namespace

nlohmann::ordered_json to_partial_json(const Trend& t) {
  nlohmann::ordered_json out;
  out["by"] = t.by;
  out["loss_components"] = t.loss_components;
  out["dumps"] = t.dumps;
  out["failed"] = t.failed;
  nlohmann::ordered_json steps = nlohmann::ordered_json::array();
  for (const auto& [step, s] : t.steps) {
    nlohmann::ordered_json j;
    j["step"] = step;
    j["images"] = s.images, j["gts"] = s.gts, j["positives"] = s.positives, j["starved"] = s.starved;
    j["lost_picks"] = s.lost_picks, j["gts_losing"] = s.gts_losing;
    j["positives_histogram"] = counts(s.positives_histogram);
    j["k_gts"] = s.k_gts, j["k_sum"] = s.k_sum;
    j["k_histogram"] = counts(s.k_histogram);
    j["iou_count"] = s.iou_count;
    j["iou_sum"] = s.iou_sum.hex();
    j["iou_histogram"] = counts(s.iou_histogram);
    j["coco"] = groups(s.coco.data(), s.coco.size());
    j["relative"] = groups(s.relative.data(), s.relative.size());
    j["relative_unknown"] = s.relative_unknown;
    j["level_positives"] = s.level_positives;
    j["loss_images"] = s.loss_images;
    j["loss"] = nlohmann::ordered_json::array();
    for (const ExactSum& l : s.loss) j["loss"].push_back(l.hex());
    steps.push_back(std::move(j));
  }
  out["steps"] = std::move(steps);
  nlohmann::ordered_json tracked = nlohmann::ordered_json::array();
  for (const auto& [id, by_step] : t.tracked) {
    nlohmann::ordered_json image{{"image_id", id}, {"steps", nlohmann::ordered_json::array()}};
    for (const auto& [step, im] : by_step) {
      nlohmann::ordered_json gts = nlohmann::ordered_json::array();
      for (const TrackedGt& g : im.gts)
        gts.push_back({g.label, g.box[0], g.box[1], g.box[2], g.box[3], g.dynamic_k, g.positives, g.iou_mean});
      image["steps"].push_back({{"step", step}, {"source", im.source}, {"gts", std::move(gts)}});
    }
    tracked.push_back(std::move(image));
  }
  out["tracked"] = std::move(tracked);
  return out;
}

Result<Trend> from_partial_json(const nlohmann::json& j, const std::string& origin) {
  PartialReader r(origin);
  Trend t;
  const nlohmann::json* by = r.field(j, "by", "the partial");
  const nlohmann::json* components = by ? r.field(j, "loss_components", "the partial") : nullptr;
  const nlohmann::json* steps = components ? r.field(j, "steps", "the partial") : nullptr;
  const nlohmann::json* tracked = steps ? r.field(j, "tracked", "the partial") : nullptr;
  if (!tracked || !r.count(j, "dumps", "the partial", &t.dumps) || !r.count(j, "failed", "the partial", &t.failed))
    return r.status();
  if (*by != "step" && *by != "epoch") return r.error("by", "\"step\" or \"epoch\"");
  t.by = by->get<std::string>();
  if (!components->is_array() || components->size() > kMaxLossComponents)
    return r.error("loss_components", fmt::format("an array of at most {} names", kMaxLossComponents));
  for (const auto& c : *components) {
    if (!c.is_string() || c.get<std::string>().empty() || c.get<std::string>().size() > 100)
      return r.error("loss_components", "names (strings)");
    t.loss_components.push_back(c.get<std::string>());
  }
  if (!steps->is_array()) return r.error("steps", "an array");
  for (size_t i = 0; i < steps->size(); ++i) {
    const std::string where = fmt::format("steps[{}]", i);
    const nlohmann::json& e = (*steps)[i];
    const nlohmann::json* step = r.field(e, "step", where);
    if (!step) return r.status();
    if (!step->is_number_integer()) return r.error(where + ".step", "an integer");
    if (t.steps.count(step->get<int64_t>()))
      return r.error(where + ".step", fmt::format("each step once; {} is there twice", step->get<int64_t>()));
    ASSIGNSCOPE_RETURN_IF_ERROR(read_step(r, e, where, t.loss_components.size(), &t.steps[step->get<int64_t>()]));
  }
  ASSIGNSCOPE_RETURN_IF_ERROR(read_tracked(r, *tracked, &t));
  return t;
}

}  // namespace assignscope::analysis
