// assignscope_read_floor: the *read floor* of docs/performance.md — how long
// it takes, per image, just to read once the inputs an assigner must read.
//
//   assignscope_read_floor DUMP... -a NAME [-a NAME]... [-n N] [-o FILE]
//
// The dump is loaded with the library (io::load_dumps), as `assignscope
// bench` loads it. For each assigner named, the set of values it must read is
// fixed beforehand (which priors are candidates, which (prior, class) logits
// matter: an index list, built outside the timing); then the timed pass
// reads exactly those values once and folds their bit patterns into a sum
// (integer adds, which the compiler vectorises: the pass runs at the speed
// of the memory system, not of a floating-point dependency chain). Each
// sample times k back-to-back passes (k chosen so that a sample lasts about
// 0.2 ms); the floor is the median of N samples divided by k. The data is
// hot in cache, as it is for `assignscope bench`'s repeated replays.
//
// The floors, by family (docs/performance.md defines them for the reader):
//   geometry      every prior (and anchor, when the dump has them), the GT
//                 boxes and labels: atss, atss.mmyolo, max-iou, fcos, yolov5
//   candidate rows  geometry, and for every candidate prior its whole row of
//                 C logits, its predicted box and (simota flavours, yolov7,
//                 when present) its objectness: dynamic-soft-label
//                 (candidates: centre strictly inside some GT box), simota
//                 and align-ota (inside some GT box or within 2.5 strides of
//                 its centre), simota.yolox (within 1.5 strides of some GT's
//                 centre), yolov7 (the priors of YOLOv5's cross-grid
//                 columns, assign/cross_grid.h, at its default thresholds)
//   GT-class logits  geometry, and for every (prior, GT) pair whose prior
//                 centre lies strictly inside the GT box, the prior's logit at
//                 the GT's class, plus the predicted boxes of those priors
//                 (task-aligned.mmyolo, task-aligned.ultralytics) or of every
//                 prior (task-aligned and dynamic-soft-label.mmyolo, whose
//                 top-k / dynamic k range over all priors); o2f: the pairs
//                 whose prior lies strictly inside the GT's centre square
//                 of 1.5 strides (its default centre sampling, clipped to
//                 the box), the boxes and centerness of those priors
//   all rows      geometry, every prior's C logits and predicted box: ota
//                 (its background cost sums over all classes of all priors)
//   queries       every query's predicted box and its logits at the GTs'
//                 classes, the GT boxes and labels: hungarian
// These are lower bounds on the memory an exact replay must touch; finding
// the candidates (a geometric search) is not part of the floor.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "assign/cross_grid.h"
#include "core/problem.h"
#include "geometry/boxes.h"
#include "geometry/centre_sampling.h"
#include "io/dump.h"
#include "io/files.h"

namespace {

using assignscope::Field;
using assignscope::Problem;
using Clock = std::chrono::steady_clock;

// kCentreSquare: strictly inside the GT's centre square, clipped to its box
// (o2f's centre sampling); kCrossGrid: the priors of yolov7's columns.
enum class Region { kNone, kBox, kBoxOrCentre, kCentre, kCentreSquare, kCrossGrid, kAll };
enum class Logits { kNone, kRows, kGtClass };

struct FloorSpec {
  const char* family;
  Region region = Region::kNone;
  float radius = 0;  // strides, for kBoxOrCentre and kCentre
  Logits logits = Logits::kNone;
  bool all_boxes = false;   // predicted boxes of every prior, else of the candidates
  bool objectness = false;  // the candidates' objectness, when the dump has it
  bool priors = true;       // priors and anchors (hungarian's queries have none)
  bool centerness = false;  // the candidates' centerness (o2f)
};

struct Entry {
  const char* assigner;
  FloorSpec spec;
};

// Which floor each assigner of the registry gets.
const std::vector<Entry>& table() {
  static const std::vector<Entry> entries = {
      {"dynamic-soft-label", {"candidate rows", Region::kBox, 0, Logits::kRows, false, false, true}},
      {"simota", {"candidate rows", Region::kBoxOrCentre, 2.5f, Logits::kRows, false, true, true}},
      {"simota.yolox", {"candidate rows", Region::kCentre, 1.5f, Logits::kRows, false, true, true}},
      {"align-ota", {"candidate rows", Region::kBoxOrCentre, 2.5f, Logits::kRows, false, false, true}},
      {"yolov7", {"candidate rows", Region::kCrossGrid, 0, Logits::kRows, false, true, true}},
      {"ota", {"all rows", Region::kAll, 0, Logits::kRows, true, false, true}},
      {"dynamic-soft-label.mmyolo", {"GT-class logits", Region::kBox, 0, Logits::kGtClass, true, false, true}},
      {"task-aligned", {"GT-class logits", Region::kBox, 0, Logits::kGtClass, true, false, true}},
      {"task-aligned.mmyolo", {"GT-class logits", Region::kBox, 0, Logits::kGtClass, false, false, true}},
      {"task-aligned.ultralytics", {"GT-class logits", Region::kBox, 0, Logits::kGtClass, false, false, true}},
      {"o2f", {"GT-class logits", Region::kCentreSquare, 1.5f, Logits::kGtClass, false, false, true, true}},
      {"atss", {"geometry"}},
      {"atss.mmyolo", {"geometry"}},
      {"max-iou", {"geometry"}},
      {"fcos", {"geometry"}},
      {"yolov5", {"geometry"}},
      {"hungarian", {"queries", Region::kAll, 0, Logits::kGtClass, true, false, false}},
  };
  return entries;
}

const FloorSpec* spec_of(const std::string& assigner) {
  for (const Entry& e : table())
    if (assigner == e.assigner) return &e.spec;
  return nullptr;
}

// What one pass reads, fixed before the timing.
struct Plan {
  std::vector<int32_t> candidates;                 // priors whose box / row / objectness is read
  std::vector<std::pair<int32_t, int32_t>> cells;  // (prior, class) logits read one by one
  int64_t bytes = 0;
};

// Whether prior i and GT g form a pair whose logit at the GT's class is read.
bool pair_read(const Problem& p, int64_t i, int64_t g, const FloorSpec& s) {
  const float x = p.priors(i, 0), y = p.priors(i, 1);
  if (s.region == Region::kCentreSquare)
    return assignscope::geometry::in_centre_box(x, y, &p.gt_bboxes(g, 0),
                                                assignscope::geometry::centre_radius(p.priors(i, 2),
                                                                                     static_cast<double>(s.radius)));
  return assignscope::geometry::strictly_inside(x, y, &p.gt_bboxes(g, 0));
}

// yolov7's candidate priors, ascending (none without meta.image_size or a grid).
std::vector<int32_t> cross_grid_priors(const Problem& p) {
  const auto levels = assignscope::assign::yolo_grid_of(p, "yolov7");
  if (!levels.ok() || !p.meta.image_size) return {};
  std::vector<int32_t> out;
  for (const auto& c :
       assignscope::assign::cross_grid_columns(p, *levels, 4.0f, 0.5f, assignscope::assign::CellIndex::kClamp).columns)
    out.push_back(c.prior);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool in_region(const Problem& p, int64_t i, const FloorSpec& s) {
  const float x = p.priors(i, 0), y = p.priors(i, 1), stride = p.priors(i, 2);
  for (int64_t g = 0; g < p.num_gts(); ++g) {
    const float* box = &p.gt_bboxes(g, 0);
    if (s.region == Region::kCentreSquare && pair_read(p, i, g, s)) return true;
    const bool in_box = assignscope::geometry::strictly_inside(x, y, box);
    if (s.region == Region::kBox && in_box) return true;
    const float r = s.radius * stride;
    const bool in_centre = std::fabs(x - assignscope::geometry::centre_x(box)) < r &&
                           std::fabs(y - assignscope::geometry::centre_y(box)) < r;
    if (s.region == Region::kCentre && in_centre) return true;
    if (s.region == Region::kBoxOrCentre && (in_box || in_centre)) return true;
  }
  return false;
}

Plan plan_of(const Problem& p, const FloorSpec& s) {
  Plan plan;
  const int64_t n = p.num_priors(), c = p.num_classes();
  if (s.region == Region::kAll) {
    for (int64_t i = 0; i < n; ++i) plan.candidates.push_back(static_cast<int32_t>(i));
  } else if (s.region == Region::kCrossGrid) {
    plan.candidates = cross_grid_priors(p);
  } else if (s.region != Region::kNone && p.num_gts() > 0) {
    for (int64_t i = 0; i < n; ++i)
      if (in_region(p, i, s)) plan.candidates.push_back(static_cast<int32_t>(i));
  }
  if (s.logits == Logits::kGtClass) {
    std::set<std::pair<int32_t, int32_t>> cells;
    const std::set<int64_t> labels(p.gt_labels.begin(), p.gt_labels.end());
    for (int32_t i : plan.candidates) {
      if (s.region == Region::kAll) {
        for (int64_t l : labels) cells.emplace(i, static_cast<int32_t>(l));
        continue;
      }
      for (int64_t g = 0; g < p.num_gts(); ++g)
        if (pair_read(p, i, g, s)) cells.emplace(i, static_cast<int32_t>(p.gt_labels[g]));
    }
    plan.cells.assign(cells.begin(), cells.end());
  }
  const auto f = static_cast<int64_t>(sizeof(float));
  if (s.priors) plan.bytes += (p.priors.size() + p.anchors.size()) * f;
  plan.bytes += p.gt_bboxes.size() * f + p.num_gts() * static_cast<int64_t>(sizeof(int64_t));
  const auto k = static_cast<int64_t>(plan.candidates.size());
  if (s.logits == Logits::kRows) plan.bytes += k * c * f;
  plan.bytes += static_cast<int64_t>(plan.cells.size()) * f;
  plan.bytes += (s.all_boxes ? n : (s.logits == Logits::kNone ? 0 : k)) * 4 * f;
  if (s.objectness && !p.objectness.empty()) plan.bytes += k * f;
  if (s.centerness && !p.centerness.empty()) plan.bytes += k * f;
  return plan;
}

// The sum of the bit patterns of n values of 4 or 8 bytes: integer adds in
// eight independent lanes, free to vectorise.
template <typename T>
uint64_t fold(const T* values, size_t n) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "fold reads 4- or 8-byte values");
  using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  Bits lane[8] = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (size_t k = 0; k < 8; ++k) {
      Bits b;
      std::memcpy(&b, values + i + k, sizeof b);
      lane[k] += b;
    }
  uint64_t sum = 0;
  for (; i < n; ++i) {
    Bits b;
    std::memcpy(&b, values + i, sizeof b);
    sum += b;
  }
  for (Bits b : lane) sum += b;
  return sum;
}

uint64_t read_once(const Problem& p, const FloorSpec& s, const Plan& plan) {
  uint64_t sum = 0;
  if (s.priors) {
    sum += fold(p.priors.data(), static_cast<size_t>(p.priors.size()));
    sum += fold(p.anchors.data(), static_cast<size_t>(p.anchors.size()));
  }
  sum += fold(p.gt_bboxes.data(), static_cast<size_t>(p.gt_bboxes.size()));
  sum += fold(p.gt_labels.data(), p.gt_labels.size());
  if (s.logits == Logits::kNone) return sum;
  const auto c = static_cast<size_t>(p.num_classes());
  const bool objectness = s.objectness && !p.objectness.empty();
  const bool centerness = s.centerness && !p.centerness.empty();
  for (int32_t i : plan.candidates) {
    if (s.logits == Logits::kRows) sum += fold(&p.cls_scores(i, 0), c);
    if (!s.all_boxes) sum += fold(&p.pred_bboxes(i, 0), 4);
    if (objectness) sum += fold(&p.objectness[static_cast<size_t>(i)], 1);
    if (centerness) sum += fold(&p.centerness[static_cast<size_t>(i)], 1);
  }
  for (const auto& [i, cls] : plan.cells) sum += fold(&p.cls_scores(i, cls), 1);
  if (s.all_boxes) sum += fold(p.pred_bboxes.data(), static_cast<size_t>(p.pred_bboxes.size()));
  return sum;
}

volatile uint64_t g_sink = 0;  // keeps the reads from being optimised away

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

struct Timing {
  double median_ms = 0, min_ms = 0;
  int64_t passes_per_sample = 1;
};

Timing time_floor(const Problem& p, const FloorSpec& s, const Plan& plan, int samples) {
  g_sink = g_sink + read_once(p, s, plan);  // warm the caches
  Clock::time_point start = Clock::now();
  g_sink = g_sink + read_once(p, s, plan);
  const double one = std::max(seconds_since(start), 1e-9);
  Timing t;
  t.passes_per_sample = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(2e-4 / one)), 1, 100000);
  std::vector<double> ms;
  for (int r = 0; r < samples; ++r) {
    start = Clock::now();
    uint64_t sum = 0;
    for (int64_t k = 0; k < t.passes_per_sample; ++k) sum += read_once(p, s, plan);
    ms.push_back(seconds_since(start) * 1e3 / static_cast<double>(t.passes_per_sample));
    g_sink = g_sink + sum;
  }
  std::sort(ms.begin(), ms.end());
  const size_t n = ms.size();
  t.median_ms = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2.0;
  t.min_ms = ms.front();
  return t;
}

// What the assigner needs that the dump lacks, or "" when it can be timed.
std::string missing_for(const Problem& p, const FloorSpec& s) {
  if (s.priors && !p.has(Field::kPriors) && !p.has(Field::kAnchors)) return "priors";
  if (s.logits != Logits::kNone && p.cls_scores.size() == 0 && p.num_priors() > 0) return "cls_scores";
  if (s.logits != Logits::kNone && p.pred_bboxes.rows() != p.num_priors()) return "pred_bboxes";
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"The read floor of docs/performance.md: time to read once what an assigner must read.",
               "assignscope_read_floor"};
  std::vector<std::string> dump_paths, assigners;
  std::string output;
  int samples = 21;
  app.add_option("dump", dump_paths, "the dump(s), as for `assignscope bench`")->required();
  app.add_option("-a,--assigner", assigners, "assigner whose floor to time (repeatable; default: every one)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("-n,--repeat", samples, "timed samples per floor (default 21)")->check(CLI::Range(1, 100000));
  app.add_option("-o,--output", output, "write the JSON here instead of stdout (replaces it)");
  CLI11_PARSE(app, argc, argv);

  if (assigners.empty())
    for (const Entry& e : table()) assigners.emplace_back(e.assigner);
  for (const std::string& a : assigners)
    if (!spec_of(a)) {
      std::fprintf(stderr, "assignscope_read_floor: error: no floor is defined for assigner '%s'\n", a.c_str());
      return 2;
    }
  auto dump = assignscope::io::load_dumps(dump_paths);
  if (!dump.ok()) {
    std::fprintf(stderr, "assignscope_read_floor: error: %s\n", dump.status().message().c_str());
    return 2;
  }

  nlohmann::ordered_json images = nlohmann::ordered_json::array();
  for (const Problem& p : dump->batch.images) {
    nlohmann::ordered_json floors = nlohmann::ordered_json::array();
    for (const std::string& a : assigners) {
      const FloorSpec& s = *spec_of(a);
      nlohmann::ordered_json f = {{"assigner", a}, {"family", s.family}};
      const std::string missing = missing_for(p, s);
      if (!missing.empty()) {
        f["error"] = fmt::format("the dump has no {}", missing);
        floors.push_back(std::move(f));
        continue;
      }
      const Plan plan = plan_of(p, s);
      const Timing t = time_floor(p, s, plan, samples);
      f["candidates"] = plan.candidates.size();
      f["logit_cells"] = plan.cells.size();
      f["bytes"] = plan.bytes;
      f["median_ms"] = t.median_ms;
      f["min_ms"] = t.min_ms;
      f["passes_per_sample"] = t.passes_per_sample;
      floors.push_back(std::move(f));
    }
    images.push_back({{"name", p.name},
                      {"num_priors", p.num_priors()},
                      {"num_gts", p.num_gts()},
                      {"num_classes", p.num_classes()},
                      {"floors", std::move(floors)}});
  }
  nlohmann::ordered_json j;
  j["schema"] = "assignscope.read_floor/1";
  j["source"] = dump->batch.source;
  j["repeat"] = samples;
  j["images"] = std::move(images);
  const std::string text = j.dump(1) + "\n";
  if (output.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 2;
  }
  const assignscope::Status written = assignscope::io::write_file_atomic(output, text, true);
  if (!written.ok()) {
    std::fprintf(stderr, "assignscope_read_floor: error: %s\n", written.message().c_str());
    return 2;
  }
  return 0;
}
