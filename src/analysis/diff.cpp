// Diffing two assignments of the same priors, image by image, and totals.
#include "analysis/diff.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>

#include "assign/assigner.h"

namespace assignscope::analysis {

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
    return say(fmt::format("a ({}) and b ({}) minimise different cost functions", a.assigner.empty() ? "?" : a.assigner,
                           b.assigner.empty() ? "?" : b.assigner));
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
      for (size_t k = offsets_[static_cast<size_t>(i)]; k < offsets_[static_cast<size_t>(i) + 1]; ++k)
        out.push_back(gts_[k]);
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
    const std::string went = state == PriorState::kPositive  ? "lost to " + gt_list(gts)
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

namespace {

// Priors serving a GT on side a, on side b, and on both.
struct GtCounts {
  int64_t a = 0, b = 0, common = 0;
};

// Whether the two sides' flips can be explained term by term, and why not.
void set_attribution(const Assignment& a, const Assignment& b, ImageDiff* d) {
  d->cost_based = is_cost_based(a.assigner) && is_cost_based(b.assigner);
  if (d->cost_based) {
    std::string why;
    d->attributed = same_cost_function(a, b, &why);
    if (!d->attributed) d->attribution_note = "not comparable: " + why;
  } else if (is_cost_based(a.assigner) != is_cost_based(b.assigner)) {
    const Assignment& other = is_cost_based(a.assigner) ? b : a;
    d->attribution_note = fmt::format("not comparable: {} minimises no sum of cost terms",
                                      other.assigner.empty() ? "one side" : other.assigner);
  }
}

// Every prior's state and GTs on both sides: the counts per GT, and a flip
// for each prior that differs.
std::map<int64_t, GtCounts> compare_priors(const DiffImage& image, const Assignment& a, const Assignment& b,
                                           ImageDiff* d) {
  const SideView va(a), vb(b);
  std::map<int64_t, GtCounts> per_gt;
  for (int64_t g = 0; g < image.num_gts; ++g) per_gt[g];
  std::vector<int64_t> ga, gb;
  for (int64_t i = 0; i < d->num_priors; ++i) {
    const PriorState sa = va.state(i), sb = vb.state(i);
    va.gts(i, ga);
    vb.gts(i, gb);
    for (int64_t g : ga) ++per_gt[g].a;
    for (int64_t g : gb) ++per_gt[g].b;
    for (int64_t g : ga)
      if (std::binary_search(gb.begin(), gb.end(), g)) ++per_gt[g].common;
    d->positives_a += sa == PriorState::kPositive;
    d->positives_b += sb == PriorState::kPositive;
    if (sa == sb && ga == gb) {
      ++d->same;
      d->positives_common += sa == PriorState::kPositive;
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
    if (pa && pb) f.kind = FlipKind::kChangedGt, ++d->changed_gt;
    else if (pa) f.kind = FlipKind::kPosToNeg, ++d->pos_to_neg;
    else if (pb) f.kind = FlipKind::kNegToPos, ++d->neg_to_pos;
    else f.kind = FlipKind::kIgnored, ++d->ignored_changes;
    d->flips.push_back(std::move(f));
  }
  // GTs the results know only by their dynamic k (stored results).
  if (image.num_gts < 0) {
    for (const Assignment* side : {&a, &b})
      if (side->dynamic_ks)
        for (size_t g = 0; g < side->dynamic_ks->size(); ++g)
          if ((*side->dynamic_ks)[g] > 0) per_gt[static_cast<int64_t>(g)];
  }
  return per_gt;
}

// A row per GT, worst Jaccard first (then the larger change in positives,
// then index).
std::vector<GtDiff> gt_rows(const DiffImage& image, const std::map<int64_t, GtCounts>& per_gt, const Assignment& a,
                            const Assignment& b) {
  std::vector<GtDiff> rows;
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
    rows.push_back(row);
  }
  std::stable_sort(rows.begin(), rows.end(), [](const GtDiff& x, const GtDiff& y) {
    if (x.jaccard != y.jaccard) return x.jaccard < y.jaccard;
    const int64_t cx = std::abs(x.positives_a - x.positives_b), cy = std::abs(y.positives_a - y.positives_b);
    if (cx != cy) return cx > cy;
    return x.index < y.index;
  });
  return rows;
}

// What each flip's pairs say: the pairs of the GTs it left or joined, the
// cost term that pushed it (when attributed), and why it is not where the
// other side has it.
void explain_flips(const Assignment& a, const Assignment& b, ImageDiff* d) {
  const PairIndex pa(a), pb(b);
  for (PriorFlip& f : d->flips) {
    std::vector<int64_t> lost, won;
    std::set_difference(f.gts_a.begin(), f.gts_a.end(), f.gts_b.begin(), f.gts_b.end(), std::back_inserter(lost));
    std::set_difference(f.gts_b.begin(), f.gts_b.end(), f.gts_a.begin(), f.gts_a.end(), std::back_inserter(won));
    for (int64_t g : lost) f.pairs.push_back({g, pa.find(f.prior, g), pb.find(f.prior, g)});
    for (int64_t g : won) f.pairs.push_back({g, pa.find(f.prior, g), pb.find(f.prior, g)});
    if (d->attributed) {
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
}

// Flips of the worst GTs first (the GTs' order in d->gts), then by prior.
void order_flips(ImageDiff* d) {
  std::map<int64_t, size_t> rank;
  for (size_t r = 0; r < d->gts.size(); ++r) rank[d->gts[r].index] = r;
  const auto first_rank = [&](const PriorFlip& f) {
    size_t best = std::numeric_limits<size_t>::max();
    for (const auto* list : {&f.gts_a, &f.gts_b})
      for (int64_t g : *list) best = std::min(best, rank[g]);
    return best;
  };
  std::vector<std::pair<size_t, size_t>> order;  // (rank, position)
  for (size_t k = 0; k < d->flips.size(); ++k) order.emplace_back(first_rank(d->flips[k]), k);
  std::sort(order.begin(), order.end());
  std::vector<PriorFlip> sorted;
  sorted.reserve(d->flips.size());
  for (const auto& o : order) sorted.push_back(std::move(d->flips[o.second]));
  d->flips = std::move(sorted);
}

}  // namespace

ImageDiff diff_image(const DiffImage& image, const Assignment& a, const Assignment& b) {
  ImageDiff d;
  d.name = image.name;
  d.num_priors = std::min({image.num_priors, a.num_priors(), b.num_priors()});
  d.num_gts = image.num_gts;
  set_attribution(a, b, &d);
  d.cost_terms_a = a.cost_terms;
  d.cost_terms_b = b.cost_terms;
  const std::map<int64_t, GtCounts> per_gt = compare_priors(image, a, b, &d);
  d.gts = gt_rows(image, per_gt, a, b);
  explain_flips(a, b, &d);
  order_flips(&d);
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
    return Status::Internal(
        fmt::format("diff_batch: {} images, {} and {} assignments", batch.images.size(), a.size(), b.size()));
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

}  // namespace assignscope::analysis
