// Diffing two assignments of the same priors, image by image.
#include "analysis/diff.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <iterator>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>

#include "analysis/check.h"
#include "assign/assigner.h"
#include "core/number.h"
#include "core/suggest.h"
#include "core/text.h"
#include "io/files.h"

namespace assignscope::analysis {
namespace fs = std::filesystem;

const char* prior_state_name(PriorState s) {
  switch (s) {
    case PriorState::kNegative: return "negative";
    case PriorState::kPositive: return "positive";
    case PriorState::kIgnored: return "ignored";
  }
  return "?";
}

const char* flip_kind_name(FlipKind k) {
  switch (k) {
    case FlipKind::kPosToNeg: return "pos→neg";
    case FlipKind::kNegToPos: return "neg→pos";
    case FlipKind::kChangedGt: return "changed GT";
    case FlipKind::kIgnored: return "ignored";
  }
  return "?";
}

const char* flip_kind_key(FlipKind k) {
  switch (k) {
    case FlipKind::kPosToNeg: return "pos_to_neg";
    case FlipKind::kNegToPos: return "neg_to_pos";
    case FlipKind::kChangedGt: return "changed_gt";
    case FlipKind::kIgnored: return "ignored";
  }
  return "?";
}

DiffImage diff_image_of(const Problem& problem) {
  DiffImage img;
  img.name = problem.name;
  img.num_priors = problem.num_priors();
  img.num_gts = problem.num_gts();
  img.gt_labels = problem.gt_labels;
  img.gt_boxes.resize(static_cast<size_t>(problem.num_gts()));
  for (int64_t g = 0; g < problem.num_gts(); ++g)
    for (int c = 0; c < 4; ++c) img.gt_boxes[static_cast<size_t>(g)][static_cast<size_t>(c)] = problem.gt_bboxes(g, c);
  img.prior_level = problem.prior_level;
  return img;
}

namespace {
// The cost an assigner minimises, from the registry: its own entry's, else
// (a stored result of a flavour this version does not know) its family's.
assign::CostDefinition cost_definition_of(const std::string& assigner) {
  if (const assign::AssignerInfo* info = assign::find_assigner(assigner)) return info->traits.cost;
  const std::string family = assigner.substr(0, assigner.find('.'));
  for (const assign::AssignerInfo& info : assign::registry())
    if (info.family() == family) return info.traits.cost;
  return assign::CostDefinition::kNone;
}
}  // namespace

bool is_cost_based(const std::string& assigner) {
  const assign::CostDefinition cost = cost_definition_of(assigner);
  return cost != assign::CostDefinition::kNone && cost != assign::CostDefinition::kUnset;
}

namespace {
std::string term_names(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& n : v) s += (s.empty() ? "" : "+") + n;
  return s.empty() ? std::string("none") : s;
}
}  // namespace

bool same_cost_function(const Assignment& a, const Assignment& b, std::string* why) {
  const auto say = [&](std::string text) {
    if (why) *why = std::move(text);
    return false;
  };
  if (!is_cost_based(a.assigner) || cost_definition_of(a.assigner) != cost_definition_of(b.assigner))
    return say(fmt::format("a ({}) and b ({}) minimise different cost functions",
                           a.assigner.empty() ? "?" : a.assigner, b.assigner.empty() ? "?" : b.assigner));
  if (a.cost_terms != b.cost_terms)
    return say(fmt::format("a ({}) and b ({}) have different cost terms ({} vs {})", a.assigner, b.assigner,
                           term_names(a.cost_terms), term_names(b.cost_terms)));
  if (why) why->clear();
  return true;
}

double ImageDiff::positive_priors_jaccard() const {
  const int64_t both = positives_common + changed_gt;
  const int64_t either = positives_a + positives_b - both;
  return either ? static_cast<double>(both) / static_cast<double>(either) : 1.0;
}

double DiffTotals::positive_priors_jaccard() const {
  const int64_t both = positives_common + changed_gt;
  const int64_t either = positives_a + positives_b - both;
  return either ? static_cast<double>(both) / static_cast<double>(either) : 1.0;
}

double ImageDiff::positives_jaccard() const {
  const int64_t either = positives_a + positives_b - positives_common;
  return either ? static_cast<double>(positives_common) / static_cast<double>(either) : 1.0;
}

double DiffTotals::positives_jaccard() const {
  const int64_t either = positives_a + positives_b - positives_common;
  return either ? static_cast<double>(positives_common) / static_cast<double>(either) : 1.0;
}

namespace {

// One side's assignment of each prior: its state and the GTs it serves.
class SideView {
 public:
  explicit SideView(const Assignment& a) : a_(a) {
    if (!a.matches) return;
    const auto n = static_cast<size_t>(a.num_priors());
    offsets_.assign(n + 1, 0);
    std::vector<Match> sorted;
    for (const Match& m : *a.matches)
      if (m.prior >= 0 && static_cast<size_t>(m.prior) < n && m.gt >= 0) sorted.push_back(m);
    std::sort(sorted.begin(), sorted.end(),
              [](const Match& x, const Match& y) { return x.prior != y.prior ? x.prior < y.prior : x.gt < y.gt; });
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    for (const Match& m : sorted) ++offsets_[static_cast<size_t>(m.prior) + 1];
    for (size_t i = 0; i < n; ++i) offsets_[i + 1] += offsets_[i];
    for (const Match& m : sorted) gts_.push_back(m.gt);
  }

  PriorState state(int64_t i) const {
    if (!offsets_.empty() && offsets_[static_cast<size_t>(i) + 1] > offsets_[static_cast<size_t>(i)])
      return PriorState::kPositive;
    const int64_t v = a_.gt_inds[static_cast<size_t>(i)];
    if (v < 0) return PriorState::kIgnored;
    if (v == 0 || !offsets_.empty()) return PriorState::kNegative;
    return PriorState::kPositive;
  }

  // The GTs prior i serves, ascending, into `out`.
  void gts(int64_t i, std::vector<int64_t>& out) const {
    out.clear();
    if (!offsets_.empty()) {
      for (size_t k = offsets_[static_cast<size_t>(i)]; k < offsets_[static_cast<size_t>(i) + 1]; ++k) out.push_back(gts_[k]);
      return;
    }
    const int64_t v = a_.gt_inds[static_cast<size_t>(i)];
    if (v > 0) out.push_back(v - 1);
  }

 private:
  const Assignment& a_;
  std::vector<size_t> offsets_;  // multi-match: [N + 1] into gts_
  std::vector<int64_t> gts_;
};

// The recorded pairs of a side, searchable by (prior, GT).
class PairIndex {
 public:
  explicit PairIndex(const Assignment& a) : pairs_(&a.candidates) {
    const auto by_gt_prior = [](const CandidatePair& x, const CandidatePair& y) {
      return x.gt != y.gt ? x.gt < y.gt : x.prior < y.prior;
    };
    if (!std::is_sorted(a.candidates.begin(), a.candidates.end(), by_gt_prior)) {
      sorted_ = a.candidates;
      std::sort(sorted_.begin(), sorted_.end(), by_gt_prior);
      pairs_ = &sorted_;
    }
  }
  bool empty() const { return pairs_->empty(); }
  std::optional<CandidatePair> find(int64_t prior, int64_t gt) const {
    const auto it = std::lower_bound(pairs_->begin(), pairs_->end(), std::pair<int64_t, int64_t>{gt, prior},
                                     [](const CandidatePair& c, const std::pair<int64_t, int64_t>& key) {
                                       return c.gt != key.first ? c.gt < key.first : c.prior < key.second;
                                     });
    if (it == pairs_->end() || it->gt != gt || it->prior != prior) return std::nullopt;
    return *it;
  }

 private:
  const std::vector<CandidatePair>* pairs_;
  std::vector<CandidatePair> sorted_;
};

int64_t k_of(const Assignment& a, int64_t g) {
  if (!a.dynamic_ks || g < 0 || g >= static_cast<int64_t>(a.dynamic_ks->size())) return -1;
  return (*a.dynamic_ks)[static_cast<size_t>(g)];
}

std::string gt_list(const std::vector<int64_t>& gts) {
  std::string s;
  for (int64_t g : gts) s += fmt::format("{}#{}", s.empty() ? "" : ",", g);
  return s;
}

// Why prior i does not serve GT g on side `x` although it does on the other:
// from the pair x recorded, x's dynamic k and the other side's.
std::string why_not(int64_t g, const char* x, const Assignment& side, const PairIndex& pairs,
                    const std::optional<CandidatePair>& pair, PriorState state, const std::vector<int64_t>& gts,
                    int64_t k_a, int64_t k_b) {
  if (pairs.empty()) return "";
  if (!pair) return fmt::format("#{}: not a candidate on {}", g, x);
  if (pair->picked) {
    const std::string went = state == PriorState::kPositive ? "lost to " + gt_list(gts)
                             : state == PriorState::kIgnored ? std::string("ended ignored")
                                                             : std::string("ended negative");
    return fmt::format("#{}: picked on {}, {}", g, x, went);
  }
  // Fewer picks on the side it is missing from.
  const bool on_b = x[0] == 'b';
  if (k_a >= 0 && k_b >= 0 && (on_b ? k_b < k_a : k_a < k_b)) return fmt::format("#{}: k {}→{}", g, k_a, k_b);
  if (side.dynamic_ks) return fmt::format("#{}: outranked on {}", g, x);
  return fmt::format("#{}: not picked on {}", g, x);
}

// The pushes of one flip's pairs; both sides minimise the same cost function,
// so terms are compared position by position.
Attribution attribute(const std::vector<PairCosts>& pairs, const std::vector<int64_t>& lost,
                      const std::vector<std::string>& terms, bool* any) {
  Attribution at;
  const size_t n = std::min(terms.size(), static_cast<size_t>(kMaxCostTerms));
  std::vector<double> push(n, 0.0);
  double scale = 0;
  *any = false;
  for (const PairCosts& pc : pairs) {
    if (!pc.a || !pc.b) continue;
    *any = true;
    const double sign = std::find(lost.begin(), lost.end(), pc.gt) != lost.end() ? 1.0 : -1.0;
    at.cost_push += sign * (static_cast<double>(pc.b->cost) - static_cast<double>(pc.a->cost));
    scale += std::fabs(static_cast<double>(pc.a->cost)) + std::fabs(static_cast<double>(pc.b->cost));
    for (size_t t = 0; t < n; ++t)
      push[t] += sign * (static_cast<double>(pc.b->terms[t]) - static_cast<double>(pc.a->terms[t]));
  }
  for (size_t t = 0; t < n; ++t) at.pushes.emplace_back(terms[t], push[t]);
  // Pushes within float32 rounding of the costs are no push at all.
  const double tolerance = 1e-5 * (1.0 + scale);
  for (const auto& [name, value] : at.pushes) {
    if (std::isfinite(value) && value > tolerance && value > at.push) {
      at.term = name;
      at.push = value;
    }
  }
  return at;
}

}  // namespace

ImageDiff diff_image(const DiffImage& image, const Assignment& a, const Assignment& b) {
  ImageDiff d;
  d.name = image.name;
  d.num_priors = std::min({image.num_priors, a.num_priors(), b.num_priors()});
  d.num_gts = image.num_gts;
  d.cost_based = is_cost_based(a.assigner) && is_cost_based(b.assigner);
  if (d.cost_based) {
    std::string why;
    d.attributed = same_cost_function(a, b, &why);
    if (!d.attributed) d.attribution_note = "not comparable: " + why;
  } else if (is_cost_based(a.assigner) != is_cost_based(b.assigner)) {
    const Assignment& other = is_cost_based(a.assigner) ? b : a;
    d.attribution_note = fmt::format("not comparable: {} minimises no sum of cost terms",
                                     other.assigner.empty() ? "one side" : other.assigner);
  }
  d.cost_terms_a = a.cost_terms;
  d.cost_terms_b = b.cost_terms;
  const SideView va(a), vb(b);

  struct Counts {
    int64_t a = 0, b = 0, common = 0;
  };
  std::map<int64_t, Counts> per_gt;
  for (int64_t g = 0; g < image.num_gts; ++g) per_gt[g];
  std::vector<int64_t> ga, gb;
  for (int64_t i = 0; i < d.num_priors; ++i) {
    const PriorState sa = va.state(i), sb = vb.state(i);
    va.gts(i, ga);
    vb.gts(i, gb);
    for (int64_t g : ga) ++per_gt[g].a;
    for (int64_t g : gb) ++per_gt[g].b;
    for (int64_t g : ga)
      if (std::binary_search(gb.begin(), gb.end(), g)) ++per_gt[g].common;
    d.positives_a += sa == PriorState::kPositive;
    d.positives_b += sb == PriorState::kPositive;
    if (sa == sb && ga == gb) {
      ++d.same;
      d.positives_common += sa == PriorState::kPositive;
      continue;
    }
    PriorFlip f;
    f.prior = i;
    if (i < static_cast<int64_t>(image.prior_level.size())) f.level = image.prior_level[static_cast<size_t>(i)];
    f.state_a = sa;
    f.state_b = sb;
    f.gts_a = ga;
    f.gts_b = gb;
    // Positivity first (as render::svg_diff draws them): ignored counts as
    // not positive, and "ignored" is left for negative <-> ignored.
    const bool pa = sa == PriorState::kPositive, pb = sb == PriorState::kPositive;
    if (pa && pb) f.kind = FlipKind::kChangedGt, ++d.changed_gt;
    else if (pa) f.kind = FlipKind::kPosToNeg, ++d.pos_to_neg;
    else if (pb) f.kind = FlipKind::kNegToPos, ++d.neg_to_pos;
    else f.kind = FlipKind::kIgnored, ++d.ignored_changes;
    d.flips.push_back(std::move(f));
  }
  // GTs the results know only by their dynamic k (stored results).
  if (image.num_gts < 0) {
    for (const Assignment* side : {&a, &b})
      if (side->dynamic_ks)
        for (size_t g = 0; g < side->dynamic_ks->size(); ++g)
          if ((*side->dynamic_ks)[g] > 0) per_gt[static_cast<int64_t>(g)];
  }

  for (const auto& [g, counts] : per_gt) {
    GtDiff row;
    row.index = g;
    if (g < image.num_gts) {
      if (static_cast<size_t>(g) < image.gt_labels.size()) row.label = image.gt_labels[static_cast<size_t>(g)];
      if (static_cast<size_t>(g) < image.gt_boxes.size()) row.box = image.gt_boxes[static_cast<size_t>(g)];
    } else {
      row.padding = image.num_gts >= 0;
    }
    row.positives_a = counts.a;
    row.positives_b = counts.b;
    row.common = counts.common;
    const int64_t either = counts.a + counts.b - counts.common;
    row.jaccard = either ? static_cast<double>(counts.common) / static_cast<double>(either) : 1.0;
    row.k_a = k_of(a, g);
    row.k_b = k_of(b, g);
    d.gts.push_back(row);
  }
  std::stable_sort(d.gts.begin(), d.gts.end(), [](const GtDiff& x, const GtDiff& y) {
    if (x.jaccard != y.jaccard) return x.jaccard < y.jaccard;
    const int64_t cx = std::abs(x.positives_a - x.positives_b), cy = std::abs(y.positives_a - y.positives_b);
    if (cx != cy) return cx > cy;
    return x.index < y.index;
  });

  // What each flip's pairs say.
  const PairIndex pa(a), pb(b);
  for (PriorFlip& f : d.flips) {
    std::vector<int64_t> lost, won;
    std::set_difference(f.gts_a.begin(), f.gts_a.end(), f.gts_b.begin(), f.gts_b.end(), std::back_inserter(lost));
    std::set_difference(f.gts_b.begin(), f.gts_b.end(), f.gts_a.begin(), f.gts_a.end(), std::back_inserter(won));
    for (int64_t g : lost) f.pairs.push_back({g, pa.find(f.prior, g), pb.find(f.prior, g)});
    for (int64_t g : won) f.pairs.push_back({g, pa.find(f.prior, g), pb.find(f.prior, g)});
    if (d.attributed) {
      bool any = false;
      Attribution at = attribute(f.pairs, lost, a.cost_terms, &any);
      if (any) f.attribution = std::move(at);
    }
    for (const PairCosts& pc : f.pairs) {
      const bool was_a = std::find(lost.begin(), lost.end(), pc.gt) != lost.end();
      const std::string why =
          was_a ? why_not(pc.gt, "b", b, pb, pc.b, f.state_b, f.gts_b, k_of(a, pc.gt), k_of(b, pc.gt))
                : why_not(pc.gt, "a", a, pa, pc.a, f.state_a, f.gts_a, k_of(a, pc.gt), k_of(b, pc.gt));
      if (!why.empty()) f.why.push_back(why);
    }
  }
  std::map<int64_t, size_t> rank;
  for (size_t r = 0; r < d.gts.size(); ++r) rank[d.gts[r].index] = r;
  const auto first_rank = [&](const PriorFlip& f) {
    size_t best = std::numeric_limits<size_t>::max();
    for (const auto* list : {&f.gts_a, &f.gts_b})
      for (int64_t g : *list) best = std::min(best, rank[g]);
    return best;
  };
  std::vector<std::pair<size_t, size_t>> order;  // (rank, position)
  for (size_t k = 0; k < d.flips.size(); ++k) order.emplace_back(first_rank(d.flips[k]), k);
  std::sort(order.begin(), order.end());
  std::vector<PriorFlip> sorted;
  sorted.reserve(d.flips.size());
  for (const auto& o : order) sorted.push_back(std::move(d.flips[o.second]));
  d.flips = std::move(sorted);
  return d;
}

ImageDiff diff_image(const Problem& problem, const Assignment& a, const Assignment& b) {
  return diff_image(diff_image_of(problem), a, b);
}

DiffSide side_of(const Assignment& a) {
  DiffSide s;
  s.assigner = a.assigner;
  s.params = a.params.to_string();
  s.params_json = a.params.to_json();
  return s;
}

DiffTotals totals(const std::vector<ImageDiff>& images) {
  DiffTotals t;
  double jaccard_sum = 0;
  for (const ImageDiff& d : images) {
    ++t.images;
    t.priors += d.num_priors;
    t.same += d.same;
    t.pos_to_neg += d.pos_to_neg;
    t.neg_to_pos += d.neg_to_pos;
    t.changed_gt += d.changed_gt;
    t.ignored_changes += d.ignored_changes;
    t.positives_a += d.positives_a;
    t.positives_b += d.positives_b;
    t.positives_common += d.positives_common;
    for (const GtDiff& g : d.gts) {
      ++t.gts;
      t.starved_one_side += g.starved_one_side();
      t.starved_a_only += g.starved_on_a_only();
      t.starved_b_only += g.starved_on_b_only();
      if (t.worst_gt < 0 || g.jaccard < t.jaccard_min) {
        t.jaccard_min = g.jaccard;
        t.worst_image = t.images - 1;
        t.worst_gt = g.index;
      }
      jaccard_sum += g.jaccard;
    }
  }
  t.jaccard_mean = t.gts ? jaccard_sum / static_cast<double>(t.gts) : 1.0;
  return t;
}

Result<BatchDiff> diff_batch(const Batch& batch, const std::vector<Assignment>& a, const std::vector<Assignment>& b) {
  if (a.size() != batch.images.size() || b.size() != batch.images.size())
    return Status::Internal(fmt::format("diff_batch: {} images, {} and {} assignments", batch.images.size(), a.size(),
                                        b.size()));
  BatchDiff out;
  out.source = batch.source;
  out.batch = batch.is_batch;
  if (!a.empty()) out.a = side_of(a[0]), out.b = side_of(b[0]);
  for (size_t k = 0; k < a.size(); ++k) {
    const Problem& p = batch.images[k];
    if (a[k].num_priors() != p.num_priors() || b[k].num_priors() != p.num_priors())
      return Status::Internal(fmt::format("diff_batch: image {} has {} priors, the assignments {} and {}", k,
                                          p.num_priors(), a[k].num_priors(), b[k].num_priors()));
    out.images.push_back(diff_image(p, a[k], b[k]));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Stored results.

namespace {

std::string params_string(const std::string& assigner, const nlohmann::json& params) {
  if (const assign::AssignerInfo* info = assign::find_assigner(assigner)) {
    Params p = assign::default_params(*info);
    if (params.is_object() && p.set_all(params).ok()) return p.to_string();
  }
  std::string s;
  if (params.is_object())
    for (const auto& [k, v] : params.items()) s += (s.empty() ? "" : " ") + k + "=" + json_snippet(v);
  return s;
}

DiffSide stored_side(const std::string& path, const nlohmann::json& assigner, const nlohmann::json& params) {
  DiffSide s;
  s.assigner = assigner.is_string() ? assigner.get<std::string>() : "";
  s.params = params_string(s.assigner, params);
  if (params.is_object()) s.params_json = nlohmann::ordered_json::parse(params.dump());
  s.result = path;
  return s;
}

constexpr int64_t kMaxGtIndex = std::numeric_limits<int32_t>::max();

Status not_a_result(const std::string& path, const std::string& why) {
  return Status::InvalidInput(fmt::format(
      "{}: not a result ({}); diff reads a result directory written by `assignscope run --format npy` "
      "(params.json, assigned_gt_inds.npy) or a JSON written by `assignscope run --format json --include priors`",
      path, why));
}

Result<StoredAssignments> read_npy_result(const std::string& dir) {
  auto stored = read_stored(dir);
  if (!stored.ok()) return stored.status();
  const std::string where = (fs::path(dir) / "params.json").string();
  const auto& files = stored->files;
  const auto gi = files.find("assigned_gt_inds.npy");
  if (gi == files.end()) {
    if (files.count("matches.npy"))
      return Status::InvalidInput(fmt::format(
          "{}: the result holds matches.npy but no assigned_gt_inds.npy, so its number of priors is unknown; "
          "write results to diff with `assignscope run --format npy`",
          dir));
    return Status::InvalidInput(fmt::format("{}: lists no assigned_gt_inds.npy in \"files\"; nothing to diff", where));
  }
  const io::NpyArray& inds = gi->second;
  const std::string inds_path = (fs::path(dir) / "assigned_gt_inds.npy").string();
  if (inds.dtype.kind != io::DTypeKind::kInt && inds.dtype.kind != io::DTypeKind::kUInt)
    return Status::InvalidInput(fmt::format("{}: dtype {}; expected integers", inds_path, inds.dtype.descr()));
  if (inds.ndim() != 1 && inds.ndim() != 2)
    return Status::InvalidInput(fmt::format("{}: shape {}; expected (N,) or (B, N)", inds_path,
                                            io::shape_string(inds.shape)));
  StoredAssignments out;
  out.batch = inds.ndim() == 2;
  const int64_t images = out.batch ? inds.shape[0] : 1;
  const int64_t n = inds.shape.back();
  out.side = stored_side(dir, stored->params["assigner"],
                         stored->params.contains("params") ? stored->params["params"] : nlohmann::json::object());
  std::vector<std::string> names;
  if (out.batch && stored->params.contains("images") && stored->params["images"].is_array() &&
      static_cast<int64_t>(stored->params["images"].size()) == images)
    for (const auto& nm : stored->params["images"]) names.push_back(nm.is_string() ? nm.get<std::string>() : "");

  const io::NpyArray* labels = nullptr;
  if (const auto it = files.find("assigned_labels.npy"); it != files.end() && it->second.shape == inds.shape)
    labels = &it->second;
  const io::NpyArray* ks = nullptr;
  if (const auto it = files.find("dynamic_ks.npy"); it != files.end()) {
    const io::NpyArray& k = it->second;
    const bool ok_shape = out.batch ? k.ndim() == 2 && k.shape[0] == images : k.ndim() == 1;
    if (!ok_shape || k.dtype.kind == io::DTypeKind::kFloat)
      return Status::InvalidInput(fmt::format("{}: shape {} dtype {}; expected integers shaped {}",
                                              (fs::path(dir) / "dynamic_ks.npy").string(), io::shape_string(k.shape),
                                              k.dtype.descr(), out.batch ? "(B, G)" : "(G,)"));
    ks = &k;
  }
  for (int64_t b = 0; b < images; ++b) {
    Assignment a;
    a.assigner = out.side.assigner;
    a.gt_inds.resize(static_cast<size_t>(n));
    a.labels.assign(static_cast<size_t>(n), -1);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t v = inds.to_int64(b * n + i);
      if (v < -1 || v > kMaxGtIndex)
        return Status::InvalidInput(fmt::format("{}: {}prior {} holds {}; expected -1 (ignored), 0 (negative) or a GT "
                                                "index + 1",
                                                inds_path, out.batch ? fmt::format("image {} ", b) : "", i, v));
      a.gt_inds[static_cast<size_t>(i)] = v;
      if (labels) a.labels[static_cast<size_t>(i)] = labels->to_int64(b * n + i);
    }
    if (ks) {
      const int64_t width = ks->shape.back();
      a.dynamic_ks.emplace();
      for (int64_t g = 0; g < width; ++g) a.dynamic_ks->push_back(ks->to_int64(b * width + g));
    }
    out.assignments.push_back(std::move(a));
    DiffImage img;
    img.name = b < static_cast<int64_t>(names.size()) ? names[static_cast<size_t>(b)] : "";
    img.num_priors = n;
    out.images.push_back(std::move(img));
  }
  if (const auto it = files.find("matches.npy"); it != files.end()) {
    const io::NpyArray& m = it->second;
    const int64_t width = out.batch ? 3 : 2;
    const std::string mpath = (fs::path(dir) / "matches.npy").string();
    if (m.ndim() != 2 || m.shape[1] != width || m.dtype.kind == io::DTypeKind::kFloat)
      return Status::InvalidInput(fmt::format("{}: shape {} dtype {}; expected integers shaped (M, {})", mpath,
                                              io::shape_string(m.shape), m.dtype.descr(), width));
    for (Assignment& a : out.assignments) a.matches.emplace();
    for (int64_t r = 0; r < m.shape[0]; ++r) {
      const int64_t image = out.batch ? m.to_int64(r * width) : 0;
      const int64_t prior = m.to_int64(r * width + width - 2), gt = m.to_int64(r * width + width - 1);
      if (image < 0 || image >= images || prior < 0 || prior >= n || gt < 0 || gt > kMaxGtIndex)
        return Status::InvalidInput(fmt::format("{}: row {} ({}{}, {}) is out of range for {} image{} of {} priors", mpath, r,
                                                out.batch ? fmt::format("{}, ", image) : "", prior, gt, images,
                                                images == 1 ? "" : "s", n));
      out.assignments[static_cast<size_t>(image)].matches->push_back(
          {static_cast<int32_t>(prior), static_cast<int32_t>(gt)});
    }
  }
  return out;
}

bool is_int(const nlohmann::json& v) { return v.is_number_integer(); }

// A JSON number as float32; NaN for anything else or out of float's range.
float as_float(const nlohmann::json& v) {
  if (!v.is_number()) return std::numeric_limits<float>::quiet_NaN();
  const double d = v.get<double>();
  if (!(std::fabs(d) <= static_cast<double>(std::numeric_limits<float>::max())))
    return std::numeric_limits<float>::quiet_NaN();
  return static_cast<float>(d);
}

Result<StoredAssignments> read_json_result(const std::string& path, const nlohmann::json& j) {
  StoredAssignments out;
  out.side = stored_side(path, j.contains("assigner") ? j["assigner"] : nlohmann::json(),
                         j.contains("params") ? j["params"] : nlohmann::json::object());
  out.batch = j.contains("batch") && j["batch"].is_boolean() && j["batch"].get<bool>();
  if (!j.contains("images") || !j["images"].is_array())
    return Status::InvalidInput(path + ": no \"images\" list; expected a result written by `assignscope run --format json`");
  const nlohmann::json& images = j["images"];
  for (size_t k = 0; k < images.size(); ++k) {
    const nlohmann::json& img = images[k];
    const std::string at = fmt::format("{}: images[{}]", path, k);
    if (!img.is_object()) return Status::InvalidInput(at + ": not an object");
    if (!img.contains("priors") || !img["priors"].is_object() || !img["priors"].contains("assigned_gt_inds"))
      return Status::InvalidInput(fmt::format(
          "{} has no per-prior arrays (priors.assigned_gt_inds); diff needs them: write the result with "
          "`assignscope run DUMP -a NAME --format json --include priors`",
          at));
    const nlohmann::json& inds = img["priors"]["assigned_gt_inds"];
    if (!inds.is_array()) return Status::InvalidInput(at + ".priors.assigned_gt_inds: not a list");
    Assignment a;
    a.assigner = out.side.assigner;
    for (size_t i = 0; i < inds.size(); ++i) {
      if (!is_int(inds[i]) || inds[i].get<int64_t>() < -1 || inds[i].get<int64_t>() > kMaxGtIndex)
        return Status::InvalidInput(fmt::format("{}.priors.assigned_gt_inds[{}]: {}; expected -1, 0 or a GT index + 1",
                                                at, i, json_snippet(inds[i])));
      a.gt_inds.push_back(inds[i].get<int64_t>());
    }
    const auto n = static_cast<int64_t>(a.gt_inds.size());
    if (img.contains("num_priors") && (!is_int(img["num_priors"]) || img["num_priors"].get<int64_t>() != n))
      return Status::InvalidInput(fmt::format("{}: num_priors {} but {} assigned_gt_inds", at,
                                              json_snippet(img["num_priors"]), n));
    a.labels.assign(static_cast<size_t>(n), -1);
    if (img["priors"].contains("assigned_labels") && img["priors"]["assigned_labels"].is_array() &&
        static_cast<int64_t>(img["priors"]["assigned_labels"].size()) == n)
      for (size_t i = 0; i < static_cast<size_t>(n); ++i)
        if (is_int(img["priors"]["assigned_labels"][i])) a.labels[i] = img["priors"]["assigned_labels"][i].get<int64_t>();

    DiffImage d;
    d.name = img.contains("name") && img["name"].is_string() ? img["name"].get<std::string>() : "";
    d.num_priors = n;
    if (img.contains("gts") && img["gts"].is_array()) {
      const nlohmann::json& gts = img["gts"];
      d.num_gts = static_cast<int64_t>(gts.size());
      std::vector<int64_t> ks;
      bool have_ks = false;
      for (size_t g = 0; g < gts.size(); ++g) {
        const nlohmann::json& gt = gts[g];
        if (!gt.is_object()) return Status::InvalidInput(fmt::format("{}.gts[{}]: not an object", at, g));
        d.gt_labels.push_back(gt.contains("label") && is_int(gt["label"]) ? gt["label"].get<int64_t>() : -1);
        std::array<float, 4> box{};
        if (gt.contains("box") && gt["box"].is_array() && gt["box"].size() == 4)
          for (size_t c = 0; c < 4; ++c)
            box[c] = as_float(gt["box"][c]);
        d.gt_boxes.push_back(box);
        const bool has_k = gt.contains("dynamic_k") && is_int(gt["dynamic_k"]);
        have_ks |= has_k;
        ks.push_back(has_k ? gt["dynamic_k"].get<int64_t>() : 0);
      }
      if (have_ks) a.dynamic_ks = ks;
    }
    if (img.contains("dynamic_ks") && img["dynamic_ks"].is_array()) {
      std::vector<int64_t> ks;
      for (const auto& v : img["dynamic_ks"]) ks.push_back(is_int(v) ? v.get<int64_t>() : 0);
      a.dynamic_ks = ks;
    }
    if (img.contains("matches") && img["matches"].is_array()) {
      a.matches.emplace();
      for (size_t r = 0; r < img["matches"].size(); ++r) {
        const nlohmann::json& m = img["matches"][r];
        const bool ok = m.is_object() && m.contains("prior") && m.contains("gt") && is_int(m["prior"]) &&
                        is_int(m["gt"]) && m["prior"].get<int64_t>() >= 0 && m["prior"].get<int64_t>() < n &&
                        m["gt"].get<int64_t>() >= 0 && m["gt"].get<int64_t>() <= kMaxGtIndex;
        if (!ok)
          return Status::InvalidInput(fmt::format("{}.matches[{}]: {}; expected {{\"prior\": 0..{}, \"gt\": >= 0}}", at, r,
                                                  json_snippet(m), n - 1));
        a.matches->push_back({m["prior"].get<int32_t>(), m["gt"].get<int32_t>()});
      }
    }
    out.assignments.push_back(std::move(a));
    out.images.push_back(std::move(d));
  }
  if (out.images.empty()) return Status::InvalidInput(path + ": \"images\" is empty; nothing to diff");
  return out;
}

}  // namespace

Result<StoredAssignments> read_result(const std::string& path) {
  const fs::path p(path);
  std::error_code ec;
  if (!fs::exists(p, ec)) return Status::Io(path + ": no such file or directory");
  if (fs::is_directory(p, ec)) {
    if (fs::is_regular_file(p / "params.json", ec)) return read_npy_result(path);
    if (fs::is_directory(p / "expected", ec)) {
      std::vector<std::string> labels;
      for (const auto& e : fs::directory_iterator(p / "expected", ec))
        if (e.is_directory() && e.path().filename().string()[0] != '.') labels.push_back(e.path().filename().string());
      std::sort(labels.begin(), labels.end());
      std::string list;
      for (const std::string& l : labels) list += (list.empty() ? "" : ", ") + l;
      return Status::InvalidInput(fmt::format(
          "{}: a case (a dump with stored results), not a result; diff two of its results, "
          "e.g. {}/expected/{} (results: {})",
          path, path, labels.empty() ? "LABEL" : labels[0], list.empty() ? "none" : list));
    }
    return not_a_result(path, "a directory without params.json; a dump? to compare assigners on it, give it alone "
                              "with --a NAME --b NAME");
  }
  auto text = io::read_file_text(path);
  if (!text.ok()) return text.status();
  const nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return not_a_result(path, "not a JSON object");
  if (!j.contains("schema") || !j["schema"].is_string())
    return not_a_result(path, "no \"schema\"; a JSON dump? to compare assigners on it, give it alone with --a NAME --b NAME");
  const std::string schema = j["schema"].get<std::string>();
  if (schema != "assignscope.result/1") return not_a_result(path, "schema " + printable(schema, 60) + ", not assignscope.result/1");
  return read_json_result(path, j);
}

Result<BatchDiff> diff_stored(const StoredAssignments& a, const StoredAssignments& b) {
  const std::string& pa = a.side.result;
  const std::string& pb = b.side.result;
  if (a.assignments.size() != b.assignments.size())
    return Status::InvalidInput(fmt::format("the results hold different numbers of images: {} has {}, {} has {}", pa,
                                            a.assignments.size(), pb, b.assignments.size()));
  BatchDiff out;
  out.a = a.side;
  out.b = b.side;
  out.batch = a.batch || b.batch;
  for (size_t k = 0; k < a.assignments.size(); ++k) {
    const DiffImage& ia = a.images[k];
    const DiffImage& ib = b.images[k];
    const std::string image = out.batch ? fmt::format("image {}: ", k) : "";
    if (ia.num_priors != ib.num_priors)
      return Status::InvalidInput(fmt::format("{}the results have different numbers of priors: {} has {}, {} has {}",
                                              image, pa, ia.num_priors, pb, ib.num_priors));
    if (ia.num_gts >= 0 && ib.num_gts >= 0 && ia.num_gts != ib.num_gts)
      return Status::InvalidInput(fmt::format("{}the results have different numbers of GTs: {} has {}, {} has {}",
                                              image, pa, ia.num_gts, pb, ib.num_gts));
    DiffImage img = ia.num_gts >= 0 ? ia : ib;
    if (img.name.empty()) img.name = ia.name.empty() ? ib.name : ia.name;
    out.images.push_back(diff_image(img, a.assignments[k], b.assignments[k]));
  }
  return out;
}

// ---------------------------------------------------------------------------
// --fail-if

const std::vector<FailKey>& fail_keys() {
  // The positive-set measures first: they are the ones that see a lost positive.
  static const std::vector<FailKey> keys = {
      {"positives-jaccard", true, "Jaccard of the (prior, GTs) positives of a and b: a prior counts as shared when positive for the same GTs on both"},
      {"positive-priors-jaccard", true, "Jaccard of the priors positive on a and on b, whatever their GTs"},
      {"jaccard-min", true, "the worst GT's Jaccard of its priors on a and b"},
      {"jaccard-mean", true, "the mean of the GTs' Jaccard"},
      {"agreement", true, "share of all priors assigned alike, negatives included"},
      {"starved-one-side", false, "GTs with positives on one side only"},
      {"starved-a-only", false, "GTs with positives on b, none on a"},
      {"starved-b-only", false, "GTs with positives on a, none on b"},
      {"positives-a", false, "positive priors on a"},
      {"positives-b", false, "positive priors on b"},
      {"flips", false, "priors assigned differently"},
      {"pos-to-neg", false, "priors positive on a only"},
      {"neg-to-pos", false, "priors positive on b only"},
      {"changed-gt", false, "priors positive on both, for different GTs"},
      {"ignored-changes", false, "priors negative on one side, ignored on the other"},
  };
  return keys;
}

const std::vector<std::string>& fail_condition_keys() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const FailKey& k : fail_keys()) v.push_back(k.name);
    return v;
  }();
  return names;
}

double condition_value(const std::string& key, const DiffTotals& t) {
  if (key == "positives-jaccard") return t.positives_jaccard();
  if (key == "positive-priors-jaccard") return t.positive_priors_jaccard();
  if (key == "jaccard-min") return t.jaccard_min;
  if (key == "jaccard-mean") return t.jaccard_mean;
  if (key == "agreement") return t.agreement();
  if (key == "starved-one-side") return static_cast<double>(t.starved_one_side);
  if (key == "starved-a-only") return static_cast<double>(t.starved_a_only);
  if (key == "starved-b-only") return static_cast<double>(t.starved_b_only);
  if (key == "positives-a") return static_cast<double>(t.positives_a);
  if (key == "positives-b") return static_cast<double>(t.positives_b);
  if (key == "flips") return static_cast<double>(t.differing());
  if (key == "pos-to-neg") return static_cast<double>(t.pos_to_neg);
  if (key == "neg-to-pos") return static_cast<double>(t.neg_to_pos);
  if (key == "changed-gt") return static_cast<double>(t.changed_gt);
  if (key == "ignored-changes") return static_cast<double>(t.ignored_changes);
  return std::numeric_limits<double>::quiet_NaN();
}

namespace {

// "fractions in [0, 1]: positives-jaccard, ...; counts >= 0: starved-one-side, ..."
std::string keys_with_ranges() {
  std::string fractions, counts;
  for (const FailKey& k : fail_keys()) {
    std::string& list = k.fraction ? fractions : counts;
    list += (list.empty() ? "" : ", ") + k.name;
  }
  return "fractions in [0, 1]: " + fractions + "; counts >= 0: " + counts;
}

std::string number_text(double v) { return fmt::format("{:g}", v); }

}  // namespace

Result<FailCondition> parse_fail_condition(const std::string& text) {
  std::string s;
  for (char c : text)
    if (c != ' ' && c != '\t') s += c;
  const std::string shown = printable(text, 80);
  constexpr const char* kExample = "e.g. --fail-if 'positives-jaccard<0.9'";
  size_t pos = 0;
  while (pos < s.size() && (std::isalpha(static_cast<unsigned char>(s[pos])) || s[pos] == '-' || s[pos] == '_')) ++pos;
  FailCondition c;
  c.text = text;
  c.key = s.substr(0, pos);
  std::replace(c.key.begin(), c.key.end(), '_', '-');
  const auto& keys = fail_keys();
  const auto key = std::find_if(keys.begin(), keys.end(), [&](const FailKey& k) { return k.name == c.key; });
  if (key == keys.end())
    return Status::Usage(fmt::format("--fail-if {}: {}{}; keys: {} ({})", shown,
                                     c.key.empty() ? "expected KEY OP NUMBER" : "unknown key '" + printable(c.key, 40) + "'",
                                     c.key.empty() ? "" : did_you_mean(c.key, fail_condition_keys()),
                                     keys_with_ranges(), kExample));
  size_t op_end = pos;
  while (op_end < s.size() && (s[op_end] == '<' || s[op_end] == '>' || s[op_end] == '=' || s[op_end] == '!')) ++op_end;
  c.op = s.substr(pos, op_end - pos);
  static const std::vector<std::string> ops = {"<", "<=", ">", ">=", "==", "!="};
  if (std::find(ops.begin(), ops.end(), c.op) == ops.end())
    return Status::Usage(fmt::format("--fail-if {}: {}; expected one of < <= > >= == != between the key and a number",
                                     shown, c.op.empty() ? "no operator" : "unknown operator '" + printable(c.op, 20) + "'"));
  std::string number = s.substr(op_end);
  const bool percentage = !number.empty() && number.back() == '%';
  if (percentage) number.pop_back();
  const std::string range = key->fraction ? "a fraction in [0, 1]" : "a count >= 0";
  const std::optional<double> threshold = parse_double(number, NumberCheck::kFiniteInRange);
  if (!threshold)
    return Status::Usage(fmt::format("--fail-if {}: expected a number after '{}': {} is {}, e.g. {}{}{}", shown, c.op,
                                     c.key, range, c.key, c.op, key->fraction ? "0.9" : "0"));
  c.threshold = *threshold;
  if (percentage) {
    if (!key->fraction)
      return Status::Usage(fmt::format("--fail-if {}: {} is a count, not a fraction: give a number without '%'",
                                       shown, c.key));
    c.threshold /= 100.0;
  }
  const double lo = 0, hi = key->fraction ? 1.0 : std::numeric_limits<double>::infinity();
  if (c.threshold < lo || c.threshold > hi) {
    const bool looks_like_percent = key->fraction && !percentage && c.threshold > 1 && c.threshold <= 100;
    return Status::Usage(fmt::format(
        "--fail-if {}: {} is {}, and {} is outside it{}", shown, c.key, range,
        percentage ? number + "%" : number_text(c.threshold),
        looks_like_percent
            ? fmt::format("; a percentage is written with '%' ({}{}{}%) or as a fraction ({}{}{})", c.key, c.op,
                          number, c.key, c.op, number_text(c.threshold / 100.0))
            : ""));
  }
  // A condition that no value in the range, or every value, satisfies is a
  // gate that never fails, or always does.
  const bool never = (c.op == "<" && c.threshold == lo) || (c.op == ">" && c.threshold == hi);
  const bool always = (c.op == ">=" && c.threshold == lo) || (c.op == "<=" && c.threshold == hi);
  if (never || always)
    return Status::Usage(fmt::format("--fail-if {}: {}: {} is {}", shown,
                                     never ? "can never hold" : "holds for every diff", c.key, range));
  return c;
}

Status check_comparable(const DiffTotals& t) {
  if (t.positives_a > 0 || t.positives_b > 0) return Status();
  return Status::InvalidInput(fmt::format(
      "--fail-if: nothing to compare: neither side has a positive prior ({} image{}, {} prior{}, {} GT{}), so every "
      "condition would pass whatever the assigners do; diff dumps whose GTs get positives",
      t.images, t.images == 1 ? "" : "s", t.priors, t.priors == 1 ? "" : "s", t.gts, t.gts == 1 ? "" : "s"));
}

std::vector<ConditionResult> evaluate(const std::vector<FailCondition>& conditions, const DiffTotals& t) {
  std::vector<ConditionResult> out;
  for (const FailCondition& c : conditions) {
    ConditionResult r;
    r.condition = c;
    r.value = condition_value(c.key, t);
    const double v = r.value, x = c.threshold;
    r.holds = c.op == "<"    ? v < x
              : c.op == "<=" ? v <= x
              : c.op == ">"  ? v > x
              : c.op == ">=" ? v >= x
              : c.op == "==" ? v == x
                             : v != x;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace assignscope::analysis
