// SVG pictures of an assignment: the input canvas with the GT boxes, one
// panel per pyramid level, positives drawn at their prior centres coloured by
// their GT, the priors a GT picked but lost to another, ignored priors,
// starved GTs and a legend with dynamic k (`assignscope run --format svg`);
// and the priors two assignments disagree on (`svg_diff`). Either can zoom
// on one GT or a region and draw one image of a batch (SvgView). Pure
// functions from values to SVG text; docs/cli.md ("svg") describes what is
// drawn.
//
// Every drawn element carries a class, so tests and scripts can count them:
//   run:   rect.gt (class "gt starved" when the GT has no positive; one per GT
//          per panel, only those meeting the view when zoomed),
//          g.starved-marker, circle.positive (one per positive prior drawn:
//          every positive without a view, those inside the view with one;
//          radius >= kMinMarkerRadius, outlined), line.connector (from a
//          positive whose prior centre lies outside its GT's box to that box),
//          circle.extra-match (the further GTs of a multi-match prior),
//          circle.lost (a ring in the loser's colour: a prior GT data-gt
//          picked that went to GT data-winner, -1 the background; one per
//          analysis::lost_picks entry drawn) with text.lost-tag ("0→4", "3→bg";
//          when a panel has at most kMaxLostTags and where it overlaps no
//          other), rect.candidate (with --gt: GT I's candidate pairs, class
//          "candidate picked" for its picks; rect.pick a pick that is no
//          candidate),
//          path.ignored (a cross per ignored prior), circle.negative (faint
//          dots: without a view when N <= kMaxNegativeDots; with one, the
//          negatives inside it when at most kMaxNegativeDots per panel),
//          rect.ignore-box, text.gt-label (placed over no other tag nor positive;
//          data-box="x y w h" is the box the placement kept free) with
//          line.label-leader when moved away from its GT, image.input-image-source
//          (the dump's image, once per image in <defs>), use.input-image (it,
//          under each panel's boxes), rect.input-edge (zoomed: where the
//          input ends), g.panel (data-view="x1 y1 x2 y2", the input region it
//          shows, when zoomed), g.image, g.legend, text.legend-gt (one per GT
//          listed: GT I with --gt, then the starved GTs, then the others),
//          text.legend-more, text.note.
//   diff:  circle.flip-pos-neg (hollow), circle.flip-neg-pos (filled),
//          g.flip-gt (two half discs), path.flip-ignored; one g.image per
//          image of a batch.
// Legend symbols use "key-..." classes and never count as drawn priors.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/assignment.h"
#include "core/problem.h"
#include "core/status.h"

namespace assignscope::render {

// The layout, in SVG pixels.
namespace svg_layout {
inline constexpr double kPanelWidth = 480;       // the canvas is scaled to this width...
inline constexpr double kMaxPanelHeight = 960;   // ...unless it would then be taller than this
inline constexpr double kGap = 16;               // between panels, and the margin all round
inline constexpr double kMinWidth = 720;         // room for the title and the legend
inline constexpr double kImageTitleHeight = 20;  // an image's summary line
inline constexpr double kPanelTitleHeight = 18;  // "level 0 · stride 8 · ..." above each panel
inline constexpr double kTitleHeight = 40;       // the picture's two title lines
inline constexpr double kLegendColumnWidth = 240;
inline constexpr int64_t kMaxNegativeDots = 1024;  // negatives drawn as faint dots when N <= this
inline constexpr int64_t kMaxBoxLabels = 100;      // GT boxes tagged "gt:label" when G <= this
inline constexpr int64_t kMaxLegendGts = 60;       // legend entries per image (all starved GTs up to 4x this)
inline constexpr double kMinMarkerRadius = 3.5;    // a positive's marker, whatever the stride
inline constexpr double kMaxMarkerRadius = 6;
inline constexpr int64_t kMaxLostTags = 150;    // "→g" tags on lost priors when a panel has at most this many
inline constexpr double kLabelCharWidth = 5.8;  // the width a GT tag's character is given when placed
inline constexpr double kLabelHeight = 11;      // ... and its height
inline constexpr double kViewMargin = 3;        // --gt: strides of the panel's level around what is drawn
}  // namespace svg_layout

// The region of input-image pixels a panel shows: (0, 0, width, height) from
// meta.image_size when the dump has it, else from the size of the dump's
// image, else the bounding box of the prior cells, GT boxes and ignore
// boxes, widened to include the origin.
struct SvgCanvas {
  double x0 = 0, y0 = 0, width = 1, height = 1;
  bool from_image_size = false;
};
SvgCanvas svg_canvas(const Problem& problem);

// What to draw: one image of a batch, and a zoom on one GT or a region.
struct SvgView {
  std::optional<int64_t> image;  // --image K: only image K (0-based) of the batch
  std::optional<int64_t> gt;     // --gt I: each panel shows GT I, its candidates, picks, positives and lost
                                 // priors, widened by kViewMargin strides of the panel's level; with a batch
                                 // and no `image`, GT I of every image that has one
  std::optional<std::array<double, 4>> region;  // --region x1,y1,x2,y2 in input pixels
  bool zoomed() const { return gt.has_value() || region.has_value(); }
};

// A usage error naming the flag and the valid range when `view` does not fit
// the batch: --image past the images, --gt past every drawn image's GTs, a
// region with x2 <= x1 or y2 <= y1 or a non-finite corner.
Status check_svg_view(const Batch& batch, const SvgView& view);

// "x1,y1,x2,y2" as SvgView::region; a usage error naming --region otherwise.
Result<std::array<double, 4>> parse_svg_region(const std::string& text);

// How many input pixels one SVG pixel is worth: kPanelWidth / width, or
// kMaxPanelHeight / height when that is smaller.
double svg_scale(const SvgCanvas& canvas);

// GT g's colour, "#rrggbb": hue 30° + (185° + 114.59°·g) mod 300°, where
// 114.59° = 300°·(1 - 1/φ) is the golden angle scaled to the 300° in use (so
// consecutive GTs differ most; the reds 330°..30° are kept for starved GTs),
// saturation 70%, lightness 45%, 62%, 34% for g mod 3 = 0, 1, 2. GT 0 is blue
// (#2265c3), GT 1 pink (#e25a9f), GT 2 green (#1a934b). Colours never repeat
// exactly but far-apart GTs can look alike: data-gt says which GT it is.
std::string gt_colour(int64_t g);

// `assignscope run --format svg`: one block per image, stacked vertically,
// each a row of level panels over a legend. `results[b]` is image b's.
std::string svg(const Batch& batch, const std::vector<Assignment>& results, const SvgView& view = {});

// The priors whose assignment differs between `a` and `b` (both of
// `problem`), over the GT boxes: positive in a only (hollow circle in a's GT
// colour), positive in b only (filled, b's GT colour), positive in both for
// different GTs (left half a's GT colour, right half b's), negative in one and
// ignored in the other (grey cross). A multi-match prior compares its sets of
// GTs. `name_a` / `name_b` label the two sides in the legend.
std::string svg_diff(const Problem& problem, const Assignment& a, const Assignment& b, const std::string& name_a,
                     const std::string& name_b, const SvgView& view = {});
// ... of every image of a batch (view.image: one), stacked as `svg` stacks them.
std::string svg_diff(const Batch& batch, const std::vector<Assignment>& a, const std::vector<Assignment>& b,
                     const std::string& name_a, const std::string& name_b, const SvgView& view = {});

// Text for XML character data or an attribute value: & < > " ' escaped,
// control characters and invalid UTF-8 replaced by U+FFFD.
std::string xml_escape(std::string_view text);

}  // namespace assignscope::render
