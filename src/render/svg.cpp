// SVG pictures of an assignment and of the difference between two (render/svg.h).
#include "render/svg.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <iterator>
#include <limits>

#include <fmt/format.h>

#include "analysis/stats.h"
#include "render/data_uri.h"
#include "render/soft_targets.h"

namespace assignscope::render {

namespace layout = svg_layout;

namespace {

constexpr const char* kStarvedRed = "#d62728";
constexpr const char* kGrey = "#8c8c8c";
constexpr const char* kNegativeGrey = "#c8c8c8";
constexpr const char* kPaddingGrey = "#555555";
constexpr const char* kTextGrey = "#555555";
constexpr double kCharWidth = 5.8;  // a generous average width of an 11 px sans-serif character, for layout
constexpr double kLegendRow = 16;   // one legend line
constexpr int kMaxNotes = 5;        // notes shown per image

// A coordinate or length: one decimal, without a trailing ".0".
std::string num(double v) {
  std::string s = fmt::format("{:.1f}", v);
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  if (s == "-0") s = "0";
  return s;
}

// Characters (not bytes) of UTF-8 text, for estimating its drawn width.
double text_width(std::string_view text) {
  size_t chars = 0;
  for (char c : text) chars += (static_cast<unsigned char>(c) & 0xC0u) != 0x80u;
  return static_cast<double>(chars) * kCharWidth;
}

bool finite(double v) { return std::isfinite(v); }

template <typename... Args>
void emit(std::string& out, fmt::format_string<Args...> format, Args&&... args) {
  fmt::format_to(std::back_inserter(out), format, std::forward<Args>(args)...);
}

// One pyramid level: its priors [start, start + count) and stride (0: unknown).
struct Level {
  int64_t start = 0;
  int64_t count = 0;
  double stride = 0;
};

std::vector<Level> levels_of(const Problem& p) {
  std::vector<Level> levels;
  int64_t start = 0;
  for (int64_t count : p.num_level_priors) {
    Level l;
    l.start = start;
    l.count = count;
    if (count > 0 && p.has(Field::kPriors) && start < p.priors.rows())
      l.stride = static_cast<double>(p.priors(start, 2));
    levels.push_back(l);
    start += count;
  }
  if (levels.empty()) levels.push_back({0, p.num_priors(), 0});  // no priors: one panel for the GTs
  return levels;
}

int32_t level_of_prior(const Problem& p, int64_t prior) {
  return prior < static_cast<int64_t>(p.prior_level.size()) ? p.prior_level[static_cast<size_t>(prior)] : 0;
}

// A panel: the canvas (or, zoomed, the view) mapped onto a rectangle of the
// picture; `id` names its clip path.
struct Panel {
  double left = 0, top = 0;
  SvgCanvas canvas;
  double scale = 1;
  bool zoomed = false;  // only what lies in the canvas is drawn
  std::string id;
  double x(double v) const { return left + (v - canvas.x0) * scale; }
  double y(double v) const { return top + (v - canvas.y0) * scale; }
  double width() const { return canvas.width * scale; }
  double height() const { return canvas.height * scale; }
  // Whether a point of the input is drawn: always without a view.
  bool shows(double px, double py) const {
    return !zoomed ||
           (px >= canvas.x0 && px <= canvas.x0 + canvas.width && py >= canvas.y0 && py <= canvas.y0 + canvas.height);
  }
  bool meets(double x1, double y1, double x2, double y2) const {
    if (!zoomed) return true;
    return std::max(x1, x2) >= canvas.x0 && std::min(x1, x2) <= canvas.x0 + canvas.width &&
           std::max(y1, y2) >= canvas.y0 && std::min(y1, y2) <= canvas.y0 + canvas.height;
  }
};

// Radius of a prior's marker: 0.3 stride on screen, within [kMinMarkerRadius,
// kMaxMarkerRadius] px, so a level-0 positive is seen at any size; the
// minimum when the stride is unknown (anchors-only dumps).
double marker_radius(double stride, double scale) {
  if (!(stride > 0)) return layout::kMinMarkerRadius;
  return std::clamp(0.3 * stride * scale, layout::kMinMarkerRadius, layout::kMaxMarkerRadius);
}

std::string box_tag(const Problem& p, int64_t g) {
  return fmt::format("{}:{}", g, p.gt_labels[static_cast<size_t>(g)]);
}

bool box_is_finite(const Rows4f& boxes, Eigen::Index r) {
  for (int c = 0; c < 4; ++c)
    if (!finite(static_cast<double>(boxes(r, c)))) return false;
  return true;
}

void rect_of_box(std::string& out, const Panel& panel, const Rows4f& boxes, Eigen::Index r) {
  const double x1 = panel.x(static_cast<double>(boxes(r, 0))), y1 = panel.y(static_cast<double>(boxes(r, 1)));
  const double x2 = panel.x(static_cast<double>(boxes(r, 2))), y2 = panel.y(static_cast<double>(boxes(r, 3)));
  emit(out, "x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"", num(std::min(x1, x2)), num(std::min(y1, y2)),
       num(std::max(std::abs(x2 - x1), 0.5)), num(std::max(std::abs(y2 - y1), 0.5)));
}

// The dump's input image, embedded once per image (so the picture stands
// alone) in input pixels, for the panels to <use>.
void define_input_image(std::string& out, const Problem& p, const std::string& id) {
  if (!p.image) return;
  emit(out,
       "<defs><image class=\"input-image-source\" id=\"{}\" x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" "
       "preserveAspectRatio=\"none\" href=\"{}\"/></defs>\n",
       id, p.image->width, p.image->height, data_uri(*p.image));
}

// A GT box on screen: (x1, y1, x2, y2), ordered.
struct ScreenBox {
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};
ScreenBox screen_box(const Panel& panel, const Rows4f& boxes, Eigen::Index r) {
  const double ax = panel.x(static_cast<double>(boxes(r, 0))), ay = panel.y(static_cast<double>(boxes(r, 1)));
  const double bx = panel.x(static_cast<double>(boxes(r, 2))), by = panel.y(static_cast<double>(boxes(r, 3)));
  return {std::min(ax, bx), std::min(ay, by), std::max(ax, bx), std::max(ay, by)};
}

bool gt_meets(const Problem& p, const Panel& panel, int64_t g) {
  return box_is_finite(p.gt_bboxes, g) &&
         panel.meets(static_cast<double>(p.gt_bboxes(g, 0)), static_cast<double>(p.gt_bboxes(g, 1)),
                     static_cast<double>(p.gt_bboxes(g, 2)), static_cast<double>(p.gt_bboxes(g, 3)));
}

// Greedy placement of the GT tags: each takes the first free spot of above /
// inside / below its box's left or right end, else one stacked further above
// with a leader line to its box, else none.
class LabelPlacer {
 public:
  explicit LabelPlacer(const Panel& panel) : panel_(panel) {}
  // The tag's box (x, y top, w, h) and whether it needs a leader; false: no room.
  bool place(const ScreenBox& b, double w, std::array<double, 4>* at, bool* leader) {
    const double h = layout::kLabelHeight;
    const std::array<std::array<double, 2>, 6> spots = {{{b.x1, b.y1 - h - 1},
                                                         {b.x1 + 1, b.y1 + 1},
                                                         {b.x1, b.y2 + 1},
                                                         {b.x2 - w, b.y1 - h - 1},
                                                         {b.x1 + 1, b.y2 - h - 1},
                                                         {b.x2 - w, b.y2 + 1}}};
    for (const auto& spot : spots)
      if (take({spot[0], spot[1], w, h}, at)) return *leader = false, true;
    for (int k = 1; k <= 6; ++k)
      for (double x : {b.x1, b.x2 - w, b.x1 - w - 2})
        if (take({x, b.y1 - h - 1 - static_cast<double>(k) * (h + 1), w, h}, at)) return *leader = true, true;
    return false;
  }
  // Keeps a box free of tags: a marker's.
  void block(const std::array<double, 4>& r) { placed_.push_back(r); }
  // Takes the box (x, y top, w, h), moved within the panel's width, when it is free.
  bool take(std::array<double, 4> r, std::array<double, 4>* at) {
    r[0] = std::clamp(r[0], panel_.left + 1, std::max(panel_.left + 1, panel_.left + panel_.width() - r[2] - 1));
    if (r[1] < panel_.top + 1 || r[1] + r[3] > panel_.top + panel_.height() - 1) return false;
    for (const auto& o : placed_)
      if (r[0] < o[0] + o[2] && o[0] < r[0] + r[2] && r[1] < o[1] + o[3] && o[1] < r[1] + r[3]) return false;
    placed_.push_back(r);
    *at = r;
    return true;
  }

 private:
  const Panel& panel_;
  std::vector<std::array<double, 4>> placed_;
};

// The panel's title and frame, its clip path and the clipped group the rest
// goes in (closed by close_panel_clip), the input image, the ignore boxes and
// the GT boxes (dashed red with a marker when `starved[g]`), tagged
// "gt:label" for small G.
void draw_panel_base(std::string& out, const Problem& p, const Panel& panel, const std::string& title,
                     const std::vector<char>& starved, const std::string& image_id, LabelPlacer* placer) {
  emit(out, "<text class=\"panel-title\" x=\"{}\" y=\"{}\">{}</text>\n", num(panel.left), num(panel.top - 5),
       xml_escape(title));
  emit(out,
       "<rect class=\"canvas\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#f7f7f7\" stroke=\"#bbbbbb\"/>\n",
       num(panel.left), num(panel.top), num(panel.width()), num(panel.height()));
  emit(out,
       "<clipPath id=\"clip-{0}\"><rect x=\"{1}\" y=\"{2}\" width=\"{3}\" height=\"{4}\"/></clipPath>\n"
       "<g clip-path=\"url(#clip-{0})\">\n",
       panel.id, num(panel.left), num(panel.top), num(panel.width()), num(panel.height()));
  if (panel.zoomed) {  // where the input ends
    const SvgCanvas whole = svg_canvas(p);
    emit(out,
         "<rect class=\"input-edge\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#ffffff\" "
         "stroke=\"#999999\" stroke-dasharray=\"6 3\"/>\n",
         num(panel.x(whole.x0)), num(panel.y(whole.y0)), num(whole.width * panel.scale),
         num(whole.height * panel.scale));
  }
  if (p.image)
    emit(out, "<use class=\"input-image\" href=\"#{}\" transform=\"translate({} {}) scale({})\" opacity=\"0.6\"/>\n",
         image_id, num(panel.x(0)), num(panel.y(0)), fmt::format("{:.6g}", panel.scale));
  if (p.gt_bboxes_ignore.rows() > 0) {
    out += "<g fill=\"none\" stroke=\"#8c8c8c\" stroke-dasharray=\"2 2\">\n";
    for (Eigen::Index r = 0; r < p.gt_bboxes_ignore.rows(); ++r) {
      if (!box_is_finite(p.gt_bboxes_ignore, r)) continue;
      emit(out, "<rect class=\"ignore-box\" data-ignore=\"{}\" ", r);
      rect_of_box(out, panel, p.gt_bboxes_ignore, r);
      out += "/>\n";
    }
    out += "</g>\n";
  }
  const int64_t num_gts = p.num_gts();
  out += "<g class=\"gts\" fill=\"none\" stroke-width=\"1.5\">\n";
  int64_t shown = 0;
  for (int64_t g = 0; g < num_gts; ++g) {
    if (!gt_meets(p, panel, g)) continue;
    ++shown;
    if (starved[static_cast<size_t>(g)]) {
      emit(out, "<rect class=\"gt starved\" data-gt=\"{}\" ", g);
      rect_of_box(out, panel, p.gt_bboxes, g);
      emit(out, " stroke=\"{}\" stroke-width=\"2\" stroke-dasharray=\"4 3\"/>\n", kStarvedRed);
    } else {
      emit(out, "<rect class=\"gt\" data-gt=\"{}\" ", g);
      rect_of_box(out, panel, p.gt_bboxes, g);
      emit(out, " stroke=\"{}\"/>\n", gt_colour(g));
    }
  }
  out += "</g>\n";
  if (shown > 0 && shown <= layout::kMaxBoxLabels) {
    out += "<g font-size=\"10\">\n";
    for (int64_t g = 0; g < num_gts; ++g) {
      if (!gt_meets(p, panel, g)) continue;
      const std::string tag = box_tag(p, g);
      const ScreenBox b = screen_box(panel, p.gt_bboxes, g);
      std::array<double, 4> at{};
      bool leader = false;
      if (!placer->place(b, static_cast<double>(tag.size()) * layout::kLabelCharWidth, &at, &leader)) continue;
      const std::string colour = starved[static_cast<size_t>(g)] ? kStarvedRed : gt_colour(g);
      if (leader)
        emit(out,
             "<line class=\"label-leader\" data-gt=\"{}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\"/>\n", g,
             num(std::clamp(b.x1, at[0], at[0] + at[2])), num(at[1] + at[3]), num(b.x1), num(b.y1), colour);
      emit(out,
           "<text class=\"gt-label\" data-gt=\"{}\" data-box=\"{} {} {} {}\" x=\"{}\" y=\"{}\" fill=\"{}\" "
           "stroke=\"#ffffff\" stroke-width=\"2.5\" paint-order=\"stroke\">{}</text>\n",
           g, num(at[0]), num(at[1]), num(at[2]), num(at[3]), num(at[0]), num(at[1] + at[3] - 2), colour, tag);
    }
    out += "</g>\n";
  }
}

void close_panel_clip(std::string& out) { out += "</g>\n"; }

// The red "!" on a starved GT's top-left corner, drawn last so nothing covers it.
void draw_starved_markers(std::string& out, const Problem& p, const Panel& panel, const std::vector<char>& starved) {
  for (int64_t g = 0; g < p.num_gts(); ++g) {
    if (!starved[static_cast<size_t>(g)] || !gt_meets(p, panel, g)) continue;
    const double x = panel.x(static_cast<double>(std::min(p.gt_bboxes(g, 0), p.gt_bboxes(g, 2))));
    const double y = panel.y(static_cast<double>(std::min(p.gt_bboxes(g, 1), p.gt_bboxes(g, 3))));
    emit(out,
         "<g class=\"starved-marker\" data-gt=\"{}\"><circle cx=\"{}\" cy=\"{}\" r=\"6\" fill=\"{}\"/>"
         "<text x=\"{}\" y=\"{}\" fill=\"#ffffff\" font-size=\"10\" font-weight=\"bold\" "
         "text-anchor=\"middle\">!</text></g>\n",
         g, num(x), num(y), kStarvedRed, num(x), num(y + 3.5));
  }
}

bool prior_centre(const Problem& p, int64_t i, double* x, double* y) {
  if (i >= p.priors.rows()) return false;
  *x = static_cast<double>(p.priors(i, 0));
  *y = static_cast<double>(p.priors(i, 1));
  return finite(*x) && finite(*y);
}

// --- the legend's key: symbols followed by words, flowed into lines ---------

enum class Symbol {
  kPositive,
  kAmbiguous,
  kExtraMatch,
  kIgnored,
  kNegative,
  kGtBox,
  kStarved,
  kIgnoreBox,
  kFlipPosNeg,
  kFlipNegPos,
  kFlipGt,
  kFlipIgnored,
  kConnector,
  kLost,
  kCandidate
};

struct KeyItem {
  Symbol symbol;
  std::string text;
};

void draw_symbol(std::string& out, Symbol s, double x, double y) {  // centred on (x, y), about 12 px wide
  const std::string c0 = gt_colour(0), c1 = gt_colour(1);
  switch (s) {
    case Symbol::kPositive:
      emit(out, "<circle class=\"key-positive\" cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"{}\"/>", num(x), num(y), c0);
      break;
    case Symbol::kAmbiguous:
      emit(out,
           "<circle class=\"key-ambiguous\" cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"#ffffff\" stroke=\"{}\" "
           "stroke-width=\"1.5\"/>",
           num(x), num(y), c0);
      break;
    case Symbol::kExtraMatch:
      emit(out,
           "<circle class=\"key-positive\" cx=\"{0}\" cy=\"{1}\" r=\"3\" fill=\"{2}\"/><circle "
           "class=\"key-extra-match\" "
           "cx=\"{0}\" cy=\"{1}\" r=\"5.5\" fill=\"none\" stroke=\"{3}\" stroke-width=\"1.5\"/>",
           num(x), num(y), c0, c1);
      break;
    case Symbol::kIgnored:
    case Symbol::kFlipIgnored:
      emit(out, "<path class=\"key-ignored\" d=\"M{} {}L{} {}M{} {}L{} {}\" stroke=\"{}\" stroke-width=\"1.5\"/>",
           num(x - 4), num(y - 4), num(x + 4), num(y + 4), num(x - 4), num(y + 4), num(x + 4), num(y - 4), kGrey);
      break;
    case Symbol::kNegative:
      emit(out, "<circle class=\"key-negative\" cx=\"{}\" cy=\"{}\" r=\"1.5\" fill=\"{}\"/>", num(x), num(y),
           kNegativeGrey);
      break;
    case Symbol::kGtBox:
      emit(out,
           "<rect class=\"key-gt\" x=\"{}\" y=\"{}\" width=\"12\" height=\"9\" fill=\"none\" stroke=\"{}\" "
           "stroke-width=\"1.5\"/>",
           num(x - 6), num(y - 4.5), c0);
      break;
    case Symbol::kStarved:
      emit(out,
           "<rect class=\"key-starved\" x=\"{}\" y=\"{}\" width=\"12\" height=\"9\" fill=\"none\" stroke=\"{}\" "
           "stroke-width=\"2\" stroke-dasharray=\"4 3\"/>",
           num(x - 6), num(y - 4.5), kStarvedRed);
      break;
    case Symbol::kIgnoreBox:
      emit(out,
           "<rect class=\"key-ignore-box\" x=\"{}\" y=\"{}\" width=\"12\" height=\"9\" fill=\"none\" stroke=\"{}\" "
           "stroke-dasharray=\"2 2\"/>",
           num(x - 6), num(y - 4.5), kGrey);
      break;
    case Symbol::kFlipPosNeg:
      emit(out,
           "<circle class=\"key-flip-pos-neg\" cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"none\" stroke=\"{}\" "
           "stroke-width=\"1.5\"/>",
           num(x), num(y), c0);
      break;
    case Symbol::kFlipNegPos:
      emit(out, "<circle class=\"key-flip-neg-pos\" cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"{}\"/>", num(x), num(y), c0);
      break;
    case Symbol::kConnector:
      emit(out,
           "<line class=\"key-connector\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"1.2\"/>"
           "<circle class=\"key-positive\" cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{}\" stroke=\"#222222\" "
           "stroke-width=\"0.8\"/>",
           num(x - 6), num(y + 4), num(x + 4), num(y - 3), c0, num(x - 4), num(y + 3), c0);
      break;
    case Symbol::kLost:
      emit(out,
           "<circle class=\"key-lost\" cx=\"{}\" cy=\"{}\" r=\"5\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" "
           "stroke-dasharray=\"2 1.5\"/>",
           num(x), num(y), c0);
      break;
    case Symbol::kCandidate:
      emit(out,
           "<rect class=\"key-candidate\" x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"none\" stroke=\"{}\" "
           "stroke-width=\"1\"/>",
           num(x - 5), num(y - 5), c0);
      break;
    case Symbol::kFlipGt:
      emit(out,
           "<path class=\"key-flip-gt\" d=\"M{0} {1}A4 4 0 0 0 {0} {2}Z\" fill=\"{3}\"/>"
           "<path class=\"key-flip-gt\" d=\"M{0} {1}A4 4 0 0 1 {0} {2}Z\" fill=\"{4}\"/>",
           num(x), num(y - 4), num(y + 4), c0, c1);
      break;
  }
}

// Draws the key from (left, y) within `width`; returns the y below it.
double draw_key(std::string& out, const std::vector<KeyItem>& items, double left, double y, double width) {
  out += "<g class=\"key\">\n";
  double x = left;
  for (const KeyItem& item : items) {
    const double w = 18 + text_width(item.text) + 14;
    if (x > left && x + w > left + width) {
      x = left;
      y += kLegendRow;
    }
    draw_symbol(out, item.symbol, x + 6, y - 4);
    emit(out, "<text x=\"{}\" y=\"{}\">{}</text>\n", num(x + 16), num(y), xml_escape(item.text));
    x += w;
  }
  out += "</g>\n";
  return y + kLegendRow;
}

// One legend entry per GT, in columns, at most kMaxLegendGts, then "… and N more".
struct GtEntry {
  int64_t gt = 0;
  std::string text;
  bool alarm = false;  // drawn in red (starved)
};

double draw_gt_entries(std::string& out, const std::vector<GtEntry>& entries, int64_t total, double left, double y,
                       double width, const std::string& more_note = "") {
  const int64_t columns = std::max<int64_t>(1, static_cast<int64_t>(width / layout::kLegendColumnWidth));
  const auto shown = static_cast<int64_t>(entries.size());
  for (int64_t e = 0; e < shown; ++e) {
    const GtEntry& entry = entries[static_cast<size_t>(e)];
    const double x = left + static_cast<double>(e % columns) * layout::kLegendColumnWidth;
    const int64_t row = e / columns;  // whole rows
    const double row_y = y + static_cast<double>(row) * kLegendRow;
    emit(out,
         "<rect class=\"legend-swatch\" data-gt=\"{}\" x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/>"
         "<text class=\"legend-gt\" data-gt=\"{}\" x=\"{}\" y=\"{}\"{}>{}</text>\n",
         entry.gt, num(x), num(row_y - 9), gt_colour(entry.gt), entry.gt, num(x + 14), num(row_y),
         entry.alarm ? fmt::format(" fill=\"{}\"", kStarvedRed) : "", xml_escape(entry.text));
  }
  const int64_t rows = (shown + columns - 1) / columns;
  y += static_cast<double>(rows) * kLegendRow;
  if (total > shown) {
    emit(out, "<text class=\"legend-more\" x=\"{}\" y=\"{}\">… and {} more GT{}{}</text>\n", num(left), num(y),
         total - shown, total - shown == 1 ? "" : "s", xml_escape(more_note));
    y += kLegendRow;
  }
  return y;
}

// --- the document -------------------------------------------------------------

double picture_width(int64_t max_levels) {
  const auto panels = static_cast<double>(std::max<int64_t>(1, max_levels));
  return std::max(layout::kMinWidth, 2 * layout::kGap + panels * layout::kPanelWidth + (panels - 1) * layout::kGap);
}

std::string document(double width, double height, const std::string& title, const std::string& heading,
                     const std::string& subheading, const std::string& body) {
  std::string out;
  emit(out,
       "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
       "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
       "font-family=\"DejaVu Sans, Verdana, sans-serif\" font-size=\"11\">\n"
       "<title>{2}</title>\n"
       "<rect class=\"background\" width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n"
       "<text class=\"title\" x=\"{3}\" y=\"{4}\" font-size=\"14\" font-weight=\"bold\">{5}</text>\n"
       "<text class=\"subtitle\" x=\"{3}\" y=\"{6}\" fill=\"{7}\">{8}</text>\n",
       num(width), num(height), xml_escape(title), num(layout::kGap), num(layout::kGap + 6), xml_escape(heading),
       num(layout::kGap + 24), kTextGrey, xml_escape(subheading));
  out += body;
  out += "</svg>\n";
  return out;
}

std::string title_of(const Assignment& a) {
  const std::string params = a.params.to_string();
  return params.empty() ? a.assigner : a.assigner + " · " + params;
}

// The row of level panels of one image, and the y below it.
struct PanelRow {
  std::vector<Level> levels;
  std::vector<Panel> panels;
  double bottom = 0;
};

// The input region a panel of `level` shows: the canvas without a view; the
// region; or GT I's box with the prior centres of this level it paired with,
// was given or lost in `sides`, widened by kViewMargin strides.
SvgCanvas panel_view(const Problem& p, const std::vector<const Assignment*>& sides, const Level& level,
                     const SvgView& view) {
  if (view.region) {
    const auto& r = *view.region;
    SvgCanvas c;
    c.x0 = r[0], c.y0 = r[1], c.width = r[2] - r[0], c.height = r[3] - r[1];
    return c;
  }
  if (!view.gt || *view.gt < 0 || *view.gt >= p.num_gts() || !box_is_finite(p.gt_bboxes, *view.gt))
    return svg_canvas(p);
  const int64_t g = *view.gt;
  const auto coord = [&](int c) { return static_cast<double>(p.gt_bboxes(g, c)); };
  double x0 = std::min(coord(0), coord(2)), x1 = std::max(coord(0), coord(2));
  double y0 = std::min(coord(1), coord(3)), y1 = std::max(coord(1), coord(3));
  const auto include = [&](int64_t prior) {
    if (prior < level.start || prior >= level.start + level.count || prior >= p.priors.rows()) return;
    double x = 0, y = 0;
    if (!prior_centre(p, prior, &x, &y)) return;
    x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
  };
  for (const Assignment* a : sides) {
    for (const CandidatePair& pair : a->candidates)
      if (pair.gt == g && (pair.inside || pair.picked)) include(pair.prior);
    const int64_t n = std::min(level.start + level.count, a->num_priors());
    for (int64_t i = level.start; i < n; ++i)
      if (a->gt_inds[static_cast<size_t>(i)] == g + 1) include(i);
    if (a->matches)
      for (const Match& m : *a->matches)
        if (m.gt == g) include(m.prior);
  }
  const double stride = level.stride > 0 ? level.stride : std::max(8.0, 0.1 * std::max(x1 - x0, y1 - y0));
  const double margin = layout::kViewMargin * stride;
  SvgCanvas c;
  c.x0 = x0 - margin, c.y0 = y0 - margin;
  c.width = std::max(x1 - x0 + 2 * margin, 1.0), c.height = std::max(y1 - y0 + 2 * margin, 1.0);
  return c;
}

PanelRow panel_row(const Problem& p, const std::vector<const Assignment*>& sides, const SvgView& view, double top,
                   const std::string& id) {
  PanelRow row;
  row.levels = levels_of(p);
  const SvgCanvas canvas = svg_canvas(p);
  const double scale = svg_scale(canvas);
  row.bottom = top;
  for (size_t l = 0; l < row.levels.size(); ++l) {
    Panel panel;
    panel.left = layout::kGap + static_cast<double>(l) * (layout::kPanelWidth + layout::kGap);
    panel.top = top + layout::kPanelTitleHeight;
    panel.canvas = canvas;
    panel.scale = scale;
    panel.id = fmt::format("{}-level-{}", id, l);
    if (view.zoomed()) {
      panel.zoomed = true;
      panel.canvas = panel_view(p, sides, row.levels[l], view);
      panel.scale = std::min(layout::kPanelWidth / panel.canvas.width, layout::kPanelWidth / panel.canvas.height);
    }
    row.bottom = std::max(row.bottom, panel.top + panel.height() + 12);
    row.panels.push_back(panel);
  }
  return row;
}

std::string panel_title(const Level& level, size_t l, int64_t drawn, const char* what) {
  std::string title = fmt::format("level {}", l);
  if (level.stride > 0) title += fmt::format(" · stride {:g}", level.stride);
  title += fmt::format(" · {} priors · {} {}", level.count, drawn, what);
  return title;
}

// The GTs a prior is positive for: its gt_inds GT, and with multi-match
// results every matched GT, lowest first.
class PriorGts {
 public:
  explicit PriorGts(const Assignment& a) : a_(a) {
    if (!a.matches) return;
    first_.assign(a.gt_inds.size() + 1, 0);
    for (const Match& m : *a.matches)
      if (m.prior >= 0 && static_cast<size_t>(m.prior) < a.gt_inds.size()) ++first_[static_cast<size_t>(m.prior) + 1];
    for (size_t i = 1; i < first_.size(); ++i) first_[i] += first_[i - 1];
    gts_.resize(first_.back());
    std::vector<size_t> next(first_.begin(), first_.end() - 1);
    for (const Match& m : *a.matches)
      if (m.prior >= 0 && static_cast<size_t>(m.prior) < a.gt_inds.size())
        gts_[next[static_cast<size_t>(m.prior)]++] = m.gt;
    for (size_t i = 0; i + 1 < first_.size(); ++i)
      std::sort(gts_.begin() + static_cast<std::ptrdiff_t>(first_[i]),
                gts_.begin() + static_cast<std::ptrdiff_t>(first_[i + 1]));
  }
  std::vector<int64_t> of(int64_t prior) const {
    std::vector<int64_t> gts;
    if (prior < 0 || prior >= static_cast<int64_t>(a_.gt_inds.size())) return gts;
    const auto i = static_cast<size_t>(prior);
    if (a_.matches) {
      gts.assign(gts_.begin() + static_cast<std::ptrdiff_t>(first_[i]),
                 gts_.begin() + static_cast<std::ptrdiff_t>(first_[i + 1]));
      if (!gts.empty()) return gts;
    }
    if (a_.gt_inds[i] > 0) gts.push_back(a_.gt_inds[i] - 1);
    return gts;
  }
  bool ignored(int64_t prior) const {
    return prior >= 0 && prior < static_cast<int64_t>(a_.gt_inds.size()) && a_.gt_inds[static_cast<size_t>(prior)] < 0;
  }

 private:
  const Assignment& a_;
  std::vector<size_t> first_;  // [N + 1] offsets into gts_
  std::vector<int64_t> gts_;
};

std::string colour_of(int64_t g, int64_t num_gts) { return g < num_gts ? gt_colour(g) : kPaddingGrey; }

// The line above an image's panels: its counts.
std::string image_summary(const Problem& p, const analysis::ImageStats& s) {
  std::string summary = fmt::format("{} priors · {} GTs · {} positives · {} negatives · {} ignored · {} starved GT{}",
                                    p.num_priors(), p.num_gts(), s.positives, s.negatives, s.ignored,
                                    s.starved_gts.size(), s.starved_gts.size() == 1 ? "" : "s");
  if (s.matches >= 0)
    summary += fmt::format(" · {} matches ({} priors serve several GTs)", s.matches, s.priors_serving_several);
  if (s.to_padding > 0) summary += fmt::format(" · {} positives to padding GT columns", s.to_padding);
  return summary;
}

// Whether the negatives of [level.start, end) are drawn as dots: without a
// view when the image has at most kMaxNegativeDots priors, with one when at
// most that many lie in the panel's view.
bool negatives_drawn(const Problem& p, const Assignment& a, const Panel& panel, const Level& level, int64_t end) {
  if (!panel.zoomed) return std::min(p.num_priors(), a.num_priors()) <= layout::kMaxNegativeDots;
  int64_t shown = 0;
  double x = 0, y = 0;
  for (int64_t i = level.start; i < end; ++i)
    if (a.gt_inds[static_cast<size_t>(i)] == 0 && prior_centre(p, i, &x, &y) && panel.shows(x, y) &&
        ++shown > layout::kMaxNegativeDots)
      return false;
  return true;
}

// The nearest point of GT g's box to (x, y), in input pixels; false when (x,
// y) lies inside it or the box is not finite.
bool outside_box(const Problem& p, int64_t g, double x, double y, double* nx, double* ny) {
  if (g < 0 || g >= p.num_gts() || !box_is_finite(p.gt_bboxes, g)) return false;
  const auto x1 = static_cast<double>(std::min(p.gt_bboxes(g, 0), p.gt_bboxes(g, 2)));
  const auto x2 = static_cast<double>(std::max(p.gt_bboxes(g, 0), p.gt_bboxes(g, 2)));
  const auto y1 = static_cast<double>(std::min(p.gt_bboxes(g, 1), p.gt_bboxes(g, 3)));
  const auto y2 = static_cast<double>(std::max(p.gt_bboxes(g, 1), p.gt_bboxes(g, 3)));
  *nx = std::clamp(x, x1, x2), *ny = std::clamp(y, y1, y2);
  return *nx != x || *ny != y;
}

// The priors of `lost` on [level.start, end): a ring in the loser's colour
// around the prior (one more per further loser), tagged "→winner" when the
// panel has at most kMaxLostTags of them.
void draw_lost(std::string& out, const Problem& p, const std::vector<analysis::LostPick>& lost, const Panel& panel,
               const Level& level, int64_t end, double r, LabelPlacer* placer) {
  std::vector<const analysis::LostPick*> here;
  double x = 0, y = 0;
  for (const analysis::LostPick& l : lost)
    if (l.prior >= level.start && l.prior < end && prior_centre(p, l.prior, &x, &y) && panel.shows(x, y))
      here.push_back(&l);
  if (here.empty()) return;
  std::stable_sort(here.begin(), here.end(), [](const auto* u, const auto* v) { return u->prior < v->prior; });
  const bool tags = static_cast<int64_t>(here.size()) <= layout::kMaxLostTags;
  out += "<g class=\"losts\" fill=\"none\" stroke-width=\"1.5\" stroke-dasharray=\"2 1.5\">\n";
  int ring = 0;  // further losers of one prior get wider rings
  for (size_t k = 0; k < here.size(); ++k) {
    const analysis::LostPick& l = *here[k];
    ring = k > 0 && here[k - 1]->prior == l.prior ? ring + 1 : 0;
    prior_centre(p, l.prior, &x, &y);
    const double cx = panel.x(x), cy = panel.y(y), rr = r + 2.5 + 2.5 * ring;
    const std::string colour = colour_of(l.gt, p.num_gts());
    emit(out,
         "<circle class=\"lost\" data-prior=\"{}\" data-gt=\"{}\" data-winner=\"{}\" cx=\"{}\" cy=\"{}\" r=\"{}\" "
         "stroke=\"{}\"/>\n",
         l.prior, l.gt, l.winner, num(cx), num(cy), num(rr), colour);
  }
  out += "</g>\n";
  if (!tags) return;
  // The tags, each where it overlaps no other: right or left of its ring, up or down; else none.
  for (const analysis::LostPick* l : here) {
    prior_centre(p, l->prior, &x, &y);
    const double cx = panel.x(x), cy = panel.y(y), d = (r + 2.5) * 0.7 + 1;
    const std::string tag =
        fmt::format("{}→{}", l->gt, l->winner == analysis::kBackground ? std::string("bg") : std::to_string(l->winner));
    const double w = static_cast<double>(tag.size() - 2) * 5.2, h = 9;  // "→" is 3 bytes, 1 character
    std::array<double, 4> at{};
    bool placed = false;
    for (const auto& spot : std::array<std::array<double, 2>, 6>{{{cx + d, cy - d - h},
                                                                  {cx + d, cy + d},
                                                                  {cx - d - w, cy - d - h},
                                                                  {cx - d - w, cy + d},
                                                                  {cx - w / 2, cy - d - h - 3},
                                                                  {cx - w / 2, cy + d + 3}}})
      if ((placed = placer->take({spot[0], spot[1], w, h}, &at))) break;
    if (!placed) continue;
    emit(out,
         "<text class=\"lost-tag\" data-prior=\"{}\" data-gt=\"{}\" x=\"{}\" y=\"{}\" font-size=\"9\" fill=\"{}\" "
         "stroke=\"#ffffff\" stroke-width=\"2\" paint-order=\"stroke\">{}</text>\n",
         l->prior, l->gt, num(at[0]), num(at[1] + h - 1), colour_of(l->gt, p.num_gts()), tag);
  }
}

// GT g's candidate pairs on [level.start, end): a hollow square in its
// colour around each prior, class "candidate picked" for its picks.
void draw_candidates(std::string& out, const Problem& p, const Assignment& a, int64_t g, const Panel& panel,
                     const Level& level, int64_t end, double r) {
  emit(out, "<g class=\"candidates\" fill=\"none\" stroke=\"{}\" stroke-width=\"1\">\n", colour_of(g, p.num_gts()));
  double x = 0, y = 0;
  for (const CandidatePair& pair : a.candidates) {
    if (pair.gt != g || (!pair.inside && !pair.picked) || pair.prior < level.start || pair.prior >= end ||
        !prior_centre(p, pair.prior, &x, &y) || !panel.shows(x, y))
      continue;
    const double h = r + 1.5;
    emit(out, "<rect class=\"{}\" data-prior=\"{}\" data-gt=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"{}/>\n",
         pair.inside ? (pair.picked ? "candidate picked" : "candidate") : "pick", pair.prior, g, num(panel.x(x) - h),
         num(panel.y(y) - h), num(2 * h), num(2 * h),
         !pair.picked  ? ""
         : pair.inside ? " stroke-width=\"2\""
                       : " stroke-width=\"2\" stroke-dasharray=\"3 2\"");
  }
  out += "</g>\n";
}

// The priors [level.start, end) of one panel: negatives as dots (when
// `dots`), ignored priors as crosses, positives in their GT's colour (an
// O2F ambiguous positive as a ring, a multi-match prior's further GTs as
// rings around it) over a line to their GT's box when their centre lies
// outside it, and the priors GTs picked but lost.
void draw_level_priors(std::string& out, const Problem& p, const Assignment& a, const PriorGts& prior_gts,
                       const std::vector<analysis::LostPick>& lost, const Panel& panel, const Level& level, int64_t end,
                       bool dots, LabelPlacer* placer) {
  const int64_t num_gts = p.num_gts();
  const double r = marker_radius(level.stride, panel.scale);
  double x = 0, y = 0;
  if (dots) {
    emit(out, "<g class=\"negatives\" fill=\"{}\">\n", kNegativeGrey);
    for (int64_t i = level.start; i < end; ++i)
      if (a.gt_inds[static_cast<size_t>(i)] == 0 && prior_centre(p, i, &x, &y) && panel.shows(x, y))
        emit(out, "<circle class=\"negative\" cx=\"{}\" cy=\"{}\" r=\"{}\"/>\n", num(panel.x(x)), num(panel.y(y)),
             panel.zoomed ? "1.5" : "1");
    out += "</g>\n";
  }
  emit(out, "<g class=\"ignoreds\" stroke=\"{}\" stroke-width=\"1.2\">\n", kGrey);
  for (int64_t i = level.start; i < end; ++i) {
    if (a.gt_inds[static_cast<size_t>(i)] >= 0 || !prior_centre(p, i, &x, &y) || !panel.shows(x, y)) continue;
    const double cx = panel.x(x), cy = panel.y(y), h = std::max(r, 2.5);
    emit(out, "<path class=\"ignored\" data-prior=\"{}\" d=\"M{} {}L{} {}M{} {}L{} {}\"/>\n", i, num(cx - h),
         num(cy - h), num(cx + h), num(cy + h), num(cx - h), num(cy + h), num(cx + h), num(cy - h));
  }
  out += "</g>\n";
  out += "<g class=\"connectors\" stroke-width=\"1.2\" opacity=\"0.9\">\n";
  for (int64_t i = level.start; i < end; ++i) {
    const int64_t gi = a.gt_inds[static_cast<size_t>(i)];
    double nx = 0, ny = 0;
    if (gi <= 0 || !prior_centre(p, i, &x, &y) || !panel.shows(x, y) || !outside_box(p, gi - 1, x, y, &nx, &ny))
      continue;
    emit(out,
         "<line class=\"connector\" data-prior=\"{}\" data-gt=\"{}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" "
         "stroke=\"{}\"/>\n",
         i, gi - 1, num(panel.x(x)), num(panel.y(y)), num(panel.x(nx)), num(panel.y(ny)), colour_of(gi - 1, num_gts));
  }
  out += "</g>\n";
  draw_lost(out, p, lost, panel, level, end, r, placer);
  out += "<g class=\"positives\" stroke=\"#222222\" stroke-width=\"0.8\">\n";
  for (int64_t i = level.start; i < end; ++i) {
    const int64_t gi = a.gt_inds[static_cast<size_t>(i)];
    if (gi <= 0 || !prior_centre(p, i, &x, &y) || !panel.shows(x, y)) continue;
    const double cx = panel.x(x), cy = panel.y(y);
    const int64_t g = gi - 1;
    if (soft_role(a, i) == SoftRole::kAmbiguous) {  // O2F: a ring, the GT's best stays a filled dot
      emit(out,
           "<circle class=\"positive\" data-prior=\"{}\" data-gt=\"{}\" data-soft=\"ambiguous\" cx=\"{}\" "
           "cy=\"{}\" r=\"{}\" fill=\"#ffffff\" stroke=\"{}\" stroke-width=\"1.5\"/>\n",
           i, g, num(cx), num(cy), num(std::max(r - 0.75, 1.0)), colour_of(g, num_gts));
      continue;
    }
    emit(out,
         "<circle class=\"positive\" data-prior=\"{}\" data-gt=\"{}\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"/>\n", i,
         g < num_gts ? std::to_string(g) : "padding", num(cx), num(cy), num(r), colour_of(g, num_gts));
    if (!a.matches) continue;
    int ring = 0;
    for (int64_t other : prior_gts.of(i)) {
      if (other == g) continue;
      ++ring;
      emit(out,
           "<circle class=\"extra-match\" data-prior=\"{}\" data-gt=\"{}\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"none\" "
           "stroke=\"{}\" stroke-width=\"1.5\"/>\n",
           i, other, num(cx), num(cy), num(r + 2 * ring), colour_of(other, num_gts));
    }
  }
  out += "</g>\n";
}

// The legend of `svg`'s image from y: the key to the symbols drawn, the
// assigner's notes, one entry per GT; returns the y below it.
double draw_image_legend(std::string& out, const Problem& p, const Assignment& a, const analysis::ImageStats& s,
                         bool dots, bool lost, const SvgView& view, double y, double width) {
  const double legend_width = width - 2 * layout::kGap;
  out += "<g class=\"legend\">\n";
  std::vector<KeyItem> key = {{Symbol::kGtBox, "GT box, tagged gt:label"},
                              {Symbol::kPositive, "positive prior at its centre, coloured by its GT"}};
  key.push_back({Symbol::kConnector, "line: a positive outside its GT's box, to that box"});
  if (lost) key.push_back({Symbol::kLost, "dashed ring, \"g→w\": a prior GT g picked, lost to GT w (bg: background)"});
  if (view.gt)
    key.push_back(
        {Symbol::kCandidate,
         fmt::format("square: a candidate of GT {} (thick: picked; dashed: picked, no candidate)", *view.gt)});
  if (a.matches) key.push_back({Symbol::kExtraMatch, "ring: a further GT of a multi-match prior"});
  if (a.soft_labels)
    key.push_back({Symbol::kAmbiguous, "ring: an ambiguous positive (soft label < 1; dot: its GT's best)"});
  if (s.ignored > 0) key.push_back({Symbol::kIgnored, "ignored prior"});
  if (dots) key.push_back({Symbol::kNegative, "negative prior"});
  if (!s.starved_gts.empty()) key.push_back({Symbol::kStarved, "starved GT (no positive)"});
  if (p.gt_bboxes_ignore.rows() > 0) key.push_back({Symbol::kIgnoreBox, "ignore region"});
  y = draw_key(out, key, layout::kGap, y, legend_width);
  for (size_t i = 0; i < a.notes.size() && i < kMaxNotes; ++i) {
    emit(out, "<text class=\"note\" x=\"{}\" y=\"{}\" fill=\"{}\">note: {}</text>\n", num(layout::kGap), num(y),
         kTextGrey, xml_escape(a.notes[i]));
    y += kLegendRow;
  }
  if (a.notes.size() > kMaxNotes) {
    emit(out, "<text class=\"note\" x=\"{}\" y=\"{}\" fill=\"{}\">… and {} more notes</text>\n", num(layout::kGap),
         num(y), kTextGrey, a.notes.size() - kMaxNotes);
    y += kLegendRow;
  }
  // Starved GTs first (all of them, up to 4 kMaxLegendGts), then the others.
  const auto starved = static_cast<int64_t>(s.starved_gts.size());
  const int64_t cap = std::max(layout::kMaxLegendGts, std::min(starved, 4 * layout::kMaxLegendGts));
  std::vector<GtEntry> entries;
  int64_t starved_listed = 0;
  // With --gt I, GT I comes first of all.
  const int64_t focus = view.gt ? *view.gt : -1;
  for (int pass = 0; pass < 3; ++pass)
    for (const analysis::GtStats& g : s.gts) {
      const bool wanted = pass == 0 ? g.index == focus : g.index != focus && g.starved() == (pass == 1);
      if (!wanted || static_cast<int64_t>(entries.size()) >= cap) continue;
      std::string text = fmt::format("gt {} · label {} · ", g.index, g.label);
      text += g.starved() ? std::string("STARVED") : fmt::format("{} pos", g.positives);
      if (g.dynamic_k >= 0) text += fmt::format(" · k {}", g.dynamic_k);
      if (g.lost > 0) text += fmt::format(" · lost {}", g.lost);
      entries.push_back({g.index, text, g.starved()});
      starved_listed += g.starved() ? 1 : 0;
    }
  const std::string more_note = starved_listed == starved
                                    ? std::string(", none starved")
                                    : fmt::format(", {} of them starved", starved - starved_listed);
  y = draw_gt_entries(out, entries, p.num_gts(), layout::kGap, y + 4, legend_width, more_note);
  out += "</g>\n";
  return y;
}

// The words a view adds to an image's summary line.
std::string view_words(const SvgView& view) {
  if (view.region)
    return fmt::format(" · region {},{},{},{}", num((*view.region)[0]), num((*view.region)[1]), num((*view.region)[2]),
                       num((*view.region)[3]));
  if (view.gt) return fmt::format(" · zoomed on GT {}", *view.gt);
  return "";
}

std::string view_attribute(const Panel& panel) {
  if (!panel.zoomed) return "";
  return fmt::format(" data-view=\"{} {} {} {}\"", num(panel.canvas.x0), num(panel.canvas.y0),
                     num(panel.canvas.x0 + panel.canvas.width), num(panel.canvas.y0 + panel.canvas.height));
}

// One image of `svg`: its summary line, level panels and legend, from `top`;
// returns the y below it.
double draw_image(std::string& out, const Problem& p, const Assignment& a, const std::string& heading, double top,
                  double width, size_t index, const SvgView& view) {
  const analysis::ImageStats s = analysis::compute_stats(p, a);
  const std::vector<analysis::LostPick> lost = analysis::lost_picks(a);
  const int64_t n = std::min(p.num_priors(), a.num_priors());
  std::vector<char> starved(static_cast<size_t>(p.num_gts()), 0);
  for (int64_t g : s.starved_gts) starved[static_cast<size_t>(g)] = 1;

  const std::string id = fmt::format("image-{}", index);
  emit(out, "<g class=\"image\" id=\"{}\" data-name=\"{}\">\n", id, xml_escape(p.name));
  define_input_image(out, p, id + "-input");
  const std::string summary = image_summary(p, s) + view_words(view);
  emit(out, "<text class=\"image-title\" x=\"{}\" y=\"{}\" font-weight=\"bold\">{}</text>\n", num(layout::kGap),
       num(top + 14), xml_escape(heading.empty() ? summary : heading + " · " + summary));

  const PanelRow row = panel_row(p, {&a}, view, top + layout::kImageTitleHeight, id);
  bool any_dots = false;
  const PriorGts prior_gts(a);
  for (size_t l = 0; l < row.levels.size(); ++l) {
    const Level& level = row.levels[l];
    const Panel& panel = row.panels[l];
    const int64_t end = std::min(level.start + level.count, n);
    const int64_t positives = l < s.levels.size() ? s.levels[l].positives : 0;
    const bool dots = negatives_drawn(p, a, panel, level, end);
    any_dots |= dots;
    emit(out, "<g class=\"panel\" id=\"{}\" data-level=\"{}\"{}>\n", panel.id, l, view_attribute(panel));
    LabelPlacer placer(panel);  // the GT tags, then the lost priors' tags, none over a positive
    const double r = marker_radius(level.stride, panel.scale);
    double px = 0, py = 0;
    for (int64_t i = level.start; i < end; ++i)
      if (a.gt_inds[static_cast<size_t>(i)] > 0 && prior_centre(p, i, &px, &py) && panel.shows(px, py))
        placer.block({panel.x(px) - r, panel.y(py) - r, 2 * r, 2 * r});
    draw_panel_base(out, p, panel, panel_title(level, l, positives, "positives"), starved, id + "-input", &placer);
    if (view.gt) draw_candidates(out, p, a, *view.gt, panel, level, end, marker_radius(level.stride, panel.scale));
    draw_level_priors(out, p, a, prior_gts, lost, panel, level, end, dots, &placer);
    draw_starved_markers(out, p, panel, starved);
    close_panel_clip(out);
    out += "</g>\n";
  }
  const double y = draw_image_legend(out, p, a, s, any_dots, !lost.empty(), view, row.bottom + 12, width);
  out += "</g>\n";
  return y + layout::kGap;
}

// --- the picture of a difference -----------------------------------------------

// How a prior's assignment differs between the two sides.
enum Flip : char { kSame, kPosNeg, kNegPos, kGtChanged, kIgnoredChanged };

// Every prior compared once, with the counts the titles and legend show.
struct Flips {
  std::vector<char> flip;                         // [n] a Flip
  std::array<int64_t, 5> counts{};                // priors per Flip
  std::vector<int64_t> per_level;                 // priors that differ, per level
  std::vector<int64_t> positives_a, positives_b;  // [G] each GT's positives on either side
  std::vector<char> gt_changed;                   // [G] 1: the GT's positives differ
};

// Classifies the first n priors: 0 same, 1 pos→neg, 2 neg→pos, 3 GT changed,
// 4 negative↔ignored.
Flips classify_flips(const Problem& p, const PriorGts& gts_a, const PriorGts& gts_b, int64_t n, size_t num_levels) {
  const int64_t num_gts = p.num_gts();
  Flips out;
  out.flip.assign(static_cast<size_t>(n), kSame);
  out.per_level.assign(num_levels, 0);
  out.positives_a.assign(static_cast<size_t>(num_gts), 0);
  out.positives_b.assign(static_cast<size_t>(num_gts), 0);
  out.gt_changed.assign(static_cast<size_t>(num_gts), 0);
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<int64_t> ga = gts_a.of(i), gb = gts_b.of(i);
    for (int64_t g : ga)
      if (g < num_gts) ++out.positives_a[static_cast<size_t>(g)];
    for (int64_t g : gb)
      if (g < num_gts) ++out.positives_b[static_cast<size_t>(g)];
    Flip f = kSame;
    if (!ga.empty() && gb.empty()) f = kPosNeg;
    else if (ga.empty() && !gb.empty()) f = kNegPos;
    else if (!ga.empty() && ga != gb) f = kGtChanged;
    else if (ga.empty() && gts_a.ignored(i) != gts_b.ignored(i)) f = kIgnoredChanged;
    out.flip[static_cast<size_t>(i)] = f;
    ++out.counts[f];
    if (f == kSame) continue;
    const auto l = static_cast<size_t>(level_of_prior(p, i));
    if (l < out.per_level.size()) ++out.per_level[l];
    if (f == kIgnoredChanged) continue;
    for (const auto* side : {&ga, &gb})
      for (int64_t g : *side)
        if (g < num_gts &&
            !(std::find(ga.begin(), ga.end(), g) != ga.end() && std::find(gb.begin(), gb.end(), g) != gb.end()))
          out.gt_changed[static_cast<size_t>(g)] = 1;
  }
  return out;
}

// The marker of prior i, which differs (f) between the sides, at (cx, cy):
// a hollow circle in the first side's GT colour, a filled one in the
// second's, a circle split in two when the GT changed, a cross when one side
// ignores it.
void draw_flip(std::string& out, const Problem& p, const PriorGts& gts_a, const PriorGts& gts_b, int64_t i, char f,
               double cx, double cy, double r) {
  const int64_t num_gts = p.num_gts();
  const std::vector<int64_t> ga = gts_a.of(i), gb = gts_b.of(i);
  // The GT a side is positive for that the other is not (else its first).
  const auto differing = [](const std::vector<int64_t>& mine, const std::vector<int64_t>& other) -> int64_t {
    for (int64_t g : mine)
      if (std::find(other.begin(), other.end(), g) == other.end()) return g;
    return mine.empty() ? -1 : mine[0];
  };
  const int64_t g_a = differing(ga, gb), g_b = differing(gb, ga);
  if (f == kPosNeg) {
    emit(out,
         "<circle class=\"flip-pos-neg\" data-prior=\"{}\" data-gt-a=\"{}\" cx=\"{}\" cy=\"{}\" r=\"{}\" "
         "fill=\"none\" "
         "stroke=\"{}\" stroke-width=\"2\"/>\n",
         i, g_a, num(cx), num(cy), num(r), colour_of(g_a, num_gts));
  } else if (f == kNegPos) {
    emit(out,
         "<circle class=\"flip-neg-pos\" data-prior=\"{}\" data-gt-b=\"{}\" cx=\"{}\" cy=\"{}\" r=\"{}\" "
         "fill=\"{}\" "
         "stroke=\"#ffffff\" stroke-width=\"0.5\"/>\n",
         i, g_b, num(cx), num(cy), num(r), colour_of(g_b, num_gts));
  } else if (f == kGtChanged) {
    emit(out,
         "<g class=\"flip-gt\" data-prior=\"{0}\" data-gt-a=\"{1}\" data-gt-b=\"{2}\">"
         "<path d=\"M{3} {4}A{6} {6} 0 0 0 {3} {5}Z\" fill=\"{7}\"/>"
         "<path d=\"M{3} {4}A{6} {6} 0 0 1 {3} {5}Z\" fill=\"{8}\"/></g>\n",
         i, g_a, g_b, num(cx), num(cy - r), num(cy + r), num(r), colour_of(g_a, num_gts), colour_of(g_b, num_gts));
  } else {
    emit(out,
         "<path class=\"flip-ignored\" data-prior=\"{}\" data-ignored-in=\"{}\" d=\"M{} {}L{} {}M{} {}L{} {}\" "
         "stroke=\"{}\" stroke-width=\"1.5\"/>\n",
         i, gts_a.ignored(i) ? "a" : "b", num(cx - r), num(cy - r), num(cx + r), num(cy + r), num(cx - r), num(cy + r),
         num(cx + r), num(cy - r), kGrey);
  }
}

// The diff's legend from y: the key with the counts, a note when the sides'
// prior counts differ, one entry per GT whose positives changed; returns the
// y below it.
double draw_diff_legend(std::string& out, const Problem& p, const Assignment& a, const Assignment& b,
                        const std::string& name_a, const std::string& name_b, const Flips& flips, int64_t n, double y,
                        double width) {
  const int64_t num_gts = p.num_gts();
  const std::array<int64_t, 5>& counts = flips.counts;
  const double legend_width = width - 2 * layout::kGap;
  out += "<g class=\"legend\">\n";
  const std::vector<KeyItem> key = {
      {Symbol::kGtBox, "GT box, tagged gt:label"},
      {Symbol::kFlipPosNeg, fmt::format("positive in {} only ({}), {}'s GT colour", name_a, counts[kPosNeg], name_a)},
      {Symbol::kFlipNegPos, fmt::format("positive in {} only ({}), {}'s GT colour", name_b, counts[kNegPos], name_b)},
      {Symbol::kFlipGt, fmt::format("GT changed ({}): left {}'s GT, right {}'s", counts[kGtChanged], name_a, name_b)},
      {Symbol::kFlipIgnored, fmt::format("negative in one, ignored in the other ({})", counts[kIgnoredChanged])}};
  y = draw_key(out, key, layout::kGap, y, legend_width);
  if (n != p.num_priors() || a.num_priors() != b.num_priors()) {
    emit(out,
         "<text class=\"note\" x=\"{}\" y=\"{}\" fill=\"{}\">note: {} has {} priors, {} {}, the dump {}; the "
         "first {} are compared</text>\n",
         num(layout::kGap), num(y), kStarvedRed, xml_escape(name_a), a.num_priors(), xml_escape(name_b), b.num_priors(),
         p.num_priors(), n);
    y += kLegendRow;
  }
  std::vector<GtEntry> entries;
  int64_t changed = 0;
  for (int64_t g = 0; g < num_gts; ++g) {
    if (!flips.gt_changed[static_cast<size_t>(g)]) continue;
    ++changed;
    if (static_cast<int64_t>(entries.size()) >= layout::kMaxLegendGts) continue;
    std::string text =
        fmt::format("gt {} · label {} · pos {} → {}", g, p.gt_labels[static_cast<size_t>(g)],
                    flips.positives_a[static_cast<size_t>(g)], flips.positives_b[static_cast<size_t>(g)]);
    const auto k_of = [&](const Assignment& s) -> std::string {
      return s.dynamic_ks && static_cast<size_t>(g) < s.dynamic_ks->size()
                 ? std::to_string((*s.dynamic_ks)[static_cast<size_t>(g)])
                 : "-";
    };
    if (a.dynamic_ks || b.dynamic_ks) text += fmt::format(" · k {} → {}", k_of(a), k_of(b));
    entries.push_back({g, text, flips.positives_b[static_cast<size_t>(g)] == 0});
  }
  emit(out, "<text class=\"legend-summary\" x=\"{}\" y=\"{}\">{} of {} GTs changed their positives{}</text>\n",
       num(layout::kGap), num(y), changed, num_gts, changed > 0 ? ":" : "");
  y += kLegendRow;
  y = draw_gt_entries(out, entries, changed, layout::kGap, y + 4, legend_width);
  out += "</g>\n";
  return y;
}

}  // namespace

std::string xml_escape(std::string_view text) {
  static const char* const kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&apos;"; break;
        default:
          if (c < 0x20 || c == 0x7F) out += kReplacement;  // XML 1.0 forbids most controls; one line anyway
          else out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // A multi-byte UTF-8 sequence: its length, its smallest legal code point.
    size_t len = 0;
    uint32_t cp = 0, min = 0;
    if ((c & 0xE0u) == 0xC0u) len = 2, cp = c & 0x1Fu, min = 0x80;
    else if ((c & 0xF0u) == 0xE0u) len = 3, cp = c & 0x0Fu, min = 0x800;
    else if ((c & 0xF8u) == 0xF0u) len = 4, cp = c & 0x07u, min = 0x10000;
    bool valid = len > 0 && i + len <= text.size();
    for (size_t k = 1; valid && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      valid = (cc & 0xC0u) == 0x80u;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    valid = valid && cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF) && cp != 0xFFFE && cp != 0xFFFF &&
            !(cp >= 0x80 && cp <= 0x9F);
    if (valid) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out += kReplacement;
      ++i;
    }
  }
  return out;
}

std::string gt_colour(int64_t g) {
  // 300° (1 - 1/φ): the golden angle's share of the 300° of hues in use.
  const double step = 300.0 * (1.0 - 2.0 / (1.0 + std::sqrt(5.0)));
  const double hue = 30.0 + std::fmod(185.0 + step * static_cast<double>(g < 0 ? 0 : g), 300.0);
  const double saturation = 0.70;
  const double lightness = std::array<double, 3>{0.45, 0.62, 0.34}[static_cast<size_t>((g < 0 ? 0 : g) % 3)];
  // HSL to RGB.
  const double chroma = (1 - std::abs(2 * lightness - 1)) * saturation;
  const double h = hue / 60.0;
  const double second = chroma * (1 - std::abs(std::fmod(h, 2.0) - 1));
  double r = 0, gr = 0, b = 0;
  if (h < 1) r = chroma, gr = second;
  else if (h < 2) r = second, gr = chroma;
  else if (h < 3) gr = chroma, b = second;
  else if (h < 4) gr = second, b = chroma;
  else if (h < 5) r = second, b = chroma;
  else r = chroma, b = second;
  const double m = lightness - chroma / 2;
  const auto byte = [&](double v) { return static_cast<int>(std::lround(std::clamp(v + m, 0.0, 1.0) * 255.0)); };
  return fmt::format("#{:02x}{:02x}{:02x}", byte(r), byte(gr), byte(b));
}

SvgCanvas svg_canvas(const Problem& p) {
  SvgCanvas c;
  if (p.meta.image_size && (*p.meta.image_size)[0] > 0 && (*p.meta.image_size)[1] > 0) {
    c.height = static_cast<double>((*p.meta.image_size)[0]);
    c.width = static_cast<double>((*p.meta.image_size)[1]);
    c.from_image_size = true;
    return c;
  }
  if (p.image && p.image->width > 0 && p.image->height > 0) {  // the image's own size
    c.height = static_cast<double>(p.image->height);
    c.width = static_cast<double>(p.image->width);
    c.from_image_size = true;
    return c;
  }
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // the origin is always inside
  const auto include = [&](double xa, double ya, double xb, double yb) {
    if (!finite(xa) || !finite(ya) || !finite(xb) || !finite(yb)) return;
    x0 = std::min({x0, xa, xb}), y0 = std::min({y0, ya, yb});
    x1 = std::max({x1, xa, xb}), y1 = std::max({y1, ya, yb});
  };
  for (Eigen::Index i = 0; i < p.priors.rows(); ++i) {
    const auto cx = static_cast<double>(p.priors(i, 0)), cy = static_cast<double>(p.priors(i, 1));
    const double hw = std::max(0.0, static_cast<double>(p.priors(i, 2))) / 2;
    const double hh = std::max(0.0, static_cast<double>(p.priors(i, 3))) / 2;
    include(cx - hw, cy - hh, cx + hw, cy + hh);
  }
  for (const Rows4f* boxes : {&p.gt_bboxes, &p.gt_bboxes_ignore})
    for (Eigen::Index r = 0; r < boxes->rows(); ++r)
      include(static_cast<double>((*boxes)(r, 0)), static_cast<double>((*boxes)(r, 1)),
              static_cast<double>((*boxes)(r, 2)), static_cast<double>((*boxes)(r, 3)));
  c.x0 = x0, c.y0 = y0;
  c.width = x1 - x0 > 0 ? x1 - x0 : 1;
  c.height = y1 - y0 > 0 ? y1 - y0 : 1;
  return c;
}

double svg_scale(const SvgCanvas& canvas) {
  return std::min(layout::kPanelWidth / canvas.width, layout::kMaxPanelHeight / canvas.height);
}

Status check_svg_view(const Batch& batch, const SvgView& view) {
  const auto images = static_cast<int64_t>(batch.images.size());
  if (view.image && (*view.image < 0 || *view.image >= images))
    return Status::Usage(images == 1 ? fmt::format("--image {}: the input is one image; expected 0", *view.image)
                                     : fmt::format("--image {}: the batch holds {} images; expected 0..{}", *view.image,
                                                   images, images - 1));
  if (view.gt) {
    int64_t most = 0;
    for (int64_t b = 0; b < images; ++b)
      if (!view.image || *view.image == b) most = std::max(most, batch.images[static_cast<size_t>(b)].num_gts());
    const std::string which = view.image    ? fmt::format("image {} has", *view.image)
                              : images == 1 ? std::string("the image has")
                                            : std::string("the batch's images have at most");
    if (most == 0) return Status::Usage(fmt::format("--gt {}: {} no GTs", *view.gt, which));
    if (*view.gt < 0 || *view.gt >= most)
      return Status::Usage(
          fmt::format("--gt {}: {} {} GT{}; expected 0..{}", *view.gt, which, most, most == 1 ? "" : "s", most - 1));
  }
  if (view.region) {
    const auto& r = *view.region;
    if (!(finite(r[0]) && finite(r[1]) && finite(r[2]) && finite(r[3]) && r[2] > r[0] && r[3] > r[1]))
      return Status::Usage(
          fmt::format("--region {},{},{},{}: expected x1,y1,x2,y2 in input pixels with x1 < x2 and y1 < y2", r[0], r[1],
                      r[2], r[3]));
  }
  if (view.gt && view.region) return Status::Usage("--gt and --region: give one of them");
  return Status();
}

Result<std::array<double, 4>> parse_svg_region(const std::string& text) {
  std::array<double, 4> r{};
  size_t at = 0;
  for (size_t k = 0; k < 4; ++k) {
    const size_t comma = k < 3 ? text.find(',', at) : text.size();
    const std::string part = comma == std::string::npos ? "" : text.substr(at, comma - at);
    char* end = nullptr;
    r[k] = part.empty() ? std::nan("") : std::strtod(part.c_str(), &end);
    if (part.empty() || end != part.c_str() + part.size() || !finite(r[k]))
      return Status::Usage(
          fmt::format("--region {}: expected x1,y1,x2,y2, four numbers in input pixels", xml_escape(text)));
    at = comma + 1;
  }
  return r;
}

namespace {

// The images a view draws: view.image, else every image (with --gt, those
// that have GT I).
std::vector<size_t> drawn_images(const Batch& batch, size_t images, const SvgView& view) {
  std::vector<size_t> out;
  for (size_t b = 0; b < images; ++b) {
    if (view.image && static_cast<int64_t>(b) != *view.image) continue;
    if (view.gt && !view.image && *view.gt >= batch.images[b].num_gts()) continue;
    out.push_back(b);
  }
  return out;
}

std::string image_heading(const Batch& batch, size_t b) {
  if (!batch.is_batch) return "";
  const Problem& p = batch.images[b];
  return fmt::format("image {}{}", b, p.name.empty() || p.name == std::to_string(b) ? "" : " (" + p.name + ")");
}

}  // namespace

std::string svg(const Batch& batch, const std::vector<Assignment>& results, const SvgView& view) {
  const size_t images = std::min(batch.images.size(), results.size());
  const std::vector<size_t> drawn = drawn_images(batch, images, view);
  int64_t max_levels = 1;
  for (size_t b : drawn)
    max_levels = std::max<int64_t>(max_levels, static_cast<int64_t>(levels_of(batch.images[b]).size()));
  const double width = picture_width(max_levels);
  std::string body;
  double y = layout::kGap + layout::kTitleHeight;
  for (size_t b : drawn) y = draw_image(body, batch.images[b], results[b], image_heading(batch, b), y, width, b, view);
  const std::string title = images > 0 ? title_of(results[0]) : std::string("no images");
  const std::string sub = fmt::format("{} · {} image{}{} · priors drawn at their centres, one panel per pyramid level",
                                      batch.source, images, images == 1 ? "" : "s",
                                      drawn.size() == images ? "" : fmt::format(", {} drawn", drawn.size()));
  return document(width, std::ceil(y), "assignscope run: " + title, title, sub, body);
}

namespace {

// One image of a diff picture: its summary line, level panels and legend,
// from `top`; returns the y below it.
double draw_diff_image(std::string& body, const Problem& p, const Assignment& a, const Assignment& b,
                       const std::string& name_a, const std::string& name_b, const SvgView& view,
                       const std::string& heading, double top, double width, size_t index) {
  const int64_t n = std::min({p.num_priors(), a.num_priors(), b.num_priors()});
  const PriorGts gts_a(a), gts_b(b);
  const std::vector<Level> levels = levels_of(p);
  const Flips flips = classify_flips(p, gts_a, gts_b, n, levels.size());
  const std::array<int64_t, 5>& counts = flips.counts;
  const int64_t total_flips = n - counts[kSame];
  std::string summary = fmt::format(
      "{} of {} priors differ · positive in {} only {} · positive in {} only {} · "
      "GT changed {} · negative/ignored changed {}",
      total_flips, p.num_priors(), name_a, counts[kPosNeg], name_b, counts[kNegPos], counts[kGtChanged],
      counts[kIgnoredChanged]);
  summary += view_words(view);
  const std::string id = fmt::format("image-{}", index);
  emit(body, "<g class=\"image\" id=\"{}\" data-name=\"{}\">\n", id, xml_escape(p.name));
  define_input_image(body, p, id + "-input");
  emit(body, "<text class=\"image-title\" x=\"{}\" y=\"{}\" font-weight=\"bold\">{}</text>\n", num(layout::kGap),
       num(top + 14), xml_escape(heading.empty() ? summary : heading + " · " + summary));
  const PanelRow row = panel_row(p, {&a, &b}, view, top + layout::kImageTitleHeight, id);
  const std::vector<char> none(static_cast<size_t>(p.num_gts()), 0);
  for (size_t l = 0; l < row.levels.size(); ++l) {
    const Level& level = row.levels[l];
    const Panel& panel = row.panels[l];
    emit(body, "<g class=\"panel\" id=\"{}\" data-level=\"{}\"{}>\n", panel.id, l, view_attribute(panel));
    LabelPlacer placer(panel);
    draw_panel_base(body, p, panel, panel_title(level, l, flips.per_level[l], "differ"), none, id + "-input", &placer);
    const int64_t end = std::min(level.start + level.count, n);
    const double r = marker_radius(level.stride, panel.scale);
    double x = 0, y = 0;
    body += "<g class=\"flips\">\n";
    for (int64_t i = level.start; i < end; ++i) {
      const char f = flips.flip[static_cast<size_t>(i)];
      if (f == kSame || !prior_centre(p, i, &x, &y) || !panel.shows(x, y)) continue;
      draw_flip(body, p, gts_a, gts_b, i, f, panel.x(x), panel.y(y), r);
    }
    body += "</g>\n";
    close_panel_clip(body);
    body += "</g>\n";
  }
  const double y = draw_diff_legend(body, p, a, b, name_a, name_b, flips, n, row.bottom + 12, width);
  body += "</g>\n";
  return y + layout::kGap;
}

}  // namespace

std::string svg_diff(const Problem& p, const Assignment& a, const Assignment& b, const std::string& name_a,
                     const std::string& name_b, const SvgView& view) {
  const double width = picture_width(static_cast<int64_t>(levels_of(p).size()));
  std::string body;
  const double y =
      draw_diff_image(body, p, a, b, name_a, name_b, view, "", layout::kGap + layout::kTitleHeight, width, 0);
  const std::string heading = fmt::format("diff: {} → {}", name_a, name_b);
  const std::string sub = fmt::format("{}: {} · {}: {}", name_a, title_of(a), name_b, title_of(b));
  return document(width, std::ceil(y), "assignscope " + heading, heading, sub, body);
}

std::string svg_diff(const Batch& batch, const std::vector<Assignment>& a, const std::vector<Assignment>& b,
                     const std::string& name_a, const std::string& name_b, const SvgView& view) {
  const size_t images = std::min({batch.images.size(), a.size(), b.size()});
  const std::vector<size_t> drawn = drawn_images(batch, images, view);
  int64_t max_levels = 1;
  for (size_t i : drawn)
    max_levels = std::max<int64_t>(max_levels, static_cast<int64_t>(levels_of(batch.images[i]).size()));
  const double width = picture_width(max_levels);
  std::string body;
  double y = layout::kGap + layout::kTitleHeight;
  for (size_t i : drawn)
    y = draw_diff_image(body, batch.images[i], a[i], b[i], name_a, name_b, view, image_heading(batch, i), y, width, i);
  const std::string heading = fmt::format("diff: {} → {}", name_a, name_b);
  const std::string sub =
      images > 0 ? fmt::format("{}: {} · {}: {}", name_a, title_of(a[0]), name_b, title_of(b[0])) : "no images";
  return document(width, std::ceil(y), "assignscope " + heading, heading, sub, body);
}

}  // namespace assignscope::render
