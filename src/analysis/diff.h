// Comparing two assignments of the same priors: two assigners (or two
// parameter settings) replayed on one dump, or two stored results.
//
// The unit is one image: diff_image() is a pure function of the image and
// the two assignments, so a caller holding several dumps can diff them image
// by image and aggregate with totals(). A side's assignment of a prior is its
// state (negative, ignored, positive) and the set of GTs it serves: one GT
// from gt_inds, or every GT of `matches` for multi-match assigners (YOLOv5).
// Two sides agree on a prior when state and GT set are equal.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/assignment.h"
#include "core/problem.h"
#include "core/status.h"

namespace assignscope::analysis {

// What diff knows about an image besides the two assignments. With the dump
// everything; from stored results only what they carry (num_gts < 0: the
// number of GTs is unknown and GT rows come from the indices the results use).
struct DiffImage {
  std::string name;
  int64_t num_priors = 0;
  int64_t num_gts = -1;                        // -1: unknown
  std::vector<int64_t> gt_labels;              // [num_gts] when known
  std::vector<std::array<float, 4>> gt_boxes;  // [num_gts] when known
  std::vector<int32_t> prior_level;            // [num_priors] when known
};
DiffImage diff_image_of(const Problem& problem);

struct GtDiff {
  int64_t index = 0;
  int64_t label = -1;                        // -1: unknown
  std::optional<std::array<float, 4>> box;   // with the dump, or a JSON result
  bool padding = false;                      // past the image's real GTs (mmyolo's stacked batches)
  int64_t positives_a = 0, positives_b = 0;  // priors serving it on each side
  int64_t common = 0;                        // priors serving it on both
  double jaccard = 1.0;                      // common / |A ∪ B|; 1 when both are empty
  int64_t k_a = -1, k_b = -1;                // dynamic k; -1 where that side has none
  bool starved_one_side() const { return (positives_a == 0) != (positives_b == 0); }
  bool starved_on_a_only() const { return positives_a == 0 && positives_b > 0; }
  bool starved_on_b_only() const { return positives_b == 0 && positives_a > 0; }
  bool same() const { return jaccard == 1.0 && k_a == k_b; }
};

enum class PriorState { kNegative, kPositive, kIgnored };
const char* prior_state_name(PriorState s);  // "negative", "positive", "ignored"

enum class FlipKind {
  kPosToNeg,   // positive on a, not on b (negative or ignored)
  kNegToPos,   // not positive on a, positive on b
  kChangedGt,  // positive on both, for different GTs
  kIgnored,    // negative on one side, ignored on the other
};
const char* flip_kind_name(FlipKind k);  // "pos→neg", "neg→pos", "changed GT", "ignored"
const char* flip_kind_key(FlipKind k);   // "pos_to_neg", "neg_to_pos", "changed_gt", "ignored" (JSON)

// A (prior, GT) pair as each side recorded it in Assignment::candidates.
struct PairCosts {
  int64_t gt = 0;
  std::optional<CandidatePair> a, b;  // absent where that side recorded no such pair
};

// Which cost term explains a flip, for sides that minimise the same cost
// function (same_cost_function) and recorded the pairs involved. A term's
// push is how far its change moved the pairs toward the flip: the rise of its
// value on the pairs the prior left (GTs it served on a only) plus its fall on
// the pairs it joined (b only), b minus a. Two different cost functions are
// never compared term by term: a "cls" of one is not the "cls" of another.
struct Attribution {
  double cost_push = 0;                                // the same for the total cost
  std::vector<std::pair<std::string, double>> pushes;  // per term, in the cost's order
  std::string term;                                    // the largest positive push; "" when none
  double push = 0;                                     // its push
};

struct PriorFlip {
  int64_t prior = 0;
  int32_t level = -1;  // -1: unknown
  FlipKind kind = FlipKind::kPosToNeg;
  PriorState state_a = PriorState::kNegative, state_b = PriorState::kNegative;
  std::vector<int64_t> gts_a, gts_b;  // GTs it serves on each side (empty unless positive)
  std::vector<PairCosts> pairs;       // the pairs of the GTs it left or joined
  std::optional<Attribution> attribution;
  // What changed around it, from the recorded pairs, e.g. "#0: k 12→9",
  // "#3: picked on b, lost to #1", "#2: not a candidate on a", "#0: outranked on b".
  std::vector<std::string> why;
};

struct ImageDiff {
  std::string name;
  int64_t num_priors = 0;
  int64_t num_gts = -1;  // -1: unknown (stored results without GTs)
  int64_t same = 0;      // priors with the same state and GTs on both sides
  int64_t pos_to_neg = 0, neg_to_pos = 0, changed_gt = 0, ignored_changes = 0;
  int64_t positives_a = 0, positives_b = 0, positives_common = 0;  // priors; common: same GTs
  bool cost_based = false;                                         // both sides cost-based (is_cost_based)
  bool attributed = false;       // both minimise the same cost function: flips carry an attribution
  std::string attribution_note;  // why flips are not attributed ("" when they are, or neither side is cost-based)
  std::vector<std::string> cost_terms_a, cost_terms_b;  // names of each side's CandidatePair::terms
  std::vector<GtDiff> gts;       // worst Jaccard first (then the larger change in positives, then index)
  std::vector<PriorFlip> flips;  // every prior that differs; those of the worst GTs first, then by prior

  int64_t differing() const { return num_priors - same; }
  double agreement() const { return num_priors ? static_cast<double>(same) / static_cast<double>(num_priors) : 1.0; }
  double positives_jaccard() const;        // positives_common / |positives a ∪ b|; 1 when neither side has one
  double positive_priors_jaccard() const;  // the same for positive priors whatever their GTs
};

// Assigners whose CandidatePair::cost is the sum of its terms and is
// minimised: the registry's traits.cost (dynamic-soft-label, simota, ota,
// hungarian, topk-hungarian and their flavours); a name the registry does
// not know, by its family's entries.
bool is_cost_based(const std::string& assigner);

// Whether the two sides minimise the same cost function, so that a term of
// one means what the same term of the other means: cost-based with the same
// registry traits.cost ("dynamic-soft-label" and "dynamic-soft-label.mmyolo":
// flavours of one cost, as frameworks compute it; parameters and presets may
// differ) and the same cost terms, in the same order. Otherwise `why` says what differs ("a
// (dynamic-soft-label) and b (simota) minimise different cost functions"),
// and flips carry no attribution: a "cls" of one is not the "cls" of another.
bool same_cost_function(const Assignment& a, const Assignment& b, std::string* why);

// The diff of one image. Both assignments must cover image.num_priors priors.
ImageDiff diff_image(const DiffImage& image, const Assignment& a, const Assignment& b);
ImageDiff diff_image(const Problem& problem, const Assignment& a, const Assignment& b);

// One side of a diff: an assigner replayed on the dump, or a stored result.
struct DiffSide {
  std::string assigner;  // as registered or stored: "dynamic-soft-label"
  std::string params;    // "soft_center_radius=3 topk=13 iou_weight=3"
  nlohmann::ordered_json params_json = nlohmann::ordered_json::object();
  std::string result;  // the stored result's path; "" for a replay
};
DiffSide side_of(const Assignment& a);

struct BatchDiff {
  DiffSide a, b;
  std::string source;  // the dump; "" for stored results
  bool batch = false;  // several images (a batch dump or batched results)
  std::vector<ImageDiff> images;
};

struct DiffTotals {
  int64_t images = 0, priors = 0, same = 0;
  int64_t pos_to_neg = 0, neg_to_pos = 0, changed_gt = 0, ignored_changes = 0;
  int64_t positives_a = 0, positives_b = 0, positives_common = 0;
  int64_t gts = 0, starved_one_side = 0;
  int64_t starved_a_only = 0, starved_b_only = 0;  // GTs with positives on the other side only
  double jaccard_min = 1.0;                        // over every GT row of every image; 1 without GTs
  double jaccard_mean = 1.0;
  int64_t worst_image = -1, worst_gt = -1;  // the first GT row with jaccard_min (worst first); -1 without GTs
  int64_t differing() const { return priors - same; }
  double agreement() const { return priors ? static_cast<double>(same) / static_cast<double>(priors) : 1.0; }
  // The set of priors positive on each side (for the same GTs on both): its
  // Jaccard. Negatives agreeing on both sides do not count, so this sees a
  // lost positive that `agreement` (99 % for almost any two assigners) hides.
  double positives_jaccard() const;
  // The Jaccard of the priors positive on each side whatever their GTs:
  // (positives_common + changed_gt) / |positive on a ∪ positive on b|. A
  // prior handed to another GT counts here, not in positives_jaccard.
  double positive_priors_jaccard() const;
};
DiffTotals totals(const std::vector<ImageDiff>& images);

// The two sides replayed on the same batch, image by image.
Result<BatchDiff> diff_batch(const Batch& batch, const std::vector<Assignment>& a, const std::vector<Assignment>& b);

// A stored result read back: what `assignscope run` wrote with --format npy
// (a result directory: params.json + assigned_gt_inds.npy ...; also a golden
// case's expected/<label>/) or --format json --include priors.
struct StoredAssignments {
  DiffSide side;
  bool batch = false;
  std::vector<DiffImage> images;        // GTs known only from JSON results
  std::vector<Assignment> assignments;  // gt_inds, labels, dynamic_ks, matches; no candidates
};
Result<StoredAssignments> read_result(const std::string& path);

// Two stored results of the same priors. Errors (kInvalidInput) when their
// image counts or numbers of priors differ.
Result<BatchDiff> diff_stored(const StoredAssignments& a, const StoredAssignments& b);

}  // namespace assignscope::analysis
